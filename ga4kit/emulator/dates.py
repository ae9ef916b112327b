"""GA4 dates: date strings (YYYY-MM-DD, NdaysAgo, yesterday, today), date ranges, and the labels of
the date dimensions (date, yearMonth, week, isoYearIsoWeek, dayOfWeekName, ...).

Days are integers since 1970-01-01 in the property's time zone: the engines compare and group on them.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np

from .errors import invalid

MAX_DATE_RANGES = 4
EPOCH = date(1970, 1, 1)
DATE_DIMENSIONS = ("date", "year", "month", "yearMonth", "week", "yearWeek", "isoWeek", "isoYear",
                   "isoYearIsoWeek", "day", "dayOfWeek", "dayOfWeekName")

_DOW = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_RESERVED_RANGE = re.compile(r"^(date_range_|RESERVED_)")
_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")


def resolve_date(text: str, today: date) -> date:
    """GA4 date strings: YYYY-MM-DD, NdaysAgo, yesterday, today (today = the property's today)."""
    t = (text or "").strip()
    if t == "today":
        return today
    if t == "yesterday":
        return today - timedelta(days=1)
    m = _DAYS_AGO.match(t)
    if m:
        return today - timedelta(days=int(m.group(1)))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        try:
            return date.fromisoformat(t)
        except ValueError:
            pass
    raise invalid(f"Invalid date '{text}'. Dates must be in the format YYYY-MM-DD, NdaysAgo, yesterday, "
                  "or today.")


def resolve_ranges(date_ranges, today: date) -> list[tuple[str, int, int]]:
    """[(name, first day, last day)] with days as integers since 1970-01-01 (local)."""
    if len(date_ranges) > MAX_DATE_RANGES:
        raise invalid(f"Requests are limited to {MAX_DATE_RANGES} dateRanges; this request has "
                      f"{len(date_ranges)}.")
    out = []
    for i, dr in enumerate(date_ranges):
        if dr.name and _RESERVED_RANGE.match(dr.name):
            raise invalid(f"Date range name '{dr.name}' is invalid: names cannot begin with 'date_range_' "
                          "or 'RESERVED_'.")
        if not dr.start_date or not dr.end_date:
            raise invalid("A date range needs both start_date and end_date.")
        start, end = resolve_date(dr.start_date, today), resolve_date(dr.end_date, today)
        if start > end:
            raise invalid(f"Invalid date range: start_date {start.isoformat()} is after end_date "
                          f"{end.isoformat()}.")
        out.append((dr.name or f"date_range_{i}", (start - EPOCH).days, (end - EPOCH).days))
    return out


def date_labels(name: str, days: np.ndarray) -> np.ndarray:
    """Labels of a date dimension for integer days (GA4 formats)."""
    ds = [EPOCH + timedelta(days=int(d)) for d in days]
    if name == "date":
        v = [d.strftime("%Y%m%d") for d in ds]
    elif name == "year":
        v = [f"{d.year:04d}" for d in ds]
    elif name == "month":
        v = [f"{d.month:02d}" for d in ds]
    elif name == "yearMonth":
        v = [f"{d.year:04d}{d.month:02d}" for d in ds]
    elif name == "day":
        v = [f"{d.day:02d}" for d in ds]
    elif name in ("week", "yearWeek"):
        # GA4 weeks start on Sunday and January 1st is always in week 01.
        v = [f"{_ga_week(d):02d}" for d in ds]
        if name == "yearWeek":
            v = [f"{d.year:04d}{w}" for d, w in zip(ds, v)]
    elif name == "isoWeek":
        v = [f"{d.isocalendar()[1]:02d}" for d in ds]
    elif name == "isoYear":
        v = [f"{d.isocalendar()[0]:04d}" for d in ds]
    elif name == "isoYearIsoWeek":
        v = [f"{d.isocalendar()[0]:04d}{d.isocalendar()[1]:02d}" for d in ds]
    elif name == "dayOfWeek":
        v = [str((d.weekday() + 1) % 7) for d in ds]
    elif name == "dayOfWeekName":
        v = [_DOW[(d.weekday() + 1) % 7] for d in ds]
    else:  # pragma: no cover
        raise ValueError(f"{name} is not a date dimension")
    return np.array(v, dtype=object)


def _ga_week(d: date) -> int:
    jan1 = date(d.year, 1, 1)
    first_sunday_start = jan1 - timedelta(days=(jan1.weekday() + 1) % 7)
    return (d - first_sunday_start).days // 7 + 1

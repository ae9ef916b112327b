"""Date arithmetic for reports: GA4 date strings resolved in a property's time zone, periods per grain,
and the previous period of the same length."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ga4kit.errors import Ga4kitError

GRAINS = ("day", "week", "month", "range")
_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def today_in(time_zone: str | None) -> dt.date:
    """Today's date where the property lives (GA4 resolves relative dates in the property's time zone)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz = ZoneInfo(time_zone) if time_zone else dt.timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        tz = dt.timezone.utc
    return dt.datetime.now(tz).date()


def resolve(value: str | dt.date, today: dt.date) -> dt.date:
    """A GA4 date string (YYYY-MM-DD, NdaysAgo, yesterday, today) as a date."""
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if text == "today":
        return today
    if text == "yesterday":
        return today - dt.timedelta(days=1)
    m = _DAYS_AGO.match(text)
    if m:
        return today - dt.timedelta(days=int(m.group(1)))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Ga4kitError(f"{value!r} is not a GA4 date.", "Use YYYY-MM-DD, NdaysAgo, yesterday or today.") from None


def check(value: str | dt.date) -> None:
    """Raise Ga4kitError unless ``value`` is a GA4 date string (checked before any API call)."""
    resolve(value, dt.date(2000, 1, 1))


def split(start: dt.date, end: dt.date, grain: str) -> list[Period]:
    """The periods of [start, end] at ``grain``; weeks are ISO weeks (Monday to Sunday) and months calendar
    months, clipped to the range so no period reaches outside it."""
    if end < start:
        raise Ga4kitError(f"The date range starts ({start}) after it ends ({end}).", "Swap --start and --end.")
    if grain not in GRAINS:
        raise Ga4kitError(f"Grain {grain!r} is not one of {', '.join(GRAINS)}.", None)
    if grain == "range":
        return [Period(f"{start}..{end}", start, end)]
    out = []
    cur = start
    while cur <= end:
        if grain == "day":
            stop = cur
        elif grain == "week":
            stop = cur + dt.timedelta(days=6 - cur.weekday())
        else:
            nxt = (cur.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            stop = nxt - dt.timedelta(days=1)
        stop = min(stop, end)
        label = str(cur) if grain == "day" else f"{cur}..{stop}"
        out.append(Period(label, cur, stop))
        cur = stop + dt.timedelta(days=1)
    return out


def previous(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same length that ends the day before ``start``."""
    length = (end - start).days + 1
    return start - dt.timedelta(days=length), start - dt.timedelta(days=1)

"""Date arithmetic for reports: GA4 date strings resolved in a property's time zone, periods per grain,
and the previous period of the same length.

Ranges end yesterday by default (as GA4's own "last 28 days" does): today's data is still coming in, so a
period that includes today (or a later day) is partial.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ga4kit.constants import GRAINS
from ga4kit.errors import Ga4kitError

_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def today_in(time_zone: str | None, now: dt.datetime | None = None) -> dt.date:
    """Today's date where the property lives (GA4 resolves relative dates in the property's time zone).

    ``now``: the moment to take instead of the clock's (a naive datetime is UTC)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz = ZoneInfo(time_zone) if time_zone else dt.timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        tz = dt.timezone.utc
    if now is None:
        return dt.datetime.now(tz).date()
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(tz).date()


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


def _is_relative(text: str) -> bool:
    return text in ("today", "yesterday") or bool(_DAYS_AGO.match(text))


def order_error(start: dt.date, end: dt.date, *, start_text: str | None = None, end_text: str | None = None,
                end_is_default: bool = False) -> Ga4kitError:
    """The error for a range that starts after it ends, with the fix that fits the case."""
    def shown(day: dt.date, text: str | None) -> str:
        return f"{text}, {day}" if text and text != str(day) else str(day)

    message = f"The date range starts ({shown(start, start_text)}) after it ends ({shown(end, end_text)})."
    if (start - end).days == 1 and (end_is_default or end_text == "yesterday"):
        hint = ("Ranges end yesterday by default, because today's data is still incomplete. To include "
                "today, pass --end today as well (today's numbers are partial).")
    elif (start - end).days == 1 and end_text is None:
        hint = ("Ranges end yesterday by default; to include today pass --end today as well (today's numbers "
                "are partial). Otherwise swap --start and --end.")
    elif end_is_default:
        hint = f"The range ends {shown(end, end_text)} by default (the goals file's report.range); pass --end."
    else:
        hint = "Swap --start and --end."
    return Ga4kitError(message, hint)


def check_order(start: str | dt.date, end: str | dt.date, *, today: dt.date | None = None,
                end_is_default: bool = False) -> None:
    """Raise Ga4kitError, before any API call, when the range starts after it ends.

    Relative dates resolve in each property's time zone, so a relative date is compared with an absolute
    one only when they are more than a day apart; the pull checks the rest once it knows the time zone.
    """
    check(start)
    check(end)
    day0 = today or dt.date.today()
    s, e = resolve(start, day0), resolve(end, day0)
    mixed = _is_relative(str(start).strip()) != _is_relative(str(end).strip())
    if s > e and not (mixed and (s - e).days <= 1):
        raise order_error(s, e, start_text=str(start).strip(), end_text=str(end).strip(),
                          end_is_default=end_is_default)


def split(start: dt.date, end: dt.date, grain: str) -> list[Period]:
    """The periods of [start, end] at ``grain``; weeks are ISO weeks (Monday to Sunday) and months calendar
    months, clipped to the range so no period reaches outside it."""
    if end < start:
        raise order_error(start, end)
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

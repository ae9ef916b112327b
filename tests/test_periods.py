"""Date periods for reports: relative dates, grains, previous period."""

import datetime as dt

import pytest

from ga4kit.errors import Ga4kitError
from ga4kit.reporting.periods import previous, resolve, split

TODAY = dt.date(2026, 11, 22)  # a Sunday


def test_resolve_relative_dates():
    assert resolve("today", TODAY) == TODAY
    assert resolve("yesterday", TODAY) == dt.date(2026, 11, 21)
    assert resolve("28daysAgo", TODAY) == dt.date(2026, 10, 25)
    assert resolve("2026-01-31", TODAY) == dt.date(2026, 1, 31)
    with pytest.raises(Ga4kitError):
        resolve("lastweek", TODAY)


def test_split_by_grain_covers_the_range_exactly():
    start, end = dt.date(2026, 10, 25), dt.date(2026, 11, 21)
    for grain, n in (("day", 28), ("week", 5), ("month", 2), ("range", 1)):
        parts = split(start, end, grain)
        assert len(parts) == n, grain
        assert parts[0].start == start and parts[-1].end == end
        assert sum(p.days for p in parts) == 28
        for a, b in zip(parts, parts[1:]):
            assert b.start == a.end + dt.timedelta(days=1)
    weeks = split(start, end, "week")
    assert weeks[0].days == 1 and weeks[1].start.weekday() == 0  # 25 Oct 2026 is a Sunday
    assert split(start, end, "month")[0].label == "2026-10-25..2026-10-31"
    with pytest.raises(Ga4kitError):
        split(end, start, "day")


def test_previous_period_has_the_same_length():
    assert previous(dt.date(2026, 10, 25), dt.date(2026, 11, 21)) == (dt.date(2026, 9, 27), dt.date(2026, 10, 24))

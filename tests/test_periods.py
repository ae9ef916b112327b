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


def test_start_today_with_the_default_end_explains_the_default():
    """`--start today` used to say "Swap --start and --end", which gives a range that ends today... backwards."""
    from ga4kit.reporting.periods import check_order

    with pytest.raises(Ga4kitError) as info:
        check_order("today", "yesterday", today=TODAY, end_is_default=True)
    text = str(info.value)
    assert "end yesterday by default" in text and "--end today" in text and "Swap" not in text
    with pytest.raises(Ga4kitError, match="Swap --start and --end"):
        check_order("2026-11-10", "2026-11-01", today=TODAY)
    with pytest.raises(Ga4kitError, match="by default"):
        check_order("2026-12-01", "yesterday", today=TODAY, end_is_default=True)
    check_order("28daysAgo", "yesterday", today=TODAY)
    check_order("today", "today", today=TODAY)
    # A relative and an absolute date one day apart depend on the property's time zone: left to the pull.
    check_order("2026-11-22", "yesterday", today=TODAY)

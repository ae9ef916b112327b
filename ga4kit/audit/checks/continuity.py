"""Days without events and sudden drops in the last 28 days, leaving out the last 48 hours (GA4 is still
processing them: yesterday and the day before are never judged).

- A zero-event day: a day with no event at all after the property's first day with data, on a property
  whose typical day has at least :data:`MIN_DAILY_EVENTS` events (on a smaller one an empty day can be
  chance).
- A sudden drop: a day with events at or below :data:`DROP` of what the same weekday had in the four weeks
  before (their median, at least two of them with data), where that weekday typically has at least
  :data:`MIN_DROP_EVENTS` events. Weekdays are compared with weekdays, so quiet weekends are no drop.
"""

from __future__ import annotations

import datetime as dt
import statistics

from ga4kit.audit.registry import NotApplicable, check

SKIP_DAYS = 2  # yesterday and the day before: still being processed
JUDGED_DAYS = 28
MIN_DAILY_EVENTS = 20
MIN_DROP_EVENTS = 200
DROP = 0.5
FIX = ("Check the tag on the days named (site releases, tag manager versions, consent banner changes: Admin > "
       "Property change history; Google Tag Manager's version history).")


def daily_events(ctx) -> tuple[dict[dt.date, int], dt.date, dt.date, dt.date]:
    """(events per day over the report's 56 days, first day with data, first and last judged day); worked
    out once per property for both checks that read it."""
    return ctx.facts.derived("daily_events", "events per day", lambda: _daily_events(ctx))


def _daily_events(ctx) -> tuple[dict[dt.date, int], dt.date, dt.date, dt.date]:
    rep = ctx.facts.report("events", absence=True)
    per_day = rep.frame.groupby("date")["eventCount"].sum()
    counts = {dt.date(int(d[:4]), int(d[4:6]), int(d[6:8])): int(v) for d, v in per_day.items()
              if isinstance(d, str) and len(d) == 8 and d.isdigit()}
    seen = sorted(d for d, v in counts.items() if v > 0)
    if not seen:
        raise NotApplicable("no events in the last 8 weeks (see silent_stream)")
    today = ctx.facts.today
    last = today - dt.timedelta(days=SKIP_DAYS + 1)
    first = max(seen[0], today - dt.timedelta(days=JUDGED_DAYS))
    if first > last:
        raise NotApplicable("the property has data for two days or less")
    every = {rep.start + dt.timedelta(days=i): 0 for i in range((rep.end - rep.start).days + 1)}
    every.update(counts)
    return every, seen[0], first, last


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


@check("zero_event_days", family="continuity", severity="high", title="Days without events",
       reads="runReport date -> eventCount (56 days; the last 28 judged, the last 48 hours left out)", fix=FIX)
def zero_event_days(ctx):
    counts, _, first, last = daily_events(ctx)
    days = _days(first, last)
    typical = statistics.median(counts[d] for d in days)
    if typical < MIN_DAILY_EVENTS:
        raise NotApplicable(f"a typical day has {typical:g} events: too few to tell a gap from chance "
                            f"(at least {MIN_DAILY_EVENTS})")
    empty = [d for d in days if counts[d] == 0]
    if empty:
        yield ctx.finding("high", f"{len(empty)} day{'s' if len(empty) > 1 else ''} without a single event "
                          f"between {first} and {last} ({', '.join(map(str, empty[:7]))}"
                          f"{', ...' if len(empty) > 7 else ''}), while a typical day has {typical:,.0f}: the tag "
                          "stopped sending.",
                          {"days": len(empty), "dates": [str(d) for d in empty[:10]], "typical_day_events": typical})


@check("sudden_drop", family="continuity", severity="high", title="Sudden drops in events",
       reads="runReport date -> eventCount (56 days; the last 28 judged against the same weekday in the four "
             "weeks before, the last 48 hours left out)", fix=FIX)
def sudden_drop(ctx):
    counts, start, first, last = daily_events(ctx)
    drops, judged = [], 0
    for d in _days(first, last):
        if counts[d] == 0:
            continue  # zero_event_days reports those
        refs = [counts[r] for r in (d - dt.timedelta(days=7 * k) for k in range(1, 5))
                if r >= start and r in counts and counts[r] > 0]
        if len(refs) < 2:
            continue
        expected = statistics.median(refs)
        if expected < MIN_DROP_EVENTS:
            continue
        judged += 1
        if counts[d] <= expected * DROP:
            drops.append((d, counts[d], expected))
    if not judged:
        raise NotApplicable(f"no day with enough history and at least {MIN_DROP_EVENTS} events expected")
    if drops:
        worst = min(drops, key=lambda x: x[1] / x[2])
        yield ctx.finding("high", f"{len(drops)} day{'s' if len(drops) > 1 else ''} with events at half or less of "
                          f"the same weekday's usual level ({', '.join(str(d) for d, _, _ in drops[:7])}"
                          f"{', ...' if len(drops) > 7 else ''}); worst {worst[0]}: {worst[1]:,} events against "
                          f"{worst[2]:,.0f} expected.",
                          {"days": len(drops), "dates": [str(d) for d, _, _ in drops[:10]],
                           "worst_day": str(worst[0]), "worst_events": worst[1], "worst_expected": worst[2],
                           "worst_ratio": worst[1] / worst[2]})

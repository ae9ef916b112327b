"""The result frames ga4kit produces, in one place: every column, its dtype and what it means.

The functions that build the frames take their column order from here (``columns(kind, segments)``), so
this table and the frames cannot drift apart. ``<segments>`` stands for one column per segment dimension
(e.g. ``sessionDefaultChannelGroup``), holding ``"(all)"`` on rows over all traffic. Every ratio whose
denominator is 0 or missing is NaN, never inf.

    import ga4kit.frames as F
    print(F.describe("chains"))          # the table below, as text
    F.columns("events", ["sessionDefaultChannelGroup"])

Frames: ``events`` and ``baseline`` (:func:`ga4kit.pull`; ``previous_events`` / ``previous_baseline`` have
the same columns), ``chains`` and ``goals`` (:func:`ga4kit.analyse`; with the previous period and, with
``exact``, the closed funnel), ``flags`` (data-quality findings).
"""

from __future__ import annotations

from dataclasses import dataclass

SEGMENTS = "<segments>"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    meaning: str


def _c(name: str, dtype: str, meaning: str) -> Column:
    return Column(name, dtype, meaning)


_PERIOD = [
    _c("period", "str", "period label: a day (2026-11-20), a week or month (2026-11-16..2026-11-22), the range"),
    _c("period_start", "datetime64", "first day of the period, in the property's time zone"),
    _c("period_end", "datetime64", "last day of the period"),
]
_PREVIOUS = [
    _c("users_prev", "Int64", "users in the matching previous period (periods matched by position)"),
    _c("change_abs", "Int64", "users - users_prev; NA for a partial or uncomparable period"),
    _c("change_pct", "float64", "change_abs / users_prev"),
    _c("change_note", "object", "why change_abs is missing (None when it is there)"),
]

FRAMES: dict[str, list[Column]] = {
    "events": [
        _c("property", "str", "GA4 property id, without properties/"),
        _c("property_name", "str", "the property's display name (GA4), else the goals file's label"),
        *_PERIOD,
        _c(SEGMENTS, "str", "one column per segment dimension; \"(all)\" over all traffic"),
        _c("event", "str", "the goal's event name"),
        _c("goal_type", "str", "micro or macro, from the goals file"),
        _c("goal_kind", "object", "milestone or secondary (micro goals), None for macro goals"),
        _c("event_count", "int64", "GA4 eventCount"),
        _c("users", "int64", "GA4 totalUsers at this grain (never summed: users are not additive)"),
        _c("value", "float64", "GA4 eventValue, rounded to the currency's minor unit"),
        _c("currency", "str", "the property's currency (ISO 4217)"),
        _c("key_events", "int64", "GA4 keyEvents (whole numbers)"),
    ],
    "baseline": [
        _c("property", "str", "GA4 property id"),
        _c("property_name", "str", "the property's display name"),
        *_PERIOD,
        _c(SEGMENTS, "str", "one column per segment dimension; \"(all)\" over all traffic"),
        _c("users", "int64", "all users (totalUsers) in the property/period/segment"),
        _c("sessions", "int64", "all sessions"),
    ],
    "chains": [
        _c("property", "str", "GA4 property id"),
        _c("chain", "str", "chain name from the goals file"),
        _c(SEGMENTS, "str", "one column per segment dimension"),
        *_PERIOD,
        _c("step_index", "int64", "1 for the chain's first step"),
        _c("step", "str", "the step's event name"),
        _c("goal_type", "str", "micro or macro"),
        _c("goal_kind", "object", "milestone or secondary, None for macro"),
        _c("users", "int64", "the step's users (open count: 0 without a row)"),
        _c("events", "int64", "the step's event count"),
        _c("rate_from_previous", "float64", "users / previous step's users (NaN for step 1)"),
        _c("rate_from_first", "float64", "users / step 1 users"),
        _c("drop_off", "float64", "previous step's users - users (negative when the step has more users)"),
        _c("drop_off_rate", "float64", "drop_off / previous step's users"),
        _c("all_users", "Int64", "baseline users of the same property/period/segment (NA without a row)"),
        _c("rate_over_all_users", "float64", "users / all_users: the goal's rate"),
        _c("macro_per_step_user", "float64", "macro step users / this step's users, micro steps only (open "
                                             "counts: can pass 100%)"),
        _c("partial", "bool", "the period reaches the property's today or later: incomplete"),
    ],
    "chains_previous": _PREVIOUS,
    "chains_exact": [
        _c("users_exact", "Int64", "users who did the steps up to this one in order (runFunnelReport)"),
        _c("rate_exact", "float64", "users_exact / previous step's users_exact"),
        _c("macro_share_exact", "float64", "macro step's users_exact / users_exact (micro steps; at most 1)"),
    ],
    "goals": [
        _c("property", "str", "GA4 property id"),
        _c(SEGMENTS, "str", "one column per segment dimension"),
        *_PERIOD,
        _c("event", "str", "the goal's event name"),
        _c("goal_type", "str", "micro or macro"),
        _c("goal_kind", "object", "milestone or secondary, None for macro"),
        _c("users", "int64", "the goal's users"),
        _c("events", "int64", "the goal's event count"),
        _c("value", "float64", "event value"),
        _c("key_events", "float64", "key events"),
        _c("all_users", "Int64", "baseline users"),
        _c("rate_over_all_users", "float64", "users / all_users: the goal's rate"),
        _c("partial", "bool", "the period is incomplete"),
    ],
    "goals_previous": _PREVIOUS,
    "flags": [
        _c("property", "str", "GA4 property id"),
        _c("period", "str", "the period the finding is about (the first of a run), or \"(all)\""),
        _c(SEGMENTS, "str", "one column per segment dimension; \"(all)\" for all traffic or the property"),
        _c("event", "object", "the goal or step it is about, None when about the property"),
        _c("flag", "str", "no_data, no_goal_events, broken_tracking, out_of_sequence, never_fired, "
                          "thresholded, sampled, other_row, partial_period, previous_incomplete, "
                          "uneven_periods, not_pulled, history_unavailable, exact_incomplete, exact_sampled"),
        _c("severity", "str", "error, warning or info"),
        _c("message", "str", "one paragraph: what was seen and what to check"),
    ],
}


def columns(kind: str, segments=(), *, previous: bool = False) -> list[str]:
    """The column names of a frame, in order, with the segment dimensions in place of ``<segments>``."""
    names: list[str] = []
    for col in FRAMES[kind]:
        if col.name == SEGMENTS:
            names.extend(segments)
        else:
            names.append(col.name)
    if previous:
        names += [c.name for c in FRAMES[f"{kind}_previous"]]
    return names


def describe(kind: str) -> str:
    """A frame's columns as a text table (name, dtype, meaning)."""
    rows = FRAMES[kind]
    width = max(len(c.name) for c in rows)
    return "\n".join(f"{c.name:<{width}}  {c.dtype:<10}  {c.meaning}" for c in rows)


__all__ = ["FRAMES", "Column", "SEGMENTS", "columns", "describe"]

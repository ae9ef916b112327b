"""Micro-to-macro chains, goal summaries and closed-funnel steps: pure pandas/numpy, no I/O, no Google imports.

Inputs are the tidy events and baseline frames of a pull (columns and normalisation: :mod:`ga4kit.tidy`).
Rows pulled without the segment dimension hold ``"(all)"`` in every segment column; they are treated as one
more segment value, never computed by summing segments (``users`` is not additive across segments or
periods). A declared goal with no row at all counts as zero. Data-quality flags: :mod:`ga4kit.flags`.

Counts are *open*: users of a step need not have done the previous steps first, so a step can have more
users than the one before it (the ``out_of_sequence`` flag reports that; ``drop_off`` is then negative).
For the same reason ``macro_per_step_user`` is a ratio of two open counts, not the share of the step's users
who went on to the macro goal: it can exceed 100%. :func:`exact_steps` places a closed funnel beside the
open counts; its ``macro_share_exact`` is that share.

A period that includes the property's today or later days is ``partial`` (its counts are incomplete): no
change against the previous period is computed for it, and neither against a previous period that begins
before the property's data does (``change_note`` says why a change is missing).

Result frames (every division by zero or by a missing number gives NaN, never inf):

:func:`compute_chains`: one row per property × chain × segment values × period × step, in that order
(chains as declared, steps in chain order; the rest sorted).

=======================  ==========  ================================================================================
column                   dtype       meaning
=======================  ==========  ================================================================================
property                 str         GA4 property id, without ``properties/``
chain                    str         chain name from the goals file
<segment columns>        str         one per segment dimension; ``"(all)"`` for all traffic
period                   str         period label (a day, ``2026-W45``, ``2026-11``, or the range)
period_start/_end        datetime    first and last day of the period
step_index               int64       1 for the chain's first step
step                     str         the step's event name
goal_type / goal_kind    str/object  from the goals file (micro/macro; milestone/secondary or None)
users                    int64       the step's users in that property/period/segment (0 without a row)
events                   int64       the step's event count
rate_from_previous       float64     users / previous step's users (NaN for step 1)
rate_from_first          float64     users / step 1 users
drop_off                 float64     previous step's users − users (negative when the step has more users)
drop_off_rate            float64     drop_off / previous step's users
all_users                Int64       baseline users of the same property/period/segment (NA without a row)
rate_over_all_users      float64     users / all_users
macro_per_step_user      float64     users of the chain's last (macro) step / users, for micro steps only
partial                  bool        the period ends on or after the property's today
users_prev               Int64       with ``previous``: the step's users in the matching previous period
change_abs               Int64       users − users_prev (NA for a partial or uncomparable period)
change_pct               float64     change_abs / users_prev
change_note              object      why change_abs is missing (None when it is there)
users_exact              Int64       after :func:`exact_steps`: users who did the steps up to this one in order
rate_exact               float64     users_exact / previous step's users_exact (NaN for step 1)
macro_share_exact        float64     macro step's users_exact / users_exact, for micro steps: at most 1
=======================  ==========  ================================================================================

:func:`goal_summary`: one row per property × segment values × period × declared goal (goals in file
order, the rest sorted): property, <segment columns>, period, period_start, period_end, ``event`` (str),
goal_type, goal_kind, users, events, ``value`` and ``key_events`` (float64), all_users,
rate_over_all_users, partial, and with ``previous`` users_prev, change_abs, change_pct, change_note, all as
above for the goal's event.

The previous period: periods are matched by position within each property (1st with 1st, ...), so day
grain compares day by day. A segment or goal absent from a previous period that was pulled had 0 users
there; a property/period with no previous data at all stays NA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.constants import ALL, MICRO
from ga4kit.tidy import (DAY_NS, NAT, Grid, Labels, Measures, _fold, dates_by_property, day_text, div, encode,
                         frame_pair, property_dates)

EXACT_STEP_COLUMNS = ("users_exact", "rate_exact", "macro_share_exact")
PREVIOUS_COLUMNS = ("users_prev", "change_abs", "change_pct", "change_note")


def chain_columns(segments: Sequence[str], *, previous: bool = False) -> list[str]:
    """The columns of :func:`compute_chains`, in order."""
    cols = ["property", "chain", *segments, "period", "period_start", "period_end", "step_index", "step",
            "goal_type", "goal_kind", "users", "events", "rate_from_previous", "rate_from_first", "drop_off",
            "drop_off_rate", "all_users", "rate_over_all_users", "macro_per_step_user", "partial"]
    return cols + list(PREVIOUS_COLUMNS) if previous else cols


def goal_columns(segments: Sequence[str], *, previous: bool = False) -> list[str]:
    """The columns of :func:`goal_summary`, in order."""
    cols = ["property", *segments, "period", "period_start", "period_end", "event", "goal_type", "goal_kind",
            "users", "events", "value", "key_events", "all_users", "rate_over_all_users", "partial"]
    return cols + list(PREVIOUS_COLUMNS) if previous else cols


def mark_partial(frame: pd.DataFrame, today: Mapping[str, Any] | dt.date | None) -> pd.Series:
    """True where the row's period ends on or after ``today`` (a date, or {property: date}): the period
    includes the property's today or the future, so its counts are not complete yet."""
    if today is None or not len(frame):
        return pd.Series(np.zeros(len(frame), dtype=bool), index=frame.index)
    t = dates_by_property(frame["property"].astype(str).str.removeprefix("properties/"), today)
    end = pd.to_datetime(frame["period_end"]).astype("datetime64[ns]")
    return pd.Series((end >= t).to_numpy(dtype=bool), index=frame.index)


# --------------------------------------------------------------------------------------------- one pass

@dataclass
class _Layout:
    """Output rows as (grid row, item) pairs: items are chain steps or goals, each block of a chain (or
    the goals) lists every grid row's items in a row."""

    grid_row: np.ndarray
    item: np.ndarray


def _layout(n_grid: int, blocks: Sequence[int]) -> _Layout:
    grid_rows, items, offset = [], [], 0
    for size in blocks:
        grid_rows.append(np.repeat(np.arange(n_grid, dtype=np.int64), size))
        items.append(np.tile(np.arange(offset, offset + size, dtype=np.int64), n_grid))
        offset += size
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)
    return _Layout(cat(grid_rows), cat(items))


def _labels(values: Sequence, positions: np.ndarray) -> pd.Series:
    """values[positions] as a column; taking from a tiny array is far cheaper than converting objects."""
    small = pd.Series(list(values), dtype="str" if all(isinstance(v, str) for v in values) else "object")
    return small.take(positions).reset_index(drop=True)


class _Pass:
    """The current period (and the previous one, when given) coded once against shared labels, with the
    [grid row, name] measures of ``names``; the previous period's grid rows matched to the current ones."""

    def __init__(self, events, baseline, previous, segments: list[str], names: Sequence[str]):
        frames = [(baseline, "baseline"), (events, "events")]
        if previous is not None:
            pev, pbl = frame_pair(previous, "previous")
            frames += [(pbl, "previous baseline"), (pev, "previous events")]
        self.labels, coded = encode(frames, segments)
        self.cur = Measures(self.labels, coded[0], coded[1], names)
        self.prev = Measures(self.labels, coded[2], coded[3], names, "previous ") if previous is not None else None

    def partial(self, today) -> np.ndarray:
        """Per current grid row: the period ends on or after the property's today."""
        g = self.cur.grid
        if today is None or not g.n:
            return np.zeros(g.n, dtype=bool)
        t = property_dates(self.labels, today)[g.prop]
        return (t != NAT) & (g.end != NAT) & (g.end >= t)


def _match_previous(p: _Pass, items_for_error: int) -> tuple[np.ndarray, np.ndarray]:
    """(previous grid row, first previous grid row of the same property and ordinal) per current grid row,
    -1 where none: periods are matched by their position within the property."""
    cur, prev = p.cur.grid, p.prev.grid
    ords = [cur.ordinal(), prev.ordinal()]
    n_ord = int(max([o.max() for o in ords if len(o)], default=0)) + 1
    both = lambda name: np.concatenate([getattr(cur, name), getattr(prev, name)])
    segs = [np.concatenate([a, b]) for a, b in zip(cur.segs, prev.segs)]
    prop, order = both("prop"), np.concatenate(ords)
    n_prop = len(p.labels.values["property"])
    by_period, n_period = _fold(prop, n_prop, order, n_ord)
    key, n_key = by_period, n_period
    for name, s in zip(p.labels.segments, segs):
        key, n_key = _fold(key, n_key, s, len(p.labels.values[name]))
    cur_key, prev_key = key[: cur.n], key[cur.n:]
    cur_period, prev_period = by_period[: cur.n], by_period[cur.n:]
    if prev.n and np.bincount(prev_key).max() > 1:
        dup = int(prev.n - len(np.unique(prev_key)))
        raise ValueError(f"previous has {dup * items_for_error} duplicate row(s) for the same property/period "
                         "position/segment; users are not additive, so duplicates cannot be combined: pull "
                         "each key once")
    row_of_key = np.full(n_key, -1, dtype=np.int64)
    row_of_key[prev_key] = np.arange(prev.n)
    first_of_period = np.full(n_period, -1, dtype=np.int64)
    first_of_period[prev_period[::-1]] = np.arange(prev.n - 1, -1, -1)
    return row_of_key[cur_key], first_of_period[cur_period]


def _previous_columns(p: _Pass, layout: _Layout, item_column: np.ndarray, users: np.ndarray, partial: np.ndarray,
                      data_start) -> dict[str, Any]:
    """users_prev, change_abs, change_pct, change_note: no change for a partial period, nor against a
    previous period with no (or incomplete, or differently long) data."""
    cur, prev = p.cur.grid, p.prev.grid
    prev_row, prev_period = _match_previous(p, max(len(item_column), 1))
    has_prev = prev_period >= 0
    g, col = layout.grid_row, item_column[layout.item]
    prev_users = p.prev.matrix("users")
    at = prev_row[g]
    values = np.where(at >= 0, prev_users[np.maximum(at, 0), col] if prev.n else 0, 0)
    missing = ~has_prev[g]
    users_prev = pd.arrays.IntegerArray(values.astype(np.int64), missing.copy())

    # Notes, per current grid row.
    note = np.where(has_prev, None, "no data in the previous period").astype(object)
    first_data = property_dates(p.labels, data_start)[cur.prop]
    pp = np.maximum(prev_period, 0)
    prev_start = np.where(has_prev, prev.start[pp] if prev.n else NAT, NAT)
    prev_end = np.where(has_prev, prev.end[pp] if prev.n else NAT, NAT)
    prev_label = p.labels.take("period", prev.period[pp]) if prev.n else pd.Series([""] * cur.n, dtype="str")
    text_at = lambda mask: prev_label[mask].astype(str).reset_index(drop=True)
    late = has_prev & (first_data != NAT) & (prev_start != NAT) & (prev_start < first_data)
    if late.any():
        text = ("the previous period " + text_at(late) + " begins before the property's first data ("
                + day_text(pd.Series(first_data[late].view("datetime64[ns]"))) + ")")
        note[late] = text.to_numpy(dtype=object)
    # Weeks and months are clipped to the range, so the first and last can be shorter than the periods
    # they are matched with: a 1-day week against a 3-day one is no comparison.
    known = (prev_start != NAT) & (prev_end != NAT)
    prev_days = np.where(known, (prev_end - prev_start) // DAY_NS + 1, 0)
    days = (cur.end - cur.start) // DAY_NS + 1
    uneven = has_prev & ~late & known & (prev_days != days)
    if uneven.any():
        text = ("the previous period " + text_at(uneven) + " has "
                + pd.Series(prev_days[uneven]).astype(str) + " days, this one " + pd.Series(days[uneven]).astype(str))
        note[uneven] = text.to_numpy(dtype=object)
    note[partial] = "this period is partial (it includes today or later days)"
    blank = (partial | late | uneven)[g]

    change = pd.arrays.IntegerArray(users - values, missing | blank)
    pct = div(users - values, pd.arrays.IntegerArray(values.astype(np.int64), missing))
    pct[blank] = np.nan
    return {"users_prev": users_prev, "change_abs": change, "change_pct": pct,
            "change_note": pd.Series(note[g], dtype="object")}


def _common_columns(p: _Pass, layout: _Layout, users: np.ndarray, partial: np.ndarray) -> dict[str, Any]:
    base, missing = p.cur.baseline_users()
    g = layout.grid_row
    all_users = pd.arrays.IntegerArray(base[g], missing[g])
    return {"all_users": all_users, "rate_over_all_users": div(users, all_users), "partial": partial[g]}


def _frame(columns: dict[str, Any], order: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: columns[c] for c in order}, copy=False)


# --------------------------------------------------------------------------------------------- chains

def compute_chains(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str], *,
                   previous: Any = None, today: Mapping[str, Any] | dt.date | None = None,
                   data_start: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per property × chain × segment values × period × step; columns and their meaning: the
    table in this module's docstring (:func:`chain_columns` gives them in order).

    ``today``: a date or {property: date} (the property's today, in its time zone); ``partial`` is True
    for periods that end on or after it.

    ``previous``: the frames of the previous period of the same length, as ``(events, baseline)`` or
    ``{"events": ..., "baseline": ...}``; adds ``users_prev``, ``change_abs``, ``change_pct`` and
    ``change_note``. Periods are matched by position within each property (1st with 1st, ...), so day
    grain compares day by day. No change is computed for a partial period, nor against a previous period
    that begins before ``data_start[property]`` (the property's first day with data); ``change_note``
    says why a change is missing.
    """
    segments = list(segments)
    chains = [c for c in config.chains if len(c.steps)]
    p = _Pass(events, baseline, previous, segments, [s for c in chains for s in c.steps])
    info = {g.event: (g.type, g.kind) for g in config.goals}
    steps = [(c.name, i + 1, s) for c in chains for i, s in enumerate(c.steps)]
    layout = _layout(p.cur.n, [len(c.steps) for c in chains])
    col = np.array([p.cur.column[s] for _, _, s in steps], dtype=np.int64)
    start_of_chain = np.repeat(np.cumsum([0] + [len(c.steps) for c in chains])[:-1], [len(c.steps) for c in chains])
    end_of_chain = np.repeat(np.cumsum([len(c.steps) for c in chains]) - 1, [len(c.steps) for c in chains])
    index = np.array([i for _, i, _ in steps], dtype=np.int64)
    types = [info.get(s, (None, None))[0] for _, _, s in steps]
    kinds = [info.get(s, (None, None))[1] for _, _, s in steps]
    is_micro = np.array([t == MICRO for t in types], dtype=bool)

    g, item = layout.grid_row, layout.item
    users_m = p.cur.matrix("users")
    users = users_m[g, col[item]] if len(steps) else np.zeros(0, np.int64)
    u = users.astype("float64")
    if len(steps):
        first = users_m[g, col[start_of_chain[item]]].astype("float64")
        macro = users_m[g, col[end_of_chain[item]]].astype("float64")
        prev = np.where(index[item] > 1, users_m[g, col[np.maximum(item - 1, 0)]], 0).astype("float64")
        prev[index[item] == 1] = np.nan
    else:
        first = macro = prev = np.zeros(0)
    drop = prev - u
    partial = p.partial(today)
    columns: dict[str, Any] = {
        **p.cur.grid.frame(g),
        "chain": _labels([c.name for c in chains], np.repeat(np.arange(len(chains)), p.cur.n *
                                                             np.array([len(c.steps) for c in chains], dtype=np.int64))
                         if chains else np.zeros(0, np.int64)),
        "step_index": index[item],
        "step": _labels([s for _, _, s in steps], item),
        "goal_type": _labels(types, item),
        "goal_kind": _labels(kinds, item),
        "users": users,
        "events": p.cur.matrix("event_count")[g, col[item]] if len(steps) else np.zeros(0, np.int64),
        "rate_from_previous": div(u, prev),
        "rate_from_first": div(u, first),
        "drop_off": drop,
        "drop_off_rate": div(drop, prev),
        "macro_per_step_user": np.where(is_micro[item], div(macro, u), np.nan) if len(steps) else np.zeros(0),
        **_common_columns(p, layout, users, partial),
    }
    if previous is not None:
        columns.update(_previous_columns(p, layout, col, users, partial, data_start))
    return _frame(columns, chain_columns(segments, previous=previous is not None))


# --------------------------------------------------------------------------------------------- goals

def goal_summary(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str],
                 previous: Any = None, *, today: Mapping[str, Any] | dt.date | None = None,
                 data_start: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every declared goal per property × segment × period, including goals that never fired (zeros).

    Columns: see this module's docstring (:func:`goal_columns` gives them in order). ``partial``, and with
    ``previous`` ``users_prev``, ``change_abs``, ``change_pct``, ``change_note``: as in :func:`compute_chains`.
    """
    segments = list(segments)
    goals = list(config.goals)
    p = _Pass(events, baseline, previous, segments, [g.event for g in goals])
    layout = _layout(p.cur.n, [len(goals)])
    g, item = layout.grid_row, layout.item
    col = np.array([p.cur.column[x.event] for x in goals], dtype=np.int64)
    partial = p.partial(today)
    at = col[item] if len(goals) else item
    users = p.cur.matrix("users")[g, at]
    columns: dict[str, Any] = {
        **p.cur.grid.frame(g),
        "event": _labels([x.event for x in goals], item),
        "goal_type": _labels([x.type for x in goals], item),
        "goal_kind": _labels([x.kind for x in goals], item),
        "users": users,
        "events": p.cur.matrix("event_count")[g, at],
        "value": p.cur.matrix("value")[g, at],
        "key_events": p.cur.matrix("key_events")[g, at],
        **_common_columns(p, layout, users, partial),
    }
    if previous is not None:
        columns.update(_previous_columns(p, layout, col, users, partial, data_start))
    return _frame(columns, goal_columns(segments, previous=previous is not None))


# --------------------------------------------------------------------------------------------- exact

def _merge_m1(left: pd.DataFrame, right: pd.DataFrame, on: list[str], what: str) -> pd.DataFrame:
    """Left merge that keeps left order and refuses duplicate keys on the right (users can't be summed)."""
    try:
        return left.merge(right, on=on, how="left", validate="m:1", sort=False)
    except pd.errors.MergeError as exc:
        dup = int(right.duplicated(on).sum())
        raise ValueError(f"{what} has {dup} duplicate row(s) for the same {'/'.join(on)}; users are not "
                         "additive, so duplicates cannot be combined: pull each key once") from exc


def exact_steps(chains: pd.DataFrame, funnel: pd.DataFrame, segments: Sequence[str]) -> pd.DataFrame:
    """``chains`` with ``users_exact``, ``rate_exact`` and ``macro_share_exact`` from a closed (in-order)
    funnel beside the open counts (meaning: the table in this module's docstring).

    ``funnel``: property, chain, [period], [segment columns], step_index, step, users_exact — e.g. from
    runFunnelReport. Segment columns it lacks are taken as ``"(all)"``; without a ``period`` column its
    numbers apply to every period of the chain frame. Rows the funnel has no numbers for keep NA. Raises
    ValueError when a funnel step names a different event than the chain step at that index.
    """
    segments = list(segments)
    f = funnel.copy()
    for c in ("property", "chain", "step_index", "step", "users_exact"):
        if c not in f.columns:
            raise ValueError(f"funnel frame lacks column {c}")
    f["property"] = f["property"].astype(str).str.removeprefix("properties/")
    for c in segments:
        f[c] = f[c].fillna(ALL).astype(str) if c in f.columns else ALL
    f["step_index"] = f["step_index"].astype("int64")
    keys = ["property", "chain", *(["period"] if "period" in f.columns else []), *segments]
    f = f.sort_values([*keys, "step_index"], kind="stable")
    prev = f.groupby(keys, sort=False)["users_exact"].shift(1)
    f["rate_exact"] = div(f["users_exact"], prev)
    f.loc[f["step_index"] == 1, "rate_exact"] = np.nan
    last = f.groupby(keys, sort=False)["users_exact"].transform("last")
    f["macro_share_exact"] = div(last, f["users_exact"])
    right = f[[*keys, "step_index", "step", "users_exact", "rate_exact", "macro_share_exact"]] \
        .rename(columns={"step": "_fstep"})
    out = _merge_m1(chains.drop(columns=[c for c in EXACT_STEP_COLUMNS if c in chains]),
                    right, [*keys, "step_index"], "funnel")
    bad = out["_fstep"].notna() & (out["_fstep"].astype(str) != out["step"].astype(str))
    if bad.any():
        row = out[bad].iloc[0]
        raise ValueError(f"funnel step {row['step_index']} of chain {row['chain']} is {row['_fstep']!r}, "
                         f"but the chain has {row['step']!r} there")
    out["users_exact"] = out["users_exact"].astype("Int64")
    out["macro_share_exact"] = out["macro_share_exact"].where(out["goal_type"] == MICRO, np.nan)
    return out.drop(columns="_fstep")

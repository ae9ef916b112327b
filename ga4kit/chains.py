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

Result frames (columns, dtypes and meanings: :mod:`ga4kit.frames`, kinds ``chains`` and ``goals``):
:func:`compute_chains` gives one row per property × chain × segment values × period × step, chain by chain
(as declared), within a chain sorted by property, segment values, period_start and period, each with its
steps in chain order; :func:`goal_summary` one row per property × segment values × period × declared goal,
the goals in file order; :func:`exact_steps` adds ``users_exact``, ``rate_exact``, ``macro_share_exact``.

The previous period: periods are matched by position within each property (1st with 1st, ...), so day
grain compares day by day. A segment or goal absent from a previous period that was pulled had 0 users
there; a property/period with no previous data at all stays NA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.frames import FRAMES, columns as frame_columns
from ga4kit.constants import ALL, MICRO
from ga4kit.tidy import (DAY_NS, NAT, Coded, Labels, Measures, combine_keys, dates_by_property, day_text, div, encode,
                         frame_pair, property_dates, take)

EXACT_STEP_COLUMNS = tuple(c.name for c in FRAMES["chains_exact"])
PREVIOUS_COLUMNS = tuple(c.name for c in FRAMES["chains_previous"])


def chain_columns(segments: Sequence[str], *, previous: bool = False) -> list[str]:
    """The columns of :func:`compute_chains`, in order (documented in :mod:`ga4kit.frames`)."""
    return frame_columns("chains", segments, previous=previous)


def goal_columns(segments: Sequence[str], *, previous: bool = False) -> list[str]:
    """The columns of :func:`goal_summary`, in order (documented in :mod:`ga4kit.frames`)."""
    return frame_columns("goals", segments, previous=previous)


def mark_partial(frame: pd.DataFrame, today: Mapping[str, Any] | dt.date | None) -> pd.Series:
    """True where the row's period ends on or after ``today`` (a date, or {property: date}): the period
    includes the property's today or the future, so its counts are not complete yet."""
    if today is None or not len(frame):
        return pd.Series(np.zeros(len(frame), dtype=bool), index=frame.index)
    t = dates_by_property(frame["property"].astype(str).str.removeprefix("properties/"), today)
    end = pd.to_datetime(frame["period_end"]).astype("datetime64[ns]")
    return pd.Series((end >= t).to_numpy(dtype=bool), index=frame.index)


# --------------------------------------------------------------------------------------------- one pass

class _Pass:
    """The current period (and the previous one, when given) coded against shared labels, with the
    [grid row, name] measures of ``names``; what the previous period is compared with is worked out once
    (chains and goal summary of one analysis share it)."""

    def __init__(self, labels: Labels, coded: Sequence[Coded], names: Sequence[str]):
        self.labels = labels
        self.cur = Measures(labels, coded[0], coded[1], names)
        self.prev = Measures(labels, coded[2], coded[3], names, "previous ") if len(coded) > 2 else None
        self._compared: tuple | None = None

    @classmethod
    def of(cls, events, baseline, previous, segments: list[str], names: Sequence[str]) -> "_Pass":
        frames = [(baseline, "baseline"), (events, "events")]
        if previous is not None:
            pev, pbl = frame_pair(previous, "previous")
            frames += [(pbl, "previous baseline"), (pev, "previous events")]
        labels, coded = encode(frames, segments)
        return cls(labels, coded, names)

    def partial(self, today) -> np.ndarray:
        """Per current grid row: the period ends on or after the property's today."""
        g = self.cur.grid
        if today is None or not g.n:
            return np.zeros(g.n, dtype=bool)
        t = property_dates(self.labels, today)[g.prop]
        return (t != NAT) & (g.end != NAT) & (g.end >= t)

    def compared(self, today, data_start) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(previous grid row, has previous, change_note, no change) per current grid row."""
        if self._compared is None or self._compared[0] is not today or self._compared[1] is not data_start:
            prev_row, prev_first = _match_previous(self)
            has_prev = prev_first >= 0
            note, blank = _notes(self, has_prev, prev_first, self.partial(today), data_start)
            self._compared = (today, data_start, (prev_row, has_prev, note, blank))
        return self._compared[2]


def _match_previous(p: _Pass) -> tuple[np.ndarray, np.ndarray]:
    """Per current grid row: the previous grid row with the same property, segments and position of the
    period within the property, and the first previous grid row of that property and position; -1 where
    there is none."""
    cur, prev = p.cur.grid, p.prev.grid
    ords = [cur.ordinal(), prev.ordinal()]
    n_ord = int(max([o.max() for o in ords if len(o)], default=0)) + 1
    n_prop = len(p.labels.values["property"])
    props = lambda: ([cur.prop.copy(), prev.prop.copy()], n_prop)
    (cur_period, prev_period), n_period = combine_keys([props, lambda: ([o.copy() for o in ords], n_ord)])
    (cur_key, prev_key), n_key = combine_keys([
        props, lambda: ([o.copy() for o in ords], n_ord),
        *[lambda j=j: ([cur.segs[j].copy(), prev.segs[j].copy()], len(p.labels.values[name]))
          for j, name in enumerate(p.labels.segments)]])
    if prev.n and np.bincount(prev_key).max() > 1:
        dup = int(prev.n - len(np.unique(prev_key)))
        raise ValueError(f"previous has {dup} duplicate period(s) for the same property/period position/"
                         "segment; users are not additive, so duplicates cannot be combined: pull each key once")
    row_of_key = np.full(max(n_key, 1), -1, dtype=np.int64)
    row_of_key[prev_key] = np.arange(prev.n)
    first_of_period = np.full(max(n_period, 1), -1, dtype=np.int64)
    first_of_period[prev_period[::-1]] = np.arange(prev.n - 1, -1, -1)
    return row_of_key[cur_key], first_of_period[cur_period]


def _notes(p: _Pass, has_prev: np.ndarray, prev_first: np.ndarray, partial: np.ndarray,
           data_start) -> tuple[np.ndarray, np.ndarray]:
    """(change_note, no change) per current grid row: no change for a partial period, nor against a
    previous period with no (or incomplete, or differently long) data."""
    cur, prev = p.cur.grid, p.prev.grid
    note = np.where(has_prev, None, "no data in the previous period").astype(object)
    first_data = property_dates(p.labels, data_start)[cur.prop]
    at = np.maximum(prev_first, 0)
    prev_start = np.where(has_prev, prev.start[at] if prev.n else NAT, NAT)
    prev_end = np.where(has_prev, prev.end[at] if prev.n else NAT, NAT)
    label = lambda mask: p.labels.take("period", prev.period[at[mask]]).astype(str)
    late = has_prev & (first_data != NAT) & (prev_start != NAT) & (prev_start < first_data)
    if late.any():
        note[late] = ("the previous period " + label(late) + " begins before the property's first data ("
                      + day_text(pd.Series(first_data[late].view("datetime64[ns]"))) + ")").to_numpy(dtype=object)
    # Weeks and months are clipped to the range, so the first and last can be shorter than the periods
    # they are matched with: a 1-day week against a 3-day one is no comparison.
    known = (prev_start != NAT) & (prev_end != NAT)
    prev_days = np.where(known, (prev_end - prev_start) // DAY_NS + 1, 0)
    days = (cur.end - cur.start) // DAY_NS + 1
    uneven = has_prev & ~late & known & (prev_days != days)
    if uneven.any():
        note[uneven] = ("the previous period " + label(uneven) + " has " + pd.Series(prev_days[uneven]).astype(str)
                        + " days, this one " + pd.Series(days[uneven]).astype(str)).to_numpy(dtype=object)
    note[partial] = "this period is partial (it includes today or later days)"
    return note, partial | late | uneven


def _div_into(out: np.ndarray, num, den) -> None:
    """out = num / den, NaN wherever den is 0 or missing (never inf): :func:`ga4kit.tidy.div` in place."""
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(num, den, out=out)
    np.copyto(out, np.nan, where=(den == 0) | np.isnan(den))


def _labels(values: Sequence, positions: np.ndarray) -> pd.Series:
    """values[positions] as a column (str when every value is a string, else object)."""
    small = pd.Series(list(values), dtype="str" if all(isinstance(v, str) for v in values) else "object")
    return take(small, positions)


class _Blocks:
    """The layout of an output frame: block after block (a chain's steps, or the goals), every grid row with
    the block's names in a row, so a block is a [grid row, name] array and each column is built in place."""

    def __init__(self, n_grid: int, blocks: Sequence[Sequence[int]]):
        self.n_grid, self.blocks = n_grid, [list(b) for b in blocks]
        self.total = n_grid * sum(len(b) for b in self.blocks)

    def spans(self):
        """(the block's rows, its matrix columns, its first item) per block."""
        row = item = 0
        for cols in self.blocks:
            size = self.n_grid * len(cols)
            yield slice(row, row + size), cols, item
            row, item = row + size, item + len(cols)

    def parts(self, out: np.ndarray):
        """(the block's [grid row, name] view of ``out``, its matrix columns, its first item) per block."""
        for rows, cols, item in self.spans():
            yield out[rows].reshape(self.n_grid, len(cols)), cols, item

    def take(self, matrix: np.ndarray) -> np.ndarray:
        """matrix[grid row, column of the name] for every output row."""
        out = np.empty(self.total, dtype=matrix.dtype)
        for view, cols, _ in self.parts(out):
            np.take(matrix, cols, axis=1, out=view)
        return out

    def spread(self, per_grid_row: np.ndarray) -> np.ndarray:
        """A value per grid row, for every output row."""
        out = np.empty(self.total, dtype=per_grid_row.dtype)
        for view, _, _ in self.parts(out):
            view[:] = per_grid_row[:, None]
        return out

    def items(self) -> np.ndarray:
        """The item (position over all blocks' names) of every output row."""
        out = np.empty(self.total, dtype=np.int64)
        for view, cols, first in self.parts(out):
            view[:] = np.arange(first, first + len(cols))[None, :]
        return out


def _step_columns(blocks: _Blocks, users: np.ndarray, micro: np.ndarray) -> dict[str, np.ndarray]:
    """The step arithmetic of chains (a block per chain, steps in order) from [grid row, name] users."""
    names = ["rate_from_previous", "rate_from_first", "drop_off", "drop_off_rate", "macro_per_step_user"]
    out = {name: np.empty(blocks.total) for name in names}
    for rows, cols, first in blocks.spans():
        rfp, rff, drop, dropr, mpsu = (out[name][rows].reshape(blocks.n_grid, len(cols)) for name in names)
        u = users[:, cols].astype("float64")
        prev = np.empty_like(u)
        prev[:, 0] = np.nan
        prev[:, 1:] = u[:, :-1]
        _div_into(rfp, u, prev)
        _div_into(rff, u, u[:, :1])
        np.subtract(prev, u, out=drop)
        _div_into(dropr, drop, prev)
        _div_into(mpsu, u[:, -1:], u)  # for micro steps only
        mpsu[:, ~micro[first: first + len(cols)]] = np.nan
    return out


def _rows(p: _Pass, blocks: Sequence[Sequence[str]], *, steps: bool, measures: Sequence[tuple[str, str]],
          micro: Sequence[bool] = (), today=None, previous: bool = False, data_start=None) -> dict[str, Any]:
    """The columns of every block (a chain's steps, or the goals) × grid row × name: the grid's key
    columns, ``measures`` (events column -> output column), all_users, rate_over_all_users, partial; with
    ``steps`` the step arithmetic of a chain; with ``previous`` the change columns; ``_item``: the position
    of the row's name over all blocks."""
    g = p.cur.grid
    layout = _Blocks(g.n, [[p.cur.column[x] for x in b] for b in blocks])
    grid_row = layout.spread(np.arange(g.n))
    base, missing = p.cur.baseline_users()
    columns: dict[str, Any] = {
        "property": take(p.labels.take("property", g.prop), grid_row),
        "period": take(p.labels.take("period", g.period), grid_row),
        "period_start": g.start[grid_row].view("datetime64[ns]"),
        "period_end": g.end[grid_row].view("datetime64[ns]"),
        **{name: take(p.labels.take(name, codes), grid_row) for name, codes in zip(p.labels.segments, g.segs)},
        **{dst: layout.take(p.cur.matrix(src)) for src, dst in measures},
        "_item": layout.items(),
        "all_users": pd.arrays.IntegerArray(layout.spread(base), layout.spread(missing)),
        "partial": layout.spread(p.partial(today)),
    }
    del grid_row
    users = columns["users"]
    columns["rate_over_all_users"] = ratio = np.empty(layout.total)
    all_users = np.where(missing, np.nan, base.astype("float64"))[:, None]
    for view, cols, _ in layout.parts(ratio):
        _div_into(view, p.cur.matrix("users")[:, cols].astype("float64"), all_users)
    if steps:
        columns.update(_step_columns(layout, p.cur.matrix("users"), np.asarray(micro, dtype=bool)))
    if previous:
        prev_row, has_prev, note, blank = p.compared(today, data_start)
        prev_users = p.prev.matrix("users")
        aligned = np.zeros((g.n, prev_users.shape[1]), dtype=np.int64)
        aligned[prev_row >= 0] = prev_users[prev_row[prev_row >= 0]]
        users_prev, no_prev = layout.take(aligned), layout.spread(~has_prev)
        hidden = layout.spread(blank) | no_prev
        change = users - users_prev
        pct = np.full(layout.total, np.nan)
        np.divide(change, users_prev, out=pct, where=~hidden & (users_prev != 0))
        columns.update({"users_prev": pd.arrays.IntegerArray(users_prev, no_prev),
                        "change_abs": pd.arrays.IntegerArray(change, hidden), "change_pct": pct,
                        "change_note": pd.Series(layout.spread(note), dtype="object", copy=False)})
    return columns


def _frame(columns: dict[str, Any], order: list[str]) -> pd.DataFrame:
    n = len(columns["partial"])
    return pd.DataFrame({c: columns[c] for c in order}, index=pd.RangeIndex(n), copy=False)


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
    p = _Pass.of(events, baseline, previous, segments, [s for c in config.chains for s in c.steps])
    return _chains(p, config, segments, today=today, data_start=data_start)


def _chains(p: _Pass, config, segments: list[str], *, today=None, data_start=None) -> pd.DataFrame:
    chains = [c for c in config.chains if len(c.steps)]
    info = {g.event: (g.type, g.kind) for g in config.goals}
    steps = [(c.name, i + 1, s) for c in chains for i, s in enumerate(c.steps)]
    types = [info.get(s, (None, None))[0] for _, _, s in steps]
    columns = _rows(p, [c.steps for c in chains], steps=True,
                    measures=[("users", "users"), ("event_count", "events")],
                    micro=[t == MICRO for t in types], today=today, previous=p.prev is not None,
                    data_start=data_start)
    item = columns.pop("_item")
    chain_of_step = np.repeat(np.arange(len(chains)), [len(c.steps) for c in chains])
    columns.update({
        "chain": _labels([c.name for c in chains], chain_of_step[item] if len(steps) else item),
        "step_index": np.array([i for _, i, _ in steps], dtype=np.int64)[item],
        "step": _labels([s for _, _, s in steps], item),
        "goal_type": _labels(types, item),
        "goal_kind": _labels([info.get(s, (None, None))[1] for _, _, s in steps], item),
    })
    return _frame(columns, chain_columns(segments, previous=p.prev is not None))


# --------------------------------------------------------------------------------------------- goals

def goal_summary(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str],
                 previous: Any = None, *, today: Mapping[str, Any] | dt.date | None = None,
                 data_start: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every declared goal per property × segment × period, including goals that never fired (zeros).

    Columns: see this module's docstring (:func:`goal_columns` gives them in order). ``partial``, and with
    ``previous`` ``users_prev``, ``change_abs``, ``change_pct``, ``change_note``: as in :func:`compute_chains`.
    """
    segments = list(segments)
    p = _Pass.of(events, baseline, previous, segments, [g.event for g in config.goals])
    return _goals(p, config, segments, today=today, data_start=data_start)


def _goals(p: _Pass, config, segments: list[str], *, today=None, data_start=None) -> pd.DataFrame:
    goals = list(config.goals)
    columns = _rows(p, [[g.event for g in goals]], steps=False,
                    measures=[("users", "users"), ("event_count", "events"), ("value", "value"),
                              ("key_events", "key_events")],
                    today=today, previous=p.prev is not None, data_start=data_start)
    item = columns.pop("_item")
    columns.update({"event": _labels([g.event for g in goals], item),
                    "goal_type": _labels([g.type for g in goals], item),
                    "goal_kind": _labels([g.kind for g in goals], item)})
    return _frame(columns, goal_columns(segments, previous=p.prev is not None))


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

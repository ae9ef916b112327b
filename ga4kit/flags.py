"""Data-quality flags: where pulled numbers look broken, and why a change is missing. Pure pandas/numpy.

Inputs are the tidy events and baseline frames of a pull (columns: :mod:`ga4kit.tidy`); :func:`caveat_flags`
reads a goal summary (:mod:`ga4kit.chains`).

The flags frame (columns: :mod:`ga4kit.frames`, kind ``flags``): one row per finding, errors first (then
property, flag, segments, period, event).

Flags: ``no_data``, ``no_goal_events``, ``broken_tracking``, ``out_of_sequence``, ``never_fired``,
``thresholded``, ``sampled``, ``other_row`` (from :func:`flags`); ``partial_period``, ``previous_incomplete``,
``uneven_periods`` (from :func:`caveat_flags`); the analysis adds ``not_pulled``, ``history_unavailable``,
``exact_incomplete`` with :func:`make_flags`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.frames import columns as frame_columns
from ga4kit.constants import ALL
from ga4kit.tidy import (DAY_NS, NAT, Coded, Grid, Labels, Measures, day_text, div, encode, frame_pair, int_text,
                         join_text)

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def flag_columns(segments: Sequence[str]) -> list[str]:
    """The columns of a flags frame, in order (documented in :mod:`ga4kit.frames`)."""
    return frame_columns("flags", segments)


def flags(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str], *,
          history: Any = None, metadata: Mapping | None = None, properties: Sequence[str] | None = None,
          min_history: int = 3, min_fire_share: float = 0.5, min_expected: float = 20.0) -> pd.DataFrame:
    """Where the data looks broken. Columns: see this module's docstring (:func:`flag_columns`).

    ``no_data`` (error): a property of ``properties`` (the properties that were pulled; default: those in
    the frames) without a single user in the whole range: a range before the property collected data or
    in the future, a tag that is not installed, or the wrong property.

    ``no_goal_events`` (error): a property with users but not one event of any declared goal in the
    range: tags that send none of them, different event names, or the wrong property. (It replaces the
    property's ``never_fired`` flags.)

    ``broken_tracking`` (error): a goal with zero events over a run of periods with traffic, although
    before the run it fired in at least ``min_fire_share`` of at least ``min_history`` periods with traffic,
    at a daily rate that predicts at least ``min_expected`` events over the whole run (so one quiet day
    of a low-volume goal is not an alarm, several days or a high-volume goal are). The reference is the
    history *before the run starts*, so a goal that stops from some date on is flagged for the whole
    outage, reported once per run (period = first period of the run). History comes from
    the frame itself (day/week grain) and from ``history`` (an events frame, or (events, baseline)); for
    history periods without a baseline row, traffic means any event was recorded there. Only runs reaching
    into the current frame's dates are reported.

    ``out_of_sequence`` (warning): a chain step with more users than the step before it; consecutive
    periods with the same inversion are one finding, reported at its first period.

    ``never_fired`` (warning): a declared goal with no event at all in the frame (nor in ``history``)
    while the property had users: a misspelt event name, a tag never deployed, or a key event marked
    before it ever fires. Reported once per property, over all traffic.

    ``thresholded`` / ``sampled`` / ``other_row`` (warning): from ``metadata``, a mapping property id ->
    dict, object (e.g. ``ga4kit.reporting.pull.PropertyMeta``) or a list of them, with
    subject_to_thresholding, sampling_metadatas (or a boolean ``sampled``), data_loss_from_other_row.
    """
    segments = list(segments)
    hev, hbl = frame_pair(history, "history")
    labels, (bl, ev, hb, he) = encode([(baseline, "baseline"), (events, "events"), (hbl, "history baseline"),
                                       (hev, "history events")], segments)
    return _flags(labels, bl, ev, hb, he, config, segments, history_given=hev is not None, metadata=metadata,
                  properties=properties, min_history=min_history, min_fire_share=min_fire_share,
                  min_expected=min_expected)


def _flags(labels: Labels, bl: Coded, ev: Coded, hb: Coded, he: Coded, config, segments: list[str], *,
           history_given: bool, metadata, properties, min_history: int, min_fire_share: float,
           min_expected: float, measures: Measures | None = None) -> pd.DataFrame:
    """:func:`flags` on coded frames; ``measures``: the current period's, when already made (their names
    must include every chain step)."""
    empty = _no_data(labels, bl, ev, config, segments, properties)
    silent = set(empty.loc[empty["flag"] == "no_goal_events", "property"]) if len(empty) else set()
    never = _never_fired(labels, bl, [ev, he], config, segments, history_given=history_given)
    if len(never) and silent:
        never = never[~never["property"].isin(silent)]
    parts = [
        empty,
        _broken_tracking(labels, (bl, hb), (ev, he), config, segments, min_history=min_history,
                         min_fire_share=min_fire_share, min_expected=min_expected),
        _out_of_sequence(labels, bl, ev, config, segments, measures),
        never,
        _metadata_flags(metadata, segments),
    ]
    return sort_flags(parts, segments)


def sort_flags(parts: Sequence[pd.DataFrame], segments: Sequence[str]) -> pd.DataFrame:
    """Flag frames as one, errors first (then property, flag, segments, period, event)."""
    segments = list(segments)
    parts = [p for p in parts if p is not None and len(p)]
    cols = flag_columns(segments)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="str" if c != "event" else "object") for c in cols})
    out = pd.concat(parts, ignore_index=True)[cols]
    severity = out["severity"].to_numpy(dtype=object)
    out["_sev"] = np.select([severity == k for k in SEVERITY_ORDER], list(SEVERITY_ORDER.values()), 9.0)
    out = out.sort_values(["_sev", "property", "flag", *segments, "period", "event"], kind="stable",
                          na_position="first")
    return out.drop(columns="_sev").reset_index(drop=True)


def make_flags(rows: Sequence[Mapping[str, Any]], segments: Sequence[str]) -> pd.DataFrame:
    """A flags frame from dicts with property, flag, severity, message (and optionally period, event,
    segment values; missing ones are "(all)", or None for event)."""
    out = []
    for r in rows:
        row = {"property": str(r["property"]).removeprefix("properties/"), "period": r.get("period", ALL),
               "event": r.get("event"), "flag": r["flag"], "severity": r.get("severity", "warning"),
               "message": r["message"]}
        row.update({s: r.get(s, ALL) for s in segments})
        out.append(row)
    return pd.DataFrame(out, columns=flag_columns(segments)) if out else pd.DataFrame(columns=flag_columns(segments))


def caveat_flags(summary: pd.DataFrame, segments: Sequence[str]) -> pd.DataFrame:
    """Flags that explain missing changes, from a :func:`ga4kit.chains.goal_summary` frame (over all traffic):

    ``partial_period`` (warning): a period that includes the property's today or later days; its counts
    are incomplete and no change is computed for it. ``previous_incomplete`` (info): the previous period
    begins before the property's first data (or holds none), so no change is computed against it.
    ``uneven_periods`` (info): a week or month clipped by the range is matched with a previous period of
    another length, so no change is computed for it.
    """
    segments = list(segments)
    if summary is None or not len(summary):
        return make_flags([], segments)
    rows = summary[[c for c in ("property", "period", "all_users", "partial", "change_note", *segments)
                    if c in summary]]
    for seg in segments:
        rows = rows[rows[seg] == ALL]
    users = rows.groupby(["property", "period"], sort=False)["all_users"].max().fillna(0)
    per = rows.drop_duplicates(["property", "period"])
    if "change_note" not in per:
        per = per[per["partial"].astype(bool)]
    else:
        per = per[per["partial"].astype(bool) | per["change_note"].notna()]
    found = []
    for r in per.itertuples(index=False):
        r = r._asdict()
        if bool(r.get("partial")):
            found.append({"property": r["property"], "period": r["period"], "flag": "partial_period",
                          "severity": "warning",
                          "message": f"The period {r['period']} includes today or later days in the property's "
                                     "time zone: its counts are incomplete, so no change against the previous "
                                     "period is shown. Ranges end yesterday by default; pass --end yesterday "
                                     "(or an earlier day) for complete numbers."})
        note = r.get("change_note")
        if not isinstance(note, str) or note.startswith("this period is partial"):
            continue
        if " days, this one " in note:
            found.append({"property": r["property"], "period": r["period"], "flag": "uneven_periods",
                          "severity": "info", "message": f"No change for {r['period']}: {note} (weeks and months "
                          "are clipped to the range). Start and end the range on week or month boundaries to "
                          "compare every period."})
            continue
        if note == "no data in the previous period" and not users.get((r["property"], r["period"]), 0) > 0:
            continue  # no data at all: the no_data flag says it
        found.append({"property": r["property"], "period": r["period"], "flag": "previous_incomplete",
                      "severity": "info",
                      "message": f"No change for {r['period']}: {note}, so a comparison would mostly measure "
                                 "when the data starts, not how the numbers moved."})
    return make_flags(found, segments)


# --------------------------------------------------------------------------------------------- helpers

def _goal_codes(labels: Labels, goals: Sequence[str]) -> np.ndarray:
    """Per event code: True when it is a declared goal."""
    is_goal = np.zeros(len(labels.values["event"]), dtype=bool)
    for goal in goals:
        code = labels.code_of("event", goal)
        if code >= 0:
            is_goal[code] = True
    return is_goal


def _per_property(labels: Labels, prop: np.ndarray, values: np.ndarray, how: str) -> np.ndarray:
    """values aggregated per property code ("max", "sum" or "min"); 0 (NAT for "min") where none."""
    n = len(labels.values["property"])
    if how == "sum":
        return np.bincount(prop, weights=values, minlength=n) if len(prop) else np.zeros(n)
    none = np.iinfo(np.int64).max if how == "min" else np.iinfo(np.int64).min
    out = np.full(n, none, dtype=np.int64)
    (np.minimum if how == "min" else np.maximum).at(out, prop, values)
    out[out == none] = NAT if how == "min" else 0
    return out


def _no_data(labels: Labels, bl: Coded, ev: Coded, config, segments: list[str],
             properties: Sequence[str] | None) -> pd.DataFrame:
    names = labels.values["property"]
    props = [str(p).removeprefix("properties/") for p in (properties or [])]
    seen = np.unique(np.concatenate([bl.prop, ev.prop]))  # codes follow appearance: baseline, then events
    props += [p for p in names.take(seen) if p not in props]
    if not props:
        return pd.DataFrame()
    goals = [g.event for g in config.goals]
    code = {p: i for i, p in enumerate(names)}
    users = _per_property(labels, bl.prop, bl.number("users"), "max")
    width = len(labels.values["period"]) + 1
    n_periods = np.bincount(np.unique(bl.prop.astype(np.int64) * width + bl.period) // width,
                            minlength=len(names)) if len(bl) else None
    goal_rows = _goal_codes(labels, goals)[ev.event] if len(ev) else np.zeros(0, dtype=bool)
    fired = _per_property(labels, ev.prop[goal_rows], ev.number("event_count")[goal_rows], "sum")
    rows = []
    for prop in props:
        c = code.get(prop, -1)
        n_users = int(users[c]) if c >= 0 else 0
        n_fired = int(fired[c]) if c >= 0 else 0
        if n_users <= 0 and n_fired <= 0:
            rows.append({"property": prop, "flag": "no_data", "severity": "error",
                         "message": "No users at all in this range: it may lie before the property collected "
                                    "data or in the future, the tag may not be installed, or this is the wrong "
                                    "property. Check --start/--end, the property id and GA4's Realtime report. "
                                    "Every number here is zero for that reason, not because nobody converted."})
        elif goals and n_fired <= 0:
            names_text = ", ".join(goals)
            many = n_periods is not None and c >= 0 and int(n_periods[c]) > 1
            had = f"up to {n_users:,} users per period" if many else f"{n_users:,} users"
            rows.append({"property": prop, "flag": "no_goal_events", "severity": "error",
                         "message": f"The property had {had} in this range but not one event of "
                                    f"any declared goal ({names_text}). The tags may not send them, the names may "
                                    "differ (they are case-sensitive), or the goals file names the wrong "
                                    "property. Check GA4's Realtime or DebugView for the event names it "
                                    "receives."})
    return make_flags(rows, segments)


def _overall(labels: Labels, frame: Coded) -> np.ndarray:
    """True for rows over all traffic ("(all)" in every segment column)."""
    mask = np.ones(len(frame), dtype=bool)
    for name, codes in zip(labels.segments, frame.segs):
        mask &= codes == labels.code_of(name, ALL)
    return mask


def _never_fired(labels: Labels, bl: Coded, events: Sequence[Coded], config, segments: list[str], *,
                 history_given: bool) -> pd.DataFrame:
    goals = [g.event for g in config.goals]
    if not goals or not len(bl):
        return pd.DataFrame()
    # Judge over all traffic only: a quiet segment is no evidence.
    base = np.flatnonzero(_overall(labels, bl))
    users = _per_property(labels, bl.prop[base], bl.number("users")[base], "max")
    has = np.zeros(len(users), dtype=bool)
    has[bl.prop[base]] = True
    props = np.flatnonzero(has & (users > 0))
    if not len(props):
        return pd.DataFrame()
    props = props[np.argsort(labels.rank("property")[props], kind="stable")]
    n_events = len(labels.values["event"]) + 1
    fired = np.zeros(len(labels.values["property"]) * n_events, dtype=bool)
    for e in events:
        if len(e):
            on = e.number("event_count") > 0
            fired[e.prop[on].astype(np.int64) * n_events + e.event[on]] = True
    # The first period over all traffic: the earliest start, the first row among equal ones.
    order = base[np.lexsort((bl.start[base], bl.prop[base]))]
    by_prop = bl.prop[order]
    firsts = np.flatnonzero(np.r_[True, by_prop[1:] != by_prop[:-1]])
    first_row = dict(zip(by_prop[firsts].tolist(), order[firsts].tolist()))
    derived = {g.event: g.derive.source for g in config.goals if getattr(g, "derive", None) is not None}
    names, periods = labels.values["property"], labels.values["period"]
    rows = []
    for prop in props:
        for goal in goals:
            code = labels.code_of("event", goal)
            if code >= 0 and fired[int(prop) * n_events + code]:
                continue
            n_users = int(users[prop])
            row = {"property": names[prop], "period": periods[bl.period[first_row[int(prop)]]], "event": goal,
                   "flag": "never_fired", "severity": "warning",
                   "message": f"{goal}: no events at all in this range{' or its history' if history_given else ''}"
                              f" although the property had {n_users:,} users. " + (
                                  f"It is derived from {derived[goal]}: its create-event rule (ga4kit apply) "
                                  "produces events only from the moment it exists, never for earlier days."
                                  if goal in derived else
                                  "Check the event name (it is case-sensitive) and that the tag sends it. A key "
                                  "event that never fires counts nothing.")}
            row.update({seg: ALL for seg in segments})
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------- broken tracking

def _first_rows(keys: Sequence[np.ndarray], space: int) -> list[np.ndarray]:
    """Per array, the positions of the rows whose key (in 0..space-1) no earlier row holds, over the
    arrays in order: what concatenating them and dropping duplicates would keep."""
    taken = np.zeros(space, dtype=bool)
    first = np.empty(space, dtype=np.int32 if max(map(len, keys), default=0) < 2**31 else np.int64)
    out = []
    for key in keys:
        first[key[::-1]] = np.arange(len(key) - 1, -1, -1)  # the last write wins: the first row
        keep = np.flatnonzero((first[key] == np.arange(len(key))) & ~taken[key])
        taken[key[keep]] = True
        out.append(keep)
    return out


def _broken_tracking(labels: Labels, baselines: Sequence[Coded], events: Sequence[Coded], config,
                     segments: list[str], *, min_history: int, min_fire_share: float,
                     min_expected: float) -> pd.DataFrame:
    goals = sorted(g.event for g in config.goals)  # in the order their series sort: property, segments, event
    if not goals:
        return pd.DataFrame()
    # The periods of every series: property × segments × start × end, current rows before history rows
    # (the current frame wins), baselines before events (for the period's label).
    grid = Grid(labels, [*baselines, *events], by="end")
    if not grid.n:
        return pd.DataFrame()
    traffic, counts = _period_counts(labels, grid, baselines, events, goals)
    runs = _outages(grid, traffic, counts, min_history=min_history, min_fire_share=min_fire_share)
    if runs is None:
        return pd.DataFrame()
    row, col, n, end, fired, before, rate, expected = runs
    # Judge the whole run: a single quiet day of a goal with ~5 a day is noise (P(0) under Poisson is
    # e^-5 and real counts vary more), many days of it, or one day of ~50, is an outage.
    ok = expected >= min_expected
    # Report only outages that reach into the current frame's dates.
    cur = [baselines[0], events[0]]
    if len(cur[0]) or len(cur[1]):
        cur_start = _per_property(labels, np.concatenate([f.prop for f in cur]),
                                  np.concatenate([f.start for f in cur]), "min")
        limit = cur_start[grid.prop[row]]
        ok &= (limit != NAT) & (end >= limit)
    if not ok.any():
        return pd.DataFrame()
    at = row[ok]
    runs = pd.DataFrame({
        "property": labels.take("property", grid.prop[at]),
        **{name: labels.take(name, codes[at]) for name, codes in zip(labels.segments, grid.segs)},
        "event": pd.Series(np.array(goals, dtype=object)[col[ok]], dtype="str"),
        "period": labels.take("period", grid.period[at]),
        "start": pd.Series(grid.start[at].view("datetime64[ns]")), "end": pd.Series(end[ok].view("datetime64[ns]")),
        "n": n[ok], "fired": fired[ok], "before": before[ok], "rate": rate[ok], "expected": expected[ok]})
    runs["flag"] = "broken_tracking"
    runs["severity"] = "error"
    # Sentences built column-wise (a synthetic stress frame can yield tens of thousands of runs).
    e = runs["event"].astype(str)
    runs["message"] = join_text(
        e, ": no events from ", day_text(runs["start"]), " to ", day_text(runs["end"]), " (",
        runs["n"].astype(str), np.where(runs["n"] != 1, " periods", " period"),
        ") although the property had traffic; before that it fired in ", int_text(runs["fired"]), " of ",
        int_text(runs["before"]), " periods, about ", runs["rate"].map("{:.1f}".format).astype(str),
        " a day (about ", int_text(runs["expected"]), " expected). Check the tag or trigger for ", e,
        " and whether it is still sent.")
    return runs[flag_columns(segments)]


def _period_counts(labels: Labels, grid: Grid, baselines: Sequence[Coded], events: Sequence[Coded],
                   goals: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(traffic per period, [goal, period] event counts) from the first row of every period (× event):
    traffic is baseline users when a baseline row exists, else "anything at all was recorded"."""
    nb = len(baselines)
    bl_rows, ev_rows = grid.rows[:nb], grid.rows[nb:]
    has_base = np.zeros(grid.n, dtype=bool)
    base_users = np.zeros(grid.n, dtype=np.int64)
    for b, rows, keep in zip(baselines, bl_rows, _first_rows(bl_rows, grid.n)):
        has_base[rows[keep]] = True
        base_users[rows[keep]] = b.number("users")[keep]
    n_events = len(labels.values["event"]) + 1
    wide = grid.n * n_events >= 2**31
    keys = [(r.astype(np.int64) if wide else r) * n_events + e.event for r, e in zip(ev_rows, events)]
    any_events = np.zeros(grid.n)
    kept = []  # (period, event code, count)
    for e, rows, keep in zip(events, ev_rows, _first_rows(keys, grid.n * n_events)):
        period, code, count = rows[keep], e.event[keep], e.number("event_count")[keep]
        any_events += np.bincount(period, weights=count, minlength=grid.n)
        kept.append((period, code, count))
    column_of = np.full(n_events, -1, dtype=np.int64)
    for j, goal in enumerate(goals):
        c = labels.code_of("event", goal)
        if c >= 0 and column_of[c] < 0:
            column_of[c] = j
    # Each series' periods lie side by side, in grid order (lane, start, end).
    big = any(len(count) and count.max() >= 2**31 for _, _, count in kept)
    counts = np.zeros((len(goals), grid.n), dtype=np.int64 if big else np.int32)
    for period, code, count in kept:
        hit = column_of[code] >= 0
        counts[column_of[code[hit]], period[hit]] = count[hit]
    return np.where(has_base, base_users > 0, any_events > 0), counts


def _outages(grid: Grid, traffic: np.ndarray, counts: np.ndarray, *, min_history: int,
             min_fire_share: float) -> tuple[np.ndarray, ...] | None:
    """Runs of consecutive zero periods with traffic in a series that fired in at least ``min_fire_share``
    of at least ``min_history`` periods with traffic before the run started, in series order then by
    start: (first period's grid row, goal column, periods, last end, periods fired before, periods with
    traffic before, daily rate before, expected events over the run); None when there is none."""
    zero = counts == 0
    # A block starts at every non-zero period and at every new series; its zero periods form one run,
    # whose reference point is its first zero period's start.
    lane = grid.lanes()
    new_lane = np.ones(grid.n, dtype=bool)
    new_lane[1:] = lane[1:] != lane[:-1]
    block = np.where(~zero | new_lane, np.arange(grid.n, dtype=np.int32), 0)
    np.maximum.accumulate(block, axis=1, out=block)
    col, row = np.nonzero(zero & traffic)
    if not len(row):
        return None
    block = block[col, row]
    run_first = block + ~zero[col, block]

    # Cumulative history per series ordered by period end, counting only periods with traffic: for a run,
    # everything that ended before the run starts.
    days = np.where((grid.end != NAT) & (grid.start != NAT), (grid.end - grid.start) // DAY_NS + 1, 1)
    days = np.maximum(days, 1)
    by_end = np.lexsort((grid.end, lane))
    if (by_end == np.arange(grid.n)).all():  # no period of a series overlaps another: already in order
        t, z, c, d = traffic, zero, counts, days
    else:
        t, z, c, d = traffic[by_end], zero[:, by_end], counts[:, by_end], days[by_end]

    def cum(x: np.ndarray, dtype) -> np.ndarray:  # sums of the first 0, 1, ... n values along the last axis
        out = np.zeros(x.shape[:-1] + (x.shape[-1] + 1,), dtype=dtype)
        np.cumsum(x, axis=-1, dtype=dtype, out=out[..., 1:])
        return out

    c_periods, c_days = cum(t, np.int64), cum(np.where(t, d, 0), np.int64)
    c_fired, c_events = cum(t & ~z, np.int32), cum(np.where(t, c, 0), np.int64)
    del z, c
    dates = np.unique(np.concatenate([grid.start, grid.end]))
    n_dates = len(dates) + 1
    sorted_key = lane[by_end].astype(np.int64) * n_dates + np.searchsorted(dates, grid.end[by_end])
    run_lane = lane[row].astype(np.int64)
    upto = np.searchsorted(sorted_key, run_lane * n_dates + np.searchsorted(dates, grid.start[run_first]))
    since = np.searchsorted(sorted_key, run_lane * n_dates)
    before = (c_periods[upto] - c_periods[since]).astype("float64")
    fired = (c_fired[col, upto] - c_fired[col, since]).astype("float64")
    rate = div((c_events[col, upto] - c_events[col, since]).astype("float64"),
               (c_days[upto] - c_days[since]).astype("float64"))
    expected = rate * days[row]
    keep = (before >= min_history) & (np.nan_to_num(div(fired, before)) >= min_fire_share) & \
        (np.nan_to_num(expected) > 0)
    if not keep.any():
        return None
    o = np.flatnonzero(keep)
    o = o[np.lexsort((row[o], col[o], lane[row[o]]))]  # series order, then by start
    row, col, block, fired, before, rate, expected = (a[o] for a in (row, col, block, fired, before, rate, expected))
    new = np.ones(len(row), dtype=bool)
    new[1:] = (col[1:] != col[:-1]) | (block[1:] != block[:-1])
    starts = np.flatnonzero(new)
    run = np.cumsum(new) - 1
    end = np.full(len(starts), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(end, run, grid.end[row])
    return (row[starts], col[starts], np.bincount(run), end, fired[starts], before[starts], rate[starts],
            np.add.reduceat(expected, starts))


# --------------------------------------------------------------------------------------------- out of sequence

def _out_of_sequence(labels: Labels, bl: Coded, ev: Coded, config, segments: list[str],
                     m: Measures | None = None) -> pd.DataFrame:
    chains = [c for c in config.chains if len(c.steps)]
    if not chains:
        return pd.DataFrame()
    m = m or Measures(labels, bl, ev, [s for c in chains for s in c.steps])
    users = m.matrix("users")
    grid = m.grid
    found = []  # (grid rows, chain, step index) where a step has more users than the one before it
    for ci, chain in enumerate(chains):
        for i in range(1, len(chain.steps)):
            at = np.flatnonzero(users[:, m.column[chain.steps[i]]] > users[:, m.column[chain.steps[i - 1]]])
            found.append((at, np.full(len(at), ci), np.full(len(at), i + 1)))
    if not found or not sum(len(f[0]) for f in found):
        return pd.DataFrame()
    g, ci, si = (np.concatenate([f[k] for f in found]) for k in range(3))
    # Consecutive periods with the same inversion (typical at day grain when a step's tag breaks) are
    # one finding: collapse them into a run, reported at its first period.
    chain_rank = np.argsort(np.argsort([c.name for c in chains], kind="stable"), kind="stable")
    ordinal, lane = grid.ordinal(), grid.lanes()
    o = np.lexsort((g, ordinal[g], si, lane[g], chain_rank[ci], labels.rank("property")[grid.prop[g]]))
    g, ci, si = g[o], ci[o], si[o]
    new = np.ones(len(g), dtype=bool)
    new[1:] = ((lane[g][1:] != lane[g][:-1]) | (ci[1:] != ci[:-1]) | (si[1:] != si[:-1])
               | (ordinal[g][1:] - ordinal[g][:-1] != 1))
    starts = np.flatnonzero(new)
    run_of = np.cumsum(new) - 1
    n = np.bincount(run_of)
    start = np.full(len(starts), np.iinfo(np.int64).max, dtype=np.int64)
    end = np.full(len(starts), np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(start, run_of, grid.start[g])
    np.maximum.at(end, run_of, grid.end[g])
    g0, c0, s0 = g[starts], ci[starts], si[starts]
    step = [chains[c].steps[s - 1] for c, s in zip(c0, s0)]
    prev_step = [chains[c].steps[s - 2] for c, s in zip(c0, s0)]
    runs = pd.DataFrame({
        "property": labels.take("property", grid.prop[g0]),
        "chain": pd.Series([chains[c].name for c in c0], dtype="str"),
        **{name: labels.take(name, codes[g0]) for name, codes in zip(labels.segments, grid.segs)},
        "step": pd.Series(step, dtype="str"),
        "period": labels.take("period", grid.period[g0]),
        "users": users[g0, [m.column[s] for s in step]] if len(g0) else np.zeros(0, np.int64),
        "_prev_users": users[g0, [m.column[s] for s in prev_step]] if len(g0) else np.zeros(0, np.int64),
        "start": pd.Series(start.view("datetime64[ns]")), "end": pd.Series(end.view("datetime64[ns]")), "n": n})
    runs["event"] = runs["step"]
    runs["flag"] = "out_of_sequence"
    runs["severity"] = "warning"
    prev_name = pd.Series(prev_step, index=runs.index, dtype="str")
    span = join_text(", and so in all ", runs["n"].astype(str), " periods from ", day_text(runs["start"]), " to ",
                     day_text(runs["end"])).where(runs["n"] > 1, "")
    runs["message"] = join_text(
        "chain ", runs["chain"].astype(str), ": ", runs["step"].astype(str), " has ", int_text(runs["users"]),
        " users, more than ", prev_name, " (", int_text(runs["_prev_users"]), ") before it", span,
        ". Counts are open (users need not do the steps in order), so this can be real, but it often means ",
        prev_name, " is under-tracked or the chain's order is wrong.")
    return runs[flag_columns(segments)]


# --------------------------------------------------------------------------------------------- metadata

def _get(item: Any, key: str, default=None):
    if isinstance(item, Mapping):
        return item.get(key, default)
    return getattr(item, key, default)


def _metadata_flags(metadata: Mapping | None, segments: list[str]) -> pd.DataFrame:
    if not metadata:
        return pd.DataFrame()
    known = ("subject_to_thresholding", "sampling_metadatas", "sampled", "data_loss_from_other_row")
    # A bare metadata dict (not keyed by property) applies to every property.
    items = {"*": metadata} if any(k in metadata for k in known) else metadata
    rows = []
    for prop, md in items.items():
        prop = str(prop).removeprefix("properties/")
        mds = md if isinstance(md, (list, tuple)) else [md]
        thresholded = any(bool(_get(m, "subject_to_thresholding", False)) for m in mds)
        other_row = any(bool(_get(m, "data_loss_from_other_row", False)) for m in mds)
        samples = [s for m in mds for s in (_get(m, "sampling_metadatas") or [])]
        # ga4kit.reporting.pull keeps only a boolean ``sampled`` (PropertyMeta): accept that too.
        sampled = bool(samples) or any(bool(_get(m, "sampled", False)) for m in mds)
        if thresholded:
            rows.append((prop, "thresholded", "GA4 applied thresholding: rows with few users were withheld, so "
                         "small segments and rare goals are undercounted. Widen the date range, drop the "
                         "segment dimension, or use the device-based reporting identity to reduce it."))
        if sampled:
            read = sum(float(_get(s, "samples_read_count", 0) or 0) for s in samples)
            space = sum(float(_get(s, "sampling_space_size", 0) or 0) for s in samples)
            pct = f" ({read / space:.1%} of events read)" if space else ""
            rows.append((prop, "sampled", f"GA4 sampled this report{pct}: numbers are estimates. Shorten the "
                         "date range or pull day by day to avoid sampling."))
        if other_row:
            rows.append((prop, "other_row", "GA4 grouped some rows into \"(other)\" because of cardinality "
                         "limits: segment totals are incomplete. Use fewer or coarser segment dimensions."))
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows, columns=["property", "flag", "message"])
    out["period"] = ALL
    for c in segments:
        out[c] = ALL
    out["event"] = None
    out["severity"] = "warning"
    return out[flag_columns(segments)]

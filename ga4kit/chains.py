"""Micro-to-macro chains, goal summaries and data-quality flags: pure pandas, no I/O, no Google imports.

Input frames are the tidy frames the reporting pull produces:

``events``    property, period, period_start, period_end, <segment columns>, event, goal_type, goal_kind,
              event_count, users, value, key_events
``baseline``  property, period, period_start, period_end, <segment columns>, users, sessions

Rows pulled without the segment dimension hold ``"(all)"`` in every segment column; they are treated as one
more segment value, never computed by summing segments (``users`` is not additive across segments or
periods). A declared goal with no row at all counts as zero.

Counts are *open*: users of a step need not have done the previous steps first, so a step can have more
users than the one before it (``flags`` reports that; ``drop_off`` is then negative). For the same reason
``macro_per_step_user`` (macro users / this step's users) is a ratio of two open counts, not the share of
the step's users who went on to the macro goal: it can exceed 100%. ``exact_steps`` places a closed funnel
beside the open counts; its ``macro_share_exact`` is that share (users who did this step and then, in
order, every later step up to the macro goal).

A period that includes the property's today or later days is ``partial`` (its counts are incomplete): no
change against the previous period is computed for it, and neither against a previous period that begins
before the property's data does (``change_note`` says why a change is missing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import datetime as dt

import numpy as np
import pandas as pd

ALL = "(all)"
MICRO = "micro"
MACRO = "macro"

EVENT_COLUMNS = ("property", "period", "period_start", "period_end", "event", "goal_type", "goal_kind",
                 "event_count", "users", "value", "key_events")
BASELINE_COLUMNS = ("property", "period", "period_start", "period_end", "users", "sessions")

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
EXACT_COLUMNS = ("users_exact", "rate_exact", "macro_share_exact")


# --------------------------------------------------------------------------------------------- helpers

def _f(x) -> np.ndarray:
    """A float64 numpy array from a Series/array/scalar, NA as NaN (nullable dtypes included)."""
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy(dtype="float64", na_value=np.nan)
    if isinstance(x, pd.api.extensions.ExtensionArray):
        return x.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(x, dtype="float64")


def _div(num, den) -> np.ndarray:
    """num / den as float64, NaN wherever den is 0 or missing (never inf)."""
    num, den = _f(num), _f(den)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=(den != 0) & ~np.isnan(den))
    return out


def _normalise(frame: pd.DataFrame | None, segments: Sequence[str], required: Sequence[str],
               name: str) -> pd.DataFrame:
    """A copy with the expected columns and dtypes; an empty or ``None`` frame becomes an empty one."""
    cols = [*required[:4], *segments, *required[4:]]
    if frame is None or (len(frame) == 0 and not set(cols) <= set(frame.columns)):
        frame = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}; "
                         f"expected {', '.join(cols)}")
    out = frame.loc[:, cols].copy()
    out["property"] = out["property"].astype(str).str.removeprefix("properties/")
    out["period"] = out["period"].astype(str)
    for c in ("period_start", "period_end"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    for c in segments:
        out[c] = out[c].fillna(ALL).astype(str)
    for c in ("event_count", "users", "sessions"):
        if c in out:
            out[c] = pd.to_numeric(out[c]).fillna(0).astype("int64")
    for c in ("value", "key_events"):
        if c in out:
            out[c] = pd.to_numeric(out[c]).fillna(0.0).astype("float64")
    if "event" in out:
        out["event"] = out["event"].astype(str)
    return out


def _day(col: pd.Series) -> pd.Series:
    return pd.to_datetime(col).dt.strftime("%Y-%m-%d").astype(str)


def _int_text(col: pd.Series) -> pd.Series:
    return pd.Series(np.round(_f(col)).astype("int64"), index=col.index).astype(str)


def _frames(pair: Any, what: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(events, baseline) from a tuple/list, a mapping with those keys, or a bare events frame."""
    if pair is None:
        return None, None
    if isinstance(pair, pd.DataFrame):
        return pair, None
    if isinstance(pair, Mapping):
        return pair.get("events"), pair.get("baseline")
    if isinstance(pair, Sequence) and len(pair) == 2:
        return pair[0], pair[1]
    raise TypeError(f"{what} must be (events, baseline), {{'events': ..., 'baseline': ...}} or an events "
                    f"DataFrame, not {type(pair).__name__}")


class _Index:
    """Integer ids for the property × segment × period grid and for event names.

    Every row of ``events`` and ``baseline`` gets the id of its grid row (ids follow the output order:
    property, segments, period_start, period), and the measures land in dense arrays indexed by
    [grid id, event code]. Steps and goals are then looked up by position instead of merged on several
    string keys, which is what makes a million-row frame take well under a second.
    """

    def __init__(self, ev: pd.DataFrame, bl: pd.DataFrame, segments: list[str], names: Sequence[str]):
        keys = ["property", *segments, "period_start", "period"]
        both = pd.concat([bl[[*keys, "period_end"]], ev[[*keys, "period_end"]]], ignore_index=True)
        gid = both.groupby(keys, sort=True, dropna=False).ngroup().to_numpy()
        n = int(gid.max()) + 1 if len(gid) else 0
        first = np.empty(n, dtype="int64")
        first[gid[::-1]] = np.arange(len(gid) - 1, -1, -1)  # the last write wins: first occurrence
        self.grid = both.iloc[first][["property", "period", "period_start", "period_end", *segments]] \
            .reset_index(drop=True)
        self.n = len(self.grid)
        self.bl_gid = gid[: len(bl)]
        self.names = list(dict.fromkeys(names))
        self.code = {name: i for i, name in enumerate(self.names)}
        known = ev["event"].where(ev["event"].isin(self.names))  # other events become NaN -> code -1
        ev_code = pd.Categorical(known, categories=self.names).codes
        relevant = ev_code >= 0  # events that are no goal or step are not needed
        self.ev_rows = np.flatnonzero(relevant)
        self.ev_gid = gid[len(bl):][relevant]
        self.ev_code = ev_code[relevant].astype("int64")
        k = max(len(self.names), 1)
        if len(self.ev_gid) and np.bincount(self.ev_gid * k + self.ev_code).max() > 1:
            raise ValueError("events has duplicate rows for the same property/period/segment/event; users "
                             "are not additive, so duplicates cannot be combined: pull each key once")
        if len(self.bl_gid) and np.bincount(self.bl_gid).max() > 1:
            raise ValueError("baseline has duplicate rows for the same property/period/segment; users are "
                             "not additive, so duplicates cannot be combined: pull each key once")
        self._ev = ev

    def matrix(self, column: str, dtype: str = "int64") -> np.ndarray:
        """[grid id, event code] -> events[column]; 0 where a goal has no row (missing counts as zero)."""
        m = np.zeros((self.n, max(len(self.names), 1)), dtype=dtype)
        m[self.ev_gid, self.ev_code] = self._ev[column].to_numpy()[self.ev_rows]
        return m

    def baseline_users(self, bl: pd.DataFrame) -> pd.Series:
        """Baseline users per grid row as nullable Int64 (NA where no baseline row was pulled)."""
        vals = np.zeros(self.n, dtype="int64")
        mask = np.ones(self.n, dtype=bool)
        vals[self.bl_gid] = bl["users"].to_numpy()
        mask[self.bl_gid] = False
        return pd.Series(pd.arrays.IntegerArray(vals, mask))

    def labels(self, values: Sequence, positions: np.ndarray) -> pd.Series:
        """values[positions] as a column; taking from a tiny array is far cheaper than converting objects."""
        small = pd.Series(list(values), dtype="str" if all(isinstance(v, str) for v in values) else "object")
        return small.take(positions).reset_index(drop=True)

    def repeat(self, k: int) -> pd.DataFrame:
        """The grid with each row repeated k times in a row."""
        return self.grid.loc[np.repeat(np.arange(self.n), k)].reset_index(drop=True)


def _goal_info(config) -> dict[str, tuple[str | None, str | None]]:
    return {g.event: (g.type, g.kind) for g in config.goals}


def _merge_m1(left: pd.DataFrame, right: pd.DataFrame, on: list[str], what: str) -> pd.DataFrame:
    """Left merge that keeps left order and refuses duplicate keys on the right (users can't be summed)."""
    try:
        return left.merge(right, on=on, how="left", validate="m:1", sort=False)
    except pd.errors.MergeError as exc:
        dup = int(right.duplicated(on).sum())
        raise ValueError(f"{what} has {dup} duplicate row(s) for the same {'/'.join(on)}; users are not "
                         "additive, so duplicates cannot be combined: pull each key once") from exc


def _period_ordinal(frame: pd.DataFrame) -> pd.Series:
    """1 for a property's earliest period, 2 for the next...: aligns a period with the previous one."""
    return frame.groupby("property")["period_start"].rank(method="dense").astype("int64")


def _attach_previous(cur: pd.DataFrame, prev: pd.DataFrame, keys: list[str], *,
                     data_start: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """users_prev / change_abs / change_pct / change_note, matching periods by their position within the
    property; no change for a partial period, nor against a previous period with no (or incomplete) data."""
    cur = cur.copy()
    cur["_ord"] = _period_ordinal(cur) if len(cur) else pd.Series(dtype="int64")
    prev = prev.copy()
    prev["_ord"] = _period_ordinal(prev) if len(prev) else pd.Series(dtype="int64")
    right = prev[[*keys, "_ord", "users"]].rename(columns={"users": "users_prev"})
    out = _merge_m1(cur, right, [*keys, "_ord"], "previous")
    # A segment or goal absent from a previous period that was pulled had zero users there;
    # a property/period with no previous data at all stays unknown (NA).
    pkeys = prev[["property", "_ord", "period_start", "period_end", "period"]] \
        .drop_duplicates(["property", "_ord"]).set_index(["property", "_ord"])
    at = pd.MultiIndex.from_frame(out[["property", "_ord"]])
    has_prev = at.isin(pkeys.index)
    users_prev = out["users_prev"].astype("Float64")
    users_prev = users_prev.mask(users_prev.isna() & has_prev, 0)
    out["users_prev"] = users_prev.astype("Int64")
    out["change_abs"] = (out["users"].astype("Int64") - out["users_prev"]).astype("Int64")
    out["change_pct"] = _div(out["change_abs"], out["users_prev"])

    note = pd.Series(np.where(has_prev, None, "no data in the previous period"), index=out.index, dtype="object")
    prev_start = pd.Series(pkeys["period_start"].reindex(at).to_numpy(), index=out.index)
    prev_label = pd.Series(pkeys["period"].reindex(at).to_numpy(), index=out.index, dtype="object")
    first = _dates_by_property(out["property"], data_start)
    late = (has_prev & first.notna().to_numpy() & (prev_start < first).fillna(False).to_numpy(dtype=bool))
    if late.any():
        note[late] = ("the previous period " + prev_label[late].astype(str) + " begins before the property's "
                      "first data (" + _day(first[late]) + ")")
    # Weeks and months are clipped to the range, so the first and last can be shorter than the periods
    # they are matched with: a 1-day week against a 3-day one is no comparison.
    prev_days = (pd.Series(pkeys["period_end"].reindex(at).to_numpy(), index=out.index) - prev_start).dt.days + 1
    days = (pd.to_datetime(out["period_end"]) - pd.to_datetime(out["period_start"])).dt.days + 1
    uneven = has_prev & ~late & (prev_days.notna() & (prev_days != days)).to_numpy(dtype=bool)
    if uneven.any():
        note[uneven] = ("the previous period " + prev_label[uneven].astype(str) + " has "
                        + prev_days[uneven].astype("int64").astype(str) + " days, this one "
                        + days[uneven].astype("int64").astype(str))
    partial = out["partial"].to_numpy(dtype=bool) if "partial" in out else np.zeros(len(out), dtype=bool)
    note[partial] = "this period is partial (it includes today or later days)"
    blank = partial | late | uneven
    if blank.any():
        out.loc[blank, "change_abs"] = pd.NA
        out.loc[blank, "change_pct"] = np.nan
    out["change_note"] = note
    return out.drop(columns="_ord")


def _dates_by_property(props: pd.Series, dates: Mapping[str, Any] | Any | None) -> pd.Series:
    """A datetime64 Series aligned with ``props``: dates[property] (a mapping) or one date for all."""
    if dates is None:
        return pd.Series(pd.NaT, index=props.index, dtype="datetime64[ns]")
    if isinstance(dates, Mapping):
        clean = {str(k).removeprefix("properties/"): v for k, v in dates.items() if v is not None}
        values = props.astype(str).map(clean)
    else:
        values = pd.Series([dates] * len(props), index=props.index, dtype="object")
    return pd.to_datetime(values).astype("datetime64[ns]")


def mark_partial(frame: pd.DataFrame, today: Mapping[str, Any] | dt.date | None) -> pd.Series:
    """True where the row's period ends on or after ``today`` (a date, or {property: date}): the period
    includes the property's today or the future, so its counts are not complete yet."""
    if today is None or not len(frame):
        return pd.Series(np.zeros(len(frame), dtype=bool), index=frame.index)
    t = _dates_by_property(frame["property"].astype(str).str.removeprefix("properties/"), today)
    end = pd.to_datetime(frame["period_end"]).astype("datetime64[ns]")
    return pd.Series((end >= t).to_numpy(dtype=bool), index=frame.index)


# --------------------------------------------------------------------------------------------- chains

def chain_columns(segments: Sequence[str], *, previous: bool = False) -> list[str]:
    """The columns of :func:`compute_chains`, in order."""
    cols = ["property", "chain", *segments, "period", "period_start", "period_end", "step_index", "step",
            "goal_type", "goal_kind", "users", "events", "rate_from_previous", "rate_from_first", "drop_off",
            "drop_off_rate", "all_users", "rate_over_all_users", "macro_per_step_user", "partial"]
    if previous:
        cols += ["users_prev", "change_abs", "change_pct", "change_note"]
    return cols


def compute_chains(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str], *,
                   previous: Any = None, today: Mapping[str, Any] | dt.date | None = None,
                   data_start: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per property × chain × segment values × period × step.

    ``users``/``events`` are the step's users and event count in that property/period/segment (0 when the
    goal has no row); ``rate_from_previous`` = users / previous step's users (NaN for step 1),
    ``rate_from_first`` = users / step 1 users, ``drop_off`` = previous users − users and ``drop_off_rate``
    = drop_off / previous users (both negative when the step has more users than the one before it),
    ``all_users`` = baseline users of the same property/period/segment and ``rate_over_all_users`` = users
    / all_users, ``macro_per_step_user`` = users of the chain's last (macro) step / this step's users, for
    micro steps only: macro users per step user, from open counts, so not a share (it can exceed 1; see
    ``exact_steps`` for the share). Every division by zero gives NaN.

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
    ev = _normalise(events, segments, EVENT_COLUMNS, "events")
    bl = _normalise(baseline, segments, BASELINE_COLUMNS, "baseline")
    info = _goal_info(config)
    idx = _Index(ev, bl, segments, [s for c in config.chains for s in c.steps])
    users_m, events_m = idx.matrix("users"), idx.matrix("event_count")
    all_users = idx.baseline_users(bl)

    parts = []
    for chain in config.chains:
        steps = list(chain.steps)
        n = len(steps)
        if n == 0:
            continue
        codes = [idx.code[s] for s in steps]
        # Each grid row's steps sit in n consecutive rows, so the step arithmetic is a reshape.
        frame = idx.repeat(n)
        pos = np.tile(np.arange(n), idx.n)
        frame.insert(1, "chain", idx.labels([chain.name], np.zeros(len(pos), dtype="int64")))
        frame["step_index"] = pos + 1
        frame["step"] = idx.labels(steps, pos)
        types = np.array([info.get(s, (None, None))[0] for s in steps], dtype=object)
        frame["goal_type"] = idx.labels(list(types), pos)
        frame["goal_kind"] = idx.labels([info.get(s, (None, None))[1] for s in steps], pos)
        frame["users"] = users_m[:, codes].ravel()
        frame["events"] = events_m[:, codes].ravel()

        u = users_m[:, codes].astype("float64")
        prev = np.full_like(u, np.nan)
        prev[:, 1:] = u[:, :-1]
        first = np.repeat(u[:, :1], n, axis=1)
        macro = np.repeat(u[:, -1:], n, axis=1)
        drop = prev - u
        frame["rate_from_previous"] = _div(u, prev).ravel()
        frame["rate_from_first"] = _div(u, first).ravel()
        frame["drop_off"] = drop.ravel()
        frame["drop_off_rate"] = _div(drop, prev).ravel()
        is_micro = np.tile(types == MICRO, idx.n)
        frame["macro_per_step_user"] = np.where(is_micro, _div(macro, u).ravel(), np.nan)
        base = pd.array(np.repeat(all_users.to_numpy(dtype="float64", na_value=np.nan), n))
        frame["all_users"] = pd.Series(base).astype("Int64")
        frame["rate_over_all_users"] = _div(frame["users"], frame["all_users"])
        parts.append(frame)

    if parts:
        out = pd.concat(parts, ignore_index=True)
    else:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in chain_columns(segments)})
    out["partial"] = mark_partial(out, today)

    if previous is not None:
        pev, pbl = _frames(previous, "previous")
        prev_chains = compute_chains(pev, pbl, config, segments)
        out = _attach_previous(out, prev_chains, ["property", "chain", *segments, "step_index"],
                               data_start=data_start)
    return out.loc[:, chain_columns(segments, previous=previous is not None)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------- goals

def goal_columns(segments: Sequence[str], *, previous: bool = False) -> list[str]:
    """The columns of :func:`goal_summary`, in order."""
    cols = ["property", *segments, "period", "period_start", "period_end", "event", "goal_type", "goal_kind",
            "users", "events", "value", "key_events", "all_users", "rate_over_all_users", "partial"]
    if previous:
        cols += ["users_prev", "change_abs", "change_pct", "change_note"]
    return cols


def goal_summary(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str],
                 previous: Any = None, *, today: Mapping[str, Any] | dt.date | None = None,
                 data_start: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every declared goal per property × segment × period, including goals that never fired (zeros).

    Columns: see :func:`goal_columns`. ``rate_over_all_users`` = users / baseline users (NaN on zero);
    ``partial``, and with ``previous`` ``users_prev``, ``change_abs``, ``change_pct``, ``change_note``: as
    in :func:`compute_chains`.
    """
    segments = list(segments)
    ev = _normalise(events, segments, EVENT_COLUMNS, "events")
    bl = _normalise(baseline, segments, BASELINE_COLUMNS, "baseline")
    goals = list(config.goals)
    n = len(goals)
    idx = _Index(ev, bl, segments, [g.event for g in goals])
    frame = idx.repeat(n)
    pos = np.tile(np.arange(n), idx.n)
    frame["event"] = idx.labels([g.event for g in goals], pos)
    frame["goal_type"] = idx.labels([g.type for g in goals], pos)
    frame["goal_kind"] = idx.labels([g.kind for g in goals], pos)
    for src, dst, dtype in (("users", "users", "int64"), ("event_count", "events", "int64"),
                            ("value", "value", "float64"), ("key_events", "key_events", "float64")):
        frame[dst] = idx.matrix(src, dtype)[:, [idx.code[g.event] for g in goals]].ravel()
    all_users = idx.baseline_users(bl)
    frame["all_users"] = pd.Series(np.repeat(all_users.to_numpy(dtype="float64", na_value=np.nan), n)) \
        .astype("Int64")
    frame["rate_over_all_users"] = _div(frame["users"], frame["all_users"])
    frame["partial"] = mark_partial(frame, today)
    if previous is not None:
        pev, pbl = _frames(previous, "previous")
        prev = goal_summary(pev, pbl, config, segments)
        frame = _attach_previous(frame, prev, ["property", *segments, "event"], data_start=data_start)
    return frame.loc[:, goal_columns(segments, previous=previous is not None)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------- exact

def exact_steps(chains: pd.DataFrame, funnel: pd.DataFrame, segments: Sequence[str]) -> pd.DataFrame:
    """``chains`` with ``users_exact``, ``rate_exact`` and ``macro_share_exact`` from a closed (in-order)
    funnel beside the open counts.

    ``funnel``: property, chain, [period], [segment columns], step_index, step, users_exact — e.g. from
    runFunnelReport. Segment columns it lacks are taken as ``"(all)"``; without a ``period`` column its
    numbers apply to every period of the chain frame. ``rate_exact`` = users_exact / users_exact of the
    previous step (NaN for step 1 and on zero), the closed counterpart of ``rate_from_previous``;
    ``macro_share_exact`` = users_exact of the chain's last (macro) step / this step's users_exact, for micro
    steps: the share of the users who reached this step in order who went on to the macro goal (at most 1).
    Rows the funnel has no numbers for keep NA. Raises ValueError when a funnel step names a different event
    than the chain step at that index.
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
    f["rate_exact"] = _div(f["users_exact"], prev)
    f.loc[f["step_index"] == 1, "rate_exact"] = np.nan
    last = f.groupby(keys, sort=False)["users_exact"].transform("last")
    f["macro_share_exact"] = _div(last, f["users_exact"])
    right = f[[*keys, "step_index", "step", "users_exact", "rate_exact", "macro_share_exact"]] \
        .rename(columns={"step": "_fstep"})
    out = _merge_m1(chains.drop(columns=[c for c in EXACT_COLUMNS if c in chains]),
                    right, [*keys, "step_index"], "funnel")
    bad = out["_fstep"].notna() & (out["_fstep"].astype(str) != out["step"].astype(str))
    if bad.any():
        row = out[bad].iloc[0]
        raise ValueError(f"funnel step {row['step_index']} of chain {row['chain']} is {row['_fstep']!r}, "
                         f"but the chain has {row['step']!r} there")
    out["users_exact"] = out["users_exact"].astype("Int64")
    out["macro_share_exact"] = out["macro_share_exact"].where(out["goal_type"] == MICRO, np.nan)
    return out.drop(columns="_fstep")


# --------------------------------------------------------------------------------------------- flags

def flag_columns(segments: Sequence[str]) -> list[str]:
    return ["property", "period", *segments, "event", "flag", "severity", "message"]


def flags(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str], *,
          history: Any = None, metadata: Mapping | None = None, properties: Sequence[str] | None = None,
          min_history: int = 3, min_fire_share: float = 0.5, min_expected: float = 20.0) -> pd.DataFrame:
    """Where the data looks broken. Columns: property, period, <segments>, event, flag, severity, message.

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

    ``out_of_sequence`` (warning): a chain step with more users than the step before it.

    ``never_fired`` (warning): a declared goal with no event at all in the frame (nor in ``history``)
    while the property had users: a misspelt event name, a tag never deployed, or a key event marked
    before it ever fires. Reported once per property, over all traffic.

    ``thresholded`` / ``sampled`` / ``other_row`` (warning): from ``metadata``, a mapping property id ->
    dict, object (e.g. ``ga4kit.reporting.pull.PropertyMeta``) or a list of them, with
    subject_to_thresholding, sampling_metadatas (or a boolean ``sampled``), data_loss_from_other_row.
    """
    segments = list(segments)
    ev = _normalise(events, segments, EVENT_COLUMNS, "events")
    bl = _normalise(baseline, segments, BASELINE_COLUMNS, "baseline")
    empty = _no_data(ev, bl, config, segments, properties)
    silent = set(empty.loc[empty["flag"] == "no_goal_events", "property"]) if len(empty) else set()
    never = _never_fired(ev, bl, config, segments, history)
    if len(never) and silent:
        never = never[~never["property"].isin(silent)]
    parts = [
        empty,
        _broken_tracking(ev, bl, config, segments, history, min_history=min_history,
                         min_fire_share=min_fire_share, min_expected=min_expected),
        _out_of_sequence(ev, bl, config, segments),
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
    out["_sev"] = out["severity"].map(SEVERITY_ORDER).fillna(9)
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
    """Flags that explain missing changes, from a :func:`goal_summary` frame (over all traffic):

    ``partial_period`` (warning): a period that includes the property's today or later days; its counts
    are incomplete and no change is computed for it. ``previous_incomplete`` (info): the previous period
    begins before the property's first data (or holds none), so no change is computed against it.
    ``uneven_periods`` (info): a week or month clipped by the range is matched with a previous period of
    another length, so no change is computed for it.
    """
    segments = list(segments)
    if summary is None or not len(summary):
        return make_flags([], segments)
    rows = summary
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


def _no_data(ev: pd.DataFrame, bl: pd.DataFrame, config, segments: list[str],
             properties: Sequence[str] | None) -> pd.DataFrame:
    props = [str(p).removeprefix("properties/") for p in (properties or [])]
    props += [p for p in pd.unique(pd.concat([bl["property"], ev["property"]])) if p not in props]
    if not props:
        return pd.DataFrame()
    goals = [g.event for g in config.goals]
    users = bl.groupby("property")["users"].max() if len(bl) else pd.Series(dtype="int64")
    n_periods = bl.groupby("property")["period"].nunique() if len(bl) else pd.Series(dtype="int64")
    fired = ev[ev["event"].isin(goals)].groupby("property")["event_count"].sum() if len(ev) else \
        pd.Series(dtype="int64")
    rows = []
    for prop in props:
        n_users = int(users.get(prop, 0))
        if n_users <= 0 and int(fired.get(prop, 0)) <= 0:
            rows.append({"property": prop, "flag": "no_data", "severity": "error",
                         "message": "No users at all in this range: it may lie before the property collected "
                                    "data or in the future, the tag may not be installed, or this is the wrong "
                                    "property. Check --start/--end, the property id and GA4's Realtime report. "
                                    "Every number here is zero for that reason, not because nobody converted."})
        elif goals and int(fired.get(prop, 0)) <= 0:
            names = ", ".join(goals)
            had = f"up to {n_users:,} users per period" if int(n_periods.get(prop, 1)) > 1 else f"{n_users:,} users"
            rows.append({"property": prop, "flag": "no_goal_events", "severity": "error",
                         "message": f"The property had {had} in this range but not one event of "
                                    f"any declared goal ({names}). The tags may not send them, the names may "
                                    "differ (they are case-sensitive), or the goals file names the wrong "
                                    "property. Check GA4's Realtime or DebugView for the event names it "
                                    "receives."})
    return make_flags(rows, segments)


def _never_fired(ev: pd.DataFrame, bl: pd.DataFrame, config, segments: list[str], history: Any) -> pd.DataFrame:
    goals = [g.event for g in config.goals]
    if not goals or bl.empty:
        return pd.DataFrame()
    overall = np.ones(len(bl), dtype=bool)
    for seg in segments:  # judge over all traffic only: a quiet segment is no evidence
        overall &= (bl[seg] == ALL).to_numpy()
    base = bl[overall] if segments else bl
    users = base.groupby("property", sort=True)["users"].max()
    users = users[users > 0]
    if users.empty:
        return pd.DataFrame()
    hev, _ = _frames(history, "history")
    seen = pd.concat([ev[["property", "event", "event_count"]],
                      hev[["property", "event", "event_count"]] if hev is not None and len(hev) else None])
    pairs = seen.loc[seen["event_count"] > 0, ["property", "event"]].drop_duplicates()
    fired = set(zip(pairs["property"].astype(str), pairs["event"].astype(str)))
    first_period = base.sort_values("period_start").groupby("property", sort=True)["period"].first()
    derived = {g.event: g.derive.source for g in config.goals if getattr(g, "derive", None) is not None}
    rows = []
    for prop, n_users in users.items():
        for goal in goals:
            if (str(prop), goal) in fired:
                continue
            row = {"property": prop, "period": first_period[prop], "event": goal, "flag": "never_fired",
                   "severity": "warning",
                   "message": f"{goal}: no events at all in this range{' or its history' if hev is not None else ''}"
                              f" although the property had {int(n_users):,} users. " + (
                                  f"It is derived from {derived[goal]}: its create-event rule (ga4kit apply) "
                                  "produces events only from the moment it exists, never for earlier days."
                                  if goal in derived else
                                  "Check the event name (it is case-sensitive) and that the tag sends it. A key "
                                  "event that never fires counts nothing.")}
            row.update({seg: ALL for seg in segments})
            rows.append(row)
    return pd.DataFrame(rows)


def _broken_tracking(ev: pd.DataFrame, bl: pd.DataFrame, config, segments: list[str], history: Any, *,
                     min_history: int, min_fire_share: float, min_expected: float) -> pd.DataFrame:
    goals = [g.event for g in config.goals]
    if not goals:
        return pd.DataFrame()
    hev, hbl = _frames(history, "history")
    hev = _normalise(hev, segments, EVENT_COLUMNS, "history events")
    hbl = _normalise(hbl, segments, BASELINE_COLUMNS, "history baseline")
    pkeys = ["property", *segments, "period_start", "period_end"]
    # Current rows win over history rows for the same period.
    # (Skipped without history: de-duplicating a million rows on string keys is not free.)
    all_ev = pd.concat([ev, hev], ignore_index=True).drop_duplicates([*pkeys, "event"]) if len(hev) else ev
    all_bl = pd.concat([bl, hbl], ignore_index=True).drop_duplicates(pkeys) if len(hbl) else bl
    periods = pd.concat([all_bl[[*pkeys, "period"]], all_ev[[*pkeys, "period"]]],
                        ignore_index=True).drop_duplicates(pkeys)
    if periods.empty:
        return pd.DataFrame()
    # Traffic: baseline users when a baseline row exists, else "anything at all was recorded".
    any_ev = all_ev.groupby(pkeys, sort=False)["event_count"].sum().rename("_any").reset_index()
    periods = periods.merge(all_bl[[*pkeys, "users"]].rename(columns={"users": "_base"}), on=pkeys, how="left")
    periods = periods.merge(any_ev, on=pkeys, how="left")
    periods["_traffic"] = np.where(periods["_base"].notna(), periods["_base"].fillna(0) > 0,
                                   periods["_any"].fillna(0) > 0)

    n = len(goals)
    s = periods.loc[np.repeat(periods.index.to_numpy(), n), [*pkeys, "period", "_traffic"]]
    s = s.reset_index(drop=True)
    s["event"] = np.tile(np.array(goals, dtype=object), len(periods)).astype(str)
    s = s.merge(all_ev[[*pkeys, "event", "event_count"]], on=[*pkeys, "event"], how="left")
    s["event_count"] = s["event_count"].fillna(0).astype("int64")
    s["_days"] = ((s["period_end"] - s["period_start"]).dt.days + 1).fillna(1).clip(lower=1)
    skeys = ["property", *segments, "event"]
    s = s.sort_values([*skeys, "period_start", "period_end"], kind="stable", ignore_index=True)
    s["_gid"] = s.groupby(skeys, sort=False).ngroup()

    # Runs of consecutive zero periods: a block starts at every non-zero period and at every new series;
    # the zero rows of a block form one run, whose reference point is its first period's start.
    zero = s["event_count"].eq(0)
    new_series = s["_gid"].ne(s["_gid"].shift())
    s["_blk"] = (~zero | new_series).cumsum()
    s["_run_start"] = s["period_start"].where(zero).groupby(s["_blk"]).transform("min")

    # Cumulative history per series, ordered by period end, counting only periods with traffic.
    t = s["_traffic"].to_numpy()
    r = s[["_gid", "period_end"]].copy()
    r["_c_periods"] = t.astype("int64")
    r["_c_fired"] = (t & ~zero.to_numpy()).astype("int64")
    r["_c_events"] = np.where(t, s["event_count"], 0)
    r["_c_days"] = np.where(t, s["_days"], 0)
    r = r.sort_values(["_gid", "period_end"], kind="stable")
    for c in ("_c_periods", "_c_fired", "_c_events", "_c_days"):
        r[c] = r.groupby("_gid", sort=False)[c].cumsum()
    r = r.drop_duplicates(["_gid", "period_end"], keep="last").sort_values("period_end", kind="stable")

    cand = s[zero & s["_traffic"]].copy()
    if cand.empty:
        return pd.DataFrame()
    cand = cand.sort_values("_run_start", kind="stable")
    cand = pd.merge_asof(cand, r.rename(columns={"period_end": "_ref_end"}), left_on="_run_start",
                         right_on="_ref_end", by="_gid", allow_exact_matches=False, direction="backward")
    periods_before = cand["_c_periods"].fillna(0)
    share = _div(cand["_c_fired"].fillna(0).to_numpy(), periods_before.to_numpy())
    rate = _div(cand["_c_events"].fillna(0).to_numpy(), cand["_c_days"].fillna(0).to_numpy())
    cand["_share"], cand["_rate"] = share, rate
    cand["_expected"] = rate * cand["_days"].to_numpy()
    hit = (periods_before.to_numpy() >= min_history) & (np.nan_to_num(share) >= min_fire_share)
    cand = cand[hit & (np.nan_to_num(cand["_expected"].to_numpy()) > 0)]
    if cand.empty:
        return pd.DataFrame()
    cand = cand.sort_values([*skeys, "period_start"], kind="stable")
    runs = cand.groupby(["_gid", "_blk"], sort=False).agg(
        **{c: (c, "first") for c in [*skeys, "period"]},
        start=("period_start", "min"), end=("period_end", "max"), n=("period", "size"),
        fired=("_c_fired", "first"), before=("_c_periods", "first"), rate=("_rate", "first"),
        expected=("_expected", "sum")).reset_index(drop=True)
    # Judge the whole run: a single quiet day of a goal with ~5 a day is noise (P(0) under Poisson is
    # e^-5 and real counts vary more), many days of it, or one day of ~50, is an outage.
    runs = runs[runs["expected"] >= min_expected]
    # Report only outages that reach into the current frame's dates.
    if len(ev) or len(bl):
        cur_start = pd.concat([ev[["property", "period_start"]], bl[["property", "period_start"]]]) \
            .groupby("property")["period_start"].min()
        runs = runs[runs["end"] >= runs["property"].map(cur_start)]
    if runs.empty:
        return pd.DataFrame()
    runs["flag"] = "broken_tracking"
    runs["severity"] = "error"
    # Sentences built column-wise (a synthetic stress frame can yield tens of thousands of runs).
    e = runs["event"].astype(str)
    runs["message"] = (
        e + ": no events from " + _day(runs["start"]) + " to " + _day(runs["end"]) + " ("
        + runs["n"].astype(str) + np.where(runs["n"] != 1, " periods", " period")
        + ") although the property had traffic; before that it fired in " + _int_text(runs["fired"]) + " of "
        + _int_text(runs["before"]) + " periods, about " + runs["rate"].map("{:.1f}".format) + " a day (about "
        + _int_text(runs["expected"]) + " expected). Check the tag or trigger for " + e
        + " and whether it is still sent.")
    return runs[flag_columns(segments)]


def _out_of_sequence(ev: pd.DataFrame, bl: pd.DataFrame, config, segments: list[str]) -> pd.DataFrame:
    if not config.chains:
        return pd.DataFrame()
    ch = compute_chains(ev, bl, config, segments)
    prev_users = ch["users"] + ch["drop_off"]  # drop_off = previous − users
    bad = ch[(ch["step_index"] > 1) & (ch["drop_off"] < 0)].copy()
    if bad.empty:
        return bad
    prev_step = {(c.name, i + 2): s for c in config.chains for i, s in enumerate(c.steps[:-1])}
    bad["_prev_users"] = prev_users[bad.index].astype("int64")
    # Consecutive periods with the same inversion (typical at day grain when a step's tag breaks) are
    # one finding: collapse them into a run, reported at its first period.
    bad["_ord"] = _period_ordinal(ch).loc[bad.index]
    keys = ["property", "chain", *segments, "step_index"]
    bad = bad.sort_values([*keys, "_ord"], kind="stable")
    new_key = (bad[keys] != bad[keys].shift()).any(axis=1)
    bad["_run"] = (new_key | bad["_ord"].diff().ne(1)).cumsum()
    runs = bad.groupby("_run", sort=False).agg(
        **{c: (c, "first") for c in [*keys, "step", "period", "users", "_prev_users"]},
        start=("period_start", "min"), end=("period_end", "max"), n=("period", "size")).reset_index(drop=True)
    runs["event"] = runs["step"]
    runs["flag"] = "out_of_sequence"
    runs["severity"] = "warning"
    prev_name = pd.Series([prev_step[(c, i)] for c, i in zip(runs["chain"], runs["step_index"])],
                          index=runs.index, dtype="str")
    span = (", and so in all " + runs["n"].astype(str) + " periods from " + _day(runs["start"]) + " to "
            + _day(runs["end"])).where(runs["n"] > 1, "")
    runs["message"] = (
        "chain " + runs["chain"].astype(str) + ": " + runs["step"].astype(str) + " has "
        + _int_text(runs["users"]) + " users, more than " + prev_name + " (" + _int_text(runs["_prev_users"])
        + ") before it" + span + ". Counts are open (users need not do the steps in order), so this can be "
        "real, but it often means " + prev_name + " is under-tracked or the chain's order is wrong.")
    return runs[flag_columns(segments)]


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

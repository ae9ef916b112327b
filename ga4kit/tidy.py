"""The tidy frames :mod:`ga4kit.chains` and :mod:`ga4kit.flags` read, turned into integer codes once.

Input columns (as :mod:`ga4kit.reporting.pull` produces them; other columns are ignored):

============  ===============================================================================================
``events``    property, period, period_start, period_end, <segment columns>, event, goal_type, goal_kind,
              event_count, users, value, key_events
``baseline``  property, period, period_start, period_end, <segment columns>, users, sessions
============  ===============================================================================================

What the computations see: ``property`` without a ``properties/`` prefix, NaN segment values as ``"(all)"``
(rows pulled without the segment dimension hold ``"(all)"`` in every segment column), dates as
datetime64[ns] (text is parsed), counts as int64 and value/key_events as float64, gaps as 0.

Why codes: a pulled frame has millions of rows but few distinct properties, segment values, periods and
events. Each string column is factorised once and normalised on its distinct values only; every key is
then an integer, and a property × segments × period key is a position in a :class:`Grid` (numbers land
in dense [grid row, event] arrays instead of being merged on several string columns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.constants import ALL

EVENT_FRAME_COLUMNS = ("property", "period", "period_start", "period_end", "event", "goal_type", "goal_kind",
                       "event_count", "users", "value", "key_events")
BASELINE_FRAME_COLUMNS = ("property", "period", "period_start", "period_end", "users", "sessions")
INT_COLUMNS = ("event_count", "users", "sessions")  # the rest of the measures are float64
NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds
DAY_NS = 86_400 * 10**9


def frame_columns(schema: Sequence[str], segments: Sequence[str]) -> list[str]:
    """The columns of an input frame: the schema's four period columns, the segments, then the rest."""
    return [*schema[:4], *segments, *schema[4:]]


def frame_pair(pair: Any, what: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
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


def _checked(frame: pd.DataFrame | None, segments: Sequence[str], schema: Sequence[str],
             name: str) -> pd.DataFrame | None:
    """The frame if it has every column, None if it is empty (or None); ValueError if columns are missing."""
    cols = frame_columns(schema, segments)
    if frame is None or (len(frame) == 0 and not set(cols) <= set(frame.columns)):
        return None
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} frame lacks column(s) {', '.join(missing)}; expected {', '.join(cols)}")
    return frame if len(frame) else None


# --------------------------------------------------------------------------------------------- codes

def _factorize(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct values in order of appearance, NaN included), the values in the column's dtype."""
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    return codes.astype(np.int64, copy=False), pd.Series(uniques)


_NORMALISE = {
    "property": lambda u: u.astype(str).str.removeprefix("properties/"),
    "period": lambda u: u.astype(str),
    "event": lambda u: u.astype(str),
    "segment": lambda u: u.fillna(ALL).astype(str),
}


def _dates(col: pd.Series) -> np.ndarray:
    """int64 nanoseconds (NaT as NAT); text is parsed once per distinct value."""
    if col.dtype.kind == "M" and getattr(col.dtype, "tz", None) is None:
        return col.to_numpy().astype("datetime64[ns]").view("int64")
    codes, uniques = _factorize(col)
    return pd.to_datetime(uniques).astype("datetime64[ns]").to_numpy().view("int64")[codes]


def _rank(values: pd.Series) -> np.ndarray:
    """rank[i] = position of values[i] in sorted order (missing last); values are distinct."""
    order = values.reset_index(drop=True).sort_values(na_position="last", kind="stable").index.to_numpy()
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(len(values))
    return rank


class Labels:
    """The normalised distinct values of each key column, shared by every coded frame of one computation.

    ``values[kind]`` is a str Series whose position is the code; codes follow the order of first appearance
    over the frames in the order they were coded. ``rank(kind)`` orders codes as the strings sort.
    """

    def __init__(self, segments: Sequence[str]):
        self.segments = list(segments)
        self.values: dict[str, pd.Series] = {}
        self._ranks: dict[str, np.ndarray] = {}

    def rank(self, kind: str) -> np.ndarray:
        if kind not in self._ranks:
            self._ranks[kind] = _rank(self.values[kind])
        return self._ranks[kind]

    def code_of(self, kind: str, value: str) -> int:
        """The code of a value, -1 when no frame holds it."""
        hit = np.flatnonzero((self.values[kind] == value).to_numpy(dtype=bool, na_value=False))
        return int(hit[0]) if len(hit) else -1

    def take(self, kind: str, codes: np.ndarray) -> pd.Series:
        """The column of labels for these codes (a str Series, 0..n-1 index)."""
        return self.values[kind].take(codes).reset_index(drop=True)


@dataclass(eq=False)
class Coded:
    """One input frame as integer arrays: codes into :class:`Labels`, dates as int64 nanoseconds."""

    frame: pd.DataFrame | None
    prop: np.ndarray
    segs: list[np.ndarray]
    period: np.ndarray
    start: np.ndarray
    end: np.ndarray
    event: np.ndarray | None  # events frames only

    def __len__(self) -> int:
        return len(self.prop)

    def number(self, column: str) -> np.ndarray:
        """A measure column as int64 (counts) or float64, gaps as 0."""
        dtype = "int64" if column in INT_COLUMNS else "float64"
        if self.frame is None:
            return np.zeros(0, dtype=dtype)
        return pd.to_numeric(self.frame[column]).fillna(0).astype(dtype).to_numpy()


def encode(frames: Sequence[tuple[pd.DataFrame | None, str]], segments: Sequence[str]) \
        -> tuple[Labels, list[Coded]]:
    """Code several frames against one :class:`Labels`; ``frames``: (frame, name) where the name ("events",
    "baseline", "previous events", "history baseline", ...) says which schema applies and names the frame in
    errors. Codes follow the order of first appearance over the frames in the order given."""
    segments = list(segments)
    labels = Labels(segments)
    checked = []
    for frame, name in frames:
        is_events = name.endswith("events")
        schema = EVENT_FRAME_COLUMNS if is_events else BASELINE_FRAME_COLUMNS
        checked.append((_checked(frame, segments, schema, name), is_events))
    kinds = [("property", "property"), ("period", "period"), *[(s, "segment") for s in segments],
             ("event", "event")]
    codes: dict[str, list[np.ndarray | None]] = {}
    for column, kind in kinds:
        per_frame, uniques = [], []
        for frame, is_events in checked:
            if frame is None or (column == "event" and not is_events):
                per_frame.append(None if column == "event" and not is_events else np.zeros(0, np.int64))
                continue
            c, u = _factorize(frame[column])
            per_frame.append(c)
            uniques.append(_NORMALISE[kind](u))
        allu = pd.concat(uniques, ignore_index=True) if uniques else pd.Series(dtype="str")
        remap, distinct = pd.factorize(allu, use_na_sentinel=False)
        labels.values[column] = pd.Series(distinct, dtype="str") if len(distinct) else pd.Series(dtype="str")
        offset = 0
        for i, c in enumerate(per_frame):
            if c is not None and len(c):
                per_frame[i] = remap[offset: offset + (int(c.max()) + 1)].astype(np.int64)[c]
                offset += int(c.max()) + 1
        codes[column] = per_frame
    coded = []
    for i, (frame, is_events) in enumerate(checked):
        empty = np.zeros(0, np.int64)
        coded.append(Coded(
            frame=frame, prop=codes["property"][i], segs=[codes[s][i] for s in segments],
            period=codes["period"][i],
            start=_dates(frame["period_start"]) if frame is not None else empty,
            end=_dates(frame["period_end"]) if frame is not None else empty,
            event=(codes["event"][i] if frame is not None else empty) if is_events else None))
    return labels, coded


# --------------------------------------------------------------------------------------------- grid

def _fold(hi: np.ndarray, n_hi: int, lo: np.ndarray, n_lo: int) -> tuple[np.ndarray, int]:
    """Dense codes of the pairs (hi, lo) that keep their order (hi first): n distinct pairs -> 0..n-1."""
    key = hi * n_lo + lo
    space = n_hi * n_lo
    if space <= max(1 << 22, 4 * len(key)):
        present = np.zeros(space, dtype=bool)
        present[key] = True
        dense = np.cumsum(present) - 1
        return dense[key], int(present.sum())
    distinct, inverse = np.unique(key, return_inverse=True)
    return inverse.reshape(-1), len(distinct)


def _date_rank(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ranks of int64 dates (NaT last) and how many distinct there are."""
    codes, uniques = pd.factorize(values)
    order = np.argsort(np.where(uniques == NAT, np.iinfo(np.int64).max, uniques), kind="stable")
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    return rank[codes], len(uniques)


class Grid:
    """The distinct property × segments × period keys of some coded frames, in sorted order.

    ``by="period"``: keys property, segments, period_start, period (the rows of chains and goal summary);
    ``by="end"``: property, segments, period_start, period_end (the periods of a series, for flags). Keys
    sort as their strings and dates do. Per grid row: ``prop``, ``segs``, ``period``, ``start``, ``end``
    from the first frame row with that key (frames in the order given). ``rows[i]``: the grid row of every
    row of ``parts[i]``.
    """

    def __init__(self, labels: Labels, parts: Sequence[Coded], by: str = "period"):
        self.labels = labels
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts]) if parts else np.zeros(0, np.int64)
        prop, period, start, end = cat("prop"), cat("period"), cat("start"), cat("end")
        segs = [np.concatenate([p.segs[j] for p in parts]) for j in range(len(labels.segments))] if parts \
            else [np.zeros(0, np.int64) for _ in labels.segments]
        start_rank, n_start = _date_rank(start)
        if by == "period":
            last, n_last = labels.rank("period")[period], len(labels.values["period"])
        else:
            last, n_last = _date_rank(end)
        key, n = _fold(start_rank, n_start, last, n_last)
        for j in reversed(range(len(segs))):
            key, n = _fold(labels.rank(labels.segments[j])[segs[j]], len(labels.values[labels.segments[j]]),
                           key, n)
        key, n = _fold(labels.rank("property")[prop], len(labels.values["property"]), key, n)
        self.n = n if len(key) else 0
        first = np.empty(self.n, dtype=np.int64)
        first[key[::-1]] = np.arange(len(key) - 1, -1, -1)  # the last write wins: the first occurrence
        self.first = first
        self.prop, self.period, self.start, self.end = prop[first], period[first], start[first], end[first]
        self.segs = [s[first] for s in segs]
        bounds = np.cumsum([0, *[len(p) for p in parts]])
        self.rows = [key[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def lanes(self) -> np.ndarray:
        """Per grid row, the number of its property × segments combination (in grid order)."""
        if not self.n:
            return np.zeros(0, np.int64)
        change = np.zeros(self.n, dtype=bool)
        change[0] = True
        change[1:] |= self.prop[1:] != self.prop[:-1]
        for s in self.segs:
            change[1:] |= s[1:] != s[:-1]
        return np.cumsum(change) - 1

    def ordinal(self) -> np.ndarray:
        """1 for a property's earliest period_start, 2 for the next...: aligns a period with the previous one."""
        if not self.n:
            return np.zeros(0, np.int64)
        start_rank, n_start = _date_rank(self.start)
        distinct, inverse = np.unique(self.labels.rank("property")[self.prop] * n_start + start_rank,
                                      return_inverse=True)
        prop = distinct // n_start
        return (np.arange(len(distinct)) - np.searchsorted(prop, prop, side="left") + 1)[inverse.reshape(-1)]

    def frame(self, positions: np.ndarray | None = None) -> dict[str, Any]:
        """The key columns of these grid rows (all by default), as output columns."""
        pos = np.arange(self.n) if positions is None else positions
        out: dict[str, Any] = {"property": self.labels.take("property", self.prop[pos]),
                               "period": self.labels.take("period", self.period[pos]),
                               "period_start": pd.Series(self.start[pos].view("datetime64[ns]")),
                               "period_end": pd.Series(self.end[pos].view("datetime64[ns]"))}
        for name, codes in zip(self.labels.segments, self.segs):
            out[name] = self.labels.take(name, codes[pos])
        return out


class Measures:
    """One period's events and baseline on their :class:`Grid`: [grid row, name] arrays of an events
    measure (0 where a name has no row: a missing goal counts as zero) and baseline users per grid row.

    Refuses two rows for the same key: users are not additive, so duplicates cannot be combined.
    """

    def __init__(self, labels: Labels, baseline: Coded, events: Coded, names: Sequence[str],
                 what: str = ""):
        self.grid = Grid(labels, [baseline, events])
        self.n = self.grid.n
        self.names = list(dict.fromkeys(names))
        self.column = {name: j for j, name in enumerate(self.names)}
        bl_gid, ev_gid = self.grid.rows
        column_of = np.full(len(labels.values["event"]) + 1, -1, dtype=np.int64)
        for j, name in enumerate(self.names):
            code = labels.code_of("event", name)
            if code >= 0:
                column_of[code] = j
        ev_column = column_of[events.event] if len(events) else np.zeros(0, np.int64)
        self.ev_rows = np.flatnonzero(ev_column >= 0)  # events that are no goal or step are not needed
        self.ev_gid, self.ev_column = ev_gid[self.ev_rows], ev_column[self.ev_rows]
        k = max(len(self.names), 1)
        if len(self.ev_gid) and np.bincount(self.ev_gid * k + self.ev_column).max() > 1:
            raise ValueError(f"{what}events has duplicate rows for the same property/period/segment/event; "
                             "users are not additive, so duplicates cannot be combined: pull each key once")
        if len(bl_gid) and np.bincount(bl_gid).max() > 1:
            raise ValueError(f"{what}baseline has duplicate rows for the same property/period/segment; users "
                             "are not additive, so duplicates cannot be combined: pull each key once")
        self._events, self._baseline, self._bl_gid = events, baseline, bl_gid

    def matrix(self, column: str) -> np.ndarray:
        """[grid row, name] -> the events column (int64 counts, float64 otherwise); 0 where no row."""
        values = self._events.number(column)
        m = np.zeros((self.n, max(len(self.names), 1)), dtype=values.dtype)
        m[self.ev_gid, self.ev_column] = values[self.ev_rows]
        return m

    def baseline_users(self) -> tuple[np.ndarray, np.ndarray]:
        """(users, missing) per grid row: baseline users, and True where no baseline row was pulled."""
        values = np.zeros(self.n, dtype=np.int64)
        missing = np.ones(self.n, dtype=bool)
        values[self._bl_gid] = self._baseline.number("users")
        missing[self._bl_gid] = False
        return values, missing


# --------------------------------------------------------------------------------------------- numbers

def as_float(x) -> np.ndarray:
    """A float64 numpy array from a Series/array/scalar, NA as NaN (nullable dtypes included)."""
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy(dtype="float64", na_value=np.nan)
    if isinstance(x, pd.api.extensions.ExtensionArray):
        return x.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(x, dtype="float64")


def div(num, den) -> np.ndarray:
    """num / den as float64, NaN wherever den is 0 or missing (never inf)."""
    num, den = as_float(num), as_float(den)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=(den != 0) & ~np.isnan(den))
    return out


def day_text(col: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD text."""
    return pd.to_datetime(col).dt.strftime("%Y-%m-%d").astype(str)


def int_text(col: pd.Series) -> pd.Series:
    """Numbers rounded to whole ones, as text."""
    return pd.Series(np.round(as_float(col)).astype("int64"), index=col.index).astype(str)


def dates_by_property(props: pd.Series, dates: Mapping[str, Any] | Any | None) -> pd.Series:
    """A datetime64 Series aligned with ``props``: dates[property] (a mapping) or one date for all."""
    if dates is None:
        return pd.Series(pd.NaT, index=props.index, dtype="datetime64[ns]")
    if isinstance(dates, Mapping):
        clean = {str(k).removeprefix("properties/"): v for k, v in dates.items() if v is not None}
        values = props.astype(str).map(clean)
    else:
        values = pd.Series([dates] * len(props), index=props.index, dtype="object")
    return pd.to_datetime(values).astype("datetime64[ns]")


def property_dates(labels: Labels, dates: Mapping[str, Any] | Any | None) -> np.ndarray:
    """int64 nanoseconds per property code (NAT where unknown): :func:`dates_by_property` on codes."""
    return dates_by_property(labels.values["property"], dates).to_numpy().view("int64")

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

Shared by :mod:`ga4kit.chains`, :mod:`ga4kit.flags` and :mod:`ga4kit.tables`; not a public interface beyond
the column names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from ga4kit.constants import ALL

EVENT_FRAME_COLUMNS = ("property", "period", "period_start", "period_end", "event", "goal_type", "goal_kind",
                       "event_count", "users", "value", "key_events")
BASELINE_FRAME_COLUMNS = ("property", "period", "period_start", "period_end", "users", "sessions")
COUNT_COLUMNS = ("event_count", "users", "sessions")  # int64; the other measures are float64
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

def _factorize(col: pd.Series, seen: dict) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct values in order of appearance, NaN included), the values in the column's dtype.

    pyarrow-backed text is hashed by pyarrow, chunk by chunk; ``seen`` keeps the result of each chunk, so a
    chunk shared by two frames (pd.concat does not copy them: a history made of the previous and the
    current period holds their very chunks) is hashed once. A chunk is named by its buffers' addresses,
    offset and length: arrow data never changes in place, and ``seen`` lives while the frames do.
    """
    if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow":
        # (pyarrow is an optional dependency, but a column it backs means it is installed.)
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(col.array)
        parts = []
        for chunk in (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]):
            key = (str(chunk.type), chunk.offset, len(chunk),
                   *(b.address if b is not None else 0 for b in chunk.buffers()))
            if key not in seen:  # (the chunk is kept too, so its addresses cannot be reused meanwhile)
                encoded = pc.dictionary_encode(chunk, null_encoding="encode")
                seen[key] = (encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist(), chunk)
            parts.append(seen[key][:2])
        if len(parts) == 1:
            codes, values = parts[0]
        else:
            index: dict = {}
            codes = np.concatenate([np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int32)[c]
                                    for c, values in parts]) if parts else np.zeros(0, np.int32)
            values = list(index)
        return codes, pd.Series(values, dtype=col.dtype)
    codes, uniques = pd.factorize(col, use_na_sentinel=False)
    return codes, pd.Series(uniques)


_NORMALISE = {
    "property": lambda u: u.astype(str).str.removeprefix("properties/"),
    "period": lambda u: u.astype(str),
    "event": lambda u: u.astype(str),
    "segment": lambda u: u.fillna(ALL).astype(str),
}


def _dates(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, int64 nanoseconds of each code, NaT as NAT): dates are few, so text is parsed once per
    distinct value and a row costs 4 bytes."""
    data = col.to_numpy() if col.dtype.kind == "M" and getattr(col.dtype, "tz", None) is None else col
    codes, uniques = pd.factorize(data, use_na_sentinel=False)
    values = pd.to_datetime(pd.Series(uniques)).astype("datetime64[ns]").to_numpy().view("int64")
    return codes.astype(np.int32), values


def _rank(values: pd.Series) -> np.ndarray:
    """rank[i] = position of values[i] in sorted order (missing last); values are distinct."""
    order = values.reset_index(drop=True).sort_values(na_position="last", kind="stable").index.to_numpy()
    rank = np.empty(len(values), dtype=np.int32)
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
        self._codes: dict[str, dict] = {}

    def rank(self, kind: str) -> np.ndarray:
        if kind not in self._ranks:
            self._ranks[kind] = _rank(self.values[kind])
        return self._ranks[kind]

    def code_of(self, kind: str, value: str) -> int:
        """The code of a value, -1 when no frame holds it."""
        if kind not in self._codes:
            self._codes[kind] = {v: i for i, v in reversed(list(enumerate(self.values[kind])))}
        return self._codes[kind].get(value, -1)

    def take(self, kind: str, codes: np.ndarray) -> pd.Series:
        """The column of labels for these codes (a str Series, 0..n-1 index)."""
        return take(self.values[kind], codes)


def take(values: pd.Series, positions: np.ndarray) -> pd.Series:
    """values[positions] as a new column with a 0..n-1 index (taking from a few distinct values is far
    cheaper than converting millions of objects)."""
    if isinstance(values.dtype, np.dtype):
        return pd.Series(values.to_numpy()[positions], dtype=values.dtype, copy=False)
    return pd.Series(values.array.take(positions), copy=False)


@dataclass(eq=False)
class Coded:
    """One input frame as integer arrays: int32 codes into :class:`Labels`; dates as int32 codes into
    int64 nanoseconds (``start_values[start_code]``; :attr:`start` spells it out)."""

    frame: pd.DataFrame | None
    prop: np.ndarray
    segs: list[np.ndarray]
    period: np.ndarray
    start_code: np.ndarray
    start_values: np.ndarray
    end_code: np.ndarray
    end_values: np.ndarray
    event: np.ndarray | None  # events frames only

    def __len__(self) -> int:
        return len(self.prop)

    @property
    def start(self) -> np.ndarray:
        return self.start_values[self.start_code]

    def number(self, column: str) -> np.ndarray:
        """A measure column as int64 (counts) or float64, gaps as 0."""
        dtype = "int64" if column in COUNT_COLUMNS else "float64"
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
    empty = np.zeros(0, np.int32)
    seen: dict = {}  # hashed arrow chunks, see _factorize
    codes: dict[str, list[np.ndarray | None]] = {}
    for column, kind in kinds:
        per_frame: list[np.ndarray | None] = []
        uniques, sizes = [], []
        for frame, is_events in checked:
            if column == "event" and not is_events:
                per_frame.append(None)
            elif frame is None:
                per_frame.append(empty)
            else:
                c, u = _factorize(frame[column], seen)
                per_frame.append(c)
                uniques.append(_NORMALISE[kind](u))
                sizes.append(len(u))
        allu = pd.concat(uniques, ignore_index=True) if uniques else pd.Series(dtype="str")
        remap, distinct = pd.factorize(allu, use_na_sentinel=False)
        labels.values[column] = pd.Series(distinct, dtype="str") if len(distinct) else pd.Series(dtype="str")
        bounds = iter(zip(np.cumsum([0, *sizes])[:-1], np.cumsum(sizes)))
        for i, (frame, _) in enumerate(checked):
            if per_frame[i] is not None and frame is not None:
                a, b = next(bounds)
                per_frame[i] = remap[a:b].astype(np.int32)[per_frame[i]]
        codes[column] = per_frame
    coded = []
    no_dates = (np.zeros(0, np.int32), np.zeros(0, np.int64))
    for i, (frame, is_events) in enumerate(checked):
        start = _dates(frame["period_start"]) if frame is not None else no_dates
        end = _dates(frame["period_end"]) if frame is not None else no_dates
        coded.append(Coded(
            frame=frame, prop=codes["property"][i], segs=[codes[s][i] for s in segments],
            period=codes["period"][i], start_code=start[0], start_values=start[1], end_code=end[0],
            end_values=end[1], event=(codes["event"][i] if frame is not None else empty) if is_events else None))
    return labels, coded


# --------------------------------------------------------------------------------------------- grid

DENSE_LIMIT = 1 << 22  # key spaces up to this size are made dense with a table instead of a sort


def _dense(keys: list[np.ndarray], space: int) -> tuple[list[np.ndarray], int]:
    """Dense codes 0..n-1 of keys in 0..space-1, shared by the arrays, in the keys' order."""
    if space <= max(DENSE_LIMIT, 2 * sum(len(k) for k in keys)):
        present = np.zeros(space, dtype=bool)
        for k in keys:
            present[k] = True
        dense = np.cumsum(present, dtype=np.int32 if space < 2**31 else np.int64)
        dense -= 1
        return [dense[k] for k in keys], int(present.sum())
    distinct = np.unique(np.concatenate(keys))
    return [np.searchsorted(distinct, k) for k in keys], len(distinct)


def combine_keys(components: Sequence[Callable[[], tuple[list[np.ndarray], int]]]) \
        -> tuple[list[np.ndarray], int]:
    """Dense codes 0..n-1 of the tuples of several key components, per array, in the tuples' order.

    ``components``, most significant first: callables giving (one array of codes in 0..size-1 per array,
    size); they are called least significant first, so only two are in memory at once. The arrays they
    give may be changed in place.
    """
    keys, space = components[-1]()
    if not space:
        return [np.zeros(len(k), np.int64) for k in keys], 0
    for make in reversed(components[:-1]):
        parts, n = make()
        if space * n > DENSE_LIMIT:
            keys, space = _dense(keys, space)
        if space * n >= 2**31:
            parts = [part.astype(np.int64) for part in parts]
        for part, key in zip(parts, keys):
            part *= space
            part += key
        keys, space = parts, space * n
    return _dense(keys, space)


def date_ranks(arrays: Sequence[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Dense ranks of int64 dates (NaT last), shared by the arrays, and how many distinct dates there are."""
    full = [a for a in arrays if len(a)]
    if not full:
        return [np.zeros(len(a), np.int32) for a in arrays], 0
    distinct = np.unique(np.concatenate(full))
    if distinct[0] == NAT:  # NaT sorts last
        distinct = np.concatenate([distinct[1:], distinct[:1]])
    valid = distinct[:-1] if distinct[-1] == NAT else distinct
    ranks = []
    for a in arrays:
        r = np.searchsorted(valid, a).astype(np.int32)
        r[a == NAT] = len(distinct) - 1
        ranks.append(r)
    return ranks, len(distinct)


def _coded_date_ranks(parts: Sequence[Coded], which: str) -> tuple[list[np.ndarray], int]:
    """:func:`date_ranks` of the parts' start or end dates, worked out on their few distinct values."""
    tables, n = date_ranks([getattr(p, f"{which}_values") for p in parts])
    return [t[getattr(p, f"{which}_code")] for t, p in zip(tables, parts)], n


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
        def ranks(kind: str, codes: Callable[[Coded], np.ndarray]):
            return lambda: ([labels.rank(kind)[codes(p)] for p in parts], len(labels.values[kind]))

        components = [ranks("property", lambda p: p.prop),
                      *[ranks(seg, lambda p, j=j: p.segs[j]) for j, seg in enumerate(labels.segments)],
                      lambda: _coded_date_ranks(parts, "start"),
                      ranks("period", lambda p: p.period) if by == "period" else
                      lambda: _coded_date_ranks(parts, "end")]
        self.rows, n = combine_keys(components)
        self.n = n
        # The first frame row of every grid row: earlier parts win.
        first_part = np.full(n, -1, dtype=np.int64)
        first_local = np.zeros(n, dtype=np.int64)
        for i in reversed(range(len(parts))):
            rows = self.rows[i]
            if not len(rows):
                continue
            local = np.zeros(n, dtype=np.int64)
            local[rows[::-1]] = np.arange(len(rows) - 1, -1, -1)  # the last write wins: the first row
            seen = np.zeros(n, dtype=bool)
            seen[rows] = True
            first_part[seen], first_local[seen] = i, local[seen]

        def pick(get) -> np.ndarray:
            out = np.zeros(n, dtype=np.int64)
            for i, p in enumerate(parts):
                sel = first_part == i
                if sel.any():
                    out[sel] = get(p, first_local[sel])
            return out

        self.prop, self.period = pick(lambda p, at: p.prop[at]), pick(lambda p, at: p.period[at])
        self.start = pick(lambda p, at: p.start_values[p.start_code[at]])
        self.end = pick(lambda p, at: p.end_values[p.end_code[at]])
        self.segs = [pick(lambda p, at, j=j: p.segs[j][at]) for j in range(len(labels.segments))]

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
        (start_rank,), n_start = date_ranks([self.start])
        distinct, inverse = np.unique(self.labels.rank("property")[self.prop] * n_start + start_rank,
                                      return_inverse=True)
        prop = distinct // n_start
        return (np.arange(len(distinct)) - np.searchsorted(prop, prop, side="left") + 1)[inverse.reshape(-1)]


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
        column_of = np.full(len(labels.values["event"]) + 1, -1, dtype=np.int32)
        for j, name in enumerate(self.names):
            code = labels.code_of("event", name)
            if code >= 0:
                column_of[code] = j
        ev_column = column_of[events.event] if len(events) else np.zeros(0, np.int32)
        relevant = ev_column >= 0
        if relevant.all():
            self.ev_rows, self.ev_gid, self.ev_column = None, ev_gid, ev_column
        else:  # events that are no goal or step are not needed
            self.ev_rows = np.flatnonzero(relevant)
            self.ev_gid, self.ev_column = ev_gid[self.ev_rows], ev_column[self.ev_rows]
        del relevant, ev_column
        k = max(len(self.names), 1)
        if len(self.ev_gid) and np.bincount(self.ev_gid.astype(np.int64) * k + self.ev_column).max() > 1:
            raise ValueError(f"{what}events has duplicate rows for the same property/period/segment/event; "
                             "users are not additive, so duplicates cannot be combined: pull each key once")
        if len(bl_gid) and np.bincount(bl_gid).max() > 1:
            raise ValueError(f"{what}baseline has duplicate rows for the same property/period/segment; users "
                             "are not additive, so duplicates cannot be combined: pull each key once")
        self._events, self._baseline, self._bl_gid = events, baseline, bl_gid
        self._matrices: dict[str, np.ndarray] = {}

    def matrix(self, column: str) -> np.ndarray:
        """[grid row, name] -> the events column (int64 counts, float64 otherwise); 0 where no row."""
        if column not in self._matrices:
            values = self._events.number(column)
            m = np.zeros((self.n, max(len(self.names), 1)), dtype=values.dtype)
            m[self.ev_gid, self.ev_column] = values if self.ev_rows is None else values[self.ev_rows]
            self._matrices[column] = m
        return self._matrices[column]

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
    """Dates as YYYY-MM-DD text (formatted once per distinct date)."""
    codes, uniques = pd.factorize(pd.to_datetime(col), use_na_sentinel=False)
    text = pd.Series(pd.DatetimeIndex(uniques).strftime("%Y-%m-%d"), dtype=object).astype(str)
    return pd.Series(text.array.take(codes), index=col.index)


def join_text(*parts) -> pd.Series:
    """Text columns (Series of one length) and constants joined element-wise: ``a + ": " + b`` in one pass
    (pyarrow's join when the text is arrow-backed, several times faster on the long sentences of a flags
    frame; pandas' ``+`` otherwise). Missing values stay missing."""
    columns = [p for p in parts if not isinstance(p, str)]
    first = next(c for c in columns if isinstance(c, pd.Series))
    if isinstance(first.dtype, pd.StringDtype) and first.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pa.large_string()
        arrays = [pa.scalar(p, text) if isinstance(p, str) else
                  pa.array(pd.Series(p, dtype=first.dtype, copy=False).array).cast(text) for p in parts]
        joined = pc.binary_join_element_wise(*arrays, pa.scalar("", text))
        return pd.Series(joined, dtype=first.dtype, index=first.index)
    out = None
    for p in parts:
        p = p if isinstance(p, (str, pd.Series)) else pd.Series(p, index=first.index)
        out = p if out is None else out + p
    return out


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

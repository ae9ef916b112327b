"""Event-level storage for the emulator: one pandas frame per property (plus its items), parquet on disk.

Rows are GA4 events with the columns of the contract (``SCHEMA``); further event parameters are kept as
``param:<key>`` columns. String columns are pandas categoricals: reports group and filter on the small
category tables and integer codes, which is what makes a million-event report fast. Items (the ``items``
array of ecommerce events) are a second frame per property whose ``row`` column is the position of the
event they belong to.

Derived events (GA4 "create event" rules) are not stored: ``view()`` adds them on the fly from the rules
it is given, only for source events at or after each rule's ``create_time``, and caches the result until
the data or the rules change.

Late data (off unless ``set_late_data`` is called): each event gets an arrival delay of 0-72 hours from a
seeded hash of the event (``arrival_delays``), and ``view()`` answers only the events that have arrived by
the store's clock (``set_now``), as GA4 keeps revising the last days.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

# name -> kind; "cat" columns are categorical strings ("" = absent).
SCHEMA: dict[str, str] = {
    "ts": "int64",                  # µs since epoch, UTC
    "event_name": "cat",
    "user_id": "cat",               # user_pseudo_id
    "session_id": "int64",          # ga_session_id, unique per user
    "session_number": "int32",      # ga_session_number (1 = the user's first session; 0 = unknown)
    "channel_group": "cat",         # session scoped (last click): default channel group
    "source": "cat",                # session scoped
    "medium": "cat",                # session scoped
    "campaign": "cat",              # session scoped
    "first_channel_group": "cat",   # user scoped: the first touch (traffic_source)
    "first_source": "cat",
    "first_medium": "cat",
    "first_campaign": "cat",
    "platform": "cat",              # web, Android, iOS
    "device_category": "cat",       # desktop, mobile, tablet
    "operating_system": "cat",
    "browser": "cat",
    "country": "cat",
    "region": "cat",
    "city": "cat",
    "page_location": "cat",         # full URL with query string
    "page_title": "cat",
    "page_referrer": "cat",
    "engagement_time_msec": "int32",
    "session_engaged": "int8",      # 1 when the event carries session_engaged = 1
    "transaction_id": "cat",
    "value": "float64",             # 0 if none
    "currency": "cat",
}
COLUMNS = list(SCHEMA)
STRING_COLUMNS = [c for c, k in SCHEMA.items() if k == "cat"]
PARAM_PREFIX = "param:"  # further event parameters: "param:<key>" categorical columns

# Event parameters stored in their own columns: parameter name -> column. A create-event rule may test or
# copy them; a derived event without copied parameters has them cleared.
PARAMETER_COLUMNS = {"page_location": "page_location", "page_title": "page_title",
                     "page_referrer": "page_referrer", "value": "value", "currency": "currency",
                     "transaction_id": "transaction_id"}
_NUMERIC_PARAMS = {"engagement_time_msec": "engagement_time_msec", "ga_session_number": "session_number",
                   "ga_session_id": "session_id"}
# Columns that are event parameters (cleared on a derived event unless parameters are copied).
_PARAM_ONLY = ("page_location", "page_title", "page_referrer", "value", "currency", "transaction_id",
               "engagement_time_msec", "session_engaged")
# Defaults of columns a frame lacks: "" (absent parameter) or GA4's "(not set)".
_EMPTY_DEFAULT = {"page_location", "page_title", "page_referrer", "currency", "transaction_id"}
_DEFAULTS = {"platform": "web"}

ITEM_SCHEMA: dict[str, str] = {
    "row": "int64",            # position of the event in the event frame
    "item_id": "cat", "item_name": "cat", "item_brand": "cat", "item_category": "cat",
    "price": "float64", "quantity": "int64",
}
ITEM_COLUMNS = list(ITEM_SCHEMA)


def empty_frame() -> pd.DataFrame:
    return normalize(pd.DataFrame({c: [] for c in ("ts", "event_name", "user_id")}))


def empty_items() -> pd.DataFrame:
    return normalize_items(None)


def _cat(s) -> pd.Categorical:
    if isinstance(getattr(s, "dtype", None), pd.CategoricalDtype):
        c = s.array if isinstance(s, pd.Series) else s
    else:
        c = pd.Categorical(pd.Series(s, dtype=object).where(pd.notna(s), "").astype(str))
    if "" not in c.categories:
        c = c.add_categories([""])
    return c


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with the contract's columns and dtypes (categoricals for strings), in order, followed
    by its ``param:`` columns. Missing columns get GA4's defaults ("(not set)" for dimensions, "" / 0 for
    parameters, "web" for the platform)."""
    missing_required = [c for c in ("ts", "event_name", "user_id") if c not in df.columns]
    if missing_required:
        raise ValueError(f"event frame lacks required columns: {', '.join(missing_required)}")
    out = {}
    n = len(df)
    for col, kind in SCHEMA.items():
        if col in df.columns:
            s = df[col]
        elif kind == "cat":
            default = "" if col in _EMPTY_DEFAULT else _DEFAULTS.get(col, "(not set)")
            s = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[default] + ([""] if default else []))
        else:
            s = np.zeros(n, dtype=kind)
        if kind == "cat":
            out[col] = _cat(s)
        elif kind == "float64":
            out[col] = pd.to_numeric(pd.Series(s), errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
        else:
            out[col] = pd.to_numeric(pd.Series(s), errors="raise").fillna(0).to_numpy().astype(kind)
    for col in df.columns:
        if isinstance(col, str) and col.startswith(PARAM_PREFIX):
            out[col] = _cat(df[col])
    return pd.DataFrame(out)


def param_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if isinstance(c, str) and c.startswith(PARAM_PREFIX)]


def parameter_column(df: pd.DataFrame, name: str) -> str | None:
    """The column holding event parameter ``name`` in ``df`` (None when the events do not carry it)."""
    if name in PARAMETER_COLUMNS:
        return PARAMETER_COLUMNS[name]
    if name in _NUMERIC_PARAMS:
        return _NUMERIC_PARAMS[name]
    col = PARAM_PREFIX + name
    return col if col in df.columns else None


def normalize_items(items: pd.DataFrame | None) -> pd.DataFrame:
    """Items with the item columns and dtypes; absent strings are "" and quantities default to 1."""
    if items is None:
        items = pd.DataFrame({"row": np.zeros(0, dtype=np.int64)})
    n = len(items)
    out = {}
    for col, kind in ITEM_SCHEMA.items():
        if kind == "cat":
            out[col] = _cat(items[col] if col in items.columns else [""] * n)
        elif col == "quantity":
            q = items[col] if col in items.columns else np.ones(n)
            out[col] = pd.to_numeric(pd.Series(q), errors="coerce").fillna(1).to_numpy().astype(np.int64)
        elif kind == "float64":
            p = items[col] if col in items.columns else np.zeros(n)
            out[col] = pd.to_numeric(pd.Series(p), errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
        else:
            out[col] = np.asarray(items[col] if col in items.columns else np.zeros(n), dtype=np.int64)
    return pd.DataFrame(out)


# ---- items travel with the exact frame object they belong to ------------------------------------
_ITEMS: dict[int, tuple[weakref.ref, pd.DataFrame]] = {}
_ITEMS_LOCK = threading.Lock()


def attach_items(frame: pd.DataFrame, items: pd.DataFrame | None) -> pd.DataFrame:
    """Remember ``items`` as the items of this frame object (a copy or a slice of it has none)."""
    if items is None or not len(items):
        return frame
    key = id(frame)

    def drop(_ref, key=key):
        with _ITEMS_LOCK:
            hit = _ITEMS.get(key)
            if hit is not None and hit[0]() is None:
                del _ITEMS[key]
    with _ITEMS_LOCK:
        _ITEMS[key] = (weakref.ref(frame, drop), items)
    return frame


def items_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The items attached to this frame object (empty when none are)."""
    with _ITEMS_LOCK:
        hit = _ITEMS.get(id(frame))
    if hit is not None and hit[0]() is frame:
        return hit[1]
    return empty_items()


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate normalised frames keeping categoricals (categories unioned); ``param:`` columns a
    frame lacks are absent ("") there."""
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    extra = list(dict.fromkeys(c for f in frames for c in param_columns(f)))
    cols = {}
    for col in COLUMNS + extra:
        if col in SCHEMA and SCHEMA[col] != "cat":
            cols[col] = np.concatenate([f[col].to_numpy() for f in frames])
            continue
        parts = [f[col].array if col in f.columns else
                 pd.Categorical.from_codes(np.zeros(len(f), dtype=np.int8), categories=[""]) for f in frames]
        cols[col] = pd.api.types.union_categoricals(parts)
    return pd.DataFrame(cols)


def _concat_items(parts: list[tuple[pd.DataFrame, int]]) -> pd.DataFrame:
    """Items of concatenated frames: (items, row offset) pairs."""
    parts = [(i, off) for i, off in parts if len(i)]
    if not parts:
        return empty_items()
    if len(parts) == 1 and parts[0][1] == 0:
        return parts[0][0]
    cols = {}
    for col, kind in ITEM_SCHEMA.items():
        if kind == "cat":
            cols[col] = pd.api.types.union_categoricals([i[col].array for i, _ in parts])
        elif col == "row":
            cols[col] = np.concatenate([i[col].to_numpy() + off for i, off in parts])
        else:
            cols[col] = np.concatenate([i[col].to_numpy() for i, _ in parts])
    return pd.DataFrame(cols)


def _take(frame: pd.DataFrame, items: pd.DataFrame, mask: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``frame`` where ``mask`` holds, and their items (rows renumbered)."""
    sub = frame.loc[mask].reset_index(drop=True)
    if not len(items):
        return sub, items
    pos = np.cumsum(mask) - 1
    keep = mask[items["row"].to_numpy()]
    it = items.loc[keep].reset_index(drop=True)
    it["row"] = pos[it["row"].to_numpy()]
    return sub, it


def to_micros(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1_000_000)


# ---- late data ------------------------------------------------------------------------------------
HOUR_US = 3_600_000_000


@dataclass(frozen=True)
class LateData:
    """Arrival delays of 0 to ``max_hours`` (``max_hours * u**4`` for a uniform ``u`` drawn from the
    event: most events arrive within hours, some days later), deterministic from ``seed``."""

    seed: int = 42
    max_hours: float = 72.0


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value."""
    with np.errstate(over="ignore"):
        x = x.astype(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _label_hash(col: pd.Series) -> np.ndarray:
    """A per-event hash of a categorical column's labels (not its codes, which change on appends)."""
    cat = col.array
    h = pd.util.hash_array(np.asarray(cat.categories, dtype=object))
    return h[np.maximum(cat.codes, 0)]


def arrival_delays(frame: pd.DataFrame, late: LateData) -> np.ndarray:
    """µs each event takes to arrive: a hash of (time, user, event name, seed), so the same event always
    gets the same delay, whatever else the store holds."""
    if not len(frame):
        return np.zeros(0, dtype=np.int64)
    with np.errstate(over="ignore"):
        x = frame["ts"].to_numpy().astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= _label_hash(frame["user_id"]) + np.uint64(late.seed & 0xFFFFFFFF)
        x = _mix64(x) ^ _label_hash(frame["event_name"])
        u = (_mix64(x) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return (late.max_hours * HOUR_US * u ** 4).astype(np.int64)


class EventStore:
    """Event rows (and their items) per property. Thread-safe for concurrent readers and writers.

    ``state_dir``: when given, ``save()`` writes ``events/<property_id>.parquet`` (and
    ``<property_id>.items.parquet``) there and the constructor loads what is already saved.
    """

    def __init__(self, state_dir: str | Path | None = None):
        self._frames: dict[str, pd.DataFrame] = {}
        self._items: dict[str, pd.DataFrame] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.RLock()
        self._view_cache: dict[tuple, pd.DataFrame] = {}
        self._late: LateData | None = None
        self._now_us: int | None = None
        self._delays: dict[tuple[str, int], np.ndarray] = {}
        self.state_dir = Path(state_dir) if state_dir else None
        if self.state_dir is not None:
            self.load()

    # ---- writing -------------------------------------------------------------------------
    def append(self, property_id: str, df: pd.DataFrame, items: pd.DataFrame | None = None) -> int:
        """Add events to a property; returns the number of rows added. ``items`` (positions into ``df``)
        default to the items attached to ``df``."""
        pid = _pid(property_id)
        new_items = normalize_items(items if items is not None else items_of(df))
        new = normalize(df)
        with self._lock:
            old = self._frames.get(pid)
            if old is None:
                frame, it = new, new_items
            else:
                frame = _concat([old, new])
                it = _concat_items([(self._items.get(pid, empty_items()), 0), (new_items, len(old))])
            self._frames[pid], self._items[pid] = frame, it
            self._bump(pid)
        return len(new)

    def replace(self, property_id: str, df: pd.DataFrame, items: pd.DataFrame | None = None) -> None:
        pid = _pid(property_id)
        it = normalize_items(items if items is not None else items_of(df))
        frame = normalize(df)
        with self._lock:
            self._frames[pid], self._items[pid] = frame, it
            self._bump(pid)

    def clear(self, property_id: str) -> None:
        pid = _pid(property_id)
        with self._lock:
            self._frames.pop(pid, None)
            self._items.pop(pid, None)
            self._bump(pid)

    def _bump(self, pid: str) -> None:
        self._versions[pid] = self._versions.get(pid, 0) + 1
        self._view_cache = {k: v for k, v in self._view_cache.items() if k[0] != pid}
        self._delays = {k: v for k, v in self._delays.items() if k[0] != pid}

    # ---- late data -----------------------------------------------------------------------
    def set_late_data(self, late: LateData | None) -> None:
        """Turn late-arriving data on (a ``LateData``) or off (None)."""
        with self._lock:
            self._late = late
            self._delays.clear()
            self._view_cache.clear()

    @property
    def late_data(self) -> LateData | None:
        return self._late

    def set_now(self, now: datetime | None) -> None:
        """The store's clock: with late data on, views hold the events arrived by then."""
        with self._lock:
            self._now_us = None if now is None else to_micros(now)

    def arrived(self, property_id: str) -> np.ndarray | None:
        """Mask of the stored events that have arrived by the clock (None when late data is off)."""
        pid = _pid(property_id)
        with self._lock:
            late, now = self._late, self._now_us
            frame, version = self._frames.get(pid), self._versions.get(pid, 0)
            delays = self._delays.get((pid, version))
        if late is None or frame is None:
            return None
        if now is None:
            now = to_micros(datetime.now(timezone.utc))
        if delays is None:
            delays = arrival_delays(frame, late)
            with self._lock:
                self._delays[(pid, version)] = delays
        return frame["ts"].to_numpy() + delays <= now

    # ---- reading -------------------------------------------------------------------------
    def property_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._frames)

    def version(self, property_id: str) -> int:
        return self._versions.get(_pid(property_id), 0)

    def frame(self, property_id: str) -> pd.DataFrame:
        """The stored (collected) events of a property, without derived events, late ones included.
        The items of the frame are attached to it (``items_of``)."""
        pid = _pid(property_id)
        with self._lock:
            f = self._frames.get(pid)
            it = self._items.get(pid)
        if f is None:
            return empty_frame()
        return attach_items(f, it)

    def items(self, property_id: str) -> pd.DataFrame:
        """The stored items of a property (``row`` = position in ``frame()``)."""
        with self._lock:
            it = self._items.get(_pid(property_id))
        return it if it is not None else empty_items()

    def __len__(self) -> int:
        return sum(len(f) for f in self._frames.values())

    def count(self, property_id: str) -> int:
        return len(self.frame(property_id))

    def view(self, property_id: str, rules: Iterable = ()) -> pd.DataFrame:
        """Stored events (those arrived, with late data on) plus the events derived by ``rules``
        (``RuleInfo`` objects); their items are attached (``items_of``).

        The frame returned is shared (cached): callers must not modify it.
        """
        pid = _pid(property_id)
        rules = list(rules or ())
        mask = self.arrived(pid)
        cutoff = None if mask is None else (self._now_us, int(mask.sum()))
        key = (pid, self.version(pid), tuple(_rule_key(r) for r in rules), cutoff)
        with self._lock:
            hit = self._view_cache.get(key)
            if hit is not None:
                return hit
            base = self.frame(pid)
            items = self.items(pid)
        if mask is not None and len(base):
            base, items = _take(base, items, mask)
        if rules and len(base):
            derived = [derive_events(base, r) for r in rules]
            out = _concat([base] + derived)
        else:
            out = base
        attach_items(out, items)
        with self._lock:
            # Keep the cache small: a few rule sets per property are typical.
            if len(self._view_cache) > 32:
                self._view_cache.clear()
            self._view_cache[key] = out
        return out

    # ---- persistence ---------------------------------------------------------------------
    def save(self) -> None:
        if self.state_dir is None:
            return
        d = self.state_dir / "events"
        d.mkdir(parents=True, exist_ok=True)
        with self._lock:
            items = [(pid, f, self._items.get(pid)) for pid, f in self._frames.items()]
        for pid, f, it in items:
            _atomic_parquet(f, d / f"{pid}.parquet")
            target = d / f"{pid}.items.parquet"
            if it is not None and len(it):
                _atomic_parquet(it, target)
            elif target.exists():
                target.unlink()

    def load(self) -> None:
        if self.state_dir is None:
            return
        d = self.state_dir / "events"
        if not d.is_dir():
            return
        for p in sorted(d.glob("*.parquet")):
            if p.name.startswith(".") or p.name.endswith(".items.parquet"):
                continue
            items_path = d / f"{p.stem}.items.parquet"
            items = pd.read_parquet(items_path) if items_path.exists() else None
            self.replace(p.stem, pd.read_parquet(p), items)


def _atomic_parquet(frame: pd.DataFrame, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(target)  # atomic: a crash never leaves half a file


def _pid(property_id: str) -> str:
    s = str(property_id)
    return s.split("/", 1)[1] if s.startswith("properties/") else s


def _rule_key(rule) -> tuple:
    return (
        rule.destination_event,
        tuple(tuple(c) for c in rule.conditions),
        bool(rule.source_copy_parameters),
        tuple(tuple(m) for m in rule.parameter_mutations),
        to_micros(rule.create_time),
    )


# ---- create-event rules -----------------------------------------------------------------

def _string_test(values: np.ndarray, comparison: str, target: str) -> np.ndarray:
    """Vectorised string comparison over an array of (unique) strings."""
    ci = comparison.endswith("_CASE_INSENSITIVE")
    base = comparison.removesuffix("_CASE_INSENSITIVE")
    s = pd.Series(values, dtype=object).astype(str)
    t = target
    if ci and base != "REGULAR_EXPRESSION":
        s, t = s.str.lower(), target.lower()
    if base == "EQUALS":
        return (s == t).to_numpy()
    if base == "CONTAINS":
        return s.str.contains(t, regex=False).to_numpy()
    if base == "STARTS_WITH":
        return s.str.startswith(t).to_numpy()
    if base == "ENDS_WITH":
        return s.str.endswith(t).to_numpy()
    if base == "REGULAR_EXPRESSION":
        rx = re.compile(target, re.IGNORECASE if ci else 0)
        return np.array([bool(rx.search(v)) for v in s], dtype=bool)
    raise ValueError(f"unsupported comparison type {comparison}")


_NUMERIC_OPS = {
    "GREATER_THAN": np.greater, "GREATER_THAN_OR_EQUAL": np.greater_equal,
    "LESS_THAN": np.less, "LESS_THAN_OR_EQUAL": np.less_equal,
}


def condition_mask(df: pd.DataFrame, field: str, comparison: str, value, negated: bool = False) -> np.ndarray:
    """Rows of ``df`` matching one MatchingCondition. A parameter the events lack never matches
    (and so matches when negated), as in GA4."""
    comparison = getattr(comparison, "name", comparison)
    col = "event_name" if field == "event_name" else parameter_column(df, field)
    if col is None and field in SCHEMA:
        col = field
    if col is None:
        m = np.zeros(len(df), dtype=bool)
    elif comparison in _NUMERIC_OPS:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            nums = pd.to_numeric(pd.Series(np.asarray(df[col], dtype=object)), errors="coerce").to_numpy()
        else:
            nums = df[col].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            m = _NUMERIC_OPS[comparison](nums, float(value))
        m = np.where(np.isnan(nums), False, m)
    elif isinstance(df[col].dtype, pd.CategoricalDtype):
        cat = df[col].array
        hits = _string_test(np.asarray(cat.categories), comparison, str(value))
        codes = cat.codes
        m = np.where(codes >= 0, hits[np.maximum(codes, 0)], False)
        if col in _PARAM_ONLY or col.startswith(PARAM_PREFIX):  # an empty parameter is an absent one
            m &= codes != cat.categories.get_loc("")
    else:
        strs = np.array([_fmt_num(v) for v in df[col].to_numpy()], dtype=object)
        m = _string_test(strs, comparison, str(value))
    return ~m if negated else m


def _fmt_num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def derive_events(base: pd.DataFrame, rule) -> pd.DataFrame:
    """The events ``rule`` creates from ``base``: matches at or after ``rule.create_time``."""
    start = to_micros(rule.create_time)
    mask = base["ts"].to_numpy() >= start
    for field, comparison, value, negated in rule.conditions:
        if not mask.any():
            break
        mask &= condition_mask(base, field, comparison, value, negated)
    out = base.loc[mask].copy()
    if not len(out):
        return out.iloc[0:0]
    n = len(out)
    out["event_name"] = pd.Categorical([rule.destination_event] * n)
    if not rule.source_copy_parameters:
        for col in _PARAM_ONLY + tuple(param_columns(out)):
            if SCHEMA.get(col) == "cat" or col.startswith(PARAM_PREFIX):
                out[col] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[""])
            else:
                out[col] = np.zeros(n, dtype=SCHEMA[col])
    for parameter, val in rule.parameter_mutations:
        col = parameter_column(out, parameter) or PARAM_PREFIX + parameter
        if col == "value":
            out["value"] = float(val)
        elif SCHEMA.get(col, "cat") == "cat":
            out[col] = pd.Categorical([str(val)] * n)
    return normalize(out)

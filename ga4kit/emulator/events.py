"""Event-level storage for the emulator: one pandas frame per property, parquet on disk.

Rows are GA4 events with the columns of the contract (``COLUMNS``). String columns are kept as
pandas categoricals: reports group and filter on the small category tables and integer codes,
which is what makes a million-event report fast.

Derived events (GA4 "create event" rules) are not stored: ``view()`` adds them on the fly from
the rules it is given, only for source events at or after each rule's ``create_time``, and
caches the result until the data or the rules change.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

# name -> kind; "cat" columns are categorical strings.
SCHEMA: dict[str, str] = {
    "ts": "int64",             # µs since epoch, UTC
    "event_name": "cat",
    "user_id": "cat",
    "session_id": "int64",     # unique per user
    "channel_group": "cat",    # session scoped
    "source": "cat",           # session scoped
    "medium": "cat",           # session scoped
    "device_category": "cat",
    "country": "cat",
    "page_location": "cat",
    "value": "float64",
    "currency": "cat",
}
COLUMNS = list(SCHEMA)
STRING_COLUMNS = [c for c, k in SCHEMA.items() if k == "cat"]

# Event parameters a create-event rule may test or copy, and the column holding each.
PARAMETER_COLUMNS = {"page_location": "page_location", "value": "value", "currency": "currency"}
# Columns that are event parameters (dropped on a derived event unless parameters are copied).
_PARAM_ONLY = ("page_location", "value", "currency")


def empty_frame() -> pd.DataFrame:
    return normalize(pd.DataFrame({c: [] for c in COLUMNS}))


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the contract's columns and dtypes (categoricals for strings).

    Missing optional columns get GA4's defaults ("(not set)" for dimensions, "" / 0 for params).
    """
    missing_required = [c for c in ("ts", "event_name", "user_id") if c not in df.columns]
    if missing_required:
        raise ValueError(f"event frame lacks required columns: {', '.join(missing_required)}")
    out = {}
    n = len(df)
    for col, kind in SCHEMA.items():
        if col in df.columns:
            s = df[col]
        elif col in ("page_location", "currency"):
            s = pd.Series([""] * n)
        elif col == "value":
            s = pd.Series(np.zeros(n))
        elif col == "session_id":
            s = pd.Series(np.zeros(n, dtype="int64"))
        else:
            s = pd.Series(["(not set)"] * n)
        if kind == "cat":
            if not isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype(object).where(s.notna(), "").astype(str).astype("category")
            if "" not in s.cat.categories:
                s = s.cat.add_categories([""])
        elif kind == "int64":
            s = pd.to_numeric(s, errors="raise").fillna(0).astype("int64")
        else:
            s = pd.to_numeric(s, errors="coerce").fillna(0.0).astype("float64")
        out[col] = s.to_numpy() if kind != "cat" else s.array
    return pd.DataFrame(out)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate normalised frames keeping categoricals (categories unioned)."""
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    cols = {}
    for col in COLUMNS:
        parts = [f[col] for f in frames]
        if SCHEMA[col] == "cat":
            cols[col] = pd.api.types.union_categoricals([p.array for p in parts])
        else:
            cols[col] = np.concatenate([p.to_numpy() for p in parts])
    return pd.DataFrame(cols)


def to_micros(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1_000_000)


class EventStore:
    """Event rows per property. Thread-safe for concurrent readers and writers.

    ``state_dir``: when given, ``save()`` writes ``events/<property_id>.parquet`` there and the
    constructor loads what is already saved.
    """

    def __init__(self, state_dir: str | Path | None = None):
        self._frames: dict[str, pd.DataFrame] = {}
        self._versions: dict[str, int] = {}
        self._lock = threading.RLock()
        self._view_cache: dict[tuple, pd.DataFrame] = {}
        self.state_dir = Path(state_dir) if state_dir else None
        if self.state_dir is not None:
            self.load()

    # ---- writing -------------------------------------------------------------------------
    def append(self, property_id: str, df: pd.DataFrame) -> int:
        """Add events to a property; returns the number of rows added."""
        pid = _pid(property_id)
        new = normalize(df)
        with self._lock:
            old = self._frames.get(pid)
            self._frames[pid] = new if old is None else _concat([old, new])
            self._bump(pid)
        return len(new)

    def replace(self, property_id: str, df: pd.DataFrame) -> None:
        pid = _pid(property_id)
        with self._lock:
            self._frames[pid] = normalize(df)
            self._bump(pid)

    def clear(self, property_id: str) -> None:
        pid = _pid(property_id)
        with self._lock:
            self._frames.pop(pid, None)
            self._bump(pid)

    def _bump(self, pid: str) -> None:
        self._versions[pid] = self._versions.get(pid, 0) + 1
        self._view_cache = {k: v for k, v in self._view_cache.items() if k[0] != pid}

    # ---- reading -------------------------------------------------------------------------
    def property_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._frames)

    def version(self, property_id: str) -> int:
        return self._versions.get(_pid(property_id), 0)

    def frame(self, property_id: str) -> pd.DataFrame:
        """The stored (collected) events of a property, without derived events."""
        with self._lock:
            f = self._frames.get(_pid(property_id))
        return f if f is not None else empty_frame()

    def __len__(self) -> int:
        return sum(len(f) for f in self._frames.values())

    def count(self, property_id: str) -> int:
        return len(self.frame(property_id))

    def view(self, property_id: str, rules: Iterable = ()) -> pd.DataFrame:
        """Stored events plus the events derived by ``rules`` (``RuleInfo`` objects).

        The frame returned is shared (cached): callers must not modify it.
        """
        pid = _pid(property_id)
        rules = list(rules or ())
        key = (pid, self.version(pid), tuple(_rule_key(r) for r in rules))
        with self._lock:
            hit = self._view_cache.get(key)
            if hit is not None:
                return hit
            base = self.frame(pid)
        if rules and len(base):
            derived = [derive_events(base, r) for r in rules]
            out = _concat([base] + derived)
        else:
            out = base
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
            items = list(self._frames.items())
        for pid, f in items:
            tmp = d / f".{pid}.parquet.tmp"
            f.to_parquet(tmp, index=False)
            tmp.replace(d / f"{pid}.parquet")  # atomic: a crash never leaves half a file

    def load(self) -> None:
        if self.state_dir is None:
            return
        d = self.state_dir / "events"
        if not d.is_dir():
            return
        for p in sorted(d.glob("*.parquet")):
            if p.name.startswith("."):
                continue
            self.replace(p.stem, pd.read_parquet(p))


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
    col = "event_name" if field == "event_name" else PARAMETER_COLUMNS.get(field, field if field in SCHEMA else None)
    if col is None:
        m = np.zeros(len(df), dtype=bool)
    elif comparison in _NUMERIC_OPS:
        if SCHEMA[col] == "cat":
            nums = pd.to_numeric(pd.Series(np.asarray(df[col], dtype=object)), errors="coerce").to_numpy()
        else:
            nums = df[col].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            m = _NUMERIC_OPS[comparison](nums, float(value))
        m = np.where(np.isnan(nums), False, m)
    elif SCHEMA[col] == "cat":
        cat = df[col].array
        hits = _string_test(np.asarray(cat.categories), comparison, str(value))
        codes = cat.codes
        m = np.where(codes >= 0, hits[np.maximum(codes, 0)], False)
        if col in _PARAM_ONLY:  # an empty parameter is an absent one
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
    out["event_name"] = pd.Categorical([rule.destination_event] * len(out))
    if not rule.source_copy_parameters:
        out["page_location"] = pd.Categorical([""] * len(out))
        out["currency"] = pd.Categorical([""] * len(out))
        out["value"] = 0.0
    for parameter, val in rule.parameter_mutations:
        col = PARAMETER_COLUMNS.get(parameter)
        if col == "value":
            out["value"] = float(val)
        elif col is not None:
            out[col] = pd.Categorical([str(val)] * len(out))
    return normalize(out)

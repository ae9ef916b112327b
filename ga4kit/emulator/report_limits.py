"""GA4's privacy and size limits on report data: thresholding, the "(other)" row and funnel sampling.

All three are deterministic, so a test can count the same thing from the raw events:

- Thresholding (``withhold``): while the property's Google signals setting is ENABLED, every core and
  pivot report is ``subject_to_thresholding`` and rows with 1 to ``threshold_users - 1`` users
  (totalUsers of the row) are withheld. Totals still count them, as in GA4 ("component rows do not add up
  to the displayed total"). GA4 does not publish its threshold; 50 users is the figure commonly observed.
- The "(other)" row (``fold_other``): GA4 serves reports from daily summary tables of at most 50,000 rows
  (standard properties; 2,000,000 for the larger tables, used here for 360). Per day, the report's
  combinations of non-date dimension values are ranked by event count (ties: labels ascending) over
  all of that day's events; those beyond the limit show "(other)" in every non-date dimension and the
  response says ``data_loss_from_other_row``.
- Funnel sampling (``sample_users``): above 10 million events in a date range (100 million on 360),
  GA4's default sampling size, a funnel reads whole users in ascending CRC-32 order of their user id
  (ties by id) while their events fit the limit, and scales user counts by space / read. The response
  carries one SamplingMetadata per date range (samples_read_count, sampling_space_size).

``DataLimits`` holds the numbers; ``Emulator(data_limits=...)`` or ``emu.data.limits`` change them.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from .dates import DATE_DIMENSIONS
from .dimensions import dimension_scope

SIGNALS_ON = "GOOGLE_SIGNALS_ENABLED"
OTHER = "(other)"


@dataclass(frozen=True)
class DataLimits:
    threshold_users: int = 50
    other_row_rows: int = 50_000
    other_row_rows_360: int = 2_000_000
    funnel_sampling_events: int = 10_000_000
    funnel_sampling_events_360: int = 100_000_000

    @classmethod
    def of(cls, value) -> "DataLimits":
        """A DataLimits from None, a DataLimits or a dict of overrides."""
        if value is None:
            return cls()
        if isinstance(value, DataLimits):
            return value
        unknown = set(dict(value)) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown data limits: {', '.join(sorted(unknown))}")
        return replace(cls(), **dict(value))

    def other_rows(self, service_level: str) -> int:
        return self.other_row_rows_360 if _premium(service_level) else self.other_row_rows

    def sampling_events(self, service_level: str) -> int:
        return self.funnel_sampling_events_360 if _premium(service_level) else self.funnel_sampling_events


def _premium(service_level: str) -> bool:
    return str(service_level or "").upper().endswith("PREMIUM")


def signals_on(admin, property_id: str) -> bool:
    """Whether Google signals is on for the property (then its reports are thresholded)."""
    return admin.get_google_signals(property_id).get("state") == SIGNALS_ON


# ---------------------------------------------------------------------------- thresholding
def withhold(table: pd.DataFrame, users_column: str, threshold: int) -> pd.DataFrame:
    """The rows with at least ``threshold`` users (rows with no users at all are not identifying: kept)."""
    if not len(table) or threshold <= 1:
        return table
    users = table[users_column].to_numpy(dtype=float)
    return table[(users == 0) | (users >= threshold)]


# ---------------------------------------------------------------------------- the (other) row
def other_row_dims(dims: list[str]) -> list[str]:
    """The dimensions a summary table's row limit applies to (date dimensions split the days anyway; item
    dimensions describe items, not the events the daily tables count)."""
    return [d for d in dims if d not in DATE_DIMENSIONS and d != "dateRange" and dimension_scope(d) != "item"]


def fold_other(prep, dims: list[str], ranges, limit: int, resolve=None):
    """``prep`` with "(other)" in the dimensions ``dims`` for events beyond a day's row limit, or ``prep``
    itself when no day in ``ranges`` has more than ``limit`` combinations. ``resolve(name) -> (codes,
    labels)`` reads the dimensions (default ``prep.dimension``; the report's resolver for custom ones)."""
    key_dims = other_row_dims(dims)
    if not key_dims or not len(ranges) or prep.n == 0:
        return prep
    resolved = [(resolve or prep.dimension)(d) for d in key_dims]
    if np.prod([float(len(labels)) for _, labels in resolved]) <= limit:
        return prep
    lo, hi = min(r[1] for r in ranges), max(r[2] for r in ranges)
    idx = np.flatnonzero((prep.day >= lo) & (prep.day <= hi))
    if not len(idx):
        return prep
    # One code per combination of (string) labels, so equal labels under different codes are one value.
    ranks = []
    for codes, labels in resolved:
        uniq, inv = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
        ranks.append((inv[codes[idx]], len(uniq)))
    # Sorted factorizing keeps the codes in the order of the labels, dimension by dimension.
    combo, size = np.zeros(len(idx), dtype=np.int64), 1
    for r, n in ranks:
        combo, size = combo * n + r, size * n
        if size > 1 << 40:
            combo, uniq = pd.factorize(combo, sort=True)
            combo, size = combo.astype(np.int64), len(uniq)
    combo, uniq = pd.factorize(combo, sort=True)
    n_combos = len(uniq)
    day = (prep.day[idx] - lo).astype(np.int64)
    pair = day * n_combos + combo
    pairs, counts = np.unique(pair, return_counts=True)
    pair_day = pairs // n_combos
    per_day = np.bincount(pair_day)
    if per_day.max() <= limit:
        return prep
    folded = []
    for d in np.flatnonzero(per_day > limit):
        sel = np.flatnonzero(pair_day == d)
        # Most events first; ties by the labels (the combination codes sort like the labels).
        order = np.lexsort((pairs[sel] % n_combos, -counts[sel]))
        folded.append(pairs[sel[order[limit:]]])
    mask = np.zeros(prep.n, dtype=bool)
    mask[idx] = np.isin(pair, np.concatenate(folded))
    return FoldedPrepared(prep, mask, key_dims)


class FoldedPrepared:
    """A prepared frame whose dimensions ``dims`` read "(other)" on the folded events."""

    def __init__(self, prep, folded: np.ndarray, dims: list[str]):
        self._prep = prep
        self._folded = folded
        self._dims = set(dims)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __getattr__(self, name):
        return getattr(self._prep, name)

    def dimension(self, name: str):
        return self._fold(name, self._prep.dimension)

    def resolver(self, key_events=(), custom=None):
        """The wrapped frame's resolver with the folded dimensions reading "(other)"."""
        inner = self._prep.resolver(key_events, custom)
        return lambda name: self._fold(name, inner)

    def _fold(self, name: str, resolve):
        if name not in self._dims:
            return resolve(name)
        hit = self._cache.get(name)
        if hit is None:
            codes, labels = resolve(name)
            labels = np.append(np.asarray(labels, dtype=object), OTHER)
            hit = (np.where(self._folded, len(labels) - 1, codes), labels)
            self._cache[name] = hit
        return hit


def has_other_row(table: pd.DataFrame, dims: list[str]) -> bool:
    key_dims = [d for d in other_row_dims(dims) if d in table]
    return bool(key_dims) and bool(len(table)) and bool((table[key_dims[0]] == OTHER).any())


# ---------------------------------------------------------------------------- funnel sampling
def sample_users(user_ids: np.ndarray, limit: int):
    """Sampling of a date range's events (``user_ids``: the user id of each event).

    Returns None when the events fit ``limit``; else (mask of the events read, events read, events in
    the sampling space). Users are read whole, in ascending CRC-32 of their id (ties by id), while the
    events read stay within ``limit``."""
    space = len(user_ids)
    if space <= limit:
        return None
    users, inverse, counts = np.unique(np.asarray(user_ids, dtype=str), return_inverse=True, return_counts=True)
    crc = np.array([zlib.crc32(u.encode()) for u in users], dtype=np.int64)
    order = np.lexsort((users, crc))
    cum = np.cumsum(counts[order])
    taken = order[cum <= limit]
    keep_user = np.zeros(len(users), dtype=bool)
    keep_user[taken] = True
    mask = keep_user[inverse]
    return mask, int(mask.sum()), space

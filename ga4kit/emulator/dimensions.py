"""The dimensions and metrics the emulator serves, and how each is computed from the events.

The engines work on integer codes: ``Prepared.dimension(name)`` resolves a dimension to (a code per
event, the labels the codes index), and ``compute_metrics`` turns grouped events into one value per
group with bincounts. Distinct counts (users, sessions) count distinct (group, user) pairs, so users
are never summed across days or segments, as in GA4.

Dimensions: ``DIMENSIONS`` (plus ``dateRange``, which the report engine adds itself); metrics:
``METRICS`` plus ``keyEvents:<event_name>``. Unknown names are refused with GA4's wording.
"""

from __future__ import annotations

import math
import threading
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .dates import DATE_DIMENSIONS, date_labels
from .errors import EmulatorError, invalid

SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"

# API name -> event column, for dimensions read straight from a column.
COLUMN_DIMENSIONS = {
    "eventName": "event_name",
    "sessionDefaultChannelGroup": "channel_group",
    "sessionSource": "source",
    "sessionMedium": "medium",
    "deviceCategory": "device_category",
    "country": "country",
    "pageLocation": "page_location",
}
DERIVED_DIMENSIONS = ("pagePath", "hostName", "sessionSourceMedium")
DIMENSIONS = tuple(COLUMN_DIMENSIONS) + DERIVED_DIMENSIONS + DATE_DIMENSIONS

# metric -> MetricType name
METRICS = {
    "eventCount": "TYPE_INTEGER",
    "totalUsers": "TYPE_INTEGER",
    "activeUsers": "TYPE_INTEGER",
    "newUsers": "TYPE_INTEGER",
    "sessions": "TYPE_INTEGER",
    "eventValue": "TYPE_FLOAT",
    "eventCountPerUser": "TYPE_FLOAT",
    "eventsPerSession": "TYPE_FLOAT",
    "sessionsPerUser": "TYPE_FLOAT",
    "keyEvents": "TYPE_INTEGER",
    "screenPageViews": "TYPE_INTEGER",
    "ecommercePurchases": "TYPE_INTEGER",
    "transactions": "TYPE_INTEGER",
    "purchaseRevenue": "TYPE_CURRENCY",
    "totalRevenue": "TYPE_CURRENCY",
}
# MetricType enum values of the Data API (the same in v1beta and v1alpha).
METRIC_TYPE_VALUES = {"TYPE_INTEGER": 1, "TYPE_FLOAT": 2, "TYPE_CURRENCY": 9}


def bad_dimension(name: str) -> EmulatorError:
    return invalid(f"Field {name} is not a valid dimension. For a list of valid dimensions and metrics, "
                   f"see {SCHEMA_URL}")


def bad_metric(name: str) -> EmulatorError:
    return invalid(f"Field {name} is not a valid metric. For a list of valid dimensions and metrics, "
                   f"see {SCHEMA_URL}")


def is_metric(name: str) -> bool:
    return name in METRICS or (name.startswith("keyEvents:") and len(name) > len("keyEvents:"))


def metric_type(name: str) -> str:
    """The MetricType name of a metric (``keyEvents:<event>`` counts, so it is an integer)."""
    return "TYPE_INTEGER" if name.startswith("keyEvents:") else METRICS[name]


def _not_set(labels) -> np.ndarray:
    a = np.asarray(labels, dtype=object).copy()
    a[(a == "") | pd.isna(a)] = "(not set)"
    return a


def _page_path(url: str) -> str:
    if not url:
        return "(not set)"
    p = urlsplit(url).path if "://" in url else url.split("?", 1)[0].split("#", 1)[0]
    return p or "/"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "(not set)") if url else "(not set)"


def _compress(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge codes whose labels are equal (after a label transform)."""
    uniq, inv = np.unique(labels.astype(str), return_inverse=True)
    return inv.astype(np.int64)[codes], uniq.astype(object)


class Prepared:
    """A view frame with its per-event helper arrays for one time zone (cached by the engine)."""

    def __init__(self, frame: pd.DataFrame, tz: str):
        self.frame = frame
        self.n = len(frame)
        ts = frame["ts"].to_numpy()
        local = pd.to_datetime(ts, unit="us", utc=True).tz_convert(ZoneInfo(tz)).tz_localize(None)
        self.day = local.to_numpy().astype("datetime64[D]").astype(np.int64)
        self.user = frame["user_id"].array.codes.astype(np.int64)
        self.n_users = max(len(frame["user_id"].array.categories), 1)
        # Sessions are identified by (user, session_id), as GA4 does with user_pseudo_id + ga_session_id.
        self.session, uniq = pd.factorize(self.user * (1 << 40) + frame["session_id"].to_numpy() % (1 << 40))
        self.n_sessions = max(len(uniq), 1)
        self.value = frame["value"].to_numpy()
        ev = frame["event_name"].array
        self.event = ev.codes.astype(np.int64)
        self.event_labels = np.asarray(ev.categories, dtype=object)
        self._dims: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    def event_code(self, name: str) -> int:
        hits = np.flatnonzero(self.event_labels == name)
        return int(hits[0]) if len(hits) else -2

    def dimension(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes per event, labels) for a dimension; codes index labels."""
        with self._lock:
            hit = self._dims.get(name)
        if hit is not None:
            return hit
        f = self.frame
        if name in COLUMN_DIMENSIONS:
            cat = f[COLUMN_DIMENSIONS[name]].array
            codes = cat.codes.astype(np.int64)
            labels = _not_set(np.asarray(cat.categories, dtype=object))
            if (codes < 0).any():  # missing values -> an extra "(not set)" label
                labels = np.append(labels, "(not set)")
                codes = np.where(codes < 0, len(labels) - 1, codes)
            out = (codes, labels)
        elif name in ("pagePath", "hostName"):
            codes, raw = self.dimension("pageLocation")
            fn = _page_path if name == "pagePath" else _host
            out = _compress(codes, np.array([fn("" if r == "(not set)" else r) for r in raw], dtype=object))
        elif name == "sessionSourceMedium":
            sc, sl = self.dimension("sessionSource")
            mc, ml = self.dimension("sessionMedium")
            combo = sc * len(ml) + mc
            labels = np.array([f"{s} / {m}" for s in sl for m in ml], dtype=object)
            out = _compress(combo, labels)
        elif name in DATE_DIMENSIONS:
            lo = int(self.day.min()) if self.n else 0
            hi = int(self.day.max()) if self.n else 0
            out = _compress(self.day - lo, date_labels(name, np.arange(lo, hi + 1)))
        else:
            raise bad_dimension(name)
        with self._lock:
            self._dims[name] = out
        return out



def _distinct_per_group(g: np.ndarray, ids: np.ndarray, n_ids: int, n_groups: int) -> np.ndarray:
    if not len(g):
        return np.zeros(n_groups)
    pairs = pd.unique(g.astype(np.int64) * n_ids + ids)
    return np.bincount(pairs // n_ids, minlength=n_groups).astype(float)


def compute_metrics(names: list[str], prep: Prepared, idx: np.ndarray, g: np.ndarray, n_groups: int,
                    key_events: dict[str, str]) -> dict[str, np.ndarray]:
    """Metric arrays (length n_groups) for the events ``idx`` grouped by ``g``."""
    cache: dict[str, np.ndarray] = {}

    def get(name: str) -> np.ndarray:
        if name in cache:
            return cache[name]
        if name == "eventCount":
            v = np.bincount(g, minlength=n_groups).astype(float)
        elif name in ("totalUsers", "activeUsers"):
            # Every user with an event in the period is active here (no engagement model).
            v = cache.get("totalUsers", cache.get("activeUsers"))
            if v is None:
                v = _distinct_per_group(g, prep.user[idx], prep.n_users, n_groups)
        elif name == "newUsers":
            v = _count_event(["first_visit"], distinct="user")
        elif name == "sessions":
            v = _distinct_per_group(g, prep.session[idx], prep.n_sessions, n_groups)
        elif name == "eventValue":
            v = np.bincount(g, weights=prep.value[idx], minlength=n_groups)
        elif name == "eventCountPerUser":
            v = _ratio(get("eventCount"), get("totalUsers"))
        elif name == "eventsPerSession":
            v = _ratio(get("eventCount"), get("sessions"))
        elif name == "sessionsPerUser":
            v = _ratio(get("sessions"), get("totalUsers"))
        elif name == "screenPageViews":
            v = _count_event(["page_view", "screen_view"])
        elif name in ("ecommercePurchases", "transactions"):
            v = _count_event(["purchase"])
        elif name in ("purchaseRevenue", "totalRevenue"):
            v = _count_event(["purchase"], weights=True)
        elif name == "keyEvents":
            v = np.zeros(n_groups)
            for ev, method in key_events.items():
                v = v + _key_event(ev, method)
        elif name.startswith("keyEvents:"):
            ev = name.split(":", 1)[1]
            v = _key_event(ev, key_events[ev]) if ev in key_events else np.zeros(n_groups)
        else:
            raise bad_metric(name)
        cache[name] = v
        return v

    def _event_mask(events: list[str]) -> np.ndarray:
        codes = [prep.event_code(e) for e in events]
        return np.isin(prep.event[idx], codes)

    def _count_event(events, weights=False, distinct=None):
        m = _event_mask(events)
        if distinct == "user":
            return _distinct_per_group(g[m], prep.user[idx][m], prep.n_users, n_groups)
        w = prep.value[idx][m] if weights else None
        return np.bincount(g[m], weights=w, minlength=n_groups).astype(float)

    def _key_event(ev: str, method: str) -> np.ndarray:
        if method == "ONCE_PER_SESSION":  # at most one per session (and per group)
            m = _event_mask([ev])
            return _distinct_per_group(g[m], prep.session[idx][m], prep.n_sessions, n_groups)
        return _count_event([ev])

    return {n: get(n) for n in names}


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def fmt_value(v: float, mtype: str) -> str:
    if mtype == "TYPE_INTEGER":
        return str(int(round(v)))
    if v == 0 or not math.isfinite(v):
        return "0"
    if mtype == "TYPE_CURRENCY":
        v = round(v, 2)
    return str(int(v)) if float(v).is_integer() else repr(float(v))

"""The dimensions and metrics the emulator serves, and how each is computed from the events.

The engines work on integer codes: ``Prepared.dimension(name)`` resolves a dimension to (a code per
event, the labels the codes index), and ``compute_metrics`` turns grouped events into one value per
group with bincounts. Distinct counts (users, sessions) count distinct (group, user) pairs, so users
are never summed across days or segments, as in GA4. Item-scoped fields (itemName, itemRevenue, ...)
work on the item rows of ecommerce events (``Prepared.items``), one row per item.

Which names exist: ``schema.py`` (modelled ones in ``DIMENSION_INFO`` / ``METRIC_INFO``, GA4's other
valid names answered UNIMPLEMENTED, anything else INVALID_ARGUMENT with GA4's wording).

GA4's definitions as modelled here:

- engaged session: any event carries session_engaged = 1, or the session's engagement time
  (sum of engagement_time_msec) is over 10 s, or it has 2+ page_view / screen_view events, or a key event;
- active user: a user with an event in the group that is in an engaged session, is first_visit /
  first_open, or carries engagement time (> 0);
- activeNDayUsers (N = 1, 7, 28; 30 for the DAU/MAU ratios): distinct active users over the N days ending
  on the row's last day: the date range's last day, or with time dimensions the last day in the range
  those dimensions' values cover; events before the range count (and the dimension filter applies);
- session duration: time between the session's first and last event; averageSessionDuration sums it over
  the distinct sessions of the group and divides by their number;
- landing page: the page of the session's first page_view / screen_view;
- newVsReturning: "new" in a session with ga_session_number 1, "returning" above, "(not set)" unknown.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .dates import DATE_DIMENSIONS, date_labels
from .errors import EmulatorError, invalid, unimplemented
from .events import items_of, parameter_column
from .geography import COUNTRIES
from .schema import (COHORT_DIMENSION_INFO, COHORT_METRIC_INFO, DIMENSION_ALIASES, DIMENSION_INFO,
                     KEY_EVENT_METRICS, METRIC_ALIASES,
                     METRIC_INFO, NO_CUSTOM, SCHEMA_URL, UNMODELLED_DIMENSIONS, UNMODELLED_METRICS,
                     CustomDefinitions, custom_definitions)

__all__ = ["DIMENSIONS", "METRICS", "COLUMN_DIMENSIONS", "DERIVED_DIMENSIONS", "METRIC_TYPE_VALUES", "SCHEMA_URL",
           "Prepared", "MetricContext", "compute_metrics", "compute_item_metrics", "fmt_value", "fmt_values", "bad_dimension",
           "bad_metric", "is_metric", "is_dimension", "metric_type", "check_dimension", "check_metric",
           "canonical_dimension", "canonical_metric", "dimension_scope", "metric_scope", "check_compatibility",
           "build_metadata", "custom_definitions", "CustomDefinitions", "NO_CUSTOM", "DIMENSION_INFO",
           "METRIC_INFO", "UNMODELLED_DIMENSIONS", "UNMODELLED_METRICS"]

# API name -> event column, for dimensions read straight from a column.
COLUMN_DIMENSIONS = {
    "eventName": "event_name",
    "sessionDefaultChannelGroup": "channel_group",
    "sessionSource": "source",
    "sessionMedium": "medium",
    "sessionCampaignName": "campaign",
    "firstUserDefaultChannelGroup": "first_channel_group",
    "firstUserSource": "first_source",
    "firstUserMedium": "first_medium",
    "firstUserCampaignName": "first_campaign",
    "platform": "platform",
    "deviceCategory": "device_category",
    "operatingSystem": "operating_system",
    "browser": "browser",
    "country": "country",
    "region": "region",
    "city": "city",
    "pageLocation": "page_location",
    "pageTitle": "page_title",
    "pageReferrer": "page_referrer",
    "transactionId": "transaction_id",
    "currencyCode": "currency",
}
ITEM_DIMENSIONS = {"itemId": "item_id", "itemName": "item_name", "itemBrand": "item_brand",
                   "itemCategory": "item_category"}
DIMENSIONS = tuple(DIMENSION_INFO)  # every modelled dimension (the report engine adds dateRange itself)
DERIVED_DIMENSIONS = tuple(d for d in DIMENSIONS if d not in COLUMN_DIMENSIONS and d not in DATE_DIMENSIONS
                           and d not in ITEM_DIMENSIONS)
# metric -> MetricType name
METRICS = {name: f.type for name, f in METRIC_INFO.items()}
# MetricType enum values of the Data API (the same in v1beta and v1alpha).
METRIC_TYPE_VALUES = {"TYPE_INTEGER": 1, "TYPE_FLOAT": 2, "TYPE_SECONDS": 4, "TYPE_MILLISECONDS": 5,
                      "TYPE_MINUTES": 6, "TYPE_HOURS": 7, "TYPE_STANDARD": 8, "TYPE_CURRENCY": 9, "TYPE_FEET": 10,
                      "TYPE_MILES": 11, "TYPE_METERS": 12, "TYPE_KILOMETERS": 13}

TRANSACTION_EVENTS = ["purchase", "in_app_purchase", "ecommerce_purchase", "app_store_subscription_convert",
                      "app_store_subscription_renew"]
_ITEM_METRIC_EVENTS = {"itemRevenue": "purchase", "itemsPurchased": "purchase", "itemsViewed": "view_item",
                       "itemsAddedToCart": "add_to_cart", "itemsCheckedOut": "begin_checkout"}
# metrics that need the distinct (group, session) pairs
_SESSION_METRICS = {"sessions", "engagedSessions", "engagementRate", "bounceRate", "averageSessionDuration",
                    "eventsPerSession", "sessionsPerUser", "screenPageViewsPerSession", "sessionKeyEventRate"}
_ROLLING = {"active1DayUsers": 1, "active7DayUsers": 7, "active28DayUsers": 28}
_RATIOS = {"dauPerMau": (1, 30), "dauPerWau": (1, 7), "wauPerMau": (7, 30)}
_TIME_OF_DAY = ("hour", "minute", "dateHour", "dateHourMinute")
DAY_US = 86_400_000_000
UNKNOWN_DAY = np.iinfo(np.int64).max  # a user's first session day when their events hold no first_visit / first_open
_HOUR_US = 3_600_000_000
_MINUTE_US = 60_000_000


# ---- names ----------------------------------------------------------------------------------------

def bad_dimension(name: str) -> EmulatorError:
    return invalid(f"Field {name} is not a valid dimension. For a list of valid dimensions and metrics, "
                   f"see {SCHEMA_URL}")


def bad_metric(name: str) -> EmulatorError:
    return invalid(f"Field {name} is not a valid metric. For a list of valid dimensions and metrics, "
                   f"see {SCHEMA_URL}")


def _not_modelled(kind: str, name: str) -> EmulatorError:
    return unimplemented(f"The ga4kit emulator does not model the {kind} {name} (a valid GA4 {kind} name). "
                         "See docs/emulator-contract.md for the dimensions and metrics it models.")


def _cohort_only(name: str) -> EmulatorError:
    return invalid(f"{name} is only valid in a cohort report: add a cohortSpec.")


def _split_event(name: str) -> tuple[str, str] | None:
    """("keyEvents", "purchase") for "keyEvents:purchase" (and the rate / deprecated forms)."""
    head, sep, event = name.partition(":")
    if not sep or not event:
        return None
    head = METRIC_ALIASES.get(head, head)
    return (head, event) if head in KEY_EVENT_METRICS else None


def canonical_dimension(name: str) -> str:
    return DIMENSION_ALIASES.get(name, name)


def canonical_metric(name: str) -> str:
    split = _split_event(name)
    if split:
        return f"{split[0]}:{split[1]}"
    return METRIC_ALIASES.get(name, name)


def is_dimension(name: str, custom: CustomDefinitions | None = None) -> bool:
    """A dimension the emulator answers (modelled, deprecated name, or a registered event-scoped custom one)."""
    custom = custom or NO_CUSTOM
    name = canonical_dimension(name)
    return name in DIMENSION_INFO or (name.startswith("customEvent:") and name in custom.dimensions)


def is_metric(name: str, custom: CustomDefinitions | None = None) -> bool:
    custom = custom or NO_CUSTOM
    return canonical_metric(name) in METRIC_INFO or _split_event(name) is not None or name in custom.metrics


def check_dimension(name: str, custom: CustomDefinitions | None = None) -> str:
    """The canonical name of a dimension the emulator answers; UNIMPLEMENTED for a valid GA4 name it does not
    model (a registered user- or item-scoped custom dimension too), INVALID_ARGUMENT otherwise."""
    custom = custom or NO_CUSTOM
    if is_dimension(name, custom):
        return canonical_dimension(name)
    if name in UNMODELLED_DIMENSIONS or name in custom.dimensions:
        raise _not_modelled("dimension", name)
    if name in COHORT_DIMENSION_INFO:
        raise _cohort_only(name)
    raise bad_dimension(name)


def check_metric(name: str, custom: CustomDefinitions | None = None) -> str:
    custom = custom or NO_CUSTOM
    if is_metric(name, custom):
        return canonical_metric(name)
    if name in UNMODELLED_METRICS:
        raise _not_modelled("metric", name)
    if name in COHORT_METRIC_INFO:
        raise _cohort_only(name)
    raise bad_metric(name)


def metric_type(name: str, custom: CustomDefinitions | None = None) -> str:
    """The MetricType name of a metric (``keyEvents:<event>`` counts, so it is an integer)."""
    if custom is not None and name in custom.metrics:
        return custom.metrics[name].type
    split = _split_event(name)
    if split:
        return METRIC_INFO[split[0]].type
    return METRICS[canonical_metric(name)]


def dimension_scope(name: str) -> str:
    info = DIMENSION_INFO.get(canonical_dimension(name))
    return info.scope if info else ("item" if name.startswith("customItem:") else "event")


def metric_scope(name: str) -> str:
    info = METRIC_INFO.get(canonical_metric(name))
    return info.scope if info else "event"


def check_compatibility(dims: list[str], metrics: list[str], filter_dims: list[str] = ()) -> bool:
    """True when the request is item scoped (an item dimension in the rows or the dimension filter).
    Item dimensions go only with item metrics: otherwise INVALID_ARGUMENT, as GA4 answers."""
    item_dims = [d for d in list(dims) + list(filter_dims) if dimension_scope(d) == "item"]
    if not item_dims:
        return False
    clash = [m for m in metrics if metric_scope(m) != "item"]
    if clash:
        raise invalid(f"Please remove {', '.join(dict.fromkeys(clash))} to make the request compatible. The "
                      "request's dimensions & metrics are incompatible: item-scoped dimensions "
                      f"({', '.join(dict.fromkeys(item_dims))}) go only with item-scoped metrics. To learn more, "
                      "see https://ga-dev-tools.google/ga4/dimensions-metrics-explorer/")
    return True


# ---- small helpers --------------------------------------------------------------------------------

def _not_set(labels) -> np.ndarray:
    a = np.asarray(labels, dtype=object).copy()
    a[(a == "") | pd.isna(a)] = "(not set)"
    return a


def _split_url(url: str) -> tuple[str, str, str]:
    """(host, path, query) of a page URL; a bare path has no host."""
    if not url:
        return "", "", ""
    if "://" in url:
        parts = urlsplit(url)
        return parts.netloc, parts.path or "/", parts.query
    path, _, query = url.split("#", 1)[0].partition("?")
    return "", path or "/", query


def _page_path(url: str) -> str:
    return _split_url(url)[1] or "(not set)"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "(not set)") if url and "://" in url else "(not set)"


def _path_query(url: str) -> str:
    _, path, query = _split_url(url)
    return (path + ("?" + query if query else "")) if path else "(not set)"


def _full_url(url: str) -> str:
    host, path, query = _split_url(url)
    return (host + path + ("?" + query if query else "")) if path else "(not set)"


def _compress(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge codes whose labels are equal (after a label transform)."""
    uniq, inv = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    return inv.astype(np.int64)[codes], uniq.astype(object)


def _offset_us(zone: ZoneInfo, utc_us: int) -> int:
    off = datetime.fromtimestamp(utc_us / 1e6, tz=timezone.utc).astimezone(zone).utcoffset()
    return int(off.total_seconds()) * 1_000_000


def local_micros(ts: np.ndarray, tz: str) -> np.ndarray:
    """UTC µs -> local wall-clock µs in ``tz``. Offsets are looked up once per UTC day, and per quarter
    hour on the days an offset changes (DST), instead of once per event."""
    ts = np.asarray(ts, dtype=np.int64)
    if not len(ts):
        return ts.copy()
    zone = ZoneInfo(tz)
    d0, d1 = int(ts.min() // DAY_US), int(ts.max() // DAY_US) + 1
    offs = np.array([_offset_us(zone, d * DAY_US) for d in range(d0, d1 + 1)], dtype=np.int64)
    di = ts // DAY_US - d0
    local = ts + offs[di]
    for d in np.flatnonzero(offs[:-1] != offs[1:]):
        quarter = DAY_US // 96
        start = (d0 + int(d)) * DAY_US
        q_offs = np.array([_offset_us(zone, start + q * quarter) for q in range(96)], dtype=np.int64)
        on_day = di == d
        local[on_day] = ts[on_day] + q_offs[(ts[on_day] - start) // quarter]
    return local


def _session_reduce(session: np.ndarray, n: int, values: np.ndarray, how: str) -> np.ndarray:
    out = np.full(n, np.iinfo(np.int64).max if how == "min" else np.iinfo(np.int64).min, dtype=np.int64)
    (np.minimum if how == "min" else np.maximum).at(out, session, values)
    return out


# ---- the prepared frame ---------------------------------------------------------------------------

class Prepared:
    """A view frame with its per-event helper arrays for one time zone (cached by the engine)."""

    def __init__(self, frame: pd.DataFrame, tz: str):
        self.frame = frame
        self.tz = tz
        self.n = len(frame)
        self.day = local_micros(frame["ts"].to_numpy(), tz) // DAY_US
        self.user = frame["user_id"].array.codes.astype(np.int64)
        self.n_users = max(len(frame["user_id"].array.categories), 1)
        # Sessions are identified by (user, session_id), as GA4 does with user_pseudo_id + ga_session_id.
        self.session, uniq = pd.factorize(self.user * (1 << 40) + frame["session_id"].to_numpy() % (1 << 40))
        self.n_sessions = max(len(uniq), 1)
        self.value = frame["value"].to_numpy()
        ev = frame["event_name"].array
        self.event = ev.codes.astype(np.int64)
        self.event_labels = np.asarray(ev.categories, dtype=object)
        self.items = items_of(frame)
        self._dims: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._cache: dict[tuple, object] = {}
        self._lock = threading.Lock()

    # ---- events and sessions -----------------------------------------------------------------------
    def event_code(self, name: str) -> int:
        hits = np.flatnonzero(self.event_labels == name)
        return int(hits[0]) if len(hits) else -2

    def event_mask(self, names) -> np.ndarray:
        return np.isin(self.event, [self.event_code(e) for e in names])

    def _cached(self, key, fn):
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        out = fn()
        with self._lock:
            self._cache[key] = out
        return out

    def session_stats(self) -> dict[str, np.ndarray]:
        """Per session: first and last event time, page/screen views, engagement time, session_engaged."""
        def build():
            f, s, n = self.frame, self.session, self.n_sessions
            ts = f["ts"].to_numpy()
            return {
                "first": _session_reduce(s, n, ts, "min") if self.n else np.zeros(n, dtype=np.int64),
                "last": _session_reduce(s, n, ts, "max") if self.n else np.zeros(n, dtype=np.int64),
                "views": np.bincount(s[self.event_mask(["page_view", "screen_view"])], minlength=n),
                "engagement": np.bincount(s, weights=f["engagement_time_msec"].to_numpy(), minlength=n),
                "flag": np.bincount(s[f["session_engaged"].to_numpy() > 0], minlength=n) > 0,
            }
        return self._cached("session_stats", build)

    def first_session_days(self) -> np.ndarray:
        """Per user: the local day of their first first_visit / first_open (``UNKNOWN_DAY`` when the events
        hold none): firstSessionDate, and the day cohorts are formed on."""
        def build():
            first = np.full(self.n_users, UNKNOWN_DAY, dtype=np.int64)
            fv = self.event_mask(["first_visit", "first_open"])
            np.minimum.at(first, self.user[fv], self.day[fv])
            return first
        return self._cached("first_session_days", build)

    def session_users(self) -> np.ndarray:
        """Per session: its user's code."""
        def build():
            out = np.zeros(self.n_sessions, dtype=np.int64)
            out[self.session] = self.user
            return out
        return self._cached("session_users", build)

    def engaged_sessions(self, key_events) -> np.ndarray:
        """Per session: engaged by GA4's definition (see the module docstring)."""
        def build():
            st = self.session_stats()
            key = np.zeros(self.n_sessions, dtype=bool)
            km = self.event_mask(list(key_events))
            key[self.session[km]] = True
            return st["flag"] | (st["engagement"] > 10_000) | (st["views"] >= 2) | key
        return self._cached(("engaged", tuple(sorted(key_events))), build)

    def active_events(self, key_events) -> np.ndarray:
        """Per event: it makes its user active (engaged session, first_visit / first_open, engagement time)."""
        def build():
            return (self.engaged_sessions(key_events)[self.session]
                    | self.event_mask(["first_visit", "first_open"])
                    | (self.frame["engagement_time_msec"].to_numpy() > 0))
        return self._cached(("active", tuple(sorted(key_events))), build)

    # ---- dimensions ------------------------------------------------------------------------------
    def resolver(self, key_events=(), custom: CustomDefinitions | None = None):
        """``resolve(name) -> (codes, labels)`` for the report engine: ``dimension`` plus the dimensions that
        depend on the property's settings (isKeyEvent, customEvent:<parameter>)."""
        def resolve(name: str):
            name = canonical_dimension(name)
            if name == "isKeyEvent":
                keys = np.isin(self.event_labels, list(key_events))
                return keys.astype(np.int64)[self.event], np.array(["false", "true"], dtype=object)
            if name.startswith("customEvent:"):
                return self._parameter(name.split(":", 1)[1])
            return self.dimension(name)
        return resolve

    def _parameter(self, param: str):
        col = parameter_column(self.frame, param)
        if col is None:
            return np.zeros(self.n, dtype=np.int64), np.array(["(not set)"], dtype=object)
        s = self.frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            return self._column(col)
        uniq, inv = np.unique(s.to_numpy(), return_inverse=True)
        labels = np.array([str(int(v)) if float(v).is_integer() else repr(float(v)) for v in uniq], dtype=object)
        return inv.astype(np.int64), labels

    def _column(self, col: str):
        cat = self.frame[col].array
        codes = cat.codes.astype(np.int64)
        labels = _not_set(np.asarray(cat.categories, dtype=object))
        if (codes < 0).any():  # missing values -> an extra "(not set)" label
            labels = np.append(labels, "(not set)")
            codes = np.where(codes < 0, len(labels) - 1, codes)
        return codes, labels

    def dimension(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes per event, labels) for a dimension; codes index labels."""
        name = canonical_dimension(name)
        with self._lock:
            hit = self._dims.get(name)
        if hit is not None:
            return hit
        codes, labels = self._build_dimension(name)
        if len(labels) < 2**31 - 1:  # half the memory of int64 codes; arithmetic on them promotes to int64
            codes = codes.astype(np.int32, copy=False)
        out = (codes, labels)
        with self._lock:
            self._dims[name] = out
        return out

    def _build_dimension(self, name: str):
        if name in COLUMN_DIMENSIONS:
            return self._column(COLUMN_DIMENSIONS[name])
        if name in ("pagePath", "hostName", "pagePathPlusQueryString", "fullPageUrl"):
            codes, raw = self.dimension("pageLocation")
            fn = {"pagePath": _page_path, "hostName": _host, "pagePathPlusQueryString": _path_query,
                  "fullPageUrl": _full_url}[name]
            return _compress(codes, np.array([fn("" if r == "(not set)" else r) for r in raw], dtype=object))
        if name in ("landingPage", "landingPagePlusQueryString"):
            return self._landing(name)
        if name in ("sessionSourceMedium", "firstUserSourceMedium", "platformDeviceCategory"):
            a, b = {"sessionSourceMedium": ("sessionSource", "sessionMedium"),
                    "firstUserSourceMedium": ("firstUserSource", "firstUserMedium"),
                    "platformDeviceCategory": ("platform", "deviceCategory")}[name]
            ac, al = self.dimension(a)
            bc, bl = self.dimension(b)
            labels = np.array([f"{x} / {y}" for x in al for y in bl], dtype=object)
            return _compress(ac * len(bl) + bc, labels)
        if name in ("countryId", "continent", "subContinent"):
            codes, countries = self.dimension("country")
            k = ("countryId", "continent", "subContinent").index(name)
            return _compress(codes, np.array([COUNTRIES[c][k] if c in COUNTRIES else "(not set)"
                                              for c in countries], dtype=object))
        if name == "newVsReturning":
            num = self.frame["session_number"].to_numpy()
            codes = np.where(num == 1, 0, np.where(num > 1, 1, 2))
            return codes.astype(np.int64), np.array(["new", "returning", "(not set)"], dtype=object)
        if name == "firstSessionDate":
            per_event = self.first_session_days()[self.user]
            known = per_event != UNKNOWN_DAY
            days = np.unique(per_event[known])
            labels = np.append(date_labels("date", days), "(not set)")
            codes = np.where(known, np.searchsorted(days, per_event), len(days))
            return codes.astype(np.int64), labels.astype(object)
        if name in DATE_DIMENSIONS:
            lo = int(self.day.min()) if self.n else 0
            hi = int(self.day.max()) if self.n else 0
            return _compress(self.day - lo, date_labels(name, np.arange(lo, hi + 1)))
        if name in _TIME_OF_DAY:
            return self._time_of_day(name)
        if name in ITEM_DIMENSIONS:
            raise invalid(f"{name} is an item-scoped dimension: it describes the items of ecommerce events and "
                          "goes only with item-scoped metrics.")
        raise bad_dimension(name)

    @property
    def local(self) -> np.ndarray:
        """Local wall-clock µs of each event (computed when a time-of-day dimension needs it)."""
        return self._cached("local", lambda: local_micros(self.frame["ts"].to_numpy(), self.tz))

    def _time_of_day(self, name: str):
        if name in ("hour", "minute"):
            unit, count = (_HOUR_US, 24) if name == "hour" else (_MINUTE_US, 60)
            codes = (self.local % (unit * count if name == "minute" else DAY_US)) // unit
            return codes.astype(np.int64), np.array([f"{i:02d}" for i in range(count)], dtype=object)
        unit = _HOUR_US if name == "dateHour" else _MINUTE_US
        steps = self.local // unit
        uniq, inv = np.unique(steps, return_inverse=True)
        per_day = DAY_US // unit
        days = date_labels("date", uniq // per_day)
        if name == "dateHour":
            labels = [f"{d}{int(s % per_day):02d}" for d, s in zip(days, uniq)]
        else:
            labels = [f"{d}{int(s % per_day) // 60:02d}{int(s % per_day) % 60:02d}" for d, s in zip(days, uniq)]
        return inv.astype(np.int64), np.array(labels, dtype=object)

    def _landing(self, name: str):
        """The page of each session's first page_view / screen_view, for every event of the session."""
        source = "pagePath" if name == "landingPage" else "pagePathPlusQueryString"
        codes, labels = self.dimension(source)
        views = np.flatnonzero(self.event_mask(["page_view", "screen_view"]))
        ts = self.frame["ts"].to_numpy()
        views = views[np.lexsort((views, ts[views], self.session[views]))]
        first = views[np.r_[True, self.session[views][1:] != self.session[views][:-1]]] if len(views) else views
        per_session = np.full(self.n_sessions, len(labels), dtype=np.int64)
        per_session[self.session[first]] = codes[first]
        return per_session[self.session], np.append(labels, "(not set)").astype(object)

    # ---- items -----------------------------------------------------------------------------------
    def item_dimension(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(codes per item row, labels) of an item dimension."""
        key = ("item", name)
        def build():
            cat = self.items[ITEM_DIMENSIONS[name]].array
            codes = cat.codes.astype(np.int64)
            labels = _not_set(np.asarray(cat.categories, dtype=object))
            if (codes < 0).any():
                labels = np.append(labels, "(not set)")
                codes = np.where(codes < 0, len(labels) - 1, codes)
            return codes, labels
        return self._cached(key, build)

    def item_resolver(self, event_resolve):
        """``resolve(name)`` over item rows: item dimensions from the items, the others from their event."""
        rows = self.items["row"].to_numpy()

        def resolve(name: str):
            name = canonical_dimension(name)
            if name in ITEM_DIMENSIONS:
                return self.item_dimension(name)
            codes, labels = event_resolve(name)
            return codes[rows], labels
        return resolve


# ---- metrics --------------------------------------------------------------------------------------

@dataclass
class MetricContext:
    """What metrics beyond plain counts need: the settings (custom definitions), the dimension filter over
    all events (``base``), the date range (days since 1970), the row dimensions with a resolver, and the
    group's representative events (for rolling active users)."""

    custom: CustomDefinitions = NO_CUSTOM
    base: np.ndarray | None = None
    lo: int | None = None
    hi: int | None = None
    dims: tuple[str, ...] = ()
    resolve: object = None
    rep: np.ndarray | None = None


def _unique(keys: np.ndarray) -> np.ndarray:
    """The distinct values of an int64 array (pandas' factorize: about twice as fast as unique here)."""
    return pd.factorize(keys)[1]


def _distinct_per_group(g: np.ndarray, ids: np.ndarray, n_ids: int, n_groups: int) -> np.ndarray:
    if not len(g):
        return np.zeros(n_groups)
    pairs = _unique(g.astype(np.int64) * n_ids + ids)
    return np.bincount(pairs // n_ids, minlength=n_groups).astype(float)


def compute_metrics(names: list[str], prep: Prepared, idx: np.ndarray, g: np.ndarray, n_groups: int,
                    key_events: dict[str, str], ctx: MetricContext | None = None) -> dict[str, np.ndarray]:
    """Metric arrays (length n_groups) for the events ``idx`` grouped by ``g``. Item metrics count the items
    of those events."""
    ctx = ctx or MetricContext()
    cache: dict[str, np.ndarray] = {}
    sess = {}
    by_session = any(canonical_metric(n).split(":")[0] in _SESSION_METRICS for n in names)

    def session_pairs():
        """Distinct (group, session) pairs of the events: their groups and sessions (and each event's pair)."""
        if "pairs" not in sess:
            n_s = prep.n_sessions
            if len(idx):
                codes, pairs = pd.factorize(g.astype(np.int64) * n_s + prep.session[idx])
            else:
                codes, pairs = np.zeros(0, np.int64), np.zeros(0, np.int64)
            sess["pairs"] = (pairs // n_s, pairs % n_s)
            sess["codes"] = codes
        return sess["pairs"]

    def per_session(values: np.ndarray) -> np.ndarray:
        pg, ps = session_pairs()
        return np.bincount(pg, weights=values[ps].astype(float), minlength=n_groups)

    def users(event_mask=None) -> np.ndarray:
        """Distinct users per group (among the events of ``event_mask``), with one hash pass serving every
        user metric of the request: over the (group, session) pairs when session metrics need those
        anyway (a session has one user, and there are fewer pairs than events), else over the events."""
        if "users" not in sess:
            n_u = prep.n_users
            if by_session:
                pg, ps = session_pairs()
                keys = pg * n_u + prep.session_users()[ps]
            else:
                keys = g.astype(np.int64) * n_u + prep.user[idx]
            codes, uniq = pd.factorize(keys) if len(keys) else (keys, keys)
            sess["users"] = (codes, uniq // n_u)
        codes, group_of = sess["users"]
        if event_mask is None:
            return np.bincount(group_of, minlength=n_groups).astype(float)
        if by_session:  # the pairs with an event of the mask
            event_mask = np.bincount(sess["codes"], weights=event_mask, minlength=len(codes)) > 0
        present = np.zeros(len(group_of), dtype=bool)
        present[codes[event_mask]] = True
        return np.bincount(group_of[present], minlength=n_groups).astype(float)

    def active_users(mask=None):
        m = prep.active_events(key_events)[idx]
        if mask is not None:
            m &= mask
        return users(m)

    def get(name: str) -> np.ndarray:
        if name in cache:
            return cache[name]
        canon = canonical_metric(name)
        if name in ctx.custom.metrics:
            v = _custom_metric(prep, idx, g, n_groups, ctx.custom.parameter(name))
        elif canon != name:
            v = get(canon)
        elif name == "eventCount":
            v = np.bincount(g, minlength=n_groups).astype(float)
        elif name == "totalUsers":
            v = users()
        elif name == "activeUsers":
            v = active_users()
        elif name == "newUsers":
            v = _count_event(["first_visit", "first_open"], distinct="user")
        elif name == "sessions":
            v = np.bincount(session_pairs()[0], minlength=n_groups).astype(float)
        elif name == "engagedSessions":
            v = per_session(prep.engaged_sessions(key_events))
        elif name == "engagementRate":
            v = _ratio(get("engagedSessions"), get("sessions"))
        elif name == "bounceRate":
            v = _ratio(get("sessions") - get("engagedSessions"), get("sessions"))
        elif name == "averageSessionDuration":
            st = prep.session_stats()
            v = _ratio(per_session((st["last"] - st["first"]) / 1e6), get("sessions"))
        elif name == "userEngagementDuration":
            ms = prep.frame["engagement_time_msec"].to_numpy()[idx]
            v = np.bincount(g, weights=ms.astype(float), minlength=n_groups) / 1000.0
        elif name == "eventValue":
            v = np.bincount(g, weights=prep.value[idx], minlength=n_groups)
        elif name == "eventCountPerUser":
            v = _ratio(get("eventCount"), get("activeUsers"))
        elif name == "eventsPerSession":
            v = _ratio(get("eventCount"), get("sessions"))
        elif name == "sessionsPerUser":
            v = _ratio(get("sessions"), get("activeUsers"))
        elif name == "screenPageViews":
            v = _count_event(["page_view", "screen_view"])
        elif name == "screenPageViewsPerSession":
            v = _ratio(get("screenPageViews"), get("sessions"))
        elif name == "screenPageViewsPerUser":
            v = _ratio(get("screenPageViews"), get("activeUsers"))
        elif name == "scrolledUsers":
            v = _count_event(["scroll"], distinct="user")
        elif name == "addToCarts":
            v = _count_event(["add_to_cart"])
        elif name == "checkouts":
            v = _count_event(["begin_checkout"])
        elif name == "ecommercePurchases":
            v = _count_event(["purchase"])
        elif name == "transactions":
            v = _count_event(TRANSACTION_EVENTS)
        elif name == "totalPurchasers":
            v = _count_event(["purchase"], distinct="user")
        elif name == "purchaserRate":
            v = _ratio(get("totalPurchasers"), get("activeUsers"))
        elif name == "transactionsPerPurchaser":
            v = _ratio(get("transactions"), get("totalPurchasers"))
        elif name in ("purchaseRevenue", "totalRevenue"):
            v = _count_event(TRANSACTION_EVENTS, weights=True)
        elif name == "averagePurchaseRevenue":
            v = _ratio(get("purchaseRevenue"), get("transactions"))
        elif name == "averagePurchaseRevenuePerUser":
            v = _ratio(get("purchaseRevenue"), get("activeUsers"))
        elif name == "averageRevenuePerUser":
            v = _ratio(get("totalRevenue"), get("activeUsers"))
        elif name == "keyEvents":
            v = np.zeros(n_groups)
            for ev, method in key_events.items():
                v = v + _key_event(ev, method)
        elif name == "sessionKeyEventRate":
            v = _ratio(per_session(_key_sessions(list(key_events))), get("sessions"))
        elif name == "userKeyEventRate":
            v = _ratio(active_users(_event_mask(list(key_events))), get("activeUsers"))
        elif name in _ROLLING:
            v = _rolling_users(prep, ctx, idx, g, n_groups, key_events, _ROLLING[name])
        elif name in _RATIOS:
            short, long_ = _RATIOS[name]
            v = _ratio(_rolling_users(prep, ctx, idx, g, n_groups, key_events, short),
                       _rolling_users(prep, ctx, idx, g, n_groups, key_events, long_))
        elif name in _ITEM_METRIC_EVENTS:
            v = _items_of_events(name)
        elif _split_event(name):
            head, ev = _split_event(name)
            known = ev in key_events
            if head == "keyEvents":
                v = _key_event(ev, key_events[ev]) if known else np.zeros(n_groups)
            elif head == "sessionKeyEventRate":
                v = _ratio(per_session(_key_sessions([ev] if known else [])), get("sessions"))
            else:
                v = _ratio(active_users(_event_mask([ev] if known else [])), get("activeUsers"))
        else:
            raise bad_metric(name)
        cache[name] = v
        return v

    def _event_mask(events: list[str]) -> np.ndarray:
        codes = [prep.event_code(e) for e in events]
        return np.isin(prep.event[idx], codes)

    def _key_sessions(events: list[str]) -> np.ndarray:
        has = np.zeros(prep.n_sessions, dtype=bool)
        has[prep.session[prep.event_mask(events)]] = True
        return has

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

    def _items_of_events(name: str) -> np.ndarray:
        items = prep.items
        if not len(items) or not len(idx):
            return np.zeros(n_groups)
        pos = np.full(prep.n, -1, dtype=np.int64)
        pos[idx] = np.arange(len(idx))
        at = pos[items["row"].to_numpy()]
        keep = at >= 0
        item_idx = np.flatnonzero(keep)
        return compute_item_metrics([name], prep, item_idx, g[at[keep]], n_groups)[name]

    return {n: get(n) for n in names}


def compute_item_metrics(names: list[str], prep: Prepared, item_idx: np.ndarray, g: np.ndarray,
                         n_groups: int) -> dict[str, np.ndarray]:
    """Item metrics (length n_groups) over the item rows ``item_idx`` grouped by ``g``: quantities, and
    price x quantity for itemRevenue, of the items of the metric's event (purchase, view_item, ...)."""
    items = prep.items
    out = {}
    for name in names:
        canon = canonical_metric(name)
        if canon == "totalUsers":  # not requestable with item dimensions; thresholding counts users per row
            users = prep.user[items["row"].to_numpy()[item_idx]]
            out[name] = _distinct_per_group(g, users, prep.n_users, n_groups)
            continue
        if canon not in _ITEM_METRIC_EVENTS:
            raise invalid(f"Please remove {name} to make the request compatible. The request's dimensions & "
                          "metrics are incompatible: item-scoped dimensions go only with item-scoped metrics.")
        rows = items["row"].to_numpy()[item_idx]
        m = prep.event[rows] == prep.event_code(_ITEM_METRIC_EVENTS[canon])
        qty = items["quantity"].to_numpy()[item_idx][m].astype(float)
        w = qty * items["price"].to_numpy()[item_idx][m] if canon == "itemRevenue" else qty
        out[name] = np.bincount(g[m], weights=w, minlength=n_groups)
    return out


def _custom_metric(prep: Prepared, idx, g, n_groups, param: str) -> np.ndarray:
    col = parameter_column(prep.frame, param)
    if col is None or not len(idx):
        return np.zeros(n_groups)
    s = prep.frame[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        nums = pd.to_numeric(pd.Series(np.asarray(s.array.categories, dtype=object)), errors="coerce")
        values = np.nan_to_num(nums.to_numpy(dtype=float))[np.maximum(s.array.codes, 0)]
        values = np.where(s.array.codes >= 0, values, 0.0)
    else:
        values = s.to_numpy(dtype=float)
    return np.bincount(g, weights=values[idx], minlength=n_groups)


def _rolling_users(prep: Prepared, ctx: MetricContext, idx, g, n_groups, key_events, days: int) -> np.ndarray:
    """Distinct active users over the ``days`` days ending on each row's last day (see the module doc)."""
    if not n_groups:
        return np.zeros(0)
    dims = [canonical_dimension(d) for d in ctx.dims]
    if any(d in ("dateHour", "dateHourMinute") for d in dims):
        raise unimplemented("The emulator does not model rolling active users by dateHour or dateHourMinute.")
    resolve = ctx.resolve or prep.resolver(key_events, ctx.custom)
    lo = ctx.lo if ctx.lo is not None else (int(prep.day[idx].min()) if len(idx) else 0)
    hi = ctx.hi if ctx.hi is not None else (int(prep.day[idx].max()) if len(idx) else 0)
    rep = ctx.rep if ctx.rep is not None else _representatives(idx, g, n_groups)
    time_dims = [d for d in dims if d in DATE_DIMENSIONS]
    other = [d for d in dims if d not in DATE_DIMENSIONS]
    # Each row's window end: the last day of the range its time dimensions' values cover.
    if time_dims:
        span = np.arange(lo, hi + 1)
        keys = list(zip(*[date_labels(d, span) for d in time_dims]))
        last = {}
        for day, key in zip(span.tolist(), keys):
            last[key] = day
        row_keys = list(zip(*[resolve(d)[1][resolve(d)[0][rep]] for d in time_dims]))
        end = np.array([last.get(k, hi) for k in row_keys], dtype=np.int64)
    else:
        end = np.full(n_groups, hi, dtype=np.int64)
    # Rows' other dimensions as one key; candidate events share a key with some row.
    ev_key, row_key = _combined_key(resolve, other, rep, prep.n)
    start = int(end.min()) - days + 1
    cand = prep.active_events(key_events) & (prep.day >= start) & (prep.day <= int(end.max()))
    if ctx.base is not None:
        cand &= ctx.base
    cand = np.flatnonzero(cand)
    if not len(cand):
        return np.zeros(n_groups)
    dense = pd.factorize(np.concatenate([ev_key[cand], row_key]))[0].astype(np.int64)
    cand_key, row_key = dense[:len(cand)], dense[len(cand):]
    # Distinct (key, user, day) triples, then every row whose key matches and whose window holds the day.
    span_d = int(end.max()) - start + 1
    trip = _unique((cand_key * prep.n_users + prep.user[cand]) * span_d + (prep.day[cand] - start))
    t_day = trip % span_d + start
    t_user = (trip // span_d) % prep.n_users
    t_key = trip // span_d // prep.n_users
    order = np.lexsort((end, row_key))
    sorted_comb = row_key[order] * (span_d + days + 1) + (end[order] - start)
    a = np.searchsorted(sorted_comb, t_key * (span_d + days + 1) + (t_day - start), side="left")
    b = np.searchsorted(sorted_comb, t_key * (span_d + days + 1) + (t_day - start + days - 1), side="right")
    counts = b - a
    rows = order[np.repeat(a, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))]
    users = np.repeat(t_user, counts)
    return _distinct_per_group(rows, users, prep.n_users, n_groups)


def _representatives(idx: np.ndarray, g: np.ndarray, n_groups: int) -> np.ndarray:
    rep = np.zeros(n_groups, dtype=np.int64)
    rep[g] = idx
    return rep


def _combined_key(resolve, dims: list[str], rep: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """One int64 key per event and per row over ``dims`` (0 everywhere without dimensions)."""
    key = np.zeros(n, dtype=np.int64)
    for d in dims:
        codes, labels = resolve(d)
        if (int(key.max(initial=0)) + 1) * len(labels) > 2**62:  # keep the combined key small: re-densify
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * len(labels) + codes
    return key, key[rep]


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


def fmt_values(values, mtype: str) -> list[str]:
    """``fmt_value`` over an array (integers without a Python call per value)."""
    v = np.asarray(values, dtype=float)
    if mtype == "TYPE_INTEGER":
        return np.rint(np.nan_to_num(v)).astype(np.int64).astype(str).tolist()
    return [fmt_value(x, mtype) for x in v.tolist()]


# ---- metadata --------------------------------------------------------------------------------------

def build_metadata(module, name: str, key_events, custom: CustomDefinitions | None = None):
    """A Metadata message (of ``module``: data_v1beta or data_v1alpha) listing what the emulator answers:
    the modelled dimensions and metrics (with their deprecated names), keyEvents:<event> and the key event
    rates per key event, and the property's registered custom definitions."""
    custom = custom or NO_CUSTOM
    md = module.Metadata(name=name)
    for info in DIMENSION_INFO.values():
        md.dimensions.append(module.DimensionMetadata(
            api_name=info.api_name, ui_name=info.ui_name, description=info.description, category=info.category,
            deprecated_api_names=list(info.deprecated)))
    md.dimensions.append(module.DimensionMetadata(api_name="dateRange", ui_name="Date range", category="Time",
                                                  description="The name of the date range of the row."))
    for info in custom.dimensions.values():
        if info.scope == "event":
            md.dimensions.append(module.DimensionMetadata(
                api_name=info.api_name, ui_name=info.ui_name, description=info.description, category="Custom",
                custom_definition=True))
    for info in METRIC_INFO.values():
        md.metrics.append(module.MetricMetadata(
            api_name=info.api_name, ui_name=info.ui_name, description=info.description, type_=info.type,
            category=info.category, deprecated_api_names=list(info.deprecated)))
    for ev in sorted(key_events):
        for head, old in KEY_EVENT_METRICS.items():
            base = METRIC_INFO[head]
            md.metrics.append(module.MetricMetadata(
                api_name=f"{head}:{ev}", ui_name=f"{base.ui_name} ({ev})", type_=base.type, category=base.category,
                description=f"{base.ui_name} for the key event {ev}.", custom_definition=True,
                deprecated_api_names=[f"{old}:{ev}"]))
    for info in custom.metrics.values():
        md.metrics.append(module.MetricMetadata(
            api_name=info.api_name, ui_name=info.ui_name, description=info.description, type_=info.type,
            category="Custom", custom_definition=True))
    return md


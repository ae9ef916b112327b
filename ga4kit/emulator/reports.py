"""runReport engine: GA4 core-report semantics over an EventStore frame.

The engine works on integer codes: every dimension is resolved to (codes per event, labels), a
report's groups are the combined codes, and metrics are bincounts over them. Distinct counts
(users, sessions) count distinct (group, user) pairs, so users are never summed across days or
segments, as in GA4. Requests and responses are handled as raw protobuf messages (``Type.pb()``):
building 10,000 rows through proto-plus wrappers would cost more than the report itself.

Supported dimensions: ``DIMENSIONS`` (plus ``dateRange``); metrics: ``METRICS`` plus
``keyEvents:<event_name>``. Unknown names are refused with GA4's wording.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from datetime import date, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import pandas as pd

from .errors import EmulatorError, invalid

SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"
MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
MAX_DIMENSIONS, MAX_METRICS, MAX_DATE_RANGES = 9, 10, 4

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
DATE_DIMENSIONS = ("date", "year", "month", "yearMonth", "week", "yearWeek", "isoWeek", "isoYear",
                   "isoYearIsoWeek", "day", "dayOfWeek", "dayOfWeekName")
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
_DOW = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_EPOCH = date(1970, 1, 1)
_RESERVED_RANGE = re.compile(r"^(date_range_|RESERVED_)")


def unsupported(message: str) -> EmulatorError:
    return EmulatorError(grpc.StatusCode.UNIMPLEMENTED, message)


def bad_dimension(name: str) -> EmulatorError:
    return invalid(f"Field {name} is not a valid dimension. For a list of valid dimensions and metrics, "
                   f"see {SCHEMA_URL}")


def bad_metric(name: str) -> EmulatorError:
    return invalid(f"Field {name} is not a valid metric. For a list of valid dimensions and metrics, "
                   f"see {SCHEMA_URL}")


def is_metric(name: str) -> bool:
    return name in METRICS or (name.startswith("keyEvents:") and len(name) > len("keyEvents:"))


# ---- dates ----------------------------------------------------------------------------------

_DAYS_AGO = re.compile(r"^(\d+)daysAgo$")


def resolve_date(text: str, today: date) -> date:
    """GA4 date strings: YYYY-MM-DD, NdaysAgo, yesterday, today (today = the property's today)."""
    t = (text or "").strip()
    if t == "today":
        return today
    if t == "yesterday":
        return today - timedelta(days=1)
    m = _DAYS_AGO.match(t)
    if m:
        return today - timedelta(days=int(m.group(1)))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        try:
            return date.fromisoformat(t)
        except ValueError:
            pass
    raise invalid(f"Invalid date '{text}'. Dates must be in the format YYYY-MM-DD, NdaysAgo, yesterday, "
                  "or today.")


def resolve_ranges(date_ranges, today: date) -> list[tuple[str, int, int]]:
    """[(name, first day, last day)] with days as integers since 1970-01-01 (local)."""
    if len(date_ranges) > MAX_DATE_RANGES:
        raise invalid(f"Requests are limited to {MAX_DATE_RANGES} dateRanges; this request has "
                      f"{len(date_ranges)}.")
    out = []
    for i, dr in enumerate(date_ranges):
        if dr.name and _RESERVED_RANGE.match(dr.name):
            raise invalid(f"Date range name '{dr.name}' is invalid: names cannot begin with 'date_range_' "
                          "or 'RESERVED_'.")
        if not dr.start_date or not dr.end_date:
            raise invalid("A date range needs both start_date and end_date.")
        start, end = resolve_date(dr.start_date, today), resolve_date(dr.end_date, today)
        if start > end:
            raise invalid(f"Invalid date range: start_date {start.isoformat()} is after end_date "
                          f"{end.isoformat()}.")
        out.append((dr.name or f"date_range_{i}", (start - _EPOCH).days, (end - _EPOCH).days))
    return out


def _date_labels(name: str, days: np.ndarray) -> np.ndarray:
    """Labels of a date dimension for integer days (GA4 formats)."""
    ds = [_EPOCH + timedelta(days=int(d)) for d in days]
    if name == "date":
        v = [d.strftime("%Y%m%d") for d in ds]
    elif name == "year":
        v = [f"{d.year:04d}" for d in ds]
    elif name == "month":
        v = [f"{d.month:02d}" for d in ds]
    elif name == "yearMonth":
        v = [f"{d.year:04d}{d.month:02d}" for d in ds]
    elif name == "day":
        v = [f"{d.day:02d}" for d in ds]
    elif name in ("week", "yearWeek"):
        # GA4 weeks start on Sunday and January 1st is always in week 01.
        v = [f"{_ga_week(d):02d}" for d in ds]
        if name == "yearWeek":
            v = [f"{d.year:04d}{w}" for d, w in zip(ds, v)]
    elif name == "isoWeek":
        v = [f"{d.isocalendar()[1]:02d}" for d in ds]
    elif name == "isoYear":
        v = [f"{d.isocalendar()[0]:04d}" for d in ds]
    elif name == "isoYearIsoWeek":
        v = [f"{d.isocalendar()[0]:04d}{d.isocalendar()[1]:02d}" for d in ds]
    elif name == "dayOfWeek":
        v = [str((d.weekday() + 1) % 7) for d in ds]
    elif name == "dayOfWeekName":
        v = [_DOW[(d.weekday() + 1) % 7] for d in ds]
    else:  # pragma: no cover
        raise bad_dimension(name)
    return np.array(v, dtype=object)


def _ga_week(d: date) -> int:
    jan1 = date(d.year, 1, 1)
    first_sunday_start = jan1 - timedelta(days=(jan1.weekday() + 1) % 7)
    return (d - first_sunday_start).days // 7 + 1


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
            out = _compress(self.day - lo, _date_labels(name, np.arange(lo, hi + 1)))
        else:
            raise bad_dimension(name)
        with self._lock:
            self._dims[name] = out
        return out


# ---- filters --------------------------------------------------------------------------------

def _leaf_hits(flt, values: np.ndarray, kind: str, field: str | None = None) -> np.ndarray:
    """Evaluate one Filter (raw pb; v1beta or v1alpha, incl. funnel field/parameter filters) over an
    array of values (labels or metric values)."""
    field = field or flt.field_name
    which = flt.WhichOneof("one_filter")
    if which == "string_filter":
        sf = flt.string_filter
        if kind == "metric":
            raise invalid(f"A string filter cannot be applied to metric {field}.")
        s = pd.Series(values, dtype=object).astype(str)
        target = sf.value
        mt = sf.match_type or 1  # unspecified -> EXACT
        flags = 0 if sf.case_sensitive else re.IGNORECASE
        if mt in (5, 6):
            try:
                rx = re.compile(target, flags)
            except re.error as e:
                raise invalid(f"Invalid regular expression '{target}' in the filter on {field}: {e}.")
            test = rx.fullmatch if mt == 5 else rx.search
            return np.array([bool(test(v)) for v in s], dtype=bool)
        if not sf.case_sensitive:
            s, target = s.str.lower(), target.lower()
        if mt == 1:
            return (s == target).to_numpy()
        if mt == 2:
            return s.str.startswith(target).to_numpy()
        if mt == 3:
            return s.str.endswith(target).to_numpy()
        if mt == 4:
            return s.str.contains(target, regex=False).to_numpy()
        raise invalid(f"Unsupported string match type {mt}.")
    if which == "in_list_filter":
        lf = flt.in_list_filter
        if not lf.values:
            raise invalid(f"The in-list filter on {field} needs at least one value.")
        s = pd.Series(values, dtype=object).astype(str)
        vals = list(lf.values)
        if not lf.case_sensitive:
            s, vals = s.str.lower(), [v.lower() for v in vals]
        return s.isin(vals).to_numpy()
    if which in ("numeric_filter", "between_filter"):
        nums = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)

        def num(v):
            return float(getattr(v, v.WhichOneof("one_value"))) if v.WhichOneof("one_value") else 0.0
        with np.errstate(invalid="ignore"):
            if which == "between_filter":
                bf = flt.between_filter
                return (nums >= num(bf.from_value)) & (nums <= num(bf.to_value))
            nf = flt.numeric_filter
            v = num(nf.value)
            ops = {1: np.equal, 2: np.less, 3: np.less_equal, 4: np.greater, 5: np.greater_equal}
            if nf.operation not in ops:
                raise invalid(f"The numeric filter on {field} needs an operation.")
            return ops[nf.operation](nums, v)
    if which == "empty_filter":
        return np.array([v in ("", "(not set)") for v in values], dtype=bool)
    raise invalid(f"The filter on {field} has no condition.")


def eval_filter(expr, resolve, kind: str) -> np.ndarray:
    """Evaluate a FilterExpression (raw pb). ``resolve(field)`` -> (codes, values) and the mask is
    ``hits[codes]``: predicates run over the few distinct values, not over every event."""
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        exprs = list(getattr(expr, which).expressions)
        if not exprs:
            raise invalid(f"An {which} filter needs at least one expression.")
        masks = [eval_filter(e, resolve, kind) for e in exprs]
        return np.logical_and.reduce(masks) if which == "and_group" else np.logical_or.reduce(masks)
    if which == "not_expression":
        return ~eval_filter(expr.not_expression, resolve, kind)
    if which == "filter":
        flt = expr.filter
        if not flt.field_name:
            raise invalid("A filter needs a field_name.")
        codes, values = resolve(flt.field_name)
        return _leaf_hits(flt, values, kind)[codes]
    raise invalid("A filter expression is empty.")


def filter_fields(expr) -> list[str]:
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        return [f for e in getattr(expr, which).expressions for f in filter_fields(e)]
    if which == "not_expression":
        return filter_fields(expr.not_expression)
    if which == "filter":
        return [expr.filter.field_name]
    return []


# ---- metrics --------------------------------------------------------------------------------

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


# ---- the engine -----------------------------------------------------------------------------

class ReportEngine:
    """Runs RunReportRequests (raw pb) against view frames. One engine serves every property."""

    def __init__(self, cache_size: int = 8):
        self._cache: OrderedDict[tuple, Prepared] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def prepare(self, frame: pd.DataFrame, tz: str) -> Prepared:
        # Keyed by the frame object (kept alive by the cache, so its id cannot be reused).
        key = (id(frame), tz)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and hit.frame is frame:
                self._cache.move_to_end(key)
                return hit
        prep = Prepared(frame, tz)
        with self._lock:
            self._cache[key] = prep
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return prep

    def run(self, req, frame: pd.DataFrame, *, time_zone: str, currency: str, key_events: dict[str, str],
            today: date, response_type):
        """Execute ``req`` (a raw RunReportRequest pb); returns (response pb, events scanned)."""
        # ---- validation (before touching data, like GA4)
        if req.HasField("cohort_spec") or len(req.comparisons):
            raise unsupported("Cohort and comparison reports are not supported by the emulator.")
        dim_names = [d.name for d in req.dimensions]
        met_names = [m.name for m in req.metrics]
        if len(dim_names) > MAX_DIMENSIONS:
            raise invalid(f"Requests are limited to {MAX_DIMENSIONS} dimensions; this request has "
                          f"{len(dim_names)}.")
        if len(met_names) > MAX_METRICS:
            raise invalid(f"Requests are limited to {MAX_METRICS} metrics; this request has {len(met_names)}.")
        for d in req.dimensions:
            if d.HasField("dimension_expression"):
                raise unsupported("Dimension expressions are not supported by the emulator.")
            if d.name not in DIMENSIONS and d.name != "dateRange":
                raise bad_dimension(d.name)
        for m in req.metrics:
            if m.expression:
                raise unsupported("Metric expressions are not supported by the emulator.")
            if not is_metric(m.name):
                raise bad_metric(m.name)
        for seen, kind in ((dim_names, "dimension"), (met_names, "metric")):
            dup = sorted({n for n in seen if seen.count(n) > 1})
            if dup:
                raise invalid(f"Duplicate {kind} names are not allowed: {', '.join(dup)}.")
        if not dim_names and not met_names:
            raise invalid("A report needs at least one dimension or metric.")
        if req.limit < 0 or req.limit > MAX_LIMIT:
            raise invalid(f"limit must be positive and at most {MAX_LIMIT}; got {req.limit}.")
        if req.offset < 0:
            raise invalid(f"offset must not be negative; got {req.offset}.")
        if not len(req.date_ranges):
            raise invalid("At least one date range is required.")
        ranges = resolve_ranges(req.date_ranges, today)
        if req.HasField("dimension_filter"):
            for f in filter_fields(req.dimension_filter):
                if is_metric(f):
                    raise invalid(f"Metric {f} cannot be used in a dimension filter; use metric_filter.")
                if f not in DIMENSIONS:
                    raise bad_dimension(f)
        if req.HasField("metric_filter"):
            for f in filter_fields(req.metric_filter):
                if f not in met_names:
                    if f in DIMENSIONS:
                        raise invalid(f"Dimension {f} cannot be used in a metric filter; use dimension_filter.")
                    raise invalid(f"Metric {f} used in metric_filter must be one of the request's metrics.")
        for ob in req.order_bys:
            which = ob.WhichOneof("one_order_by")
            if which == "metric" and ob.metric.metric_name not in met_names:
                raise invalid(f"OrderBy metric '{ob.metric.metric_name}' is not one of the request's metrics.")
            if which == "dimension" and ob.dimension.dimension_name not in dim_names + ["dateRange"]:
                raise invalid(f"OrderBy dimension '{ob.dimension.dimension_name}' is not one of the request's "
                              "dimensions.")
            if which == "pivot":
                raise invalid("Pivot order bys are only valid in pivot reports.")

        # Like GA4, several date ranges add a dateRange dimension (at the end unless requested).
        out_dims = list(dim_names)
        if len(ranges) > 1 and "dateRange" not in out_dims:
            out_dims.append("dateRange")
        group_dims = [d for d in out_dims if d != "dateRange"]

        prep = self.prepare(frame, time_zone)
        base = np.ones(prep.n, dtype=bool)
        if req.HasField("dimension_filter"):
            base &= eval_filter(req.dimension_filter, prep.dimension, "dimension")

        vis_metrics = [m.name for m in req.metrics if not m.invisible]
        all_metrics = met_names
        frames, totals, scanned = [], [], 0
        for rname, lo, hi in ranges:
            sel = base & (prep.day >= lo) & (prep.day <= hi)
            scanned += int(((prep.day >= lo) & (prep.day <= hi)).sum())
            idx = np.flatnonzero(sel)
            g, n_groups, dim_cols = self._groups(prep, idx, group_dims)
            mets = compute_metrics(all_metrics, prep, idx, g, n_groups, key_events)
            part = pd.DataFrame(dim_cols, index=pd.RangeIndex(n_groups))  # no dimensions: still n_groups rows
            if "dateRange" in out_dims:
                part["dateRange"] = rname
            for m in all_metrics:
                part[m] = mets[m]
            frames.append(part)
            if req.metric_aggregations:
                tot = compute_metrics(all_metrics, prep, idx, np.zeros(len(idx), dtype=np.int64), 1, key_events)
                totals.append((rname, {m: float(tot[m][0]) for m in all_metrics}))
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for d in out_dims:
            if d not in table:
                table[d] = pd.Series(dtype=object)

        if len(table) and all_metrics and not req.keep_empty_rows:
            table = table[(table[all_metrics] != 0).any(axis=1)]
        if req.HasField("metric_filter") and len(table):
            table = table[eval_filter(req.metric_filter,
                                      lambda f: (np.arange(len(table)), table[f].to_numpy()), "metric")]
        table = self._order(table, req, out_dims, vis_metrics)

        resp = response_type.pb()()
        for d in out_dims:
            resp.dimension_headers.add().name = d
        mtypes = {m: ("TYPE_INTEGER" if m.startswith("keyEvents:") else METRICS[m]) for m in all_metrics}
        for m in vis_metrics:
            h = resp.metric_headers.add()
            h.name = m
            h.type_ = _metric_type_value(mtypes[m])
        resp.row_count = len(table)
        limit = req.limit or DEFAULT_LIMIT
        page = table.iloc[req.offset:req.offset + limit]
        dim_arrays = [page[d].to_numpy(dtype=object) for d in out_dims]
        met_arrays = [[fmt_value(v, mtypes[m]) for v in page[m].to_numpy(dtype=float)] for m in vis_metrics]
        for i in range(len(page)):
            row = resp.rows.add()
            for arr in dim_arrays:
                row.dimension_values.add().value = arr[i]
            for arr in met_arrays:
                row.metric_values.add().value = arr[i]

        aggs = set(req.metric_aggregations)
        if 1 in aggs:  # TOTAL: computed from the events, so users are distinct, not summed
            for rname, tot in totals:
                self._agg_row(resp.totals, out_dims, rname, "RESERVED_TOTAL",
                              [fmt_value(tot[m], mtypes[m]) for m in vis_metrics])
        for code, field, label, fn in ((6, resp.maximums, "RESERVED_MAX", np.max),
                                       (5, resp.minimums, "RESERVED_MIN", np.min)):
            if code not in aggs:
                continue
            for rname, _, _ in ranges:
                sub = table[table["dateRange"] == rname] if "dateRange" in table else table
                vals = [fmt_value(float(fn(sub[m].to_numpy())) if len(sub) else 0.0, mtypes[m])
                        for m in vis_metrics]
                self._agg_row(field, out_dims, rname, label, vals)
        md = resp.metadata
        md.currency_code = req.currency_code or currency
        md.time_zone = time_zone
        md.subject_to_thresholding = False
        if not len(table):
            md.empty_reason = "No data for the requested dates and filters."
        resp.kind = "analyticsData#runReport"
        return resp, scanned

    @staticmethod
    def _agg_row(field, out_dims, rname, label, values):
        row = field.add()
        for d in out_dims:
            row.dimension_values.add().value = rname if d == "dateRange" else label
        for v in values:
            row.metric_values.add().value = v

    @staticmethod
    def _groups(prep: Prepared, idx: np.ndarray, dims: list[str]):
        """Dense group codes for the events ``idx`` and each group's dimension labels."""
        n = len(idx)
        if not dims:
            return np.zeros(n, dtype=np.int64), (1 if n else 0), {}
        key = np.zeros(n, dtype=np.int64)
        size = 1
        resolved = []
        for d in dims:
            codes, labels = prep.dimension(d)
            c = codes[idx]
            resolved.append((d, c, labels))
            key = key * len(labels) + c
            size *= len(labels)
            if size > 50_000_000:  # keep the combined key small: re-densify
                key, uniq = pd.factorize(key)
                key = key.astype(np.int64)
                size = max(len(uniq), 1)
        if size <= 4 * max(n, 1) + 1024:
            present = np.bincount(key, minlength=size) > 0
            remap = np.cumsum(present) - 1
            g = remap[key]
            n_groups = int(present.sum())
        else:
            g, uniq = pd.factorize(key)
            g = g.astype(np.int64)
            n_groups = len(uniq)
        rep = np.empty(n_groups, dtype=np.int64)
        rep[g] = np.arange(n)  # any event of the group carries its labels
        cols = {d: labels[c[rep]] for d, c, labels in resolved}
        return g, n_groups, cols

    @staticmethod
    def _order(table: pd.DataFrame, req, out_dims: list[str], vis_metrics: list[str]) -> pd.DataFrame:
        if not len(table):
            return table
        keys, asc = [], []
        work = table.copy()
        for i, ob in enumerate(req.order_bys):
            which = ob.WhichOneof("one_order_by")
            col = f"__k{i}"
            if which == "metric":
                work[col] = work[ob.metric.metric_name].astype(float)
            elif which == "dimension":
                s = work[ob.dimension.dimension_name].astype(str)
                ot = ob.dimension.order_type
                if ot == 2:
                    s = s.str.lower()
                elif ot == 3:
                    # Non-numeric values sort below every number.
                    s = pd.to_numeric(s, errors="coerce").fillna(-np.inf)
                work[col] = s
            else:
                continue
            keys.append(col)
            asc.append(not ob.desc)
        if not keys and vis_metrics:
            keys.append(vis_metrics[0])
            asc.append(False)
        # Ties break on the dimensions so pages are stable between calls.
        for d in out_dims:
            keys.append(d)
            asc.append(True)
        work = work.sort_values(keys, ascending=asc, kind="stable")
        return table.loc[work.index]


def _metric_type_value(name: str) -> int:
    return {"TYPE_INTEGER": 1, "TYPE_FLOAT": 2, "TYPE_CURRENCY": 9}[name]

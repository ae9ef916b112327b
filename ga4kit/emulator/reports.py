"""The runReport engine: GA4 core-report semantics over an EventStore frame.

``ReportEngine.run`` takes a request in three steps, as GA4 does:

- ``validate``: every check that needs no data (names, with the property's custom definitions; limits,
  date ranges, filters' fields, order bys, the currency code, item-scope compatibility), giving a
  ``ReportPlan``; a metric filter's metrics the request does not ask for join the plan as extra metrics
  (computed, not returned), and a limit above 250,000 is capped, as GA4;
- ``compute``: filter the events (or the items of ecommerce events for an item-scoped report), group them
  by the dimensions, compute the metrics per date range, drop empty rows, apply the metric filter and
  order the rows;
- ``respond``: page the rows into a RunReportResponse with totals, maximums, minimums and metadata
  (metric values formatted column-wise, amounts converted to the requested currency, custom metrics typed
  by their unit; thresholding and the "(other)" row from ``ResponseNotes``).

``DataService`` runs the three steps itself, with thresholding and the "(other)" row in between
(``report_limits.py``); ``run`` is the plain pipeline.

Requests and responses are handled as raw protobuf messages (``Type.pb()``): building 10,000 rows through
proto-plus wrappers would cost more than the report itself. Dimensions and metrics live in
``dimensions.py``, filter expressions in ``filters.py``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from .currency import check_code
from .dates import resolve_ranges
from .dimensions import (METRIC_TYPE_VALUES, NO_CUSTOM, CustomDefinitions, MetricContext, Prepared,
                         check_compatibility, check_dimension, check_metric, compute_item_metrics, compute_metrics,
                         dimension_scope, fmt_value, fmt_values, is_dimension, is_metric, metric_type)
from .errors import invalid, unimplemented
from .filters import eval_filter, filter_fields

MAX_LIMIT = 250_000
DEFAULT_LIMIT = 10_000
MAX_DIMENSIONS, MAX_METRICS = 9, 10
# MetricAggregation values: TOTAL, MINIMUM, MAXIMUM.
_TOTAL, _MINIMUM, _MAXIMUM = 1, 5, 6


@dataclass
class ReportPlan:
    """A validated request: what to compute and how to answer."""

    req: Any  # the raw RunReportRequest
    dims: list[str]  # requested dimensions
    metrics: list[str]  # every metric computed: the requested ones (invisible included), then extras
    ranges: list[tuple[str, int, int]]  # (name, first day, last day)
    out_dims: list[str] = field(init=False)  # the response's dimensions
    visible: list[str] = field(init=False)  # the response's metrics
    requested: list[str] = field(init=False)  # the request's own metrics
    currency_factor: float = 1.0  # applied to currency metrics in the response (currency_code)
    types: dict[str, str] = field(default_factory=dict)  # MetricType names of metrics outside the registry
    custom: CustomDefinitions = NO_CUSTOM  # the property's registered custom definitions

    def __post_init__(self) -> None:
        # Like GA4, several date ranges add a dateRange dimension (at the end unless requested).
        self.out_dims = list(self.dims)
        if len(self.ranges) > 1 and "dateRange" not in self.out_dims:
            self.out_dims.append("dateRange")
        self.visible = [m.name for m in self.req.metrics if not m.invisible]
        self.requested = list(self.metrics)

    def add_metric(self, name: str) -> None:
        """Compute a metric the request did not ask for (a metric filter's, thresholding's user count)."""
        if name not in self.metrics:
            self.metrics.append(name)

    def metric_type(self, name: str) -> str:
        return self.types.get(name) or metric_type(name, self.custom)

    def filter_dims(self) -> list[str]:
        return filter_fields(self.req.dimension_filter) if self.req.HasField("dimension_filter") else []

    def item_scoped(self) -> bool:
        """Rows are items (not events): an item-scoped dimension is in the rows or the dimension filter."""
        return any(dimension_scope(d) == "item" for d in self.group_dims + self.filter_dims())

    def drop_extra_rows(self, table: pd.DataFrame) -> pd.DataFrame:
        """Without the rows that only the extra metrics kept (all the request's own metrics are 0)."""
        if (len(table) and self.requested and len(self.metrics) > len(self.requested)
                and not self.req.keep_empty_rows):
            return table[(table[self.requested] != 0).any(axis=1)]
        return table

    @property
    def group_dims(self) -> list[str]:
        return [d for d in self.out_dims if d != "dateRange"]


@dataclass
class ResponseNotes:
    """What the response's metadata says about how the rows were made."""

    thresholded: bool = False  # subject_to_thresholding
    other_row: bool = False  # data_loss_from_other_row


@dataclass
class ReportResult:
    """The computed rows (one column per dimension and metric) and, when asked for, the totals per range."""

    table: pd.DataFrame
    totals: list[tuple[str, dict[str, float]]]
    scanned: int  # events in the requested date ranges (for the token cost)


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
            today: date, response_type, custom: CustomDefinitions | None = None):
        """Execute ``req`` (a raw RunReportRequest pb); returns (response pb, events scanned).
        ``custom``: the property's registered custom dimensions and metrics."""
        plan = self.validate(req, today, custom)  # before touching data, like GA4
        result = self.compute(plan, self.prepare(frame, time_zone), key_events)
        result.table = plan.drop_extra_rows(result.table)
        return self.respond(plan, result, response_type, time_zone=time_zone, currency=currency), result.scanned

    # ----------------------------------------------------------------- validate
    def validate(self, req, today: date, custom: CustomDefinitions | None = None) -> ReportPlan:
        """Every check that needs no data; INVALID_ARGUMENT (or UNIMPLEMENTED) with GA4's wording."""
        if req.HasField("cohort_spec") or len(req.comparisons):
            raise unimplemented("Cohort and comparison reports are not supported by the emulator.")
        dims = [d.name for d in req.dimensions]
        metrics = [m.name for m in req.metrics]
        custom = custom or NO_CUSTOM
        self._check_names(req, dims, metrics, custom)
        check_paging(req)
        if not len(req.date_ranges):
            raise invalid("At least one date range is required.")
        ranges = resolve_ranges(req.date_ranges, today)
        extra = self._check_filters(req, metrics, custom)
        self._check_order_bys(req, dims, metrics)
        if req.currency_code:
            check_code(req.currency_code)
        plan = ReportPlan(req, dims, metrics, ranges, custom=custom)
        for m in extra:
            plan.add_metric(m)
        # Item-scoped dimensions go only with item-scoped metrics (a metric filter's included).
        check_compatibility(plan.group_dims, plan.metrics, plan.filter_dims())
        return plan

    @staticmethod
    def _check_names(req, dims: list[str], metrics: list[str], custom: CustomDefinitions = NO_CUSTOM) -> None:
        ReportEngine.check_fields(req, dims, metrics, custom)
        if not dims and not metrics:
            raise invalid("A report needs at least one dimension or metric.")

    @staticmethod
    def check_fields(req, dims: list[str], metrics: list[str], custom: CustomDefinitions = NO_CUSTOM) -> None:
        """What every report kind (core, pivot) checks of its dimensions and metrics: the limits, the
        names, no expressions, no duplicates."""
        if len(dims) > MAX_DIMENSIONS:
            raise invalid(f"Requests are limited to {MAX_DIMENSIONS} dimensions; this request has {len(dims)}.")
        if len(metrics) > MAX_METRICS:
            raise invalid(f"Requests are limited to {MAX_METRICS} metrics; this request has {len(metrics)}.")
        for d in req.dimensions:
            if d.HasField("dimension_expression"):
                raise unimplemented("Dimension expressions are not supported by the emulator.")
            if d.name != "dateRange":
                check_dimension(d.name, custom)
        for m in req.metrics:
            if m.expression:
                raise unimplemented("Metric expressions are not supported by the emulator.")
            check_metric(m.name, custom)
        for seen, kind in ((dims, "dimension"), (metrics, "metric")):
            dup = sorted({n for n in seen if seen.count(n) > 1})
            if dup:
                raise invalid(f"Duplicate {kind} names are not allowed: {', '.join(dup)}.")

    @staticmethod
    def _check_filters(req, metrics: list[str], custom: CustomDefinitions = NO_CUSTOM) -> list[str]:
        """Check the filters' fields; returns the metrics the metric filter needs beyond the request's.
        GA4 accepts a metric filter on a metric the request does not ask for (Google's own
        run_report_with_dimension_and_metric_filters snippet does it): it is computed, not returned."""
        check_dimension_filter(req, custom)
        extra: list[str] = []
        if req.HasField("metric_filter"):
            for f in filter_fields(req.metric_filter):
                if f not in metrics:
                    if f == "dateRange" or is_dimension(f, custom):
                        raise invalid(f"Dimension {f} cannot be used in a metric filter; use dimension_filter.")
                    check_metric(f, custom)
                    if f not in extra:
                        extra.append(f)
        return extra

    @staticmethod
    def _check_order_bys(req, dims: list[str], metrics: list[str]) -> None:
        for ob in req.order_bys:
            which = ob.WhichOneof("one_order_by")
            if which == "metric" and ob.metric.metric_name not in metrics:
                raise invalid(f"OrderBy metric '{ob.metric.metric_name}' is not one of the request's metrics.")
            if which == "dimension" and ob.dimension.dimension_name not in dims + ["dateRange"]:
                raise invalid(f"OrderBy dimension '{ob.dimension.dimension_name}' is not one of the request's "
                              "dimensions.")
            if which == "pivot":
                raise invalid("Pivot order bys are only valid in pivot reports.")

    # ----------------------------------------------------------------- compute
    def compute(self, plan: ReportPlan, prep: Prepared, key_events: dict[str, str]) -> ReportResult:
        """The report's rows, filtered and ordered, and the totals per date range when asked for.

        Rows are events, or the items of ecommerce events when an item-scoped dimension is asked for (in
        the rows or the filter); item metrics of an event-scoped report count the items of its events."""
        req = plan.req
        metrics = plan.metrics
        item_scope = plan.item_scoped()
        resolve = prep.resolver(key_events, plan.custom)
        if item_scope:
            resolve = prep.item_resolver(resolve)
            rows = prep.items["row"].to_numpy()
            days, n_rows = prep.day[rows], len(rows)
        else:
            days, n_rows = prep.day, prep.n
        base = np.ones(n_rows, dtype=bool)
        if req.HasField("dimension_filter"):
            base &= eval_filter(req.dimension_filter, resolve, "dimension")
        frames, totals, scanned = [], [], 0
        for rname, lo, hi in plan.ranges:
            in_range = (days >= lo) & (days <= hi)
            scanned += int(((prep.day >= lo) & (prep.day <= hi)).sum()) if item_scope else int(in_range.sum())
            idx = np.flatnonzero(base & in_range)
            g, n_groups, dim_cols, rep = self._groups(resolve, idx, plan.group_dims)
            mets = self._metrics(plan, prep, key_events, idx, g, n_groups, item_scope,
                                 MetricContext(plan.custom, base, lo, hi, tuple(plan.group_dims), resolve, rep),
                                 metrics)
            part = pd.DataFrame(dim_cols, index=pd.RangeIndex(n_groups))  # no dimensions: still n_groups rows
            if "dateRange" in plan.out_dims:
                part["dateRange"] = rname
            for m in metrics:
                part[m] = mets[m]
            frames.append(part)
            if req.metric_aggregations:
                one = np.zeros(len(idx), dtype=np.int64)
                tot = self._metrics(plan, prep, key_events, idx, one, 1, item_scope,
                                    MetricContext(plan.custom, base, lo, hi, (), resolve, idx[:1]))
                totals.append((rname, {m: float(tot[m][0]) for m in plan.metrics}))
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for d in plan.out_dims:
            if d not in table:
                table[d] = pd.Series(dtype=object)
        if len(table) and plan.metrics and not req.keep_empty_rows:
            table = table[(table[plan.metrics] != 0).any(axis=1)]
        if req.HasField("metric_filter") and len(table):
            table = table[eval_filter(req.metric_filter,
                                      lambda f: (np.arange(len(table)), table[f].to_numpy()), "metric")]
        return ReportResult(self._order(table, req, plan.out_dims, plan.visible), totals, scanned)

    @staticmethod
    def _metrics(plan: ReportPlan, prep: Prepared, key_events, idx, g, n_groups, item_scope, ctx, metrics=None):
        metrics = metrics or plan.metrics
        if item_scope:
            return compute_item_metrics(metrics, prep, idx, g, n_groups)
        return compute_metrics(metrics, prep, idx, g, n_groups, key_events, ctx=ctx)

    # ----------------------------------------------------------------- respond
    def respond(self, plan: ReportPlan, result: ReportResult, response_type, *, time_zone: str, currency: str,
                notes: ResponseNotes | None = None):
        """The RunReportResponse (raw pb of ``response_type``) for one page of the computed rows.
        A response type without ``metadata`` (the realtime one) gets none."""
        req, table, out_dims, visible = plan.req, result.table, plan.out_dims, plan.visible
        mtypes = {m: plan.metric_type(m) for m in plan.metrics}
        fmt = self._formatter(plan, mtypes)
        resp = response_type.pb()()
        for d in out_dims:
            resp.dimension_headers.add().name = d
        for m in visible:
            h = resp.metric_headers.add()
            h.name = m
            h.type_ = METRIC_TYPE_VALUES[mtypes[m]]
        resp.row_count = len(table)
        # GA4 caps the page at 250,000 rows whatever the limit asks for.
        limit = min(req.limit or DEFAULT_LIMIT, MAX_LIMIT)
        offset = getattr(req, "offset", 0)
        page = table.iloc[offset:offset + limit]
        dim_arrays = [page[d].to_numpy(dtype=object) for d in out_dims]
        met_arrays = [self._format_column(plan, page[m].to_numpy(dtype=float), mtypes[m]) for m in visible]
        for i in range(len(page)):
            row = resp.rows.add()
            for arr in dim_arrays:
                row.dimension_values.add().value = arr[i]
            for arr in met_arrays:
                row.metric_values.add().value = arr[i]

        aggs = set(req.metric_aggregations)
        if _TOTAL in aggs:  # computed from the events, so users are distinct, not summed
            for rname, tot in result.totals:
                self._agg_row(resp.totals, out_dims, rname, "RESERVED_TOTAL", [fmt(tot[m], m) for m in visible])
        for code, rows, label, fn in ((_MAXIMUM, resp.maximums, "RESERVED_MAX", np.max),
                                      (_MINIMUM, resp.minimums, "RESERVED_MIN", np.min)):
            if code not in aggs:
                continue
            for rname, _, _ in plan.ranges:
                sub = table[table["dateRange"] == rname] if "dateRange" in table else table
                vals = [fmt(float(fn(sub[m].to_numpy())) if len(sub) else 0.0, m) for m in visible]
                self._agg_row(rows, out_dims, rname, label, vals)
        if "metadata" in type(resp).DESCRIPTOR.fields_by_name:
            fill_metadata(resp.metadata, req, time_zone=time_zone, currency=currency, notes=notes,
                          empty=not len(table))
        resp.kind = "analyticsData#runReport"
        return resp

    @staticmethod
    def _format_column(plan: ReportPlan, values: np.ndarray, mtype: str) -> list[str]:
        """A column of metric values -> response strings (vectorised), currency metrics converted."""
        if mtype == "TYPE_CURRENCY" and plan.currency_factor != 1:
            values = values * plan.currency_factor
        return fmt_values(values, mtype)

    @staticmethod
    def _formatter(plan: ReportPlan, mtypes: dict[str, str]):
        """Value -> response string, converting currency metrics to the requested currency."""
        def fmt(v: float, m: str) -> str:
            mtype = mtypes[m]
            if mtype == "TYPE_CURRENCY":
                v = v * plan.currency_factor
            return fmt_value(v, mtype)
        return fmt

    @staticmethod
    def _agg_row(rows, out_dims, rname, label, values):
        row = rows.add()
        for d in out_dims:
            row.dimension_values.add().value = rname if d == "dateRange" else label
        for v in values:
            row.metric_values.add().value = v


    @staticmethod
    def _groups(resolve, idx: np.ndarray, dims: list[str]):
        """Dense group codes for the rows ``idx``, each group's dimension labels and one row of each group.
        ``resolve(name) -> (codes, labels)`` (or a Prepared, whose ``dimension`` is used)."""
        if isinstance(resolve, Prepared):
            resolve = resolve.dimension
        n = len(idx)
        if not dims:
            return np.zeros(n, dtype=np.int64), (1 if n else 0), {}, idx[:1]
        key = np.zeros(n, dtype=np.int64)
        size = 1
        resolved = []
        for d in dims:
            codes, labels = resolve(d)
            c = codes[idx]
            resolved.append((d, c, labels))
            if size * len(labels) > 50_000_000:  # keep the combined key small: re-densify
                key, uniq = pd.factorize(key)
                key = key.astype(np.int64)
                size = max(len(uniq), 1)
            key = key * len(labels) + c
            size *= len(labels)
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
        rep[g] = np.arange(n)  # any row of the group carries its labels
        cols = {d: labels[c[rep]] for d, c, labels in resolved}
        return g, n_groups, cols, idx[rep]

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


# ---------------------------------------------------------------------------- shared request rules
def check_paging(req) -> None:
    """GA4's rules for limit and offset: negative values are refused; a limit above 250,000 is capped when
    the rows are paged (GA4: "returns a maximum of 250,000 rows per request, no matter how many you ask
    for"), not refused."""
    if req.limit < 0:
        raise invalid(f"limit must be positive; got {req.limit}.")
    if getattr(req, "offset", 0) < 0:
        raise invalid(f"offset must not be negative; got {req.offset}.")


def check_dimension_filter(req, custom: CustomDefinitions | None = None) -> None:
    """The dimension filter names dimensions the emulator answers (metrics are refused with GA4's wording)."""
    if req.HasField("dimension_filter"):
        for f in filter_fields(req.dimension_filter):
            if is_metric(f, custom):
                raise invalid(f"Metric {f} cannot be used in a dimension filter; use metric_filter.")
            check_dimension(f, custom)


def fill_metadata(md, req, *, time_zone: str, currency: str, notes: ResponseNotes | None, empty: bool) -> None:
    """ResponseMetaData: the currency (the requested one, amounts converted), time zone, thresholding and
    the (other) row (core reports are never sampled: GA4 samples explorations such as funnels)."""
    notes = notes or ResponseNotes()
    md.currency_code = getattr(req, "currency_code", "") or currency
    md.time_zone = time_zone
    md.subject_to_thresholding = notes.thresholded
    md.data_loss_from_other_row = notes.other_row
    if empty:
        md.empty_reason = "No data for the requested dates and filters."

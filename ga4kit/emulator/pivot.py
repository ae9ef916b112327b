"""runPivotReport / batchRunPivotReports: the core engine's rows laid out by pivots.

Semantics (GA4's documented rules, and the emulator's choices where the documentation is silent):

- Every pivot names dimensions (``field_names``) of the request, or ``dateRange``; no dimension is in two
  pivots; a requested dimension must be in a pivot or in the dimension filter. ``limit`` is required and
  positive, the product of the pivots' limits at most 250,000, ``offset`` not negative. With several
  date ranges a pivot must hold ``dateRange`` (the emulator's choice: users cannot be summed over ranges).
- Each pivot's header (``pivot_headers[i]``) lists its combinations of values, ordered by the pivot's
  order bys (dimension, metric, or a pivot order by: a metric within a column of the other pivots'
  values), by default by the first metric descending; ``row_count`` is the number of combinations,
  ``offset``/``limit`` pick the ones shown. Metrics per combination are computed from the events (users
  are never summed).
- ``rows`` are the combinations of all the pivots' dimensions (in pivot order) whose values are among the
  shown headers of every pivot, ordered by the first pivot's header order, then the next pivot's.
- A pivot's ``metric_aggregations`` add ``aggregates`` rows: its dimensions read RESERVED_TOTAL /
  RESERVED_MIN / RESERVED_MAX, the other pivots' dimensions take each shown combination of theirs. Totals
  are computed from the events; minimums and maximums over the pivot's combinations (all of them).
- Filters, keep_empty_rows, currency_code, thresholding and the "(other)" row behave as in runReport.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from google.analytics import data_v1beta

from .currency import check_code
from .dates import resolve_ranges
from .dimensions import (METRIC_TYPE_VALUES, NO_CUSTOM, CustomDefinitions, check_compatibility,
                         check_metric, is_dimension)
from .errors import invalid, unimplemented
from .filters import filter_fields
from .reports import MAX_DIMENSIONS, MAX_METRICS, ReportEngine, ReportPlan, check_dimension_filter, fill_metadata

MAX_PIVOT_PRODUCT = 250_000
_TOTAL, _COUNT, _MINIMUM, _MAXIMUM = 1, 4, 5, 6
_AGG_LABEL = {_TOTAL: "RESERVED_TOTAL", _MINIMUM: "RESERVED_MIN", _MAXIMUM: "RESERVED_MAX"}


@dataclass
class PivotPlan:
    req: object  # the raw RunPivotReportRequest
    core: ReportPlan  # every pivot dimension, over a RunReportRequest with the request's ranges and filters
    pivots: list  # the raw Pivot messages
    fields: list[list[str]]  # each pivot's field names


class PivotEngine:
    def __init__(self, reports: ReportEngine):
        self.reports = reports

    # ----------------------------------------------------------------- validate
    def validate(self, req, today: date, custom: CustomDefinitions | None = None) -> PivotPlan:
        if req.HasField("cohort_spec"):
            raise unimplemented("Cohort pivot reports are not supported by the emulator.")
        if len(req.comparisons):
            raise unimplemented("Comparisons are not supported by the emulator.")
        dims = [d.name for d in req.dimensions]
        metrics = [m.name for m in req.metrics]
        custom = custom or NO_CUSTOM
        self._check_names(req, dims, metrics, custom)
        if not len(req.date_ranges):
            raise invalid("At least one date range is required.")
        ranges = resolve_ranges(req.date_ranges, today)
        fields = self._check_pivots(req, dims, metrics, len(ranges))
        check_dimension_filter(req, custom)
        filtered = set(filter_fields(req.dimension_filter)) if req.HasField("dimension_filter") else set()
        used = {f for fs in fields for f in fs}
        for d in dims:
            if d not in used and d not in filtered:
                raise invalid(f"Dimension {d} must be used in a pivot or in the dimension filter.")
        extra = []
        if req.HasField("metric_filter"):
            for f in filter_fields(req.metric_filter):
                if f == "dateRange" or is_dimension(f, custom):
                    raise invalid(f"Dimension {f} cannot be used in a metric filter; use dimension_filter.")
                check_metric(f, custom)
                if f not in metrics and f not in extra:
                    extra.append(f)
        if req.currency_code:
            check_code(req.currency_code)
        all_fields = [f for fs in fields for f in fs]
        core = self._core_request(req, [f for f in all_fields if f != "dateRange"])
        plan = ReportPlan(core, all_fields, list(metrics), ranges, custom=custom)
        for m in extra:
            plan.add_metric(m)
        check_compatibility(plan.group_dims, plan.metrics, plan.filter_dims())
        return PivotPlan(req, plan, list(req.pivots), fields)

    @staticmethod
    def _check_names(req, dims: list[str], metrics: list[str], custom: CustomDefinitions) -> None:
        if len(dims) <= MAX_DIMENSIONS and len(metrics) <= MAX_METRICS and not metrics:
            raise invalid("A pivot report needs at least one metric.")
        ReportEngine.check_fields(req, dims, metrics, custom)

    @staticmethod
    def _check_pivots(req, dims: list[str], metrics: list[str], n_ranges: int) -> list[list[str]]:
        if not len(req.pivots):
            raise invalid("A pivot report needs at least one pivot.")
        fields, seen, product = [], set(), 1
        for i, p in enumerate(req.pivots):
            names = list(p.field_names)
            if not names:
                raise invalid(f"Pivot {i} needs at least one field name.")
            for f in names:
                if f != "dateRange" and f not in dims:
                    raise invalid(f"Pivot field {f} is not one of the request's dimensions.")
                if f in seen:
                    raise invalid(f"Dimension {f} is used in more than one pivot; no two pivots can share a "
                                  "dimension.")
                seen.add(f)
            if p.limit <= 0:
                raise invalid(f"Pivot {i}: limit is required and must be positive.")
            if p.offset < 0:
                raise invalid(f"Pivot {i}: offset must not be negative.")
            product *= p.limit
            if any(a == _COUNT for a in p.metric_aggregations):
                raise unimplemented("The COUNT metric aggregation is not supported by the emulator.")
            if any(a in (_TOTAL, _MINIMUM, _MAXIMUM) for a in p.metric_aggregations) and "dateRange" in names:
                raise unimplemented("Aggregating a pivot that holds dateRange is not supported by the emulator.")
            fields.append(names)
        if product > MAX_PIVOT_PRODUCT:
            raise invalid(f"The product of the pivots' limits must not exceed {MAX_PIVOT_PRODUCT}; this "
                          f"request's is {product}.")
        if n_ranges > 1 and "dateRange" not in seen:
            raise invalid("With several date ranges, one pivot must include the field dateRange.")
        for i, p in enumerate(req.pivots):
            others = {f for j, fs in enumerate(fields) if j != i for f in fs}
            for ob in p.order_bys:
                which = ob.WhichOneof("one_order_by")
                if which == "dimension" and ob.dimension.dimension_name not in fields[i]:
                    raise invalid(f"OrderBy dimension '{ob.dimension.dimension_name}' must be one of its pivot's "
                                  "field names.")
                if which == "metric" and ob.metric.metric_name not in metrics:
                    raise invalid(f"OrderBy metric '{ob.metric.metric_name}' is not one of the request's metrics.")
                if which == "pivot":
                    if ob.pivot.metric_name not in metrics:
                        raise invalid(f"OrderBy metric '{ob.pivot.metric_name}' is not one of the request's "
                                      "metrics.")
                    for sel in ob.pivot.pivot_selections:
                        if sel.dimension_name not in others:
                            raise invalid(f"Pivot selection dimension '{sel.dimension_name}' must be a field of "
                                          "another pivot.")
        return fields

    @staticmethod
    def _core_request(req, dims: list[str]):
        core = data_v1beta.RunReportRequest.pb()()
        for d in dims:
            core.dimensions.add().name = d
        core.metrics.extend(req.metrics)
        core.date_ranges.extend(req.date_ranges)
        for name in ("dimension_filter", "metric_filter"):
            if req.HasField(name):
                getattr(core, name).CopyFrom(getattr(req, name))
        core.keep_empty_rows = req.keep_empty_rows
        core.currency_code = req.currency_code
        return core

    # ----------------------------------------------------------------- compute and respond
    def run(self, plan: PivotPlan, prep, key_events: dict[str, str], *, time_zone: str, currency: str, finish):
        """Returns (RunPivotReportResponse pb, events scanned). ``finish(core plan, table) -> (table, notes)``
        drops rows kept only by extra metrics and withholds thresholded rows."""
        core = plan.core
        full = self.reports.compute(core, prep, key_events)
        table, notes = finish(core, full.table)

        def sub_table(fields: list[str]) -> pd.DataFrame:
            """Metrics per combination of ``fields`` (computed from the events). With several date ranges
            and no dateRange among ``fields``, the ranges' values are added up (they only order headers)."""
            if sorted(fields) == sorted(core.out_dims):
                return table
            sub = self._sub_plan(core, fields)
            t = finish(sub, self.reports.compute(sub, prep, key_events).table)[0]
            if "dateRange" in t and "dateRange" not in fields and len(t):
                t = t.groupby(fields, sort=False)[core.metrics].sum().reset_index() if fields else \
                    t[core.metrics].sum().to_frame().T
            return t

        shown: list[list[tuple]] = []
        headers = []
        for i, (pivot, fields) in enumerate(zip(plan.pivots, plan.fields)):
            ht = self._order(sub_table(fields), pivot, fields, core.requested, sub_table)
            combos = list(ht[fields].itertuples(index=False, name=None))
            shown.append(combos[pivot.offset:pivot.offset + pivot.limit])
            headers.append((len(combos), shown[-1]))

        rows = self._rows(table, plan.fields, shown)
        resp = data_v1beta.RunPivotReportResponse.pb()()
        for count, combos in headers:
            h = resp.pivot_headers.add()
            h.row_count = count
            for combo in combos:
                pdh = h.pivot_dimension_headers.add()
                for v in combo:
                    pdh.dimension_values.add().value = str(v)
        out_dims = [f for fs in plan.fields for f in fs]
        mtypes = {m: core.metric_type(m) for m in core.metrics}
        fmt = ReportEngine._formatter(core, mtypes)
        for d in out_dims:
            resp.dimension_headers.add().name = d
        for m in core.visible:
            mh = resp.metric_headers.add()
            mh.name = m
            mh.type_ = METRIC_TYPE_VALUES[mtypes[m]]
        self._add_rows(resp.rows, rows, out_dims, core.visible,
                       lambda values, m: ReportEngine._format_column(core, values, mtypes[m]))
        for i, pivot in enumerate(plan.pivots):
            self._aggregates(resp.aggregates, i, pivot, plan, shown, table, sub_table, fmt)
        fill_metadata(resp.metadata, core.req, time_zone=time_zone, currency=currency, notes=notes,
                      empty=not len(rows))
        resp.kind = "analyticsData#runPivotReport"
        return resp, full.scanned

    @staticmethod
    def _sub_plan(core: ReportPlan, fields: list[str]) -> ReportPlan:
        req = type(core.req)()
        req.CopyFrom(core.req)
        del req.dimensions[:]
        for f in fields:
            if f != "dateRange":
                req.dimensions.add().name = f
        sub = ReportPlan(req, list(fields), list(core.requested), core.ranges, custom=core.custom)
        for m in core.metrics:
            sub.add_metric(m)
        sub.currency_factor = core.currency_factor
        return sub

    @staticmethod
    def _order(ht: pd.DataFrame, pivot, fields: list[str], metrics: list[str], sub_table) -> pd.DataFrame:
        """A pivot's combinations in its order: its order bys, by default the first metric descending;
        ties by the field values."""
        if not len(ht):
            return ht
        work = ht.copy()
        keys, asc = [], []
        for i, ob in enumerate(pivot.order_bys):
            which = ob.WhichOneof("one_order_by")
            col = f"__k{i}"
            if which == "metric":
                work[col] = work[ob.metric.metric_name].astype(float)
            elif which == "dimension":
                s = work[ob.dimension.dimension_name].astype(str)
                if ob.dimension.order_type == 2:
                    s = s.str.lower()
                elif ob.dimension.order_type == 3:
                    s = pd.to_numeric(s, errors="coerce").fillna(-np.inf)
                work[col] = s
            elif which == "pivot":
                sels = [(s.dimension_name, s.dimension_value) for s in ob.pivot.pivot_selections]
                st = sub_table(fields + [d for d, _ in sels if d not in fields])
                for d, v in sels:
                    st = st[st[d].astype(str) == v]
                values = st.set_index(fields)[ob.pivot.metric_name] if len(st) else pd.Series(dtype=float)
                keys_ = pd.MultiIndex.from_frame(work[fields]) if len(fields) > 1 else work[fields[0]]
                work[col] = values.reindex(keys_).fillna(0.0).to_numpy(dtype=float)
            else:
                continue
            keys.append(col)
            asc.append(not ob.desc)
        if not keys and metrics:
            keys.append(metrics[0])
            asc.append(False)
        for f in fields:
            keys.append(f)
            asc.append(True)
        return ht.loc[work.sort_values(keys, ascending=asc, kind="stable").index]

    @staticmethod
    def _rows(table: pd.DataFrame, fields: list[list[str]], shown: list[list[tuple]]) -> pd.DataFrame:
        if not len(table):
            return table
        keep = np.ones(len(table), dtype=bool)
        ranks = []
        for fs, combos in zip(fields, shown):
            rank = {c: r for r, c in enumerate(combos)}
            pos = np.array([rank.get(c, -1) for c in table[fs].itertuples(index=False, name=None)])
            keep &= pos >= 0
            ranks.append(pos)
        order = np.lexsort(tuple(r[keep] for r in reversed(ranks)))
        return table[keep].iloc[order]

    @staticmethod
    def _add_rows(out, rows: pd.DataFrame, dims: list[str], metrics: list[str], fmt_column) -> None:
        dim_arrays = [rows[d].to_numpy(dtype=object) for d in dims]
        met_arrays = [fmt_column(rows[m].to_numpy(dtype=float), m) for m in metrics]
        for i in range(len(rows)):
            row = out.add()
            for arr in dim_arrays:
                row.dimension_values.add().value = str(arr[i])
            for arr in met_arrays:
                row.metric_values.add().value = arr[i]

    def _aggregates(self, out, i: int, pivot, plan: PivotPlan, shown, table, sub_table, fmt) -> None:
        aggs = [a for a in pivot.metric_aggregations if a in _AGG_LABEL]
        if not aggs:
            return
        own = plan.fields[i]
        others = [f for j, fs in enumerate(plan.fields) if j != i for f in fs]
        other_shown = [(plan.fields[j], set(shown[j])) for j in range(len(plan.fields)) if j != i]
        metrics = plan.core.visible

        def keep_shown(t: pd.DataFrame) -> pd.DataFrame:
            mask = np.ones(len(t), dtype=bool)
            for fs, combos in other_shown:
                mask &= np.array([c in combos for c in t[fs].itertuples(index=False, name=None)], dtype=bool)
            return t[mask]

        for agg in aggs:
            if agg == _TOTAL:
                part = keep_shown(sub_table(others)) if others else sub_table([])
            elif not len(table):
                continue
            elif others:
                grouped = table.groupby(others, sort=False)[metrics]
                part = keep_shown((grouped.min() if agg == _MINIMUM else grouped.max()).reset_index())
            else:
                part = (table[metrics].min() if agg == _MINIMUM else table[metrics].max()).to_frame().T
            if others and len(part):
                part = part.sort_values(others, kind="stable")
            for _, r in part.iterrows():
                row = out.add()
                for f in [f for fs in plan.fields for f in fs]:
                    row.dimension_values.add().value = _AGG_LABEL[agg] if f in own else str(r[f])
                for m in metrics:
                    row.metric_values.add().value = fmt(float(r[m]), m)

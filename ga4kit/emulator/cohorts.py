"""Cohort reports: ``runReport`` with a ``cohort_spec`` (Google's run_report_with_cohorts snippet).

GA4's semantics as the emulator computes them:

- A user's firstSessionDate is the local day of their first first_visit / first_open event (the
  ``firstSessionDate`` dimension; users whose events hold none are in no cohort). A cohort holds the users whose firstSessionDate lies in its
  ``date_range``; ``cohortTotalUsers`` is their number, the same on every row of the cohort.
- ``cohorts_range`` extends the reporting range: from the cohort's start date + start_offset periods to
  its end date + end_offset periods, a period being 1 day (DAILY), 7 days (WEEKLY) or 30 days (MONTHLY).
- ``cohortNthDay/Week/Month`` ("0000", "0001", ...) is the period of an event counted from the user's own
  firstSessionDate: days; Sunday-to-Saturday weeks; calendar months. Rows run from start_offset to
  end_offset (rows where every metric is 0 are dropped unless keep_empty_rows).
- ``cohortActiveUsers`` is the cohort's users active in that period (the engine's activeUsers over
  their events of the period); other metrics of the registry are computed over the same events, and
  metric expressions (``cohortActiveUsers/cohortTotalUsers``) over the row's metrics.
- The request's ``date_ranges`` must be empty; the dimension ``cohort`` is required; the Nth dimension
  must match the granularity; ``accumulate`` is refused (GA4: not supported in RunReportRequest).

Not modelled (UNIMPLEMENTED): other dimensions next to the cohort ones, dimension filters, metric
aggregations and comparisons in a cohort report.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from .dates import resolve_ranges
from .dimensions import compute_metrics, is_metric, metric_type
from .errors import invalid, unimplemented
from .filters import eval_filter, filter_fields
from .metric_expressions import Expression
from .reports import ReportEngine, ReportPlan, ReportResult, check_paging
from .schema import COHORT_DIMENSION_INFO, COHORT_METRIC_INFO
from . import currency as fx

COHORT_DIMENSIONS = tuple(COHORT_DIMENSION_INFO)  # cohort, cohortNthDay, cohortNthWeek, cohortNthMonth
COHORT_METRICS = {name: f.type for name, f in COHORT_METRIC_INFO.items()}  # cohortActiveUsers, cohortTotalUsers
_NTH = {"cohortNthDay": 1, "cohortNthWeek": 2, "cohortNthMonth": 3}  # dimension -> granularity
_PERIOD_DAYS = {1: 1, 2: 7, 3: 30}
_GRANULARITY = {1: "DAILY", 2: "WEEKLY", 3: "MONTHLY"}


def is_cohort_field(name: str) -> bool:
    return name in COHORT_DIMENSIONS or name in COHORT_METRICS


def _is_metric(name: str) -> bool:
    return name in COHORT_METRICS or is_metric(name)


def period_index(days: np.ndarray, granularity: int) -> np.ndarray:
    """The period number of each (local, since 1970-01-01) day: days, Sunday-based weeks, calendar months."""
    days = np.asarray(days, dtype=np.int64)
    if granularity == 1:
        return days
    if granularity == 2:
        return (days + 4) // 7  # 1970-01-04 was a Sunday
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


class CohortEngine:
    def __init__(self):
        self._respond = ReportEngine()

    def run(self, req, prep, *, today: date, time_zone: str, currency: str, key_events: dict[str, str],
            response_type):
        """A cohort RunReportRequest (raw pb); returns (response pb, events scanned)."""
        spec = req.cohort_spec
        dims = [d.name for d in req.dimensions]
        self._check(req, dims)
        granularity = spec.cohorts_range.granularity
        nth_dim = next((d for d in dims if d in _NTH), None)
        cohorts = self._cohorts(spec, today)
        columns, expressions = self._metrics(req)

        first = prep.first_session_days()
        start_off, end_off = spec.cohorts_range.start_offset, spec.cohorts_range.end_offset
        step = _PERIOD_DAYS[granularity]
        frames, scanned = [], 0
        for name, lo, hi in cohorts:
            members = (first >= lo) & (first <= hi)
            total = int(members.sum())
            in_range = (prep.day >= lo + start_off * step) & (prep.day <= hi + end_off * step)
            scanned += int(in_range.sum())
            idx = np.flatnonzero(in_range & members[prep.user])
            nth = period_index(prep.day[idx], granularity) - period_index(first[prep.user[idx]], granularity)
            keep = (nth >= start_off) & (nth <= end_off)
            idx, nth = idx[keep], nth[keep]
            n_rows = end_off - start_off + 1 if nth_dim else 1
            g = (nth - start_off) if nth_dim else np.zeros(len(idx), dtype=np.int64)
            base = [m for m in columns if m not in COHORT_METRICS and m not in expressions]
            if "cohortActiveUsers" in columns:
                base.append("activeUsers")
            mets = compute_metrics(base, prep, idx, g.astype(np.int64), n_rows, key_events)
            part = {"cohort": [name] * n_rows}
            if nth_dim:
                part[nth_dim] = [f"{i:04d}" for i in range(start_off, end_off + 1)]
            for m in columns:
                if m == "cohortActiveUsers":
                    part[m] = mets["activeUsers"]
                elif m == "cohortTotalUsers":
                    part[m] = np.full(n_rows, float(total))
                elif m not in expressions:
                    part[m] = mets[m]
            frame = pd.DataFrame(part)
            for m, ex in expressions.items():
                frame[m] = ex.evaluate({c: frame[c].to_numpy() for c in ex.names})
            frames.append(frame)
        table = pd.concat(frames, ignore_index=True)
        requested = [m.name for m in req.metrics]
        if requested and not req.keep_empty_rows:
            table = table[(table[requested] != 0).any(axis=1)]
        if req.HasField("metric_filter") and len(table):
            table = table[eval_filter(req.metric_filter, lambda f: (np.arange(len(table)), table[f].to_numpy()),
                                      "metric")]
        table = self._order(table, req, dims, [n for n, _, _ in cohorts])

        plan = ReportPlan(req, dims, list(columns), [])
        plan.types = {m: COHORT_METRICS.get(m) or ("TYPE_FLOAT" if m in expressions else metric_type(m))
                      for m in columns}
        plan.currency_factor = fx.factor(currency, req.currency_code)
        resp = self._respond.respond(plan, ReportResult(table, [], scanned), response_type,
                                     time_zone=time_zone, currency=currency)
        return resp, scanned

    # ---- validation -----------------------------------------------------------------------
    @staticmethod
    def _check(req, dims: list[str]) -> None:
        spec = req.cohort_spec
        if len(req.date_ranges):
            raise invalid("In a cohort request, dateRanges must be unspecified: each cohort has its own "
                          "dateRange.")
        if len(req.comparisons):
            raise unimplemented("Comparisons are not supported by the emulator.")
        if "cohort" not in dims:
            raise invalid("A cohort request must include the dimension 'cohort'.")
        others = [d for d in dims if d not in COHORT_DIMENSIONS]
        if others:
            raise unimplemented(f"The emulator's cohort reports take the dimensions {', '.join(COHORT_DIMENSIONS)} "
                                f"only; found {', '.join(others)}.")
        nth = [d for d in dims if d in _NTH]
        if len(nth) > 1:
            raise invalid("A cohort report takes one of cohortNthDay, cohortNthWeek and cohortNthMonth.")
        if not len(spec.cohorts):
            raise invalid("A cohort spec needs at least one cohort.")
        gran = spec.cohorts_range.granularity
        if gran not in _PERIOD_DAYS:
            raise invalid("cohortsRange.granularity is required: DAILY, WEEKLY or MONTHLY.")
        if nth and _NTH[nth[0]] != gran:
            raise invalid(f"{nth[0]} requires a {_GRANULARITY[_NTH[nth[0]]]} cohortsRange; the request's is "
                          f"{_GRANULARITY[gran]}.")
        rng = spec.cohorts_range
        if rng.start_offset < 0 or rng.end_offset < rng.start_offset:
            raise invalid("cohortsRange needs 0 <= startOffset <= endOffset.")
        if spec.cohort_report_settings.accumulate:
            raise invalid("cohortReportSettings.accumulate is not supported in RunReportRequest.")
        if req.HasField("dimension_filter"):
            raise unimplemented("Dimension filters in cohort reports are not supported by the emulator.")
        if len(req.metric_aggregations):
            raise unimplemented("Metric aggregations in cohort reports are not supported by the emulator.")
        check_paging(req)
        if req.currency_code:
            fx.check_code(req.currency_code)

    @staticmethod
    def _cohorts(spec, today: date) -> list[tuple[str, int, int]]:
        out, names = [], set()
        for i, c in enumerate(spec.cohorts):
            name = c.name or f"cohort_{i}"
            if c.name and (c.name.startswith("cohort_") or c.name.startswith("RESERVED_")):
                raise invalid(f"Cohort name '{c.name}' is invalid: names cannot begin with 'cohort_' or 'RESERVED_'.")
            if name in names:
                raise invalid(f"Cohort names must be unique; '{name}' is used twice.")
            names.add(name)
            if c.dimension != "firstSessionDate":
                raise invalid(f"Cohort dimension '{c.dimension}' is not supported: use firstSessionDate.")
            if not c.HasField("date_range"):
                raise invalid(f"Cohort '{name}' needs a dateRange.")
            dr = type(c.date_range)()
            dr.CopyFrom(c.date_range)
            dr.name = ""
            _, lo, hi = resolve_ranges([dr], today)[0]
            out.append((name, lo, hi))
        return out

    @staticmethod
    def _metrics(req):
        """(every column to compute, in order: metrics, metric filter fields, then expressions; expressions
        by name)."""
        columns: list[str] = []
        expressions: dict[str, Expression] = {}
        for m in req.metrics:
            if m.expression:
                ex = Expression(m.expression, _is_metric)
                for n in ex.names:
                    if n not in columns:
                        columns.append(n)
                expressions[m.name] = ex
            elif not _is_metric(m.name):
                raise invalid(f"Field {m.name} is not a valid metric.")
            if m.name not in columns:
                columns.append(m.name)
        if req.HasField("metric_filter"):
            for f in filter_fields(req.metric_filter):
                if not _is_metric(f) and f not in expressions:
                    raise invalid(f"Field {f} is not a valid metric.")
                if f not in columns:
                    columns.append(f)
        # Expressions go last so their inputs exist when they are evaluated.
        columns = [c for c in columns if c not in expressions] + list(expressions)
        return columns, expressions

    @staticmethod
    def _order(table: pd.DataFrame, req, dims: list[str], cohort_order: list[str]) -> pd.DataFrame:
        """By default cohorts in request order and periods ascending; else the request's order bys."""
        if not len(table):
            return table
        work = table.copy()
        work["__cohort"] = work["cohort"].map({n: i for i, n in enumerate(cohort_order)})
        keys, asc = [], []
        for i, ob in enumerate(req.order_bys):
            which = ob.WhichOneof("one_order_by")
            if which == "metric":
                if ob.metric.metric_name not in work:
                    raise invalid(f"OrderBy metric '{ob.metric.metric_name}' is not one of the request's metrics.")
                keys.append(ob.metric.metric_name)
            elif which == "dimension":
                name = ob.dimension.dimension_name
                if name not in dims:
                    raise invalid(f"OrderBy dimension '{name}' is not one of the request's dimensions.")
                keys.append("__cohort" if name == "cohort" else name)
            else:
                raise invalid("Pivot order bys are only valid in pivot reports.")
            asc.append(not ob.desc)
        for k in ["__cohort"] + [d for d in dims if d in _NTH]:
            if k not in keys:
                keys.append(k)
                asc.append(True)
        work = work.sort_values(keys, ascending=asc, kind="stable")
        return table.loc[work.index]

"""DataService: the Data API methods the server calls (runReport, batchRunReports, runPivotReport,
batchRunPivotReports, runRealtimeReport, checkCompatibility, getMetadata; v1alpha runReport and
runFunnelReport).

Each call: resolve the property (NOT_FOUND comes from AdminState), check its quotas, hold a
concurrency slot, run the engine on the property's events (with derived events from its
create-event rules), charge tokens, and attach ``property_quota`` when asked for.
Access and scope checks are the server's job.

A core report goes ``validate`` -> ``_shape`` (currency, thresholding, the "(other)" row) -> ``compute``
-> ``_finish`` (rows only extra metrics kept, withheld rows) -> ``respond``; a cohort request goes to the
cohort engine instead.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from google.analytics import data_v1alpha, data_v1beta

from . import currency
from .cohorts import CohortEngine
from .compatibility import check_compatibility
from .dimensions import NO_CUSTOM, build_metadata, custom_definitions
from .errors import EmulatorError, invalid, unimplemented
from .events import EventStore
from .funnel import FunnelEngine
from .pivot import PivotEngine
from .quota import QuotaLedger, funnel_cost, report_cost
from .realtime import RealtimeEngine, realtime_cost
from .report_limits import DataLimits, fold_other, has_other_row, signals_on, withhold
from .reports import ReportEngine, ResponseNotes
from .schema import COHORT_DIMENSION_INFO, COHORT_METRIC_INFO

MAX_BATCH = 5
_PROPERTY = re.compile(r"^properties/(\d+)$")


def property_id_of(name: str) -> str:
    m = _PROPERTY.match(name or "")
    if not m:
        raise invalid(f"Invalid property name '{name}': expected properties/{{numeric property id}}, "
                      "e.g. properties/123456789.")
    return m.group(1)


class DataService:
    """``today(property_id) -> date`` overrides the property's current date (tests, demos); ``clock() ->
    datetime`` (UTC, aware) is "now" for realtime reports. ``processing_delay_ms`` simulates GA4's
    processing time inside the concurrency slot, so a test can hold many requests in flight at once.
    ``limits`` (``DataLimits``) are the thresholding, "(other)" row and sampling numbers; ``realtime_quota``
    is the realtime reports' own ledger, as GA4 keeps realtime quota apart."""

    def __init__(self, admin, store: EventStore, quota: QuotaLedger | None = None,
                 today: Callable[[str], date] | None = None, *, limits: DataLimits | dict | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.admin = admin
        self.store = store
        self.quota = quota or QuotaLedger()
        self.realtime_quota = QuotaLedger()
        self.today_fn = today
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.limits = DataLimits.of(limits)
        self.reports = ReportEngine()
        self.funnels = FunnelEngine()
        self.pivots = PivotEngine(self.reports)
        self.realtime = RealtimeEngine()
        self.cohorts = CohortEngine()
        self.processing_delay_ms = 0

    # ---- helpers -------------------------------------------------------------------------
    def _today(self, info) -> date:
        if self.today_fn is not None:
            return self.today_fn(info.property_id)
        return datetime.now(ZoneInfo(info.time_zone)).date()

    def _view(self, info):
        return self.store.view(info.property_id, info.rules)

    def _prep(self, info):
        return self.reports.prepare(self._view(info), info.time_zone)

    def _custom(self, info):
        """The property's registered custom dimensions and metrics."""
        return custom_definitions(self.admin, info.property_id)

    def _delay(self) -> None:
        if self.processing_delay_ms:
            time.sleep(self.processing_delay_ms / 1000)

    def _shape(self, plan, info):
        """The plan's currency conversion, the user count thresholding needs and the "(other)" row:
        returns (prepared events to compute on, whether the report is thresholded)."""
        req = plan.req
        plan.currency_factor = currency.factor(info.currency, req.currency_code)
        if plan.currency_factor != 1 and req.HasField("metric_filter"):
            copy = type(req)()
            copy.CopyFrom(req)
            amounts = {m for m in plan.metrics if plan.metric_type(m) == "TYPE_CURRENCY"}
            currency.rescale_metric_filter(copy.metric_filter, amounts, plan.currency_factor)
            plan.req = copy
        thresholded = signals_on(self.admin, info.property_id)
        if thresholded:
            plan.add_metric("totalUsers")
        prep = self._prep(info)
        prep = fold_other(prep, plan.group_dims, plan.ranges, self.limits.other_rows(info.service_level),
                          prep.resolver(info.key_events, plan.custom))
        return prep, thresholded

    def _finish(self, plan, table, thresholded: bool):
        """Drop rows that only the extra metrics kept, withhold thresholded rows; (table, notes)."""
        table = plan.drop_extra_rows(table)
        if thresholded:
            table = withhold(table, "totalUsers", self.limits.threshold_users)
        return table, ResponseNotes(thresholded=thresholded, other_row=has_other_row(table, plan.group_dims))

    def _report(self, req_pb, info, today: date, module=data_v1beta):
        """One report (raw pb in, raw pb out) and its token cost."""
        if req_pb.HasField("cohort_spec"):
            resp, scanned = self.cohorts.run(req_pb, self._prep(info), today=today, time_zone=info.time_zone,
                                             currency=info.currency, key_events=dict(info.key_events),
                                             response_type=module.RunReportResponse)
        else:
            plan = self.reports.validate(req_pb, today, self._custom(info))  # before touching data, like GA4
            prep, thresholded = self._shape(plan, info)
            result = self.reports.compute(plan, prep, dict(info.key_events))
            result.table, notes = self._finish(plan, result.table, thresholded)
            resp = self.reports.respond(plan, result, module.RunReportResponse, time_zone=info.time_zone,
                                        currency=info.currency, notes=notes)
            scanned = result.scanned
        cost = report_cost(scanned, len(resp.rows), len(req_pb.dimensions), len(req_pb.metrics))
        return resp, cost

    def _pivot(self, req_pb, info, today: date):
        plan = self.pivots.validate(req_pb, today, self._custom(info))
        prep, thresholded = self._shape(plan.core, info)
        resp, scanned = self.pivots.run(
            plan, prep, dict(info.key_events), time_zone=info.time_zone, currency=info.currency,
            finish=lambda core, table: self._finish(core, table, thresholded))
        cost = report_cost(scanned, len(resp.rows), len(req_pb.dimensions), len(req_pb.metrics))
        return resp, cost

    def _attach_quota(self, resp_pb, module, info, cost: int, ledger: QuotaLedger | None = None) -> None:
        pq = (ledger or self.quota).property_quota(module, info.property_id, info.service_level, consumed=cost)
        resp_pb.property_quota.CopyFrom(type(pq).pb(pq))

    def _guard(self, fn, pid: str):
        """Run ``fn``; an unexpected failure is a server error and counts against that quota."""
        try:
            return fn()
        except EmulatorError:
            raise
        except Exception:
            self.quota.record_server_error(pid)
            raise

    def _one(self, request_pb, run, module, response_cls, ledger: QuotaLedger | None = None):
        """A single-report method: quota check, slot, run, charge, property_quota."""
        ledger = ledger or self.quota
        info = self.admin.property_info(property_id_of(request_pb.property))
        ledger.check(info.property_id, info.service_level)
        with ledger.acquire(info.property_id, info.service_level):
            self._delay()
            resp, cost = self._guard(lambda: run(request_pb, info), info.property_id)
            ledger.charge(info.property_id, cost)
        if request_pb.return_property_quota:
            self._attach_quota(resp, module, info, cost, ledger)
        return response_cls.wrap(resp)

    def _batch(self, batch, run, out_cls, field: str):
        """A batch method: up to five requests for the batch's property; one bad request fails the batch."""
        pid = property_id_of(batch.property)
        if not len(batch.requests):
            raise invalid("A batch needs at least one request.")
        if len(batch.requests) > MAX_BATCH:
            raise invalid(f"Batch requests are limited to {MAX_BATCH} requests; this batch has "
                          f"{len(batch.requests)}.")
        for r in batch.requests:
            if r.property and r.property != batch.property:
                raise invalid(f"Every request in a batch must be for the batch's property {batch.property}; "
                              f"found {r.property}.")
        info = self.admin.property_info(pid)
        self.quota.check(info.property_id, info.service_level)
        out = out_cls.pb()()
        today = self._today(info)
        with self.quota.acquire(info.property_id, info.service_level):
            self._delay()
            # All reports are validated and run before any is charged.
            results = self._guard(lambda: [run(r, info, today) for r in batch.requests], info.property_id)
            for _, cost in results:
                self.quota.charge(info.property_id, cost)
        for r, (resp, cost) in zip(batch.requests, results):
            if r.return_property_quota:
                self._attach_quota(resp, data_v1beta, info, cost)
            getattr(out, field).append(resp)
        return out

    # ---- methods -------------------------------------------------------------------------
    def run_report(self, request: data_v1beta.RunReportRequest) -> data_v1beta.RunReportResponse:
        return self._one(data_v1beta.RunReportRequest.pb(request),
                         lambda req, info: self._report(req, info, self._today(info)),
                         data_v1beta, data_v1beta.RunReportResponse)

    def batch_run_reports(self, request: data_v1beta.BatchRunReportsRequest) -> data_v1beta.BatchRunReportsResponse:
        out = self._batch(data_v1beta.BatchRunReportsRequest.pb(request), self._report,
                          data_v1beta.BatchRunReportsResponse, "reports")
        out.kind = "analyticsData#batchRunReports"
        return data_v1beta.BatchRunReportsResponse.wrap(out)

    def run_pivot_report(self, request: data_v1beta.RunPivotReportRequest) -> data_v1beta.RunPivotReportResponse:
        return self._one(data_v1beta.RunPivotReportRequest.pb(request),
                         lambda req, info: self._pivot(req, info, self._today(info)),
                         data_v1beta, data_v1beta.RunPivotReportResponse)

    def batch_run_pivot_reports(self, request: data_v1beta.BatchRunPivotReportsRequest
                                ) -> data_v1beta.BatchRunPivotReportsResponse:
        out = self._batch(data_v1beta.BatchRunPivotReportsRequest.pb(request), self._pivot,
                          data_v1beta.BatchRunPivotReportsResponse, "pivot_reports")
        out.kind = "analyticsData#batchRunPivotReports"
        return data_v1beta.BatchRunPivotReportsResponse.wrap(out)

    def run_realtime_report(self, request: data_v1beta.RunRealtimeReportRequest
                            ) -> data_v1beta.RunRealtimeReportResponse:
        def run(req, info):
            resp, scanned = self.realtime.run(req, self._prep(info), time_zone=info.time_zone, now=self.clock(),
                                              key_events=dict(info.key_events), service_level=info.service_level)
            return resp, realtime_cost(scanned, len(resp.rows))
        return self._one(data_v1beta.RunRealtimeReportRequest.pb(request), run, data_v1beta,
                         data_v1beta.RunRealtimeReportResponse, ledger=self.realtime_quota)

    def check_compatibility(self, request: data_v1beta.CheckCompatibilityRequest
                            ) -> data_v1beta.CheckCompatibilityResponse:
        """Which dimensions and metrics can join the request's; no quota is charged (as in GA4)."""
        req = data_v1beta.CheckCompatibilityRequest.pb(request)
        info = self.admin.property_info(property_id_of(req.property))
        md = metadata(data_v1beta, f"properties/{info.property_id}/metadata", info.key_events, self._custom(info))
        return check_compatibility(req, md, self._custom(info))

    def run_report_alpha(self, request: data_v1alpha.RunReportRequest) -> data_v1alpha.RunReportResponse:
        """v1alpha runReport: the same engine (the engine reads messages by field name, which the
        two versions share)."""
        req = data_v1alpha.RunReportRequest.pb(request)
        if req.HasField("conversion_spec"):
            raise unimplemented("conversion_spec is not supported by the emulator.")
        return self._one(req, lambda r, info: self._report(r, info, self._today(info), data_v1alpha),
                         data_v1alpha, data_v1alpha.RunReportResponse)

    def get_metadata(self, request: data_v1beta.GetMetadataRequest) -> data_v1beta.Metadata:
        """The dimensions and metrics this emulator serves, plus keyEvents:<name> per key event.
        ``properties/0/metadata`` lists the ones common to every property."""
        m = re.match(r"^properties/(\d+)/metadata$", request.name or "")
        if not m:
            raise invalid(f"Invalid metadata name '{request.name}': expected properties/{{id}}/metadata.")
        if m.group(1) == "0":
            return metadata(data_v1beta, request.name, {})
        pid = m.group(1)
        info = self.admin.property_info(pid)
        return metadata(data_v1beta, request.name, info.key_events, self._custom(info))

    def run_funnel_report(self, request: data_v1alpha.RunFunnelReportRequest) -> data_v1alpha.RunFunnelReportResponse:
        def run(req, info):
            resp, scanned = self.funnels.run(req, self._prep(info), today=self._today(info), types=data_v1alpha,
                                             sampling_limit=self.limits.sampling_events(info.service_level),
                                             key_events=dict(info.key_events), custom=self._custom(info))
            return resp, funnel_cost(scanned, len(req.funnel.steps))
        return self._one(data_v1alpha.RunFunnelReportRequest.pb(request), run, data_v1alpha,
                         data_v1alpha.RunFunnelReportResponse)


def metadata(module, name: str, key_events: dict[str, str], custom=NO_CUSTOM):
    """A Metadata message listing what the engines support: the modelled fields, key events and custom
    definitions (``dimensions.build_metadata``), and the cohort dimensions and metrics."""
    md = build_metadata(module, name, key_events, custom)
    for info in COHORT_DIMENSION_INFO.values():
        md.dimensions.append(module.DimensionMetadata(api_name=info.api_name, ui_name=info.ui_name,
                                                      description=info.description, category=info.category))
    for info in COHORT_METRIC_INFO.values():
        md.metrics.append(module.MetricMetadata(api_name=info.api_name, ui_name=info.ui_name, type_=info.type,
                                                description=info.description, category=info.category))
    return md

"""DataService: the Data API methods the server calls (runReport, batchRunReports, runFunnelReport).

Each call: resolve the property (NOT_FOUND comes from AdminState), check its quotas, hold a
concurrency slot, run the engine on the property's events (with derived events from its
create-event rules), charge tokens, and attach ``property_quota`` when asked for.
Access and scope checks are the server's job.
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime
from typing import Callable
from zoneinfo import ZoneInfo

from google.analytics import data_v1alpha, data_v1beta

from .dimensions import NO_CUSTOM, build_metadata, custom_definitions
from .errors import EmulatorError, invalid, unimplemented
from .events import EventStore
from .funnel import FunnelEngine
from .quota import QuotaLedger, funnel_cost, report_cost
from .reports import ReportEngine

MAX_BATCH = 5
_PROPERTY = re.compile(r"^properties/(\d+)$")


def property_id_of(name: str) -> str:
    m = _PROPERTY.match(name or "")
    if not m:
        raise invalid(f"Invalid property name '{name}': expected properties/{{numeric property id}}, "
                      "e.g. properties/123456789.")
    return m.group(1)


class DataService:
    """``today(property_id) -> date`` overrides the property's current date (tests, demos).
    ``processing_delay_ms`` simulates GA4's processing time inside the concurrency slot, so a test
    can hold many requests in flight at once."""

    def __init__(self, admin, store: EventStore, quota: QuotaLedger | None = None,
                 today: Callable[[str], date] | None = None):
        self.admin = admin
        self.store = store
        self.quota = quota or QuotaLedger()
        self.today_fn = today
        self.reports = ReportEngine()
        self.funnels = FunnelEngine()
        self.processing_delay_ms = 0

    # ---- helpers -------------------------------------------------------------------------
    def _today(self, info) -> date:
        if self.today_fn is not None:
            return self.today_fn(info.property_id)
        return datetime.now(ZoneInfo(info.time_zone)).date()

    def _view(self, info):
        return self.store.view(info.property_id, info.rules)

    def _delay(self) -> None:
        if self.processing_delay_ms:
            time.sleep(self.processing_delay_ms / 1000)

    def _report(self, req_pb, info, today: date, module=data_v1beta):
        """One report (raw pb in, raw pb out) and its token cost."""
        resp, scanned = self.reports.run(
            req_pb, self._view(info), time_zone=info.time_zone, currency=info.currency,
            key_events=dict(info.key_events), today=today, response_type=module.RunReportResponse,
            custom=custom_definitions(self.admin, info.property_id))
        cost = report_cost(scanned, len(resp.rows), len(req_pb.dimensions), len(req_pb.metrics))
        return resp, cost

    def _attach_quota(self, resp_pb, module, info, cost: int) -> None:
        pq = self.quota.property_quota(module, info.property_id, info.service_level, consumed=cost)
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

    # ---- methods -------------------------------------------------------------------------
    def run_report(self, request: data_v1beta.RunReportRequest) -> data_v1beta.RunReportResponse:
        req = data_v1beta.RunReportRequest.pb(request)
        info = self.admin.property_info(property_id_of(req.property))
        self.quota.check(info.property_id, info.service_level)
        with self.quota.acquire(info.property_id, info.service_level):
            self._delay()
            resp, cost = self._guard(lambda: self._report(req, info, self._today(info)), info.property_id)
            self.quota.charge(info.property_id, cost)
        if req.return_property_quota:
            self._attach_quota(resp, data_v1beta, info, cost)
        return data_v1beta.RunReportResponse.wrap(resp)

    def batch_run_reports(self, request: data_v1beta.BatchRunReportsRequest) -> data_v1beta.BatchRunReportsResponse:
        batch = data_v1beta.BatchRunReportsRequest.pb(request)
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
        out = data_v1beta.BatchRunReportsResponse.pb()()
        out.kind = "analyticsData#batchRunReports"
        today = self._today(info)
        with self.quota.acquire(info.property_id, info.service_level):
            self._delay()
            # All reports are validated and run before any is charged: one bad request fails the batch.
            results = self._guard(lambda: [self._report(r, info, today) for r in batch.requests],
                                  info.property_id)
            for _, cost in results:
                self.quota.charge(info.property_id, cost)
        for r, (resp, cost) in zip(batch.requests, results):
            if r.return_property_quota:
                self._attach_quota(resp, data_v1beta, info, cost)
            out.reports.append(resp)
        return data_v1beta.BatchRunReportsResponse.wrap(out)

    def run_report_alpha(self, request: data_v1alpha.RunReportRequest) -> data_v1alpha.RunReportResponse:
        """v1alpha runReport: the same engine (the engine reads messages by field name, which the
        two versions share)."""
        req = data_v1alpha.RunReportRequest.pb(request)
        if req.HasField("conversion_spec"):
            raise unimplemented("conversion_spec is not supported by the emulator.")
        info = self.admin.property_info(property_id_of(req.property))
        self.quota.check(info.property_id, info.service_level)
        with self.quota.acquire(info.property_id, info.service_level):
            self._delay()
            resp, cost = self._guard(lambda: self._report(req, info, self._today(info), data_v1alpha),
                                     info.property_id)
            self.quota.charge(info.property_id, cost)
        if req.return_property_quota:
            self._attach_quota(resp, data_v1alpha, info, cost)
        return data_v1alpha.RunReportResponse.wrap(resp)

    def get_metadata(self, request: data_v1beta.GetMetadataRequest) -> data_v1beta.Metadata:
        """The dimensions and metrics this emulator serves, plus keyEvents:<name> per key event.
        ``properties/0/metadata`` lists the ones common to every property."""
        m = re.match(r"^properties/(\d+)/metadata$", request.name or "")
        if not m:
            raise invalid(f"Invalid metadata name '{request.name}': expected properties/{{id}}/metadata.")
        if m.group(1) == "0":
            return metadata(data_v1beta, request.name, {})
        pid = m.group(1)
        return metadata(data_v1beta, request.name, self.admin.property_info(pid).key_events,
                        custom_definitions(self.admin, pid))

    def run_funnel_report(self, request: data_v1alpha.RunFunnelReportRequest) -> data_v1alpha.RunFunnelReportResponse:
        req = data_v1alpha.RunFunnelReportRequest.pb(request)
        info = self.admin.property_info(property_id_of(req.property))
        self.quota.check(info.property_id, info.service_level)
        with self.quota.acquire(info.property_id, info.service_level):
            self._delay()
            def funnel():
                prep = self.reports.prepare(self._view(info), info.time_zone)
                return self.funnels.run(req, prep, today=self._today(info),
                                        types=data_v1alpha)
            resp, scanned = self._guard(funnel, info.property_id)
            cost = funnel_cost(scanned, len(req.funnel.steps))
            self.quota.charge(info.property_id, cost)
        if req.return_property_quota:
            self._attach_quota(resp, data_v1alpha, info, cost)
        return data_v1alpha.RunFunnelReportResponse.wrap(resp)


def metadata(module, name: str, key_events: dict[str, str], custom=NO_CUSTOM):
    """A Metadata message listing what the engines support (see ``dimensions.build_metadata``)."""
    return build_metadata(module, name, key_events, custom)

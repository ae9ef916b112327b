"""The emulator's gRPC server: GA4's Admin (v1beta, v1alpha) and Data (v1beta, v1alpha) services on one port.

    with Emulator(demo=False) as emu:          # port 0 = a free port
        clients = make_clients(emulator=emu.address, write=True)

Every call goes through one gate: read the caller from the metadata (``x-ga4kit-principal``,
``x-ga4kit-scope``), inject latency and faults, refuse writes with the read-only scope, answer NOT_FOUND
for an unknown property and PERMISSION_DENIED for one the caller may not access, run the handler, and
record the outcome in the call log. Admin methods are served by ``admin_service``, Data methods by
``data_service.DataService``; a Data method the emulator does not implement (audience exports, report
tasks, ...) answers UNIMPLEMENTED, as does any other method of the four services.

Beside it, on a port of its own, a Google Sheets v4 stand-in over HTTP (:mod:`.sheets`, ``emu.sheets``,
``emu.sheets_endpoint``). A client that knows only the gRPC address learns where it is from the unary
method ``/ga4kit.emulator.v1.Emulator/GetEndpoints`` (no request body; answers JSON bytes
``{"sheets": "http://HOST:PORT"}``).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import warnings
from concurrent import futures
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl

import grpc
from google.analytics import admin_v1alpha, admin_v1beta, data_v1alpha, data_v1beta

from ga4kit.emulator import importer
from ga4kit.emulator.admin_rpc import Method, serialize
from ga4kit.emulator.admin_service import admin_methods, is_write
from ga4kit.emulator.admin_state import DEFAULT_PRINCIPAL, AdminState
from ga4kit.emulator.data_service import DataService
from ga4kit.emulator.errors import EmulatorError, denied, not_found, unimplemented
from ga4kit.emulator.events import EventStore, LateData
from ga4kit.emulator.faults import Faults
from ga4kit.emulator.generator import populate_demo
from ga4kit.emulator.quota import AdminQuota, AdminQuotaLimits, QuotaLedger
from ga4kit.emulator.sheets import SheetsStandIn

log = logging.getLogger("ga4kit.emulator")

ADMIN_BETA = "google.analytics.admin.v1beta.AnalyticsAdminService"
ADMIN_ALPHA = "google.analytics.admin.v1alpha.AnalyticsAdminService"
DATA_BETA = "google.analytics.data.v1beta.BetaAnalyticsData"
DATA_ALPHA = "google.analytics.data.v1alpha.AlphaAnalyticsData"
SERVICES = (ADMIN_BETA, ADMIN_ALPHA, DATA_BETA, DATA_ALPHA)
ENDPOINTS_METHOD = "/ga4kit.emulator.v1.Emulator/GetEndpoints"

PRINCIPAL_HEADER = "x-ga4kit-principal"
SCOPE_HEADER = "x-ga4kit-scope"
ROUTING_HEADER = "x-goog-request-params"
EDIT_SCOPE = "analytics.edit"
READONLY_SCOPE = "analytics.readonly"
SCOPE_MESSAGE = "Request had insufficient authentication scopes."
ACCESS_MESSAGE = ("User does not have sufficient permissions for this property. To learn more about Property ID, "
                  "see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.")

# Data RPC -> (request class, DataService method name).
DATA_METHODS = {
    DATA_BETA: {
        "RunReport": (data_v1beta.RunReportRequest, "run_report"),
        "BatchRunReports": (data_v1beta.BatchRunReportsRequest, "batch_run_reports"),
        "RunPivotReport": (data_v1beta.RunPivotReportRequest, "run_pivot_report"),
        "BatchRunPivotReports": (data_v1beta.BatchRunPivotReportsRequest, "batch_run_pivot_reports"),
        "GetMetadata": (data_v1beta.GetMetadataRequest, "get_metadata"),
        "RunRealtimeReport": (data_v1beta.RunRealtimeReportRequest, "run_realtime_report"),
        "CheckCompatibility": (data_v1beta.CheckCompatibilityRequest, "check_compatibility"),
    },
    DATA_ALPHA: {
        "RunFunnelReport": (data_v1alpha.RunFunnelReportRequest, "run_funnel_report"),
        "RunReport": (data_v1alpha.RunReportRequest, "run_report_alpha"),
    },
}

_PROPERTY_IN = re.compile(r"^properties/(\d+)(?:/|$)")


@dataclass(frozen=True)
class CallRecord:
    """One call the emulator answered. ``code`` is the gRPC status name ("OK", "NOT_FOUND", ...)."""

    service: str
    method: str
    property: str | None
    code: str
    principal: str = DEFAULT_PRINCIPAL
    scope: str = EDIT_SCOPE


@dataclass(frozen=True)
class CallContext:
    """What a handler may know about its caller."""

    principal: str
    scope: str
    service: str
    method: str
    property: str | None


def _repeated(fd: Any) -> bool:
    flag = getattr(fd, "is_repeated", None)  # newer protobuf
    if flag is not None:
        return bool(flag)
    return fd.label == fd.LABEL_REPEATED


def resource_of(request: Any) -> str:
    """The resource a request is about: its name/parent/property field, or the name of its main message."""
    pb = type(request).pb(request)
    fields = pb.ListFields()
    for fd, value in fields:
        if fd.name in ("name", "parent", "property") and isinstance(value, str):
            return value
    for fd, value in fields:
        if fd.message_type is not None and not _repeated(fd):
            name = getattr(value, "name", None)
            if isinstance(name, str) and name.startswith("properties/"):
                return name
    return ""


def property_of(request: Any, metadata: dict[str, str]) -> str | None:
    m = _PROPERTY_IN.match(resource_of(request))
    if m:
        return m.group(1)
    for _, value in parse_qsl(metadata.get(ROUTING_HEADER, "")):
        m = _PROPERTY_IN.match(value)
        if m:
            return m.group(1)
    return None


def _scope_allows(scope: str, write: bool) -> bool:
    scope = scope.rsplit("/", 1)[-1].strip()
    if scope == EDIT_SCOPE:
        return True
    return scope == READONLY_SCOPE and not write


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


class Emulator:
    """A local GA4 over gRPC that Google's client libraries talk to. See the module docstring."""

    def __init__(self, *, state_dir: str | os.PathLike | None = None, host: str = "127.0.0.1", port: int = 0,
                 seed: int = 42, demo: bool = True, days: int = 90, users: int = 5000, properties: int = 1,
                 events_file: str | os.PathLike | None = None, latency: float | None = None,
                 faults: Faults | None = None, today: date | str | None = None,
                 broken: dict | None = None, quota: Any = None, admin_quota: Any = None,
                 max_workers: int = 32, data_limits: Any = None, events_time_zone: str | None = None,
                 late_data: bool | dict | LateData | None = None, now: datetime | None = None,
                 sheets_port: int = 0, sheets_limits: Any = None, sheets_clock: Callable[[], float] | None = None):
        self.host = host
        self._requested_port = int(port)
        self.port: int | None = None
        self.seed = seed
        self.today = _as_date(today)
        self._now: datetime | None = None
        self.events_time_zone = events_time_zone
        self.import_warnings: list[str] = []
        self.state_dir = os.fspath(state_dir) if state_dir is not None else None
        self.faults = faults if faults is not None else Faults(seed)
        if latency:
            self.faults.set("*", latency_ms=latency)
        # Admin API quotas are off unless asked for: True = GA4's limits, or AdminQuotaLimits / a dict.
        if admin_quota is True:
            admin_quota = AdminQuota()
        elif isinstance(admin_quota, (dict, AdminQuotaLimits)):
            admin_quota = AdminQuota(admin_quota)
        self.admin_quota: AdminQuota | None = admin_quota or None
        self._calls: list[CallRecord] = []
        self._calls_lock = threading.Lock()
        self._in_flight: dict[str, int] = {}  # method -> calls being answered now (calls lists finished ones)
        self._server: grpc.Server | None = None
        self._max_workers = max_workers

        if self.state_dir:
            os.makedirs(self.state_dir, exist_ok=True)
        self.admin = AdminState(self.state_dir, clock=self._clock)
        self.store = EventStore(self.state_dir)
        if late_data:
            self.store.set_late_data(late_data if isinstance(late_data, LateData)
                                     else LateData(**late_data) if isinstance(late_data, dict) else LateData(seed))
            if now is None:
                # Noon UTC of a fixed today is that same day in every time zone from UTC-12 to UTC+11
                # (midnight UTC would be yesterday west of Greenwich). The clock then stands still.
                now = (datetime.combine(self.today, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=12)
                       if self.today else datetime.now(timezone.utc))
        self.quota = quota if quota is not None else QuotaLedger()
        self.demo_property_ids: list[str] = []
        if not self.admin.loaded and demo:
            self._populate_demo(days=days, users=users, properties=properties, broken=broken)
        if events_file is not None:
            self._import_events(os.fspath(events_file))
        self.admin.save()
        # Without a fixed --today the data side takes today in each property's time zone itself.
        self.data = DataService(self.admin, self.store, self.quota, self.today_for if self.today else None,
                                limits=data_limits, clock=self._clock)
        if now is not None:
            self.set_now(now)

        self._admin = {ADMIN_BETA: admin_methods(self.admin, admin_v1beta),
                       ADMIN_ALPHA: admin_methods(self.admin, admin_v1alpha)}
        self.sheets = SheetsStandIn(host=host, port=sheets_port, limits=sheets_limits, state_dir=self.state_dir,
                                    seed=seed, **({"clock": sheets_clock} if sheets_clock else {}))

    # ----------------------------------------------------------------- world time
    def _clock(self) -> datetime:
        if self._now is not None:
            return self._now
        now = datetime.now(timezone.utc)
        if self.today is None:
            return now
        return datetime.combine(self.today, now.timetz())

    @property
    def now(self) -> datetime:
        """The emulator's clock (UTC): set with ``set_now`` / ``advance``, else the real time."""
        return self._now or datetime.now(timezone.utc)

    def set_now(self, now: datetime) -> None:
        """Set the world's clock: 'today' of every property follows it, and with late data on, reports hold
        the events that have arrived by then. A naive datetime is UTC."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        self._now = now.astimezone(timezone.utc)
        self.store.set_now(self._now)
        self.data.today_fn = self.today_for

    def advance(self, *, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        """Move the clock forward (see ``set_now``); returns the new time."""
        self.set_now(self.now + timedelta(days=days, hours=hours, minutes=minutes))
        return self._now

    def today_for(self, property_id: str) -> date:
        """'Today' in the property's time zone: of the clock when set, else the fixed --today, else now."""
        if self.today is not None and self._now is None:
            return self.today
        from zoneinfo import ZoneInfo

        try:
            tz = self.admin.property_info(property_id).time_zone
        except EmulatorError:
            tz = "UTC"
        return self.now.astimezone(ZoneInfo(tz)).date()

    # ----------------------------------------------------------------- data
    def _populate_demo(self, *, days: int, users: int, properties: int, broken: dict | None) -> None:
        with self.admin.batch():
            self.demo_property_ids = list(populate_demo(self.admin, self.store, seed=self.seed, days=days,
                                                        users=users, properties=properties, today=self.today,
                                                        broken=broken))
        if self.state_dir:
            self.store.save()

    def _import_events(self, path: str) -> None:
        if not os.path.exists(path):
            raise FileNotFoundError(f"events file {path} does not exist")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", importer.EventFileWarning)
            importer.import_file(self.admin, self.store, path, time_zone=self.events_time_zone)
        self.import_warnings = [str(w.message) for w in caught if issubclass(w.category, importer.EventFileWarning)]
        for message in self.import_warnings:
            log.warning("emulator: %s", message)
        if self.state_dir:
            self.store.save()

    def method_names(self) -> set[str]:
        """Every RPC the emulator implements, over all four services ({"CreateKeyEvent", "RunReport", ...})."""
        names = {rpc for methods in self._admin.values() for rpc in methods}
        names |= {rpc for methods in DATA_METHODS.values() for rpc, (_, attr) in methods.items()
                  if hasattr(self.data, attr)}
        return names

    # ----------------------------------------------------------------- call log
    @property
    def calls(self) -> list[CallRecord]:
        with self._calls_lock:
            return list(self._calls)

    def in_flight(self, method: str) -> int:
        """How many ``method`` calls are being answered right now (a test waits on this to act mid-call:
        :attr:`calls` records a call only once it has been answered)."""
        with self._calls_lock:
            return self._in_flight.get(method, 0)

    def reset_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()

    def _record(self, rec: CallRecord) -> None:
        with self._calls_lock:
            self._calls.append(rec)

    # ----------------------------------------------------------------- the gate
    def _serve(self, service: str, method: str, handler: Callable[[Any, CallContext], Any], *,
               write: bool, data: bool) -> Callable:
        def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
            metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
            principal = metadata.get(PRINCIPAL_HEADER) or DEFAULT_PRINCIPAL
            scope = metadata.get(SCOPE_HEADER) or EDIT_SCOPE
            try:
                prop = property_of(request, metadata)
            except Exception:  # never let an odd request break the gate; the handler validates names
                prop = None
            code = "OK"
            with self._calls_lock:
                self._in_flight[method] = self._in_flight.get(method, 0) + 1
            try:
                decision = self.faults.decide(method)
                if decision.latency_s:
                    time.sleep(decision.latency_s)
                if decision.code is not None and not decision.after:
                    raise EmulatorError(decision.code, decision.message)
                if not _scope_allows(scope, write):
                    raise denied(SCOPE_MESSAGE)
                if not data and self.admin_quota is not None:
                    self.admin_quota.check(principal, write)
                if prop is not None and not (data and prop == "0"):
                    if not self.admin.has_property(prop):
                        raise not_found(f"Property properties/{prop} was not found.")
                    if not self.admin.can_access(prop, principal):
                        raise denied(ACCESS_MESSAGE)
                    if data and self.admin.is_deleted(prop):
                        raise not_found(f"Property properties/{prop} is in the trash.")
                ctx = CallContext(principal, scope, service, method, prop)
                answer = handler(request, ctx)
                if decision.code is not None:  # an "after" fault: carried out, answer lost
                    raise EmulatorError(decision.code, decision.message)
                return answer
            except EmulatorError as exc:
                code = exc.code.name
                context.abort(exc.code, exc.message)
            except Exception:
                code = "INTERNAL"
                log.exception("emulator: %s/%s failed", service, method)
                context.abort(grpc.StatusCode.INTERNAL, "Internal error encountered.")
            finally:
                with self._calls_lock:
                    self._in_flight[method] -= 1
                self._record(CallRecord(service, method, prop, code, principal, scope))

        return behaviour

    @staticmethod
    def _unimplemented(service: str, method: str) -> Callable:
        def handler(request: Any, ctx: CallContext) -> Any:
            raise unimplemented(f"Method {service}.{method} is not implemented by the ga4kit emulator.")
        return handler

    def _handlers(self) -> list:
        generic = []
        for service, methods in self._admin.items():
            table = {}
            for rpc, meth in methods.items():
                table[rpc] = grpc.unary_unary_rpc_method_handler(
                    self._serve(service, rpc, meth.handler, write=meth.write, data=False),
                    request_deserializer=meth.request.deserialize, response_serializer=serialize)
            generic.append(grpc.method_handlers_generic_handler(service, table))
        for service, methods in DATA_METHODS.items():
            table = {}
            for rpc, (request_cls, attr) in methods.items():
                fn = getattr(self.data, attr, None)
                if fn is not None:
                    handler = (lambda f: lambda request, ctx: f(request))(fn)
                else:
                    handler = self._unimplemented(service, rpc)
                table[rpc] = grpc.unary_unary_rpc_method_handler(
                    self._serve(service, rpc, handler, write=False, data=True),
                    request_deserializer=request_cls.deserialize, response_serializer=serialize)
            generic.append(grpc.method_handlers_generic_handler(service, table))
        generic.append(_Fallback(self))
        generic.append(_Endpoints(self))
        return generic

    # ----------------------------------------------------------------- lifecycle
    @property
    def address(self) -> str:
        if self.port is None:
            raise RuntimeError("the emulator is not started")
        return f"{self.host}:{self.port}"

    @property
    def sheets_endpoint(self) -> str:
        """http://HOST:PORT of the Sheets v4 stand-in (what GA4KIT_SHEETS_ENDPOINT holds)."""
        return self.sheets.endpoint

    def start(self) -> "Emulator":
        if self._server is not None:
            return self
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._max_workers,
                                                        thread_name_prefix="ga4kit-emulator"),
                             handlers=self._handlers(),
                             # Without this, Linux lets a second server bind a port that is in use.
                             options=[("grpc.so_reuseport", 0)])
        try:
            port = server.add_insecure_port(f"{self.host}:{self._requested_port}")
        except RuntimeError:
            port = 0
        if not port:
            raise OSError(f"cannot listen on {self.host}:{self._requested_port} (port in use or host invalid)")
        try:
            self.sheets.start()
        except OSError:
            server.stop(None)
            raise
        server.start()
        self._server = server
        self.port = port
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace).wait()
        self.sheets.stop()
        self.admin.save()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or ``timeout``)."""
        if self._server is None:
            return True
        return self._server.wait_for_termination(timeout)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _Fallback(grpc.GenericRpcHandler):
    """Methods the emulator does not implement: UNIMPLEMENTED, and still recorded in the call log."""

    def __init__(self, emulator: Emulator):
        self._emulator = emulator

    def service(self, handler_call_details: grpc.HandlerCallDetails):
        full = handler_call_details.method or ""
        service, _, method = full.lstrip("/").rpartition("/")
        if service not in SERVICES:
            return None
        emulator = self._emulator

        def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
            emulator._record(CallRecord(service, method, None, "UNIMPLEMENTED"))
            context.abort(grpc.StatusCode.UNIMPLEMENTED,
                          f"Method {service}.{method} is not implemented by the ga4kit emulator.")

        return grpc.unary_unary_rpc_method_handler(behaviour)


class _Endpoints(grpc.GenericRpcHandler):
    """Where the emulator's other servers listen, for clients that know only its gRPC address."""

    def __init__(self, emulator: Emulator):
        self._emulator = emulator

    def service(self, handler_call_details: grpc.HandlerCallDetails):
        if handler_call_details.method != ENDPOINTS_METHOD:
            return None
        emulator = self._emulator

        def behaviour(request: bytes, context: grpc.ServicerContext) -> bytes:
            import json

            return json.dumps({"sheets": emulator.sheets_endpoint}).encode("utf-8")

        return grpc.unary_unary_rpc_method_handler(behaviour)


__all__ = ["Emulator", "CallRecord", "CallContext", "Faults", "SERVICES", "AdminQuota", "AdminQuotaLimits",
           "is_write", "Method"]

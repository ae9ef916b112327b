"""runRealtimeReport: the last 30 minutes of events (60 on 360 properties), in minute ranges.

- "Now" is the emulator's clock (``DataService.clock``). Minutes are clock minutes: ``minutesAgo`` of
  an event is the current minute (UTC, whole minutes since the epoch) minus the event's minute, "00" for
  the current minute, "01" for the one before, ... Events stamped in the future are not reported.
- ``minute_ranges``: at most 2; ``start_minutes_ago`` defaults to 29, ``end_minutes_ago`` to 0; start
  must not be below end; both at most 29 (standard) or 59 (360). Ranges are named ``date_range_N``
  unless named, and several ranges add the ``dateRange`` dimension, as in core reports.
- Realtime has its own schema: dimensions ``REALTIME_DIMENSIONS`` (of GA4's realtime schema, those the
  event model carries) and metrics ``REALTIME_METRICS``; the realtime schema's other names
  (``UNMODELLED_REALTIME``) answer UNIMPLEMENTED, anything else is refused with GA4's wording.
- Rows are computed by the core engine over the recent events (filters, metric filter, order bys,
  totals/maximums/minimums, limit capped at 250,000); the response has no metadata, as GA4's.
- Quota: realtime requests are charged to a ledger of their own (``realtime_cost``), as GA4 keeps
  realtime quota apart from core reporting quota.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

import numpy as np
from google.analytics import data_v1beta

from .dimensions import Prepared
from .errors import EmulatorError, invalid, unimplemented
from .filters import filter_fields
from .reports import MAX_DIMENSIONS, MAX_METRICS, ReportEngine, ReportPlan, check_paging

REALTIME_DIMENSIONS = ("city", "country", "countryId", "deviceCategory", "eventName", "minutesAgo", "platform")
REALTIME_METRICS = ("activeUsers", "eventCount", "keyEvents", "screenPageViews")
# GA4's realtime dimensions the event model does not carry.
UNMODELLED_REALTIME = ("appVersion", "audienceId", "audienceName", "audienceResourceName", "cityId", "streamId",
                       "streamName", "unifiedScreenName")
MAX_MINUTE_RANGES = 2
REALTIME_SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/realtime-api-schema"
_MINUTE_US = 60_000_000
_RESERVED_NAME = re.compile(r"^(date_range_|RESERVED_)")
_COPIED = ("dimension_headers", "metric_headers", "rows", "totals", "maximums", "minimums")


def realtime_cost(events_scanned: int, rows_returned: int) -> int:
    """Realtime token cost (the emulator's model, like report_cost): 1 + per 100,000 events + per 10,000 rows."""
    return 1 + math.ceil(events_scanned / 100_000) + math.ceil(rows_returned / 10_000)


def _bad(kind: str, name: str) -> EmulatorError:
    if name in UNMODELLED_REALTIME or name.startswith("customUser:"):
        return unimplemented(f"The ga4kit emulator does not model the realtime {kind} {name} (a valid GA4 "
                             "realtime name). See docs/emulator-contract.md for the realtime fields it models.")
    return invalid(f"Field {name} is not a valid {kind} for realtime reports. For a list of valid realtime "
                   f"dimensions and metrics, see {REALTIME_SCHEMA_URL}")


class _RecentEvents:
    """The property's prepared events with minutes ago standing in for the day: the minute ranges select
    the recent events as date ranges select days, while sessions and users (engagement, active users)
    are judged on all the events, as GA4 judges a session as a whole."""

    def __init__(self, prep: Prepared, minutes_ago: np.ndarray, max_minutes: int):
        self._prep = prep
        self.day = minutes_ago
        labels = np.array([f"{m:02d}" for m in range(max_minutes + 1)], dtype=object)
        # Events outside the widest range are never selected; their codes only need to be valid.
        self._minutes = (np.clip(minutes_ago, 0, max_minutes).astype(np.int64), labels)

    def __getattr__(self, name):
        return getattr(self._prep, name)

    def dimension(self, name: str):
        return self._minutes if name == "minutesAgo" else self._prep.dimension(name)

    def resolver(self, key_events=(), custom=None):
        inner = self._prep.resolver(key_events, custom)
        return lambda name: self._minutes if name == "minutesAgo" else inner(name)


class RealtimeEngine:
    def __init__(self):
        self._reports = ReportEngine()

    def run(self, req, prep: Prepared, *, time_zone: str, now: datetime, key_events: dict[str, str],
            service_level: str):
        """A raw RunRealtimeReportRequest over the property's prepared events; returns
        (RunRealtimeReportResponse pb, events scanned)."""
        dims = [d.name for d in req.dimensions]
        metrics = [m.name for m in req.metrics]
        extra = self._check(req, dims, metrics)
        ranges = self._ranges(req, 59 if str(service_level).upper().endswith("PREMIUM") else 29)
        widest = max(start for _, _, start in ranges)

        now_minute = int(now.timestamp() * 1_000_000) // _MINUTE_US
        recent = _RecentEvents(prep, now_minute - prep.frame["ts"].to_numpy() // _MINUTE_US, widest)

        core = data_v1beta.RunReportRequest.pb()()
        for name in ("dimensions", "metrics", "metric_aggregations", "order_bys"):
            getattr(core, name).extend(getattr(req, name))
        for name in ("dimension_filter", "metric_filter"):
            if req.HasField(name):
                getattr(core, name).CopyFrom(getattr(req, name))
        core.limit = req.limit
        plan = ReportPlan(core, dims, metrics, ranges)
        for m in extra:
            plan.add_metric(m)
        result = self._reports.compute(plan, recent, key_events)
        if len(result.table) and metrics and extra:
            result.table = result.table[(result.table[metrics] != 0).any(axis=1)]
        core_resp = self._reports.respond(plan, result, data_v1beta.RunReportResponse, time_zone=time_zone,
                                          currency="")
        out = data_v1beta.RunRealtimeReportResponse.pb()()
        for name in _COPIED:
            getattr(out, name).extend(getattr(core_resp, name))
        out.row_count = core_resp.row_count
        out.kind = "analyticsData#runRealtimeReport"
        return out, result.scanned

    @staticmethod
    def _check(req, dims: list[str], metrics: list[str]) -> list[str]:
        if len(dims) > MAX_DIMENSIONS:
            raise invalid(f"Requests are limited to {MAX_DIMENSIONS} dimensions; this request has {len(dims)}.")
        if len(metrics) > MAX_METRICS:
            raise invalid(f"Requests are limited to {MAX_METRICS} metrics; this request has {len(metrics)}.")
        for d in req.dimensions:
            if d.HasField("dimension_expression"):
                raise unimplemented("Dimension expressions are not supported by the emulator.")
            if d.name not in REALTIME_DIMENSIONS and d.name != "dateRange":
                raise _bad("dimension", d.name)
        for m in req.metrics:
            if m.expression:
                raise unimplemented("Metric expressions are not supported by the emulator.")
            if m.name not in REALTIME_METRICS:
                raise _bad("metric", m.name)
        if not dims and not metrics:
            raise invalid("A report needs at least one dimension or metric.")
        for seen, kind in ((dims, "dimension"), (metrics, "metric")):
            dup = sorted({n for n in seen if seen.count(n) > 1})
            if dup:
                raise invalid(f"Duplicate {kind} names are not allowed: {', '.join(dup)}.")
        check_paging(req)
        if req.HasField("dimension_filter"):
            for f in filter_fields(req.dimension_filter):
                if f not in REALTIME_DIMENSIONS:
                    raise _bad("dimension", f)
        extra: list[str] = []
        if req.HasField("metric_filter"):
            for f in filter_fields(req.metric_filter):
                if f in REALTIME_DIMENSIONS:
                    raise invalid(f"Dimension {f} cannot be used in a metric filter; use dimension_filter.")
                if f not in REALTIME_METRICS:
                    raise _bad("metric", f)
                if f not in metrics and f not in extra:
                    extra.append(f)
        ReportEngine._check_order_bys(req, dims, metrics)
        return extra

    @staticmethod
    def _ranges(req, most: int) -> list[tuple[str, int, int]]:
        """[(name, end minutes ago, start minutes ago)]: the low bound first, as date ranges have it."""
        if len(req.minute_ranges) > MAX_MINUTE_RANGES:
            raise invalid(f"Requests are limited to {MAX_MINUTE_RANGES} minuteRanges; this request has "
                          f"{len(req.minute_ranges)}.")
        if not len(req.minute_ranges):
            return [("date_range_0", 0, 29)]
        out = []
        for i, mr in enumerate(req.minute_ranges):
            if mr.name and _RESERVED_NAME.match(mr.name):
                raise invalid(f"Minute range name '{mr.name}' is invalid: names cannot begin with 'date_range_' "
                              "or 'RESERVED_'.")
            start = mr.start_minutes_ago if mr.HasField("start_minutes_ago") else 29
            end = mr.end_minutes_ago if mr.HasField("end_minutes_ago") else 0
            if start < 0 or end < 0:
                raise invalid("Minute ranges cannot be negative.")
            if start > most or end > most:
                raise invalid(f"This property can request the last {most + 1} minutes of event data "
                              f"(startMinutesAgo and endMinutesAgo <= {most}).")
            if start < end:
                raise invalid(f"Invalid minute range: startMinutesAgo {start} is after endMinutesAgo {end}.")
            out.append((mr.name or f"date_range_{i}", end, start))
        return out

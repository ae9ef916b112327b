"""API quotas: the Data API's property tokens and concurrency (``QuotaLedger``) and the Admin API's
per-minute request limits (``AdminQuota``).

Data API: a token cost model, a per-property ledger and the concurrency limit.

Cost model (ours; Google does not publish its formula, only that most requests cost < 10 tokens
and that cost grows with the data scanned and the request's complexity):

    report tokens = 1
                  + ceil(events scanned / 100,000)         # events in the requested date ranges
                  + ceil(rows returned / 10,000)
                  + (dimensions x metrics) // 10           # a wide request costs a little more
    funnel tokens = 2 + 2 x ceil(events scanned / 100,000) + steps // 3

A request is refused with RESOURCE_EXHAUSTED when any quota is already used up before it runs
(as GA4 does: "if any quota is exhausted, all requests fail"); its tokens are charged after it
ran, so remaining never goes below zero. Windows: hour = the last 3,600 s, day = since midnight
America/Los_Angeles (GA4 resets daily quotas at Pacific midnight). Limits per property follow
Google's PropertyQuota documentation; 360 (PREMIUM) properties get 10x tokens, 50 concurrent
requests and 50 server errors per hour.

Admin API (opt-in, ``Emulator(admin_quota=True)``): sliding one-minute windows over requests, writes
and writes per user, as the Admin API's per-project quotas.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from .errors import exhausted

_PACIFIC = ZoneInfo("America/Los_Angeles")
QUOTA_DOCS = "https://developers.google.com/analytics/devguides/reporting/data/v1/quotas"


@dataclass(frozen=True)
class QuotaLimits:
    tokens_per_day: int = 200_000
    tokens_per_hour: int = 40_000
    tokens_per_project_per_hour: int = 14_000
    concurrent_requests: int = 10
    server_errors_per_project_per_hour: int = 10
    potentially_thresholded_requests_per_hour: int = 120

    @classmethod
    def premium(cls) -> "QuotaLimits":
        return cls(tokens_per_day=2_000_000, tokens_per_hour=400_000, tokens_per_project_per_hour=140_000,
                   concurrent_requests=50, server_errors_per_project_per_hour=50,
                   potentially_thresholded_requests_per_hour=120)


QUOTA_NAMES = [f.name for f in fields(QuotaLimits)]
_MESSAGES = {
    "tokens_per_day": "Exhausted property tokens per day quota.",
    "tokens_per_hour": "Exhausted property tokens per hour quota.",
    "tokens_per_project_per_hour": "Exhausted property tokens per project per hour quota.",
    "concurrent_requests": "Exhausted concurrent requests quota.",
    "server_errors_per_project_per_hour": "Exhausted server errors per project per hour quota.",
    "potentially_thresholded_requests_per_hour": "Exhausted potentially thresholded requests per hour quota.",
}


def report_cost(events_scanned: int, rows_returned: int, n_dimensions: int, n_metrics: int) -> int:
    return (1 + math.ceil(events_scanned / 100_000) + math.ceil(rows_returned / 10_000)
            + (n_dimensions * n_metrics) // 10)


def funnel_cost(events_scanned: int, n_steps: int) -> int:
    return 2 + 2 * math.ceil(events_scanned / 100_000) + n_steps // 3


def _limits(value, default: QuotaLimits) -> QuotaLimits:
    if value is None:
        return default
    if isinstance(value, QuotaLimits):
        return value
    return replace(default, **dict(value))


class QuotaLedger:
    """Tokens and requests per property (and per project for the project quotas).

    ``limits`` / ``premium_limits``: a QuotaLimits or a dict of overrides (e.g.
    ``{"tokens_per_hour": 20}``) so tests can exhaust a quota quickly. ``clock`` returns epoch
    seconds (injectable for tests). ``enabled=False`` makes every check pass.
    """

    def __init__(self, limits=None, premium_limits=None, *, clock=time.time, enabled: bool = True):
        self.standard = _limits(limits, QuotaLimits())
        self.premium = _limits(premium_limits, QuotaLimits.premium())
        self.clock = clock
        self.enabled = enabled
        self._lock = threading.Lock()
        self._tokens: dict[str, deque] = defaultdict(deque)           # pid -> (t, tokens)
        self._project_tokens: dict[tuple, deque] = defaultdict(deque)  # (pid, project) -> (t, tokens)
        self._errors: dict[tuple, deque] = defaultdict(deque)          # (pid, project) -> t
        self._thresholded: dict[str, deque] = defaultdict(deque)       # pid -> t
        self._in_flight: dict[str, int] = defaultdict(int)

    def limits_for(self, service_level: str | None) -> QuotaLimits:
        return self.premium if str(service_level or "").upper().endswith("PREMIUM") else self.standard

    def reset(self) -> None:
        with self._lock:
            for d in (self._tokens, self._project_tokens, self._errors, self._thresholded, self._in_flight):
                d.clear()

    # ---- accounting ----------------------------------------------------------------------
    def _used(self, pid: str, project: str, now: float) -> dict[str, int]:
        hour_ago = now - 3600
        midnight = datetime.fromtimestamp(now, _PACIFIC).replace(hour=0, minute=0, second=0, microsecond=0)
        day_start = midnight.timestamp()
        tok = self._tokens[pid]
        while tok and tok[0][0] < min(hour_ago, day_start) - 86400:
            tok.popleft()
        ptok = self._project_tokens[(pid, project)]
        while ptok and ptok[0][0] < hour_ago:
            ptok.popleft()
        errs = self._errors[(pid, project)]
        while errs and errs[0] < hour_ago:
            errs.popleft()
        thr = self._thresholded[pid]
        while thr and thr[0] < hour_ago:
            thr.popleft()
        return {
            "tokens_per_day": sum(n for t, n in tok if t >= day_start),
            "tokens_per_hour": sum(n for t, n in tok if t >= hour_ago),
            "tokens_per_project_per_hour": sum(n for _, n in ptok),
            "concurrent_requests": self._in_flight[pid],
            "server_errors_per_project_per_hour": len(errs),
            "potentially_thresholded_requests_per_hour": len(thr),
        }

    def check(self, property_id: str, service_level: str | None = None, project: str = "default") -> None:
        """Raise RESOURCE_EXHAUSTED if any quota of the property is used up."""
        if not self.enabled:
            return
        lim = self.limits_for(service_level)
        with self._lock:
            used = self._used(property_id, project, self.clock())
        for name in QUOTA_NAMES:
            if name == "concurrent_requests":
                continue  # enforced by acquire()
            if used[name] >= getattr(lim, name):
                raise exhausted(f"{_MESSAGES[name]} Learn more at {QUOTA_DOCS}")

    @contextmanager
    def acquire(self, property_id: str, service_level: str | None = None):
        """Hold one of the property's concurrent-request slots for the duration of a request."""
        lim = self.limits_for(service_level)
        with self._lock:
            if self.enabled and self._in_flight[property_id] >= lim.concurrent_requests:
                raise exhausted(f"{_MESSAGES['concurrent_requests']} Learn more at {QUOTA_DOCS}")
            self._in_flight[property_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[property_id] -= 1

    def charge(self, property_id: str, tokens: int, *, project: str = "default",
               thresholded: bool = False) -> None:
        now = self.clock()
        with self._lock:
            self._tokens[property_id].append((now, int(tokens)))
            self._project_tokens[(property_id, project)].append((now, int(tokens)))
            if thresholded:
                self._thresholded[property_id].append(now)

    def record_server_error(self, property_id: str, project: str = "default") -> None:
        with self._lock:
            self._errors[(property_id, project)].append(self.clock())

    def status(self, property_id: str, service_level: str | None = None, *, consumed: int = 0,
               project: str = "default", thresholded: bool = False) -> dict[str, tuple[int, int]]:
        """{quota name: (consumed by this request, remaining)} as PropertyQuota reports it."""
        lim = self.limits_for(service_level)
        with self._lock:
            used = self._used(property_id, project, self.clock())
        this = {"tokens_per_day": consumed, "tokens_per_hour": consumed, "tokens_per_project_per_hour": consumed,
                "concurrent_requests": 0, "server_errors_per_project_per_hour": 0,
                "potentially_thresholded_requests_per_hour": int(thresholded)}
        return {n: (this[n], max(0, getattr(lim, n) - used[n])) for n in QUOTA_NAMES}

    def property_quota(self, message_module, property_id: str, service_level: str | None = None, **kw):
        """The status as a ``PropertyQuota`` of ``message_module`` (data_v1beta or data_v1alpha)."""
        st = self.status(property_id, service_level, **kw)
        return message_module.PropertyQuota(**{
            n: message_module.QuotaStatus(consumed=c, remaining=r) for n, (c, r) in st.items()})


# ---- Admin API ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdminQuotaLimits:
    """GA4 Admin API quotas (per minute; the emulator is one project)."""

    requests_per_minute: int = 1200
    requests_per_user_per_minute: int = 600
    writes_per_minute: int = 600
    writes_per_user_per_minute: int = 180


class AdminQuota:
    """Sliding one-minute windows over Admin calls; RESOURCE_EXHAUSTED once a limit is reached.

    Refused calls do not count. ``clock`` returns seconds (injectable for tests).
    """

    def __init__(self, limits: AdminQuotaLimits | dict | None = None, *, clock=time.monotonic):
        if isinstance(limits, dict):
            unknown = set(limits) - {f.name for f in fields(AdminQuotaLimits)}
            if unknown:
                raise ValueError(f"unknown admin quota limits: {', '.join(sorted(unknown))}")
            limits = replace(AdminQuotaLimits(), **limits)
        self.limits = limits or AdminQuotaLimits()
        self.clock = clock
        self._lock = threading.Lock()
        self._requests: deque = deque()
        self._writes: deque = deque()
        self._user_requests: dict[str, deque] = defaultdict(deque)
        self._user_writes: dict[str, deque] = defaultdict(deque)

    @staticmethod
    def _trim(window: deque, now: float) -> deque:
        while window and window[0] <= now - 60.0:
            window.popleft()
        return window

    def check(self, principal: str, write: bool) -> None:
        with self._lock:
            now = self.clock()
            lim = self.limits
            checks = [(self._trim(self._requests, now), lim.requests_per_minute, "Requests",
                       "Requests per minute"),
                      (self._trim(self._user_requests[principal], now), lim.requests_per_user_per_minute,
                       "Requests", "Requests per minute per user")]
            if write:
                checks.append((self._trim(self._writes, now), lim.writes_per_minute, "Write requests",
                               "Write requests per minute"))
                checks.append((self._trim(self._user_writes[principal], now), lim.writes_per_user_per_minute,
                               "Write requests", "Write requests per minute per user"))
            for window, limit, metric, name in checks:
                if len(window) >= limit:
                    raise exhausted(f"Quota exceeded for quota metric '{metric}' and limit '{name}' of service "
                                    "'analyticsadmin.googleapis.com' for consumer 'project_number:ga4kit-emulator'.")
            for window, *_ in checks:
                window.append(now)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._writes.clear()
            self._user_requests.clear()
            self._user_writes.clear()

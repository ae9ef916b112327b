"""Seeded, reproducible fault injection for the emulator: error rates per method and status code, latency.

    faults = Faults(seed=1).set("CreateKeyEvent", {"UNAVAILABLE": 0.3}, latency_ms=5)
    faults.set("*", latency_ms=20)          # every method
    faults.set("CreateEventCreateRule", {"DEADLINE_EXCEEDED": 1.0}, after=True)   # the write lands,
                                                                                    # the answer is lost

An ``after`` fault lets the handler run first (a write is carried out) and then fails the call, as when
GA4 commits a write but the client's deadline passes before the answer arrives.

Each method draws from its own ``random.Random`` seeded with (seed, method), so the sequence of injected
errors for one method does not depend on how calls to other methods interleave with it.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import grpc

ALL = "*"

# GA4-like messages for injected errors.
_MESSAGES = {
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "Deadline expired before operation could complete.",
    "INTERNAL": "Internal error encountered.",
    "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
    "ABORTED": "The operation was aborted.",
    "PERMISSION_DENIED": "The caller does not have permission",
    "UNAUTHENTICATED": "Request had invalid authentication credentials.",
}


def status_code(name: str) -> grpc.StatusCode:
    """grpc.StatusCode from its name ("UNAVAILABLE"); ValueError for an unknown or OK name."""
    key = str(name).strip().upper()
    try:
        code = grpc.StatusCode[key]
    except KeyError:
        raise ValueError(f"unknown gRPC status {name!r}; use e.g. UNAVAILABLE, INTERNAL, "
                         "DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED") from None
    if code is grpc.StatusCode.OK:
        raise ValueError("OK is not an error status")
    return code


def parse_fault(spec: str) -> tuple[str, str, float, bool]:
    """Parse ``METHOD=STATUS:RATE[:after]`` (e.g. ``CreateKeyEvent=UNAVAILABLE:0.3``, ``*=INTERNAL:0.1``,
    ``CreateEventCreateRule=DEADLINE_EXCEEDED:1:after``). Returns (method, status, rate, after)."""
    after = False
    try:
        method, rest = spec.split("=", 1)
        if rest.lower().endswith(":after"):
            rest, after = rest[: -len(":after")], True
        status, rate_text = rest.rsplit(":", 1)
        rate = float(rate_text)
    except ValueError:
        raise ValueError(f"fault {spec!r} is not METHOD=STATUS:RATE[:after], e.g. "
                         "CreateKeyEvent=UNAVAILABLE:0.3") from None
    method = method.strip()
    if not method:
        raise ValueError(f"fault {spec!r} names no method (use * for every method)")
    code = status_code(status)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"fault {spec!r}: the rate must be between 0 and 1")
    return method, code.name, rate, after


@dataclass
class _Rule:
    errors: dict[str, float] = field(default_factory=dict)
    latency_ms: float | None = None
    after: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do with one call: sleep ``latency_s`` seconds, then fail with ``code`` unless it is None;
    with ``after`` the call is carried out first and its answer replaced by the failure."""

    latency_s: float = 0.0
    code: grpc.StatusCode | None = None
    message: str = ""
    after: bool = False


class Faults:
    """Per-method error rates and latency, reproducible for a given seed."""

    def __init__(self, seed: int = 0, *, latency_ms: float | None = None):
        self.seed = seed
        self._lock = threading.Lock()
        self._rules: dict[str, _Rule] = {}
        self._rngs: dict[str, random.Random] = {}
        if latency_ms:
            self.set(ALL, latency_ms=latency_ms)

    def set(self, method: str, errors: dict[str, float] | None = None, *,
            latency_ms: float | None = None, after: bool | None = None) -> "Faults":
        """Add (or replace) error rates and/or latency for ``method`` ("*" = every method). Chainable.

        ``after=True``: the method's errors fire after the call was carried out (the answer is lost)."""
        checked = {}
        for name, rate in (errors or {}).items():
            code = status_code(name)
            rate = float(rate)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"error rate for {name} must be between 0 and 1, not {rate}")
            checked[code.name] = rate
        if sum(checked.values()) > 1.0 + 1e-9:
            raise ValueError(f"error rates for {method} add up to more than 1")
        if latency_ms is not None and latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        with self._lock:
            rule = self._rules.setdefault(method, _Rule())
            if errors is not None:
                rule.errors = checked
            if latency_ms is not None:
                rule.latency_ms = float(latency_ms)
            if after is not None:
                rule.after = bool(after)
        return self

    def add(self, spec: str) -> "Faults":
        """Add one ``METHOD=STATUS:RATE[:after]`` rule (as given to ``ga4kit emulator start --fault``)."""
        method, status, rate, after = parse_fault(spec)
        with self._lock:
            current = dict(self._rules.get(method, _Rule()).errors)
        current[status] = rate
        return self.set(method, current, after=after)

    def clear(self, method: str | None = None) -> None:
        """Remove the rules of one method, or all rules; also restarts the random sequences."""
        with self._lock:
            if method is None:
                self._rules.clear()
                self._rngs.clear()
            else:
                self._rules.pop(method, None)
                self._rngs.pop(method, None)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def decide(self, method: str) -> Decision:
        """Draw the outcome of one call to ``method``."""
        with self._lock:
            specific = self._rules.get(method)
            generic = self._rules.get(ALL)
            if specific is None and generic is None:
                return Decision()
            latency = None
            if specific is not None and specific.latency_ms is not None:
                latency = specific.latency_ms
            elif generic is not None:
                latency = generic.latency_ms
            errors: dict[str, float] = {}
            if generic is not None:
                errors.update(generic.errors)
            if specific is not None:
                errors.update(specific.errors)
            code = None
            after = bool(specific.after if specific is not None and specific.errors else
                         (generic.after if generic is not None else False))
            if errors:
                rng = self._rngs.get(method)
                if rng is None:
                    rng = self._rngs[method] = random.Random(f"{self.seed}:{method}")
                draw = rng.random()
                total = 0.0
                for name in sorted(errors):
                    total += errors[name]
                    if draw < total:
                        code = grpc.StatusCode[name]
                        break
        return Decision((latency or 0.0) / 1000.0, code,
                        _MESSAGES.get(code.name, "Injected fault.") if code else "", after and code is not None)

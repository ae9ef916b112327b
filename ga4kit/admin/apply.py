"""Carry out a plan: write key events and create-event rules, property by property.

- Before writing to a property its key events are read again and the custom key event cap is checked
  against what exists now plus what the plan adds; a property that would exceed it gets no writes.
- Writes go in an order that keeps the cap true at every step: deletes (--prune) first, then rules,
  updates, creates.
- Writes are paced under GA4's per-minute write quotas; RESOURCE_EXHAUSTED waits a while and tries again.
- Transient errors (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, ABORTED) are retried with backoff. Before a
  create is retried ga4kit looks whether the earlier attempt landed, and a create answered ALREADY_EXISTS
  is reconciled with what exists, so an interrupted or repeated apply never duplicates anything.
- A property that fails does not stop the others; every outcome is in the :class:`Result`.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from ga4kit.admin import rules as R
from ga4kit.admin.plan import PAGE_SIZE, read_property, service_level_cap
from ga4kit.admin.types import (
    CREATE, DELETE, DONE, FAILED, KEY_EVENT, RULE, SKIPPED, UPDATE, Action, CapCheck, ErrorInfo, KeyEventSpec,
    Outcome, Plan, PropertyPlan, PropertyResult, Result, RuleSpec,
)
from ga4kit.errors import AlreadyExistsError, ApiError, NotFoundError

TRANSIENT = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "ABORTED"})
# After one of these nothing else on the property can succeed: stop writing to it.
STOPS_PROPERTY = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED"}) | TRANSIENT


@dataclass(frozen=True)
class WritePolicy:
    """How writes are paced and retried.

    Transient errors: exponential backoff with jitter, ``attempts`` tries within ``deadline`` seconds.
    RESOURCE_EXHAUSTED (GA4's per-minute Admin write quotas): wait ``quota_wait`` seconds, at most
    ``quota_waits`` times. Pacing: a token bucket of ``burst`` writes refilled at ``writes_per_minute``, so
    no 60-second window holds more than ``burst + writes_per_minute`` writes: 175 by default, under GA4's
    180 writes a minute per user (and 600 per project). ``writes_per_minute=0`` turns pacing off.
    """

    attempts: int = 8
    initial: float = 0.5
    maximum: float = 16.0
    deadline: float = 120.0
    quota_waits: int = 3
    quota_wait: float = 30.0
    writes_per_minute: float = 115.0
    burst: int = 60


class _Pacer:
    """A token bucket: ``burst`` writes at once, then ``per_minute`` a minute."""

    def __init__(self, per_minute: float, burst: int):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, float(burst))
        self.tokens = self.capacity
        self.last = time.monotonic()

    def take(self) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1.0:
            time.sleep((1.0 - self.tokens) / self.rate)
            self.last = time.monotonic()
            self.tokens = 1.0
        self.tokens -= 1.0


def apply(plan: Plan, clients: Any, *, policy: WritePolicy | None = None,
          on_property: Callable[[PropertyResult], None] | None = None,
          on_outcome: Callable[[PropertyPlan, Outcome], None] | None = None) -> Result:
    """Apply ``plan`` with ``clients`` (built with write=True). Never raises for a GA4 failure: each
    property's outcome, and each action's, is in the returned :class:`Result`."""
    policy = policy or WritePolicy()
    pacer = _Pacer(policy.writes_per_minute, policy.burst)
    result = Result(properties=[])
    for pp in plan.properties:
        if pp.error is not None:
            pr = PropertyResult(pp.property, error=pp.error,
                                outcomes=[Outcome(a, SKIPPED, "not attempted: " + pp.error.message)
                                          for a in pp.changes])
        elif not pp.changes:
            pr = PropertyResult(pp.property)
        else:
            pr = _Applier(pp, clients, policy, on_outcome, pacer).run()
        result.properties.append(pr)
        if on_property is not None:
            on_property(pr)
    return result


def _order(a: Action) -> int:
    if a.op == DELETE:
        return 0
    if a.kind == RULE:
        return 1
    if a.op == UPDATE:
        return 2
    return 3


class _Applier:
    def __init__(self, pp: PropertyPlan, clients: Any, policy: WritePolicy, on_outcome, pacer: _Pacer):
        self.pp = pp
        self.pacer = pacer
        self.ref = pp.property
        self.clients = clients
        self.policy = policy
        self.on_outcome = on_outcome
        self.retries = 0

    # --- driver --------------------------------------------------------------------------------------
    def run(self) -> PropertyResult:
        pr = PropertyResult(self.ref)
        changes = sorted(self.pp.changes, key=_order)
        try:
            level, existing = read_property(self.ref, self.clients)
        except ApiError as exc:
            pr.error = ErrorInfo.from_exception(exc)
            pr.outcomes = [Outcome(a, SKIPPED, "not attempted: the property could not be read") for a in changes]
            return pr
        cap = self._fresh_cap(level, existing)
        if cap.exceeded:
            pr.error = ErrorInfo("CAP_EXCEEDED", cap.message(self.ref.display), CapCheck.HINT)
            pr.outcomes = [Outcome(a, SKIPPED, "not attempted: the key event cap would be exceeded")
                           for a in changes]
            return pr
        stop: str | None = None
        for action in changes:
            if stop is not None:
                out = Outcome(action, SKIPPED, f"not attempted: {stop}")
            else:
                self.retries = 0
                try:
                    out = self._do(action)
                except ApiError as exc:
                    out = Outcome(action, FAILED, str(exc))
                    if exc.status in STOPS_PROPERTY:
                        stop = f"an earlier write to this property failed with {exc.status}"
                        pr.error = ErrorInfo.from_exception(exc)
                if self.retries and out.status == DONE:
                    note = f"after {self.retries} retr{'y' if self.retries == 1 else 'ies'}"
                    out = Outcome(out.action, out.status, f"{out.message}; {note}" if out.message else note,
                                  out.resource)
            pr.outcomes.append(out)
            if self.on_outcome is not None:
                self.on_outcome(self.pp, out)
        return pr

    def _fresh_cap(self, level: str, existing: list[Any]) -> CapCheck:
        by_event = {ke.event_name: ke for ke in existing}
        adding = sum(1 for a in self.pp.changes
                     if a.kind == KEY_EVENT and a.op == CREATE and a.custom and a.event not in by_event)
        removing = sum(1 for a in self.pp.changes
                       if a.kind == KEY_EVENT and a.op == DELETE and a.event in by_event
                       and by_event[a.event].custom)
        return CapCheck(level, service_level_cap(level), sum(1 for ke in existing if ke.custom), adding, removing)

    def _do(self, a: Action) -> Outcome:
        if a.kind == KEY_EVENT:
            if a.op == CREATE:
                return self._create_key_event(a)
            if a.op == UPDATE:
                return self._update_key_event(a)
            if a.op == DELETE:
                return self._delete_key_event(a)
        elif a.kind == RULE:
            if a.op == CREATE:
                return self._create_rule(a)
            if a.op == UPDATE:
                return self._update_rule(a)
        raise ValueError(f"cannot apply {a.op} {a.kind}")

    # --- retries -------------------------------------------------------------------------------------
    def _retrying(self, call: Callable[[], Outcome], landed: Callable[[], Outcome | None] | None = None) -> Outcome:
        """The write ``call``, paced, with retries on transient errors and waits on exhausted quota;
        before each retry ``landed`` may say the earlier attempt was carried out after all."""
        policy = self.policy
        delay = policy.initial
        start = time.monotonic()
        attempt = 0
        quota_waits = 0
        while True:
            attempt += 1
            self.pacer.take()
            try:
                return call()
            except ApiError as exc:
                if exc.status == "RESOURCE_EXHAUSTED" and quota_waits < policy.quota_waits:
                    quota_waits += 1
                    time.sleep(policy.quota_wait)
                elif exc.status not in TRANSIENT or attempt >= policy.attempts or (
                        time.monotonic() - start + delay > policy.deadline):
                    raise
                else:
                    time.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, policy.maximum)
            self.retries += 1
            if landed is not None:
                try:
                    found = landed()
                except ApiError as exc:
                    if exc.status not in TRANSIENT:
                        raise
                    found = None
                if found is not None:
                    return found

    # --- key events ----------------------------------------------------------------------------------
    def _find_key_event(self, event: str) -> Any | None:
        request = {"parent": self.ref.name, "page_size": PAGE_SIZE}
        for ke in self.clients.admin.list_key_events(request=request):
            if ke.event_name == event:
                return ke
        return None

    def _create_key_event(self, a: Action) -> Outcome:
        spec: KeyEventSpec = a.desired  # type: ignore[assignment]

        def call() -> Outcome:
            try:
                ke = self.clients.admin.create_key_event(parent=self.ref.name, key_event=R.key_event_proto(spec),
                                                         retry=None)
            except AlreadyExistsError:
                ke = self._find_key_event(spec.event)
                if ke is None:
                    raise
                return self._reconcile_key_event(a, ke)
            return Outcome(a, DONE, None, ke.name)

        def landed() -> Outcome | None:
            ke = self._find_key_event(spec.event)
            return None if ke is None else self._reconcile_key_event(a, ke)

        return self._retrying(call, landed)

    def _reconcile_key_event(self, a: Action, ke: Any) -> Outcome:
        spec: KeyEventSpec = a.desired  # type: ignore[assignment]
        changes = R.key_event_changes(R.key_event_from_proto(ke), spec)
        if not changes:
            return Outcome(a, DONE, "it existed already with these settings", ke.name)
        self._write_key_event_update(spec, ke.name, [c.field for c in changes])
        return Outcome(a, DONE, "it existed already; updated " + ", ".join(c.field for c in changes), ke.name)

    def _write_key_event_update(self, spec: KeyEventSpec, name: str, fields: list[str]) -> Any:
        from google.protobuf import field_mask_pb2

        mask = field_mask_pb2.FieldMask(paths=fields)
        return self._retrying(lambda: self.clients.admin.update_key_event(
            key_event=R.key_event_proto(spec, name=name), update_mask=mask, retry=None))

    def _update_key_event(self, a: Action) -> Outcome:
        spec: KeyEventSpec = a.desired  # type: ignore[assignment]
        fields = [c.field for c in a.changes] or ["counting_method", "default_value"]
        try:
            ke = self._write_key_event_update(spec, a.resource, fields)
        except NotFoundError:
            # Deleted since the plan was made: create it instead.
            out = self._create_key_event(a)
            return Outcome(a, out.status, "it was gone; created it again", out.resource)
        return Outcome(a, DONE, None, getattr(ke, "name", None) or a.resource)

    def _delete_key_event(self, a: Action) -> Outcome:
        def call() -> Outcome:
            try:
                self.clients.admin.delete_key_event(name=a.resource, retry=None)
            except NotFoundError:
                return Outcome(a, DONE, "it was gone already", a.resource)
            return Outcome(a, DONE, None, a.resource)

        return self._retrying(call)

    # --- create-event rules --------------------------------------------------------------------------
    @property
    def _stream_name(self) -> str:
        return f"{self.ref.name}/dataStreams/{self.pp.stream}"

    def _find_rule(self, destination: str) -> Any | None:
        request = {"parent": self._stream_name, "page_size": PAGE_SIZE}
        found = [r for r in self.clients.admin_alpha.list_event_create_rules(request=request)
                 if r.destination_event == destination]
        return sorted(found, key=lambda r: r.name)[0] if found else None

    def _create_rule(self, a: Action) -> Outcome:
        spec: RuleSpec = a.desired  # type: ignore[assignment]

        def landed() -> Outcome | None:
            rule = self._find_rule(spec.destination_event)
            return None if rule is None else self._reconcile_rule(a, rule)

        # A rule has no unique key in GA4: look first, so a re-run after an interruption never adds a second.
        early = landed()
        if early is not None:
            return early

        def call() -> Outcome:
            rule = self.clients.admin_alpha.create_event_create_rule(
                parent=self._stream_name, event_create_rule=R.rule_proto(spec), retry=None)
            return Outcome(a, DONE, None, rule.name)

        return self._retrying(call, landed)

    def _reconcile_rule(self, a: Action, rule: Any) -> Outcome:
        spec: RuleSpec = a.desired  # type: ignore[assignment]
        changes = R.rule_changes(R.rule_from_proto(rule), spec)
        if not changes:
            return Outcome(a, DONE, "it existed already with these conditions", rule.name)
        self._write_rule_update(spec, rule.name)
        return Outcome(a, DONE, "it existed already; updated " + ", ".join(c.field for c in changes), rule.name)

    def _write_rule_update(self, spec: RuleSpec, name: str) -> Any:
        from google.protobuf import field_mask_pb2

        mask = field_mask_pb2.FieldMask(paths=["event_conditions", "source_copy_parameters"])
        return self._retrying(lambda: self.clients.admin_alpha.update_event_create_rule(
            event_create_rule=R.rule_proto(spec, name=name), update_mask=mask, retry=None))

    def _update_rule(self, a: Action) -> Outcome:
        try:
            rule = self._write_rule_update(a.desired, a.resource)  # type: ignore[arg-type]
        except NotFoundError:
            out = self._create_rule(a)
            return Outcome(a, out.status, "it was gone; created it again", out.resource)
        return Outcome(a, DONE, None, getattr(rule, "name", None) or a.resource)

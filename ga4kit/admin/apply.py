"""Carry out a plan: write key events and create-event rules, several properties at once.

- Each property's writes happen under a lock on this machine (:func:`ga4kit.locking.property_lock_path`),
  so two applies started at once on one machine take turns; the second is told it waits (``on_wait``).
- Before writing to a property its key events are read again and the custom key event cap is checked
  against what exists now plus what the plan adds; a property that would exceed it gets no writes.
- Writes go in an order that keeps the cap true at every step: deletes (--prune) first, then rules,
  updates, creates.
- Writes are paced under GA4's per-minute write quotas; RESOURCE_EXHAUSTED waits a while and tries again.
  Long waits are reported through ``on_wait(seconds, message)``.
- Transient errors (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, ABORTED) are retried with backoff. Before a
  create is retried ga4kit looks whether the earlier attempt landed, and a key event create answered
  ALREADY_EXISTS is reconciled with what exists.
- Properties are written ``concurrency`` at once (:mod:`ga4kit.executor`); each property's writes stay in
  order, one at a time, and every thread takes its writes from the one pacer, so the whole run keeps under
  the per-user write quota however many threads write. The result lists the properties in plan order.
- A property that fails does not stop the others; every outcome is in the :class:`Result`. Ctrl-C raises
  :class:`ApplyInterrupted`, which carries the outcomes so far: no further write starts, and the writes
  under way (one per property being written) may still land.

Why create-event rules need more than that. GA4 gives a rule no unique key: a second create with the same
destination succeeds, and every duplicate rule creates the event again, doubling its counts. So:

1. Each rule create is preceded by a fresh read of the stream's rules (an earlier run, or a run on
   another machine, may have created it since the plan), and the lock makes that read-then-create atomic
   between runs on this machine.
2. When a create times out (DEADLINE_EXCEEDED) GA4 may still be carrying it out. Before creating again
   ga4kit reads the rules ``landed_checks`` times with growing pauses, since a slow commit may come after
   the first look.
3. Even so a timed-out create can commit after every look. So after a property's writes ga4kit reads its
   rules once more (waiting up to ``settle`` seconds while a timed-out create has not shown up) and
   deletes the rules that appeared during this run and exactly duplicate the one kept. The rule kept is
   chosen the same way by every run (:func:`ga4kit.admin.translate.choose_rule`), so two runs on two
   machines that raced each delete the same extra, never both rules. Rules that existed before the run
   are never deleted here: `plan` shows them as duplicates and ``apply --prune`` deletes them. This also
   covers what no lock on this machine can: two machines' runs whose creates both land before either
   verification read. A create that commits after the verification is left for the next `plan` to show.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ga4kit.admin import translate as R
from ga4kit.admin.plan import read_property, service_level_cap
from ga4kit.properties import list_event_create_rules, list_key_events
from ga4kit.admin.types import (
    CREATE, DELETE, DONE, DUPLICATE, FAILED, KEY_EVENT, RULE, SKIPPED, UPDATE, Action, CapCheck, ErrorInfo,
    KeyEventSpec, Outcome, Plan, PropertyPlan, PropertyResult, Result, RuleSpec,
)
from ga4kit.errors import AlreadyExistsError, ApiError, NotFoundError
from ga4kit.executor import DEFAULT_CONCURRENCY, Interrupted, guard, run_per_property

TRANSIENT = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "ABORTED"})
# After one of these nothing else on the property can succeed: stop writing to it.
STOPS_PROPERTY = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED", "RESOURCE_EXHAUSTED"}) | TRANSIENT
# A call that ran out of time may still be carried out by GA4 after the client stopped waiting.
OUTCOME_UNKNOWN = "DEADLINE_EXCEEDED"

PACING_NOTE_EVERY = 30.0  # seconds between two "pacing writes" notes
LONG_WAIT = 2.0  # a retry pause at least this long is reported

OnWait = Callable[[float | None, str], None]


@dataclass(frozen=True)
class WritePolicy:
    """How writes are paced and retried.

    Transient errors: exponential backoff with jitter, ``attempts`` tries within ``deadline`` seconds.
    RESOURCE_EXHAUSTED (GA4's per-minute Admin write quotas): wait ``quota_wait`` seconds, at most
    ``quota_waits`` times. Pacing: a token bucket of ``burst`` writes refilled at ``writes_per_minute``, so
    no 60-second window holds more than ``burst + writes_per_minute`` writes: 175 by default, under GA4's
    180 writes a minute per user (and 600 per project). ``writes_per_minute=0`` turns pacing off.
    After a create timed out, ``landed_checks`` reads (pauses doubling from ``initial``) look for it before
    creating again; ``settle`` is how long the final read of a property's rules waits for a timed-out
    rule create to show up. ``lock_timeout``: how long to wait for another run on this machine that is
    writing to the same property (None: as long as it takes).
    """

    attempts: int = 8
    initial: float = 0.5
    maximum: float = 16.0
    deadline: float = 120.0
    quota_waits: int = 3
    quota_wait: float = 30.0
    writes_per_minute: float = 115.0
    burst: int = 60
    landed_checks: int = 4
    settle: float = 10.0
    lock_timeout: float | None = 600.0


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`apply`. ``result`` holds every outcome so far (the property being written
    last included); ``in_flight`` is the write that was under way (it may still land), the first of
    ``in_flight_all`` when several properties were being written; ``planned`` is how many writes the plan
    had."""

    def __init__(self, result: Result, planned: int, in_flight: Action | None = None,
                 in_flight_all: list[Action] | None = None):
        super().__init__("apply interrupted")
        self.result = result
        self.planned = planned
        self.in_flight = in_flight
        self.in_flight_all = in_flight_all if in_flight_all is not None else ([in_flight] if in_flight else [])

    @property
    def done(self) -> int:
        return sum(1 for p in self.result.properties for o in p.outcomes if o.status == DONE)


class _Waits:
    """Tells the caller about waits worth knowing (``on_wait(seconds or None, message)``)."""

    def __init__(self, on_wait: OnWait | None):
        self.on_wait = on_wait

    def tell(self, seconds: float | None, message: str) -> None:
        if self.on_wait is not None:
            self.on_wait(seconds, message)


class _Pacer:
    """A token bucket: ``burst`` writes at once, then ``per_minute`` a minute; one for every thread of a run.

    A write short of a token reserves the next one (the bucket goes below zero) and sleeps outside the
    lock until it is due, so threads queue up in order and the bucket's bound holds for all of them.
    """

    def __init__(self, per_minute: float, burst: int, waits: _Waits | None = None,
                 left: Callable[[], int] | None = None):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, float(burst))
        self.tokens = self.capacity
        self.last = time.monotonic()
        self.waits = waits
        self.left = left
        self.noted: float | None = None
        self._lock = threading.Lock()

    def take(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
            self.tokens -= 1.0
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
            tell = wait > 0 and self._due(now)
        if tell:
            self._note(wait)
        if wait > 0:
            time.sleep(wait)

    def _due(self, now: float) -> bool:
        if self.waits is None or (self.noted is not None and now - self.noted < PACING_NOTE_EVERY):
            return False
        self.noted = now
        return True

    def _note(self, wait: float) -> None:
        left = max(1, self.left()) if self.left is not None else 1
        total = wait + (left - 1) / self.rate
        self.waits.tell(total, f"Pacing writes under GA4's 180 writes/min per user: {left} write"
                               f"{'s' if left != 1 else ''} to go, about {_secs(total)} more.")


def _secs(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{max(1, round(seconds))} s"


@dataclass
class _Run:
    """State shared by every property of one apply."""

    policy: WritePolicy
    waits: _Waits
    planned: int
    attempted: int = 0
    pacer: _Pacer | None = None
    stop: threading.Event = field(default_factory=threading.Event)  # set on Ctrl-C: start no more writes
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attempt(self) -> None:
        with self._lock:
            self.attempted += 1


def apply(plan: Plan, clients: Any, *, policy: WritePolicy | None = None,
          on_property: Callable[[PropertyResult], None] | None = None,
          on_outcome: Callable[[PropertyPlan, Outcome], None] | None = None,
          on_wait: OnWait | None = None, lock: bool = True, concurrency: int = DEFAULT_CONCURRENCY) -> Result:
    """Apply ``plan`` with ``clients`` (built with write=True). Never raises for a GA4 failure: each
    property's outcome, and each action's, is in the returned :class:`Result` (in plan order).

    ``on_wait(seconds, message)`` hears of waits a person should know about: another run holding the
    property's lock (seconds None), pacing, exhausted write quota, long retry pauses. ``lock=False`` skips
    the per-property lock (only for callers that serialise runs themselves). ``concurrency``: properties
    written at once. ``on_property`` is called in the calling thread as each property finishes;
    ``on_outcome`` and ``on_wait`` in the thread writing the property. Ctrl-C raises
    :class:`ApplyInterrupted` carrying the outcomes so far.
    """
    policy = policy or WritePolicy()
    waits = _Waits(on_wait)
    run = _Run(policy, waits, planned=sum(len(p.writes) for p in plan.properties if p.error is None))
    # Writes to go, the one waiting for the pacer included.
    run.pacer = _Pacer(policy.writes_per_minute, policy.burst, waits, lambda: run.planned - run.attempted + 1)
    clients = guard(clients)
    appliers: dict[int, _Applier] = {}

    def one(i: int) -> PropertyResult:
        pp = plan.properties[i]
        if pp.error is not None:
            return PropertyResult(pp.property, error=pp.error,
                                  outcomes=[Outcome(a, SKIPPED, "not attempted: " + pp.error.message)
                                            for a in pp.writes])
        if not pp.writes:
            return PropertyResult(pp.property, outcomes=[_left_alone(a) for a in pp.changes])
        applier = appliers[i] = _Applier(pp, clients, run, on_outcome)
        return applier.run_locked() if lock else applier.run()

    try:
        done = run_per_property(range(len(plan.properties)), one, max_workers=concurrency, stop=run.stop,
                                on_done=(lambda d: on_property(d.value)) if on_property is not None else None)
    except Interrupted as exc:
        result, in_flight = _close_interrupted(plan, exc.done, appliers)
        raise ApplyInterrupted(result, run.planned, in_flight[0] if in_flight else None, in_flight) from None
    return Result(properties=[d.value for d in done])


INTERRUPTED = ErrorInfo("INTERRUPTED", "Interrupted before every write to this property was done.",
                        "Run `ga4kit apply` again to finish: it picks up where this stopped.")


def _close_interrupted(plan: Plan, done: list, appliers: dict[int, "_Applier"]) -> tuple[Result, list[Action]]:
    """The result after Ctrl-C, in plan order: finished properties as they are; a property being written
    with what it did so far, the write under way as maybe landing and the rest skipped, and INTERRUPTED;
    properties not started with every write skipped. Also the writes that were under way."""
    result = Result(properties=[])
    in_flight: list[Action] = []
    for i, pp in enumerate(plan.properties):
        if done[i] is not None:
            result.properties.append(done[i].value)
        elif i in appliers:
            pr, flying = appliers[i].interrupted()
            result.properties.append(pr)
            if flying is not None:
                in_flight.append(flying)
        else:
            result.properties.append(PropertyResult(
                pp.property, error=pp.error or INTERRUPTED,
                outcomes=[Outcome(a, SKIPPED, "not attempted: interrupted") for a in pp.writes]))
    return result, in_flight


def _left_alone(a: Action) -> Outcome:
    return Outcome(a, SKIPPED, "left alone: a duplicate rule; `ga4kit apply --prune` deletes it")


def _order(a: Action) -> int:
    if a.op == DELETE:
        return 0
    if a.kind == RULE:
        return 1
    if a.op == UPDATE:
        return 2
    return 3


@dataclass
class _RuleCreate:
    """What one rule create of this run did, for the verification read."""

    action: Action
    before: set[str]  # the destination's rules at the read just before creating
    answered: list[str] = field(default_factory=list)  # rules GA4 said it created
    lost: int = 0  # creates that timed out: GA4 may have carried them out, even later


class _Applier:
    def __init__(self, pp: PropertyPlan, clients: Any, run: _Run, on_outcome):
        self.pp = pp
        self.stop = run.stop
        self.run_state = run
        self.pacer = run.pacer
        self.waits = run.waits
        self.ref = pp.property
        self.clients = clients
        self.policy = run.policy
        self.on_outcome = on_outcome
        self.retries = 0
        self.pr = PropertyResult(self.ref)
        self.in_flight: Action | None = None
        self.rule_creates: dict[str, _RuleCreate] = {}

    # --- driver --------------------------------------------------------------------------------------
    def run_locked(self) -> PropertyResult:
        from ga4kit.locking import FileLock, LockTimeout, property_lock_path

        lock = FileLock(property_lock_path(self.ref.id), timeout=self.policy.lock_timeout,
                        what=f"property {self.ref.display}", on_wait=lambda msg: self.waits.tell(None, msg))
        try:
            lock.acquire()
        except LockTimeout as exc:
            self.pr.error = ErrorInfo.from_exception(exc)
            self.pr.outcomes = [Outcome(a, SKIPPED, "not attempted: another run held the property's lock")
                                for a in self.pp.writes]
            return self.pr
        try:
            return self.run()
        finally:
            lock.release()

    def run(self) -> PropertyResult:
        pr = self.pr
        changes = sorted(self.pp.writes, key=_order)
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
            if self.stop.is_set():
                return pr  # Ctrl-C: apply() reports this property from what is recorded so far
            if stop is not None:
                out = Outcome(action, SKIPPED, f"not attempted: {stop}")
            else:
                self.retries = 0
                self.in_flight = action
                self.run_state.attempt()
                try:
                    out = self._do(action)
                except ApiError as exc:
                    out = Outcome(action, FAILED, str(exc), error=ErrorInfo.from_exception(exc))
                    if exc.status in STOPS_PROPERTY:
                        stop = f"an earlier write to this property failed with {exc.status}"
                        pr.error = ErrorInfo.from_exception(exc)
                self.in_flight = None
                if self.retries and out.status == DONE:
                    out = _with_note(out, f"after {self.retries} retr{'y' if self.retries == 1 else 'ies'}")
            self._record(out)
        for a in self.pp.changes:
            if a.op == DUPLICATE:
                self._record(_left_alone(a))
        if self.rule_creates and not self.stop.is_set():
            self._verify_rules()
        return pr

    def interrupted(self) -> tuple[PropertyResult, Action | None]:
        """A copy of this property's result so far, completed for Ctrl-C, and the write under way (the
        thread may still be in it: its own result is left alone)."""
        in_flight = self.in_flight
        outcomes = list(self.pr.outcomes)
        started = {id(o.action) for o in outcomes}
        for a in sorted(self.pp.writes, key=_order):
            if id(a) in started:
                continue
            note = ("interrupted while being written: it may still land; the next apply or plan sees it"
                    if a is in_flight else "not attempted: interrupted")
            outcomes.append(Outcome(a, SKIPPED, note))
        return PropertyResult(self.ref, outcomes=outcomes, error=self.pr.error or INTERRUPTED), in_flight

    def _record(self, out: Outcome) -> None:
        self.pr.outcomes.append(out)
        if self.on_outcome is not None:
            self.on_outcome(self.pp, out)

    def _fresh_cap(self, level: str, existing: list[Any]) -> CapCheck:
        by_event = {ke.event_name: ke for ke in existing}
        adding = sum(1 for a in self.pp.writes
                     if a.kind == KEY_EVENT and a.op == CREATE and a.custom and a.event not in by_event)
        removing = sum(1 for a in self.pp.writes
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
            if a.op == DELETE:
                return self._delete_rule(a)
        raise ValueError(f"cannot apply {a.op} {a.kind}")

    # --- retries -------------------------------------------------------------------------------------
    def _retrying(self, call: Callable[[], Outcome], landed: Callable[[], Outcome | None] | None = None,
                  on_lost: Callable[[], None] | None = None) -> Outcome:
        """The write ``call``, paced, with retries on transient errors and waits on exhausted quota.

        Before each retry ``landed`` may say the earlier attempt was carried out after all; after a
        timeout it is asked ``landed_checks`` times with growing pauses (GA4 may still be working on
        it). ``on_lost`` hears of every attempt that timed out."""
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
                status = exc.status
                if status == OUTCOME_UNKNOWN and on_lost is not None:
                    on_lost()
                if status == "RESOURCE_EXHAUSTED" and quota_waits < policy.quota_waits:
                    quota_waits += 1
                    self.waits.tell(policy.quota_wait,
                                    f"GA4 write quota exhausted: waiting {_secs(policy.quota_wait)} "
                                    f"({quota_waits} of {policy.quota_waits}).")
                    time.sleep(policy.quota_wait)
                elif status not in TRANSIENT or attempt >= policy.attempts or self.stop.is_set() or (
                        time.monotonic() - start + delay > policy.deadline):
                    raise
                else:
                    pause = delay * random.uniform(0.5, 1.0)
                    if pause >= LONG_WAIT:
                        self.waits.tell(pause, f"GA4 answered {status}: trying again in {_secs(pause)} "
                                               f"(attempt {attempt + 1} of {policy.attempts}).")
                    time.sleep(pause)
                    delay = min(delay * 2, policy.maximum)
            self.retries += 1
            if landed is not None:
                found = self._look(landed, policy.landed_checks if status == OUTCOME_UNKNOWN else 1)
                if found is not None:
                    return found

    def _look(self, landed: Callable[[], Outcome | None], checks: int) -> Outcome | None:
        pause = self.policy.initial
        for i in range(max(1, checks)):
            if i:
                time.sleep(pause)
                pause = min(pause * 2, self.policy.maximum)
            try:
                found = landed()
            except ApiError as exc:
                if exc.status not in TRANSIENT:
                    raise
                found = None
            if found is not None:
                return found
        return None

    # --- key events ----------------------------------------------------------------------------------
    def _find_key_event(self, event: str) -> Any | None:
        for ke in list_key_events(self.clients, self.ref.id):
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

    def _list_rules(self, destination: str) -> list[Any]:
        return [r for r in list_event_create_rules(self.clients, self._stream_name)
                if r.destination_event == destination]

    def _create_rule(self, a: Action) -> Outcome:
        spec: RuleSpec = a.desired  # type: ignore[assignment]

        def landed() -> Outcome | None:
            found = self._list_rules(spec.destination_event)
            return self._reconcile_rule(a, R.choose_rule(found, spec)) if found else None

        # A rule has no unique key in GA4: read again right before creating (under the property lock), so a
        # rule created since the plan, by an earlier run or another machine, is never created twice.
        found = self._list_rules(spec.destination_event)
        if found:
            return self._reconcile_rule(a, R.choose_rule(found, spec))
        track = self.rule_creates.setdefault(spec.destination_event, _RuleCreate(a, set()))

        def call() -> Outcome:
            rule = self.clients.admin_alpha.create_event_create_rule(
                parent=self._stream_name, event_create_rule=R.rule_proto(spec), retry=None)
            track.answered.append(rule.name)
            return Outcome(a, DONE, None, rule.name)

        def lost() -> None:
            track.lost += 1

        return self._retrying(call, landed, lost)

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

    def _delete_rule(self, a: Action, name: str | None = None) -> Outcome:
        target = name or a.resource

        def call() -> Outcome:
            try:
                self.clients.admin_alpha.delete_event_create_rule(name=target, retry=None)
            except NotFoundError:
                return Outcome(a, DONE, "it was gone already", target)
            return Outcome(a, DONE, None, target)

        return self._retrying(call)

    # --- the verification read -----------------------------------------------------------------------
    def _verify_rules(self) -> None:
        """Read the rules this run created again and delete exact duplicates that appeared meanwhile
        (see the module docstring); wait up to ``settle`` seconds for timed-out creates to show up."""
        try:
            current = self._settled_rules()
        except ApiError as exc:
            for dest, track in self.rule_creates.items():
                self._amend(track.action, f"the rules could not be read again to check for duplicates "
                                          f"({exc.status}); run `ga4kit plan` to check")
            return
        for dest, track in self.rule_creates.items():
            found = [r for r in current if r.destination_event == dest]
            if not found:
                continue
            keep = R.choose_rule(found, track.action.desired)  # type: ignore[arg-type]
            new = [r for r in found if r.name not in track.before]
            extras = [r for r in new if r.name != keep.name and R.same_rule(r, keep)]
            for r in extras:
                act = Action(RULE, DELETE, dest, current=R.rule_from_proto(r), resource=r.name, stream=self.pp.stream,
                             note="an exact duplicate that appeared during this apply")
                self.in_flight = act
                try:
                    out = self._delete_rule(act, r.name)
                    out = _with_note(out, "an exact duplicate of the rule kept, left by a create whose answer "
                                          "was lost (or by another run at the same time)")
                except ApiError as exc:
                    out = Outcome(act, FAILED, f"could not delete a duplicate rule {r.name}: {exc}",
                                  error=ErrorInfo.from_exception(exc))
                self.in_flight = None
                self._record(out)
            self._retarget(track.action, keep.name)
            others = [r for r in new if r.name != keep.name and not R.same_rule(r, keep)]
            if others:
                self._amend(track.action, f"{len(others)} other rule(s) for {dest} with different conditions "
                                          "appeared meanwhile; `ga4kit plan` shows them")
            if track.lost and len(new) < len(track.answered) + track.lost:
                self._amend(track.action, "a create timed out and has not appeared; if it lands later, "
                                          "`ga4kit plan` shows it as a duplicate and `ga4kit apply --prune` "
                                          "deletes it")

    def _settled_rules(self) -> list[Any]:
        def read() -> list[Any]:
            return list_event_create_rules(self.clients, self._stream_name)

        def missing(rules: list[Any]) -> int:
            n = 0
            for dest, t in self.rule_creates.items():
                new = sum(1 for r in rules if r.destination_event == dest and r.name not in t.before)
                if t.lost:
                    n += max(0, len(t.answered) + t.lost - new)
            return n

        rules = read()
        if not missing(rules):
            return rules
        deadline = time.monotonic() + self.policy.settle
        self.waits.tell(self.policy.settle,
                        f"Property {self.ref.display}: {missing(rules)} rule create(s) timed out without an "
                        f"answer; checking for up to {_secs(self.policy.settle)} whether GA4 carries them out "
                        "late, to delete any duplicate.")
        pause = self.policy.initial
        while missing(rules) and time.monotonic() + pause <= deadline:
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            rules = read()
        return rules

    def _index(self, action: Action) -> int | None:
        for i, o in enumerate(self.pr.outcomes):
            if o.action is action:
                return i
        return None

    def _amend(self, action: Action, note: str) -> None:
        i = self._index(action)
        if i is not None:
            self.pr.outcomes[i] = _with_note(self.pr.outcomes[i], note)

    def _retarget(self, action: Action, name: str) -> None:
        """Make the create's outcome name the rule kept; a create that failed on timeouts but landed after
        all is done."""
        i = self._index(action)
        if i is None:
            return
        o = self.pr.outcomes[i]
        if o.status == FAILED:
            self.pr.outcomes[i] = Outcome(o.action, DONE, "it timed out, but GA4 carried it out after all", name)
        elif o.status == DONE and o.resource != name:
            self.pr.outcomes[i] = Outcome(o.action, o.status, o.message, name, o.error)


def _with_note(out: Outcome, note: str) -> Outcome:
    return Outcome(out.action, out.status, f"{out.message}; {note}" if out.message else note, out.resource,
                   out.error)

"""What a plan and an apply result are made of: plain dataclasses, no Google types, easy to render.

A :class:`Plan` holds one :class:`PropertyPlan` per property; each holds :class:`Action` objects for key
events and create-event rules. :func:`ga4kit.admin.apply` turns a plan into a :class:`Result` with one
:class:`PropertyResult` per property and one :class:`Outcome` per action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ga4kit.config.model import PropertyRef
from ga4kit.constants import PREMIUM_KEY_EVENT_CAP, STANDARD_KEY_EVENT_CAP

# Action.kind
KEY_EVENT = "key_event"
RULE = "event_create_rule"

# Action.op
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
UNCHANGED = "unchanged"
KEEP = "kept"  # present in the property, not declared, left alone
DUPLICATE = "duplicate"  # a second rule producing a declared event: drift, deleted only with --prune

CHANGE_OPS = (CREATE, UPDATE, DELETE)  # what apply writes
PENDING_OPS = CHANGE_OPS + (DUPLICATE,)  # what makes a plan "changes pending"

# Outcome.status
DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"
NOOP = "unchanged"

STANDARD_CAP = STANDARD_KEY_EVENT_CAP  # custom key events on a standard property
PREMIUM_CAP = PREMIUM_KEY_EVENT_CAP  # ... on a GA4 360 property


@dataclass(frozen=True)
class Change:
    """One field that differs: ``before`` in the property, ``after`` as declared."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict:
        return {"field": self.field, "from": self.before, "to": self.after}


@dataclass(frozen=True)
class KeyEventSpec:
    """A key event as declared (or as found): counting method and optional default value."""

    event: str
    counting_method: str  # "ONCE_PER_EVENT" | "ONCE_PER_SESSION"
    value: float | None = None
    currency: str | None = None

    def to_dict(self) -> dict:
        return {
            "counting_method": self.counting_method,
            "default_value": None if self.value is None else {"value": self.value, "currency": self.currency},
        }


@dataclass(frozen=True)
class ConditionSpec:
    """One MatchingCondition of a create-event rule, by GA4 names."""

    field: str
    comparison: str  # MatchingCondition.ComparisonType name, e.g. "CONTAINS"
    value: str
    negated: bool = False

    def to_dict(self) -> dict:
        return {"field": self.field, "comparison": self.comparison, "value": self.value, "negated": self.negated}


@dataclass(frozen=True)
class RuleSpec:
    """A create-event rule as declared (or as found)."""

    destination_event: str
    conditions: tuple[ConditionSpec, ...]
    copy_parameters: bool = True

    def to_dict(self) -> dict:
        return {
            "destination_event": self.destination_event,
            "conditions": [c.to_dict() for c in self.conditions],
            "copy_parameters": self.copy_parameters,
        }


@dataclass(frozen=True)
class Action:
    """One thing the plan does (or found nothing to do) for one key event or one rule."""

    kind: str  # KEY_EVENT | RULE
    op: str  # CREATE | UPDATE | DELETE | UNCHANGED | KEEP
    event: str  # the key event's event name, or the rule's destination event
    desired: KeyEventSpec | RuleSpec | None = None  # None for DELETE and KEEP
    current: KeyEventSpec | RuleSpec | None = None  # None for CREATE
    resource: str | None = None  # existing resource name (properties/P/keyEvents/K, .../eventCreateRules/R)
    changes: tuple[Change, ...] = ()
    note: str | None = None
    stream: str | None = None  # data stream id, for rules
    custom: bool = True  # a custom key event (counts toward the cap)
    deletable: bool = True

    @property
    def is_change(self) -> bool:
        """Drift the plan shows as pending (a write, or a duplicate rule left for --prune)."""
        return self.op in PENDING_OPS

    @property
    def is_write(self) -> bool:
        return self.op in CHANGE_OPS

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"event": self.event, "action": self.op, "name": self.resource}
        if self.kind == RULE:
            out["stream"] = self.stream
        out["desired"] = self.desired.to_dict() if self.desired is not None else None
        out["current"] = self.current.to_dict() if self.current is not None else None
        out["changes"] = [c.to_dict() for c in self.changes]
        if self.kind == KEY_EVENT:
            out["custom"] = self.custom
            out["deletable"] = self.deletable
        out["note"] = self.note
        return out


@dataclass(frozen=True)
class ErrorInfo:
    """Why a property could not be planned or applied."""

    status: str  # gRPC status name ("PERMISSION_DENIED"), or "CAP_EXCEEDED", "PLAN_ERROR"
    message: str
    hint: str | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> "ErrorInfo":
        status = getattr(exc, "status", None)
        if status is None:
            from ga4kit.errors import CapExceededError
            from ga4kit.locking import LockTimeout

            status = ("CAP_EXCEEDED" if isinstance(exc, CapExceededError)
                      else "LOCK_TIMEOUT" if isinstance(exc, LockTimeout) else "PLAN_ERROR")
        return cls(status=status, message=getattr(exc, "message", None) or str(exc), hint=getattr(exc, "hint", None))

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict:
        return {"status": self.status, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class CapCheck:
    """The custom key event cap against what exists and what the plan would leave."""

    service_level: str  # "GOOGLE_ANALYTICS_STANDARD" | "GOOGLE_ANALYTICS_360" | ...
    cap: int
    existing: int  # custom key events in the property now
    adding: int  # custom key events the plan creates
    removing: int  # custom key events the plan deletes (--prune)

    @property
    def after(self) -> int:
        return self.existing + self.adding - self.removing

    @property
    def exceeded(self) -> bool:
        return self.adding > 0 and self.after > self.cap

    def message(self, prop: str) -> str:
        return (f"Property {prop} allows {self.cap} custom key events "
                f"({'360' if self.cap == PREMIUM_CAP else 'standard'} property); it has {self.existing} and the "
                f"plan adds {self.adding}" + (f" and removes {self.removing}" if self.removing else "")
                + f", which makes {self.after}.")

    HINT = ("Remove goals from the goals file, or delete key events no longer needed in the property "
            "(ga4kit apply --prune deletes the undeclared ones), then run again.")

    def to_dict(self) -> dict:
        return {"service_level": self.service_level, "cap": self.cap, "existing": self.existing,
                "adding": self.adding, "removing": self.removing, "after": self.after, "exceeded": self.exceeded}


# PlanWarning.kind
EVENT_NOT_SEEN = "event_not_seen"  # a goal's event (or a derived goal's source) had no events lately
NO_EVENTS = "no_events"  # the property received no events at all lately: names could not be checked
EVENT_CHECK_FAILED = "event_check_failed"  # the Data API could not be asked


@dataclass(frozen=True)
class PlanWarning:
    """Something the plan can go ahead with but a person should look at (e.g. a goal event never seen)."""

    kind: str
    message: str
    event: str | None = None
    suggestion: str | None = None  # did you mean ...?

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"kind": self.kind, "event": self.event, "suggestion": self.suggestion, "message": self.message}


@dataclass
class PropertyPlan:
    """The plan for one property. ``error`` set means nothing will be written to it."""

    property: PropertyRef
    actions: list[Action] = field(default_factory=list)
    cap: CapCheck | None = None
    stream: str | None = None  # web data stream id the rules live on, when the goals derive any
    error: ErrorInfo | None = None
    warnings: list[PlanWarning] = field(default_factory=list)

    @property
    def key_events(self) -> list[Action]:
        return [a for a in self.actions if a.kind == KEY_EVENT]

    @property
    def rules(self) -> list[Action]:
        return [a for a in self.actions if a.kind == RULE]

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.is_change]

    @property
    def writes(self) -> list[Action]:
        """The actions apply writes (creates, updates, deletes); a duplicate without --prune is not one."""
        return [a for a in self.actions if a.is_write]

    @property
    def has_changes(self) -> bool:
        return self.error is None and bool(self.changes)

    @property
    def has_writes(self) -> bool:
        return self.error is None and bool(self.writes)

    def count(self, op: str) -> int:
        return sum(1 for a in self.actions if a.op == op)


@dataclass
class Plan:
    """What ``apply`` would do on every property of a goals file."""

    properties: list[PropertyPlan]
    prune: bool = False
    source: str | None = None

    @property
    def has_changes(self) -> bool:
        return any(p.has_changes for p in self.properties)

    @property
    def has_writes(self) -> bool:
        return any(p.has_writes for p in self.properties)

    @property
    def has_errors(self) -> bool:
        return any(p.error is not None for p in self.properties)

    @property
    def warnings(self) -> list[tuple[str, PlanWarning]]:
        """Every property's warnings as (property id, warning)."""
        return [(p.property.id, w) for p in self.properties for w in p.warnings]

    def property(self, property_id: str) -> PropertyPlan:
        for p in self.properties:
            if p.property.id == property_id:
                return p
        raise KeyError(property_id)

    def summary(self) -> dict:
        ok = [p for p in self.properties if p.error is None]
        return {
            "properties": len(self.properties),
            "create": sum(p.count(CREATE) for p in ok),
            "update": sum(p.count(UPDATE) for p in ok),
            "delete": sum(p.count(DELETE) for p in ok),
            "unchanged": sum(p.count(UNCHANGED) for p in ok),
            "kept": sum(p.count(KEEP) for p in ok),
            "duplicate": sum(p.count(DUPLICATE) for p in ok),
            "errors": sum(1 for p in self.properties if p.error is not None),
            "warnings": sum(len(p.warnings) for p in self.properties),
        }


@dataclass(frozen=True)
class Outcome:
    """What happened to one action."""

    action: Action
    status: str  # DONE | FAILED | SKIPPED | NOOP
    message: str | None = None
    resource: str | None = None  # the resource written (e.g. the new key event's name)
    error: ErrorInfo | None = field(default=None, compare=False)  # why it failed (FAILED only)

    def to_dict(self) -> dict:
        return {"kind": self.action.kind, "event": self.action.event, "action": self.action.op,
                "status": self.status, "name": self.resource or self.action.resource, "message": self.message}


@dataclass
class PropertyResult:
    """What apply did on one property."""

    property: PropertyRef
    outcomes: list[Outcome] = field(default_factory=list)
    error: ErrorInfo | None = None  # the property was refused, could not be planned, or failed part-way

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    @property
    def status(self) -> str:
        """``applied``, ``unchanged``, ``partial`` (some writes done, some failed), ``failed``, ``refused``
        (the key event cap) or ``interrupted`` (Ctrl-C; some of its writes may be done)."""
        done = sum(1 for o in self.outcomes if o.status == DONE)
        if self.error is not None and self.error.status == "CAP_EXCEEDED":
            return "refused"
        if self.error is not None and self.error.status == "INTERRUPTED":
            return "interrupted"
        if self.ok:
            return "applied" if done else "unchanged"
        return "partial" if done else "failed"


@dataclass
class Result:
    """The outcome of applying a plan: one entry per property, in plan order."""

    properties: list[PropertyResult]

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.properties)

    @property
    def state(self) -> str:
        """``ok`` (every property applied or unchanged), ``partial`` (some failed, but other properties
        are fine or some writes landed) or ``failed`` (nothing could be done)."""
        if self.ok:
            return "ok"
        fine = any(p.ok for p in self.properties)
        wrote = any(o.status == DONE for p in self.properties for o in p.outcomes)
        return "partial" if fine or wrote else "failed"

    @property
    def errors(self) -> list[tuple[str, ErrorInfo]]:
        """Why each failed property failed, as (property id, error): its error, else its first failed write's."""
        out = []
        for p in self.properties:
            if p.ok:
                continue
            err = p.error or next((o.error for o in p.failed if o.error is not None), None)
            if err is None and p.failed:
                err = ErrorInfo("ERROR", p.failed[0].message or "a write failed")
            if err is not None:
                out.append((p.property.id, err))
        return out

    def property(self, property_id: str) -> PropertyResult:
        for p in self.properties:
            if p.property.id == property_id:
                return p
        raise KeyError(property_id)

    def summary(self) -> dict:
        outs = [o for p in self.properties for o in p.outcomes]
        return {
            "properties": len(self.properties),
            "applied": sum(1 for p in self.properties if p.status == "applied"),
            "unchanged": sum(1 for p in self.properties if p.status == "unchanged"),
            "failed": sum(1 for p in self.properties if p.status in ("failed", "partial", "refused")),
            "interrupted": sum(1 for p in self.properties if p.status == "interrupted"),
            "writes_done": sum(1 for o in outs if o.status == DONE),
            "writes_failed": sum(1 for o in outs if o.status == FAILED),
            "writes_skipped": sum(1 for o in outs if o.status == SKIPPED),
        }

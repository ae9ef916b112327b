"""Goals to GA4 objects and back: key event specs, create-event rule specs, and how to compare them.

A goal with ``derive: {source, where}`` becomes an EventCreateRule (admin v1alpha) on a web data stream:
``destination_event = goal.event``, conditions ``event_name EQUALS source`` followed by every ``where``
condition, ``source_copy_parameters = copy_parameters``. A rule in the property is recognised by its
destination event (one rule per destination per stream), so re-running updates it instead of adding one.

GA4 gives a rule no unique key (two creates with the same destination both succeed) and no creation time.
When a destination has several rules, :func:`choose_rule` picks the one to keep the same way in every
run, on every machine: the first, in id order, whose conditions match the goals file, else the first in
id order. Two runs that each clean up after a race therefore delete the same extras, never both rules.
"""

from __future__ import annotations

import math
from typing import Any

from ga4kit.admin.types import Change, ConditionSpec, KeyEventSpec, RuleSpec
from ga4kit.config.model import CONDITION_OPERATORS, Goal
from ga4kit.constants import COUNTING, DEFAULT_KEY_EVENTS  # noqa: F401 (plan reads R.DEFAULT_KEY_EVENTS)
from ga4kit.errors import PlanError


def comparison(operator: str) -> tuple[str, bool]:
    """GA4 ComparisonType name for a goals-file operator, and whether negation flips."""
    if operator not in CONDITION_OPERATORS:
        raise PlanError(f"The derive operator {operator!r} has no GA4 equivalent.",
                        f"Use one of: {', '.join(sorted(CONDITION_OPERATORS))}.")
    return CONDITION_OPERATORS[operator]


def key_event_spec(goal: Goal, default_currency: str | None = None) -> KeyEventSpec:
    counting = COUNTING.get(str(goal.counting).lower())
    if counting is None:
        raise PlanError(f"Goal {goal.event!r} has the counting method {goal.counting!r}.",
                        "Use once_per_event or once_per_session.")
    if goal.value is None:
        return KeyEventSpec(goal.event, counting)
    currency = goal.currency or default_currency
    if not currency:
        raise PlanError(f"Goal {goal.event!r} has a value but no currency; GA4 needs both for a default value.",
                        "Add `currency: EUR` (an ISO 4217 code) to the goal or to `defaults:`.")
    return KeyEventSpec(goal.event, counting, float(goal.value), currency.upper())


def rule_spec(goal: Goal) -> RuleSpec:
    d = goal.derive
    if d is None:
        raise ValueError(f"goal {goal.event} has no derive rule")
    conds = [ConditionSpec("event_name", "EQUALS", d.source, False)]
    for c in d.where:
        name, flip = comparison(c.operator)
        conds.append(ConditionSpec(c.param, name, str(c.value), bool(c.negated) != flip))
    if len(conds) > 10:
        raise PlanError(f"Goal {goal.event!r} derives from {len(conds)} conditions; GA4 allows 10 per rule "
                        "(the event name counts as one).", "Keep at most 9 `where` conditions.")
    return RuleSpec(goal.event, tuple(conds), bool(d.copy_parameters))


# --- reading GA4 objects ---------------------------------------------------------------------------

def enum_name(value: Any) -> str:
    name = getattr(value, "name", None)
    return name if name is not None else str(value)


def key_event_from_proto(ke: Any) -> KeyEventSpec:
    pb = type(ke).pb(ke)
    if pb.HasField("default_value"):
        return KeyEventSpec(ke.event_name, enum_name(ke.counting_method), float(ke.default_value.numeric_value),
                            ke.default_value.currency_code or None)
    return KeyEventSpec(ke.event_name, enum_name(ke.counting_method))


def rule_from_proto(rule: Any) -> RuleSpec:
    conds = tuple(ConditionSpec(c.field, enum_name(c.comparison_type), c.value, bool(c.negated))
                  for c in rule.event_conditions)
    return RuleSpec(rule.destination_event, conds, bool(rule.source_copy_parameters))


def rule_id_key(rule: Any) -> tuple:
    """Sort rules by id, numerically when the ids are numbers (GA4's are), so the order is stable."""
    rid = str(rule.name).rsplit("/", 1)[-1]
    return (0, len(rid), rid) if rid.isdigit() else (1, 0, rid)


def choose_rule(rules: list[Any], desired: RuleSpec) -> Any:
    """The rule to keep among several with ``desired``'s destination (see the module docstring)."""
    ordered = sorted(rules, key=rule_id_key)
    for r in ordered:
        if not rule_changes(rule_from_proto(r), desired) and not list(r.parameter_mutations):
            return r
    return ordered[0]


def same_rule(a: Any, b: Any) -> bool:
    """Whether two GA4 rules do exactly the same thing (an exact duplicate is safe to delete)."""
    def mutations(r: Any) -> list:
        return [(m.parameter, m.parameter_value) for m in r.parameter_mutations]

    return (a.destination_event == b.destination_event
            and not rule_changes(rule_from_proto(a), rule_from_proto(b)) and mutations(a) == mutations(b))


# --- comparing -------------------------------------------------------------------------------------

def number_text(value: float) -> str:
    """2.0 -> "2", 19.99 -> "19.99", 1234567.5 -> "1234567.5"."""
    return f"{value:.12g}"


def _value(spec: KeyEventSpec) -> dict | None:
    return None if spec.value is None else {"value": spec.value, "currency": spec.currency}


def key_event_changes(current: KeyEventSpec, desired: KeyEventSpec) -> tuple[Change, ...]:
    out = []
    if current.counting_method != desired.counting_method:
        out.append(Change("counting_method", current.counting_method, desired.counting_method))
    same_value = (current.value is None and desired.value is None) or (
        current.value is not None and desired.value is not None
        and math.isclose(current.value, desired.value, rel_tol=1e-9, abs_tol=1e-9)
        and (current.currency or "").upper() == (desired.currency or "").upper())
    if not same_value:
        out.append(Change("default_value", _value(current), _value(desired)))
    return tuple(out)


def _cond_key(c: ConditionSpec) -> tuple:
    return (c.field, c.comparison, c.value, c.negated)


def rule_changes(current: RuleSpec, desired: RuleSpec) -> tuple[Change, ...]:
    """Differences that matter: the set of conditions (order is irrelevant: all must match) and copying."""
    out = []
    if sorted(map(_cond_key, current.conditions)) != sorted(map(_cond_key, desired.conditions)):
        out.append(Change("event_conditions", [c.to_dict() for c in current.conditions],
                          [c.to_dict() for c in desired.conditions]))
    if current.copy_parameters != desired.copy_parameters:
        out.append(Change("source_copy_parameters", current.copy_parameters, desired.copy_parameters))
    return tuple(out)


_WORDS = {
    "EQUALS": "equals", "EQUALS_CASE_INSENSITIVE": "equals (any case)", "CONTAINS": "contains",
    "CONTAINS_CASE_INSENSITIVE": "contains (any case)", "STARTS_WITH": "starts with",
    "STARTS_WITH_CASE_INSENSITIVE": "starts with (any case)", "ENDS_WITH": "ends with",
    "ENDS_WITH_CASE_INSENSITIVE": "ends with (any case)", "GREATER_THAN": ">", "GREATER_THAN_OR_EQUAL": ">=",
    "LESS_THAN": "<", "LESS_THAN_OR_EQUAL": "<=", "REGULAR_EXPRESSION": "matches",
    "REGULAR_EXPRESSION_CASE_INSENSITIVE": "matches (any case)",
}


def describe_change(change: Change) -> str:
    """``field: before -> after`` in words."""
    def show(v: Any) -> str:
        if v is None:
            return "(none)"
        if change.field == "default_value":
            return f"{number_text(v['value'])} {v.get('currency') or ''}".strip()
        if change.field == "event_conditions":
            return describe_conditions(tuple(ConditionSpec(**c) for c in v))
        return str(v)

    return f"{change.field}: {show(change.before)} -> {show(change.after)}"


def describe_conditions(conds: tuple[ConditionSpec, ...]) -> str:
    parts = []
    for c in conds:
        word = _WORDS.get(c.comparison, c.comparison)
        parts.append(f"{c.field} {'not ' if c.negated else ''}{word} {c.value!r}")
    return " and ".join(parts)


def describe_rule(spec: RuleSpec) -> str:
    conds = list(spec.conditions)
    source = None
    if conds and conds[0].field == "event_name" and conds[0].comparison == "EQUALS" and not conds[0].negated:
        source = conds.pop(0).value
    text = f"from {source}" if source else "from any event"
    if conds:
        text += " where " + describe_conditions(tuple(conds))
    if not spec.copy_parameters:
        text += " (parameters not copied)"
    return text


# --- building GA4 objects --------------------------------------------------------------------------

def key_event_proto(spec: KeyEventSpec, name: str | None = None):
    from google.analytics.admin_v1beta import KeyEvent

    ke = KeyEvent(event_name=spec.event, counting_method=KeyEvent.CountingMethod[spec.counting_method])
    if name:
        ke.name = name
    if spec.value is not None:
        ke.default_value = KeyEvent.DefaultValue(numeric_value=spec.value, currency_code=spec.currency)
    return ke


def rule_proto(spec: RuleSpec, name: str | None = None):
    from google.analytics.admin_v1alpha import EventCreateRule, MatchingCondition

    rule = EventCreateRule(
        destination_event=spec.destination_event,
        event_conditions=[MatchingCondition(field=c.field,
                                            comparison_type=MatchingCondition.ComparisonType[c.comparison],
                                            value=c.value, negated=c.negated) for c in spec.conditions],
        source_copy_parameters=spec.copy_parameters,
    )
    if name:
        rule.name = name
    return rule

"""Compare a goals file with GA4 properties: what apply would create, update, delete or leave alone.

Read-only: it calls get_property, list_key_events, list_data_streams and list_event_create_rules, for
``concurrency`` properties at once (:mod:`ga4kit.executor`: Admin calls kept under GA4's per-minute
rate; the plan lists the properties in the order given). A property that cannot be read (permission
denied, not found) or whose plan cannot be applied (the key event cap, an ambiguous web stream) gets an
``error`` in its :class:`PropertyPlan`; the others are planned as usual.

Two rules producing the same declared event are drift: GA4 runs every rule, so each duplicate creates the
event again and its counts double. The plan shows the extra as ``duplicate`` (``delete`` with prune),
keeping the rule :func:`ga4kit.admin.translate.choose_rule` picks. Several rules for an event the goals file
does not declare are left alone (ga4kit does not own them and cannot tell a duplicate from a deliberate
pair of rules someone maintains by hand).

The event check (one Data API runReport per property, eventName x eventCount over the last 28 days) warns
about goals whose event was not seen, with a did-you-mean from the events that were: a typo such as
``add_to_crat`` would otherwise become a key event that never fires. A derived goal's own event cannot
exist before its rule does, so its source event is checked instead. A failed check is a warning, never
a failed plan.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Iterable

from ga4kit.admin import translate as R
from ga4kit.admin.types import (
    CREATE, DELETE, DUPLICATE, EVENT_CHECK_FAILED, EVENT_NOT_SEEN, KEEP, KEY_EVENT, NO_EVENTS, PREMIUM_CAP,
    RULE, STANDARD_CAP, UNCHANGED, UPDATE, Action, CapCheck, ErrorInfo, KeyEventSpec, Plan, PlanWarning,
    PropertyPlan, RuleSpec,
)
from ga4kit.config.model import Goal, GoalsConfig, PropertyRef
from ga4kit.errors import ApiError, Ga4kitError, PlanError
from ga4kit.executor import DEFAULT_CONCURRENCY, guard, run_per_property
from ga4kit.ids import stream_id
from ga4kit.properties import (
    get_property, list_data_streams, list_event_create_rules, list_key_events, select_properties, web_streams,
)


NOT_DELETABLE = "not in the goals file; kept (GA4 marks it not deletable, so --prune never deletes it)"
UNDECLARED = "not in the goals file; kept (apply --prune deletes it)"
UNDECLARED_RULE = "not in the goals file; rules are never deleted by ga4kit"
DUPLICATE_NOTE = ("a second rule producing {event}: GA4 creates the event once per rule, so its counts double; "
                  "{what}")

EVENT_CHECK_DAYS = 28


def desired_state(config: GoalsConfig) -> tuple[list[KeyEventSpec], list[RuleSpec]]:
    """Key events and rules as the goals file declares them; raises PlanError before any GA4 call."""
    currency = config.defaults.currency if config.defaults else None
    key_events = [R.key_event_spec(g, currency) for g in config.goals]
    rule_specs = [R.rule_spec(g) for g in config.goals if g.derive is not None]
    return key_events, rule_specs


def plan(config: GoalsConfig, clients: Any, *, properties: Iterable[Any] | None = None, prune: bool = False,
         check_events: bool = True, on_property: Callable[[PropertyPlan], None] | None = None,
         concurrency: int = DEFAULT_CONCURRENCY) -> Plan:
    """The plan for every property of ``config`` (or ``properties``, which override the file's).

    ``prune`` plans deleting key events the property has but the file does not declare (never one GA4
    marks not deletable) and duplicate rules of declared events. ``check_events`` asks the Data API once
    per property which events it received lately and warns about goals whose event was not among them.
    ``on_property`` is called (in the calling thread) as each property is planned, for progress.
    ``concurrency``: properties read at once.
    """
    refs = select_properties(config, properties)
    key_events, rule_specs = desired_state(config)
    clients = guard(clients)

    def one(ref: PropertyRef) -> PropertyPlan:
        try:
            pp = plan_property(ref, key_events, rule_specs, clients, prune=prune)
        except Ga4kitError as exc:
            pp = PropertyPlan(property=ref, error=ErrorInfo.from_exception(exc))
        if check_events and (pp.error is None or pp.cap is not None):
            pp.warnings.extend(check_event_names(ref, config.goals, clients))
        return pp

    done = run_per_property(refs, one, max_workers=concurrency,
                            on_done=(lambda d: on_property(d.value)) if on_property is not None else None)
    return Plan(properties=[d.value for d in done], prune=prune, source=config.source)


def service_level_cap(service_level: str) -> int:
    return PREMIUM_CAP if service_level == "GOOGLE_ANALYTICS_360" else STANDARD_CAP


def read_property(ref: PropertyRef, clients: Any) -> tuple[str, list[Any]]:
    """The property's service level and its key events (raises ApiError)."""
    return get_property(clients, ref.id).service_level, list_key_events(clients, ref.id)


def plan_property(ref: PropertyRef, key_events: list[KeyEventSpec], rule_specs: list[RuleSpec], clients: Any, *,
                  prune: bool = False) -> PropertyPlan:
    level, existing = read_property(ref, clients)
    pp = PropertyPlan(property=ref)
    pp.actions.extend(plan_key_events(key_events, existing, prune=prune))
    if rule_specs:
        stream = choose_stream(ref, clients)
        pp.stream = stream_id(stream)
        current = list_event_create_rules(clients, stream)
        pp.actions.extend(plan_rules(rule_specs, current, pp.stream, prune=prune))
    pp.cap = cap_check(level, existing, pp.actions)
    if pp.cap.exceeded:
        pp.error = ErrorInfo("CAP_EXCEEDED", pp.cap.message(ref.display), CapCheck.HINT)
    return pp


def cap_check(level: str, existing: list[Any], actions: list[Action]) -> CapCheck:
    return CapCheck(
        service_level=level,
        cap=service_level_cap(level),
        existing=sum(1 for ke in existing if ke.custom),
        adding=sum(1 for a in actions if a.kind == KEY_EVENT and a.op == CREATE and a.custom),
        removing=sum(1 for a in actions if a.kind == KEY_EVENT and a.op == DELETE and a.custom),
    )


def plan_key_events(desired: list[KeyEventSpec], existing: list[Any], *, prune: bool) -> list[Action]:
    by_event = {ke.event_name: ke for ke in existing}
    declared = {d.event for d in desired}
    actions: list[Action] = []
    for spec in desired:
        ke = by_event.get(spec.event)
        if ke is None:
            actions.append(Action(KEY_EVENT, CREATE, spec.event, desired=spec,
                                  custom=spec.event not in R.DEFAULT_KEY_EVENTS))
            continue
        current = R.key_event_from_proto(ke)
        changes = R.key_event_changes(current, spec)
        actions.append(Action(KEY_EVENT, UPDATE if changes else UNCHANGED, spec.event, desired=spec,
                              current=current, resource=ke.name, changes=changes, custom=bool(ke.custom),
                              deletable=bool(ke.deletable)))
    for ke in sorted(existing, key=lambda k: k.event_name):
        if ke.event_name in declared:
            continue
        current = R.key_event_from_proto(ke)
        if prune and ke.deletable:
            op, note = DELETE, None
        else:
            op, note = KEEP, (UNDECLARED if ke.deletable else NOT_DELETABLE)
        actions.append(Action(KEY_EVENT, op, ke.event_name, current=current, resource=ke.name, note=note,
                              custom=bool(ke.custom), deletable=bool(ke.deletable)))
    return actions


def plan_rules(desired: list[RuleSpec], current: list[Any], stream: str, *, prune: bool = False) -> list[Action]:
    by_dest: dict[str, list[Any]] = {}
    for r in sorted(current, key=R.rule_id_key):
        by_dest.setdefault(r.destination_event, []).append(r)
    actions: list[Action] = []
    for spec in desired:
        found = by_dest.pop(spec.destination_event, [])
        if not found:
            actions.append(Action(RULE, CREATE, spec.destination_event, desired=spec, stream=stream))
            continue
        keep = R.choose_rule(found, spec)
        cur = R.rule_from_proto(keep)
        changes = R.rule_changes(cur, spec)
        actions.append(Action(RULE, UPDATE if changes else UNCHANGED, spec.destination_event, desired=spec,
                              current=cur, resource=keep.name, changes=changes, stream=stream))
        for d in found:
            if d.name == keep.name:
                continue
            what = "deleted by --prune" if prune else "`ga4kit apply --prune` deletes it"
            actions.append(Action(RULE, DELETE if prune else DUPLICATE, d.destination_event,
                                  current=R.rule_from_proto(d), resource=d.name, stream=stream,
                                  note=DUPLICATE_NOTE.format(event=d.destination_event, what=what)))
    for dest in sorted(by_dest):
        for r in by_dest[dest]:
            actions.append(Action(RULE, KEEP, dest, current=R.rule_from_proto(r), resource=r.name, stream=stream,
                                  note=UNDECLARED_RULE))
    return actions


def choose_stream(ref: PropertyRef, clients: Any) -> str:
    """The web data stream (resource name) that holds the property's create-event rules."""
    streams = list_data_streams(clients, ref.id)
    web = web_streams(streams)
    if ref.stream:
        wanted = stream_id(ref.stream)
        for s in streams:
            if stream_id(s.name) == wanted:
                if s not in web:
                    raise PlanError(
                        f"Property {ref.display}: data stream {wanted} is not a web stream; create-event rules for "
                        "derived goals need a web stream.", _stream_hint(ref, web))
                return s.name
        raise PlanError(f"Property {ref.display} has no data stream {wanted}.", _stream_hint(ref, web))
    if len(web) == 1:
        return web[0].name
    if not web:
        raise PlanError(
            f"Property {ref.display} has no web data stream; the goals file derives goals from other events, "
            "which needs a create-event rule on a web stream.",
            "Add a web stream in GA4 (Admin > Data streams), or remove the `derive:` goals for this property.")
    raise PlanError(
        f"Property {ref.display} has {len(web)} web data streams "
        f"({', '.join(_describe_stream(s) for s in web)}); ga4kit does not guess which one gets the create-event "
        "rules.", _stream_hint(ref, web))


def _describe_stream(s: Any) -> str:
    uri = getattr(getattr(s, "web_stream_data", None), "default_uri", "") or ""
    label = s.display_name or uri
    return f"{stream_id(s.name)} {label!r}" if label else stream_id(s.name)


def _stream_hint(ref: PropertyRef, web: list[Any]) -> str:
    example = stream_id(web[0].name) if web else "STREAM_ID"
    return (f"Name the web stream for this property in the goals file: under `properties:` write "
            f"`- {{id: \"{ref.id}\", stream: \"{example}\"}}` (its web streams: "
            f"{', '.join(stream_id(s.name) for s in web) or 'none'}; GA4 shows them under Admin > Data streams).")


# --- event check -----------------------------------------------------------------------------------

def recent_events(ref: PropertyRef, clients: Any, days: int = EVENT_CHECK_DAYS) -> dict[str, int]:
    """Event name -> event count over the last ``days`` days (one runReport; raises ApiError)."""
    request = {
        "property": ref.name,
        "dimensions": [{"name": "eventName"}],
        "metrics": [{"name": "eventCount"}],
        "date_ranges": [{"start_date": f"{days}daysAgo", "end_date": "today"}],
        "limit": 10000,  # GA4 keeps at most 500 distinct event names per property
        "return_property_quota": True,
    }
    report = clients.data.run_report(request=request)
    out: dict[str, int] = {}
    for row in report.rows:
        try:
            count = int(float(row.metric_values[0].value))
        except (TypeError, ValueError):
            count = 0
        if count > 0:
            out[row.dimension_values[0].value] = count
    return out


def check_event_names(ref: PropertyRef, goals: list[Goal], clients: Any,
                      days: int = EVENT_CHECK_DAYS) -> list[PlanWarning]:
    """Warnings for goals whose event (a derived goal: its source event) was not seen lately."""
    if not goals:
        return []
    if getattr(clients, "data", None) is None:
        return [PlanWarning(EVENT_CHECK_FAILED, "The goals' event names were not checked (no Data API client).")]
    try:
        seen = recent_events(ref, clients, days)
    except ApiError as exc:
        return [PlanWarning(EVENT_CHECK_FAILED,
                            f"The goals' event names were not checked against the property's data (the Data API "
                            f"answered {exc.status}: {exc.message}). The plan is complete without "
                            "it; pass --no-event-check to skip the check.")]
    if not seen:
        return [PlanWarning(NO_EVENTS, f"The property received no events in the last {days} days, so the goals' "
                                       "event names could not be checked. Is the GA4 tag installed?")]
    out: list[PlanWarning] = []
    checked: set[str] = set()
    for g in goals:
        name = g.derive.source if g.derive is not None else g.event
        if name in seen or name in checked:
            continue
        checked.add(name)
        [guess] = difflib.get_close_matches(name, list(seen), n=1, cutoff=0.75) or [None]
        what = (f"The source event {name!r} of derived goal {g.event!r}" if g.derive is not None
                else f"Goal {name!r}")
        text = f"{what} was not seen in the last {days} days"
        text += f"; did you mean {guess!r}?" if guess else " (a typo, or an event not sent yet?)."
        out.append(PlanWarning(EVENT_NOT_SEEN, text, event=name, suggestion=guess))
    return out

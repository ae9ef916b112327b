"""Plans and results as text (terraform-like) and as JSON (stable keys, for scripts).

Text markers: ``+`` create, ``~`` update, ``-`` delete, ``=`` unchanged, ``.`` present but not declared
(kept), ``*`` a duplicate rule (a second rule producing a declared event; ``apply --prune`` deletes it),
``!`` an error, ``?`` a warning (e.g. a goal whose event was not seen lately).

`ga4kit plan --json` and `ga4kit apply --json` print the common envelope of every command
(``ga4kit.cli.common``, ``format_version`` 2)::

    {"format_version": 2, "command": "plan"|"apply", "ok": bool, "exit_code": int,
     "data": {...below...},
     "errors":   [{"property": "123", "status": "PERMISSION_DENIED"|"CAP_EXCEEDED"|..., "message", "hint"}],
     "warnings": [{"property": "123", "message": str}]}

``errors`` has one entry per property that could not be planned (plan) or applied (apply); ``warnings``
one per plan warning.

``data`` of a plan (``plan_to_dict``)::

    {"kind": "plan", "prune": bool, "source": str|null,
     "changes_pending": bool, "errors": bool,
     "summary": {"properties", "create", "update", "delete", "unchanged", "kept", "duplicate", "errors",
                 "warnings": int},
     "properties": [{
        "property": "123", "label": str|null, "status": "changes"|"no_changes"|"error",
        "error": null | {"status": "PERMISSION_DENIED"|"NOT_FOUND"|..., "message", "hint"},
        # status: the gRPC status name of a failed GA4 call, "CAP_EXCEEDED" (the key event cap), or
        # "PLAN_ERROR" (e.g. several web streams and none chosen in the goals file)
        "cap": null | {"service_level", "cap", "existing", "adding", "removing", "after", "exceeded"},
        "stream": str|null,                       # web data stream id holding the rules
        "warnings": [{"kind": "event_not_seen"|"no_events"|"event_check_failed", "event": str|null,
                      "suggestion": str|null, "message": str}],
        "key_events": [{"event", "action": "create"|"update"|"delete"|"unchanged"|"kept", "name": str|null,
                        "desired": null|{"counting_method", "default_value": null|{"value", "currency"}},
                        "current": same shape|null,
                        "changes": [{"field": "counting_method"|"default_value", "from", "to"}],
                        # counting_method: "ONCE_PER_EVENT"|"ONCE_PER_SESSION";
                        # default_value: null|{"value", "currency"}
                        "custom": bool, "deletable": bool, "note": str|null}],
        "rules": [{"event", "action": "create"|"update"|"delete"|"unchanged"|"kept"|"duplicate", "name",
                   "stream",
                   "desired": null|{"destination_event", "conditions": [{"field", "comparison", "value",
                                    "negated"}], "copy_parameters"},
                   "current": same shape|null,
                   "changes": [{"field": "event_conditions"|"source_copy_parameters", "from", "to"}],
                   # event_conditions: a list of conditions as above; source_copy_parameters: bool
                   "note": str|null}]}]}

A ``duplicate`` rule counts as a pending change (``changes_pending``; ``plan --detailed-exitcode`` exits 2).

``data`` of an apply (``result_to_dict``)::

    {"kind": "apply", "ok": bool, "state": "ok"|"partial"|"failed",
     "summary": {"properties", "applied", "unchanged", "failed", "interrupted", "writes_done",
                 "writes_failed", "writes_skipped": int},
     "properties": [{"property", "label",
                     "status": "applied"|"unchanged"|"partial"|"failed"|"refused"|"interrupted",
                     "error": null|{...as above},
                     "outcomes": [{"kind": "key_event"|"event_create_rule", "event", "action",
                                   "status": "done"|"failed"|"skipped", "name", "message"}]}],
     "plan": {...the plan's data above...}}

An apply's outcomes can include rule deletes the plan did not list: exact duplicates that appeared while
it wrote (see ``ga4kit.admin.apply``).
"""

from __future__ import annotations

from typing import Any

from ga4kit.admin.translate import describe_change, describe_rule, number_text
from ga4kit.admin.types import (
    CREATE, DELETE, DONE, DUPLICATE, FAILED, KEEP, KEY_EVENT, PREMIUM_CAP, RULE, SKIPPED, UNCHANGED, UPDATE,
    Action, KeyEventSpec, Plan, PropertyPlan, PropertyResult, Result,
)

MARK = {CREATE: "+", UPDATE: "~", DELETE: "-", UNCHANGED: "=", KEEP: ".", DUPLICATE: "*"}
COLOR = {CREATE: "green", UPDATE: "yellow", DELETE: "red", UNCHANGED: None, KEEP: None, DUPLICATE: "magenta"}


def _style(text: str, color: str | None = None, *, dim: bool = False, bold: bool = False, use: bool = True) -> str:
    if not use or (color is None and not dim and not bold):
        return text
    import click

    return click.style(text, fg=color, dim=dim, bold=bold)


# --- JSON ------------------------------------------------------------------------------------------

def property_plan_to_dict(pp: PropertyPlan) -> dict:
    status = "error" if pp.error is not None else ("changes" if pp.changes else "no_changes")
    return {
        "property": pp.property.id,
        "label": pp.property.label,
        "status": status,
        "error": pp.error.to_dict() if pp.error is not None else None,
        "cap": pp.cap.to_dict() if pp.cap is not None else None,
        "stream": pp.stream,
        "warnings": [w.to_dict() for w in pp.warnings],
        "key_events": [a.to_dict() for a in pp.key_events],
        "rules": [a.to_dict() for a in pp.rules],
    }


def plan_to_dict(plan: Plan) -> dict:
    return {
        "kind": "plan",
        "prune": plan.prune,
        "source": plan.source,
        "changes_pending": plan.has_changes,
        "errors": plan.has_errors,
        "summary": plan.summary(),
        "properties": [property_plan_to_dict(p) for p in plan.properties],
    }


def property_result_to_dict(pr: PropertyResult) -> dict:
    return {
        "property": pr.property.id,
        "label": pr.property.label,
        "status": pr.status,
        "error": pr.error.to_dict() if pr.error is not None else None,
        "outcomes": [o.to_dict() for o in pr.outcomes],
    }


def result_to_dict(result: Result, plan: Plan | None = None) -> dict:
    out: dict[str, Any] = {
        "kind": "apply",
        "ok": result.ok,
        "state": result.state,
        "summary": result.summary(),
        "properties": [property_result_to_dict(p) for p in result.properties],
    }
    if plan is not None:
        out["plan"] = plan_to_dict(plan)
    return out


# --- text ------------------------------------------------------------------------------------------

def _key_event_detail(spec: KeyEventSpec | None) -> str:
    if spec is None:
        return ""
    text = spec.counting_method
    if spec.value is not None:
        text += f", default value {number_text(spec.value)} {spec.currency or ''}".rstrip()
    return text


def _action_line(a: Action, width: int, color: bool) -> str:
    mark = MARK.get(a.op, "?")
    name = a.event.ljust(width)
    if a.op == CREATE:
        detail = _key_event_detail(a.desired) if a.kind == KEY_EVENT else describe_rule(a.desired)  # type: ignore
    elif a.op == UPDATE:
        detail = "; ".join(describe_change(c) for c in a.changes)
    elif a.op == DELETE:
        detail = a.note or "not in the goals file; deleted by --prune"
    elif a.op == UNCHANGED:
        detail = _key_event_detail(a.current) if a.kind == KEY_EVENT else describe_rule(a.current)  # type: ignore
    else:
        detail = a.note or ""
    line = f"    {mark} {name}  {detail}".rstrip()
    if a.op in (UNCHANGED, KEEP):
        return _style(line, dim=True, use=color)
    return _style(line, COLOR.get(a.op), use=color)


def _cap_text(pp: PropertyPlan) -> str:
    cap = pp.cap
    if cap is None:
        return ""
    kind = "360" if cap.cap == PREMIUM_CAP else "standard"
    if cap.after != cap.existing:
        return f"custom key events: {cap.existing} -> {cap.after} of {cap.cap} ({kind} property)"
    return f"custom key events: {cap.existing} of {cap.cap} ({kind} property)"


def render_property_plan(pp: PropertyPlan, *, color: bool = False, verbose: bool = True) -> list[str]:
    lines = [_style(f"Property {pp.property.display}", bold=True, use=color)]
    if pp.error is not None:
        lines.append(_style(f"  ! {pp.error.status}: {pp.error.message}", "red", use=color))
        if pp.error.hint:
            lines.append(f"    {pp.error.hint}")
    for w in pp.warnings:
        lines.append(_style(f"  ? {w.message}", "yellow", use=color))
    if pp.cap is None and pp.error is not None:
        return lines
    shown = [a for a in pp.actions if verbose or a.op != UNCHANGED]
    width = max((len(a.event) for a in shown), default=0)
    kes = [a for a in shown if a.kind == KEY_EVENT]
    rules = [a for a in shown if a.kind == RULE]
    lines.append(f"  key events ({_cap_text(pp)})" if pp.cap else "  key events")
    lines.extend(_action_line(a, width, color) for a in kes)
    if not kes:
        lines.append("    (none)")
    if pp.stream is not None:
        lines.append(f"  create-event rules on web stream {pp.stream}")
        lines.extend(_action_line(a, width, color) for a in rules)
        if not rules:
            lines.append("    (none)")
    return lines


def render_plan(plan: Plan, *, color: bool = False, verbose: bool = True) -> str:
    lines: list[str] = []
    for pp in plan.properties:
        lines.extend(render_property_plan(pp, color=color, verbose=verbose))
        lines.append("")
    lines.append(plan_summary_line(plan))
    return "\n".join(lines)


def plan_summary_line(plan: Plan) -> str:
    s = plan.summary()
    props = "1 property" if s["properties"] == 1 else f"{s['properties']} properties"
    readable = s["properties"] - s["errors"]
    if readable == 0:
        return f"Nothing can be applied: {_why_not(plan)} (see ! above)."
    if not plan.has_changes:
        ok = "1 property" if readable == 1 else f"{readable} properties"
        head = f"No changes on {ok}: {'it matches' if readable == 1 else 'they match'} the goals file."
    else:
        head = (f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete, "
                f"{s['unchanged']} unchanged, {s['kept']} kept, on {props}.")
        if s["duplicate"]:
            n = s["duplicate"]
            head += (f" {n} duplicate rule{'s' if n != 1 else ''} (GA4 counts {'their' if n != 1 else 'its'} "
                     f"event twice): `ga4kit apply --prune` deletes {'them' if n != 1 else 'it'}.")
    if s["errors"]:
        head += f" {s['errors']} of them cannot be applied (see ! above)."
    if s["warnings"]:
        head += f" {s['warnings']} warning{'s' if s['warnings'] != 1 else ''} (see ? above)."
    return head


def _why_not(plan: Plan) -> str:
    """Why no property can be applied, in words: could not be read, over the cap, or not plannable."""
    failed = [p for p in plan.properties if p.error is not None]
    groups = {"could not be read": 0, "would exceed the key event cap": 0, "cannot be planned": 0}
    for p in failed:
        if p.error.status == "CAP_EXCEEDED":
            groups["would exceed the key event cap"] += 1
        elif p.error.status == "PLAN_ERROR":
            groups["cannot be planned"] += 1
        else:
            groups["could not be read"] += 1
    if len(failed) == 1:
        [(what, _)] = [(k, v) for k, v in groups.items() if v]
        return f"the property {what}"
    parts = [f"{n} {'property' if n == 1 else 'properties'} {what}" for what, n in groups.items() if n]
    return ", ".join(parts)


def render_result(result: Result, *, color: bool = False) -> str:
    lines: list[str] = []
    for pr in result.properties:
        status = pr.status
        scolor = {"applied": "green", "unchanged": None, "partial": "yellow", "failed": "red",
                  "refused": "red", "interrupted": "yellow"}.get(status)
        lines.append(_style(f"Property {pr.property.display}: ", bold=True, use=color)
                     + _style(status, scolor, use=color))
        width = max((len(o.action.event) for o in pr.outcomes), default=0)
        for o in pr.outcomes:
            what = "rule" if o.action.kind == RULE else "key event"
            text = f"    {MARK.get(o.action.op, '?')} {o.action.event.ljust(width)}  {what} {o.action.op}: {o.status}"
            if o.message:
                text += f" ({o.message})"
            c = {DONE: "green", FAILED: "red", SKIPPED: "yellow"}.get(o.status)
            lines.append(_style(text, c, use=color))
        if pr.error is not None:
            lines.append(_style(f"  ! {pr.error.status}: {pr.error.message}", "red", use=color))
            if pr.error.hint:
                lines.append(f"    {pr.error.hint}")
    s = result.summary()
    props = "1 property" if s["properties"] == 1 else f"{s['properties']} properties"
    lines.append("")
    interrupted = f", {s['interrupted']} interrupted" if s["interrupted"] else ""
    lines.append(f"Apply: {props}: {s['applied']} applied, {s['unchanged']} unchanged, {s['failed']} failed"
                 f"{interrupted}; {s['writes_done']} writes done, {s['writes_failed']} failed, "
                 f"{s['writes_skipped']} skipped.")
    return "\n".join(lines)


__all__ = ["plan_to_dict", "result_to_dict", "render_plan", "render_result", "plan_summary_line"]

"""ga4kit.admin.plan against the local emulator through Google's real clients."""

from __future__ import annotations

import json

import pytest
from admin_support import SHOP_GOALS, clients, goals, new_property, read_clients, writes  # noqa: F401

from ga4kit import admin
from ga4kit.errors import IdentifierError, PlanError


def _ops(pp, kind="key_event"):
    return {a.event: a.op for a in pp.actions if a.kind == kind}


def test_fresh_property_plans_every_goal_and_the_rule(emulator, read_clients):
    pid = emulator.test_property
    p = admin.plan(goals([pid]), read_clients)
    pp = p.property(pid)
    assert pp.error is None
    # purchase is GA4's default key event (ONCE_PER_EVENT, no value): already as declared.
    assert _ops(pp) == {"view_item": "create", "add_to_cart": "create", "newsletter_signup": "create",
                        "view_pricing": "create", "purchase": "unchanged"}
    creates = {a.event: a.desired for a in pp.key_events if a.op == "create"}
    assert creates["add_to_cart"].counting_method == "ONCE_PER_SESSION"
    assert (creates["newsletter_signup"].value, creates["newsletter_signup"].currency) == (2.0, "EUR")
    assert creates["view_item"].value is None
    [rule] = pp.rules
    assert (rule.op, rule.event, rule.stream) == ("create", "view_pricing", emulator.test_stream)
    assert [(c.field, c.comparison, c.value, c.negated) for c in rule.desired.conditions] == [
        ("event_name", "EQUALS", "page_view", False), ("page_location", "CONTAINS", "/pricing", False)]
    assert rule.desired.copy_parameters is True
    assert (pp.cap.cap, pp.cap.existing, pp.cap.adding, pp.cap.after) == (30, 0, 4, 4)
    assert p.has_changes and not p.has_errors
    assert p.summary() == {"properties": 1, "create": 5, "update": 0, "delete": 0, "unchanged": 1, "kept": 0,
                           "duplicate": 0, "errors": 0, "warnings": 1}
    # The test property has received no events, so the goals' event names could not be checked.
    assert [w.kind for w in pp.warnings] == ["no_events"]


def test_plan_is_read_only_and_uses_the_readonly_scope(emulator, read_clients):
    admin.plan(goals([emulator.test_property]), read_clients, prune=True)
    assert emulator.calls, "the plan made no calls at all"
    assert writes(emulator) == []
    assert {c.scope for c in emulator.calls} == {"analytics.readonly"}
    assert {c.code for c in emulator.calls} == {"OK"}


def test_partly_provisioned_property(emulator, read_clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "view_item", "ONCE_PER_EVENT")
    emulator.admin.create_key_event(pid, "add_to_cart", "ONCE_PER_SESSION")
    pp = admin.plan(goals([pid]), read_clients).property(pid)
    assert _ops(pp) == {"view_item": "unchanged", "add_to_cart": "unchanged", "newsletter_signup": "create",
                        "view_pricing": "create", "purchase": "unchanged"}
    assert (pp.cap.existing, pp.cap.adding, pp.cap.after) == (2, 2, 4)


def test_drifted_counting_method_and_value_are_updates(emulator, read_clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "add_to_cart", "ONCE_PER_EVENT")  # declared once_per_session
    emulator.admin.create_key_event(pid, "newsletter_signup", "ONCE_PER_EVENT", (5.0, "USD"))  # declared 2 EUR
    emulator.admin.create_key_event(pid, "view_item", "ONCE_PER_EVENT", (1.0, "EUR"))  # declared: no value
    pp = admin.plan(goals([pid]), read_clients).property(pid)
    by = {a.event: a for a in pp.key_events}
    assert by["add_to_cart"].op == "update"
    assert [(c.field, c.before, c.after) for c in by["add_to_cart"].changes] == [
        ("counting_method", "ONCE_PER_EVENT", "ONCE_PER_SESSION")]
    assert [(c.field, c.before, c.after) for c in by["newsletter_signup"].changes] == [
        ("default_value", {"value": 5.0, "currency": "USD"}, {"value": 2.0, "currency": "EUR"})]
    assert [(c.field, c.before, c.after) for c in by["view_item"].changes] == [
        ("default_value", {"value": 1.0, "currency": "EUR"}, None)]
    assert by["add_to_cart"].resource.startswith(f"properties/{pid}/keyEvents/")


def test_undeclared_key_events_are_kept_unless_pruned_and_purchase_never_deleted(emulator, read_clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "old_signup", "ONCE_PER_EVENT")
    cfg = goals([pid], """
        defaults: {counting: once_per_event, currency: EUR}
        goals:
          - {event: sign_up, type: macro}
    """)
    kept = admin.plan(cfg, read_clients).property(pid)
    assert _ops(kept) == {"sign_up": "create", "old_signup": "kept", "purchase": "kept"}
    notes = {a.event: a.note for a in kept.key_events}
    assert "--prune" in notes["old_signup"]
    assert "not deletable" in notes["purchase"]

    pruned = admin.plan(cfg, read_clients, prune=True).property(pid)
    assert _ops(pruned) == {"sign_up": "create", "old_signup": "delete", "purchase": "kept"}
    purchase = next(a for a in pruned.key_events if a.event == "purchase")
    assert purchase.deletable is False and "not deletable" in purchase.note
    # The deleted custom key event makes room under the cap.
    assert (pruned.cap.existing, pruned.cap.adding, pruned.cap.removing, pruned.cap.after) == (1, 1, 1, 1)


def test_derived_goal_rule_is_recognised_and_updated_not_duplicated(emulator, read_clients):
    pid, sid = emulator.test_property, emulator.test_stream
    made = emulator.admin.create_event_create_rule(pid, sid, "view_pricing", [
        ("event_name", "EQUALS", "page_view", False), ("page_location", "CONTAINS", "/pricing", False)],
        source_copy_parameters=True)
    pp = admin.plan(goals([pid]), read_clients).property(pid)
    [rule] = pp.rules
    assert rule.op == "unchanged"
    assert rule.resource == f"properties/{pid}/dataStreams/{sid}/eventCreateRules/{made['id']}"

    changed = SHOP_GOALS.replace("contains: /pricing", "starts_with: https://shop.example.com/pricing")
    pp2 = admin.plan(goals([pid], changed), read_clients).property(pid)
    [rule2] = pp2.rules
    assert rule2.op == "update" and rule2.resource == rule.resource
    assert [c.field for c in rule2.changes] == ["event_conditions"]
    assert rule2.changes[0].after[1] == {"field": "page_location", "comparison": "STARTS_WITH",
                                         "value": "https://shop.example.com/pricing", "negated": False}
    text = admin.render_plan(admin.plan(goals([pid], changed), read_clients))
    [line] = [ln.split(None, 2) for ln in text.splitlines() if ln.strip().startswith("~ view_pricing")]
    assert line[2] == ("event_conditions: event_name equals 'page_view' and page_location contains '/pricing' -> "
                       "event_name equals 'page_view' and page_location starts with "
                       "'https://shop.example.com/pricing'")


def test_undeclared_rule_is_listed_and_left_alone(emulator, read_clients):
    pid, sid = emulator.test_property, emulator.test_stream
    emulator.admin.create_event_create_rule(pid, sid, "hand_made", [("event_name", "EQUALS", "click", False)])
    pp = admin.plan(goals([pid]), read_clients, prune=True).property(pid)
    assert _ops(pp, "event_create_rule") == {"view_pricing": "create", "hand_made": "kept"}


def test_several_web_streams_need_an_explicit_stream(emulator, read_clients):
    pid = emulator.test_property
    second = emulator.admin.create_web_stream(pid, "Blog", "https://blog.example.com")
    p = admin.plan(goals([pid]), read_clients)
    pp = p.property(pid)
    assert pp.error is not None and pp.error.status == "PLAN_ERROR"
    assert emulator.test_stream in pp.error.message and second in pp.error.message
    assert p.has_errors
    # The hint's snippet is a working goals-file entry.
    import re

    from ga4kit.config import load_text

    snippet = re.search(r"`(- \{id: [^`]+)`", pp.error.hint).group(1)
    fixed = load_text("version: 1\nproperties:\n  " + snippet + "\n" + SHOP_GOALS)
    assert admin.plan(fixed, read_clients).property(pid).stream == emulator.test_stream

    ok = admin.plan(goals([pid], streams={pid: second}), read_clients).property(pid)
    assert ok.error is None and ok.stream == second
    assert [a.stream for a in ok.rules] == [second]


def test_no_web_stream_with_a_derived_goal_is_an_error_but_without_one_is_fine(emulator, read_clients):
    pid = new_property(emulator, name="Appless", streams=0)
    pp = admin.plan(goals([pid]), read_clients).property(pid)
    assert pp.error is not None and "no web data stream" in pp.error.message
    plain = goals([pid], "goals:\n  - {event: sign_up, type: macro}\n")
    assert admin.plan(plain, read_clients).property(pid).error is None


THREE_GOALS = """
goals:
  - {event: goal_a, type: micro, kind: secondary}
  - {event: goal_b, type: micro, kind: secondary}
  - {event: goal_c, type: macro}
"""


def _legacy(emulator, pid, n):
    """``n`` custom key events the goals file does not declare (kept, they still count toward the cap)."""
    for i in range(n):
        emulator.admin.create_key_event(pid, f"legacy_{i:02d}", "ONCE_PER_EVENT")


def test_cap_exceeded_is_refused_with_the_numbers(emulator, read_clients):
    pid = emulator.test_property
    _legacy(emulator, pid, 28)
    pp = admin.plan(goals([pid], THREE_GOALS), read_clients).property(pid)
    assert pp.cap.to_dict() == {"service_level": "GOOGLE_ANALYTICS_STANDARD", "cap": 30, "existing": 28,
                                "adding": 3, "removing": 0, "after": 31, "exceeded": True}
    assert pp.error.status == "CAP_EXCEEDED"
    assert "allows 30" in pp.error.message and "has 28" in pp.error.message and "adds 3" in pp.error.message
    assert "makes 31" in pp.error.message
    assert "--prune" in pp.error.hint


def test_cap_exactly_reached_or_relieved_by_prune_is_fine(emulator, read_clients):
    pid = emulator.test_property
    _legacy(emulator, pid, 27)
    assert admin.plan(goals([pid], THREE_GOALS), read_clients).property(pid).error is None
    emulator.admin.create_key_event(pid, "legacy_99", "ONCE_PER_EVENT")
    assert admin.plan(goals([pid], THREE_GOALS), read_clients).property(pid).error.status == "CAP_EXCEEDED"
    pruned = admin.plan(goals([pid], THREE_GOALS), read_clients, prune=True).property(pid)
    assert pruned.error is None and pruned.cap.after == 3


def test_cap_is_50_on_a_360_property(emulator, read_clients):
    pid = new_property(emulator, name="Big", service_level="PREMIUM")
    _legacy(emulator, pid, 28)
    pp = admin.plan(goals([pid], THREE_GOALS), read_clients).property(pid)
    assert pp.error is None
    assert (pp.cap.service_level, pp.cap.cap, pp.cap.after) == ("GOOGLE_ANALYTICS_360", 50, 31)


def test_permission_denied_on_one_property_does_not_stop_the_others(emulator, read_clients):
    a, b = emulator.test_property, new_property(emulator, name="B")
    c = new_property(emulator, name="C")
    emulator.admin.set_access(b, ["someone-else@example.com"])
    p = admin.plan(goals([a, b, c]), read_clients)
    assert [pp.property.id for pp in p.properties] == [a, b, c]
    assert p.property(b).error.status == "PERMISSION_DENIED"
    assert "Property access management" in p.property(b).error.hint
    assert p.property(a).error is None and p.property(c).error is None
    assert p.property(c).count("create") == 5


def test_unknown_property_is_not_found(emulator, read_clients):
    p = admin.plan(goals(["999999"]), read_clients)
    assert p.property("999999").error.status == "NOT_FOUND"


def test_properties_override_the_file_and_measurement_ids_are_refused(emulator, read_clients):
    pid = emulator.test_property
    other = new_property(emulator, name="Other")
    cfg = goals([pid])
    p = admin.plan(cfg, read_clients, properties=[f"properties/{other}"])
    assert [pp.property.id for pp in p.properties] == [other]
    with pytest.raises(IdentifierError, match="measurement id"):
        admin.plan(cfg, read_clients, properties=["G-ABC1234"])
    # The file's label and stream are kept when the override names a property of the file.
    from ga4kit.properties import select_properties

    assert select_properties(cfg, [pid])[0].label == f"P{pid}"


def test_a_value_without_currency_fails_before_any_call(emulator, read_clients):
    from ga4kit.config.model import Goal, GoalsConfig, PropertyRef

    cfg = GoalsConfig(version=1, properties=(PropertyRef(emulator.test_property),),
                      goals=(Goal("sign_up", "macro", value=3.0),))
    with pytest.raises(PlanError, match="currency"):
        admin.plan(cfg, read_clients)
    assert emulator.calls == []


def test_json_is_stable_and_complete(emulator, read_clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "add_to_cart", "ONCE_PER_EVENT")
    doc = json.loads(json.dumps(admin.plan_to_dict(admin.plan(goals([pid]), read_clients))))
    # The envelope's format_version wraps this (see ga4kit.cli.common); the plan's data has none of its own.
    assert set(doc) == {"kind", "prune", "source", "changes_pending", "errors", "summary", "properties"}
    assert doc["kind"] == "plan" and doc["changes_pending"] is True
    [prop] = doc["properties"]
    assert set(prop) == {"property", "label", "status", "error", "cap", "stream", "warnings", "key_events",
                         "rules"}
    assert [w["kind"] for w in prop["warnings"]] == ["no_events"]
    assert prop["status"] == "changes" and prop["stream"] == emulator.test_stream
    atc = next(k for k in prop["key_events"] if k["event"] == "add_to_cart")
    assert atc["action"] == "update"
    assert atc["changes"] == [{"field": "counting_method", "from": "ONCE_PER_EVENT", "to": "ONCE_PER_SESSION"}]
    assert atc["desired"] == {"counting_method": "ONCE_PER_SESSION", "default_value": None}
    nl = next(k for k in prop["key_events"] if k["event"] == "newsletter_signup")
    assert nl["desired"]["default_value"] == {"value": 2.0, "currency": "EUR"}
    assert prop["rules"][0]["desired"]["conditions"][1] == {"field": "page_location", "comparison": "CONTAINS",
                                                            "value": "/pricing", "negated": False}


def test_text_rendering_reads_like_terraform(emulator, read_clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "add_to_cart", "ONCE_PER_EVENT")
    emulator.admin.create_key_event(pid, "legacy", "ONCE_PER_EVENT")
    text = admin.render_plan(admin.plan(goals([pid]), read_clients, prune=True, check_events=False))
    lines = [ln.strip() for ln in text.splitlines()]
    assert any(ln.startswith("+ view_item") for ln in lines)
    assert any(ln.startswith("~ add_to_cart") and "ONCE_PER_EVENT -> ONCE_PER_SESSION" in ln for ln in lines)
    assert any(ln.startswith("- legacy") for ln in lines)
    assert any(ln.startswith("= purchase") for ln in lines)
    assert any(ln.startswith("+ view_pricing") and "from page_view where page_location contains" in ln
               for ln in lines)
    assert lines[-1] == "Plan: 4 to create, 1 to update, 1 to delete, 1 unchanged, 0 kept, on 1 property."


def test_summary_line_when_properties_cannot_be_read():
    from ga4kit.admin.formatting import plan_summary_line
    from ga4kit.admin.types import ErrorInfo, PropertyPlan
    from ga4kit.config.model import PropertyRef

    lost = PropertyPlan(PropertyRef("999"), error=ErrorInfo("NOT_FOUND", "Property properties/999 was not found."))
    assert plan_summary_line(admin.Plan([lost])) == (
        "Nothing can be applied: the property could not be read (see ! above).")
    fine = PropertyPlan(PropertyRef("1"))
    line = plan_summary_line(admin.Plan([lost, fine]))
    assert line.startswith("No changes on 1 property: it matches the goals file.")
    assert "1 of them cannot be applied" in line

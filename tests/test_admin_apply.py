"""ga4kit.admin.apply against the local emulator through Google's real clients."""

from __future__ import annotations

import time
from collections import Counter

from admin_support import (  # noqa: F401
    FAST_WRITES, SHOP_EVENTS, SHOP_GOALS, clients, goals, key_event_counts, key_events, new_property, rules, writes,
)

from ga4kit import admin

EXPECTED_SHOP = {
    "view_item": ("ONCE_PER_EVENT", None),
    "add_to_cart": ("ONCE_PER_SESSION", None),
    "newsletter_signup": ("ONCE_PER_EVENT", (2.0, "EUR")),
    "view_pricing": ("ONCE_PER_EVENT", None),
    "purchase": ("ONCE_PER_EVENT", None),
}
PRICING_RULE = [("event_name", "EQUALS", "page_view", False), ("page_location", "CONTAINS", "/pricing", False)]


def _apply(cfg, clients, **kw):
    return admin.apply(admin.plan(cfg, clients, prune=kw.pop("prune", False)), clients, policy=FAST_WRITES, **kw)


def test_fresh_property_then_second_run_changes_nothing(emulator, clients):
    pid, sid = emulator.test_property, emulator.test_stream
    cfg = goals([pid])
    result = _apply(cfg, clients)
    assert result.ok
    pr = result.property(pid)
    assert pr.status == "applied"
    assert sorted((o.action.kind, o.action.event, o.status) for o in pr.outcomes) == sorted(
        [("key_event", e, "done") for e in ["view_item", "add_to_cart", "newsletter_signup", "view_pricing"]]
        + [("event_create_rule", "view_pricing", "done")])
    assert key_events(emulator, pid) == EXPECTED_SHOP
    [rule] = rules(emulator, pid)
    assert (rule.stream_id, rule.destination_event, rule.conditions, rule.source_copy_parameters) == (
        sid, "view_pricing", PRICING_RULE, True)

    emulator.reset_calls()
    again = admin.plan(cfg, clients)
    assert not again.has_changes
    second = admin.apply(again, clients, policy=FAST_WRITES)
    assert second.ok and second.property(pid).status == "unchanged" and second.property(pid).outcomes == []
    assert writes(emulator) == []


def test_partly_provisioned_and_drifted_property_is_brought_in_line(emulator, clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "view_item", "ONCE_PER_EVENT")  # as declared
    emulator.admin.create_key_event(pid, "add_to_cart", "ONCE_PER_EVENT")  # drifted counting
    emulator.admin.create_key_event(pid, "newsletter_signup", "ONCE_PER_SESSION", (9.5, "USD"))  # both drifted
    result = _apply(goals([pid]), clients)
    assert result.ok
    ops = {(o.action.kind, o.action.event): o.action.op for o in result.property(pid).outcomes}
    assert ops == {("key_event", "add_to_cart"): "update", ("key_event", "newsletter_signup"): "update",
                   ("key_event", "view_pricing"): "create", ("event_create_rule", "view_pricing"): "create"}
    assert key_events(emulator, pid) == EXPECTED_SHOP
    assert not admin.plan(goals([pid]), clients).has_changes


def test_clearing_a_default_value(emulator, clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "view_item", "ONCE_PER_EVENT", (1.0, "EUR"))
    assert _apply(goals([pid]), clients).ok
    assert key_events(emulator, pid)["view_item"] == ("ONCE_PER_EVENT", None)


def test_undeclared_key_events_kept_without_prune_deleted_with_it_purchase_never(emulator, clients):
    pid = emulator.test_property
    emulator.admin.create_key_event(pid, "old_signup", "ONCE_PER_EVENT")
    cfg = goals([pid], """
        goals:
          - {event: sign_up, type: macro}
    """)
    r1 = _apply(cfg, clients)
    assert r1.ok
    assert set(key_events(emulator, pid)) == {"purchase", "old_signup", "sign_up"}

    r2 = _apply(cfg, clients, prune=True)
    assert r2.ok
    assert [(o.action.event, o.action.op, o.status) for o in r2.property(pid).outcomes] == [
        ("old_signup", "delete", "done")]
    assert set(key_events(emulator, pid)) == {"purchase", "sign_up"}
    assert [c.method for c in writes(emulator) if c.method.startswith("Delete")] == ["DeleteKeyEvent"]
    # purchase is not declared, is not deletable, and --prune never tries.
    r3 = _apply(cfg, clients, prune=True)
    assert r3.ok and r3.property(pid).status == "unchanged"
    assert "purchase" in key_events(emulator, pid)


def test_derived_goal_rule_created_once_then_updated_in_place(emulator, clients):
    pid = emulator.test_property
    assert _apply(goals([pid]), clients).ok
    [first] = rules(emulator, pid)
    assert first.stream_id == emulator.test_stream
    assert _apply(goals([pid]), clients).ok
    assert len(rules(emulator, pid)) == 1

    changed = SHOP_GOALS.replace("where: [{param: page_location, contains: /pricing}]",
                                 "where: [{param: page_location, contains: /pricing}, "
                                 "{param: page_location, contains: /en/, negate: true}]")
    result = _apply(goals([pid], changed), clients)
    assert result.ok
    [o] = [o for o in result.property(pid).outcomes if o.action.kind == "event_create_rule"]
    assert (o.action.op, o.status) == ("update", "done")
    [after] = rules(emulator, pid)
    assert after.rule_id == first.rule_id
    assert after.conditions == PRICING_RULE + [("page_location", "CONTAINS", "/en/", True)]
    assert not admin.plan(goals([pid], changed), clients).has_changes
    assert [c.method for c in writes(emulator)].count("CreateEventCreateRule") == 1


def test_rule_created_by_someone_else_after_the_plan_is_not_duplicated(emulator, clients):
    pid, sid = emulator.test_property, emulator.test_stream
    p = admin.plan(goals([pid]), clients)
    assert p.property(pid).rules[0].op == "create"
    emulator.admin.create_event_create_rule(pid, sid, "view_pricing", [("event_name", "EQUALS", "page_view", False)])
    result = admin.apply(p, clients, policy=FAST_WRITES)
    assert result.ok
    [o] = [o for o in result.property(pid).outcomes if o.action.kind == "event_create_rule"]
    assert "existed already; updated event_conditions" in o.message
    [rule] = rules(emulator, pid)
    assert rule.conditions == PRICING_RULE


def test_key_event_created_by_someone_else_after_the_plan_is_reconciled(emulator, clients):
    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients)
    emulator.admin.create_key_event(pid, "add_to_cart", "ONCE_PER_EVENT")  # ALREADY_EXISTS on create
    result = admin.apply(p, clients, policy=FAST_WRITES)
    assert result.ok
    [o] = [o for o in result.property(pid).outcomes if o.action.event == "add_to_cart"]
    assert o.status == "done" and "existed already; updated counting_method" in o.message
    assert "ALREADY_EXISTS" in {c.code for c in emulator.calls if c.method == "CreateKeyEvent"}
    assert key_events(emulator, pid) == EXPECTED_SHOP


def test_cap_exceeded_refuses_the_property_before_any_write(emulator, clients):
    pid = emulator.test_property
    other = new_property(emulator, name="Fine")
    for i in range(28):
        emulator.admin.create_key_event(pid, f"legacy_{i:02d}", "ONCE_PER_EVENT")
    cfg = goals([pid, other], """
        goals:
          - {event: goal_a, type: micro, kind: secondary}
          - {event: goal_b, type: micro, kind: secondary}
          - {event: goal_c, type: macro}
    """)
    emulator.reset_calls()
    result = _apply(cfg, clients)
    assert not result.ok
    refused = result.property(pid)
    assert refused.status == "refused" and refused.error.status == "CAP_EXCEEDED"
    assert "allows 30" in refused.error.message and "has 28" in refused.error.message
    assert "adds 3" in refused.error.message and "makes 31" in refused.error.message
    assert {o.status for o in refused.outcomes} == {"skipped"} and len(refused.outcomes) == 3
    assert [c for c in writes(emulator) if c.property == pid] == []
    assert len(key_events(emulator, pid)) == 29
    assert result.property(other).status == "applied"
    assert set(key_events(emulator, other)) == {"purchase", "goal_a", "goal_b", "goal_c"}


def test_cap_rechecked_at_apply_time_with_fresh_numbers(emulator, clients):
    pid = emulator.test_property
    for i in range(27):
        emulator.admin.create_key_event(pid, f"legacy_{i:02d}", "ONCE_PER_EVENT")
    cfg = goals([pid], """
        goals:
          - {event: goal_a, type: micro, kind: secondary}
          - {event: goal_b, type: micro, kind: secondary}
          - {event: goal_c, type: macro}
    """)
    p = admin.plan(cfg, clients)
    assert p.property(pid).error is None  # 27 + 3 = 30 fits
    emulator.admin.create_key_event(pid, "sneaked_in", "ONCE_PER_EVENT")  # now 28 + 3 = 31
    result = admin.apply(p, clients, policy=FAST_WRITES)
    assert result.property(pid).status == "refused"
    assert "has 28" in result.property(pid).error.message
    assert not {"goal_a", "goal_b", "goal_c"} & set(key_events(emulator, pid))


def _three(emulator):
    a = emulator.test_property
    b = new_property(emulator, name="B")
    c = new_property(emulator, name="C")
    return a, b, c


def test_permission_denied_on_one_of_three_properties_at_apply_time(emulator, clients):
    a, b, c = _three(emulator)
    cfg = goals([a, b, c])
    p = admin.plan(cfg, clients)
    assert not p.has_errors
    emulator.admin.set_access(b, ["someone-else@example.com"])  # access removed between plan and apply
    seen = []
    result = admin.apply(p, clients, policy=FAST_WRITES, on_property=lambda pr: seen.append(pr.property.id))
    # Properties are written concurrently: progress hears of each as it finishes, the result is in plan order.
    assert sorted(seen) == sorted([a, b, c]) and [pr.property.id for pr in result.properties] == [a, b, c]
    assert not result.ok
    assert result.property(a).status == "applied" and result.property(c).status == "applied"
    failed = result.property(b)
    assert failed.status == "failed" and failed.error.status == "PERMISSION_DENIED"
    assert "Property access management" in failed.error.hint
    assert key_events(emulator, a) == EXPECTED_SHOP and key_events(emulator, c) == EXPECTED_SHOP
    assert set(key_events(emulator, b)) == {"purchase"}
    assert result.summary()["failed"] == 1 and result.summary()["applied"] == 2


def test_permission_denied_on_one_of_three_properties_at_plan_time(emulator, clients):
    a, b, c = _three(emulator)
    emulator.admin.set_access(b, ["someone-else@example.com"])
    result = _apply(goals([a, b, c]), clients)
    assert [p.status for p in result.properties] == ["applied", "failed", "applied"]
    assert result.property(b).error.status == "PERMISSION_DENIED"
    assert key_events(emulator, a) == EXPECTED_SHOP and key_events(emulator, c) == EXPECTED_SHOP


def test_write_denied_mid_property_stops_that_property_only(emulator, clients):
    a, b, c = _three(emulator)
    emulator.faults.set("CreateKeyEvent", {"PERMISSION_DENIED": 1.0})
    p = admin.plan(goals([a]), clients)
    result = admin.apply(p, clients, policy=FAST_WRITES)
    pr = result.property(a)
    assert pr.status == "partial" and pr.error.status == "PERMISSION_DENIED"
    # The rule went first and was written; the first denied create stops the remaining three.
    assert [(o.action.kind, o.status) for o in pr.outcomes] == [
        ("event_create_rule", "done"), ("key_event", "failed"), ("key_event", "skipped"), ("key_event", "skipped"),
        ("key_event", "skipped")]
    assert [c.code for c in emulator.calls if c.method == "CreateKeyEvent"] == ["PERMISSION_DENIED"]


def test_apply_converges_under_30_percent_unavailable(emulator, clients):
    props = _three(emulator)
    emulator.faults.set("*", {"UNAVAILABLE": 0.3})
    cfg = goals(list(props))
    result = _apply(cfg, clients)
    assert result.ok, [o.message for p in result.properties for o in p.outcomes if o.status != "done"]
    injected = [c for c in emulator.calls if c.code == "UNAVAILABLE"]
    assert len(injected) >= 5, "the faults were not injected"
    assert any(c.method.startswith("Create") for c in injected)
    for pid in props:
        assert key_event_counts(emulator, pid) == Counter(SHOP_EVENTS)
        assert key_events(emulator, pid) == EXPECTED_SHOP
        assert [r.destination_event for r in rules(emulator, pid)] == ["view_pricing"]
    # Still under faults: the next run sees nothing to do.
    assert not admin.plan(cfg, clients).has_changes


def test_a_create_that_landed_but_answered_unavailable_is_not_repeated(emulator, clients):
    """GA4 may do the write and still fail the call; the retry must not add a second rule."""
    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients, check_events=False)
    emulator.faults.set("CreateEventCreateRule", {"UNAVAILABLE": 1.0}, after=True)  # carried out, answer lost
    result = admin.apply(p, clients, policy=FAST_WRITES)
    assert result.ok
    assert [c.code for c in emulator.calls if c.method == "CreateEventCreateRule"] == ["UNAVAILABLE"]
    assert len(rules(emulator, pid)) == 1
    [o] = [o for o in result.property(pid).outcomes if o.action.kind == "event_create_rule"]
    assert "after 1 retry" in o.message


def test_unavailable_that_never_ends_fails_the_property_and_reports_it(emulator, clients):
    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients)
    emulator.faults.set("CreateKeyEvent", {"UNAVAILABLE": 1.0})
    from ga4kit.admin import WritePolicy

    result = admin.apply(p, clients, policy=WritePolicy(attempts=3, initial=0.01, maximum=0.02, deadline=5))
    pr = result.property(pid)
    assert not result.ok and pr.error.status == "UNAVAILABLE"
    assert [c.code for c in emulator.calls if c.method == "CreateKeyEvent"] == ["UNAVAILABLE"] * 3
    rendered = admin.render_result(result)
    assert "failed" in rendered and "UNAVAILABLE" in rendered


def test_result_json_keys(emulator, clients):
    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients)
    doc = admin.result_to_dict(admin.apply(p, clients, policy=FAST_WRITES), p)
    assert set(doc) == {"kind", "ok", "state", "summary", "properties", "plan"}
    assert doc["kind"] == "apply" and doc["ok"] is True and doc["state"] == "ok"
    assert doc["summary"] == {"properties": 1, "applied": 1, "unchanged": 0, "failed": 0, "interrupted": 0,
                              "writes_done": 5, "writes_failed": 0, "writes_skipped": 0}
    [prop] = doc["properties"]
    assert set(prop) == {"property", "label", "status", "error", "outcomes"}
    assert all(set(o) == {"kind", "event", "action", "status", "name", "message"} for o in prop["outcomes"])
    assert all(o["name"].startswith(f"properties/{pid}/") for o in prop["outcomes"])


def test_every_goals_file_operator_becomes_a_valid_ga4_condition(emulator, clients):
    """The goals file's numeric operators have GA4 names without NUMBER_, and not_equals is EQUALS negated."""
    pid = emulator.test_property
    cfg = goals([pid], """
        defaults: {currency: EUR}
        goals:
          - event: big_order
            type: macro
            derive:
              from: purchase
              copy_parameters: false
              where:
                - {param: value, greater_than_or_equal: 100}
                - {param: value, less_than: 10000}
                - {param: items, not_equals: 0}
                - {param: coupon, regex_ci: "^vip", negate: true}
                - {param: page_location, ends_with_ci: /thanks}
    """)
    assert _apply(cfg, clients).ok
    [rule] = rules(emulator, pid)
    assert rule.conditions == [
        ("event_name", "EQUALS", "purchase", False),
        ("value", "GREATER_THAN_OR_EQUAL", "100", False),
        ("value", "LESS_THAN", "10000", False),
        ("items", "EQUALS", "0", True),
        ("coupon", "REGULAR_EXPRESSION_CASE_INSENSITIVE", "^vip", True),
        ("page_location", "ENDS_WITH_CASE_INSENSITIVE", "/thanks", False),
    ]
    assert rule.source_copy_parameters is False
    assert not admin.plan(cfg, clients).has_changes  # read back, the rule compares equal


def test_exhausted_write_quota_waits_and_tries_again(emulator, clients):
    from ga4kit.admin import WritePolicy

    pid = emulator.test_property
    emulator.faults.set("CreateKeyEvent", {"RESOURCE_EXHAUSTED": 0.5})
    p = admin.plan(goals([pid]), clients)
    patient = WritePolicy(initial=0.01, maximum=0.1, quota_waits=20, quota_wait=0.01, writes_per_minute=0)
    result = admin.apply(p, clients, policy=patient)
    assert result.ok
    assert "RESOURCE_EXHAUSTED" in {c.code for c in emulator.calls if c.method == "CreateKeyEvent"}
    assert key_events(emulator, pid) == EXPECTED_SHOP


def test_exhausted_write_quota_without_waits_fails_with_a_hint(emulator, clients):
    pid = emulator.test_property
    emulator.faults.set("CreateKeyEvent", {"RESOURCE_EXHAUSTED": 1.0})
    result = _apply(goals([pid]), clients)  # FAST_WRITES: quota_waits=0
    pr = result.property(pid)
    assert pr.error.status == "RESOURCE_EXHAUSTED" and "quota" in pr.error.hint.lower()


def test_writes_are_paced(emulator, clients):
    from ga4kit.admin import WritePolicy

    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients)
    started = time.monotonic()
    # 5 writes, a burst of 1, then 20 a second: at least 4 * 0.05 s.
    result = admin.apply(p, clients, policy=WritePolicy(writes_per_minute=1200, burst=1))
    assert result.ok and result.summary()["writes_done"] == 5
    assert time.monotonic() - started >= 0.19


def test_apply_with_read_only_clients_fails_with_the_scope_hint(emulator, clients):
    from ga4kit.connect import default_retry, make_clients

    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients)
    with make_clients(emulator=emulator.address, write=False, retry=default_retry(initial=0.01)) as ro:
        result = admin.apply(p, ro, policy=FAST_WRITES)
    pr = result.property(pid)
    assert pr.error.status == "PERMISSION_DENIED"
    assert "analytics.edit" in pr.error.hint
    assert set(key_events(emulator, pid)) == {"purchase"}


def _quota_emulator(writes_per_user_per_minute: int):
    """An emulator enforcing GA4's per-user write quota on a clock running 1000x fast (a minute = 60 ms)."""
    from ga4kit.emulator import Emulator
    from ga4kit.emulator.server import AdminQuota

    quota = AdminQuota({"writes_per_user_per_minute": writes_per_user_per_minute},
                       clock=lambda: time.monotonic() * 1000.0)
    emu = Emulator(demo=False, admin_quota=quota)
    props = [new_property(emu, name=f"Q{i}") for i in range(3)]
    return emu.start(), props


def test_apply_outlasts_the_per_user_write_quota():
    from ga4kit.admin import WritePolicy
    from ga4kit.connect import default_retry, make_clients

    emu, props = _quota_emulator(2)
    try:
        with make_clients(emulator=emu.address, write=True, retry=default_retry(initial=0.01)) as c:
            p = admin.plan(goals(props), c)
            policy = WritePolicy(initial=0.01, quota_waits=50, quota_wait=0.07, writes_per_minute=0)
            result = admin.apply(p, c, policy=policy)
        assert result.ok, admin.render_result(result)
        assert "RESOURCE_EXHAUSTED" in {x.code for x in emu.calls}
        for pid in props:
            assert key_events(emu, pid) == EXPECTED_SHOP
    finally:
        emu.stop(grace=None)


def test_paced_writes_stay_under_the_per_user_write_quota():
    from ga4kit.admin import WritePolicy
    from ga4kit.connect import default_retry, make_clients

    emu, props = _quota_emulator(2)
    try:
        with make_clients(emulator=emu.address, write=True, retry=default_retry(initial=0.01)) as c:
            p = admin.plan(goals(props), c)
            # 2 writes per (60 ms) minute allowed; pace to 1 write per 100 ms, no burst, and never wait on quota.
            # (3 writes would have to arrive within 60 ms of each other to break it: 140 ms of scheduling
            # jitter on a loaded machine, where 1 per 50 ms left only 10 ms and failed now and then.)
            policy = WritePolicy(initial=0.01, quota_waits=0, writes_per_minute=600, burst=1)
            result = admin.apply(p, c, policy=policy)
        assert result.ok, admin.render_result(result)
        assert "RESOURCE_EXHAUSTED" not in {x.code for x in emu.calls}
        assert result.summary()["writes_done"] == 15
    finally:
        emu.stop(grace=None)


def test_default_pacing_fits_ga4s_per_user_write_quota():
    from ga4kit.admin import WritePolicy

    policy = WritePolicy()
    # A token bucket lets at most burst + rate writes into any 60-second window; GA4 allows 180 per user.
    assert 0 < policy.burst + policy.writes_per_minute <= 180

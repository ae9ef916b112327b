"""Duplicate create-event rules: plan shows them as drift, --prune deletes them, and apply never makes them
(two applies at once on one machine, a create that landed after the client's deadline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from admin_support import FAST_WRITES, SHOP_GOALS, clients, goals, goals_yaml, rules, writes  # noqa: F401
from click.testing import CliRunner

from ga4kit import admin
from ga4kit.cli import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRICING = [("event_name", "EQUALS", "page_view", False), ("page_location", "CONTAINS", "/pricing", False)]

FOUR_DERIVED = "defaults: {counting: once_per_event, currency: EUR}\ngoals:\n" + "".join(
    f"  - event: derived_{i}\n    type: micro\n    kind: milestone\n"
    f"    derive: {{from: page_view, where: [{{param: page_location, contains: /p{i}}}]}}\n" for i in range(4)
) + "  - {event: purchase, type: macro}\n"


def _cli(emulator, *args):
    return CliRunner().invoke(cli, ["--emulator", emulator.address, *args], catch_exceptions=False)


def _ga4kit(emulator, *args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "ga4kit", "--emulator", emulator.address, *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, **kw)


def _two_pricing_rules(emulator, first=PRICING, second=PRICING):
    pid, sid = emulator.test_property, emulator.test_stream
    a = emulator.admin.create_event_create_rule(pid, sid, "view_pricing", first, source_copy_parameters=True)
    b = emulator.admin.create_event_create_rule(pid, sid, "view_pricing", second, source_copy_parameters=True)
    return a["id"], b["id"]


# ----------------------------------------------------------------------------- plan: duplicates are drift

def test_a_duplicate_rule_is_pending_drift_in_plan_text_json_and_exit_code(emulator, clients, tmp_path):
    pid = emulator.test_property
    first, second = _two_pricing_rules(emulator)
    p = admin.plan(goals([pid]), clients, check_events=False)
    pp = p.property(pid)
    assert [(a.op, a.resource.rsplit("/", 1)[1]) for a in pp.rules] == [("unchanged", first), ("duplicate", second)]
    assert "apply --prune" in pp.rules[1].note and "double" in pp.rules[1].note
    assert p.summary()["duplicate"] == 1
    assert p.has_changes  # drift to show ...
    assert not pp.writes or all(a.kind == "key_event" for a in pp.writes)  # ... but nothing apply writes

    path = tmp_path / "goals.yaml"
    path.write_text(goals_yaml([pid]))
    # With every key event in place, the duplicate is the only pending change.
    assert admin.apply(p, clients, policy=FAST_WRITES).ok
    text = _cli(emulator, "plan", "-c", str(path), "--detailed-exitcode", "--no-event-check")
    assert text.exit_code == 2, text.output
    [line] = [ln for ln in text.stdout.splitlines() if ln.strip().startswith("* view_pricing")]
    assert "`ga4kit apply --prune` deletes it" in line
    assert "1 duplicate rule" in text.stdout and "`ga4kit apply --prune` deletes it" in text.stdout.splitlines()[-1]

    doc = json.loads(_cli(emulator, "plan", "-c", str(path), "--json", "--no-event-check").stdout)["data"]
    assert doc["changes_pending"] is True and doc["summary"]["duplicate"] == 1
    assert [r["action"] for r in doc["properties"][0]["rules"]] == ["unchanged", "duplicate"]
    assert doc["properties"][0]["status"] == "changes"

    # apply without --prune leaves it (and says so), exits 0; the drift stays visible.
    emulator.reset_calls()
    applied = _cli(emulator, "apply", "-c", str(path), "--yes", "--no-event-check")
    assert applied.exit_code == 0, applied.output
    assert "left alone: a duplicate rule" in applied.stdout
    assert writes(emulator) == [] and len(rules(emulator, pid)) == 2


def test_prune_deletes_the_duplicate_and_keeps_the_rule_matching_the_goals_file(emulator, clients):
    pid = emulator.test_property
    drifted = [("event_name", "EQUALS", "page_view", False), ("page_location", "CONTAINS", "/old", False)]
    old, matching = _two_pricing_rules(emulator, first=drifted, second=PRICING)
    p = admin.plan(goals([pid]), clients, prune=True, check_events=False)
    ops = {a.resource.rsplit("/", 1)[1]: a.op for a in p.property(pid).rules}
    assert ops == {matching: "unchanged", old: "delete"}  # the lower id is drifted: the matching one stays
    result = admin.apply(p, clients, policy=FAST_WRITES)
    assert result.ok
    [rule] = rules(emulator, pid)
    assert (rule.rule_id, rule.conditions) == (matching, PRICING)
    assert [c.method for c in writes(emulator) if c.method.endswith("EventCreateRule")] == ["DeleteEventCreateRule"]
    assert not admin.plan(goals([pid]), clients, prune=True, check_events=False).has_changes


def test_identical_duplicates_keep_the_lowest_id(emulator, clients):
    pid = emulator.test_property
    first, second = _two_pricing_rules(emulator)
    assert admin.apply(admin.plan(goals([pid]), clients, prune=True, check_events=False), clients,
                       policy=FAST_WRITES).ok
    assert [r.rule_id for r in rules(emulator, pid)] == [first]


def test_several_rules_for_an_undeclared_event_are_left_alone_even_with_prune(emulator, clients):
    pid, sid = emulator.test_property, emulator.test_stream
    for _ in range(2):
        emulator.admin.create_event_create_rule(pid, sid, "hand_made", [("event_name", "EQUALS", "click", False)])
    pp = admin.plan(goals([pid]), clients, prune=True, check_events=False).property(pid)
    assert [a.op for a in pp.rules if a.event == "hand_made"] == ["kept", "kept"]


# ----------------------------------------------------------------------------- apply: answers lost

def test_a_rule_create_that_landed_but_timed_out_is_not_repeated(emulator, clients):
    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients, check_events=False)
    # The write lands, the answer is lost (every time: the first look finds it, so no second create).
    emulator.faults.set("CreateEventCreateRule", {"DEADLINE_EXCEEDED": 1.0}, after=True)
    result = admin.apply(p, clients, policy=FAST_WRITES)
    assert result.ok
    assert [c.code for c in emulator.calls if c.method == "CreateEventCreateRule"] == ["DEADLINE_EXCEEDED"]
    assert [r.conditions for r in rules(emulator, pid)] == [PRICING]
    [o] = [o for o in result.property(pid).outcomes if o.action.kind == "event_create_rule"]
    assert "existed already" in o.message and "after 1 retry" in o.message


def test_a_rule_create_that_commits_after_the_deadline_and_after_the_first_look_leaves_one_rule(emulator):
    """GA4 commits a slow create after the client gave up and after ga4kit's first looks for it; ga4kit
    creates again, and the final read of the property's rules deletes the extras."""
    from ga4kit.connect import default_retry, make_clients

    pid = emulator.test_property
    # Each create takes 0.8 s on the server; the client waits 0.25 s. Every create is carried out, late.
    emulator.faults.set("CreateEventCreateRule", latency_ms=800)
    notes = []
    with make_clients(emulator=emulator.address, write=True, timeout=0.25,
                      retry=default_retry(initial=0.01, maximum=0.1, deadline=5.0)) as c:
        p = admin.plan(goals([pid]), c, check_events=False)
        result = admin.apply(p, c, policy=FAST_WRITES, on_wait=lambda s, text: notes.append(text))
    creates = [x for x in emulator.calls if x.method == "CreateEventCreateRule"]
    assert len(creates) >= 2, "the scenario needs a create sent again after a timed-out one"
    assert result.ok, admin.render_result(result)
    time.sleep(1.0)  # anything still in flight has landed by now
    assert [r.conditions for r in rules(emulator, pid)] == [PRICING]
    pr = result.property(pid)
    deleted = [o for o in pr.outcomes if o.action.kind == "event_create_rule" and o.action.op == "delete"]
    assert len(deleted) == len(creates) - 1 and all(o.status == "done" for o in deleted)
    [made] = [o for o in pr.outcomes if o.action.kind == "event_create_rule" and o.action.op == "create"]
    assert made.resource.endswith("/" + rules(emulator, pid)[0].rule_id)  # the outcome names the rule kept
    assert any("timed out without an answer" in n for n in notes)
    with make_clients(emulator=emulator.address) as c:
        assert not admin.plan(goals([pid]), c, check_events=False).has_changes


def test_a_rule_create_that_gave_up_on_timeouts_but_landed_is_reported_done_once(emulator):
    from ga4kit.admin import WritePolicy
    from ga4kit.connect import default_retry, make_clients

    pid = emulator.test_property
    emulator.faults.set("CreateEventCreateRule", latency_ms=600)
    impatient = WritePolicy(attempts=2, initial=0.01, maximum=0.05, deadline=5, writes_per_minute=0)
    with make_clients(emulator=emulator.address, write=True, timeout=0.2,
                      retry=default_retry(initial=0.01, maximum=0.1, deadline=5.0)) as c:
        result = admin.apply(admin.plan(goals([pid]), c, check_events=False), c, policy=impatient)
    pr = result.property(pid)
    [made] = [o for o in pr.outcomes if o.action.kind == "event_create_rule" and o.action.op == "create"]
    assert made.status == "done" and "carried it out after all" in made.message
    time.sleep(0.8)
    [rule] = rules(emulator, pid)
    assert made.resource.endswith("/" + rule.rule_id)
    # The timeouts stopped the property's other writes; the result says so.
    assert pr.status == "partial" and pr.error.status == "DEADLINE_EXCEEDED"


# ----------------------------------------------------------------------------- apply: two runs at once

def test_two_applies_at_once_create_each_rule_once(emulator, tmp_path):
    pid = emulator.test_property
    path = tmp_path / "four.yaml"
    path.write_text(goals_yaml([pid], FOUR_DERIVED))
    # 200 ms on the read-then-create window (the figure); before the per-property lock both runs
    # read "no rule" and both created one: 8 rules for 4 goals, every time.
    for method in ("ListEventCreateRules", "CreateEventCreateRule"):
        emulator.faults.set(method, latency_ms=200)
    procs = [_ga4kit(emulator, "apply", "-c", str(path), "--yes", "--no-event-check") for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(r.destination_event for r in rules(emulator, pid)) == [f"derived_{i}" for i in range(4)]
    emulator.faults.clear()
    final = _ga4kit(emulator, "plan", "-c", str(path), "--detailed-exitcode", "--no-event-check")
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, out + err


def test_an_apply_waits_for_another_run_on_the_same_property_and_says_so(emulator, tmp_path):
    from ga4kit.locking import FileLock, property_lock_path

    pid = emulator.test_property
    path = tmp_path / "goals.yaml"
    path.write_text(goals_yaml([pid]))
    lines: list[str] = []
    waiting = threading.Event()
    with FileLock(property_lock_path(pid)):  # "another run" holds the property
        proc = _ga4kit(emulator, "apply", "-c", str(path), "--yes", "--no-event-check")

        def read_stderr():
            for line in proc.stderr:
                lines.append(line)
                if "Waiting for another ga4kit run" in line:
                    waiting.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert waiting.wait(60), "".join(lines)
        time.sleep(0.3)
        assert writes(emulator) == []  # nothing written while the other run holds the lock
    out = proc.stdout.read()
    assert proc.wait(60) == 0, out + "".join(lines)
    reader.join(10)
    assert any(f"property P{pid} ({pid})" in ln for ln in lines if "Waiting" in ln)
    assert f"Property P{pid} ({pid}): applied" in out

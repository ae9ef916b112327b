"""`ga4kit plan` and `ga4kit apply` through click (CliRunner) and as real processes, against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from admin_support import SHOP_EVENTS, goals_yaml, key_event_counts, key_events, new_property, rules, writes
from click.testing import CliRunner

from ga4kit.cli import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def goals_file(tmp_path, emulator):
    path = tmp_path / "goals.yaml"
    path.write_text(goals_yaml([emulator.test_property]))
    return str(path)


def run(emulator, *args, input=None):
    return CliRunner().invoke(cli, ["--emulator", emulator.address, *args], input=input, catch_exceptions=False)


def test_plan_apply_plan_cycle_with_detailed_exit_codes(emulator, goals_file):
    pid = emulator.test_property
    first = run(emulator, "plan", "-c", goals_file, "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "+ view_item" in first.stdout and "= purchase" in first.stdout
    assert "Plan: 5 to create, 0 to update, 0 to delete, 1 unchanged, 0 kept, on 1 property." in first.stdout
    assert writes(emulator) == []
    assert {c.scope for c in emulator.calls} == {"analytics.readonly"}  # plan asks for no edit scope

    emulator.reset_calls()
    applied = run(emulator, "apply", "-c", goals_file, "--yes")
    assert applied.exit_code == 0, applied.output
    assert f"Property P{pid} ({pid}): applied" in applied.stdout
    assert "5 writes done, 0 failed, 0 skipped" in applied.stdout
    assert {c.scope for c in emulator.calls} == {"analytics.edit"}
    assert key_event_counts(emulator, pid) == Counter(SHOP_EVENTS)

    assert run(emulator, "plan", "-c", goals_file, "--detailed-exitcode").exit_code == 0
    emulator.reset_calls()
    again = run(emulator, "apply", "-c", goals_file, "--yes")
    assert again.exit_code == 0
    assert "No changes on 1 property" in again.stdout
    assert writes(emulator) == []


def test_plan_without_detailed_exitcode_is_0_with_changes(emulator, goals_file):
    assert run(emulator, "plan", "-c", goals_file).exit_code == 0


def test_plan_json_with_changes_pending_is_ok(emulator, goals_file):
    # Exit 2 is plan's answer "changes pending", not a failure: the envelope says ok.
    result = run(emulator, "plan", "-c", goals_file, "--json", "--detailed-exitcode")
    env = json.loads(result.stdout)
    assert (result.exit_code, env["exit_code"], env["ok"], env["data"]["changes_pending"]) == (2, 2, True, True)


def test_plan_json(emulator, goals_file):
    result = run(emulator, "plan", "-c", goals_file, "--json", "--prune")
    assert result.exit_code == 0
    env = json.loads(result.stdout)
    assert (env["format_version"], env["command"], env["ok"], env["exit_code"]) == (2, "plan", True, 0)
    assert env["errors"] == []
    # The test property has received no events: one warning says its event names could not be checked.
    assert [w["property"] for w in env["warnings"]] == [emulator.test_property]
    assert "received no events" in env["warnings"][0]["message"]
    doc = env["data"]
    assert "format_version" not in doc
    assert doc["kind"] == "plan" and doc["prune"] is True and doc["changes_pending"] is True
    assert doc["source"] == goals_file
    assert [k["event"] for k in doc["properties"][0]["key_events"] if k["action"] == "create"] == [
        "view_item", "add_to_cart", "newsletter_signup", "view_pricing"]


def test_property_override_and_measurement_id_refused(emulator, goals_file):
    other = new_property(emulator, name="Other")
    result = run(emulator, "plan", "-c", goals_file, "-p", f"properties/{other}", "--json")
    assert result.exit_code == 0
    assert [p["property"] for p in json.loads(result.stdout)["data"]["properties"]] == [other]

    emulator.reset_calls()
    bad = run(emulator, "plan", "-c", goals_file, "-p", "G-ABCD1234")
    assert bad.exit_code == 1
    assert "Error: 'G-ABCD1234' is a measurement id" in bad.stderr
    assert "Property details" in bad.stderr
    assert emulator.calls == []


def test_apply_refuses_without_yes_when_stdin_is_not_a_terminal(emulator, goals_file):
    result = run(emulator, "apply", "-c", goals_file)
    assert result.exit_code == 1
    assert "+ view_item" in result.stdout  # the plan is shown first
    assert "stdin is not a terminal" in result.stderr and "--yes" in result.stderr
    assert writes(emulator) == []
    assert set(key_events(emulator, emulator.test_property)) == {"purchase"}


def test_apply_asks_on_a_terminal(emulator, goals_file, monkeypatch):
    import ga4kit.cli.admin_cmds as cmds

    monkeypatch.setattr(cmds, "_stdin_is_tty", lambda: True)
    no = run(emulator, "apply", "-c", goals_file, input="n\n")
    assert no.exit_code == 1
    assert "Apply these changes to 1 property?" in no.stderr and "nothing was written" in no.stderr
    assert writes(emulator) == []

    yes = run(emulator, "apply", "-c", goals_file, input="y\n")
    assert yes.exit_code == 0, yes.output
    assert key_event_counts(emulator, emulator.test_property) == Counter(SHOP_EVENTS)


def test_apply_reports_every_property_and_exits_3_when_one_fails(emulator, tmp_path):
    a, b = emulator.test_property, new_property(emulator, name="B")
    c = new_property(emulator, name="C")
    emulator.admin.set_access(b, ["someone-else@example.com"])
    path = tmp_path / "three.yaml"
    path.write_text(goals_yaml([a, b, c]))
    result = run(emulator, "apply", "-c", str(path), "--yes")
    assert result.exit_code == 3  # partial: b failed, a and c were applied
    assert f"Property P{a} ({a}): applied" in result.stdout
    assert f"Property P{b} ({b}): failed" in result.stdout
    assert f"Property P{c} ({c}): applied" in result.stdout
    assert "PERMISSION_DENIED" in result.stdout
    assert "3 properties: 2 applied, 0 unchanged, 1 failed" in result.stdout
    for pid in (a, c):
        assert key_event_counts(emulator, pid) == Counter(SHOP_EVENTS)

    planned = run(emulator, "plan", "-c", str(path), "--detailed-exitcode")
    assert planned.exit_code == 1  # an error outranks "changes pending"


def test_apply_json_and_cap_refusal(emulator, tmp_path):
    pid = emulator.test_property
    for i in range(29):
        emulator.admin.create_key_event(pid, f"legacy_{i:02d}", "ONCE_PER_EVENT")
    path = tmp_path / "cap.yaml"
    path.write_text(goals_yaml([pid], "goals:\n  - {event: goal_a, type: micro, kind: secondary}\n"
                                      "  - {event: goal_b, type: macro}\n"))
    result = run(emulator, "apply", "-c", str(path), "--yes", "--json")
    assert result.exit_code == 1  # nothing could be done
    env = json.loads(result.stdout)
    assert (env["command"], env["ok"], env["exit_code"]) == ("apply", False, 1)
    [err] = env["errors"]
    assert set(err) == {"property", "status", "message", "hint"}
    assert (err["property"], err["status"]) == (pid, "CAP_EXCEEDED") and "makes 31" in err["message"]
    doc = env["data"]
    assert doc["ok"] is False and doc["state"] == "failed"
    [prop] = doc["properties"]
    assert prop["status"] == "refused" and prop["error"]["status"] == "CAP_EXCEEDED"
    assert "allows 30" in prop["error"]["message"] and "has 29" in prop["error"]["message"]
    assert "makes 31" in prop["error"]["message"]
    assert doc["plan"]["properties"][0]["cap"]["after"] == 31
    assert writes(emulator) == []

    text = run(emulator, "plan", "-c", str(path))
    assert text.exit_code == 1 and "! CAP_EXCEEDED" in text.stdout


def test_missing_goals_file_is_an_error(emulator, tmp_path):
    result = run(emulator, "plan", "-c", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1 and result.stderr.startswith("Error:")


# ----------------------------------------------------------------------------- real processes

def _ga4kit(emulator, *args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.Popen([sys.executable, "-m", "ga4kit", "--emulator", emulator.address, *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_subprocess_apply_without_yes_and_without_a_terminal_writes_nothing(emulator, goals_file):
    proc = _ga4kit(emulator, "apply", "-c", goals_file, stdin=subprocess.DEVNULL)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "+ view_item" in out and "stdin is not a terminal" in err
    assert writes(emulator) == []


MANY_GOALS = """
defaults: {counting: once_per_event, currency: EUR}
goals:
  - event: view_pricing
    type: micro
    kind: milestone
    derive: {from: page_view, where: [{param: page_location, contains: /pricing}]}
""" + "".join(f"  - {{event: step_{i}, type: micro, kind: milestone}}\n" for i in range(8)) + \
    "  - {event: purchase, type: macro}\n"
MANY_EVENTS = ["view_pricing", "purchase"] + [f"step_{i}" for i in range(8)]


@pytest.mark.parametrize("kill_at", [("CreateEventCreateRule", 1), ("CreateKeyEvent", 4)],
                         ids=["killed-during-rule-create", "killed-during-4th-key-event"])
def test_apply_killed_midway_then_rerun_leaves_one_key_event_per_goal(emulator, tmp_path, kill_at):
    pid = emulator.test_property
    path = tmp_path / "many.yaml"
    path.write_text(goals_yaml([pid], MANY_GOALS))
    method, nth = kill_at
    # Every write takes 0.4 s, so the process is mid-way when it is killed; the write it sent last is
    # still being carried out by the server (as GA4 would) after the client is gone.
    for m in ("CreateKeyEvent", "CreateEventCreateRule", "UpdateKeyEvent"):
        emulator.faults.set(m, latency_ms=400)
    received = threading.Event()
    seen = Counter()
    decide = emulator.faults.decide

    def spy(name):
        seen[name] += 1
        if name == method and seen[name] >= nth:
            received.set()
        return decide(name)

    emulator.faults.decide = spy
    proc = _ga4kit(emulator, "apply", "-c", str(path), "--yes", stdin=subprocess.DEVNULL)
    try:
        assert received.wait(60), proc.stderr.read() if proc.poll() is not None else "no write arrived"
        proc.kill()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0  # killed, not finished
    # Let the write in flight land, then check the property is really half-provisioned.
    deadline = time.monotonic() + 10
    expected_after_kill = (nth - 1) + 1 if method == "CreateKeyEvent" else 0  # done + the one in flight
    while time.monotonic() < deadline:
        custom = [e for e in key_events(emulator, pid) if e != "purchase"]
        if len(custom) >= expected_after_kill and (method != "CreateEventCreateRule" or rules(emulator, pid)):
            break
        time.sleep(0.05)
    time.sleep(0.5)
    custom = [e for e in key_events(emulator, pid) if e != "purchase"]
    assert len(custom) == expected_after_kill
    assert len(custom) < len(MANY_EVENTS) - 1
    assert len(rules(emulator, pid)) == 1  # the rule goes first; it landed even though the client died

    emulator.faults.decide = decide
    emulator.faults.clear()
    rerun = _ga4kit(emulator, "apply", "-c", str(path), "--yes", stdin=subprocess.DEVNULL)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, out + err
    assert key_event_counts(emulator, pid) == Counter(MANY_EVENTS)  # exactly one key event per goal
    assert [r.destination_event for r in rules(emulator, pid)] == ["view_pricing"]
    final = _ga4kit(emulator, "plan", "-c", str(path), "--detailed-exitcode")
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, out + err


def test_the_command_module_loads_no_google_client():
    code = ("import sys, ga4kit.cli.admin_cmds; "
            "print(sorted(m for m in sys.modules if m.startswith(('google', 'grpc', 'ga4kit.admin'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

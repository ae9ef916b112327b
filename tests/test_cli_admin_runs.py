"""`ga4kit plan` / `ga4kit apply` as a person runs them: exit codes, the JSON envelope, colour and NO_COLOR,
what apply says while it waits, and Ctrl-C in the middle of an apply (real processes, real signals)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from admin_support import FAST_WRITES, clients, goals, goals_yaml, key_event_counts, new_property, rules  # noqa: F401
from click.testing import CliRunner

from ga4kit import admin
from ga4kit.cli import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(emulator, *args):
    return CliRunner().invoke(cli, ["--emulator", emulator.address, *args], catch_exceptions=False)


def _cmd(emulator, *args):
    return [sys.executable, "-m", "ga4kit", "--emulator", emulator.address, *args]


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- exit codes

def test_plan_detailed_exitcode_with_a_bad_option_exits_1_not_2(emulator, tmp_path):
    path = tmp_path / "goals.yaml"
    path.write_text(goals_yaml([emulator.test_property]))
    for args in (["plan", "-c", str(path), "--detailed-exitcode", "--no-such-option"],
                 ["plan", "--detailed-exitcode"]):  # -c missing
        out = subprocess.run(_cmd(emulator, *args), cwd=ROOT, env=_env(), capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 1, (args, out.stderr)
        assert "Error" in out.stderr
    assert emulator.calls == []


def test_a_cap_refusal_does_not_say_the_property_could_not_be_read(emulator, tmp_path):
    pid = emulator.test_property
    for i in range(29):
        emulator.admin.create_key_event(pid, f"legacy_{i:02d}", "ONCE_PER_EVENT")
    path = tmp_path / "cap.yaml"
    path.write_text(goals_yaml([pid], "goals:\n  - {event: goal_a, type: micro, kind: secondary}\n"
                                      "  - {event: goal_b, type: macro}\n"))
    for command in ("plan", "apply"):
        result = _cli(emulator, command, "-c", str(path), "--yes" if command == "apply" else "--detailed-exitcode",
                      "--no-event-check")
        assert result.exit_code == 1
        assert "could not be read" not in result.stdout
    text = _cli(emulator, "plan", "-c", str(path), "--no-event-check").stdout
    assert text.splitlines()[-1] == "Nothing can be applied: the property would exceed the key event cap (see ! above)."


def test_apply_partial_exits_3_with_one_error_entry_per_failed_property(emulator, tmp_path):
    a, b = emulator.test_property, new_property(emulator, name="B")
    emulator.admin.set_access(b, ["someone-else@example.com"])
    path = tmp_path / "two.yaml"
    path.write_text(goals_yaml([a, b]))
    result = _cli(emulator, "apply", "-c", str(path), "--yes", "--json", "--no-event-check")
    assert result.exit_code == 3, result.output
    env = json.loads(result.stdout)
    assert (env["format_version"], env["command"], env["ok"], env["exit_code"]) == (2, "apply", False, 3)
    assert [(e["property"], e["status"]) for e in env["errors"]] == [(b, "PERMISSION_DENIED")]
    assert all(set(e) == {"property", "status", "message", "hint"} for e in env["errors"])
    assert "Property access management" in env["errors"][0]["hint"]
    assert env["data"]["state"] == "partial" and "format_version" not in env["data"]
    assert env["data"]["plan"]["kind"] == "plan" and "format_version" not in env["data"]["plan"]

    planned = json.loads(_cli(emulator, "plan", "-c", str(path), "--json", "--no-event-check").stdout)
    assert planned["exit_code"] == 1 and [(e["property"], e["status"]) for e in planned["errors"]] == [
        (b, "PERMISSION_DENIED")]


# ----------------------------------------------------------------------------- colour

def _on_a_terminal(emulator, args, **env):
    """Run ga4kit with stdout on a pseudo-terminal; returns what it printed there."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(_cmd(emulator, *args), cwd=ROOT, env=_env(TERM="xterm", **env), stdout=slave,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process is done writing
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(60)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_plan_is_coloured_on_a_terminal_unless_no_color_is_set(emulator, tmp_path):
    path = tmp_path / "goals.yaml"
    path.write_text(goals_yaml([emulator.test_property]))
    args = ["plan", "-c", str(path), "--no-event-check"]
    code, coloured = _on_a_terminal(emulator, args)
    assert code == 0 and "\x1b[" in coloured and "view_item" in coloured
    code, plain = _on_a_terminal(emulator, args, NO_COLOR="1")
    assert code == 0 and "view_item" in plain
    assert "\x1b[" not in plain


# ----------------------------------------------------------------------------- waits are told

def test_apply_tells_how_long_it_waits_for_quota(emulator, tmp_path, monkeypatch):
    import functools
    import importlib

    apply_module = importlib.import_module("ga4kit.admin.apply")  # ga4kit.admin.apply is also the function

    monkeypatch.setattr(apply_module, "WritePolicy",
                        functools.partial(apply_module.WritePolicy, quota_wait=0.02, quota_waits=20, initial=0.01))
    emulator.faults.set("CreateKeyEvent", {"RESOURCE_EXHAUSTED": 0.5})
    path = tmp_path / "goals.yaml"
    path.write_text(goals_yaml([emulator.test_property]))
    result = _cli(emulator, "apply", "-c", str(path), "--yes", "--no-event-check")
    assert result.exit_code == 0, result.output
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith("GA4 write quota exhausted: waiting")]
    assert notes and notes[0].endswith("(1 of 20).")


def test_pacing_is_told_once_with_what_is_left(emulator, clients):
    pid = emulator.test_property
    p = admin.plan(goals([pid]), clients, check_events=False)
    told = []
    result = admin.apply(p, clients, policy=admin.WritePolicy(writes_per_minute=1200, burst=1),
                         on_wait=lambda seconds, text: told.append((seconds, text)))
    assert result.ok
    [(seconds, text)] = told  # every write after the first waits, but one note says it all
    assert text.startswith("Pacing writes under GA4's 180 writes/min per user: 4 writes to go")
    assert 0.1 < seconds < 1


# ----------------------------------------------------------------------------- Ctrl-C

MANY = "defaults: {counting: once_per_event}\ngoals:\n" + "".join(
    f"  - {{event: step_{i}, type: micro, kind: milestone}}\n" for i in range(8)
) + "  - {event: purchase, type: macro}\n"
MANY_EVENTS = ["purchase"] + [f"step_{i}" for i in range(8)]


def test_ctrl_c_during_apply_says_what_landed_and_a_rerun_finishes(emulator, tmp_path):
    pid = emulator.test_property
    path = tmp_path / "many.yaml"
    path.write_text(goals_yaml([pid], MANY))
    emulator.faults.set("CreateKeyEvent", latency_ms=300)
    proc = subprocess.Popen(_cmd(emulator, "apply", "-c", str(path), "--yes", "--no-event-check"), cwd=ROOT,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while sum(1 for c in emulator.calls if c.method == "CreateKeyEvent") < 3:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    [line] = [ln for ln in err.splitlines() if ln.startswith("Interrupted after")]
    done = int(line.split()[2])
    assert 2 <= done < 8 and " of 8 writes (" in line
    assert f"P{pid} ({pid}): {done} of 8 writes done" in line
    assert f"Run `ga4kit apply -c {path}` again to finish: it picks up where this stopped." in line
    assert "Traceback" not in err
    assert f"Property P{pid} ({pid}): interrupted" in out  # the outcomes so far, on stdout
    time.sleep(0.5)  # the write in flight lands

    emulator.faults.clear()
    rerun = _cli(emulator, "apply", "-c", str(path), "--yes", "--no-event-check")
    assert rerun.exit_code == 0, rerun.output
    assert key_event_counts(emulator, pid) == Counter(MANY_EVENTS)
    assert _cli(emulator, "plan", "-c", str(path), "--detailed-exitcode", "--no-event-check").exit_code == 0


def test_ctrl_c_in_the_library_carries_the_partial_result(emulator, clients):
    """admin.apply raises ApplyInterrupted (a KeyboardInterrupt) with the outcomes so far."""
    pid = emulator.test_property
    b = new_property(emulator, name="B")
    p = admin.plan(goals([pid, b], MANY), clients, check_events=False)
    seen = []

    def on_outcome(pp, outcome):
        seen.append(outcome)
        if len(seen) == 3:
            raise KeyboardInterrupt

    try:
        # One property at a time, so B has certainly not started (tests/test_executor.py covers Ctrl-C while
        # several properties are being written).
        admin.apply(p, clients, policy=FAST_WRITES, on_outcome=on_outcome, concurrency=1)
    except admin.ApplyInterrupted as exc:
        assert (exc.done, exc.planned) == (3, 16)
        first, second = exc.result.properties
        assert first.status == "interrupted" and second.status == "interrupted"
        assert [o.status for o in first.outcomes].count("skipped") == 5
        assert {o.message for o in second.outcomes} == {"not attempted: interrupted"}
        assert exc.result.state == "partial"
    else:
        raise AssertionError("no ApplyInterrupted")

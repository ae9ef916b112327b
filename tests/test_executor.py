"""Concurrency across properties (ga4kit.executor): results in input order, one failing property never stops
the others, Ctrl-C, GA4's caps (Data API requests per property, the Admin API's rate, apply's write pacing),
and plan/pull/apply giving the same answers at any concurrency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections import Counter

import pytest

from admin_support import FAST_WRITES, SHOP_EVENTS, goals, key_event_counts, key_events, new_property
from ga4kit import admin
from ga4kit.errors import Ga4kitError, QuotaExhaustedError
from ga4kit.executor import Done, Interrupted, Limits, RateWindow, guard, run_per_property

TODAY = dt.date(2026, 11, 22)


# ----------------------------------------------------------------------------- run_per_property

def test_results_in_input_order_whatever_finishes_first():
    finished = []
    last_done = threading.Event()

    def slow_first(n):
        if n == 0:
            assert last_done.wait(10)  # 0 finishes after 5
        finished.append(n)
        if n == 5:
            last_done.set()
        return n * 10

    seen = []
    done = run_per_property(range(6), slow_first, max_workers=6, on_done=lambda d: seen.append(
        (d.item, threading.current_thread() is threading.main_thread())))
    assert [d.value for d in done] == [0, 10, 20, 30, 40, 50]
    assert finished.index(5) < finished.index(0) and {item for item, _ in seen} == set(range(6))
    assert all(main for _, main in seen)  # progress is told in the calling thread


def test_one_failing_item_never_stops_the_others():
    def fn(n):
        if n % 3 == 1:
            raise Ga4kitError(f"property {n} failed")
        return n

    for workers in (1, 4):
        done = run_per_property(range(7), fn, max_workers=workers)
        assert [d.ok for d in done] == [True, False, True, True, False, True, True]
        assert str(done[4].error) == "property 4 failed" and done[6].value == 6


def test_at_most_max_workers_at_once():
    lock = threading.Lock()
    now = peak = 0

    def fn(_):
        nonlocal now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        time.sleep(0.01)
        with lock:
            now -= 1

    run_per_property(range(40), fn, max_workers=5)
    assert peak == 5


def test_a_bug_is_raised_not_swallowed():
    def fn(n):
        if n == 2:
            raise ZeroDivisionError("bug")
        return n

    with pytest.raises(ZeroDivisionError):
        run_per_property(range(5), fn, max_workers=3)


def test_ctrl_c_inside_one_item_stops_the_run_with_what_finished():
    started = []

    def fn(n):
        started.append(n)
        if n == 3:
            raise KeyboardInterrupt
        time.sleep(0.01)
        return n

    with pytest.raises(Interrupted) as info:
        run_per_property(range(50), fn, max_workers=4)
    finished = [d for d in info.value.done if d is not None]
    assert all(isinstance(d, Done) and d.ok for d in finished)
    time.sleep(0.1)
    assert len(started) < 50  # no new item started once Ctrl-C was seen


# ----------------------------------------------------------------------------- rates and slots

def test_rate_window_allows_limit_per_period_and_queues_the_rest():
    clock = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)

    w = RateWindow(3, 10.0, clock=lambda: clock[0], sleep=sleep)
    assert [w.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert w.take() == 10.0  # the 4th waits for the 1st to leave the window
    clock[0] = 4.0
    assert w.take() == 6.0  # reserved after the 4th: at 10, with the 2nd and 3rd gone by then
    clock[0] = 25.0
    assert w.take() == 0.0


def test_admin_calls_from_many_threads_keep_to_the_window(emulator, emulator_clients):
    limits = Limits(admin_per_minute=4, admin_period=0.3)
    clients = guard(emulator_clients, limits)
    starts = []
    lock = threading.Lock()
    take = limits.admin.take

    def noted_take():
        waited = take()
        with lock:
            starts.append(time.monotonic())  # the moment the call may start
        return waited

    limits.admin.take = noted_take

    def read(_):
        clients.admin.get_property(name=f"properties/{emulator.test_property}")
        list(clients.admin.list_key_events(parent=f"properties/{emulator.test_property}"))

    run_per_property(range(6), read, max_workers=6)
    starts.sort()
    assert len(starts) == 12  # every Admin call took its place in the window
    for i in range(len(starts) - 4):
        assert starts[i + 4] - starts[i] >= 0.3 - 1e-3  # no 0.3 s holds more than 4 of them


def test_data_requests_per_property_stay_within_gas_concurrency_limit(emulator, emulator_clients):
    """GA4 answers RESOURCE_EXHAUSTED beyond 10 concurrent requests per property; the guard queues them."""
    emulator.store.append(emulator.test_property, _events())
    emulator.data.processing_delay_ms = 150  # hold each request inside the property's slot
    request = {"property": f"properties/{emulator.test_property}", "dimensions": [{"name": "eventName"}],
               "metrics": [{"name": "eventCount"}], "date_ranges": [{"start_date": "7daysAgo", "end_date": "today"}]}

    def call_with(clients):
        def one(_):
            clients.data.run_report(request=request)
        return [d.error for d in run_per_property(range(20), one, max_workers=20)]

    raw_errors = call_with(emulator_clients)
    assert any(isinstance(e, QuotaExhaustedError) for e in raw_errors), "without the guard GA4 refuses some"
    assert call_with(guard(emulator_clients)) == [None] * 20


def _events():
    import pandas as pd

    n = 10
    ts = int(pd.Timestamp.now(tz="UTC").timestamp() * 1_000_000) - 3_600_000_000
    return pd.DataFrame({"ts": [ts] * n, "event_name": ["page_view"] * n, "user_id": [f"u{i}" for i in range(n)]})


def test_write_pacer_holds_for_all_threads():
    from ga4kit.admin.apply import _Pacer

    pacer = _Pacer(per_minute=1200, burst=3)  # 20 a second after a burst of 3
    times = []
    lock = threading.Lock()

    def writer(_):
        for _ in range(4):
            pacer.take()
            with lock:
                times.append(time.monotonic())

    start = time.monotonic()
    run_per_property(range(6), writer, max_workers=6)
    times.sort()
    assert len(times) == 24
    # The k-th write of all threads goes no earlier than the burst and the refill allow (delays only add).
    for k, t in enumerate(times[3:], start=3):
        assert t - start >= (k - 2) / 20 - 1e-3


# ----------------------------------------------------------------------------- plan, apply, pull concurrently

@pytest.fixture
def five(emulator):
    locked = new_property(emulator, name="Locked")
    emulator.admin.set_access(locked, ["someone-else@example.com"])
    pids = [emulator.test_property, new_property(emulator, name="B"), locked, new_property(emulator, name="D"),
            new_property(emulator, name="E")]
    return pids, locked


def test_plan_is_the_same_at_any_concurrency_and_keeps_the_order(emulator, emulator_clients, five):
    pids, locked = five
    cfg = goals(pids)
    emulator.faults.set("*", latency_ms=20)
    ticks = []
    one = admin.plan(cfg, emulator_clients, concurrency=1)
    many = admin.plan(cfg, emulator_clients, concurrency=8, on_property=lambda pp: ticks.append(pp.property.id))
    assert [p.property.id for p in many.properties] == pids and sorted(ticks) == sorted(pids)
    assert admin.plan_to_dict(one) == admin.plan_to_dict(many)
    assert [p.error.status if p.error else None for p in many.properties] == [
        None, None, "PERMISSION_DENIED", None, None]


def test_apply_concurrently_writes_every_property_once(emulator, emulator_clients, five):
    pids, locked = five
    p = admin.plan(goals(pids), emulator_clients, check_events=False)
    result = admin.apply(p, emulator_clients, policy=FAST_WRITES, concurrency=5)
    assert [pr.property.id for pr in result.properties] == pids
    assert [pr.status for pr in result.properties] == ["applied", "applied", "failed", "applied", "applied"]
    for pid in pids:
        if pid != locked:
            assert key_event_counts(emulator, pid) == Counter(SHOP_EVENTS)
            assert len([r for r in emulator.admin.property_info(pid).rules]) == 1
    again = admin.plan(goals(pids), emulator_clients, check_events=False)
    assert not any(p.has_writes for p in again.properties if p.property.id != locked)


def test_ctrl_c_while_several_properties_are_written(emulator, emulator_clients):
    many = "defaults: {counting: once_per_event}\ngoals:\n" + "".join(
        f"  - {{event: step_{i}, type: micro, kind: milestone}}\n" for i in range(6))
    pids = [emulator.test_property] + [new_property(emulator, name=n) for n in "BCDE"]
    p = admin.plan(goals(pids, many), emulator_clients, check_events=False)
    emulator.faults.set("CreateKeyEvent", latency_ms=30)
    seen = []

    def on_outcome(pp, outcome):
        seen.append(outcome)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(admin.ApplyInterrupted) as info:
        admin.apply(p, emulator_clients, policy=FAST_WRITES, on_outcome=on_outcome, concurrency=3)
    exc = info.value
    assert exc.planned == 30 and [pr.property.id for pr in exc.result.properties] == pids
    for pr in exc.result.properties:
        assert len(pr.outcomes) == 6  # every planned write is accounted for, once
        assert pr.status == "interrupted"
    assert exc.done == sum(1 for pr in exc.result.properties for o in pr.outcomes if o.status == "done")
    assert 5 <= exc.done < 30
    untouched = [pr for pr in exc.result.properties if all(o.message == "not attempted: interrupted"
                                                           for o in pr.outcomes)]
    assert untouched, "properties not started yet stay untouched"
    time.sleep(0.3)  # writes under way land
    emulator.faults.clear()
    result = admin.apply(admin.plan(goals(pids, many), emulator_clients, check_events=False), emulator_clients,
                         policy=FAST_WRITES)
    assert result.ok
    for pid in pids:
        assert set(key_events(emulator, pid)) >= {f"step_{i}" for i in range(6)}
        assert all(n == 1 for n in key_event_counts(emulator, pid).values())


def test_pull_is_the_same_at_any_concurrency():
    from ga4kit.config import load_text
    from ga4kit.config.model import PropertyRef
    from ga4kit.connect import make_clients
    from ga4kit.emulator import Emulator
    from ga4kit.reporting.pull import pull

    import pandas as pd

    with Emulator(days=35, users=150, seed=2, today=TODAY, properties=6, latency=10) as emu:
        pids = emu.admin.property_ids()
        locked = emu.admin.create_property(emu.admin.account_ids()[0], "Locked")
        emu.admin.set_access(locked, ["someone@else.example"])
        order = [pids[3], locked, *pids[:3], *pids[4:]]
        cfg = load_text("version: 1\nproperties: [{id: \"1\"}]\ngoals:\n  - {event: view_item, type: micro, "
                        "kind: milestone}\n  - {event: purchase, type: macro}\n"
                        "report: {segments: [sessionDefaultChannelGroup]}\n")
        cfg = dataclasses.replace(cfg, properties=tuple(PropertyRef(p) for p in order))
        with make_clients(emulator=emu.address) as clients:
            ticks = []
            one = pull(cfg, clients, today=TODAY, grain="week", compare_previous=True, concurrency=1)
            many = pull(cfg, clients, today=TODAY, grain="week", compare_previous=True, concurrency=7,
                        progress=ticks.append)
    assert sorted(ticks) == sorted(order)
    assert list(many.metadata) == [p for p in order if p != locked] and list(many.errors) == [locked]
    assert list(dict.fromkeys(many.baseline["property"])) == [p for p in order if p != locked]
    for name in ("events", "baseline", "previous_events", "previous_baseline"):
        pd.testing.assert_frame_equal(getattr(many, name), getattr(one, name))
    assert {p: m.api_calls for p, m in many.metadata.items()} == {p: 2 for p in many.metadata}


def test_ctrl_c_of_the_cli_while_several_properties_are_written(emulator, tmp_path):
    """A real `ga4kit apply` process, Ctrl-C while three properties are being written: exit 130, what landed
    said per property, no traceback; a second apply finishes every property."""
    import os
    import signal
    import subprocess
    import sys

    from admin_support import goals_yaml

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    many = "defaults: {counting: once_per_event}\ngoals:\n" + "".join(
        f"  - {{event: step_{i}, type: micro, kind: milestone}}\n" for i in range(6))
    pids = [emulator.test_property] + [new_property(emulator, name=n) for n in "BC"]
    path = tmp_path / "many.yaml"
    path.write_text(goals_yaml(pids, many))
    emulator.faults.set("CreateKeyEvent", latency_ms=300)
    cmd = [sys.executable, "-m", "ga4kit", "--emulator", emulator.address, "apply", "-c", str(path), "--yes",
           "--no-event-check"]
    env = dict(os.environ, PYTHONPATH=root)
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 60
        while len({c.property for c in emulator.calls if c.method == "CreateKeyEvent"}) < 3:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err
    [line] = [ln for ln in err.splitlines() if ln.startswith("Interrupted after")]
    assert " of 18 writes (" in line and all(f"P{pid} ({pid}): " in line for pid in pids)
    time.sleep(0.5)  # the writes under way land
    emulator.faults.clear()
    rerun = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    for pid in pids:
        assert key_event_counts(emulator, pid) == Counter({"purchase": 1, **{f"step_{i}": 1 for i in range(6)}})

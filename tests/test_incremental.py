"""Incremental pulls (`pull --incremental`): scheduled runs against the emulator's late-data mode converge on a
fresh full pull in every destination, at day and week grain; missed runs leave no gap; a property the state does
not know pulls the configured range; a failing property leaves the others written. Real emulator over gRPC, real
files read back through the Destination interface (so a destination added to DESTINATIONS is tested alike)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ga4kit import destinations as D
from ga4kit.destinations.state import DestinationState, HeldWindow
from ga4kit.reporting import incremental as inc
from ga4kit.reporting.pull import pull
from pull_support import shop_goals

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 22)
MIDNIGHT = dt.datetime(2026, 11, 21, 23, 0, tzinfo=dt.timezone.utc)  # 00:00 of TODAY in Berlin
START = "2026-11-09"  # a Monday: the configured range starts on a whole week
SEG = "sessionDefaultChannelGroup"
TABLES = ["events", "baseline"]
KEYS = {"events": ["property", "period", SEG, "event"], "baseline": ["property", "period", SEG]}



def _sheet(tmp: Path, emu):
    """A new spreadsheet on the emulator's Sheets v4 stand-in, written over HTTP like Google's."""
    sid = emu.sheets.create(tmp.name)
    return D.open_destination(f"sheets://{sid}/goals", emulator=emu.address)


# Every destination a scheduled run can write to: (id, factory(tmp_path, emulator) -> target).
DESTINATIONS = [
    pytest.param(lambda tmp, emu: tmp / "goals.csv", id="csv"),
    pytest.param(lambda tmp, emu: tmp / "goals.xlsx", id="xlsx"),
    pytest.param(lambda tmp, emu: tmp / "goals.parquet", id="parquet"),
    pytest.param(lambda tmp, emu: tmp / "goals.ndjson", id="ndjson"),
    pytest.param(_sheet, id="sheets"),
]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(scope="module")
def late():
    """Two demo properties (Berlin, New York) whose events keep arriving for up to 72 hours."""
    from ga4kit.connect import make_clients
    from ga4kit.emulator import Emulator

    unlimited = {"write_requests_per_minute_per_user": 100_000, "write_requests_per_minute": 100_000}
    with Emulator(today=TODAY, days=21, users=300, seed=3, properties=2, late_data={"seed": 7},
                  now=MIDNIGHT, sheets_limits=unlimited) as emu:
        emu.pids = emu.admin.property_ids()[:2]
        clients = make_clients(emulator=emu.address)
        emu.clients = clients
        try:
            yield emu
        finally:
            clients.close()


goals = shop_goals


def config(tmp_path: Path, pids):
    from ga4kit.config import load

    return load(goals(tmp_path, pids))


def held(target) -> dict[str, HeldWindow]:
    state = D.open_destination(target).state()
    assert state is not None, "the state must be stored with the data and match it"
    return dict(state.properties)


def cell(value) -> str:
    """A cell as comparable text: formats store 3059.0 as 3059 or a date as a timestamp."""
    if pd.isna(value):
        return ""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return str(pd.Timestamp(value).date())
    try:
        return repr(float(str(value)))
    except ValueError:
        return str(value)


def table(target, name: str, tables=TABLES) -> pd.DataFrame:
    frame = D.read_frames(target, tables)[name]
    keys = KEYS[name.split(".")[0]]
    for c in frame.columns:
        frame[c] = frame[c].map(cell)
    return frame.sort_values(keys).reset_index(drop=True)


def fresh(emu, cfg, tmp_path: Path, make, grain: str, name: str = "fresh"):
    """A full pull of the configured range at the emulator's clock, written to a new destination."""
    target = make(tmp_path / name, emu)
    if isinstance(target, Path):
        target.parent.mkdir(exist_ok=True)
    result = pull(cfg, emu.clients, start=START, grain=grain, whole_periods=True, now=emu.now)
    assert not result.errors
    D.write_pull(result, target, merge=True, now=emu.now)
    return target


def scheduled(emu, cfg, target, grain: str, *, lookback: int = 3, **kw):
    run = inc.pull_incremental(cfg, emu.clients, target, start=START, grain=grain, lookback=lookback,
                               now=emu.now, **kw)
    assert not run.result.errors, run.result.errors
    return run


def assert_same(a, b, tables=TABLES) -> None:
    for name in tables:
        pd.testing.assert_frame_equal(table(a, name, tables), table(b, name, tables), check_dtype=False)


# ----------------------------------------------------------------------------------------- the plan

def test_each_property_starts_at_its_last_day_held_minus_the_lookback_in_whole_periods():
    now = MIDNIGHT
    state = DestinationState(properties={
        "1": HeldWindow(((d("2026-10-01"), d("2026-11-21")),), "day", (SEG,), now),
        "2": HeldWindow(((d("2026-10-01"), d("2026-11-02")),), "day", (SEG,), now),  # runs were missed
        "3": HeldWindow(((d("2026-10-01"), d("2026-11-21")),), "week", (SEG,), now),
        "4": HeldWindow(((d("2026-10-01"), d("2026-11-21")),), "day", (), now),  # other segments
    })
    day = inc.plan(state, ["1", "2", "3", "4", "5"], grain="day", segments=[SEG], lookback=3)
    assert day["1"].start == d("2026-11-18") and day["1"].source == inc.FROM_STATE
    assert day["2"].start == d("2026-10-30")  # from the state, not "3 days ago": the gap is filled
    assert day["3"].start is None and day["3"].source == inc.CHANGED  # another grain: the configured range
    assert day["4"].start is None and day["4"].source == inc.CHANGED
    assert day["5"].start is None and day["5"].source == inc.NOT_HELD
    week = inc.plan(state, ["3"], grain="week", segments=[SEG], lookback=3)
    assert week["3"].start == d("2026-11-16")  # 2026-11-18 is a Wednesday: back to its Monday
    assert inc.resume_from(state.properties["3"], 21, "month") == d("2026-10-01")
    assert inc.resume_from(state.properties["1"], 0, "day") == d("2026-11-21")
    assert all(s.source == inc.NO_STATE for s in inc.plan(None, ["1"], grain="day", segments=[SEG]).values())
    split = inc.plan(state, ["1"], grain="day", segments=[SEG], tables={"1": ["events.1", "baseline.1"]})
    assert split["1"].source == inc.CHANGED  # its rows are in the shared tables, not in tables of its own


@pytest.mark.parametrize("grain, compare, lookback", [("range", False, 3), ("day", True, 3), ("day", False, -1)])
def test_options_that_cannot_work_are_refused_before_any_call(grain, compare, lookback):
    from ga4kit.errors import Ga4kitError

    with pytest.raises(Ga4kitError):
        inc.check_options(grain, compare_previous=compare, lookback=lookback)


# ----------------------------------------------------------------------------------------- convergence

@pytest.mark.parametrize("make", DESTINATIONS)
@pytest.mark.parametrize("grain", ["day", "week"])
def test_three_scheduled_runs_under_late_data_equal_a_fresh_full_pull(late, tmp_path, make, grain):
    emu = late
    emu.set_now(MIDNIGHT + dt.timedelta(hours=6))
    cfg = config(tmp_path, emu.pids)
    target = make(tmp_path, emu)
    first = scheduled(emu, cfg, target, grain)
    assert {s.source for s in first.starts.values()} == {inc.NO_STATE}
    after_first = fresh(emu, cfg, tmp_path, make, grain, "first")
    assert_same(target, after_first)
    for _ in range(2):  # the next two daily runs
        emu.advance(hours=24)
        run = scheduled(emu, cfg, target, grain)
        assert {s.source for s in run.starts.values()} == {inc.FROM_STATE}
        if grain == "day":  # each property re-pulls only its last day held minus three
            assert {s.start for s in run.starts.values()} == {emu.now.date() - dt.timedelta(days=5)}
    assert_same(target, fresh(emu, cfg, tmp_path, make, grain))
    # The late data did change what was pulled first: the runs had something to catch up with.
    with pytest.raises(AssertionError):
        assert_same(target, after_first)
    last = emu.now.date() - dt.timedelta(days=1)
    for pid, w in held(target).items():
        first_day = d(START)
        assert w.ranges[0][0] == first_day and w.last >= last and len(w.ranges) == 1, (pid, w)


def test_without_a_lookback_the_runs_would_keep_stale_days(late, tmp_path):
    """The convergence test can fail: re-pulling only the last day held misses the late events of the days
    before it."""
    emu = late
    make = DESTINATIONS[0].values[0]
    emu.set_now(MIDNIGHT + dt.timedelta(hours=6))
    cfg = config(tmp_path, emu.pids)
    target = make(tmp_path, emu)
    for i in range(3):
        emu.set_now(MIDNIGHT + dt.timedelta(hours=6 + 24 * i))
        scheduled(emu, cfg, target, "day", lookback=0)
    with pytest.raises(AssertionError):
        assert_same(target, fresh(emu, cfg, tmp_path, make, "day"))


@pytest.mark.parametrize("make", DESTINATIONS[:2])
def test_missed_runs_leave_no_gap(late, tmp_path, make):
    emu = late
    emu.set_now(MIDNIGHT + dt.timedelta(hours=6))
    cfg = config(tmp_path, emu.pids)
    target = make(tmp_path, emu)
    scheduled(emu, cfg, target, "day")
    emu.advance(days=5)  # four daily runs did not happen
    run = scheduled(emu, cfg, target, "day")
    assert {s.start for s in run.starts.values()} == {TODAY - dt.timedelta(days=1 + 3)}
    assert_same(target, fresh(emu, cfg, tmp_path, make, "day"))
    assert all(len(w.ranges) == 1 and w.last == emu.now.date() - dt.timedelta(days=1)
               for w in held(target).values())


def test_a_new_property_pulls_the_configured_range_and_the_others_resume(late, tmp_path):
    emu = late
    make = DESTINATIONS[1].values[0]
    emu.set_now(MIDNIGHT + dt.timedelta(hours=6))
    target = make(tmp_path, emu)
    scheduled(emu, config(tmp_path, emu.pids[:1]), target, "day")
    emu.advance(hours=24)
    cfg = config(tmp_path, emu.pids)
    run = scheduled(emu, cfg, target, "day")
    assert run.starts[emu.pids[0]].source == inc.FROM_STATE
    assert run.starts[emu.pids[1]].source == inc.NOT_HELD
    assert run.result.metadata[emu.pids[1]].start == d(START)
    assert_same(target, fresh(emu, cfg, tmp_path, make, "day"))


@pytest.mark.parametrize("make", DESTINATIONS[:2])
def test_a_table_per_property_converges_and_keeps_other_properties_tables(late, tmp_path, make):
    emu = late
    emu.set_now(MIDNIGHT + dt.timedelta(hours=6))
    cfg = config(tmp_path, emu.pids)
    target = make(tmp_path, emu)
    for i in range(3):
        emu.set_now(MIDNIGHT + dt.timedelta(hours=6 + 24 * i))
        scheduled(emu, cfg, target, "week", table_per_property=True)
    full = fresh(emu, cfg, tmp_path, make, "week")
    names = [D.property_table(t, pid) for pid in emu.pids for t in TABLES]
    for pid in emu.pids:
        for t in TABLES:
            mine = table(target, D.property_table(t, pid), names)
            assert set(mine["property"]) == {cell(pid)}
            want = table(full, t)
            want = want[want["property"] == cell(pid)].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, want, check_dtype=False)
    assert held(target)[emu.pids[0]].tables == tuple(D.property_tables(emu.pids[0]))
    # One property's run leaves the other's tables alone.
    before = table(target, D.property_table("events", emu.pids[1]), names)
    one = inc.pull_incremental(cfg, emu.clients, target, properties=[emu.pids[0]], start=START, grain="week",
                               table_per_property=True, now=emu.now)
    assert not one.result.errors
    pd.testing.assert_frame_equal(table(target, D.property_table("events", emu.pids[1]), names), before)


def test_a_failing_property_leaves_the_others_written_and_its_state_untouched(late, tmp_path):
    emu = late
    make = DESTINATIONS[0].values[0]
    emu.set_now(MIDNIGHT + dt.timedelta(hours=6))
    target = make(tmp_path, emu)
    missing = "399999999"
    cfg = config(tmp_path, [*emu.pids, missing])
    run = inc.pull_incremental(cfg, emu.clients, target, start=START, grain="day", now=emu.now)
    assert set(run.result.errors) == {missing} and set(run.result.metadata) == set(emu.pids)
    assert run.written and set(held(target)) == set(emu.pids)
    summary = inc.summarize(run.result, run.written, target=target, starts=run.starts, lookback=3)
    assert summary.exit_status == "partial" and summary.failed == [missing]
    assert "2 ok, 1 failed" in summary.line()

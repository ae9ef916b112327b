"""`ga4kit pull` as a scheduler runs it: exit codes (0 ok, 3 partial, 1 failed), one log line per run (--quiet:
nothing else on stdout), the JSON envelope with the same facts, options refused before any API call,
--max-quota-share stopping a property before it takes more than its share, and a run killed with SIGKILL
part-way leaving the previous data readable for the next run to complete."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ga4kit import destinations as D
from ga4kit.cli import cli
from ga4kit.reporting import quota_share as Q
from pull_support import PAD, padding, shop_goals

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 22)
SEG = "sessionDefaultChannelGroup"
START, END = "2026-11-09", "2026-11-21"
LINE = re.compile(r"^ga4kit pull: (?P<n>\d+) propert(y|ies), (?P<window>\S+)( \(lookback (?P<lookback>\d+)[^)]*\))?, "
                  r"(?P<rows>[\d,]+) rows written to (?P<target>\S+), (?P<ok>\d+) ok, (?P<failed>\d+) failed"
                  r"(, (?P<skipped>\d+) skipped for quota)?, quota (?P<used>[\d,]+) tokens used"
                  r"(, (?P<left>[\d,]+) left \(lowest property\))?$")


@pytest.fixture(scope="module")
def live():
    """Berlin and New York (standard) and London (360: ten times the tokens)."""
    from ga4kit.emulator import Emulator

    with Emulator(days=21, users=200, seed=13, today=TODAY, properties=3) as emu:
        emu.pids = emu.admin.property_ids()[:3]
        assert emu.admin.get_property(emu.pids[2])["service_level"] == "PREMIUM"
        yield emu


goals = shop_goals


def run(emu, *args):
    return CliRunner().invoke(cli, ["--emulator", emu.address, *map(str, args)], catch_exceptions=False)


def scheduled(emu, cfg, out, *more):
    return run(emu, "pull", "-c", cfg, "-o", out, "--incremental", "-g", "day", "--start", START, "--end", END,
               *more)


def number(text: str) -> int:
    return int(text.replace(",", ""))


# ----------------------------------------------------------------------------------------- the log line

def test_a_run_ends_with_one_log_line_and_quiet_prints_nothing_else(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.pids[:2])
    out = tmp_path / "goals.xlsx"
    loud = scheduled(emu, cfg, out)
    assert loud.exit_code == 0, loud.output
    assert f"Wrote {out}" in loud.stdout
    quiet = scheduled(emu, cfg, out, "--quiet")
    assert quiet.exit_code == 0, quiet.output
    [line] = quiet.stdout.splitlines()
    assert quiet.stderr == ""
    m = LINE.match(line)
    assert m, line
    assert m["n"] == "2" and m["lookback"] == "3" and m["target"] == str(out) and m["ok"] == "2"
    assert m["window"] == "2026-11-18..2026-11-21"  # the last day held (the 21st) minus three
    assert number(m["used"]) > 0 and 0 < number(m["left"]) < Q.STANDARD_TOKENS_PER_HOUR
    frames = D.read_frames(out, ["events", "baseline"])
    rows = sum(len(f[pd.to_datetime(f["period_start"]) >= "2026-11-18"]) for f in frames.values())
    assert number(m["rows"]) == rows
    assert loud.stdout.splitlines()[-1].startswith("ga4kit pull: 2 properties, 2026-11-09..2026-11-21 (lookback 3, "
                                                   "2 from the configured range)")
    # The global -q does the same.
    globally = run(emu, "-q", "pull", "-c", cfg, "-o", out, "--incremental", "-g", "day", "--end", END)
    assert globally.exit_code == 0 and len(globally.stdout.splitlines()) == 1


def test_json_carries_the_same_facts_as_the_line(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.pids[:2])
    out = tmp_path / "goals.csv"
    res = scheduled(emu, cfg, out, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)["data"]
    facts = data["run"]
    m = LINE.match(facts["line"])
    assert m and facts["status"] == "ok" and facts["lookback"] == 3
    assert number(m["used"]) == facts["tokens_used"] == sum(p["tokens_used"] for p in data["properties"].values())
    assert number(m["left"]) == facts["tokens_left"] == min(p["tokens_left"] for p in data["properties"].values())
    assert {s["from"] for s in data["incremental"]["starts"].values()} == {"no state"}
    again = json.loads(scheduled(emu, cfg, out, "--json").stdout)["data"]
    assert {pid: s["start"] for pid, s in again["incremental"]["starts"].items()} == {
        pid: "2026-11-18" for pid in emu.pids[:2]}


# ----------------------------------------------------------------------------------------- exit codes

def test_exit_codes_ok_partial_and_failed(live, tmp_path):
    emu = live
    missing = "399999999"
    out = tmp_path / "goals.csv"
    partial = scheduled(emu, goals(tmp_path, [emu.pids[0], missing]), out)
    assert partial.exit_code == 3, partial.output
    assert f"Error: property {missing}:" in partial.stderr
    assert ", 1 ok, 1 failed," in partial.stdout.splitlines()[-1]
    assert set(D.open_destination(out).state().properties) == {emu.pids[0]}
    failed = scheduled(emu, goals(tmp_path, [missing]), tmp_path / "none.csv")
    assert failed.exit_code == 1
    assert "nothing written to" in failed.stdout and not (tmp_path / "none.events.csv").exists()


@pytest.mark.parametrize("args, message", [
    (["--lookback", "2"], "--lookback 2 only applies to --incremental"),
    (["--incremental", "-g", "range"], "needs a day, week or month grain"),
    (["--incremental", "-g", "day", "--compare", "previous"], "cannot also pull the previous period"),
    (["--shard", "2/2"], "out of range"),
    (["--max-quota-share", "1.5"], "--max-quota-share 1.5"),
])
def test_options_that_cannot_work_fail_before_any_api_call(live, tmp_path, args, message):
    emu = live
    calls = len(emu.calls) if hasattr(emu, "calls") else None
    res = run(emu, "pull", "-c", goals(tmp_path, emu.pids[:1]), "-o", tmp_path / "g.csv", *args)
    assert res.exit_code == 1 and message in res.stderr and "Traceback" not in res.output
    if calls is not None:
        assert len(emu.calls) == calls
    assert not list(tmp_path.glob("g*.csv"))


def test_a_merge_of_a_window_without_rows_keeps_the_file_mergeable(live, tmp_path):
    """Regression: an empty pull's text columns were float64, so merging it into a file failed with "column
    'property_name' of the existing file does not hold float64 values" (an incremental run whose window has no
    events yet, e.g. a quiet property)."""
    emu = live
    cfg = goals(tmp_path, emu.pids[:1])
    out = tmp_path / "g.csv"
    assert run(emu, "pull", "-c", cfg, "-o", out, "--merge", "-g", "day", "--start", START, "--end", END).exit_code == 0
    later = run(emu, "pull", "-c", cfg, "-o", out, "--merge", "-g", "day", "--start", "2026-12-01",
                "--end", "2026-12-05")
    assert later.exit_code == 0, later.output
    assert len(pd.read_csv(tmp_path / "g.events.csv")) > 0


# ----------------------------------------------------------------------------------------- --max-quota-share

def test_a_property_past_its_share_is_skipped_for_quota_and_the_run_is_partial(live, tmp_path):
    emu = live
    berlin, _, london = emu.pids
    cfg = goals(tmp_path, [berlin, london])
    out = tmp_path / "goals.xlsx"
    # A pull here costs about 15 tokens: 0.0002 of the hour allows 8 on a standard property, 80 on a 360 one.
    res = scheduled(emu, cfg, out, "--max-quota-share", "0.0002")
    assert res.exit_code == 3, res.output
    assert f"Error: Property {berlin} skipped for quota:" in res.stderr
    assert "0.0002 of 40,000 tokens per hour" in res.stderr
    m = LINE.match(res.stdout.splitlines()[-1])
    assert m and (m["ok"], m["failed"], m["skipped"]) == ("1", "0", "1")
    assert number(m["left"]) < Q.STANDARD_TOKENS_PER_HOUR  # the lowest is the skipped standard property's
    assert set(D.open_destination(out).state().properties) == {london}
    events = D.read_frames(out, ["events"])["events"]
    assert set(events["property"].astype(str)) == {london}
    as_json = scheduled(emu, cfg, tmp_path / "j.csv", "--max-quota-share", "0.0002", "--json")
    envelope = json.loads(as_json.stdout)
    assert [e["status"] for e in envelope["errors"]] == ["QUOTA_SHARE_REACHED"]
    assert envelope["data"]["run"]["skipped_for_quota"] == [berlin] and envelope["exit_code"] == 3


def test_the_share_is_checked_before_every_request_so_a_run_never_takes_more(live, tmp_path, monkeypatch):
    """Small pages make one property's pull many requests; the run stops it between two of them, within its
    share, and says how many tokens it used."""
    from ga4kit.config import load
    from ga4kit.connect import make_clients
    from ga4kit.reporting.pull import pull

    pull_module = sys.modules["ga4kit.reporting.pull"]
    monkeypatch.setattr(pull_module, "PAGE", 20)
    emu = live
    berlin = emu.pids[0]
    share = 0.001  # 40 tokens: the paged pull costs about 85
    with make_clients(emulator=emu.address) as clients:
        before = emu.quota.status(berlin)["tokens_per_hour"][1]
        result = pull(load(goals(tmp_path, [berlin])), clients, start=START, end=END, grain="day",
                      max_quota_share=share)
        spent = before - emu.quota.status(berlin)["tokens_per_hour"][1]
    err = result.errors[berlin]
    assert isinstance(err, Q.QuotaShareReached)
    assert 0 < err.tokens_used == spent <= share * Q.STANDARD_TOKENS_PER_HOUR


def test_the_estimate_learns_from_each_answer_and_a_360_property_gets_ten_times_the_tokens():
    budget = Q.PropertyBudget("1", 0.001)
    assert budget.limit == 40 and not budget.priced
    budget.record(3, 1, 39_990)  # the probe
    budget.check(4)  # 3 + 4 x 3 <= 40
    budget.record(14, 4, 39_976)
    assert budget.per_report == 4 and budget.used == 17
    with pytest.raises(Q.QuotaShareReached) as err:
        budget.check(6)  # 17 + 6 x 4 > 40
    assert err.value.tokens_used == 17 and err.value.status == "QUOTA_SHARE_REACHED"
    premium = Q.PropertyBudget("2", 0.001)
    premium.record(3, 1, 399_990)
    assert premium.hourly == Q.PREMIUM_TOKENS_PER_HOUR and premium.limit == 400
    for bad in (0, -0.1, 1.01, "x"):
        with pytest.raises(Exception, match="--max-quota-share"):
            Q.check_share(bad)


# ----------------------------------------------------------------------------------------- killed runs



def temps(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_a_run_killed_part_way_leaves_the_previous_data_and_the_next_run_completes(live, tmp_path):
    from ga4kit.destinations.state import DestinationState

    emu = live
    pid = emu.pids[0]
    cfg = goals(tmp_path, [pid])
    out = tmp_path / "goals.xlsx"
    D.open_destination(out).write(padding(6_000), state=DestinationState())
    first = scheduled(emu, cfg, out, "--end", "2026-11-14")  # the last scheduled run that finished
    assert first.exit_code == 0, first.output
    before, state = out.read_bytes(), D.open_destination(out).state()
    assert state.properties[pid].last == dt.date(2026, 11, 14)

    child = subprocess.Popen([sys.executable, "-m", "ga4kit", "--emulator", emu.address, "pull", "-c", str(cfg),
                              "-o", str(out), "--incremental", "-g", "day", "--start", START, "--end", END],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not temps(out):
        assert child.poll() is None, "the write finished before it could be killed: " + child.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    assert out.read_bytes() == before  # the previous data, whole and readable
    assert D.open_destination(out).state() == state
    assert set(D.read_frames(out, ["events"])["events"]["property"].astype(str)) == {PAD, pid}

    later = scheduled(emu, cfg, out, "--quiet")  # the next scheduled run
    assert later.exit_code == 0, later.output
    assert LINE.match(later.stdout.strip())["window"] == "2026-11-11..2026-11-21"
    assert D.open_destination(out).state().properties[pid].ranges == ((dt.date(2026, 11, 9), dt.date(2026, 11, 21)),)
    got = D.read_frames(out, ["events"])["events"]
    full = run(emu, "pull", "-c", cfg, "-o", tmp_path / "full.csv", "-g", "day", "--start", START, "--end", END)
    assert full.exit_code == 0
    want = pd.read_csv(tmp_path / "full.events.csv", dtype={"property": str})
    mine = got[got["property"].astype(str) == pid]
    assert len(mine) == len(want)
    assert mine["event_count"].astype(int).sum() == want["event_count"].sum()
    assert (got["property"].astype(str) == PAD).sum() == 6_000

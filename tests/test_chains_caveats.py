"""What `chains` must never say quietly: an empty range, goals that never fire, partial periods, a previous
period before the data starts, a history or closed funnels that could not be pulled, and what "macro/step"
is. Against the emulator through Google's clients; quota runs out for real (the emulator's token ledger).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from click.testing import CliRunner

from ga4kit.cli import cli
from ga4kit.config import load
from ga4kit.connect import make_clients

TODAY = dt.date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]
SEG = "sessionDefaultChannelGroup"
DATES = ["--start", "2026-10-25", "--end", "2026-11-21"]


def goals_file(directory: Path, pid: str) -> Path:
    path = directory / "shop.yaml"
    path.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"'))
    return path


def invoke(address: str, *args):
    return CliRunner().invoke(cli, ["--emulator", address, *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def late(tmp_path_factory):
    """A shop whose data starts on 2026-10-18: inside the previous period of the last 28 days."""
    from ga4kit.emulator import Emulator

    with Emulator(days=35, users=500, seed=9, today=TODAY) as emu:
        pid = emu.admin.property_ids()[0]
        yield emu, pid, goals_file(tmp_path_factory.mktemp("late"), pid)


def used_tokens(emu, pid) -> int:
    limits = emu.quota.limits_for(emu.admin.property_info(pid).service_level)
    return limits.tokens_per_hour - emu.quota.status(pid)["tokens_per_hour"][1]


@pytest.fixture
def hourly_tokens(late):
    """Set the property's hourly token quota (restored afterwards)."""
    emu, pid, _ = late
    original = emu.quota.standard

    def set_limit(tokens: int) -> None:
        emu.quota.reset()
        emu.quota.standard = dataclasses.replace(original, tokens_per_hour=tokens)

    yield set_limit
    emu.quota.standard = original
    emu.quota.reset()


# ----------------------------------------------------------------------------------------- empty data

def test_a_range_without_data_is_an_error_flag_not_all_clear(emulator, tmp_path):
    """It said "No flags: the data looks consistent" over a range without a single user."""
    cfg = goals_file(tmp_path, emulator.test_property)
    res = invoke(emulator.address, "chains", "-c", str(cfg), *DATES)
    assert res.exit_code == 0, res.output  # the command worked; the data is what is wrong
    assert "No flags" not in res.output and "looks consistent" not in res.output
    assert "no_data" in res.stdout and "Data errors: no_data." in res.stdout
    doc = json.loads(invoke(emulator.address, "chains", "-c", str(cfg), *DATES, "--json").stdout)
    assert (doc["ok"], doc["exit_code"]) == (True, 0)
    assert [(f["flag"], f["severity"]) for f in doc["data"]["flags"]] == [("no_data", "error")]


def test_traffic_without_any_goal_event_is_an_error_flag(emulator, tmp_path):
    tz = ZoneInfo("Europe/Berlin")
    rows = [{"ts": int(dt.datetime(2026, 11, 1 + i % 20, 10, tzinfo=tz).timestamp() * 1e6), "event_name": "page_view",
             "user_id": f"u{i}", "session_id": 1, "channel_group": "Direct", "source": "(direct)", "medium": "(none)"}
            for i in range(40)]
    emulator.store.append(emulator.test_property, pd.DataFrame(rows))
    cfg = goals_file(tmp_path, emulator.test_property)
    doc = json.loads(invoke(emulator.address, "chains", "-c", str(cfg), *DATES, "--json").stdout)
    flags = [f for f in doc["data"]["flags"] if f["severity"] != "info"]
    assert [(f["flag"], f["severity"]) for f in flags] == [("no_goal_events", "error")]  # not 5 × never_fired
    assert "40 users" in flags[0]["message"] and "purchase" in flags[0]["message"]
    res = invoke(emulator.address, "chains", "-c", str(cfg), *DATES)
    assert "No flags" not in res.output and "Data errors: no_goal_events." in res.stdout


# ----------------------------------------------------------------------------------------- comparisons

def test_previous_period_before_the_data_starts_gives_no_change(late):
    """Data starting late made +2253.8% out of the previous period's few days of data."""
    emu, pid, cfg = late
    res = invoke(emu.address, "chains", "-c", str(cfg), *DATES, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)["data"]
    rows = [r for r in data["chains"] if r[SEG] == "(all)"]
    assert rows and all(r["users_prev"] is not None for r in rows)  # the few days are there ...
    assert all(r["change_pct"] is None and r["change_abs"] is None for r in rows)  # ... but no change
    assert all("first data (2026-10-18)" in r["change_note"] for r in rows)
    notes = [f for f in data["flags"] if f["flag"] == "previous_incomplete"]
    assert notes and notes[0]["severity"] == "info" and "2026-09-27..2026-10-24" in notes[0]["message"]
    # A range whose previous period is fully covered keeps its changes.
    doc = json.loads(invoke(emu.address, "chains", "-c", str(cfg), "--start", "2026-11-08", "--end", "2026-11-21",
                            "--json").stdout)
    assert all(r["change_pct"] is not None for r in doc["data"]["chains"] if r[SEG] == "(all)")


def test_a_range_into_today_or_the_future_is_partial(tmp_path):
    """A future --end compared 22 days of data with 30 (-44%) without a word."""
    from ga4kit.emulator import Emulator

    today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()  # the CLI's own clock, as for a real property
    start, end = today - dt.timedelta(days=12), today + dt.timedelta(days=5)
    with Emulator(days=45, users=300, seed=4) as emu:
        cfg = goals_file(tmp_path, emu.admin.property_ids()[0])
        args = ["chains", "-c", str(cfg), "--start", str(start), "--end", str(end), "--no-segments"]
        table = invoke(emu.address, *args)
        doc = json.loads(invoke(emu.address, *args, "--json").stdout)
    assert table.exit_code == 0, table.output
    assert f"{start}..{end} (partial)" in table.stdout
    rows = doc["data"]["chains"]
    assert rows and all(r["partial"] is True and r["change_pct"] is None for r in rows)
    assert all(r["users_prev"] > 0 for r in rows if r["step"] == "view_item")
    flags = [f for f in doc["data"]["flags"] if f["flag"] == "partial_period"]
    assert flags and "Ranges end yesterday by default" in flags[0]["message"]


# ----------------------------------------------------------------------------------------- macro/step

def test_macro_per_step_user_is_named_for_what_it_is_and_exact_gives_the_share(late):
    emu, pid, cfg = late
    res = invoke(emu.address, "chains", "-c", str(cfg), *DATES, "--exact", "--no-goals")
    assert res.exit_code == 0, res.output
    assert "macro/step" in res.stdout and "macro share" in res.stdout and "to macro" not in res.stdout
    doc = json.loads(invoke(emu.address, "chains", "-c", str(cfg), *DATES, "--exact", "--json").stdout)
    for seg in ("(all)", "Organic Search"):
        steps = sorted((r for r in doc["data"]["chains"] if r[SEG] == seg), key=lambda r: r["step_index"])
        macro, macro_exact = steps[-1]["users"], steps[-1]["users_exact"]
        for r in steps[:-1]:
            assert r["macro_per_step_user"] == pytest.approx(macro / r["users"], abs=1e-6)
            assert r["macro_share_exact"] == pytest.approx(macro_exact / r["users_exact"], abs=1e-6)
            assert 0 <= r["macro_share_exact"] <= 1
        assert steps[-1]["macro_share_exact"] is None


# ----------------------------------------------------------------------------------------- missing parts

def test_history_that_cannot_be_pulled_is_reported_and_partial(late, hourly_tokens):
    """The day-by-day history failed (quota) and `chains` dropped it silently, exit 0."""
    from ga4kit.reporting import pull

    emu, pid, cfg = late
    emu.quota.reset()
    with make_clients(emulator=emu.address) as clients:
        pull(load(cfg), clients, start="2026-10-25", end="2026-11-21", compare_previous=True)
    hourly_tokens(used_tokens(emu, pid))  # the report's own pull fits; the history pull after it does not
    res = invoke(emu.address, "chains", "-c", str(cfg), *DATES, "--json")
    assert res.exit_code == 3, res.output
    doc = json.loads(res.stdout)
    assert (doc["ok"], doc["exit_code"]) == (False, 3)
    assert doc["data"]["chains"]  # what was computed is all there
    assert [e["status"] for e in doc["errors"]] == ["RESOURCE_EXHAUSTED"]
    assert "day-by-day history could not be pulled" in doc["warnings"][0]["message"]
    assert any(f["flag"] == "history_unavailable" and f["property"] == pid for f in doc["data"]["flags"])
    assert f"Warning: property {pid}: the day-by-day history could not be pulled" in res.stderr


def test_exact_funnels_cut_short_by_quota_are_said_in_the_files_and_exit_3(late, hourly_tokens, tmp_path):
    """Quota ran out after the first weekly funnel: the files held what was there, with no word and exit 1."""
    from ga4kit.reporting import periods as P
    from ga4kit.reporting.analysis import analyse
    from ga4kit.reporting.funnel import exact_chains

    emu, pid, cfg = late
    span = ["--start", "2026-10-26", "--end", "2026-11-15", "-g", "week", "--compare", "none"]
    goals = load(cfg)
    emu.quota.reset()
    with make_clients(emulator=emu.address) as clients:
        analyse(goals, clients, start="2026-10-26", end="2026-11-15", grain="week", compare_previous=False)
        before = used_tokens(emu, pid)
        weeks = P.split(dt.date(2026, 10, 26), dt.date(2026, 11, 15), "week")
        exact_chains(goals, clients, pid, weeks[0].start, weeks[0].end, (SEG,), periods=weeks[:1])
        first_funnel = used_tokens(emu, pid) - before
    hourly_tokens(before + first_funnel)  # room for the pulls and one funnel
    out = tmp_path / "out"
    out.mkdir()
    res = invoke(emu.address, "chains", "-c", str(cfg), *span, "--exact", "-f", "csv", "-o", str(out))
    assert res.exit_code == 3, res.output
    assert "closed funnel (--exact) is missing for 2 of 3" in res.stderr
    chains = pd.read_csv(out / "chains.csv")
    alls = chains[chains[SEG] == "(all)"]
    got = alls.groupby("period")["users_exact"].apply(lambda s: s.notna().all())
    assert got.to_dict() == {"2026-10-26..2026-11-01": True, "2026-11-02..2026-11-08": False,
                             "2026-11-09..2026-11-15": False}
    flags = pd.read_csv(out / "flags.csv")
    gap = flags[flags["flag"] == "exact_incomplete"]
    assert len(gap) == 1 and "tokens per hour" in gap["message"].iloc[0]
    assert "checkout 2026-11-02..2026-11-08" in gap["message"].iloc[0]


def test_a_property_that_fails_makes_the_run_partial_and_is_named_in_the_files(late, tmp_path):
    """Exit 1 said "nothing done" although the other properties were written; the files did not say who
    was missing."""
    emu, pid, cfg = late
    locked = emu.admin.create_property(emu.admin.account_ids()[0], "Locked")
    emu.admin.set_access(locked, ["someone@else.example"])
    out = tmp_path / "out"
    out.mkdir()
    res = invoke(emu.address, "chains", "-c", str(cfg), *DATES, "-p", pid, "-p", locked, "-f", "csv", "-o", str(out))
    assert res.exit_code == 3, res.output
    assert f"Error: property {locked}:" in res.stderr
    assert set(pd.read_csv(out / "chains.csv")["property"].astype(str)) == {pid}
    flags = pd.read_csv(out / "flags.csv", dtype={"property": str})
    missing = flags[flags["flag"] == "not_pulled"]
    assert list(missing["property"]) == [locked] and "missing from every table" in missing["message"].iloc[0]
    doc = json.loads(invoke(emu.address, "chains", "-c", str(cfg), *DATES, "-p", pid, "-p", locked, "--json").stdout)
    assert (doc["ok"], doc["exit_code"]) == (False, 3)
    assert [(e["property"], e["status"]) for e in doc["errors"]] == [(locked, "PERMISSION_DENIED")]
    page = tmp_path / "r.html"
    res = invoke(emu.address, "report", "-c", str(cfg), *DATES, "-p", pid, "-p", locked, "-o", str(page))
    assert res.exit_code == 3, res.output
    assert "not_pulled" in page.read_text() and locked in page.read_text()


def test_a_quiet_weekend_is_not_the_start_of_the_data():
    """Only a gap before the first users longer than any quiet run after it counts as "data starts late"."""
    from ga4kit.reporting.analysis import _first_data
    from ga4kit.reporting.pull import PullResult

    def history(pid, days):
        return pd.DataFrame({"property": pid, "period_start": pd.to_datetime(days), "users": 5})

    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 28)  # previous period from 2026-10-04
    daily_site = pd.date_range("2026-10-14", "2026-11-28")  # starts 10 days into the previous period
    small_site = [d for d in pd.date_range("2026-10-06", "2026-11-28") if d.weekday() < 4]  # 3 quiet days a week
    base = pd.concat([history("a", daily_site), history("b", small_site)])
    daily = PullResult(None, base, (), "day", start, end)
    got = _first_data(daily, PullResult(None, None, (), "range", start, end))
    assert got == {"a": dt.date(2026, 10, 14)}

"""The Google Sheets destination (`-o sheets://ID/TAB`): ga4kit's production Sheets code (google-auth's
AuthorizedSession over a real HTTP connection) against the emulator's Sheets v4 stand-in, through the CLI
and the library. Cells are read back with plain urllib GETs and compared exactly: numbers are numbers,
dates are serial numbers formatted as dates, "=HYPERLINK(...)" stays a string. A merge twice leaves no
duplicate; a `ga4kit pull` killed with SIGKILL mid-write (or stopped with SIGTERM) leaves the old window;
a burst of 429s is backed off with jitter and the write finishes; a write past the cell limit is refused
before any write request; a sheet not shared with the account names the account."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ga4kit import destinations as D
from ga4kit.cli import cli
from ga4kit.destinations.sheets import SheetsDestination, parse_target
from ga4kit.emulator import Emulator
from ga4kit.errors import OutputError
from ga4kit.sheets_api import Backoff

TODAY = dt.date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]
SEG = "sessionDefaultChannelGroup"
EPOCH = dt.date(1899, 12, 30)
ROBOT = "robot@shop-analytics.iam.gserviceaccount.com"
UNLIMITED = {"write_requests_per_minute_per_user": 100_000, "write_requests_per_minute": 100_000,
             "read_requests_per_minute_per_user": 100_000, "read_requests_per_minute": 100_000}


@pytest.fixture(scope="module")
def live():
    with Emulator(days=20, users=60, seed=2, today=TODAY, sheets_limits=UNLIMITED) as emu:
        emu.pid = emu.admin.property_ids()[0]
        yield emu


@pytest.fixture
def goals(tmp_path, live) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{live.pid}"'))
    return path


# ----------------------------------------------------------------------------- reading back with plain GETs
def get(emu, path: str, **params) -> dict:
    query = urllib.parse.urlencode([(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs])])
    with urllib.request.urlopen(f"{emu.sheets_endpoint}{path}" + (f"?{query}" if query else ""), timeout=30) as r:
        return json.loads(r.read())


def cells(emu, sid: str, title: str, **params) -> list[list]:
    params.setdefault("valueRenderOption", "UNFORMATTED_VALUE")
    rng = urllib.parse.quote("'" + title.replace("'", "''") + "'", safe="")
    return get(emu, f"/v4/spreadsheets/{sid}/values/{rng}", **params).get("values", [])


def tabs(emu, sid: str) -> dict[str, dict]:
    return {s["properties"]["title"]: s["properties"]
            for s in get(emu, f"/v4/spreadsheets/{sid}", fields="sheets.properties")["sheets"]}


def serial(day) -> int:
    return (pd.Timestamp(day).date() - EPOCH).days


def expected_cells(frame: pd.DataFrame) -> list[list]:
    """What the sheet must hold for a pulled frame: the header, dates as serial numbers, whole numbers
    without a fraction, text as text."""
    rows = [list(frame.columns)]
    for rec in frame.itertuples(index=False):
        row = []
        for v in rec:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                row.append("")  # an empty cell inside a row reads back as ""
            elif isinstance(v, pd.Timestamp):
                row.append(serial(v))
            elif isinstance(v, (float, np.floating)):
                row.append(int(v) if float(v).is_integer() else float(v))
            elif isinstance(v, (int, np.integer)):
                row.append(int(v))
            else:
                row.append(v)
        while row and row[-1] == "":
            row.pop()
        rows.append(row)
    return rows


def pulled(emu, goals_path, start: str, end: str):
    from ga4kit.config import load
    from ga4kit.connect import make_clients
    from ga4kit.reporting.pull import pull

    with make_clients(emulator=emu.address) as clients:
        return pull(load(str(goals_path)), clients, start=start, end=end, grain="day")


def run_pull(emu, goals_path, target, start, end, *extra, credentials=None):
    args = (["--credentials", str(credentials)] if credentials else []) + [
        "--emulator", emu.address, "pull", "-c", str(goals_path), "--start", start, "--end", end, "-g", "day",
        "-o", target, *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


# ----------------------------------------------------------------------------- the CLI and what lands
def test_pull_writes_typed_cells_and_a_metadata_tab(live, goals):
    sid = live.sheets.create("report")
    res = run_pull(live, goals, f"sheets://{sid}/ga4", "2026-11-10", "2026-11-18", "--json")
    assert res.exit_code == 0, res.output
    files = json.loads(res.output)["data"]["files"]
    quota = json.loads(res.output)["data"]["properties"][live.pid]["quota"]
    found = tabs(live, sid)
    assert files == [f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={found[t]['sheetId']}"
                     for t in ("ga4.events", "ga4.baseline")]
    assert set(found) == {"Sheet1", "ga4.events", "ga4.baseline", "ga4.ga4kit"}
    assert not any(p.get("hidden") for p in found.values())
    result = pulled(live, goals, "2026-11-10", "2026-11-18")
    assert cells(live, sid, "ga4.events") == expected_cells(result.events)
    assert cells(live, sid, "ga4.baseline") == expected_cells(result.baseline)
    events = cells(live, sid, "ga4.events")
    assert isinstance(events[1][3], int) and isinstance(events[1][9], int)  # period_start, event_count
    # Dates are dates: a DATE number format on the cell, shown as the day.
    grid = get(live, f"/v4/spreadsheets/{sid}", ranges="'ga4.events'!D2:E2", includeGridData="true",
               fields="sheets.data.rowData.values(userEnteredValue,userEnteredFormat)")
    first = grid["sheets"][0]["data"][0]["rowData"][0]["values"][0]
    assert first == {"userEnteredValue": {"numberValue": serial("2026-11-10")},
                     "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}}
    shown = cells(live, sid, "ga4.events", valueRenderOption="FORMATTED_VALUE")
    assert shown[1][2:5] == ["2026-11-10", "2026-11-10", "2026-11-10"]
    assert found["ga4.events"]["gridProperties"] == {"rowCount": len(result.events) + 1, "columnCount": 14,
                                                     "frozenRowCount": 1}
    # The metadata tab: per property the window, the refresh, GA4's flags and quota; the state as JSON.
    meta = cells(live, sid, "ga4.ga4kit")
    assert meta[0] == ["property", "first_day", "last_day", "days_held", "grain", "segments", "last_refresh_utc",
                       "thresholded", "other_row", "sampled", "api_calls", "tokens_consumed",
                       "tokens_per_day_remaining", "tokens_per_hour_remaining"]
    row = meta[1]
    assert row[:6] == [live.pid, serial("2026-11-10"), serial("2026-11-18"), "2026-11-10..2026-11-18", "day", SEG]
    assert row[7:10] == [False, False, False] and isinstance(row[6], float)
    assert row[11:] == [quota["tokens_per_day"]["consumed"], quota["tokens_per_day"]["remaining"],
                        quota["tokens_per_hour"]["remaining"]]
    assert [r[0] for r in meta[2:] if r] == ["written_at", "note", "ga4kit_state"]
    state = SheetsDestination(f"sheets://{sid}/ga4", emulator=live.address).state()
    assert state.properties[live.pid].ranges == ((dt.date(2026, 11, 10), dt.date(2026, 11, 18)),)
    assert state.properties[live.pid].last_pull["quota"] == quota


def test_merging_twice_replaces_the_window_and_duplicates_nothing(live, goals):
    sid = live.sheets.create("merge")
    target = f"sheets://{sid}/ga4"
    assert run_pull(live, goals, target, "2026-11-10", "2026-11-18", "--merge").exit_code == 0
    gid = tabs(live, sid)["ga4.events"]["sheetId"]
    for _ in range(2):
        res = run_pull(live, goals, target, "2026-11-15", "2026-11-21", "--merge")
        assert res.exit_code == 0, res.output
    first, second = pulled(live, goals, "2026-11-10", "2026-11-18"), pulled(live, goals, "2026-11-15", "2026-11-21")
    keys = ["property", "period", SEG, "event"]
    merged = pd.concat([first.events[first.events["period"] < "2026-11-15"], second.events])
    merged = merged.sort_values(keys, kind="stable").reset_index(drop=True)
    assert cells(live, sid, "ga4.events") == expected_cells(merged)
    header, *rows = cells(live, sid, "ga4.events")
    assert len({tuple(r[header.index(k)] for k in keys) for r in rows}) == len(rows)
    # The data tab kept its identity (links, charts and formulas on it survive); no staging tab is left.
    assert tabs(live, sid)["ga4.events"]["sheetId"] == gid
    assert not [t for t in tabs(live, sid) if t.startswith("ga4kit-staging")]
    state = D.open_destination(target, emulator=live.address).state()
    assert state.properties[live.pid].ranges == ((dt.date(2026, 11, 10), dt.date(2026, 11, 21)),)
    assert cells(live, sid, "ga4.ga4kit")[1][1:4] == [serial("2026-11-10"), serial("2026-11-21"),
                                                      "2026-11-10..2026-11-21"]


def test_library_writes_keep_types_and_text_stays_text(live, monkeypatch):
    sid = live.sheets.create("types")
    frame = pd.DataFrame({
        "text": ['=HYPERLINK("http://evil.example","x")', "0123", "+49 30", None],
        "count": np.array([1, 2, 3, 4], dtype="int64"),
        "rate": [0.25, np.nan, math.inf, 1.0],
        "flag": [True, False, True, False],
        "day": pd.to_datetime(["2026-11-01", "2026-11-02", None, "2026-11-04"]),
        "at": pd.to_datetime(["2026-11-01 06:30", "2026-11-01 12:00", "2026-11-02 00:00", None]),
        "maybe": pd.array([1, None, 3, 4], dtype="Int64"),
    })
    monkeypatch.setenv("GA4KIT_EMULATOR_HOST", live.address)  # the library finds the stand-in by itself
    written = D.write_frames(f"sheets://{sid}/raw", frame)
    assert written == [f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={tabs(live, sid)['raw']['sheetId']}"]
    assert cells(live, sid, "raw") == [
        ["text", "count", "rate", "flag", "day", "at", "maybe"],
        ['=HYPERLINK("http://evil.example","x")', 1, 0.25, True, 46327, 46327.270833333336, 1],
        ["0123", 2, "", False, 46328, 46327.5],
        ["+49 30", 3, "inf", True, "", 46328, 3],
        ["", 4, 1, False, 46330, "", 4]]
    grid = get(live, f"/v4/spreadsheets/{sid}", ranges="raw!A2:F2", includeGridData="true",
               fields="sheets.data.rowData.values(userEnteredValue,userEnteredFormat)")
    row = grid["sheets"][0]["data"][0]["rowData"][0]["values"]
    assert row[0] == {"userEnteredValue": {"stringValue": '=HYPERLINK("http://evil.example","x")'}}
    assert row[4]["userEnteredFormat"] == {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}
    assert row[5]["userEnteredFormat"] == {"numberFormat": {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}}
    assert cells(live, sid, "raw", valueRenderOption="FORMATTED_VALUE")[1][4:6] == ["2026-11-01",
                                                                                  "2026-11-01 06:30:00"]
    assert "raw.ga4kit" not in tabs(live, sid)  # no state given: no metadata tab
    # Read back as a merge sees it: text as stored, dates as ISO text.
    back = D.read_frames(f"sheets://{sid}/raw")["data"]
    assert back["text"].tolist()[:3] == ['=HYPERLINK("http://evil.example","x")', "0123", "+49 30"]
    assert back["day"].tolist() == ["2026-11-01", "2026-11-02", None, "2026-11-04"]
    assert back["at"].tolist()[:2] == ["2026-11-01T06:30:00", "2026-11-01T12:00:00"]


def test_GA4KIT_SHEETS_ENDPOINT_points_at_a_stand_in_and_a_dead_one_says_so(live, monkeypatch):
    sid = live.sheets.create("env")
    monkeypatch.setenv("GA4KIT_SHEETS_ENDPOINT", live.sheets_endpoint)
    D.write_frames(f"sheets://{sid}/env", pd.DataFrame({"a": ["x"]}))
    assert cells(live, sid, "env") == [["a"], ["x"]]
    monkeypatch.setenv("GA4KIT_SHEETS_ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(OutputError, match=r"Nothing answers at http://127.0.0.1:9 \(the emulator's Google Sheets "
                                          r"stand-in\)") as exc:
        D.check_output(f"sheets://{sid}/env")
    assert "ga4kit emulator start" in exc.value.hint


def test_the_address_of_a_spreadsheet_works_as_a_target(live):
    sid = live.sheets.create("url", sheets=("Data", "Other"))
    gid = tabs(live, sid)["Other"]["sheetId"]
    assert parse_target(f"sheets://{sid}/My%20tab") == (sid, "My tab", None)
    assert parse_target(f"https://docs.google.com/spreadsheets/d/{sid}/edit") == (sid, None, None)
    assert parse_target(f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={gid}") == (sid, None, gid)
    D.write_frames(D.open_destination(f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid={gid}",
                                      emulator=live.address), pd.DataFrame({"a": [1]}))
    assert cells(live, sid, "Other") == [["a"], [1]] and tabs(live, sid)["Other"]["sheetId"] == gid
    with pytest.raises(OutputError, match="neither a file name nor a Google Sheets address"):
        D.open_destination("https://example.com/report")
    with pytest.raises(OutputError, match="is not a spreadsheet ID"):
        D.open_destination("sheets://x/tab")
    # Every tab of one spreadsheet shares one lock (they share the cell limit).
    from ga4kit.locking import destination_lock_path
    assert destination_lock_path(f"sheets://{sid}") == D.open_destination(f"sheets://{sid}/a").lock().path \
        == D.open_destination(f"sheets://{sid}/b").lock().path


# ----------------------------------------------------------------------------- failures
def test_a_sheet_not_shared_with_the_account_names_its_email(live, goals, tmp_path):
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": ROBOT, "project_id": "shop"}))
    sid = live.sheets.create("private", owner="boss@example.com")
    live.reset_calls()
    res = run_pull(live, goals, f"sheets://{sid}/ga4", "2026-11-10", "2026-11-18", credentials=key)
    assert res.exit_code == 1
    assert f"Error: {ROBOT} may not open spreadsheet {sid}" in res.output
    assert f"Share the spreadsheet with {ROBOT} as Editor" in res.output
    assert live.calls == []  # refused before GA4 was asked for anything
    assert live.sheets.calls[-1].principal == ROBOT and live.sheets.calls[-1].status == 403
    # Shared for reading only: the write is refused, and says so.
    live.sheets.share(sid, ROBOT, "reader")
    dest = D.open_destination(f"sheets://{sid}/t", credentials_file=str(key), emulator=live.address)
    with pytest.raises(OutputError, match=f"{ROBOT} may not edit spreadsheet {sid}") as exc:
        D.write_frames(dest, pd.DataFrame({"a": [1]}))
    assert exc.value.status == "PERMISSION_DENIED" and f"Share the spreadsheet with {ROBOT}" in exc.value.hint
    assert [t.title for t in live.sheets.spreadsheets[sid].sheets] == ["Sheet1"]


def test_a_write_past_the_cell_limit_is_refused_before_any_write_request(live, goals):
    sid = live.sheets.create("full")
    # Sheet1 grows to 384,600 x 26 = 9,999,600 cells (filled or not, every cell counts).
    urllib.request.urlopen(urllib.request.Request(
        f"{live.sheets_endpoint}/v4/spreadsheets/{sid}:batchUpdate", method="POST",
        data=json.dumps({"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": 0, "gridProperties": {"rowCount": 384_600}},
            "fields": "gridProperties.rowCount"}}]}).encode()), timeout=30).read()
    live.sheets.reset_calls()
    res = run_pull(live, goals, f"sheets://{sid}/ga4", "2026-11-10", "2026-11-18")
    assert res.exit_code == 1
    assert "a Google spreadsheet holds at most 10,000,000 cells" in res.output
    assert "9,999,600 in its other tabs" in res.output and "Nothing was written" in res.output
    assert live.sheets.calls and not [c for c in live.sheets.calls if c.write]
    assert set(tabs(live, sid)) == {"Sheet1"}


def test_the_cell_limit_counts_the_staged_copy_and_the_swap_is_all_or_nothing():
    """The final size fits, but the new table is staged beside the old one: 32,020 cells at the peak."""
    with Emulator(demo=False, sheets_limits={"cells_per_spreadsheet": 31_000}) as emu:
        sid = emu.sheets.create("tight")  # Sheet1: 1000 x 26 = 26,000 cells

        def frame(n):
            return pd.DataFrame({f"c{i}": range(n) for i in range(10)})

        target = f"sheets://{sid}/t"
        D.write_frames(SheetsDestination(target, emulator=emu.address, cell_limit=31_000), frame(100))  # 101 x 10
        before = cells(emu, sid, "t")
        emu.sheets.reset_calls()
        with pytest.raises(OutputError, match=r"beside the old ones before it swaps them in atomically, so it needs "
                                              r"room for 32,020 cells \(the spreadsheet holds 27,010 now\)"):
            D.write_frames(SheetsDestination(target, emulator=emu.address, cell_limit=31_000), frame(300))
        assert not [c for c in emu.sheets.calls if c.write]
        # Without ga4kit's check, Sheets itself refuses the swap, whole: the old table stays, and the staging
        # tab goes again.
        with pytest.raises(OutputError, match="above the limit of 31000 cells"):
            D.write_frames(SheetsDestination(target, emulator=emu.address), frame(300))
        assert cells(emu, sid, "t") == before and set(tabs(emu, sid)) == {"Sheet1", "t"}
        assert [c.status for c in emu.sheets.calls if c.method == "spreadsheets.batchUpdate"] == [200, 400, 200]


def test_a_text_longer_than_a_cell_holds_is_refused_before_any_write_request(live):
    sid = live.sheets.create("long")
    live.sheets.reset_calls()
    with pytest.raises(OutputError, match="holds a text of 50,001 characters in row 4; a Google Sheets cell holds"):
        D.write_frames(D.open_destination(f"sheets://{sid}/t", emulator=live.address),
                       pd.DataFrame({"path": ["/", "/a", "x" * 50_001]}))
    assert not [c for c in live.sheets.calls if c.write]


def test_an_answer_lost_after_the_write_landed_is_recognised(live):
    sid = live.sheets.create("lost")
    dest = D.open_destination(f"sheets://{sid}/t", emulator=live.address)
    dest.client().backoff = Backoff(initial=0.01, maximum=0.05, deadline=5)
    D.write_frames(dest, pd.DataFrame({"a": [1, 2]}))
    for skip in (0, 1):  # the staging batch, then the swap: carried out, answer lost, retried, refused
        live.sheets.fail("spreadsheets.batchUpdate", 503, after=True, skip=skip)
        D.write_frames(dest, pd.DataFrame({"a": [3, 4, 5 + skip]}))
        assert cells(live, sid, "t") == [["a"], [3], [4], [5 + skip]]
        assert not [t for t in tabs(live, sid) if t.startswith("ga4kit-staging")]
    assert [c.status for c in live.sheets.calls if c.method == "spreadsheets.batchUpdate"].count(503) == 2


def test_a_burst_of_429s_is_backed_off_with_jitter_and_the_write_finishes():
    # Two writes a minute per user, on a clock that moves 10 s with every request: of any six requests in
    # a row, two pass (the pattern depends on the requests only, not on how fast the machine is).
    ticks = itertools.count(0, 10)
    with Emulator(demo=False, sheets_limits={"write_requests_per_minute_per_user": 2},
                  sheets_clock=lambda: float(next(ticks))) as emu:
        sid = emu.sheets.create("busy")
        dest = SheetsDestination(f"sheets://{sid}/t", emulator=emu.address, max_request_bytes=2_000,
                                 backoff=Backoff(initial=0.02, maximum=0.2, deadline=60))
        frame = pd.DataFrame({"n": range(600), "label": [f"row {i}" for i in range(600)]})
        D.write_frames(dest, frame)
        assert cells(emu, sid, "t") == [["n", "label"], *([i, f"row {i}"] for i in range(600))]
        stats = dest.client().stats
        refused = [c for c in emu.sheets.calls if c.status == 429]
        assert stats.rate_limited == len(refused) >= 5 and stats.retries >= len(refused)
        assert len(set(stats.waits)) == len(stats.waits)  # jitter: no two waits alike
        assert stats.largest_request <= 2_000 and stats.writes - stats.retries >= 6


# ----------------------------------------------------------------------------- processes
def spawn(emu, goals_path, target, start, end) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ga4kit", "--emulator", emu.address, "pull", "-c", str(goals_path),
                             "--start", start, "--end", end, "-g", "day", "-o", target, "--merge"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def wait_for_arrival(emu, method: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(m == method for m, _ in emu.sheets.arrivals):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the write did not start"
        time.sleep(0.02)


def test_two_overlapping_merges_into_one_sheet_queue_and_lose_nothing(live, goals):
    # A scheduler and a colleague on one machine: each merge holds the spreadsheet's lock from reading the
    # tab to swapping the new one in, so the second sees the first's rows instead of overwriting them.
    sid = live.sheets.create("overlap")
    target = f"sheets://{sid}/ga4"
    live.sheets.latency = {"spreadsheets.values.batchUpdate": 4.0}  # each write takes a while
    try:
        first = spawn(live, goals, target, "2026-11-10", "2026-11-14")
        wait_for_arrival(live, "spreadsheets.values.batchUpdate", first)
        second = spawn(live, goals, target, "2026-11-15", "2026-11-18")
        outs = [p.communicate(timeout=120) for p in (first, second)]
    finally:
        live.sheets.latency = {}
    assert [first.returncode, second.returncode] == [0, 0], outs
    both = pulled(live, goals, "2026-11-10", "2026-11-18")  # days are pulled alone: the union is the whole
    keys = ["property", "period", SEG, "event"]
    assert cells(live, sid, "ga4.events") == expected_cells(both.events.sort_values(keys, kind="stable"))
    state = D.open_destination(target, emulator=live.address).state()
    assert state.properties[live.pid].ranges == ((dt.date(2026, 11, 10), dt.date(2026, 11, 18)),)


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_pull_stopped_mid_write_leaves_the_old_window(live, goals, how):
    sid = live.sheets.create(f"killed {how}")
    target = f"sheets://{sid}/ga4"
    assert run_pull(live, goals, target, "2026-11-10", "2026-11-18", "--merge").exit_code == 0
    before = {t: cells(live, sid, t) for t in ("ga4.events", "ga4.baseline", "ga4.ga4kit")}
    live.sheets.reset_calls()
    live.sheets.latency = {"spreadsheets.values.batchUpdate": 1.0}  # the staging write is slow
    try:
        proc = spawn(live, goals, target, "2026-11-15", "2026-11-21")
        wait_for_arrival(live, "spreadsheets.values.batchUpdate", proc)
        proc.send_signal(signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        live.sheets.latency = {}
    assert proc.returncode == (-signal.SIGKILL if how == "SIGKILL" else 130), err
    time.sleep(1.1)  # let the stand-in finish the request the dead run left behind
    assert {t: cells(live, sid, t) for t in before} == before
    staging = [t for t, p in tabs(live, sid).items() if t.startswith("ga4kit-staging")]
    if how == "SIGTERM":
        assert staging == [] and "Interrupted." in err  # it removed its own staging tab
    else:
        assert len(staging) == 2 and all(tabs(live, sid)[t].get("hidden") is True for t in staging)
    # The next run removes what a killed one left and writes the new window.
    res = run_pull(live, goals, target, "2026-11-15", "2026-11-21", "--merge")
    assert res.exit_code == 0, res.output
    assert not [t for t in tabs(live, sid) if t.startswith("ga4kit-staging")]
    assert D.open_destination(target, emulator=live.address).state().properties[live.pid].ranges == (
        (dt.date(2026, 11, 10), dt.date(2026, 11, 21)),)


# ----------------------------------------------------------------------------- credentials and scope
def test_with_google_the_sheets_session_asks_for_the_spreadsheets_scope_only(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from ga4kit.connect import READONLY_SCOPE, SHEETS_API, SHEETS_SCOPE, load_credentials, sheets_access

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "project_id": "shop", "private_key_id": "1",
                               "private_key": pem, "client_email": ROBOT, "client_id": "1",
                               "token_uri": "https://oauth2.googleapis.com/token"}))
    access = sheets_access(credentials_file=str(key))
    assert access.endpoint == SHEETS_API and not access.stand_in
    assert access.principal == ROBOT and access.session.credentials.scopes == [SHEETS_SCOPE]
    assert load_credentials(str(key)).credentials.scopes == [READONLY_SCOPE]  # GA4 reads stay read-only
    access.close()


def test_help_imports_neither_requests_nor_the_sheets_code():
    code = ("import sys\nfrom ga4kit.cli import main\n"
            "for argv in (['--help'], ['pull', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('requests', 'ga4kit.sheets_api', 'ga4kit.destinations.sheets', 'urllib3')"
            " if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr

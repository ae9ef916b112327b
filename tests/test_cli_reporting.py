"""`ga4kit pull`, `chains`, `report` and `demo` from the command line, against a live emulator."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from ga4kit.cli import cli

TODAY = dt.date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def live():
    from ga4kit.emulator import Emulator

    with Emulator(days=60, users=1500, seed=3, today=TODAY) as emu:
        yield emu, emu.admin.property_ids()[0]


def goals_file(tmp_path, pid) -> Path:
    text = (ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"')
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    return path


def invoke(live, *args):
    emu, _ = live
    return CliRunner().invoke(cli, ["--emulator", emu.address, *args], catch_exceptions=False)


def dates():
    # Absolute dates: the emulator's clock is fixed, the CLI's is not.
    return ["--start", "2026-10-25", "--end", "2026-11-21"]


def test_pull_to_xlsx_reads_back(live, tmp_path):
    emu, pid = live
    out = tmp_path / "goals.xlsx"
    res = invoke(live, "pull", "-c", str(goals_file(tmp_path, pid)), *dates(), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert f"Wrote {out}" in res.output
    wb = openpyxl.load_workbook(out, read_only=True)
    assert {"events", "baseline"} <= set(wb.sheetnames)
    rows = list(wb["events"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert {"property", "period", "sessionDefaultChannelGroup", "event", "users", "event_count"} <= set(header)
    col = {name: i for i, name in enumerate(header)}
    purchases = [r for r in body if r[col["event"]] == "purchase" and r[col["sessionDefaultChannelGroup"]] == "(all)"]
    assert len(purchases) == 1
    raw = emu.store.frame(pid)
    day = pd.to_datetime(raw["ts"], unit="us", utc=True).dt.tz_convert("Europe/Berlin").dt.date
    sel = raw[(raw["event_name"] == "purchase") & (day >= dt.date(2026, 10, 25)) & (day <= dt.date(2026, 11, 21))]
    assert purchases[0][col["users"]] == sel["user_id"].nunique()
    assert purchases[0][col["event_count"]] == len(sel)


def test_pull_csv_merge_rerun_does_not_duplicate(live, tmp_path):
    emu, pid = live
    cfg = goals_file(tmp_path, pid)
    out = tmp_path / "goals.csv"
    first = invoke(live, "pull", "-c", str(cfg), *dates(), "-g", "day", "-o", str(out), "--merge")
    assert first.exit_code == 0, first.output
    events = tmp_path / "goals.events.csv"
    before = pd.read_csv(events)
    again = invoke(live, "pull", "-c", str(cfg), "--start", "2026-11-15", "--end", "2026-11-21", "-g", "day",
                   "-o", str(out), "--merge")
    assert again.exit_code == 0, again.output
    after = pd.read_csv(events)
    keys = ["property", "period", "sessionDefaultChannelGroup", "event"]
    assert not after.duplicated(keys).any()
    assert len(after) == len(before)
    pd.testing.assert_frame_equal(after.sort_values(keys).reset_index(drop=True),
                                  before.sort_values(keys).reset_index(drop=True))


def test_pull_json_summary_and_bad_extension(live, tmp_path):
    emu, pid = live
    cfg = goals_file(tmp_path, pid)
    res = invoke(live, "pull", "-c", str(cfg), *dates(), "-o", str(tmp_path / "x.json"), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert (doc["format_version"], doc["command"], doc["ok"], doc["exit_code"]) == (2, "pull", True, 0)
    summary = doc["data"]
    assert summary["properties"][pid]["api_calls"] == 2
    assert summary["rows"]["events"] > 0 and doc["errors"] == []
    assert (summary["start"], summary["end"]) == ("2026-10-25", "2026-11-21")
    bad = invoke(live, "pull", "-c", str(cfg), *dates(), "-o", str(tmp_path / "x.docx"))
    assert bad.exit_code == 1 and "Error:" in bad.output and not (tmp_path / "x.docx").exists()


def test_pull_measurement_id_is_refused(live, tmp_path):
    emu, pid = live
    res = invoke(live, "pull", "-c", str(goals_file(tmp_path, pid)), "-p", "G-ABCDE12345", "-o",
                 str(tmp_path / "x.csv"))
    assert res.exit_code == 1
    assert "measurement id" in res.output and "Traceback" not in res.output


def test_chains_formats(live, tmp_path):
    emu, pid = live
    cfg = goals_file(tmp_path, pid)
    res = invoke(live, "chains", "-c", str(cfg), *dates(), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    steps = [r for r in doc["chains"] if r["sessionDefaultChannelGroup"] == "(all)"]
    assert [r["step"] for r in steps] == ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    assert all("users_prev" in r for r in steps)
    md = invoke(live, "chains", "-c", str(cfg), *dates(), "--format", "markdown", "--compare", "none")
    assert md.exit_code == 0, md.output
    table_lines = [line for line in md.output.splitlines() if line.startswith("|")]
    assert any("view_item" in line for line in table_lines)
    assert any(set(line.replace("|", "").strip()) <= set("-: ") for line in table_lines)  # header rule
    assert "### Chains" in md.output
    csv_out = tmp_path / "chains.csv"
    res = invoke(live, "chains", "-c", str(cfg), *dates(), "--format", "csv", "--no-goals", "-o", str(csv_out))
    assert res.exit_code == 0, res.output
    assert "rate_from_previous" in csv_out.read_text().splitlines()[0]


def test_report_html_is_self_contained(live, tmp_path):
    emu, pid = live
    out = tmp_path / "report.html"
    res = invoke(live, "report", "-c", str(goals_file(tmp_path, pid)), *dates(), "-o", str(out), "--exact")
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert html.count("<svg") >= 7  # a funnel per channel and overall, plus trend lines
    assert not re.search(r"https?://", html)
    assert "<script src" not in html and "<link" not in html
    assert "checkout" in html and "purchase" in html


def test_demo_runs_end_to_end(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GA4KIT_")}
    res = subprocess.run([sys.executable, "-m", "ga4kit", "demo", "--json", "-o", str(tmp_path / "r.html")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    env_doc = json.loads(res.stdout)
    assert (env_doc["format_version"], env_doc["command"], env_doc["ok"], env_doc["exit_code"]) == (2, "demo", True, 0)
    doc = env_doc["data"]
    assert doc["plan_changes"] == 4 and doc["second_plan_changes"] == 0
    assert (tmp_path / "r.html").stat().st_size > 5000
    assert {r["step"] for r in doc["chains"]} == {"view_item", "add_to_cart", "begin_checkout", "purchase"}


def test_verbose_lists_api_calls(live, tmp_path):
    emu, pid = live
    res = CliRunner().invoke(cli, ["--emulator", emu.address, "-v", "pull", "-c", str(goals_file(tmp_path, pid)),
                                   *dates(), "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 0, res.output
    assert "ga4kit: API call get_property" in res.output
    assert "ga4kit: API call batch_run_reports" in res.output


def test_unreachable_emulator_fails_fast_with_a_hint(tmp_path):
    import socket
    import time

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    res = CliRunner().invoke(cli, ["--emulator", f"127.0.0.1:{port}", "chains", "-c",
                                   str(ROOT / "configs" / "shop.yaml")])
    assert res.exit_code == 1
    assert "Nothing answers at 127.0.0.1" in res.output and "ga4kit emulator start" in res.output
    assert "property 123456789" in res.output
    assert "Chains" not in res.output  # no empty tables
    assert time.monotonic() - start < 30

"""`ga4kit influence`, `chains --from-export` and `report --influence` from the command line: every output
kind read back, the request count with -v, a partial run, and the option errors."""

from __future__ import annotations

import datetime as dt
import io
import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from export_support import TIME_ZONE, goals_yaml, planted_events, write_export
from ga4kit.cli import cli

START, END = "2024-03-04", "2024-03-17"
TODAY = dt.date(2024, 3, 18)
SEG = "sessionDefaultChannelGroup"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from ga4kit.emulator import Emulator

    root = tmp_path_factory.mktemp("cli")
    path = write_export(planted_events(2500, seed=5), root / "events.parquet")
    with Emulator(demo=False, events_file=path, events_time_zone=TIME_ZONE, today=TODAY) as emu:
        pid = emu.admin.property_ids()[0]
        goals = root / "goals.yaml"
        goals.write_text(goals_yaml(pid, START, END))
        yield emu, pid, goals, path


def invoke(live, *args):
    emu = live[0]
    return CliRunner().invoke(cli, ["--emulator", emu.address, *args], catch_exceptions=False)


def test_influence_table_and_request_count(live):
    emu, pid, goals, _ = live
    emu.reset_calls()
    res = invoke(live, "-v", "influence", str(goals), "-g", "week")
    assert res.exit_code == 0, res.output
    assert "Influence of micro goals on macro goals" in res.stdout
    assert "newsletter_signup" in res.stdout and "lift (95% CI)" in res.stdout
    # 4 micro x 1 macro goals; the range's 3 weeks fit one request each: 4 funnels, whatever the channels.
    assert f"influence of property {pid}: 4 funnel requests" in res.stderr
    assert sum(c.method == "RunFunnelReport" for c in emu.calls) == 4


def test_influence_csv_and_json_envelope(live):
    _, pid, goals, _ = live
    res = invoke(live, "influence", str(goals), "-f", "csv")
    assert res.exit_code == 0, res.output
    table = pd.read_csv(io.StringIO(res.stdout))
    assert {"micro", "macro", SEG, "lift", "lift_low", "lift_high", "too_few_users"} <= set(table.columns)
    res = invoke(live, "influence", str(goals), "--json", "--min-users", "1000")
    doc = json.loads(res.stdout)
    assert doc["ok"] and doc["command"] == "influence"
    rows = doc["data"]["influence"]
    assert all(r["too_few_users"] for r in rows if r["micro_users"] < 1000)
    assert doc["data"]["meta"]["funnel_requests"] == {pid: 4}


@pytest.mark.parametrize("name", ["influence.xlsx", "influence.parquet"])
def test_influence_to_xlsx_and_parquet(live, tmp_path, name):
    _, _, goals, _ = live
    out = tmp_path / name
    res = invoke(live, "influence", str(goals), "--no-segments", "-o", str(out))
    assert res.exit_code == 0, res.output
    if name.endswith(".xlsx"):
        rows = list(openpyxl.load_workbook(out, read_only=True)["influence"].iter_rows(values_only=True))
        header = rows[0]
        body = [dict(zip(header, r)) for r in rows[1:]]
    else:
        body = pd.read_parquet(out).to_dict("records")
    assert {r["micro"] for r in body} == {"view_item", "add_to_cart", "newsletter_signup", "video_complete"}
    news = next(r for r in body if r["micro"] == "newsletter_signup")
    assert 1.4 < news["lift"] < 2.8


def test_influence_from_export_matches_the_data_api_over_all_users(live):
    _, _, goals, path = live
    api = json.loads(invoke(live, "influence", str(goals), "--no-segments", "--json").stdout)["data"]["influence"]
    exact = json.loads(invoke(live, "influence", str(goals), "--no-segments", "--json", "--from-export",
                              str(path)).stdout)["data"]["influence"]
    key = {(r["micro"], r["macro"]): r for r in exact}
    for r in api:
        e = key[(r["micro"], r["macro"])]
        assert (r["micro_users"], r["in_order_users"], r["macro_users"]) == \
            (e["micro_users"], e["in_order_users"], e["macro_users"])
        assert r["estimated"] and not e["estimated"]


def test_chains_from_export_writes_both_tables(live, tmp_path):
    _, _, goals, path = live
    res = CliRunner().invoke(cli, ["chains", str(goals), "--from-export", str(path), "-f", "csv", "-o",
                                   str(tmp_path) + "/"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    chains = pd.read_csv(tmp_path / "chains.csv")
    influence = pd.read_csv(tmp_path / "influence.csv")
    assert chains["step"].unique().tolist() == ["view_item", "add_to_cart", "purchase"]
    assert {"users_exact", "seconds_from_previous_median", "sessions_median"} <= set(chains.columns)
    assert not influence["estimated"].any()
    res = CliRunner().invoke(cli, ["chains", str(goals), "--from-export", str(path), "-o", str(tmp_path / "x.xlsx")],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert set(openpyxl.load_workbook(tmp_path / "x.xlsx", read_only=True).sheetnames) >= {"chains", "influence"}


def test_report_with_influence_draws_the_ranked_lifts(live, tmp_path):
    _, _, goals, _ = live
    out = tmp_path / "report.html"
    res = invoke(live, "report", str(goals), "--influence", "-o", str(out))
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "Which micro goals lead to the macro goals" in page
    section = page[page.index("Which micro goals lead"):]
    # newsletter_signup is drawn first for all users (highest defined lift), with its interval and dot.
    first_card = section[section.index("All users"):]
    names = [n for n in ("newsletter_signup", "video_complete") if n in first_card]
    assert first_card.index("newsletter_signup") < first_card.index("video_complete") and names
    assert 'class="interval"' in section and 'class="lift"' in section
    assert "http://" not in page and "https://" not in page.replace("https://shop", "")
    plain = tmp_path / "plain.html"
    assert invoke(live, "report", str(goals), "-o", str(plain)).exit_code == 0
    assert "Which micro goals lead" not in plain.read_text()


def test_funnel_quota_running_out_is_a_partial_run(live):
    emu, pid, goals, _ = live
    emu.faults.set("RunFunnelReport", {"RESOURCE_EXHAUSTED": 1.0})
    try:
        res = invoke(live, "influence", str(goals), "--json")
    finally:
        emu.faults.set("RunFunnelReport", {})
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert doc["data"]["influence"] == []
    assert any("influence funnels are missing for 4 goal pair(s)" in w["message"] for w in doc["warnings"])
    assert sum(c.method == "RunFunnelReport" for c in emu.calls[-5:]) == 1  # stopped after the first refusal


@pytest.mark.parametrize("args, words", [
    (["influence", "--within", "soon"], "not a window"),
    (["chains", "--within", "1h"], "--from-export"),
    (["influence", "--from-export", "nowhere.parquet"], "does not exist"),
    (["influence", "-s", "newVsReturning", "--from-export", "x.parquet"], "cannot be read from the BigQuery export"),
])
def test_option_errors(live, args, words):
    _, _, goals, _ = live
    res = invoke(live, args[0], str(goals), *args[1:])
    assert res.exit_code == 1
    assert words in res.output

"""`ga4kit audit` through the real command line against the emulator (today is the real today, as for a
user): targets from every source, shards, the summary worst first, reports written and read back, the
JSON envelope, --fail-on and the exit codes, read-only scope."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

import audit_world_support as W
from ga4kit.cli import cli

NAMES = {"pii_urls", "retention_2m", "clean_00", "clean_goals", "denied", "trash"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from ga4kit.connect import make_clients
    from ga4kit.emulator import Emulator

    emu = Emulator(demo=False)
    emu.start()
    try:
        with make_clients(emulator=emu.address, write=True) as admin:
            w = W.build_world(emu, admin.admin_alpha, admin.admin_alpha, tmp_path_factory.mktemp("goals"), NAMES)
        W.restrict(emu, w)
        yield emu, w
    finally:
        emu.stop(grace=None)


def invoke(emu, *args):
    return CliRunner().invoke(cli, ["--emulator", emu.address, *args], catch_exceptions=False)


def _pids(w, *names):
    return [a for n in names for a in ("-p", w.by_name(n).pid)]


def test_account_audit_writes_every_format(live, tmp_path):
    emu, w = live
    outs = [tmp_path / f"audit.{ext}" for ext in ("html", "md", "csv", "json")]
    emu.reset_calls()
    res = invoke(emu, "audit", "--account", w.account, *[a for o in outs for a in ("-o", str(o))])
    assert res.exit_code == 0, res.output  # the denied property is not listed to us; the trashed one is
    assert w.by_name("denied").pid not in res.stdout
    lines = res.stdout.splitlines()
    # worst first: the trashed property and the one leaking personal data lead
    first = [ln for ln in lines if re.match(r"Client ", ln)][:2]
    assert {re.match(r"Client (\w+)", ln).group(1) for ln in first} == {"trash", "pii_urls"}
    assert re.search(r"\d+ properties audited \(\d+ failed\):", res.stdout)
    # read-only scope for every call
    assert {c.scope.rsplit("/", 1)[-1] for c in emu.calls} == {"analytics.readonly"}

    html_text = outs[0].read_text(encoding="utf-8")
    assert html_text.startswith("<!DOCTYPE html>") and "Client pii_urls" in html_text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html_text)  # self-contained
    assert "<script" not in html_text and "jane.doe" not in html_text
    assert "Manual checks" in html_text and "Consent mode" in html_text
    md = outs[1].read_text(encoding="utf-8")
    assert "## Overview" in md and "data_retention" in md and "jane.doe" not in md
    with outs[2].open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"property", "property_name", "check", "severity", "message", "evidence", "fix"}
    by_check = {r["check"]: r for r in rows}
    assert by_check["pii_in_urls"]["severity"] == "critical"
    assert json.loads(by_check["data_retention"]["evidence"]) == {"event_data_retention": "2 months"}
    assert by_check["property_in_trash"]["property"] == w.by_name("trash").pid
    data = json.loads(outs[3].read_text(encoding="utf-8"))
    assert [f["check"] for f in data["findings"]] == [r["check"] for r in rows]


def test_json_envelope_goals_file_and_a_failed_property(live, tmp_path):
    emu, w = live
    goals = w.goals_file(w.by_name("clean_goals"))
    res = invoke(emu, "audit", str(goals), *_pids(w, "denied", "clean_00"), "--json")
    assert res.exit_code == 3
    env = json.loads(res.stdout)
    assert env["command"] == "audit" and env["ok"] is False and env["exit_code"] == 3
    assert env["errors"] == [{"property": w.by_name("denied").pid, "status": "PERMISSION_DENIED",
                              "message": env["errors"][0]["message"], "hint": env["errors"][0]["hint"]}]
    props = {p["property"]: p for p in env["data"]["properties"]}
    clean = props[w.by_name("clean_goals").pid]
    assert clean["score"] == 100 and clean["findings"] == []
    statuses = {c["check"]: c["status"] for c in clean["checks"]}
    assert statuses["goal_not_key_event"] == "ok"  # the goals file was compared
    assert env["data"]["goals_files"] == [str(goals)]


@pytest.mark.parametrize("level,code", [("error", 4), ("critical", 0), (None, 0)])
def test_fail_on(live, level, code):
    emu, w = live
    args = _pids(w, "retention_2m", "clean_00") + (["--fail-on", level] if level else [])
    res = invoke(emu, "audit", *args)
    assert res.exit_code == code, res.output


def test_shards_split_the_properties(live, tmp_path):
    emu, w = live
    listed = tmp_path / "props.txt"
    listed.write_text("\n".join(f"{p.pid} {p.name}" for p in w.properties if p.name != "denied") + "\n")
    seen = []
    for i in (0, 1):  # 0-based, as pull's --shard
        res = invoke(emu, "audit", "--properties-file", str(listed), "--shard", f"{i}/2", "--json",
                     "--only", "property")
        seen.append({p["property"] for p in json.loads(res.stdout)["data"]["properties"]})
    assert not (seen[0] & seen[1])
    assert seen[0] | seen[1] == {p.pid for p in w.properties if p.name != "denied"}


def test_bad_input_is_one_clear_error_before_any_call(live, tmp_path):
    emu, w = live
    emu.reset_calls()
    for args, text in ((["-p", "123", "-o", str(tmp_path / "r.pdf")], "extension"),
                       (["-p", "123", "--shard", "2/2"], "--shard"),
                       ([], "No properties to audit"),
                       (["-p", "123", "-o", str(tmp_path / "missing" / "r.html")], "does not exist"),
                       (["-p", "G-ABC123"], "measurement"),
                       (["-p", "123", "--only", "traffic,no_such_check"], "unknown check(s) no_such_check")):
        res = invoke(emu, "audit", *args)
        assert res.exit_code == 1, (args, res.output)
        assert text in res.output and "Traceback" not in res.output
    assert emu.calls == []


def test_help_lists_audit_and_imports_nothing_heavy():
    code = ("import sys; from ga4kit.cli import cli; from click.testing import CliRunner; "
            "r = CliRunner().invoke(cli, ['audit', '--help']); print(r.output); "
            "print([m for m in ('google', 'grpc', 'pandas', 'numpy', 'yaml') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "--fail-on" in out and "Exit codes" in out and out.rstrip().endswith("[]")


def test_html_and_markdown_escape_what_comes_from_ga4():
    from ga4kit.render import audit as render

    evil = '<script>alert(1)</script>|"x"'
    finding = {"property": "1", "property_name": evil, "check": "c", "severity": "high", "message": evil,
               "evidence": {"names": [evil]}, "fix": "f"}
    prop = {"property": "1", "property_name": evil, "account": None, "score": 88, "grade": "fair",
            "counts": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}, "statuses": {"unavailable": 1},
            "partial": False, "calls": {}, "tokens": 0, "facts": {"time_zone": evil}, "error": None,
            "checks": [{"check": "d", "status": "unavailable", "reason": evil, "error_status": None, "findings": 0}],
            "findings": [finding]}
    data = {"started": "s", "finished": "f", "goals_files": [], "counts": prop["counts"], "partial": False,
            "properties": [prop], "checks": [], "manual_checks": [], "severities": list(prop["counts"])}
    page = render.render_html(data)
    assert "<script>" not in page and "&lt;script&gt;" in page
    md = render.render_markdown(data)
    assert "<script>" not in md and "\\|" in md
    assert render.render_csv(data).count("\n") == 2

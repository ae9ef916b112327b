"""`ga4kit chains` / `report` / `demo` output that scripts and terminals can trust: markup in data shown as
written, tables fitted to the terminal, valid CSV/NDJSON, the JSON envelope, contradictions refused early.

Against a live emulator through Google's clients; terminal behaviour through a real subprocess on a
pseudo-terminal of a given width.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from ga4kit.cli import cli

TODAY = dt.date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]
DATES = ["--start", "2026-10-25", "--end", "2026-11-21"]
SOURCES = ["[/]", "[link=https://evil.example]win[/link]"]


def _markup_events(tz: str) -> pd.DataFrame:
    """Sessions whose utm_source is rich markup: anyone can put that in a link to the site."""
    from zoneinfo import ZoneInfo

    rows = []
    noon = dt.datetime.combine(TODAY - dt.timedelta(days=3), dt.time(12), ZoneInfo(tz))
    for i in range(12):
        ts = int(noon.timestamp() * 1_000_000) + i * 1_000_000
        for k, name in enumerate(("session_start", "view_item", "add_to_cart", "purchase")[: 2 + i % 3]):
            rows.append({"ts": ts + k * 10_000_000, "event_name": name, "user_id": f"mk{i}", "session_id": 1,
                         "channel_group": "Referral", "source": SOURCES[i % 2], "medium": "referral",
                         "value": 12.5 if name == "purchase" else 0.0, "currency": "EUR" if name == "purchase" else ""})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from ga4kit.emulator import Emulator

    with Emulator(days=60, users=600, seed=11, today=TODAY) as emu:
        pid = emu.admin.property_ids()[0]
        emu.store.append(pid, _markup_events(emu.admin.property_info(pid).time_zone))
        path = tmp_path_factory.mktemp("cfg") / "shop.yaml"
        path.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"'))
        yield emu, pid, path


def invoke(live, *args):
    emu, _, _ = live
    return CliRunner().invoke(cli, ["--emulator", emu.address, *args], catch_exceptions=False)


def run_on_terminal(args: list[str], *, columns: int, env: dict | None = None, timeout: float = 90) -> tuple[int, str]:
    """Run ``python -m ga4kit ARGS`` with stdout and stderr on a pseudo-terminal ``columns`` wide."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, columns, 0, 0))
    base = {k: v for k, v in os.environ.items() if not k.startswith("GA4KIT_") and k not in ("COLUMNS", "LINES")}
    base.update({"TERM": "xterm-256color"}, **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "ga4kit", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=base, close_fds=True)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                proc.kill()
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return proc.wait(timeout), b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


# ----------------------------------------------------------------------------------------- markup

def test_markup_in_segment_values_is_shown_as_written(live):
    """A utm_source of "[/]" crashed `chains` with a MarkupError; "[link=...]" became a hyperlink."""
    emu, pid, cfg = live
    res = invoke(live, "chains", "-c", str(cfg), *DATES, "-s", "sessionSource", "--no-goals")
    assert res.exit_code == 0, res.output
    assert "MarkupError" not in res.output and "Traceback" not in res.output
    lines = res.stdout.splitlines()
    for source in SOURCES:
        assert any(source in line and "view_item" in line for line in lines), source


# ----------------------------------------------------------------------------------------- terminal width

@pytest.mark.parametrize("columns", [80])
def test_terminal_table_fits_and_says_what_it_left_out(live, columns):
    """At 80 columns `chains` showed ids and names only: every number was cropped away, silently."""
    emu, pid, cfg = live
    code, out = run_on_terminal(["--emulator", emu.address, "chains", "-c", str(cfg), *DATES, "--no-goals",
                                 "-s", "sessionSource"], columns=columns, env={"NO_COLOR": "1"})
    assert code == 0, out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert max(len(line) for line in plain.splitlines()) <= columns
    row = next(line for line in plain.splitlines() if "(all)" in line and "add_to_cart" in line)
    assert re.search(r"\d+\.\d%", row), row  # the step-to-step rate
    assert re.search(r"│\s+\d[\d,]*\s+│", row), row  # a count
    words = " ".join(plain.split())
    assert "Hidden columns:" in words and "see -f csv or -f json, or a wider terminal" in words
    assert "[link=https://evil.example]win[/link]" in plain and "\x1b]8;" not in out  # no hyperlink
    assert not re.search(r"\x1b\[(3\d|9\d|38;)", out)  # NO_COLOR: no colour codes


# ----------------------------------------------------------------------------------------- CSV / NDJSON

def test_csv_on_stdout_is_one_valid_table(live):
    """`chains -f csv` wrote the chains and the goals tables into one stream, with a blank line between."""
    emu, pid, cfg = live
    res = invoke(live, "chains", "-c", str(cfg), *DATES, "-f", "csv")
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["property", "chain", "sessionDefaultChannelGroup"]
    assert "macro_per_step_user" in header and "micro_to_macro" not in header
    assert body and all(len(r) == len(header) for r in body)  # no second table, no blank line
    frame = pd.read_csv(io.StringIO(res.stdout))
    assert set(frame["step"]) == {"view_item", "add_to_cart", "begin_checkout", "purchase"}
    assert frame["rate_from_previous"].dropna().map(lambda v: len(repr(v).split(".")[-1]) <= 6).all()


def test_output_directory_gets_one_csv_per_table(live, tmp_path):
    emu, pid, cfg = live
    out = tmp_path / "out"
    out.mkdir()
    res = invoke(live, "chains", "-c", str(cfg), *DATES, "-f", "csv", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["chains.csv", "flags.csv", "goals.csv"]
    chains = pd.read_csv(out / "chains.csv")
    goals = pd.read_csv(out / "goals.csv")
    flags = pd.read_csv(out / "flags.csv")
    assert "step" in chains and "event" in goals and list(flags.columns)[-3:] == ["flag", "severity", "message"]
    # Money is rounded to the currency's minor unit (EUR: cents), never float noise.
    assert goals["value"].map(lambda v: round(v, 2) == v).all()
    assert not re.search(r"\.\d{7,}", (out / "goals.csv").read_text())
    # A file name: the chains there, the other tables beside it, named as `pull` names its tables.
    res = invoke(live, "chains", "-c", str(cfg), *DATES, "-f", "csv", "-o", str(tmp_path / "week.csv"))
    assert res.exit_code == 0, res.output
    assert {p.name for p in tmp_path.glob("week*.csv")} == {"week.csv", "week.goals.csv", "week.flags.csv"}
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "week.csv"), chains)


def test_ndjson_is_one_chain_row_per_line(live):
    emu, pid, cfg = live
    res = invoke(live, "chains", "-c", str(cfg), *DATES, "-f", "ndjson")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    csv_rows = pd.read_csv(io.StringIO(invoke(live, "chains", "-c", str(cfg), *DATES, "-f", "csv").stdout))
    assert len(rows) == len(csv_rows) and all("step" in r and "users" in r for r in rows)


# ----------------------------------------------------------------------------------------- JSON envelope

def _decimals(value) -> int:
    text = repr(float(value))
    return 0 if "e" in text or "." not in text else len(text.split(".")[1].rstrip("0"))


def test_chains_json_is_the_common_envelope(live):
    """`chains --json` was refused ("no such option"); it is the one envelope of every command."""
    emu, pid, cfg = live
    res = invoke(live, "chains", "-c", str(cfg), *DATES, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["format_version"], doc["command"], doc["ok"], doc["exit_code"]) == (2, "chains", True, 0)
    assert doc["errors"] == [] and doc["warnings"] == []
    data = doc["data"]
    assert {"chains", "goals", "flags", "meta", "files"} <= set(data)
    assert data["chains"] and data["goals"]
    assert all(_decimals(r["value"]) <= 2 for r in data["goals"])
    rates = [r[c] for r in data["chains"] for c in ("rate_from_previous", "macro_per_step_user", "change_pct")
             if r[c] is not None]
    assert rates and all(_decimals(v) <= 6 for v in rates)
    bad = invoke(live, "chains", "-c", str(cfg), *DATES, "--json", "-f", "csv")
    assert bad.exit_code == 1 and "--json prints the JSON envelope" in bad.output


def test_report_json_is_the_common_envelope(live, tmp_path):
    emu, pid, cfg = live
    out = tmp_path / "r.html"
    res = invoke(live, "report", "-c", str(cfg), *DATES, "-o", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["command"], doc["ok"], doc["data"]["file"]) == ("report", True, str(out))
    assert doc["data"]["chain_rows"] > 0 and out.stat().st_size > 5000


# ----------------------------------------------------------------------------------------- refused early

def test_no_segments_with_a_segment_is_refused_before_any_call(live):
    """`--no-segments -s deviceCategory` ignored the -s silently."""
    emu, pid, cfg = live
    emu.reset_calls()
    res = invoke(live, "chains", "-c", str(cfg), *DATES, "--no-segments", "-s", "deviceCategory")
    assert res.exit_code == 1
    assert "--no-segments and --segment deviceCategory contradict each other" in res.output
    assert emu.calls == []


def test_start_today_says_the_range_ends_yesterday_by_default(live):
    emu, pid, cfg = live
    emu.reset_calls()
    res = invoke(live, "chains", "-c", str(cfg), "--start", "today")
    assert res.exit_code == 1
    assert "end yesterday by default" in res.output and "--end today" in res.output
    assert "Swap" not in res.output and "Traceback" not in res.output
    assert emu.calls == []


def test_demo_checks_the_report_path_before_running(tmp_path):
    """`demo -o nodir/x.html` ran the whole demo before failing on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GA4KIT_")}
    res = subprocess.run([sys.executable, "-m", "ga4kit", "demo", "-o", str(tmp_path / "nodir" / "x.html")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert res.returncode == 1
    assert "does not exist" in res.stderr and "mkdir -p" in res.stderr
    assert "Local GA4 emulator" not in res.stdout and "Plan:" not in res.stdout  # nothing ran
    bad = subprocess.run([sys.executable, "-m", "ga4kit", "demo", "--json", "-o", str(tmp_path / "x.txt")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert bad.returncode == 1
    doc = json.loads(bad.stdout)
    assert (doc["ok"], doc["errors"][0]["status"]) == (False, "OUTPUT_ERROR")

"""`ga4kit pull` data safety (the trust issue): merges that never delete or double-count rows, one property
given twice, text that never becomes a formula, the columns and JSON envelope of a pull. Real emulator, real
files read back."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from ga4kit.cli import cli

TODAY = dt.date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]
SEG = "sessionDefaultChannelGroup"
EVIL = '=HYPERLINK("http://evil.example","click me")'
SOURCES = [EVIL, "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "'=already quoted", "plain.example"]


def _ts(day: str, tz: str) -> int:
    return int(pd.Timestamp(f"{day} 12:00", tz=tz).timestamp() * 1_000_000)


@pytest.fixture(scope="module")
def live():
    """Three demo properties (Berlin EUR, New York USD, London GBP) plus a hand-made Tokyo (JPY) property
    whose purchases come from sessionSource values that a spreadsheet would run as formulas."""
    from ga4kit.emulator import Emulator

    with Emulator(days=70, users=800, seed=5, today=TODAY, properties=3) as emu:
        berlin, _, london = emu.admin.property_ids()[:3]
        tokyo = emu.admin.create_property(emu.admin.account_ids()[0], "Tokyo Shop", time_zone="Asia/Tokyo",
                                          currency="JPY")
        n = len(SOURCES)
        emu.store.append(tokyo, pd.DataFrame({
            "ts": [_ts(f"2026-11-{10 + i:02d}", "Asia/Tokyo") for i in range(n)],
            "event_name": ["purchase"] * n, "user_id": [f"u{i}" for i in range(n)], "session_id": [1] * n,
            "channel_group": ["Referral"] * n, "source": SOURCES, "medium": ["referral"] * n,
            "value": [1234.5, 0.1, 0.2, 10.0, 20.0, 30.0], "currency": ["JPY"] * n}))
        emu.berlin, emu.london, emu.tokyo = berlin, london, tokyo
        yield emu


def goals(tmp_path, pid) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"'))
    return path


def run(emu, *args):
    res = CliRunner().invoke(cli, ["--emulator", emu.address, *args], catch_exceptions=False)
    return res


def events_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"property": str}, keep_default_na=False, na_values=[""])


def raw_count(emu, pid, event, start, end, tz="Europe/Berlin") -> int:
    raw = emu.store.frame(pid)
    day = pd.to_datetime(raw["ts"], unit="us", utc=True).dt.tz_convert(tz).dt.date
    return int(((raw["event_name"] == event) & (day >= start) & (day <= end)).sum())


def assert_no_overlapping_periods(df: pd.DataFrame, segments=(SEG,), event=True) -> None:
    """Within one property, segment and event, no two periods share a day (no period kept twice)."""
    keys = ["property", *segments] + (["event"] if event else [])
    df = df.assign(s=pd.to_datetime(df["period_start"]), e=pd.to_datetime(df["period_end"]))
    for key, g in df.sort_values("s").groupby(keys):
        assert (g["s"].iloc[1:].to_numpy() > g["e"].iloc[:-1].to_numpy()).all(), (key, list(g["period"]))


# ----------------------------------------------------------------------------------------- item 2

def test_merge_with_other_segment_columns_is_refused_before_pulling(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.berlin)
    out = tmp_path / "g.csv"
    first = run(emu, "pull", "-c", str(cfg), "--start", "2026-10-25", "--end", "2026-11-21", "-g", "day",
                "-o", str(out), "--merge")
    assert first.exit_code == 0, first.output
    events = tmp_path / "g.events.csv"
    before = events.read_bytes()
    emu.reset_calls()
    res = run(emu, "pull", "-c", str(cfg), "--start", "2026-11-15", "--end", "2026-11-21", "-g", "day",
              "-o", str(out), "--merge", "--no-segments")
    assert res.exit_code == 1, res.output
    assert "Error:" in res.output and SEG in res.output and "Traceback" not in res.output
    assert events.read_bytes() == before  # not one row lost
    assert not [c for c in emu.calls if c.method == "BatchRunReports"]  # refused before spending quota
    # The other way round: a file over all traffic cannot take segmented rows either.
    flat = tmp_path / "flat.csv"
    assert run(emu, "pull", "-c", str(cfg), "--start", "2026-11-15", "--end", "2026-11-21", "-g", "day",
               "-o", str(flat), "--no-segments").exit_code == 0
    flat_before = (tmp_path / "flat.events.csv").read_bytes()
    res = run(emu, "pull", "-c", str(cfg), "--start", "2026-11-15", "--end", "2026-11-21", "-g", "day",
              "-o", str(flat), "--merge")
    assert res.exit_code == 1 and SEG in res.output
    assert (tmp_path / "flat.events.csv").read_bytes() == flat_before


def test_merge_with_segments_empty_in_the_goals_file_is_refused(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.berlin)
    out = tmp_path / "g.xlsx"
    assert run(emu, "pull", "-c", str(cfg), "--start", "2026-11-01", "--end", "2026-11-21", "-g", "day",
               "-o", str(out)).exit_code == 0
    before = out.read_bytes()
    flat_cfg = tmp_path / "flat.yaml"
    flat_cfg.write_text(cfg.read_text().replace("segments: [sessionDefaultChannelGroup]", "segments: []"))
    res = run(emu, "pull", "-c", str(flat_cfg), "--start", "2026-11-15", "--end", "2026-11-21", "-g", "day",
              "-o", str(out), "--merge")
    assert res.exit_code == 1 and SEG in res.output
    assert out.read_bytes() == before


# ----------------------------------------------------------------------------------------- item 3

@pytest.mark.parametrize("grain, first_start, later", [
    ("week", "2026-10-25", ["--start", "2026-11-13", "--end", "2026-11-21"]),  # Friday: mid-week
    ("month", "2026-09-01", ["--start", "2026-11-10", "--end", "2026-11-21"]),
    ("month", "2026-09-01", ["--start", "2026-10-05", "--end", "2026-10-15"]),  # back-fill ending mid-month
])
def test_week_and_month_merges_never_keep_a_period_twice(live, tmp_path, grain, first_start, later):
    emu = live
    cfg = goals(tmp_path, emu.berlin)
    out = tmp_path / "g.csv"
    res = run(emu, "pull", "-c", str(cfg), "--start", first_start, "--end", "2026-11-21", "-g", grain,
              "-o", str(out), "--merge")
    assert res.exit_code == 0, res.output
    res = run(emu, "pull", "-c", str(cfg), *later, "-g", grain, "-o", str(out), "--merge")
    assert res.exit_code == 0, res.output
    df = events_csv(tmp_path / "g.events.csv")
    assert_no_overlapping_periods(df)
    assert_no_overlapping_periods(events_csv(tmp_path / "g.baseline.csv"), event=False)
    purchases = df[(df["event"] == "purchase") & (df[SEG] == "(all)")]
    first = dt.date.fromisoformat(first_start)
    first -= dt.timedelta(days=first.weekday() if grain == "week" else 0)  # merges pull whole periods
    # Unchanged data: the merged file still counts every purchase of the whole span exactly once.
    assert purchases["event_count"].sum() == raw_count(emu, emu.berlin, "purchase", first, dt.date(2026, 11, 21))
    starts = pd.to_datetime(purchases["period_start"])
    assert (starts.dt.day_of_week == 0).all() if grain == "week" else (starts.dt.day == 1).all()


def test_merge_windows_are_per_property(live, tmp_path, monkeypatch):
    """Relative dates resolve in each property's time zone: London's "yesterday" may be Berlin's "today
    minus 2". A merge must replace each property's rows in its own window, not the first property's."""
    from ga4kit.reporting import periods

    emu = live
    cfg = goals(tmp_path, emu.berlin)
    out = tmp_path / "g.csv"
    both = ["-p", emu.berlin, "-p", emu.london]
    res = run(emu, "pull", "-c", str(cfg), *both, "--start", "2026-11-10", "--end", "2026-11-21", "-g", "day",
              "-o", str(out), "--merge")
    assert res.exit_code == 0, res.output
    before = events_csv(tmp_path / "g.baseline.csv")
    days = {"Europe/Berlin": dt.date(2026, 11, 22), "Europe/London": dt.date(2026, 11, 21)}
    monkeypatch.setattr(periods, "today_in", lambda tz: days[tz])
    res = run(emu, "pull", "-c", str(cfg), *both, "--start", "3daysAgo", "--end", "2daysAgo", "-g", "day",
              "-o", str(out), "--merge", "--json")
    assert res.exit_code == 0, res.output
    after = events_csv(tmp_path / "g.baseline.csv")
    # London's 20th and 21st were outside London's window: kept as they were.
    for day in ("2026-11-20", "2026-11-21"):
        sel = lambda df: df[(df["property"] == emu.london) & (df["period"] == day)].reset_index(drop=True)  # noqa
        assert len(sel(before)) > 0
        pd.testing.assert_frame_equal(sel(after), sel(before))
    assert set(after["period"]) == set(before["period"])
    assert not after.duplicated(["property", "period", SEG]).any()
    props = json.loads(res.output)["data"]["properties"]
    assert (props[emu.berlin]["start"], props[emu.berlin]["end"]) == ("2026-11-19", "2026-11-20")
    assert (props[emu.london]["start"], props[emu.london]["end"]) == ("2026-11-18", "2026-11-19")


# ----------------------------------------------------------------------------------------- item 5

def test_the_same_property_twice_is_pulled_once(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.berlin)
    dates = ["--start", "2026-11-01", "--end", "2026-11-21"]
    once = run(emu, "pull", "-c", str(cfg), *dates, "-p", emu.berlin, "-o", str(tmp_path / "once.csv"))
    assert once.exit_code == 0, once.output
    emu.reset_calls()
    twice = run(emu, "pull", "-c", str(cfg), *dates, "-p", emu.berlin, "-p", f"properties/{emu.berlin}",
                "-o", str(tmp_path / "twice.csv"))
    assert twice.exit_code == 0, twice.output
    assert [c.method for c in emu.calls].count("GetProperty") == 1
    a, b = events_csv(tmp_path / "once.events.csv"), events_csv(tmp_path / "twice.events.csv")
    assert not b.duplicated(["property", "period", SEG, "event"]).any()
    pd.testing.assert_frame_equal(a, b)


def test_chains_with_the_same_property_twice(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.berlin)
    dates = ["--start", "2026-11-01", "--end", "2026-11-21"]
    once = run(emu, "chains", "-c", str(cfg), *dates, "-p", emu.berlin, "--format", "json")
    twice = run(emu, "chains", "-c", str(cfg), *dates, "-p", emu.berlin, "-p", f"properties/{emu.berlin}",
                "--format", "json")
    assert twice.exit_code == 0, twice.output
    assert json.loads(twice.output)["chains"] == json.loads(once.output)["chains"]


# ----------------------------------------------------------------------------------------- item 8

def test_formula_text_stays_text_in_xlsx_and_csv_and_merges_cleanly(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.tokyo)
    args = ["-c", str(cfg), "--start", "2026-11-01", "--end", "2026-11-21", "-s", "sessionSource", "--merge"]
    for _ in range(2):  # merging the same pull again changes nothing
        assert run(emu, "pull", *args, "-o", str(tmp_path / "t.xlsx")).exit_code == 0
        assert run(emu, "pull", *args, "-o", str(tmp_path / "t.csv")).exit_code == 0

    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["events"]
    header = [c.value for c in ws[1]]
    col = header.index("sessionSource") + 1
    cells = {ws.cell(row=r, column=col).value: ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)}
    assert set(cells) == {*SOURCES, "(all)"}  # once each: the second merge added nothing
    for text in SOURCES:
        assert cells[text].data_type == "s", text  # a string, never a formula ("f")
    assert cells[EVIL].quotePrefix and cells["@SUM(1+1)"].quotePrefix

    text = (tmp_path / "t.events.csv").read_text()
    assert ",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click me\"\")\"," in text
    assert ",'-2+3," in text and ",'@SUM(1+1)," in text and ",''=already quoted," in text
    assert ",plain.example," in text and "'plain" not in text
    back = events_csv(tmp_path / "t.events.csv")
    assert len(back) == len(SOURCES) + 1 and not back.duplicated(["property", "period", "sessionSource",
                                                                   "event"]).any()


# ----------------------------------------------------------------------------------------- items 19, 20

def test_pulled_tables_carry_name_currency_rounded_values_and_integer_key_events(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.berlin)
    res = run(emu, "pull", "-c", str(cfg), "-p", emu.berlin, "-p", emu.tokyo, "--start", "2026-10-01",
              "--end", "2026-11-21", "-o", str(tmp_path / "p.csv"))
    assert res.exit_code == 0, res.output
    ev = events_csv(tmp_path / "p.events.csv")
    base = events_csv(tmp_path / "p.baseline.csv")
    names = ev.groupby("property")["property_name"].unique().map(list).to_dict()
    assert names == {emu.berlin: ["Demo Shop"], emu.tokyo: ["Tokyo Shop"]}
    assert ev.groupby("property")["currency"].unique().map(list).to_dict() == {emu.berlin: ["EUR"],
                                                                             emu.tokyo: ["JPY"]}
    assert set(base["property_name"]) == {"Demo Shop", "Tokyo Shop"} and "currency" not in base
    text = (tmp_path / "p.events.csv").read_text().splitlines()
    header = text[0].split(",")
    assert header.index("value") + 1 == header.index("currency")
    raw_values = [line.split(",")[header.index("value")] for line in text[1:] if EVIL not in line]
    decimals = {len(v.split(".")[1]) if "." in v else 0 for v in raw_values}
    assert max(decimals) <= 2  # no float noise such as 11635.389999999994
    tokyo_all = ev[(ev["property"] == emu.tokyo) & (ev[SEG] == "(all)")]
    assert tokyo_all["value"].tolist() == [1295.0]  # 1234.5 + 0.1 + 0.2 + 60: whole yen
    eur = ev[ev["property"] == emu.berlin]["value"]
    assert (eur.round(2) == eur).all() and (eur % 1 != 0).any()
    assert all("." not in line.split(",")[header.index("key_events")] for line in text[1:])  # integers


def test_pull_json_envelope_partial_and_nothing_written(live, tmp_path):
    emu = live
    locked = emu.admin.create_property(emu.admin.account_ids()[0], "Locked")
    emu.admin.set_access(locked, ["someone@else.example"])
    cfg = goals(tmp_path, emu.berlin)
    out = tmp_path / "p.json"
    res = run(emu, "pull", "-c", str(cfg), "-p", emu.berlin, "-p", locked, "--start", "2026-11-01",
              "--end", "2026-11-21", "-o", str(out), "--json")
    assert res.exit_code == 3, res.output
    doc = json.loads(res.stdout)
    assert (doc["command"], doc["ok"], doc["exit_code"], doc["format_version"]) == ("pull", False, 3, 2)
    assert set(doc["data"]["properties"]) == {emu.berlin} and doc["data"]["files"] == [str(out)]
    [err] = doc["errors"]
    assert err["property"] == locked and err["status"] == "PERMISSION_DENIED"
    assert err["message"] and err["hint"]
    written = json.loads(out.read_text())
    assert {r["property"] for r in written["events"]} == {emu.berlin}

    nothing = tmp_path / "none.json"
    res = run(emu, "pull", "-c", str(cfg), "-p", locked, "-o", str(nothing), "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["data"] is None and doc["errors"][0]["property"] == locked
    assert not nothing.exists()
    text = run(emu, "pull", "-c", str(cfg), "-p", emu.berlin, "-p", locked, "-o", str(tmp_path / "t.csv"))
    assert text.exit_code == 3 and "1 of 2 properties failed" in text.output


def test_ndjson_destination_one_object_per_line_and_merge(live, tmp_path):
    emu = live
    cfg = goals(tmp_path, emu.berlin)
    out = tmp_path / "rows.ndjson"
    args = ["-c", str(cfg), "--start", "2026-11-02", "--end", "2026-11-21", "-g", "week", "-o", str(out)]
    assert run(emu, "pull", *args).exit_code == 0
    lines = (tmp_path / "rows.events.ndjson").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows and all(isinstance(r, dict) for r in rows)
    assert rows[0]["property"] == emu.berlin and isinstance(rows[0]["key_events"], int)
    assert rows[0]["period_start"][:4] == "2026"
    for _ in range(2):
        assert run(emu, "pull", *args, "--merge").exit_code == 0
    again = [json.loads(line) for line in (tmp_path / "rows.events.ndjson").read_text().splitlines()]
    assert len(again) == len(rows)
    assert (tmp_path / "rows.baseline.ndjson").exists()


# ----------------------------------------------------------------------------------------- library = CLI

@pytest.mark.parametrize("grain", ["day", "week"])
def test_a_library_pull_merges_exactly_as_the_cli(live, tmp_path, grain):
    """`pull(whole_periods=True)` + `write_pull(merge=True)` from Python writes the same bytes as
    `ga4kit pull --merge`: keys, per-property windows and whole periods come from the library."""
    from ga4kit import destinations
    from ga4kit.config import load
    from ga4kit.connect import make_clients
    from ga4kit.reporting.pull import pull

    emu = live
    cfg = goals(tmp_path, emu.berlin)
    runs = [("2026-10-20", "2026-11-12"), ("2026-11-04", "2026-11-21")]
    props = [emu.berlin, emu.london]
    for start, end in runs:
        res = run(emu, "pull", "-c", str(cfg), "-p", props[0], "-p", props[1], "--start", start, "--end", end,
                  "-g", grain, "--compare", "previous", "-o", str(tmp_path / "cli.csv"), "--merge")
        assert res.exit_code == 0, res.output
    config = load(cfg)
    with make_clients(emulator=emu.address) as clients:
        for start, end in runs:
            destinations.check_pull(tmp_path / "lib.csv", config, compare_previous=True, merge=True)
            result = pull(config, clients, properties=props, start=start, end=end, grain=grain,
                          compare_previous=True, whole_periods=True)
            written = destinations.write_pull(result, tmp_path / "lib.csv", merge=True)
    assert [p.name for p in written] == ["lib.events.csv", "lib.baseline.csv", "lib.previous_events.csv",
                                         "lib.previous_baseline.csv"]
    for table in ("events", "baseline", "previous_events", "previous_baseline"):
        cli_bytes = (tmp_path / f"cli.{table}.csv").read_bytes()
        assert cli_bytes == (tmp_path / f"lib.{table}.csv").read_bytes(), table
    assert_no_overlapping_periods(events_csv(tmp_path / "lib.events.csv"))
    cli_state = destinations.open_destination(tmp_path / "cli.csv").state()
    lib_state = destinations.open_destination(tmp_path / "lib.csv").state()
    assert {p: (w.ranges, w.grain) for p, w in cli_state.properties.items()} == \
        {p: (w.ranges, w.grain) for p, w in lib_state.properties.items()}
    assert set(lib_state.properties) == set(props)

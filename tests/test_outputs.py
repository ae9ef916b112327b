"""ga4kit.outputs: every format written and read back with the same values, atomic writes, merge mode."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from ga4kit import outputs as O
from ga4kit.errors import OutputError


def chains_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "property": ["123456789", "123456789", "123456789"],
        "chain": ["checkout"] * 3,
        "sessionDefaultChannelGroup": ["Organic Search", "Organic Search", "(all)"],
        "period": ["2026-11"] * 3,
        "period_start": pd.to_datetime(["2026-11-01"] * 3),
        "step_index": np.array([1, 2, 1], dtype="int64"),
        "step": ["view_item", "purchase", "view_item"],
        "users": np.array([100, 7, 140], dtype="int64"),
        "rate_from_previous": [np.nan, 0.07, np.nan],
        "all_users": pd.array([1000, 1000, pd.NA], dtype="Int64"),
        "label": ["Grüße, \"quoted\"", "line\nbreak", "plain"],
    })


def goals_frame() -> pd.DataFrame:
    return pd.DataFrame({"property": ["123456789"], "event": ["purchase"], "users": [7],
                         "rate_over_all_users": [0.007], "period_start": pd.to_datetime(["2026-11-01"])})


def check_chains(df: pd.DataFrame) -> None:
    """Values equal to chains_frame() after a round trip through a file."""
    assert list(df["property"].astype(str)) == ["123456789"] * 3
    assert list(df["users"].astype(int)) == [100, 7, 140]
    assert list(df["step_index"].astype(int)) == [1, 2, 1]
    r = pd.to_numeric(df["rate_from_previous"])
    assert math.isnan(r[0]) and r[1] == pytest.approx(0.07) and math.isnan(r[2])
    au = pd.to_numeric(df["all_users"])
    assert au[0] == 1000 and pd.isna(au[2])
    assert list(pd.to_datetime(df["period_start"]).dt.strftime("%Y-%m-%d")) == ["2026-11-01"] * 3
    assert list(df["label"]) == ["Grüße, \"quoted\"", "line\nbreak", "plain"]


def test_csv_round_trip(tmp_path):
    written = O.write_frames(tmp_path / "r.csv", {"chains": chains_frame(), "goals": goals_frame()})
    assert written == [tmp_path / "r.chains.csv", tmp_path / "r.goals.csv"]
    check_chains(pd.read_csv(tmp_path / "r.chains.csv", dtype={"property": str}))
    text = (tmp_path / "r.chains.csv").read_text()
    assert text.splitlines()[1].startswith("123456789,checkout,Organic Search,2026-11,2026-11-01,1,")
    g = pd.read_csv(tmp_path / "r.goals.csv", dtype={"property": str})
    assert g.loc[0, "rate_over_all_users"] == pytest.approx(0.007)
    # One frame goes to the path itself.
    assert O.write_frames(tmp_path / "one.csv", chains_frame()) == [tmp_path / "one.csv"]
    check_chains(pd.read_csv(tmp_path / "one.csv", dtype={"property": str}))


def test_xlsx_round_trip_one_sheet_per_frame(tmp_path):
    path = tmp_path / "r.xlsx"
    O.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["chains", "goals"]
    ws = wb["chains"]
    assert [c.value for c in ws[1]][:3] == ["property", "chain", "sessionDefaultChannelGroup"]
    assert ws["A2"].value == "123456789" and ws["A2"].data_type == "s"  # ids stay text
    assert ws["H2"].value == 100
    check_chains(pd.read_excel(path, sheet_name="chains", dtype={"property": str}))


def test_json_round_trip_records_iso_dates(tmp_path):
    path = tmp_path / "r.json"
    O.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"chains", "goals"}
    first = data["chains"][0]
    assert first["period_start"] == "2026-11-01" and first["rate_from_previous"] is None
    assert first["users"] == 100 and first["property"] == "123456789"
    check_chains(pd.DataFrame.from_records(data["chains"]))
    O.write_frames(tmp_path / "one.json", goals_frame())
    assert json.loads((tmp_path / "one.json").read_text())[0]["event"] == "purchase"


def test_parquet_round_trip(tmp_path):
    O.write_frames(tmp_path / "r.parquet", {"chains": chains_frame()})
    back = pd.read_parquet(tmp_path / "r.parquet")
    check_chains(back)
    assert back["period_start"].dtype.kind == "M"


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes "import pyarrow" raise ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(OutputError, match="pyarrow") as exc:
        O.write_frames(tmp_path / "r.parquet", chains_frame())
    assert "pip install" in str(exc.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_rerun_is_byte_identical(tmp_path, ext):
    path = tmp_path / f"r.{ext}"
    O.write_frames(path, chains_frame())
    first = path.read_bytes()
    O.write_frames(path, chains_frame())
    assert path.read_bytes() == first


def test_unknown_extension_and_unwritable_paths(tmp_path):
    with pytest.raises(OutputError, match="unknown output type") as exc:
        O.write_frames(tmp_path / "r.txt", chains_frame())
    assert ".csv" in exc.value.hint
    with pytest.raises(OutputError, match="does not exist") as exc:
        O.write_frames(tmp_path / "missing" / "r.csv", chains_frame())
    assert "mkdir" in exc.value.hint
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError):
        O.write_frames(tmp_path / "afile" / "r.csv", chains_frame())
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        O.write_frames(tmp_path / "d.csv", chains_frame())


def test_os_error_when_moving_into_place(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    O.write_frames(path, goals_frame())
    before = path.read_bytes()

    def deny(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(O.os, "replace", deny)
    with pytest.raises(OutputError, match="Permission denied") as exc:
        O.write_frames(path, chains_frame())
    assert "unchanged" in exc.value.hint
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_read_only_directory(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:  # root writes anywhere: make the permission check see what a user would
        real_access = os.access
        monkeypatch.setattr(O.os, "access", lambda p, mode: False if Path(p) == ro else real_access(p, mode))
    try:
        with pytest.raises(OutputError, match="no permission") as exc:
            O.write_frames(ro / "r.csv", chains_frame())
        assert "writable" in exc.value.hint or "permissions" in exc.value.hint
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


class Explodes:
    """A cell value whose serialization fails, so a write breaks off in the middle."""

    def __str__(self):
        raise RuntimeError("boom")

    __repr__ = __str__


def bad_frame() -> pd.DataFrame:
    return pd.DataFrame({"property": ["1", "2", "3"], "x": pd.Series(["ok", "ok", Explodes()], dtype=object)})


@pytest.mark.parametrize("ext", ["csv", "json", "xlsx"])
def test_failed_write_leaves_old_file_intact(tmp_path, ext):
    path = tmp_path / f"r.{ext}"
    O.write_frames(path, {"a": goals_frame()})
    before = path.read_bytes()
    # For xlsx the first sheet is written before the second fails.
    frames = {"a": goals_frame(), "b": bad_frame()} if ext == "xlsx" else {"a": bad_frame()}
    with pytest.raises(OutputError, match="left unchanged"):
        O.write_frames(path, frames)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left behind


def test_multi_file_write_is_all_or_nothing(tmp_path):
    O.write_frames(tmp_path / "r.csv", {"a": goals_frame(), "b": goals_frame()})
    a_before = (tmp_path / "r.a.csv").read_bytes()
    with pytest.raises(OutputError):
        O.write_frames(tmp_path / "r.csv", {"a": chains_frame(), "b": bad_frame()})
    assert (tmp_path / "r.a.csv").read_bytes() == a_before  # "a" was fine but must not be replaced alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.a.csv", "r.b.csv"]


# ----------------------------------------------------------------------------------------- merge mode

KEYS = ["property", "period", "sessionDefaultChannelGroup", "event"]


def pull(prop: str, days: list[str], users: int, events=("purchase", "view_item")) -> pd.DataFrame:
    rows = [dict(property=prop, period=d, period_start=pd.Timestamp(d), sessionDefaultChannelGroup="(all)",
                 event=e, users=users, rate=users / 1000) for d in days for e in events]
    return pd.DataFrame(rows)


def read_back(path, name="events") -> pd.DataFrame:
    df = O.read_frames(path, [name])[name]
    df["property"] = df["property"].astype(str)
    df["users"] = df["users"].astype(int)
    df["period_start"] = pd.to_datetime(df["period_start"])
    return df


@pytest.mark.parametrize("ext", ["csv", "xlsx", "json", "parquet"])
def test_merge_replaces_same_keys_and_window_never_duplicates(tmp_path, ext):
    path = tmp_path / f"sheet.{ext}"
    days = [f"2026-11-0{i}" for i in range(1, 6)]
    first = pd.concat([pull("111", days, 10), pull("222", days, 20),
                       pull("111", ["2026-11-05"], 99, events=("gone_event",))])
    O.write_frames(path, {"events": first}, merge_on=KEYS)
    assert len(read_back(path)) == 5 * 2 * 2 + 1

    # The scheduled job re-pulls the last 3 days of property 111 (late GA4 data), plus one new day.
    again = pull("111", ["2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"], 11)
    for _ in range(2):  # a re-run of the same job changes nothing
        O.write_frames(path, {"events": again}, merge_on=KEYS, replace_window=("2026-11-03", "2026-11-06"))
        df = read_back(path)
        assert not df.duplicated(KEYS).any()
        p1 = df[df["property"] == "111"].set_index(["period", "event"])["users"]
        assert p1.loc[("2026-11-01", "purchase")] == 10  # before the window: kept
        assert p1.loc[("2026-11-04", "purchase")] == 11  # in the window: replaced
        assert p1.loc[("2026-11-06", "view_item")] == 11  # new day: added
        assert ("2026-11-05", "gone_event") not in p1.index  # stale row of the window: dropped
        assert (df[df["property"] == "222"]["users"] == 20).all()  # other property untouched
        assert len(df[df["property"] == "222"]) == 10
        assert len(df) == 2 * 2 + 4 * 2 + 10  # 111: days 1-2 kept, 3-6 re-pulled; 222: all


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_merge_rerun_is_byte_identical(tmp_path, ext):
    path = tmp_path / f"sheet.{ext}"
    O.write_frames(path, pull("111", ["2026-11-01", "2026-11-02"], 10), merge_on=KEYS)
    O.write_frames(path, pull("111", ["2026-11-02", "2026-11-03"], 12), merge_on=KEYS,
                   replace_window=("2026-11-02", "2026-11-03"))
    once = path.read_bytes()
    O.write_frames(path, pull("111", ["2026-11-02", "2026-11-03"], 12), merge_on=KEYS,
                   replace_window=("2026-11-02", "2026-11-03"))
    assert path.read_bytes() == once
    df = read_back(path, "data")
    assert sorted(df["period"].unique()) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert df.set_index(["period", "event"])["users"].loc[("2026-11-02", "purchase")] == 12


def test_merge_without_window_keeps_other_rows(tmp_path):
    path = tmp_path / "s.csv"
    O.write_frames(path, pull("111", ["2026-11-01", "2026-11-02"], 10), merge_on=KEYS)
    O.write_frames(path, pull("111", ["2026-11-02"], 30, events=("purchase",)), merge_on=KEYS)
    df = read_back(path, "data")
    assert len(df) == 4 and not df.duplicated(KEYS).any()
    df = df.set_index(["period", "event"])["users"]
    assert df.to_dict() == {("2026-11-01", "purchase"): 10, ("2026-11-01", "view_item"): 10,
                            ("2026-11-02", "purchase"): 30, ("2026-11-02", "view_item"): 10}


def test_merge_needs_key_columns(tmp_path):
    with pytest.raises(OutputError, match="merge_on"):
        O.write_frames(tmp_path / "s.csv", goals_frame(), merge_on=["nope"])
    with pytest.raises(OutputError, match="merge_on"):
        O.write_frames(tmp_path / "s.csv", goals_frame(), replace_window=("2026-11-01", "2026-11-02"))


def test_writer_dying_halfway_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    O.write_frames(path, goals_frame())
    before = path.read_bytes()

    def half(tmp, frame):  # the disk fills up after part of the file was written
        tmp.write_bytes(b"property,event\n123,purch")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(O, "_write_csv", half)
    with pytest.raises(OutputError, match="No space left"):
        O.write_frames(path, chains_frame())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path):
    big = pd.DataFrame({"n": np.zeros(1_048_576, dtype="int8")})  # + header = one row too many
    with pytest.raises(OutputError, match="1,048,576 rows") as exc:
        O.write_frames(tmp_path / "big.xlsx", {"chains": big})
    assert ".csv" in exc.value.hint
    assert not list(tmp_path.iterdir())


def test_json_text_survives_slashes_backslashes_and_quotes(tmp_path):
    tricky = ["/pricing", "a\\/b", "end\\", 'say "hi"', "tab\tline\nnext", "ü/€", ""]
    df = pd.DataFrame({"page": tricky, "x": [1.5, np.inf, -np.inf, np.nan, 0.1, 1 / 3, 2.0]})
    O.write_frames(tmp_path / "t.json", df)
    raw = (tmp_path / "t.json").read_text(encoding="utf-8")
    back = json.loads(raw)
    assert [r["page"] for r in back] == tricky
    assert [r["x"] for r in back][:4] == [1.5, None, None, None]  # inf is not JSON: null
    assert back[5]["x"] == pytest.approx(1 / 3, rel=1e-14)
    assert '"/pricing"' in raw  # not the encoder's "\\/"


# ----------------------------------------------------------------------------------------- trust issue

def seg_pull(prop: str, periods: list[tuple[str, str]], users: int, seg: str | None = "Direct") -> pd.DataFrame:
    rows = [dict(property=prop, period=f"{s}..{e}", period_start=pd.Timestamp(s), period_end=pd.Timestamp(e),
                 event="purchase", users=users) for s, e in periods]
    df = pd.DataFrame(rows)
    if seg is not None:
        df.insert(4, "sessionDefaultChannelGroup", seg)
    return df


def test_merge_refuses_a_file_with_other_key_columns_and_keeps_it(tmp_path):
    path = tmp_path / "s.csv"
    seg_keys = ["property", "period", "sessionDefaultChannelGroup", "event"]
    days = [("2026-11-01", "2026-11-01"), ("2026-11-02", "2026-11-02")]
    O.write_frames(path, pd.concat([seg_pull("1", days, 5, "Direct"), seg_pull("1", days, 7, "Email")]),
                   merge_on=seg_keys)
    before = path.read_bytes()
    with pytest.raises(OutputError, match="sessionDefaultChannelGroup") as exc:
        O.write_frames(path, seg_pull("1", days[1:], 9, seg=None), merge_on=["property", "period", "event"],
                       replace_window=("2026-11-02", "2026-11-02"))
    assert "segments" in exc.value.hint
    assert path.read_bytes() == before
    with pytest.raises(OutputError, match="merge_on column"):  # a key the new rows lack is no longer dropped
        O.write_frames(path, seg_pull("1", days, 9, seg=None), merge_on=seg_keys)
    # New non-key columns are fine (a file from an older ga4kit gains property_name): old rows stay.
    O.write_frames(path, seg_pull("1", days[1:], 9).assign(property_name="Shop"), merge_on=seg_keys)
    df = read_back(path, "data").set_index(["period", "sessionDefaultChannelGroup"])
    assert len(df) == 4 and df.loc[("2026-11-02..2026-11-02", "Direct"), "users"] == 9
    assert df.loc[("2026-11-01..2026-11-01", "Email"), "users"] == 7


def test_window_replaces_every_period_it_overlaps_per_property(tmp_path):
    path = tmp_path / "w.csv"
    keys = ["property", "period", "sessionDefaultChannelGroup", "event"]
    weeks = [("2026-11-02", "2026-11-08"), ("2026-11-09", "2026-11-15"), ("2026-11-16", "2026-11-21")]
    O.write_frames(path, pd.concat([seg_pull("A", weeks, 1), seg_pull("B", weeks, 2)]), merge_on=keys)
    # A re-pulled from the 13th (its week 09-15 overlaps), B only its last week; B's window is its own.
    new = pd.concat([seg_pull("A", [("2026-11-13", "2026-11-15"), ("2026-11-16", "2026-11-21")], 10),
                     seg_pull("B", [("2026-11-16", "2026-11-21")], 20)])
    O.write_frames(path, new, merge_on=keys, replace_window={"A": ("2026-11-13", "2026-11-21"),
                                                            "B": ("2026-11-16", "2026-11-21"),
                                                            "C": ("2026-11-01", "2026-11-30")})
    df = read_back(path, "data")
    got = {(p, per): u for p, per, u in zip(df["property"], df["period"], df["users"])}
    assert got == {("A", "2026-11-02..2026-11-08"): 1, ("A", "2026-11-13..2026-11-15"): 10,
                   ("A", "2026-11-16..2026-11-21"): 10, ("B", "2026-11-02..2026-11-08"): 2,
                   ("B", "2026-11-09..2026-11-15"): 2, ("B", "2026-11-16..2026-11-21"): 20}
    # A property re-pulled without any row (GA4 dropped them all) loses its stale rows in its window.
    O.write_frames(path, seg_pull("A", [("2026-11-16", "2026-11-21")], 0).head(0), merge_on=keys,
                   replace_window={"A": ("2026-11-16", "2026-11-21")})
    assert ("A", "2026-11-16..2026-11-21") not in set(zip(*[read_back(path, "data")[c] for c in ("property",
                                                                                                "period")]))


FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-1+1", "@SUM(A1)", "\tTAB", "'=quoted",
            "''+twice", "'plain quote", "#N/A", "a=b", "", None]


def formula_frame() -> pd.DataFrame:
    return pd.DataFrame({"property": ["1"] * len(FORMULAS), "source": FORMULAS,
                         "n": list(range(-3, len(FORMULAS) - 3)), "x": [-1.5] * len(FORMULAS)})


def test_csv_quotes_text_that_would_run_as_a_formula_and_reads_it_back(tmp_path):
    path = tmp_path / "f.csv"
    O.write_frames(path, formula_frame())
    lines = path.read_bytes().decode().split("\n")
    assert lines[1] == "1,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",-3,-1.5"  # numbers untouched
    assert lines[2:6] == ["1,'+1+1,-2,-1.5", "1,'-1+1,-1,-1.5", "1,'@SUM(A1),0,-1.5", "1,'\tTAB,1,-1.5"]
    assert lines[6:10] == ["1,''=quoted,2,-1.5", "1,'''+twice,3,-1.5", "1,'plain quote,4,-1.5", "1,#N/A,5,-1.5"]
    assert lines[10:12] == ["1,a=b,6,-1.5", "1,,7,-1.5"]
    back = O.read_frames(path)["data"]
    assert back["source"].tolist()[:-2] == FORMULAS[:-2]  # exactly the stored text again
    assert back["n"].tolist()[:3] == ["-3", "-2", "-1"]
    assert O.frame_to_csv(pd.DataFrame({"s": ["\rCR"]})).startswith("s\n'\rCR")  # carriage return too
    assert O.frame_to_csv(pd.DataFrame({"c": pd.Categorical(["=1", "x"])})) == "c\n'=1\nx\n"


def test_xlsx_writes_text_cells_never_formulas(tmp_path):
    path = tmp_path / "f.xlsx"
    O.write_frames(path, {"rows": formula_frame()})
    ws = openpyxl.load_workbook(path)["rows"]
    cells = [ws.cell(row=r, column=2) for r in range(2, len(FORMULAS) + 2)]
    assert [c.value for c in cells][:-2] == FORMULAS[:-2]
    assert all(c.data_type == "s" for c in cells[:-2])  # text, not "f" (formula) or "e" (#N/A error)
    assert cells[0].quotePrefix and not cells[9].quotePrefix  # "a=b" is harmless
    assert ws.cell(row=2, column=3).value == -3 and ws.cell(row=2, column=3).data_type == "n"
    back = O.read_frames(path, ["rows"])["rows"]
    assert back["source"].tolist()[:-2] == FORMULAS[:-2]


def test_reading_an_xlsx_formula_gives_its_text(tmp_path):
    """A file written by another tool (or an older ga4kit) holds a real formula: merge keys compare its
    text, not a computed value that is not stored."""
    path = tmp_path / "old.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["property", "source"])
    ws.append(["1", "=HYPERLINK(\"http://x\",\"y\")"])
    wb.save(path)
    assert O.read_frames(path)["data"]["source"].tolist() == ["=HYPERLINK(\"http://x\",\"y\")"]


@pytest.mark.parametrize("ext", ["ndjson", "jsonl"])
def test_ndjson_one_object_per_line_per_table(tmp_path, ext):
    path = tmp_path / f"r.{ext}"
    written = O.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    assert written == [tmp_path / f"r.chains.{ext}", tmp_path / f"r.goals.{ext}"]
    lines = (tmp_path / f"r.chains.{ext}").read_text(encoding="utf-8").split("\n")
    assert len(lines) == 4 and lines[-1] == ""
    first = json.loads(lines[0])
    assert first["period_start"] == "2026-11-01" and first["users"] == 100 and first["label"] == "Grüße, \"quoted\""
    check_chains(pd.DataFrame.from_records([json.loads(x) for x in lines[:3]]))
    before = (tmp_path / f"r.chains.{ext}").read_bytes()
    O.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    assert (tmp_path / f"r.chains.{ext}").read_bytes() == before
    O.write_frames(tmp_path / f"e.{ext}", goals_frame().head(0))
    assert (tmp_path / f"e.{ext}").read_bytes() == b""


@pytest.mark.parametrize("ext", ["csv", "xlsx", "ndjson"])
def test_stale_temp_files_of_our_naming_are_removed_by_the_next_write(tmp_path, ext):
    path = tmp_path / f"out.{ext}"
    target = path if ext == "xlsx" else tmp_path / f"out.events.{ext}"
    old = tmp_path / f".{target.name}.k2j_9xq1.tmp"
    fresh = tmp_path / f".{target.name}.a1b2c3d4.tmp"  # a concurrent run's, still being written
    foreign = [tmp_path / f".{target.name}.mine.tmp", tmp_path / f".other.{ext}.abcdefgh.tmp",
               tmp_path / f"{target.name}.abcdefgh.tmp"]
    for p in [old, fresh, *foreign]:
        p.write_bytes(b"x" * 100)
    an_hour_ago = time.time() - 3600
    for p in [old, *foreign]:
        os.utime(p, (an_hour_ago, an_hour_ago))
    notes = []
    O.write_frames(path, {"events": goals_frame(), "baseline": goals_frame()}, note=notes.append)
    assert not old.exists()
    assert fresh.exists() and all(p.exists() for p in foreign)
    assert len(notes) == 1 and old.name in notes[0]


def _interrupt_inside_a_finalizer():
    """Drop an object whose finalizer is running when Ctrl-C arrives: Python raises the KeyboardInterrupt
    inside the finalizer, prints it ("Exception ignored") and goes on as if nothing happened."""

    class Dropped:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(100):  # the interrupt is raised here, inside __del__, and swallowed
                pass

    Dropped()


class InterruptingValue:
    """A cell value that pandas' CSV writer turns into text with str()."""

    def __str__(self):
        _interrupt_inside_a_finalizer()
        return "value"

    __repr__ = __str__


class InterruptingText(str):
    """Text that the XLSX writer compares with Excel's error codes."""

    def __eq__(self, other):
        _interrupt_inside_a_finalizer()
        return str.__eq__(self, other)

    __hash__ = str.__hash__


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_ctrl_c_that_python_swallows_still_stops_the_write(tmp_path, ext):
    path = tmp_path / f"r.{ext}"
    O.write_frames(path, {"a": goals_frame()})
    before = path.read_bytes()
    value = InterruptingValue() if ext == "csv" else InterruptingText("value")
    frame = pd.DataFrame({"property": ["1", "2"], "x": pd.Series([value, "ok"], dtype=object)})
    with pytest.raises(KeyboardInterrupt):
        O.write_frames(path, {"a": frame})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_merging_no_rows_with_a_new_column_keeps_the_old_rows(tmp_path):
    path = tmp_path / "s.csv"
    keys = ["property", "period", "sessionDefaultChannelGroup", "event"]
    O.write_frames(path, seg_pull("1", [("2026-11-01", "2026-11-01")], 5), merge_on=keys)
    empty = seg_pull("1", [("2026-11-01", "2026-11-01")], 5).assign(property_name="Shop").head(0)
    O.write_frames(path, empty, merge_on=keys, replace_window={"1": ("2026-11-05", "2026-11-06")})
    df = read_back(path, "data")
    assert df["users"].tolist() == [5] and "property_name" in df

"""ga4kit.destinations: every file format written and read back with the same values, the registry that
picks a destination from an extension or URL scheme, and a new kind of destination added with one class
and one registration line."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from frames_support import KEYS, chains_frame, check_chains, daily, goals_frame

from ga4kit import destinations as D
from ga4kit.destinations.base import Destination
from ga4kit.destinations.csv import CsvDestination
from ga4kit.destinations.json import JsonDestination, NdjsonDestination
from ga4kit.destinations.parquet import ParquetDestination
from ga4kit.destinations.xlsx import XlsxDestination
from ga4kit.errors import OutputError

ROOT = Path(__file__).resolve().parents[1]


def test_csv_round_trip(tmp_path):
    written = D.write_frames(tmp_path / "r.csv", {"chains": chains_frame(), "goals": goals_frame()})
    assert written == [tmp_path / "r.chains.csv", tmp_path / "r.goals.csv"]
    check_chains(pd.read_csv(tmp_path / "r.chains.csv", dtype={"property": str}))
    g = pd.read_csv(tmp_path / "r.goals.csv", dtype={"property": str})
    assert g.loc[0, "rate_over_all_users"] == pytest.approx(0.007)
    # One frame goes to the path itself.
    assert D.write_frames(tmp_path / "one.csv", chains_frame()) == [tmp_path / "one.csv"]
    check_chains(pd.read_csv(tmp_path / "one.csv", dtype={"property": str}))
    back = D.read_frames(tmp_path / "r.csv", ["chains", "goals", "absent"])
    assert set(back) == {"chains", "goals"}
    assert back["chains"]["property"].tolist() == ["123456789"] * 3  # ids stay text
    columns = D.read_columns(tmp_path / "r.csv", ["chains", "goals"])
    assert columns["goals"] == list(goals_frame().columns) and columns["chains"] == list(chains_frame().columns)


def test_xlsx_round_trip_one_sheet_per_frame(tmp_path):
    path = tmp_path / "r.xlsx"
    D.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["chains", "goals"]
    ws = wb["chains"]
    assert [c.value for c in ws[1]][:3] == ["property", "chain", "sessionDefaultChannelGroup"]
    assert ws["A2"].value == "123456789" and ws["A2"].data_type == "s"  # ids stay text
    assert ws["H2"].value == 100
    check_chains(pd.read_excel(path, sheet_name="chains", dtype={"property": str}))
    assert D.read_columns(path, ["goals"])["goals"] == list(goals_frame().columns)


def test_json_round_trip_records_iso_dates(tmp_path):
    path = tmp_path / "r.json"
    D.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {"chains", "goals"}
    check_chains(pd.DataFrame.from_records(data["chains"]))
    D.write_frames(tmp_path / "one.json", goals_frame())
    assert json.loads((tmp_path / "one.json").read_text())[0]["event"] == "purchase"
    assert D.read_frames(tmp_path / "one.json", ["goals"])["goals"]["event"].tolist() == ["purchase"]


def test_parquet_round_trip(tmp_path):
    D.write_frames(tmp_path / "r.parquet", {"chains": chains_frame()})
    back = pd.read_parquet(tmp_path / "r.parquet")
    check_chains(back)
    assert back["period_start"].dtype.kind == "M"
    assert D.read_columns(tmp_path / "r.parquet", ["chains"])["chains"] == list(chains_frame().columns)


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes "import pyarrow" raise ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(OutputError, match="pyarrow") as exc:
        D.write_frames(tmp_path / "r.parquet", chains_frame())
    assert "pip install" in str(exc.value)
    with pytest.raises(OutputError, match="pyarrow"):
        D.check_output(tmp_path / "r.parquet", ["events", "baseline"])
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_rerun_is_byte_identical(tmp_path, ext):
    path = tmp_path / f"r.{ext}"
    D.write_frames(path, chains_frame())
    first = path.read_bytes()
    D.write_frames(path, chains_frame())
    assert path.read_bytes() == first


@pytest.mark.parametrize("ext", ["ndjson", "jsonl"])
def test_ndjson_one_object_per_line_per_table(tmp_path, ext):
    path = tmp_path / f"r.{ext}"
    written = D.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    assert written == [tmp_path / f"r.chains.{ext}", tmp_path / f"r.goals.{ext}"]
    lines = (tmp_path / f"r.chains.{ext}").read_text(encoding="utf-8").split("\n")
    assert len(lines) == 4 and lines[-1] == ""
    check_chains(pd.DataFrame.from_records([json.loads(x) for x in lines[:3]]))
    before = (tmp_path / f"r.chains.{ext}").read_bytes()
    D.write_frames(path, {"chains": chains_frame(), "goals": goals_frame()})
    assert (tmp_path / f"r.chains.{ext}").read_bytes() == before
    D.write_frames(tmp_path / f"e.{ext}", goals_frame().head(0))
    assert (tmp_path / f"e.{ext}").read_bytes() == b""
    assert D.read_columns(path, ["chains", "goals"])["goals"] == list(goals_frame().columns)


def test_unknown_extension_and_unwritable_paths(tmp_path):
    with pytest.raises(OutputError, match="unknown output type") as exc:
        D.write_frames(tmp_path / "r.txt", chains_frame())
    assert ".csv" in exc.value.hint
    with pytest.raises(OutputError, match="does not exist") as exc:
        D.write_frames(tmp_path / "missing" / "r.csv", chains_frame())
    assert "mkdir" in exc.value.hint
    with pytest.raises(OutputError, match="does not exist"):  # a merge's lock file must not create it either
        D.write_frames(tmp_path / "missing" / "r.csv", daily("1", ["2026-11-01"], 1), merge_on=KEYS)
    assert not (tmp_path / "missing").exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError):
        D.write_frames(tmp_path / "afile" / "r.csv", chains_frame())
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        D.write_frames(tmp_path / "d.csv", chains_frame())
    with pytest.raises(OutputError, match="nothing to write"):
        D.write_frames(tmp_path / "r.csv", {})


# ----------------------------------------------------------------------------------------- text stays text

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-1+1", "@SUM(A1)", "\tTAB", "'=quoted",
            "''+twice", "'plain quote", "#N/A", "a=b", "", None]


def formula_frame() -> pd.DataFrame:
    return pd.DataFrame({"property": ["1"] * len(FORMULAS), "source": FORMULAS,
                         "n": list(range(-3, len(FORMULAS) - 3)), "x": [-1.5] * len(FORMULAS)})


def test_csv_file_quotes_formulas_and_reads_back_the_stored_text(tmp_path):
    path = tmp_path / "f.csv"
    D.write_frames(path, formula_frame())
    assert path.read_bytes().decode().split("\n")[2] == "1,'+1+1,-2,-1.5"
    back = D.read_frames(path)["data"]
    assert back["source"].tolist()[:-2] == FORMULAS[:-2]  # exactly the stored text again
    assert back["n"].tolist()[:3] == ["-3", "-2", "-1"]


def test_xlsx_writes_text_cells_never_formulas(tmp_path):
    path = tmp_path / "f.xlsx"
    D.write_frames(path, {"rows": formula_frame()})
    ws = openpyxl.load_workbook(path)["rows"]
    cells = [ws.cell(row=r, column=2) for r in range(2, len(FORMULAS) + 2)]
    assert [c.value for c in cells][:-2] == FORMULAS[:-2]
    assert all(c.data_type == "s" for c in cells[:-2])  # text, not "f" (formula) or "e" (#N/A error)
    assert cells[0].quotePrefix and not cells[9].quotePrefix  # "a=b" is harmless
    assert ws.cell(row=2, column=3).value == -3 and ws.cell(row=2, column=3).data_type == "n"
    back = D.read_frames(path, ["rows"])["rows"]
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
    assert D.read_frames(path)["data"]["source"].tolist() == ["=HYPERLINK(\"http://x\",\"y\")"]


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path):
    big = pd.DataFrame({"n": np.zeros(1_048_576, dtype="int8")})  # + header = one row too many
    with pytest.raises(OutputError, match="1,048,576 rows") as exc:
        D.write_frames(tmp_path / "big.xlsx", {"chains": big})
    assert ".csv" in exc.value.hint
    assert not list(tmp_path.iterdir())


def test_unreadable_existing_file_refuses_a_merge(tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(OutputError, match="could not be read") as exc:
        D.write_frames(path, daily("1", ["2026-11-01"], 1), merge_on=KEYS)
    assert "Move it aside" in exc.value.hint
    assert path.read_bytes() == b"not a workbook"


# ----------------------------------------------------------------------------------------- registry

@pytest.mark.parametrize("name, cls", [("a.csv", CsvDestination), ("A.CSV", CsvDestination),
                                       ("a.xlsx", XlsxDestination), ("a.json", JsonDestination),
                                       ("a.ndjson", NdjsonDestination), ("a.jsonl", NdjsonDestination),
                                       ("a.parquet", ParquetDestination), ("a.pq", ParquetDestination)])
def test_extension_picks_the_destination(tmp_path, name, cls):
    dest = D.open_destination(tmp_path / name)
    assert type(dest) is cls and dest.description == str(tmp_path / name)
    assert D.open_destination(dest) is dest


def test_unknown_scheme_names_the_known_ones():
    with pytest.raises(OutputError, match="unknown destination 'nosuch://'") as exc:
        D.open_destination("nosuch://x")
    assert ".xlsx" in exc.value.hint


class MemoryDestination(Destination):
    """A whole new kind of destination: tables kept in a dict per URL (state included)."""

    stores: dict[str, dict] = {}

    def check(self, tables=("data",)):
        if "readonly" in self.target:
            raise OutputError(f"Cannot write {self.target}: read-only.", "Use another URL.")
        return [self.target]

    def read(self, tables=None):
        return {n: f.copy() for n, f in self.stores.get(self.target, {}).get("tables", {}).items()}

    def write(self, frames, *, state=None, note=None):
        self.stores[self.target] = {"tables": {n: f.copy() for n, f in frames.items()}, "state": state}
        return [self.target]

    def state(self):
        return self.stores.get(self.target, {}).get("state")


@pytest.fixture
def memory():
    D.register("memory", MemoryDestination)  # the one registry line
    MemoryDestination.stores.clear()
    yield MemoryDestination.stores
    D.unregister("memory")


def test_a_new_destination_is_one_class_and_one_registration(memory):
    assert isinstance(D.open_destination("memory://shop"), MemoryDestination)
    D.write_frames("memory://shop", {"events": daily("1", ["2026-11-01", "2026-11-02"], 10)}, merge_on=KEYS)
    D.write_frames("memory://shop", {"events": daily("1", ["2026-11-02", "2026-11-03"], 20)}, merge_on=KEYS,
                   replace_window=("2026-11-02", "2026-11-03"))
    events = memory["memory://shop"]["tables"]["events"]
    assert events.groupby("period")["users"].first().to_dict() == {"2026-11-01": 10, "2026-11-02": 20,
                                                                   "2026-11-03": 20}
    with pytest.raises(OutputError, match="read-only"):
        D.check_output("memory://readonly")
    # A registration by "module:Class" is imported when first used.
    D.register("lazy", "test_destinations:MemoryDestination")
    try:
        assert type(D.open_destination("lazy://x")).__name__ == "MemoryDestination"
    finally:
        D.unregister("lazy")
    with pytest.raises(OutputError, match="unknown destination"):
        D.open_destination("lazy://x")


def test_the_pull_command_writes_and_merges_into_a_new_destination(memory, tmp_path):
    """`ga4kit pull --merge -o memory://shop`: nothing in the CLI knows about files; the merge, the
    per-property windows and the incremental state come from the library."""
    from click.testing import CliRunner

    from ga4kit.cli import cli
    from ga4kit.emulator import Emulator

    with Emulator(days=20, users=60, seed=2, today=dt.date(2026, 11, 22)) as emu:
        pid = emu.admin.property_ids()[0]
        cfg = tmp_path / "shop.yaml"
        cfg.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"'))
        runs = [("2026-11-10", "2026-11-18"), ("2026-11-15", "2026-11-21")]
        for start, end in runs:
            res = CliRunner().invoke(cli, ["--emulator", emu.address, "pull", "-c", str(cfg), "--start", start,
                                           "--end", end, "-g", "day", "-o", "memory://shop", "--merge", "--json"],
                                     catch_exceptions=False)
            assert res.exit_code == 0, res.output
            assert json.loads(res.output)["data"]["files"] == ["memory://shop"]
    stored = memory["memory://shop"]
    events = stored["tables"]["events"]
    assert events["period"].min() >= "2026-11-10" and events["period"].max() <= "2026-11-21"
    assert not events.duplicated(["property", "period", "sessionDefaultChannelGroup", "event"]).any()
    held = stored["state"].properties[pid]
    assert held.ranges == ((dt.date(2026, 11, 10), dt.date(2026, 11, 21)),) and held.grain == "day"
    assert held.segments == ("sessionDefaultChannelGroup",)

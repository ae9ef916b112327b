"""Incremental state: every pull write stores, in the destination, which window of each property it holds;
it reads back, follows merges, and is never trusted when it does not describe the data beside it (a run
killed between moving the data and the state into place)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from frames_support import pull_result

from ga4kit import destinations as D
from ga4kit.destinations.state import DestinationState, HeldWindow, coalesce
from ga4kit.errors import OutputError

NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.timezone.utc)
LATER = dt.datetime(2026, 11, 23, 6, 0, tzinfo=dt.timezone.utc)
SEG = ("sessionDefaultChannelGroup",)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_coalesce_joins_overlapping_and_adjacent_ranges_and_keeps_gaps():
    assert coalesce([(d("2026-11-10"), d("2026-11-12")), (d("2026-11-01"), d("2026-11-05")),
                     (d("2026-11-06"), d("2026-11-07")), (d("2026-11-11"), d("2026-11-20")),
                     (d("2026-11-25"), d("2026-11-24"))]) == (
        (d("2026-11-01"), d("2026-11-07")), (d("2026-11-10"), d("2026-11-20")))


@pytest.mark.parametrize("ext", ["csv", "xlsx", "json", "parquet"])
def test_state_is_written_with_the_data_and_read_back(tmp_path, ext):
    path = tmp_path / f"g.{ext}"
    assert D.open_destination(path).state() is None
    D.write_pull(pull_result({"1": ("2026-11-01", "2026-11-07"), "2": ("2026-11-02", "2026-11-07")}), path,
                 merge=True, now=NOW)
    sidecar = tmp_path / f".g.{ext}.ga4kit-state.json"
    assert sidecar.is_file()
    state = D.open_destination(path).state()
    assert state == DestinationState(properties={
        "1": HeldWindow(((d("2026-11-01"), d("2026-11-07")),), "day", SEG, NOW),
        "2": HeldWindow(((d("2026-11-02"), d("2026-11-07")),), "day", SEG, NOW)}, written_at=NOW)
    assert state.properties["1"].first == d("2026-11-01") and state.properties["1"].last == d("2026-11-07")


def test_merges_add_windows_and_a_plain_write_replaces_them(tmp_path):
    path = tmp_path / "g.csv"
    D.write_pull(pull_result({"1": ("2026-11-01", "2026-11-07"), "2": ("2026-11-01", "2026-11-03")}), path,
                 merge=True, now=NOW)
    # Property 1 re-pulled from the 5th and back-filled with a gap; property 2 not pulled again.
    D.write_pull(pull_result({"1": ("2026-11-05", "2026-11-09")}), path, merge=True, now=LATER)
    D.write_pull(pull_result({"1": ("2026-10-20", "2026-10-25")}), path, merge=True, now=LATER)
    state = D.open_destination(path).state()
    assert state.properties["1"].ranges == ((d("2026-10-20"), d("2026-10-25")), (d("2026-11-01"), d("2026-11-09")))
    assert state.properties["1"].refreshed_at == LATER
    assert state.properties["2"].ranges == ((d("2026-11-01"), d("2026-11-03")),)
    assert state.properties["2"].refreshed_at == NOW and state.written_at == LATER
    # A week pull of property 1 starts a new record: the state describes the latest grain.
    D.write_pull(pull_result({"1": ("2026-11-02", "2026-11-08")}, grain="week"), path, merge=True, now=LATER)
    assert D.open_destination(path).state().properties["1"].ranges == ((d("2026-11-02"), d("2026-11-08")),)
    assert D.open_destination(path).state().properties["1"].grain == "week"
    # Without merge the destination holds this pull only, and so does its state.
    D.write_pull(pull_result({"3": ("2026-11-04", "2026-11-04")}), path, now=LATER)
    assert set(D.open_destination(path).state().properties) == {"3"}


def test_a_state_that_does_not_describe_the_data_is_not_trusted(tmp_path):
    path = tmp_path / "g.csv"
    D.write_pull(pull_result({"1": ("2026-11-01", "2026-11-07")}), path, now=NOW)
    dest = D.open_destination(path)
    assert dest.state() is not None
    events = tmp_path / "g.events.csv"
    events.write_bytes(events.read_bytes() + b"\n")  # the data changed by hand (or by another tool)
    assert dest.state() is None
    D.write_pull(pull_result({"1": ("2026-11-01", "2026-11-07")}), path, now=NOW)
    (tmp_path / ".g.csv.ga4kit-state.json").write_text('{"ga4kit_state": 99}')  # from a newer ga4kit
    assert dest.state() is None
    (tmp_path / ".g.csv.ga4kit-state.json").write_text("{not json")
    assert dest.state() is None
    # A damaged state never stops a write; the merge starts a new record from its own pull.
    D.write_pull(pull_result({"1": ("2026-11-08", "2026-11-09")}), path, merge=True, now=LATER)
    assert dest.state().properties["1"].ranges == ((d("2026-11-08"), d("2026-11-09")),)


def test_a_failed_write_keeps_the_old_data_and_the_old_state(tmp_path, monkeypatch):
    from ga4kit.destinations.csv import CsvDestination

    path = tmp_path / "g.csv"
    D.write_pull(pull_result({"1": ("2026-11-01", "2026-11-07")}), path, merge=True, now=NOW)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    old = D.open_destination(path).state()

    def full_disk(self, tmp, frame):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CsvDestination, "write_table", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        D.write_pull(pull_result({"1": ("2026-11-05", "2026-11-09")}), path, merge=True, now=LATER)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert D.open_destination(path).state() == old


KILLER = textwrap.dedent("""
    import datetime as dt, os, signal, sys
    from frames_support import pull_result
    from ga4kit import atomic, destinations as D

    path, moment = sys.argv[1], sys.argv[2]
    real_replace = os.replace

    def replace(src, dst):
        # kill -9 just before the first file (data) or just before the state is moved into place
        if moment == "data" or str(dst).endswith(".ga4kit-state.json"):
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    atomic.os.replace = replace
    D.write_pull(pull_result({"1": ("2026-11-05", "2026-11-09")}, users=7), path, merge=True,
                 now=dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc))
""")


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("moment", ["data", "state"])
def test_kill_9_mid_write_leaves_old_state_with_old_data_or_no_trusted_state(tmp_path, moment):
    path = tmp_path / "g.xlsx"
    D.write_pull(pull_result({"1": ("2026-11-01", "2026-11-07")}), path, merge=True, now=NOW)
    old_state, old_data = D.open_destination(path).state(), path.read_bytes()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.run([sys.executable, "-c", KILLER, str(path), moment], env=env, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    state = D.open_destination(path).state()
    if moment == "data":  # killed before anything moved: the old data with its old state
        assert path.read_bytes() == old_data and state == old_state
    else:  # the data moved, the state did not: the old state no longer describes the data, so none is trusted
        assert path.read_bytes() != old_data and state is None
    # The next scheduled run (once the temporary files are stale) writes data and state that match again.
    D.write_pull(pull_result({"1": ("2026-11-08", "2026-11-08")}), path, merge=True, now=LATER)
    assert D.open_destination(path).state().properties["1"].last == d("2026-11-08")

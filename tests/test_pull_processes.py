"""`ga4kit pull` as real processes: concurrent merges into one file, a writer killed with SIGKILL, Ctrl-C
during an XLSX write. Each child is `python -m ga4kit` talking gRPC to the in-process emulator."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ga4kit import destinations
from pull_support import PAD, padding

TODAY = dt.date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]
SEG = "sessionDefaultChannelGroup"

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")


@pytest.fixture(scope="module")
def live():
    from ga4kit.emulator import Emulator

    with Emulator(days=30, users=400, seed=11, today=TODAY, properties=4) as emu:
        yield emu


def goals(tmp_path: Path, pid: str) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"'))
    return path


def ga4kit(emu, *args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ga4kit", "--emulator", emu.address, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env=dict(os.environ))


# ----------------------------------------------------------------------------------------- item 4

def test_concurrent_merges_into_one_file_keep_every_run(live, tmp_path):
    emu = live
    pids = emu.admin.property_ids()[:3]
    cfg = goals(tmp_path, pids[0])
    out = tmp_path / "all.csv"
    pad = padding(10_000)
    destinations.write_frames(out, pad)
    windows = [("2026-11-01", "2026-11-21"), ("2026-11-08", "2026-11-20"), ("2026-11-03", "2026-11-14")]
    for attempt in range(2):  # without the lock, a run lost its rows in the first attempt 4 times of 4
        procs = {pid: ga4kit(emu, "pull", "-c", cfg, "-p", pid, "--start", s, "--end", e, "-g", "day",
                             "-o", out, "--merge", "--json", cwd=tmp_path)
                 for pid, (s, e) in zip(pids, windows)}
        answers = {pid: p.communicate(timeout=300) for pid, p in procs.items()}
        for pid, p in procs.items():
            assert p.returncode == 0, answers[pid][1]
        events = pd.read_csv(tmp_path / "all.events.csv", dtype={"property": str})
        for pid, (s, e) in zip(pids, windows):
            pulled = json.loads(answers[pid][0])["data"]["rows"]["events"]
            mine = events[events["property"] == pid]
            assert len(mine) == pulled, f"attempt {attempt}: the rows of property {pid} were lost"
            assert mine["period"].min() >= s and mine["period"].max() <= e
        assert (events["property"] == PAD).sum() == len(pad["events"])
        assert not events.duplicated(["property", "period", SEG, "event"]).any()


# ----------------------------------------------------------------------------------------- items 7, 21

@pytest.fixture(scope="module")
def big_xlsx(tmp_path_factory) -> Path:
    from ga4kit.destinations.state import DestinationState

    path = tmp_path_factory.mktemp("big") / "big.xlsx"
    state = DestinationState().after_pull({PAD: (dt.date(2025, 1, 1), dt.date(2025, 4, 10))}, grain="day",
                                          segments=[SEG], merge=False,
                                          now=dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    destinations.open_destination(path).write(padding(5_000), state=state)
    return path


def state_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.ga4kit-state.json")


def temps(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def interrupt_mid_write(emu, path: Path, sig: int, cfg: Path) -> tuple[subprocess.Popen, int, int]:
    """Start a merge into ``path``, send ``sig`` once its temporary file exists (it is writing), and watch
    the temporary file until the child ends: returns the child, its size at the signal and its largest
    size after it."""
    child = ga4kit(emu, "pull", "-c", cfg, "--start", "2026-11-01", "--end", "2026-11-21", "-o", path,
                   "--merge", cwd=path.parent)
    deadline = time.monotonic() + 120
    while not temps(path):
        assert child.poll() is None, "the write finished before it could be interrupted: " + child.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.1)  # inside the write (which takes a second or more)
    at_signal = sum(p.stat().st_size for p in temps(path))
    child.send_signal(sig)
    largest = at_signal
    while child.poll() is None:
        try:
            largest = max(largest, sum(p.stat().st_size for p in temps(path)))
        except FileNotFoundError:
            pass
        time.sleep(0.002)
    return child, at_signal, largest


def test_ctrl_c_during_an_xlsx_write_stops_and_keeps_the_old_file(live, tmp_path, big_xlsx):
    emu = live
    path = tmp_path / "big.xlsx"
    shutil.copy(big_xlsx, path)
    before = path.read_bytes()
    child, at_signal, largest = interrupt_mid_write(emu, path, signal.SIGINT,
                                                    goals(tmp_path, emu.admin.property_ids()[0]))
    err = child.stderr.read()
    assert child.returncode == 130, err
    assert "Interrupted." in err
    # Ctrl-C acts at once: not one more byte is written (pandas' writer first saved the whole workbook).
    assert largest == at_signal
    assert path.read_bytes() == before
    assert temps(path) == []


def test_temp_file_of_a_killed_writer_is_removed_by_a_later_run(live, tmp_path, big_xlsx):
    emu = live
    pid = emu.admin.property_ids()[0]
    cfg = goals(tmp_path, pid)
    path = tmp_path / "big.xlsx"
    shutil.copy(big_xlsx, path)
    shutil.copy(state_path(big_xlsx), state_path(path))
    before = path.read_bytes()
    old_state = destinations.open_destination(path).state()
    assert set(old_state.properties) == {PAD}
    child, _, _ = interrupt_mid_write(emu, path, signal.SIGKILL, cfg)
    assert child.returncode == -signal.SIGKILL
    [left] = temps(path)  # kill -9 leaves the temporary file behind...
    assert path.read_bytes() == before  # ...but never a half-written output
    assert destinations.open_destination(path).state() == old_state  # and the state still matches it
    an_hour_ago = time.time() - 3600
    os.utime(left, (an_hour_ago, an_hour_ago))  # the next scheduled run comes along later
    live_tmp = path.with_name(f".{path.name}.zzzzzzzz.tmp")  # a concurrent run's, being written right now
    live_tmp.write_bytes(b"partial")
    other = path.with_name(f".{path.name}.notes.tmp")  # not ga4kit's naming
    other.write_bytes(b"keep")
    os.utime(other, (an_hour_ago, an_hour_ago))

    later = ga4kit(emu, "pull", "-c", cfg, "--start", "2026-11-01", "--end", "2026-11-21", "-o", path, "--merge",
                   cwd=tmp_path)
    _, err = later.communicate(timeout=300)
    assert later.returncode == 0, err
    assert not left.exists() and f"Removed {left}" in err
    assert live_tmp.exists() and other.exists()
    events = destinations.read_frames(path, ["events", "baseline"])["events"]
    assert set(events["property"].astype(str)) == {PAD, pid}
    state = destinations.open_destination(path).state()
    assert state.properties[PAD] == old_state.properties[PAD]
    assert state.properties[pid].ranges == ((dt.date(2026, 11, 1), dt.date(2026, 11, 21)),)

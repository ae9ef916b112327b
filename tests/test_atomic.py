"""ga4kit.atomic through the file destinations: a write replaces the old files whole or not at all (errors,
a full disk, Ctrl-C that Python swallows), keeps permission bits, and cleans up the temporary files of
killed runs, and only those."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from frames_support import bad_frame, chains_frame, goals_frame

from ga4kit import atomic
from ga4kit import destinations as D
from ga4kit.destinations.csv import CsvDestination
from ga4kit.errors import OutputError


def test_os_error_when_moving_into_place(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    D.write_frames(path, goals_frame())
    before = path.read_bytes()

    def deny(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", deny)
    with pytest.raises(OutputError, match="Permission denied") as exc:
        D.write_frames(path, chains_frame())
    assert "unchanged" in exc.value.hint
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_read_only_directory(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:  # root writes anywhere: make the permission check see what a user would
        real_access = os.access
        monkeypatch.setattr(atomic.os, "access", lambda p, mode: False if Path(p) == ro else real_access(p, mode))
    try:
        with pytest.raises(OutputError, match="no permission") as exc:
            D.write_frames(ro / "r.csv", chains_frame())
        assert "writable" in exc.value.hint or "permissions" in exc.value.hint
        with pytest.raises(OutputError, match="no permission"):
            atomic.write_text(ro / "r.html", "<p>")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_permission_bits_of_the_replaced_file_are_kept(tmp_path):
    path = tmp_path / "r.csv"
    D.write_frames(path, goals_frame())
    path.chmod(0o640)
    D.write_frames(path, chains_frame())
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("ext", ["csv", "json", "xlsx"])
def test_failed_write_leaves_old_file_intact(tmp_path, ext):
    path = tmp_path / f"r.{ext}"
    D.write_frames(path, {"a": goals_frame()})
    before = path.read_bytes()
    # For xlsx the first sheet is written before the second fails.
    frames = {"a": goals_frame(), "b": bad_frame()} if ext == "xlsx" else {"a": bad_frame()}
    with pytest.raises(OutputError, match="left unchanged"):
        D.write_frames(path, frames)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left behind


def test_multi_file_write_is_all_or_nothing(tmp_path):
    D.write_frames(tmp_path / "r.csv", {"a": goals_frame(), "b": goals_frame()})
    a_before = (tmp_path / "r.a.csv").read_bytes()
    with pytest.raises(OutputError):
        D.write_frames(tmp_path / "r.csv", {"a": chains_frame(), "b": bad_frame()})
    assert (tmp_path / "r.a.csv").read_bytes() == a_before  # "a" was fine but must not be replaced alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.a.csv", "r.b.csv"]


def test_writer_dying_halfway_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.csv"
    D.write_frames(path, goals_frame())
    before = path.read_bytes()

    def half(self, tmp, frame):  # the disk fills up after part of the file was written
        tmp.write_bytes(b"property,event\n123,purch")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(CsvDestination, "write_table", half)
    with pytest.raises(OutputError, match="No space left"):
        D.write_frames(path, chains_frame())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_write_text_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "page.html"
    assert atomic.write_text(path, "<p>old</p>") == path

    def io_error(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", io_error)
    with pytest.raises(OutputError, match="Input/output error"):
        atomic.write_text(path, "<p>new</p>")
    assert path.read_text() == "<p>old</p>" and [p.name for p in tmp_path.iterdir()] == ["page.html"]


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
    D.write_frames(path, {"events": goals_frame(), "baseline": goals_frame()}, note=notes.append)
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
    D.write_frames(path, {"a": goals_frame()})
    before = path.read_bytes()
    value = InterruptingValue() if ext == "csv" else InterruptingText("value")
    frame = pd.DataFrame({"property": ["1", "2"], "x": pd.Series([value, "ok"], dtype=object)})
    with pytest.raises(KeyboardInterrupt):
        D.write_frames(path, {"a": frame})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]

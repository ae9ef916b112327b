"""The cross-process lock (real processes) and money rounding."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from ga4kit.locking import FileLock, LockTimeout, destination_lock_path, property_lock_path
from ga4kit.money import minor_units, round_money, round_money_column


def test_a_second_process_waits_for_the_lock_and_a_killed_holder_frees_it(tmp_path):
    lock = tmp_path / "p.lock"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from ga4kit.locking import FileLock
        with FileLock({str(lock)!r}):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        waits = []
        with pytest.raises(LockTimeout):
            with FileLock(lock, timeout=0.3, on_wait=waits.append):
                pass
        assert len(waits) == 1 and "another ga4kit run" in waits[0].lower()
        holder.kill()  # kill -9: the OS drops the lock, no stale lock is left
        holder.wait()
        t0 = time.monotonic()
        with FileLock(lock, timeout=5):
            pass
        assert time.monotonic() - t0 < 2
    finally:
        if holder.poll() is None:
            holder.kill()


def test_lock_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("GA4KIT_LOCK_DIR", str(tmp_path / "locks"))
    assert property_lock_path("123") == tmp_path / "locks" / "property-123.lock"
    assert destination_lock_path(tmp_path / "out.csv") == tmp_path / ".out.csv.ga4kit.lock"
    assert destination_lock_path("sheets://abc/tab").parent == tmp_path / "locks"


def test_money_rounds_to_the_minor_unit():
    assert minor_units("EUR") == 2 and minor_units("jpy") == 0 and minor_units("KWD") == 3
    assert minor_units(None) == 2 and minor_units("XYZ") == 2
    assert round_money(11635.389999999994, "EUR") == 11635.39
    assert round_money(1234.6, "JPY") == 1235.0
    col = round_money_column(pd.Series([1.005001, 99.4, 2.12345]), pd.Series(["EUR", "JPY", "KWD"]))
    assert col.tolist() == [1.01, 99.0, 2.123]

"""`--shard I/N`: a deterministic share of the properties, stable as properties are added, from the option or
from Cloud Run's task index and count; two shards as real processes writing one destination keep each other's
rows, and together equal a full pull."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ga4kit import destinations as D
from ga4kit import shard as S
from ga4kit.errors import Ga4kitError
from pull_support import shop_goals

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 22)
PIDS = [str(400000001 + i) for i in range(200)]


def test_every_property_is_in_exactly_one_shard_and_shards_are_roughly_even():
    for n in (1, 2, 3, 4, 7):
        shares = [S.Shard(i, n).select(PIDS) for i in range(n)]
        assert sorted(p for share in shares for p in share) == sorted(PIDS)
        assert min(map(len, shares)) >= 0.6 * len(PIDS) / n  # a hash, so about even with many properties


def test_a_property_keeps_its_shard_when_properties_are_added_or_reordered():
    before = {p: S.shard_of(p, 4) for p in PIDS[:20]}
    more = list(reversed(PIDS[:20])) + ["123456789", "987654321"]
    after = {p: i for i in range(4) for p in S.Shard(i, 4).select(more)}
    assert all(after[p] == before[p] for p in before)
    assert S.shard_of("properties/400000001", 4) == S.shard_of("400000001", 4)


@pytest.mark.parametrize("text, message", [("1", "write I/N"), ("4/4", "out of range"), ("0/0", "at least one"),
                                           ("a/b", "write I/N"), ("-1/4", "write I/N")])
def test_bad_shards_say_what_to_write(text, message):
    with pytest.raises(Ga4kitError) as err:
        S.parse(text)
    assert message in str(err.value)


def test_cloud_run_task_index_and_count_shard_a_run_without_the_option():
    env = {S.TASK_INDEX: "2", S.TASK_COUNT: "3"}
    assert S.resolve(None, env) == S.Shard(2, 3)
    assert S.resolve("0/1", env) == S.Shard(0, 1)  # the option wins
    assert S.resolve(None, {S.TASK_INDEX: "0", S.TASK_COUNT: "1"}) is None
    assert S.resolve(None, {}) is None
    with pytest.raises(Ga4kitError, match=S.TASK_INDEX):
        S.resolve(None, {S.TASK_COUNT: "3"})


# ----------------------------------------------------------------------------------------- real processes

@pytest.fixture(scope="module")
def live():
    from ga4kit.emulator import Emulator

    with Emulator(days=21, users=200, seed=11, today=TODAY, properties=4) as emu:
        yield emu


goals = shop_goals


def ga4kit(emu, *args, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ga4kit", "--emulator", emu.address, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env={**os.environ, **(env or {})})


@pytest.mark.skipif(os.name == "nt", reason="POSIX processes")
def test_two_shards_as_processes_write_one_destination_and_together_equal_a_full_pull(live, tmp_path):
    from ga4kit.config import load
    from ga4kit.connect import make_clients
    from ga4kit.reporting.pull import pull

    emu = live
    pids = emu.admin.property_ids()[:4]
    assert {S.shard_of(p, 2) for p in pids} == {0, 1}, "the test needs properties in both shards"
    cfg = goals(tmp_path, pids)
    out = tmp_path / "all.csv"
    common = ["pull", "-c", cfg, "--incremental", "-g", "day", "--start", "2026-11-09", "--end", "2026-11-21",
              "-o", out, "--json"]
    first = ga4kit(emu, *common, "--shard", "0/2", cwd=tmp_path)
    second = ga4kit(emu, *common, cwd=tmp_path, env={S.TASK_INDEX: "1", S.TASK_COUNT: "2"})
    answers = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], [a[1] for a in answers]
    runs = [json.loads(a[0])["data"]["run"] for a in answers]
    assert [r["shard"] for r in runs] == ["0/2", "1/2"]
    assert sorted(runs[0]["ok"] + runs[1]["ok"]) == sorted(pids) and not set(runs[0]["ok"]) & set(runs[1]["ok"])
    assert all(r["of"] == 4 for r in runs)

    with make_clients(emulator=emu.address) as clients:
        full = pull(load(cfg), clients, start="2026-11-09", end="2026-11-21", grain="day", whole_periods=True)
    for name in ("events", "baseline"):
        got = pd.read_csv(tmp_path / f"all.{name}.csv", dtype=str, keep_default_na=False)
        keys = ["property", "period", "sessionDefaultChannelGroup"] + (["event"] if name == "events" else [])
        want = getattr(full, name)
        assert len(got) == len(want) and not got.duplicated(keys).any()
        assert sorted(got["property"].unique()) == sorted(pids)
    state = D.open_destination(out).state()
    assert sorted(state.properties) == sorted(pids)

    # A shard with no property of its own (more tasks than properties) has nothing to do: that is fine.
    empty = next(i for i in range(50) if not S.Shard(i, 50).select(pids))
    idle = ga4kit(emu, *common[:-1], "--shard", f"{empty}/50", cwd=tmp_path)
    stdout, stderr = idle.communicate(timeout=300)
    assert idle.returncode == 0, stderr
    assert stdout.strip() == (f"ga4kit pull: shard {empty}/50, 0 of 4 properties, no window (lookback 3), nothing "
                              f"written to {out}, 0 ok, 0 failed, quota 0 tokens used")

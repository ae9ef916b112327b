"""Every property's window comes from its own today, never from another property's: a New York and a Tokyo
property pulled together at one fixed moment, through the emulator, in either order."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from ga4kit.config import load_text
from ga4kit.config.model import PropertyRef
from ga4kit.connect import make_clients
from ga4kit.reporting import periods as P
from ga4kit.reporting.analysis import analyse
from ga4kit.reporting.pull import pull

# 03:00 UTC: already the 22nd in Tokyo (12:00), still the 21st in New York (22:00).
NOW = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.timezone.utc)
TOKYO_TODAY, NY_TODAY = dt.date(2026, 11, 22), dt.date(2026, 11, 21)
GOALS = """
version: 1
properties: [{id: "1"}]
goals:
  - {event: view_item, type: micro, kind: milestone}
  - {event: purchase, type: macro}
chains:
  - {name: buy, steps: [view_item, purchase]}
report: {segments: [sessionDefaultChannelGroup]}
"""


@pytest.fixture(scope="module")
def zones():
    from ga4kit.emulator import Emulator

    with Emulator(days=40, users=400, seed=3, today=dt.date(2026, 11, 23)) as emu:
        shop = emu.admin.property_ids()[0]
        account = emu.admin.account_ids()[0]
        ny = emu.admin.create_property(account, "New York", time_zone="America/New_York", currency="USD")
        tokyo = emu.admin.create_property(account, "Tokyo", time_zone="Asia/Tokyo", currency="JPY")
        for pid in (ny, tokyo):
            emu.store.append(pid, emu.store.frame(shop))
        with make_clients(emulator=emu.address) as clients:
            yield emu, ny, tokyo, clients


def config(*pids):
    cfg = load_text(GOALS)
    return dataclasses.replace(cfg, properties=tuple(PropertyRef(p) for p in pids))


def local_days(emu, pid, tz):
    df = emu.store.frame(pid)
    return pd.to_datetime(df["ts"], unit="us", utc=True).dt.tz_convert(tz).dt.date, df


@pytest.mark.parametrize("order", ["ny_first", "tokyo_first"])
def test_each_property_pulls_its_own_window(zones, order):
    emu, ny, tokyo, clients = zones
    pids = [ny, tokyo] if order == "ny_first" else [tokyo, ny]
    res = pull(config(*pids), clients, start="7daysAgo", end="yesterday", grain="day", now=NOW,
               compare_previous=True)
    assert res.errors == {}
    want = {tokyo: (TOKYO_TODAY - dt.timedelta(days=7), TOKYO_TODAY - dt.timedelta(days=1)),
            ny: (NY_TODAY - dt.timedelta(days=7), NY_TODAY - dt.timedelta(days=1))}
    assert res.windows() == want
    assert res.windows(previous=True) == {pid: P.previous(*w) for pid, w in want.items()}
    assert (res.start, res.end) == (want[ny][0], want[tokyo][1])  # the span of both, not the first's
    for pid, tz in ((ny, "America/New_York"), (tokyo, "Asia/Tokyo")):
        start, end = want[pid]
        rows = res.baseline[(res.baseline["property"] == pid) & (res.baseline["sessionDefaultChannelGroup"] == "(all)")]
        assert list(rows["period"]) == [str(start + dt.timedelta(days=i)) for i in range(7)]
        days, raw = local_days(emu, pid, tz)
        for _, row in rows.iterrows():
            day = dt.date.fromisoformat(row["period"])
            assert row["users"] == raw.loc[days == day, "user_id"].nunique()
        prev = res.previous_baseline[res.previous_baseline["property"] == pid]
        assert prev["period"].min() == str(P.previous(start, end)[0])
        assert prev["period"].max() == str(start - dt.timedelta(days=1))


def test_week_windows_differ_by_zone_and_stay_whole_weeks(zones):
    emu, ny, tokyo, clients = zones
    # Sunday the 22nd in Tokyo, Saturday the 21st in New York: "yesterday" ends a week only in Tokyo.
    res = pull(config(tokyo, ny), clients, start="13daysAgo", end="yesterday", grain="week", now=NOW,
               whole_periods=True)
    assert res.windows() == {tokyo: (dt.date(2026, 11, 9), dt.date(2026, 11, 21)),
                             ny: (dt.date(2026, 11, 2), dt.date(2026, 11, 20))}
    periods = res.events.groupby("property")["period"].agg(lambda s: sorted(set(s))).to_dict()
    assert periods[tokyo] == ["2026-11-09..2026-11-15", "2026-11-16..2026-11-21"]
    assert periods[ny] == ["2026-11-02..2026-11-08", "2026-11-09..2026-11-15", "2026-11-16..2026-11-20"]


def test_analysis_history_and_today_are_per_property(zones):
    emu, ny, tokyo, clients = zones
    a = analyse(config(tokyo, ny), clients, start="7daysAgo", end="yesterday", grain="range", now=NOW)
    assert a.today == {tokyo: TOKYO_TODAY, ny: NY_TODAY}
    for pid, today in a.today.items():
        end = today - dt.timedelta(days=1)
        start = end - dt.timedelta(days=6)
        hist = a.daily.baseline[(a.daily.baseline["property"] == pid)]
        assert (hist["period"].min(), hist["period"].max()) == (str(start - dt.timedelta(days=7)), str(end))
        assert a.daily.windows()[pid] == (start - dt.timedelta(days=7), end)
        assert a.pulled.windows()[pid] == (start, end)
    assert set(a.chains["property"]) == {tokyo, ny}

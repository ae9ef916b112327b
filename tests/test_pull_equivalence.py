"""The restructured pull returns the frames the pull before it returned (tests/legacy_pull.py, kept verbatim),
on the same emulator data: every grain, with and without segments, the previous period, whole periods,
several properties and currencies, paging.

Days and ranges keep the old row order exactly. Weeks and months used to be date ranges sent four at a time,
so their rows came chunk by chunk; they are now one report ordered by period, so those frames are compared
row for row after sorting by their keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib

import pandas as pd
import pytest

import legacy_pull
from ga4kit.config import load_text
from ga4kit.config.model import PropertyRef
from ga4kit.connect import make_clients
from ga4kit.reporting.pull import pull

pull_module = importlib.import_module("ga4kit.reporting.pull")  # the package exports the function

TODAY = dt.date(2026, 11, 22)
SEG = "sessionDefaultChannelGroup"
GOALS = """
version: 1
properties: [{id: "1"}]
goals:
  - {event: view_item, type: micro, kind: milestone}
  - {event: add_to_cart, type: micro, kind: milestone}
  - {event: begin_checkout, type: micro, kind: milestone}
  - {event: newsletter_signup, type: micro, kind: secondary}
  - {event: sign_up, type: micro, kind: milestone}
  - {event: purchase, type: macro}
report: {segments: [sessionDefaultChannelGroup, deviceCategory], range: {start: 28daysAgo, end: yesterday}}
"""


@pytest.fixture(scope="module")
def both():
    from ga4kit.emulator import Emulator

    with Emulator(days=80, users=500, seed=11, today=TODAY, properties=3) as emu:
        pids = emu.admin.property_ids()[:3]
        tokyo = emu.admin.create_property(emu.admin.account_ids()[0], "Tokyo", time_zone="Asia/Tokyo",
                                          currency="JPY")
        emu.store.append(tokyo, emu.store.frame(pids[0]))  # the shop's events, read in Tokyo's zone and yen
        cfg = load_text(GOALS)
        labels = [None, "SaaS label", None, "Tokyo label"]
        cfg = dataclasses.replace(cfg, properties=tuple(PropertyRef(p, label=lb) for p, lb in
                                                        zip([*pids, tokyo], labels)))
        with make_clients(emulator=emu.address) as clients:
            yield emu, cfg, clients


KEYS = ["property", "period", SEG, "deviceCategory"]


def _same(new: pd.DataFrame, old: pd.DataFrame, ordered: bool) -> None:
    assert list(new.columns) == list(old.columns)
    if not ordered:
        keys = [k for k in KEYS + ["event"] if k in new.columns]
        new = new.sort_values(keys, kind="stable").reset_index(drop=True)
        old = old.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(new, old)


@pytest.mark.parametrize("grain, start, end, compare, segments, whole", [
    ("range", None, None, False, None, False),
    ("range", "2026-10-01", "2026-11-21", True, None, False),
    ("range", None, None, True, (), False),
    ("day", "14daysAgo", "yesterday", False, None, False),
    ("day", "21daysAgo", "yesterday", True, (SEG,), False),
    ("week", "2026-09-16", "2026-11-21", False, None, False),
    ("week", "2026-10-14", "2026-11-18", True, (SEG,), False),
    ("week", "2026-10-14", "2026-11-18", False, (), True),
    ("month", "2026-09-10", "2026-11-21", True, None, False),
    ("month", "2026-09-10", "2026-11-10", False, (SEG,), True),
])
def test_new_pull_returns_the_old_frames(both, grain, start, end, compare, segments, whole):
    emu, cfg, clients = both
    kw = dict(start=start, end=end, grain=grain, compare_previous=compare, segments=segments, today=TODAY,
              whole_periods=whole)
    old = legacy_pull.pull(cfg, clients, **kw)
    new = pull(cfg, clients, **kw)
    assert new.errors == {} and old.errors == {}
    ordered = grain in ("day", "range")
    _same(new.events, old.events, ordered)
    _same(new.baseline, old.baseline, ordered)
    if compare:
        _same(new.previous_events, old.previous_events, ordered)
        _same(new.previous_baseline, old.previous_baseline, ordered)
    else:
        assert new.previous_events is None and old.previous_events is None
    assert len(new.events) > 0 and set(new.events["property"]) == set(new.metadata)
    for pid, meta in new.metadata.items():
        was = old.metadata[pid]
        mine = {k: v for k, v in meta.as_dict().items() if k not in ("api_calls", "quota")}
        assert mine == {k: v for k, v in was.as_dict().items() if k not in ("api_calls", "quota")}
        assert meta.api_calls == 2 and set(meta.quota) == set(was.quota)


def test_empty_pull_has_the_old_empty_frames(both):
    emu, cfg, clients = both
    kw = dict(start="2026-11-23", end="2026-11-25", grain="day", today=TODAY, compare_previous=True)
    old, new = legacy_pull.pull(cfg, clients, **kw), pull(cfg, clients, **kw)
    for name in ("events", "baseline", "previous_events", "previous_baseline"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name))


def test_paged_pull_matches_the_old_paged_pull(both, monkeypatch):
    emu, cfg, clients = both
    monkeypatch.setattr(pull_module, "PAGE", 40)
    monkeypatch.setattr(legacy_pull, "PAGE", 40)
    kw = dict(start="10daysAgo", end="yesterday", grain="day", today=TODAY, properties=[cfg.properties[0].id])
    emu.reset_calls()
    new = pull(cfg, clients, **kw)
    assert [c.method for c in emu.calls].count("RunReport") > 4
    old = legacy_pull.pull(cfg, clients, **kw)
    pd.testing.assert_frame_equal(new.events, old.events)
    pd.testing.assert_frame_equal(new.baseline, old.baseline)

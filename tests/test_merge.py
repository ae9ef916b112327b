"""ga4kit.merge through the destinations: merges replace rows with the same full key and the rows of each
re-pulled property's window, never duplicate or delete other rows, refuse tables with other key columns;
the keys and windows of a pull come from its PullResult."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from frames_support import KEYS, daily, goals_frame, periods, read_back

from ga4kit import destinations as D
from ga4kit import merge as M
from ga4kit.errors import OutputError
from ga4kit.reporting.pull import PropertyMeta, PullResult


@pytest.mark.parametrize("ext", ["csv", "xlsx", "json", "parquet", "ndjson"])
def test_merge_replaces_same_keys_and_window_never_duplicates(tmp_path, ext):
    path = tmp_path / f"sheet.{ext}"
    days = [f"2026-11-0{i}" for i in range(1, 6)]
    first = pd.concat([daily("111", days, 10), daily("222", days, 20),
                       daily("111", ["2026-11-05"], 99, events=("gone_event",))])
    D.write_frames(path, {"events": first}, merge_on=KEYS)
    assert len(read_back(path)) == 5 * 2 * 2 + 1

    # The scheduled job re-pulls the last 3 days of property 111 (late GA4 data), plus one new day.
    again = daily("111", ["2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06"], 11)
    for _ in range(2):  # a re-run of the same job changes nothing
        D.write_frames(path, {"events": again}, merge_on=KEYS, replace_window=("2026-11-03", "2026-11-06"))
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
    D.write_frames(path, daily("111", ["2026-11-01", "2026-11-02"], 10), merge_on=KEYS)
    D.write_frames(path, daily("111", ["2026-11-02", "2026-11-03"], 12), merge_on=KEYS,
                   replace_window=("2026-11-02", "2026-11-03"))
    once = path.read_bytes()
    D.write_frames(path, daily("111", ["2026-11-02", "2026-11-03"], 12), merge_on=KEYS,
                   replace_window=("2026-11-02", "2026-11-03"))
    assert path.read_bytes() == once
    df = read_back(path, "data")
    assert sorted(df["period"].unique()) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert df.set_index(["period", "event"])["users"].loc[("2026-11-02", "purchase")] == 12


def test_merge_without_window_keeps_other_rows(tmp_path):
    path = tmp_path / "s.csv"
    D.write_frames(path, daily("111", ["2026-11-01", "2026-11-02"], 10), merge_on=KEYS)
    D.write_frames(path, daily("111", ["2026-11-02"], 30, events=("purchase",)), merge_on=KEYS)
    df = read_back(path, "data")
    assert len(df) == 4 and not df.duplicated(KEYS).any()
    df = df.set_index(["period", "event"])["users"]
    assert df.to_dict() == {("2026-11-01", "purchase"): 10, ("2026-11-01", "view_item"): 10,
                            ("2026-11-02", "purchase"): 30, ("2026-11-02", "view_item"): 10}


def test_merge_keeps_the_other_sheets_of_a_workbook(tmp_path):
    path = tmp_path / "s.xlsx"
    D.write_frames(path, {"events": daily("1", ["2026-11-01"], 1), "notes": goals_frame()})
    D.write_frames(path, {"events": daily("1", ["2026-11-02"], 2)}, merge_on=KEYS)
    back = D.read_frames(path, ["events"])
    assert set(back) == {"events", "notes"} and len(back["events"]) == 4


def test_merge_needs_key_columns(tmp_path):
    with pytest.raises(OutputError, match="merge_on"):
        D.write_frames(tmp_path / "s.csv", goals_frame(), merge_on=["nope"])
    with pytest.raises(OutputError, match="merge_on"):
        D.write_frames(tmp_path / "s.csv", goals_frame(), replace_window=("2026-11-01", "2026-11-02"))


def test_merge_refuses_a_file_with_other_key_columns_and_keeps_it(tmp_path):
    path = tmp_path / "s.csv"
    days = [("2026-11-01", "2026-11-01"), ("2026-11-02", "2026-11-02")]
    D.write_frames(path, pd.concat([periods("1", days, 5, "Direct"), periods("1", days, 7, "Email")]),
                   merge_on=KEYS)
    before = path.read_bytes()
    with pytest.raises(OutputError, match="sessionDefaultChannelGroup") as exc:
        D.write_frames(path, periods("1", days[1:], 9, seg=None), merge_on=["property", "period", "event"],
                       replace_window=("2026-11-02", "2026-11-02"))
    assert "segments" in exc.value.hint
    assert path.read_bytes() == before
    with pytest.raises(OutputError, match="merge_on column"):  # a key the new rows lack is no longer dropped
        D.write_frames(path, periods("1", days, 9, seg=None), merge_on=KEYS)
    # New non-key columns are fine (a file from an older ga4kit gains property_name): old rows stay.
    D.write_frames(path, periods("1", days[1:], 9).assign(property_name="Shop"), merge_on=KEYS)
    df = read_back(path, "data").set_index(["period", "sessionDefaultChannelGroup"])
    assert len(df) == 4 and df.loc[("2026-11-02..2026-11-02", "Direct"), "users"] == 9
    assert df.loc[("2026-11-01..2026-11-01", "Email"), "users"] == 7


def test_window_replaces_every_period_it_overlaps_per_property(tmp_path):
    path = tmp_path / "w.csv"
    weeks = [("2026-11-02", "2026-11-08"), ("2026-11-09", "2026-11-15"), ("2026-11-16", "2026-11-21")]
    D.write_frames(path, pd.concat([periods("A", weeks, 1), periods("B", weeks, 2)]), merge_on=KEYS)
    # A re-pulled from the 13th (its week 09-15 overlaps), B only its last week; B's window is its own.
    new = pd.concat([periods("A", [("2026-11-13", "2026-11-15"), ("2026-11-16", "2026-11-21")], 10),
                     periods("B", [("2026-11-16", "2026-11-21")], 20)])
    D.write_frames(path, new, merge_on=KEYS, replace_window={"A": ("2026-11-13", "2026-11-21"),
                                                            "B": ("2026-11-16", "2026-11-21"),
                                                            "C": ("2026-11-01", "2026-11-30")})
    df = read_back(path, "data")
    got = {(p, per): u for p, per, u in zip(df["property"], df["period"], df["users"])}
    assert got == {("A", "2026-11-02..2026-11-08"): 1, ("A", "2026-11-13..2026-11-15"): 10,
                   ("A", "2026-11-16..2026-11-21"): 10, ("B", "2026-11-02..2026-11-08"): 2,
                   ("B", "2026-11-09..2026-11-15"): 2, ("B", "2026-11-16..2026-11-21"): 20}
    # A property re-pulled without any row (GA4 dropped them all) loses its stale rows in its window.
    D.write_frames(path, periods("A", [("2026-11-16", "2026-11-21")], 0).head(0), merge_on=KEYS,
                   replace_window={"A": ("2026-11-16", "2026-11-21")})
    assert ("A", "2026-11-16..2026-11-21") not in set(zip(*[read_back(path, "data")[c] for c in ("property",
                                                                                                "period")]))


def test_merging_no_rows_with_a_new_column_keeps_the_old_rows(tmp_path):
    path = tmp_path / "s.csv"
    D.write_frames(path, periods("1", [("2026-11-01", "2026-11-01")], 5), merge_on=KEYS)
    empty = periods("1", [("2026-11-01", "2026-11-01")], 5).assign(property_name="Shop").head(0)
    D.write_frames(path, empty, merge_on=KEYS, replace_window={"1": ("2026-11-05", "2026-11-06")})
    df = read_back(path, "data")
    assert df["users"].tolist() == [5] and "property_name" in df


# ----------------------------------------------------------------------------------------- pulls

def result(grain="day", windows=None, previous=None, segments=("sessionDefaultChannelGroup",)) -> PullResult:
    windows = windows or {"1": (dt.date(2026, 11, 2), dt.date(2026, 11, 8))}
    meta = {pid: PropertyMeta(pid, start=s, end=e) for pid, (s, e) in windows.items()}
    for pid, (s, e) in (previous or {}).items():
        meta[pid].previous_start, meta[pid].previous_end = s, e
    empty = pd.DataFrame()
    return PullResult(empty, empty, tuple(segments), grain, None, None, metadata=meta,
                      previous_events=empty if previous else None, previous_baseline=empty if previous else None)


def test_pull_merge_has_the_full_key_and_each_property_s_windows():
    wins = {"1": (dt.date(2026, 11, 2), dt.date(2026, 11, 8)), "2": (dt.date(2026, 11, 1), dt.date(2026, 11, 7))}
    prev = {"1": (dt.date(2026, 10, 26), dt.date(2026, 11, 1)), "2": (dt.date(2026, 10, 25), dt.date(2026, 10, 31))}
    spec = M.pull_merge(result(windows=wins, previous=prev, segments=("deviceCategory", "country")))
    assert spec.keys_for("events") == ["property", "period", "deviceCategory", "country", "event"]
    assert spec.keys_for("previous_baseline") == ["property", "period", "deviceCategory", "country"]
    assert spec.window_for("events") == wins and spec.window_for("baseline") == wins
    assert spec.window_for("previous_events") == prev and spec.window_for("previous_baseline") == prev
    assert set(M.pull_merge(result()).keys) == {"events", "baseline"}


def test_a_week_or_month_pull_that_was_not_widened_is_refused_for_a_merge(tmp_path):
    M.check_whole_periods(result("week", {"1": (dt.date(2026, 11, 2), dt.date(2026, 11, 11))}))  # a Monday
    M.check_whole_periods(result("day", {"1": (dt.date(2026, 11, 4), dt.date(2026, 11, 11))}))
    with pytest.raises(OutputError, match="middle of a week") as exc:
        M.check_whole_periods(result("week", {"1": (dt.date(2026, 11, 4), dt.date(2026, 11, 11))}))
    assert "whole_periods=True" in exc.value.hint
    with pytest.raises(OutputError, match="middle of a month"):
        D.write_pull(result("month", {"1": (dt.date(2026, 11, 4), dt.date(2026, 11, 30))}), tmp_path / "m.csv",
                     merge=True)
    assert not list(tmp_path.iterdir())


def test_check_pull_columns_refuses_other_segments():
    M.check_pull_columns({"events": M.pull_columns(["deviceCategory"], "events")}, ["deviceCategory"])
    with pytest.raises(OutputError, match="the events table of x.csv.*deviceCategory"):
        M.check_pull_columns({"events": M.pull_columns(["deviceCategory"], "events")}, [],
                             what=lambda n: f"the {n} table of x.csv")

"""Frames shared by the serialising, destination, atomic-write and merge tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ga4kit import destinations as D

KEYS = ["property", "period", "sessionDefaultChannelGroup", "event"]


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


class Explodes:
    """A cell value whose serialization fails, so a write breaks off in the middle."""

    def __str__(self):
        raise RuntimeError("boom")

    __repr__ = __str__


def bad_frame() -> pd.DataFrame:
    return pd.DataFrame({"property": ["1", "2", "3"], "x": pd.Series(["ok", "ok", Explodes()], dtype=object)})


def daily(prop: str, days: list[str], users: int, events=("purchase", "view_item")) -> pd.DataFrame:
    """Pulled-looking rows: one per day and event, over all traffic."""
    rows = [dict(property=prop, period=d, period_start=pd.Timestamp(d), sessionDefaultChannelGroup="(all)",
                 event=e, users=users, rate=users / 1000) for d in days for e in events]
    return pd.DataFrame(rows)


def periods(prop: str, spans: list[tuple[str, str]], users: int, seg: str | None = "Direct") -> pd.DataFrame:
    """Rows with period_start/period_end, one per span (a purchase), in segment ``seg`` (None: no column)."""
    rows = [dict(property=prop, period=f"{s}..{e}", period_start=pd.Timestamp(s), period_end=pd.Timestamp(e),
                 event="purchase", users=users) for s, e in spans]
    df = pd.DataFrame(rows)
    if seg is not None:
        df.insert(4, "sessionDefaultChannelGroup", seg)
    return df


def read_back(path, name="events") -> pd.DataFrame:
    df = D.read_frames(path, [name])[name]
    df["property"] = df["property"].astype(str)
    df["users"] = df["users"].astype(int)
    df["period_start"] = pd.to_datetime(df["period_start"])
    return df


def pull_result(windows: dict, *, users: int = 1, grain: str = "day",
                segments=("sessionDefaultChannelGroup",)):
    """A PullResult as ``pull`` returns it: one purchase row (and a baseline row) per property and day of
    its window ({property: ("YYYY-MM-DD", "YYYY-MM-DD")}), over all traffic."""
    import datetime as dt

    from ga4kit.reporting.pull import PropertyMeta, PullResult, baseline_columns, event_columns

    ev, base, meta = [], [], {}
    for pid, (start, end) in windows.items():
        s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        meta[pid] = PropertyMeta(pid, name="Shop", time_zone="Europe/Berlin", currency="EUR", start=s, end=e)
        for day in pd.date_range(s, e, freq="D"):
            common = dict(property=pid, property_name="Shop", period=day.strftime("%Y-%m-%d"), period_start=day,
                          period_end=day, **{seg: "(all)" for seg in segments})
            ev.append(dict(common, event="purchase", goal_type="macro", goal_kind="conversion", event_count=users,
                           users=users, value=1.5, currency="EUR", key_events=users))
            base.append(dict(common, users=users, sessions=users + 1))
    events = pd.DataFrame(ev, columns=event_columns(segments))
    baseline = pd.DataFrame(base, columns=baseline_columns(segments))
    first = next(iter(meta.values()))
    return PullResult(events, baseline, tuple(segments), grain, first.start, first.end, metadata=meta)

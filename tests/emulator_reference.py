"""Independent reference counts for the emulator's tests: plain pandas over the raw events, written from
GA4's definitions, never calling the emulator's engine (only its stored events are read)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pandas as pd


def raw_events(emu, pid: str) -> pd.DataFrame:
    """The property's events (derived ones included, late ones not yet arrived left out) as plain strings,
    with local ``day`` (date), ``date`` (YYYYMMDD) and ``hour`` in the property's time zone."""
    info = emu.admin.property_info(pid)
    f = emu.store.view(pid, info.rules)
    f = f.astype({c: str for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)})
    local = pd.to_datetime(f["ts"], unit="us", utc=True).dt.tz_convert(info.time_zone)
    return f.assign(day=local.dt.date, date=local.dt.strftime("%Y%m%d"), hour=local.dt.strftime("%H"))


def in_days(df: pd.DataFrame, start, end) -> pd.DataFrame:
    return df[(df["day"] >= start) & (df["day"] <= end)]


def session_key(df: pd.DataFrame) -> pd.Series:
    return df["user_id"] + "|" + df["session_id"].astype(str)


def engaged_sessions(df: pd.DataFrame, key_events) -> set[str]:
    """Sessions (user|session_id) GA4 counts as engaged: a session_engaged flag, more than 10 s of
    engagement time, 2+ page or screen views, or a key event."""
    d = df.assign(s=session_key(df), views=df["event_name"].isin(["page_view", "screen_view"]),
                  key=df["event_name"].isin(list(key_events)))
    per = d.groupby("s").agg(flag=("session_engaged", "max"), ms=("engagement_time_msec", "sum"),
                             views=("views", "sum"), key=("key", "any"))
    ok = (per["flag"] > 0) | (per["ms"] > 10_000) | (per["views"] >= 2) | per["key"]
    return set(per.index[ok])


def active_rows(df: pd.DataFrame, all_events: pd.DataFrame, key_events) -> pd.Series:
    """Events that make their user active: in an engaged session (judged on ``all_events``), first_visit /
    first_open, or carrying engagement time."""
    engaged = engaged_sessions(all_events, key_events)
    return (session_key(df).isin(engaged) | df["event_name"].isin(["first_visit", "first_open"])
            | (df["engagement_time_msec"] > 0))


def path_of(url: str) -> str:
    if not url:
        return "(not set)"
    return urlsplit(url).path or "/"


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "(not set)" if url else "(not set)"


def not_set(s: pd.Series) -> pd.Series:
    return s.where(s != "", "(not set)")


def distinct(df: pd.DataFrame, by, col: str) -> pd.Series:
    return df.groupby(by)[col].nunique()


def as_floats(s: pd.Series) -> dict:
    return {k: float(v) for k, v in s.items()}


"""The demo data generator: seeded, fast, and shaped like an online shop's GA4 traffic."""

from __future__ import annotations

import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ga4kit.emulator.admin_state import AdminState
from ga4kit.emulator.events import COLUMNS, EventStore
from ga4kit.emulator.generator import CHANNELS, PROFILES, generate_events, populate_demo
from ga4kit.emulator.importer import default_channel_group

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    f = generate_events(seed=11, days=90, users=5000, today=TODAY)
    local = pd.to_datetime(f["ts"], unit="us", utc=True).dt.tz_convert("Europe/Berlin")
    return f.assign(day=local.dt.date)


def test_seeded_and_shaped_like_the_contract(shop):
    again = generate_events(seed=11, days=90, users=5000, today=TODAY)
    for c in COLUMNS:  # (assert_frame_equal is slow on categoricals)
        x, y = shop[c], again[c]
        if isinstance(x.dtype, pd.CategoricalDtype):
            assert list(x.cat.categories) == list(y.cat.categories) and (x.cat.codes == y.cat.codes).all(), c
        else:
            assert (x.to_numpy() == y.to_numpy()).all(), c
    assert not generate_events(seed=12, days=90, users=5000, today=TODAY).equals(again)
    assert list(again.columns) == COLUMNS + ["param:payment_type"]
    assert again["ts"].dtype == np.int64 and again["session_id"].dtype == np.int64
    assert all(str(again[c].dtype) == "category" for c in ("event_name", "user_id", "channel_group", "country"))
    # days: the 90 days before today, ending yesterday
    assert shop["day"].min() == TODAY - timedelta(days=90) and shop["day"].max() == TODAY - timedelta(days=1)
    assert shop["user_id"].nunique() == 5000


def test_shop_events_pages_and_values(shop):
    names = set(shop["event_name"].astype(str))
    assert {"session_start", "first_visit", "page_view", "view_item", "add_to_cart", "begin_checkout", "purchase",
            "newsletter_signup", "scroll", "video_start", "video_complete", "file_download"} <= names
    pages = shop["page_location"].astype(str)
    for part in ("/pricing", "/products/", "/checkout", "/blog/"):
        assert pages.str.contains(part, regex=False).any(), part
    buys = shop[shop["event_name"] == "purchase"]
    assert (buys["value"] > 0).all() and set(buys["currency"].astype(str)) == {"EUR"}
    assert set(shop.loc[shop["event_name"] == "page_view", "value"]) == {0.0}
    assert set(shop["device_category"].astype(str)) == {"desktop", "mobile", "tablet"}


def test_sessions_are_consistent_and_milestones_in_order(shop):
    key = ["user_id", "session_id"]
    per_session = shop.groupby(key, observed=True)
    for col in ("channel_group", "source", "medium"):
        assert (per_session[col].nunique() == 1).all()  # session scoped
    starts = shop[shop["event_name"] == "session_start"]
    assert not starts.duplicated(key).any() and len(starts) == per_session.ngroups
    first_visits = shop[shop["event_name"] == "first_visit"]
    assert first_visits["user_id"].is_unique and len(first_visits) == 5000
    # within a session, each milestone's first event comes after the previous one's
    order = ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    firsts = (shop[shop["event_name"].isin(order)].groupby(key + ["event_name"], observed=True)["ts"].min()
              .unstack("event_name"))
    for a_, b_ in zip(order, order[1:]):
        both = firsts[[a_, b_]].dropna()
        assert len(both) and (both[a_] < both[b_]).all()
        assert firsts[b_].notna().sum() <= firsts[a_].notna().sum()  # drop-off along the path


def test_channels_convert_differently_and_weekends_are_quieter(shop):
    users = shop.groupby("channel_group", observed=True)["user_id"].nunique()
    buyers = shop[shop["event_name"] == "purchase"].groupby("channel_group", observed=True)["user_id"].nunique()
    rate = (buyers.reindex(users.index).fillna(0) / users)
    assert set(users.index) == set(CHANNELS)
    assert rate["Organic Search"] > 0.05 and rate["Paid Search"] > 0.05
    assert rate["Organic Social"] < rate["Organic Search"] / 4
    starts = shop[shop["event_name"] == "session_start"]
    per_day = starts.groupby(starts["day"]).size()
    wk = pd.Series(per_day.index).map(lambda d: d.weekday() >= 5).to_numpy()
    assert per_day[wk].mean() < 0.85 * per_day[~wk].mean()


def test_generator_source_medium_match_default_channel_grouping(shop):
    pairs = shop[["source", "medium", "channel_group"]].astype(str).drop_duplicates()
    for s, m, ch in pairs.itertuples(index=False):
        assert default_channel_group(s, m) == ch, (s, m)


def test_broken_event_stops_from_date():
    since = TODAY - timedelta(days=10)
    f = generate_events(seed=3, days=30, users=2000, today=TODAY, broken={"video_complete": since})
    tz = ZoneInfo("Europe/Berlin")
    local = pd.to_datetime(f["ts"], unit="us", utc=True).dt.tz_convert(tz).dt.date
    vc = local[f["event_name"] == "video_complete"]
    assert len(vc) and vc.max() < since
    assert local[f["event_name"] == "video_start"].max() >= since


def test_populate_demo_default_is_fast_and_has_the_shop():
    admin, store = AdminState(), EventStore()
    t = time.perf_counter()
    ids = populate_demo(admin, store, today=TODAY)
    elapsed = time.perf_counter() - t
    assert elapsed < 2.0, elapsed
    info = admin.property_info(ids[0])
    assert (info.time_zone, info.currency, info.service_level) == ("Europe/Berlin", "EUR", "STANDARD")
    assert admin.get_property(ids[0])["display_name"] == "Demo Shop"
    assert info.stream_ids and info.key_events == {"purchase": "ONCE_PER_EVENT"}
    assert store.frame(ids[0])["user_id"].nunique() == 5000


def test_populate_demo_agency_properties():
    admin, store = AdminState(), EventStore()
    ids = populate_demo(admin, store, today=TODAY, properties=12, users=800, days=30)
    assert len(ids) == len(set(ids)) == 12
    infos = [admin.property_info(p) for p in ids]
    assert len({i.currency for i in infos}) >= 4 and len({i.time_zone for i in infos}) >= 4
    assert "PREMIUM" in {i.service_level for i in infos}
    names = {p: set(store.frame(p)["event_name"].astype(str)) for p in ids}
    assert any({"sign_up", "start_trial", "generate_lead", "request_demo"} <= n for n in names.values())  # SaaS
    assert any("form_submit" in n for n in names.values())  # lead gen
    saas = next(p for p in ids if "sign_up" in names[p])
    assert store.frame(saas)["page_location"].astype(str).str.endswith("/pricing").any()
    # the broken-tracking property stops recording add_to_cart 10 days before today
    broken = next(p for p, i in zip(ids, infos) if "broken" in admin.get_property(p)["display_name"])
    f = store.frame(broken)
    last_cart = f.loc[f["event_name"] == "add_to_cart", "ts"].max()
    assert last_cart < f["ts"].max() - 8 * 86400 * 10**6
    assert sorted(PROFILES) == ["content", "leadgen", "saas", "shop"]

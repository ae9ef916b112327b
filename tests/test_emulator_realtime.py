"""runRealtimeReport through Google's real v1beta client over gRPC: the last 30 minutes (60 on 360), minute
ranges, minutesAgo, the realtime schema, its own quota. The emulator's clock is fixed for the test and the
expected numbers are counted from the events with plain Python (activeUsers: GA4's active users, their
sessions judged on all their events, emulator_reference.active_rows)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
from google.analytics import data_v1beta as d
from google.api_core import exceptions as gexc

from ga4kit.emulator import Emulator
from emulator_data_support import clients, table
from emulator_reference import active_rows

NOW = datetime(2026, 11, 22, 14, 37, 25, tzinfo=timezone.utc)
MINUTE_US = 60_000_000


def _events(seed: int, n: int = 900) -> pd.DataFrame:
    """Events from 70 minutes ago to 2 minutes in the future."""
    rng = np.random.default_rng(seed)
    now_us = int(NOW.timestamp() * 1_000_000)
    users = rng.integers(0, 120, n)
    return pd.DataFrame({
        "ts": now_us - rng.integers(-2 * MINUTE_US, 70 * MINUTE_US, n),
        "event_name": rng.choice(["page_view", "scroll", "add_to_cart", "purchase"], n, p=[.6, .2, .15, .05]),
        "user_id": [f"u{u}" for u in users],
        "session_id": users * 10,
        "country": rng.choice(["Germany", "France", "Japan"], n),
        "device_category": rng.choice(["desktop", "mobile"], n),
        "page_location": "https://shop.example.com/",
    })


@pytest.fixture(scope="module")
def emu():
    e = Emulator(demo=False)
    acc = e.admin.create_account("Realtime")
    e.pid = e.admin.create_property(acc, "Live shop", time_zone="Europe/Berlin", currency="EUR")
    e.pid360 = e.admin.create_property(acc, "Live 360", service_level="PREMIUM")
    e.store.append(e.pid, _events(1))
    e.store.append(e.pid360, _events(2))
    e.data.clock = lambda: NOW
    e.start()
    e.beta, _ = clients(e)
    yield e
    e.stop(grace=None)


def _minutes_ago(emu, pid) -> pd.DataFrame:
    f = emu.store.frame(pid)
    f = f.astype({c: str for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)})
    now_minute = int(NOW.timestamp() * 1_000_000) // MINUTE_US
    return f.assign(ago=now_minute - f["ts"] // MINUTE_US,
                    active=active_rows(f, f, emu.admin.property_info(pid).key_events))


def _rt(emu, dims, mets, pid=None, **kw):
    return emu.beta.run_realtime_report(d.RunRealtimeReportRequest(
        property=f"properties/{pid or emu.pid}", dimensions=[d.Dimension(name=n) for n in dims],
        metrics=[d.Metric(name=n) for n in mets], **kw))


def test_active_users_by_country_in_the_last_30_minutes(emu):
    """Mirrors run_realtime_report (and runRealtimeReport)."""
    f = _minutes_ago(emu, emu.pid)
    recent = f[(f.ago >= 0) & (f.ago <= 29)]
    resp = _rt(emu, ["country"], ["activeUsers"])
    exp = recent[recent.active].groupby("country")["user_id"].nunique().astype(float).to_dict()
    assert table(resp).set_index("country")["activeUsers"].to_dict() == exp
    assert resp.kind == "analyticsData#runRealtimeReport" and resp.row_count == len(exp) == 3
    assert not recent.active.all()  # some recent users are not active
    assert len(f[f.ago < 0]) and len(f[f.ago > 29])  # the data has older and future events left out


def test_multiple_metrics(emu):
    """Mirrors run_realtime_report_with_multiple_metrics (eventName for unifiedScreenName, which needs page
    titles the events lack)."""
    emu.admin.create_key_event(emu.pid, "add_to_cart", "ONCE_PER_EVENT")
    f = _minutes_ago(emu, emu.pid)
    recent = f[(f.ago >= 0) & (f.ago <= 29)]
    got = table(_rt(emu, ["eventName"], ["screenPageViews", "keyEvents", "eventCount"])).set_index("eventName")
    for ev, g in recent.groupby("event_name"):
        assert got.loc[ev, "screenPageViews"] == (len(g) if ev == "page_view" else 0)
        assert got.loc[ev, "keyEvents"] == (len(g) if ev in ("add_to_cart", "purchase") else 0)
        assert got.loc[ev, "eventCount"] == len(g)


def test_minute_ranges_and_minutes_ago(emu):
    f = _minutes_ago(emu, emu.pid)
    resp = _rt(emu, ["minutesAgo"], ["eventCount"], minute_ranges=[
        d.MinuteRange(start_minutes_ago=5, end_minutes_ago=0, name="last5"),
        d.MinuteRange(start_minutes_ago=29, end_minutes_ago=25)])
    assert [h.name for h in resp.dimension_headers] == ["minutesAgo", "dateRange"]
    got = {(r.dimension_values[0].value, r.dimension_values[1].value): float(r.metric_values[0].value)
           for r in resp.rows}
    exp = {}
    for name, lo, hi in (("last5", 0, 5), ("date_range_1", 25, 29)):
        part = f[(f.ago >= lo) & (f.ago <= hi)]
        exp.update({(f"{m:02d}", name): float(n) for m, n in part.groupby("ago").size().items()})
    assert got == exp
    # totals and a dimension filter, as in core reports
    resp = _rt(emu, [], ["activeUsers"], metric_aggregations=[d.MetricAggregation.TOTAL],
               dimension_filter=d.FilterExpression(filter=d.Filter(
                   field_name="country", string_filter=d.Filter.StringFilter(value="Japan"))))
    recent = f[(f.ago >= 0) & (f.ago <= 29) & (f.country == "Japan") & f.active]
    assert float(resp.totals[0].metric_values[0].value) == recent["user_id"].nunique()


def test_360_properties_reach_back_an_hour(emu):
    f = _minutes_ago(emu, emu.pid360)
    resp = _rt(emu, [], ["eventCount"], pid=emu.pid360, minute_ranges=[d.MinuteRange(start_minutes_ago=59)])
    assert float(resp.rows[0].metric_values[0].value) == len(f[(f.ago >= 0) & (f.ago <= 59)])
    with pytest.raises(gexc.InvalidArgument, match="last 30 minutes"):
        _rt(emu, [], ["eventCount"], minute_ranges=[d.MinuteRange(start_minutes_ago=59)])


def test_realtime_schema_and_rules(emu):
    with pytest.raises(gexc.InvalidArgument, match="Field date is not a valid dimension for realtime reports"):
        _rt(emu, ["date"], ["activeUsers"])
    with pytest.raises(gexc.InvalidArgument, match="Field sessions is not a valid metric for realtime reports"):
        _rt(emu, ["country"], ["sessions"])
    with pytest.raises(gexc.InvalidArgument, match="limited to 2 minuteRanges"):
        _rt(emu, [], ["eventCount"], minute_ranges=[d.MinuteRange()] * 3)
    with pytest.raises(gexc.InvalidArgument, match="startMinutesAgo 3 is after endMinutesAgo 10"):
        _rt(emu, [], ["eventCount"], minute_ranges=[d.MinuteRange(start_minutes_ago=3, end_minutes_ago=10)])
    with pytest.raises(gexc.InvalidArgument, match="limit must be positive"):
        _rt(emu, ["country"], ["eventCount"], limit=-1)
    # realtime names the event model does not carry are valid GA4 names: UNIMPLEMENTED, not INVALID_ARGUMENT
    with pytest.raises(gexc.MethodNotImplemented, match="realtime dimension unifiedScreenName"):
        _rt(emu, ["unifiedScreenName"], ["eventCount"])


def test_realtime_dimensions_of_the_event_model(emu):
    """city, platform and countryId come from the event columns, as in core reports."""
    f = _minutes_ago(emu, emu.pid)
    recent = f[(f.ago >= 0) & (f.ago <= 29)]
    got = table(_rt(emu, ["city", "platform", "countryId"], ["eventCount"]))
    assert len(got) == 3 and set(got["city"]) == {"(not set)"} and set(got["platform"]) == {"web"}
    assert dict(zip(got["countryId"], got["eventCount"])) == \
        {{"Germany": "DE", "France": "FR", "Japan": "JP"}[c]: float(n) for c, n in recent.groupby("country").size().items()}


def test_realtime_quota_is_its_own(emu):
    before = emu.quota.status(emu.pid)["tokens_per_hour"][1]
    resp = _rt(emu, ["country"], ["activeUsers"], return_property_quota=True)
    assert resp.property_quota.tokens_per_hour.consumed >= 1
    assert emu.quota.status(emu.pid)["tokens_per_hour"][1] == before  # core reporting quota untouched
    again = _rt(emu, ["country"], ["activeUsers"], return_property_quota=True)
    assert again.property_quota.tokens_per_hour.remaining < resp.property_quota.tokens_per_hour.remaining

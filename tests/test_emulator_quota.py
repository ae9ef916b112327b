"""The emulator's quotas: the Data API's property tokens and concurrency (QuotaLedger), on their own and
through Google's Data client, and the Admin API's opt-in per-minute limits (AdminQuota)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import grpc
import pytest
from google.analytics import admin_v1beta
from google.analytics import data_v1beta as d
from google.analytics.admin_v1beta.services.analytics_admin_service.transports import (
    AnalyticsAdminServiceGrpcTransport,
)
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport
from google.api_core import exceptions as gexc

from ga4kit.emulator import Emulator
from ga4kit.emulator.errors import EmulatorError
from ga4kit.emulator.quota import QuotaLedger, QuotaLimits, report_cost

TODAY = date(2026, 11, 22)


def _raw_admin(address):
    channel = grpc.insecure_channel(address)
    return admin_v1beta.AnalyticsAdminServiceClient(transport=AnalyticsAdminServiceGrpcTransport(channel=channel))


def _small_emulator(**kwargs) -> Emulator:
    emu = Emulator(demo=False, **kwargs)
    emu.test_property = emu.admin.create_property(emu.admin.create_account("A"), "P")
    return emu


def _run(emu, dims, mets, **kw):
    req = d.RunReportRequest(property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=n) for n in dims],
                             metrics=[d.Metric(name=n) for n in mets],
                             date_ranges=[d.DateRange(start_date="28daysAgo", end_date="yesterday")], **kw)
    return emu.beta.run_report(req)


# ---- the quota ledger on its own ---------------------------------------------------------------

def test_quota_ledger_windows_levels_and_errors():
    now = [datetime(2026, 11, 22, 5, 30, tzinfo=timezone.utc).timestamp()]  # 21:30 in Los Angeles
    q = QuotaLedger(limits={"tokens_per_day": 100, "tokens_per_hour": 60}, clock=lambda: now[0])
    q.charge("1", 55)
    q.check("1")
    q.charge("1", 10)
    with pytest.raises(EmulatorError, match="tokens per hour") as e:
        q.check("1")
    assert e.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    q.check("2")  # per property
    now[0] += 3601  # next hour, but still the same Pacific day
    q.charge("1", 40)
    with pytest.raises(EmulatorError, match="tokens per day"):
        q.check("1")
    now[0] += 2 * 3600  # past Pacific midnight: a new day
    q.check("1")
    assert q.status("1")["tokens_per_day"] == (0, 100)
    # 360 properties: 10x tokens, 50 concurrent requests
    assert q.limits_for("PREMIUM").tokens_per_day == 2_000_000 and QuotaLimits.premium().concurrent_requests == 50
    assert q.status("9", "PREMIUM")["concurrent_requests"] == (0, 50)
    for _ in range(10):
        q.record_server_error("3")
    with pytest.raises(EmulatorError, match="server errors per project per hour"):
        q.check("3")
    assert report_cost(1_000_000, 6_368, 3, 2) == 1 + 10 + 1 + 0
    with q.acquire("4"):
        assert q.status("4")["concurrent_requests"][1] == 9


# ---- Data API quotas on small limits, through Google's client ---------------------------------------

@pytest.fixture(scope="module")
def small():
    e = Emulator(today=TODAY, days=14, users=200, seed=3,
                 quota=QuotaLedger(limits={"tokens_per_hour": 12}))
    e.start()
    e.pid = e.demo_property_ids[0]
    channel = grpc.insecure_channel(e.address)
    e.beta = d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=channel))
    yield e
    e.stop(grace=None)


def test_token_quota_exhaustion(small):
    seen = []
    with pytest.raises(gexc.ResourceExhausted, match="Exhausted property tokens per hour quota"):
        for _ in range(20):
            seen.append(_run(small, ["eventName"], ["eventCount"], return_property_quota=True)
                        .property_quota.tokens_per_hour.remaining)
    assert seen == sorted(seen, reverse=True) and seen[-1] < 12
    small.quota.reset()


def test_concurrency_limit(small):
    small.quota.reset()
    small.data.processing_delay_ms = 1000
    results, lock = [], threading.Lock()

    def call():
        try:
            _run(small, ["eventName"], ["eventCount"])
            out = "ok"
        except gexc.ResourceExhausted as exc:
            out = str(exc)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=call) for _ in range(11)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        small.data.processing_delay_ms = 0
    assert results.count("ok") == 10
    assert "Exhausted concurrent requests quota" in [r for r in results if r != "ok"][0]
    small.quota.reset()
    assert _run(small, ["eventName"], ["eventCount"]).row_count > 0


# ---- Admin API quotas (opt-in) ------------------------------------------------------------------
def test_admin_quota_is_off_by_default_and_enforced_when_asked(emulator):
    assert emulator.admin_quota is None
    now = [1000.0]
    with _small_emulator(admin_quota={"writes_per_user_per_minute": 3, "requests_per_minute": 8}) as emu:
        emu.admin_quota.clock = lambda: now[0]
        client = _raw_admin(emu.address)
        parent = f"properties/{emu.test_property}"

        def create(name, who="owner@ga4kit.local"):
            return client.create_key_event(parent=parent, key_event=admin_v1beta.KeyEvent(
                event_name=name, counting_method="ONCE_PER_EVENT"), metadata=[("x-ga4kit-principal", who)])

        for i in range(3):
            create(f"goal_{i}")
        with pytest.raises(gexc.ResourceExhausted, match="Write requests per minute per user"):
            create("goal_3")
        create("goal_3", who="colleague@example.com")  # another user has their own write quota
        client.get_property(name=parent)  # reads still pass
        now[0] += 61  # the window slides
        create("goal_4")
        for _ in range(7):  # 8 requests in this minute
            client.get_property(name=parent)
        with pytest.raises(gexc.ResourceExhausted, match="Requests per minute"):
            client.get_property(name=parent)
        assert [c.code for c in emu.calls].count("RESOURCE_EXHAUSTED") == 2
        client.transport.close()


def test_admin_requests_per_user_are_limited_apart_from_the_project():
    now = [1000.0]
    with _small_emulator(admin_quota={"requests_per_user_per_minute": 4, "requests_per_minute": 6}) as emu:
        emu.admin_quota.clock = lambda: now[0]
        client = _raw_admin(emu.address)
        parent = f"properties/{emu.test_property}"

        def read(who="owner@ga4kit.local"):
            return client.get_property(name=parent, metadata=[("x-ga4kit-principal", who)])

        for _ in range(4):
            read()
        with pytest.raises(gexc.ResourceExhausted, match="Requests per minute per user"):
            read()
        read("colleague@example.com")  # another user of the same project has their own share
        read("colleague@example.com")
        with pytest.raises(gexc.ResourceExhausted, match="'Requests per minute'"):  # the project's 6 are used
            read("third@example.com")
        now[0] += 61
        read()
        client.transport.close()


def test_admin_quota_refuses_unknown_limits():
    with pytest.raises(ValueError, match="writes_per_hour"):
        Emulator(demo=False, admin_quota={"writes_per_hour": 1})

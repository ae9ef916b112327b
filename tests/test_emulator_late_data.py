"""Late data: with ``late_data`` on, events keep arriving for up to 72 hours after they happen, deterministic
from a seed and the emulator's clock (which the test sets and advances). Checked through Google's real
client: what a pull sees only grows, old days are complete, and a full pull after three days equals an
independent count of the stored events, as does an incremental pull that re-reads a lookback window."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import grpc
import pandas as pd
import pytest
from google.analytics import data_v1beta as d
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from ga4kit.emulator import Emulator
from emulator_reference import raw_events

TODAY = date(2026, 11, 22)
MIDNIGHT = datetime(2026, 11, 21, 23, 0, tzinfo=timezone.utc)  # 00:00 of TODAY in Berlin


def _emulator(seed: int = 42, late=True):
    emu = Emulator(today=TODAY, days=10, users=500, seed=3, late_data={"seed": seed} if late else None,
                   now=MIDNIGHT if late else None)
    emu.start()
    emu.client = d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(
        channel=grpc.insecure_channel(emu.address)))
    emu.pid = emu.demo_property_ids[0]
    return emu


@pytest.fixture(scope="module")
def emu():
    e = _emulator()
    yield e
    e.stop(grace=None)


def _daily(emu, start="10daysAgo", end="yesterday") -> dict[str, float]:
    resp = emu.client.run_report(d.RunReportRequest(
        property=f"properties/{emu.pid}", dimensions=[d.Dimension(name="date")],
        metrics=[d.Metric(name="eventCount")], date_ranges=[d.DateRange(start_date=start, end_date=end)]))
    return {r.dimension_values[0].value: float(r.metric_values[0].value) for r in resp.rows}


def _stored_daily(emu) -> dict[str, float]:
    """Every stored event per Berlin day, counted from the store's frame (late or not)."""
    f = emu.store.frame(emu.pid)
    days = pd.to_datetime(f["ts"], unit="us", utc=True).dt.tz_convert("Europe/Berlin").dt.strftime("%Y%m%d")
    return {k: float(v) for k, v in days.value_counts().items()}


def test_events_keep_arriving_and_a_full_pull_after_three_days_is_complete(emu):
    emu.set_now(MIDNIGHT)
    stored = _stored_daily(emu)
    first = _daily(emu)
    old = [k for k in stored if k < (TODAY - timedelta(days=4)).strftime("%Y%m%d")]
    recent = [(TODAY - timedelta(days=i)).strftime("%Y%m%d") for i in (1, 2)]
    assert all(first[k] == stored[k] for k in old)  # arrived long ago
    assert all(first.get(k, 0) < stored[k] for k in recent)  # still arriving
    assert first[recent[0]] > 0.3 * stored[recent[0]]  # most arrive within hours
    previous = first
    for _ in range(6):  # pulls every 12 hours; the data of the same days only grows
        emu.advance(hours=12)
        now = _daily(emu, start="2026-11-12", end="2026-11-21")
        assert all(now.get(k, 0) >= v for k, v in previous.items())
        previous = now
    assert previous == {k: v for k, v in stored.items() if "20261112" <= k <= "20261121"}
    assert emu.now == MIDNIGHT + timedelta(hours=72)


def test_an_incremental_pull_with_a_lookback_window_converges(emu):
    emu.set_now(MIDNIGHT)
    kept: dict[str, float] = {}
    for _ in range(8):  # every 12 h re-read the last 3 days, keep older days as pulled
        kept.update(_daily(emu, start="2026-11-12", end="2026-11-21") if not kept else
                    _daily(emu, start="2026-11-18", end="2026-11-21"))
        emu.advance(hours=12)
    full = _daily(emu, start="2026-11-12", end="2026-11-21")
    assert kept == full
    # and the full pull equals an independent count of what has arrived (every stored event by now)
    raw = raw_events(emu, emu.pid)
    assert full == {k: float(v) for k, v in raw.groupby("date").size().items() if "20261112" <= k <= "20261121"}


def test_arrival_is_deterministic_from_the_seed():
    a, b, c = _emulator(seed=7), _emulator(seed=7), _emulator(seed=8)
    try:
        for e in (a, b, c):
            e.set_now(MIDNIGHT + timedelta(hours=5))
        assert _daily(a) == _daily(b)
        assert _daily(a) != _daily(c)
    finally:
        for e in (a, b, c):
            e.stop(grace=None)


def test_late_data_is_off_by_default():
    e = _emulator(late=False)
    try:
        assert e.store.late_data is None
        assert _daily(e) == {k: v for k, v in _stored_daily(e).items()
                             if k >= (TODAY - timedelta(days=10)).strftime("%Y%m%d")}
    finally:
        e.stop(grace=None)


def test_the_default_clock_keeps_a_fixed_today_in_every_time_zone():
    """Without ``now`` the clock starts at noon UTC of ``today``: still that date in New York and Tokyo
    (midnight UTC made it the day before west of Greenwich)."""
    e = Emulator(demo=False, today=TODAY, late_data=True)
    account = e.admin.create_account("Zones")
    for zone in ("America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC"):
        pid = e.admin.create_property(account, zone, time_zone=zone)
        assert e.today_for(pid) == TODAY, zone
    assert e.now == datetime(2026, 11, 22, 12, tzinfo=timezone.utc)

"""Answers over gRPC's default 4 MiB: a day-grain year of 50 goals is pulled whole, and an answer that is
still too large is named as such (not as an exhausted GA4 quota)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import grpc
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from google.analytics import admin_v1beta
from google.analytics.admin_v1beta.services.analytics_admin_service.transports import (
    AnalyticsAdminServiceGrpcTransport,
)
from google.api_core import exceptions as gexc

from ga4kit import api_errors, connect, errors
from ga4kit.cli import cli

TODAY = date(2026, 3, 1)
DAYS = 365
GOALS = 50
CHANNELS = ("Organic Search", "Paid Search")
FOUR_MIB = 4 * 1024 * 1024


def _goal_names() -> list[str]:
    # 40 characters, GA4's longest event name: long rows make the answer pass 4 MiB with fewer of them.
    return [f"goal_{i:02d}_" + "x" * 32 for i in range(GOALS - 1)] + ["purchase"]


@pytest.fixture(scope="module")
def big():
    """An emulator whose one property has every goal on every day of a year, in two channels."""
    from ga4kit.emulator import Emulator

    emu = Emulator(demo=False, today=TODAY)
    account = emu.admin.create_account("Big")
    pid = emu.admin.create_property(account, "Big Shop", time_zone="UTC", currency="EUR")
    first = TODAY - timedelta(days=DAYS)
    noon = int(datetime(first.year, first.month, first.day, 12, tzinfo=timezone.utc).timestamp()) * 1_000_000
    names = _goal_names()
    day, goal, channel = (a.ravel() for a in np.meshgrid(np.arange(DAYS), np.arange(GOALS),
                                                           np.arange(len(CHANNELS)), indexing="ij"))
    emu.store.append(pid, pd.DataFrame({
        "ts": noon + day * 86_400_000_000 + goal * 1_000_000 + channel,
        "event_name": np.array(names)[goal], "user_id": [f"u{c}.{g}" for c, g in zip(channel, goal)],
        "session_id": np.arange(len(day)), "channel_group": np.array(CHANNELS)[channel],
    }))
    emu.start()
    try:
        yield emu, pid
    finally:
        emu.stop(grace=None)


def _goals_file(tmp_path, pid: str) -> str:
    names = _goal_names()
    text = f'version: 1\nproperties: [{{id: "{pid}", service_level: "360"}}]\ngoals:\n'
    text += "".join(f"  - {{event: {n}, type: micro, kind: milestone}}\n" for n in names[:-1])
    text += "  - {event: purchase, type: macro}\n"
    text += (f"report: {{segments: [sessionDefaultChannelGroup], grain: day, range: "
             f"{{start: {TODAY - timedelta(days=DAYS)}, end: {TODAY - timedelta(days=1)}}}}}\n")
    path = tmp_path / "goals.yaml"
    path.write_text(text)
    return str(path)


def test_a_day_grain_year_of_50_goals_is_pulled_whole(big, tmp_path):
    emu, pid = big
    out = tmp_path / "year.csv"
    res = CliRunner().invoke(cli, ["--emulator", emu.address, "pull", "-c", _goals_file(tmp_path, pid),
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    events = pd.read_csv(tmp_path / "year.events.csv")
    # every goal on every day, per channel and over all traffic ("(all)")
    assert len(events) == DAYS * GOALS * (len(CHANNELS) + 1)
    assert set(events["event"]) == set(_goal_names())
    assert events["event_count"].sum() == DAYS * GOALS * len(CHANNELS) * 2  # channels + "(all)"


def test_that_answer_is_over_grpcs_default_limit(big):
    """The premise of the test above: pull's batch (events by day, event and channel, and over all
    traffic) is over 4 MiB, and Google's client on a default gRPC channel fails on it."""
    from google.analytics import data_v1beta
    from google.analytics.data_v1beta.services.beta_analytics_data.transports import (
        BetaAnalyticsDataGrpcTransport,
    )

    from ga4kit.connect import make_clients

    emu, pid = big

    def report(*dims):
        return data_v1beta.RunReportRequest(
            property=f"properties/{pid}", limit=250_000,
            dimensions=[data_v1beta.Dimension(name=n) for n in ("date", "eventName", *dims)],
            metrics=[data_v1beta.Metric(name=m) for m in ("eventCount", "totalUsers", "eventValue", "keyEvents")],
            date_ranges=[data_v1beta.DateRange(start_date=str(TODAY - timedelta(days=DAYS)), end_date="yesterday")])

    batch = data_v1beta.BatchRunReportsRequest(property=f"properties/{pid}",
                                               requests=[report("sessionDefaultChannelGroup"), report()])
    default = grpc.insecure_channel(emu.address)  # no options: gRPC's 4 MiB
    raw = data_v1beta.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=default))
    with pytest.raises(gexc.ResourceExhausted, match="larger than max"):
        raw.batch_run_reports(request=batch)
    default.close()
    with make_clients(emulator=emu.address) as clients:  # ga4kit's channels take it
        answer = clients.data.batch_run_reports(request=batch)
    assert [r.row_count for r in answer.reports] == [DAYS * GOALS * len(CHANNELS), DAYS * GOALS]
    assert type(answer).pb(answer).ByteSize() > FOUR_MIB


def _tiny_admin(address: str, limit: int):
    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", limit)])
    return admin_v1beta.AnalyticsAdminServiceClient(transport=AnalyticsAdminServiceGrpcTransport(channel=channel))


def test_translate_names_a_response_over_the_receive_limit(big):
    emu, pid = big
    client = _tiny_admin(emu.address, 16)  # a real gRPC error: the answer is larger than 16 bytes
    with pytest.raises(gexc.ResourceExhausted) as info:
        client.get_property(name=f"properties/{pid}")
    client.transport.close()
    err = api_errors.translate(info.value, method="get_property")
    assert isinstance(err, errors.ResponseTooLargeError) and not isinstance(err, errors.QuotaExhaustedError)
    assert err.status == "RESPONSE_TOO_LARGE"
    assert "the response is too large" in err.message
    assert re.search(r"answer is \d+ bytes, more than the 16 bytes this client accepts", err.message)
    for advice in ("shorter date range", "coarser grain", "fewer segments", "not a GA4 quota"):
        assert advice in err.hint
    # GA4's own RESOURCE_EXHAUSTED is still a quota
    quota = api_errors.translate(gexc.ResourceExhausted("Exhausted property tokens per day quota."))
    assert isinstance(quota, errors.QuotaExhaustedError) and "midnight Pacific" in quota.hint


def test_pull_says_the_response_is_too_large_when_it_still_is(big, tmp_path, monkeypatch):
    emu, pid = big
    monkeypatch.setattr(connect, "CHANNEL_OPTIONS", (("grpc.max_receive_message_length", 1024 * 1024),))
    res = CliRunner().invoke(cli, ["--emulator", emu.address, "pull", "-c", _goals_file(tmp_path, pid),
                                   "-o", str(tmp_path / "year.csv")])
    assert res.exit_code != 0
    assert "the response is too large" in res.output and "shorter date range" in res.output
    assert "quota is exhausted" not in res.output
    assert not list(tmp_path.glob("year*.csv"))

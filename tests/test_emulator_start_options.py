"""`ga4kit emulator start --events-time-zone TZ` and `--late-data`, run as real processes (the command serves
until a signal), checked through Google's real Data API client against independent counts: the file's own
timestamps in the given zone, and an in-process emulator built with the same options."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import grpc
import pandas as pd
import pytest
from click.testing import CliRunner
from google.analytics import data_v1beta as d
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from ga4kit.cli import cli
from ga4kit.emulator import Emulator
from ga4kit.emulator.generator import generate_events
from ga4kit.emulator.importer import write_events

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TODAY = date(2026, 11, 22)


@contextmanager
def _serving(*args):
    """``ga4kit emulator start ARGS`` in a process: yields (address, stdout lines up to "Use it with",
    a dict the caller fills), then stops it with SIGTERM and stores its stderr under "stderr"."""
    proc = subprocess.Popen([sys.executable, "-m", "ga4kit", "emulator", "start", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO))
    result: dict = {}
    try:
        lines = []
        while not lines or not lines[-1].startswith("Use it with"):
            line = proc.stdout.readline()
            if not line:
                raise AssertionError("the emulator did not start: " + proc.stderr.read())
            lines.append(line)
        address = re.fullmatch(r"GA4KIT_EMULATOR_HOST=(\S+)\n", lines[0]).group(1)
        yield address, lines, result
        proc.send_signal(signal.SIGTERM)
        _, result["stderr"] = proc.communicate(timeout=30)
        assert proc.returncode == 0, result["stderr"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _client(address):
    return d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=grpc.insecure_channel(address)))


def _daily(client, pid, start, end) -> tuple[dict[str, float], str]:
    resp = client.run_report(d.RunReportRequest(
        property=f"properties/{pid}", dimensions=[d.Dimension(name="date")], metrics=[d.Metric(name="eventCount")],
        date_ranges=[d.DateRange(start_date=start, end_date=end)], limit=100_000))
    return {r.dimension_values[0].value: float(r.metric_values[0].value) for r in resp.rows}, resp.metadata.time_zone


def _first_property(client, address) -> str:
    from google.analytics import admin_v1beta
    from google.analytics.admin_v1beta.services.analytics_admin_service.transports import (
        AnalyticsAdminServiceGrpcTransport)

    admin = admin_v1beta.AnalyticsAdminServiceClient(
        transport=AnalyticsAdminServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    return list(admin.list_account_summaries())[0].property_summaries[0].property.split("/")[1]


def test_events_time_zone_sets_the_days_and_warnings_are_printed(tmp_path):
    frame = generate_events(seed=5, days=7, users=150, today=TODAY, time_zone="Asia/Tokyo")
    path = write_events(frame, tmp_path / "tokyo.ndjson", time_zone="Asia/Tokyo")  # event_date in Tokyo
    with _serving("--no-demo", "--today", str(TODAY), "--events-file", str(path),
                  "--events-time-zone", "Europe/Berlin") as (address, lines, result):
        client = _client(address)
        got, zone = _daily(client, _first_property(client, address), "2026-11-01", "2026-11-30")
    # The days are Berlin days of the file's timestamps, as asked, not the file's (Tokyo) event_date.
    berlin = pd.to_datetime(frame["ts"], unit="us", utc=True).dt.tz_convert("Europe/Berlin").dt.strftime("%Y%m%d")
    assert zone == "Europe/Berlin" and got == {k: float(v) for k, v in Counter(berlin).items()}
    warnings = [w for w in result["stderr"].splitlines() if "event_date disagrees" in w]
    assert len(warnings) == 1 and warnings[0].startswith("Warning: ")  # once, as our line
    assert "event_date disagrees with event_timestamp in Europe/Berlin" in warnings[0]
    assert "Traceback" not in result["stderr"]


def test_a_matching_events_time_zone_prints_no_warning(tmp_path):
    frame = generate_events(seed=5, days=3, users=60, today=TODAY, time_zone="Asia/Tokyo")
    path = write_events(frame, tmp_path / "tokyo.ndjson", time_zone="Asia/Tokyo")
    with _serving("--no-demo", "--today", str(TODAY), "--events-file", str(path),
                  "--events-time-zone", "Asia/Tokyo") as (address, _, result):
        client = _client(address)
        assert _daily(client, _first_property(client, address), "2026-11-01", "2026-11-30")[1] == "Asia/Tokyo"
    assert "Warning" not in result["stderr"]


@pytest.mark.parametrize("args,fragment", [
    (["--events-file", "events.ndjson", "--events-time-zone", "Mars/Olympus"], "is not an IANA time zone"),
    (["--events-time-zone", "Europe/Berlin"], "give the file too"),
])
def test_bad_events_time_zone_options(args, fragment):
    result = CliRunner().invoke(cli, ["emulator", "start", "--no-demo", *args])
    assert result.exit_code == 1
    assert result.output.count("Error:") == 1 and fragment in result.output and "Traceback" not in result.output


def test_late_data_serves_what_has_arrived_by_the_clock():
    args = dict(today=TODAY, days=10, users=300, seed=42)
    with _serving("--today", str(TODAY), "--days", "10", "--users", "300", "--seed", "42",
                  "--late-data") as (address, lines, _):
        client = _client(address)
        served, _ = _daily(client, _first_property(client, address), "10daysAgo", "yesterday")
    noon = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    assert any(line.startswith("Late data:") and "2026-11-22 12:00 UTC" in line for line in lines), lines
    # The same demo in-process: with late data at the same clock it must match; without, the last days have more.
    with Emulator(late_data=True, now=noon, **args) as late, Emulator(**args) as full:
        exp_late, _ = _daily(_client(late.address), late.demo_property_ids[0], "10daysAgo", "yesterday")
        exp_full, _ = _daily(_client(full.address), full.demo_property_ids[0], "10daysAgo", "yesterday")
    assert served == exp_late
    yesterday, old = (TODAY - timedelta(days=1)).strftime("%Y%m%d"), (TODAY - timedelta(days=8)).strftime("%Y%m%d")
    assert 0 < served[yesterday] < exp_full[yesterday] and served[old] == exp_full[old]


def test_late_data_is_explained_in_help():
    out = CliRunner().invoke(cli, ["emulator", "start", "--help"]).output
    assert "--late-data" in out and "72 hours" in out and "--events-time-zone" in out

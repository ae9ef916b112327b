"""GA4's privacy and size limits, modelled deterministically and checked through Google's real clients over
gRPC against pandas counts: thresholding while Google signals is on (switched on through the Admin API),
the "(other)" row beyond a day's row limit, and ga4kit's own pull noticing both in real responses.
Funnel sampling: test_emulator_funnel_methods.py."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import grpc
import pandas as pd
import pytest
from google.analytics import admin_v1alpha
from google.analytics import data_v1beta as d
from google.analytics.admin_v1alpha.services.analytics_admin_service.transports import (
    AnalyticsAdminServiceGrpcTransport,
)
from google.protobuf import field_mask_pb2

from ga4kit.emulator import Emulator
from emulator_data_support import between, clients, raw_events, table
from emulator_reference import path_of

TODAY = date(2026, 11, 22)
START, END = TODAY - timedelta(days=14), TODAY - timedelta(days=1)
THRESHOLD, ROWS = 40, 14  # the generated data: 19 to 469 users per event; 12 event names and 17 to 19 pages a day


@pytest.fixture(scope="module")
def emu():
    e = Emulator(today=TODAY, days=20, users=600, seed=61, data_limits={"threshold_users": THRESHOLD})
    e.pid = e.demo_property_ids[0]
    acc = e.admin.property_info(e.pid).account_id
    e.pid360 = e.admin.create_property(acc, "Shop 360", time_zone="Europe/Berlin", currency="EUR",
                                       service_level="PREMIUM")
    e.store.append(e.pid360, e.store.frame(e.pid))
    e.start()
    e.beta, _ = clients(e)
    e.raw = between(raw_events(e, e.pid), START, END)
    yield e
    e.stop(grace=None)


def _signals(emu, pid, state):
    admin = admin_v1alpha.AnalyticsAdminServiceClient(
        transport=AnalyticsAdminServiceGrpcTransport(channel=grpc.insecure_channel(emu.address)))
    admin.update_google_signals_settings(request=admin_v1alpha.UpdateGoogleSignalsSettingsRequest(
        google_signals_settings=admin_v1alpha.GoogleSignalsSettings(
            name=f"properties/{pid}/googleSignalsSettings", state=state),
        update_mask=field_mask_pb2.FieldMask(paths=["state"])))


def _report(emu, dims, mets, pid=None, **kw):
    return emu.beta.run_report(d.RunReportRequest(
        property=f"properties/{pid or emu.pid}", dimensions=[d.Dimension(name=n) for n in dims],
        metrics=[d.Metric(name=n) for n in mets],
        date_ranges=[d.DateRange(start_date=str(START), end_date=str(END))], **kw))


def _paths(df):
    return df["page_location"].map(path_of)


@pytest.fixture
def small_tables(emu, monkeypatch):
    """Daily tables of ROWS rows (1,000 on 360), set on the running emulator."""
    monkeypatch.setattr(emu.data, "limits", dataclasses.replace(emu.data.limits, other_row_rows=ROWS,
                                                                other_row_rows_360=1000))


@pytest.fixture
def signals_on(emu):
    _signals(emu, emu.pid, admin_v1alpha.GoogleSignalsState.GOOGLE_SIGNALS_ENABLED)
    yield
    _signals(emu, emu.pid, admin_v1alpha.GoogleSignalsState.GOOGLE_SIGNALS_DISABLED)


def test_data_limits_refuse_unknown_names():
    with pytest.raises(ValueError, match="unknown data limits: threshold"):
        Emulator(demo=False, data_limits={"threshold": 10})


def test_no_thresholding_without_google_signals(emu):
    resp = _report(emu, ["eventName"], ["eventCount"])
    assert resp.metadata.subject_to_thresholding is False
    assert set(table(resp)["eventName"]) == set(emu.raw["event_name"])


def test_rows_under_the_user_threshold_are_withheld(emu, signals_on):
    raw = emu.raw
    users = raw.groupby("event_name")["user_id"].nunique()
    counts = raw.groupby("event_name").size()
    assert (users < THRESHOLD).any() and (users >= THRESHOLD).any()
    resp = _report(emu, ["eventName"], ["eventCount"], metric_aggregations=[d.MetricAggregation.TOTAL])
    assert resp.metadata.subject_to_thresholding is True
    assert [h.name for h in resp.metric_headers] == ["eventCount"]  # the user count decides, unseen
    got = table(resp).set_index("eventName")["eventCount"].to_dict()
    assert got == {ev: float(counts[ev]) for ev in users.index if users[ev] >= THRESHOLD}
    assert float(resp.totals[0].metric_values[0].value) == len(raw)  # totals still count withheld rows
    assert resp.row_count == len(got)


def test_pivot_reports_are_thresholded_too(emu, signals_on):
    resp = emu.beta.run_pivot_report(d.RunPivotReportRequest(
        property=f"properties/{emu.pid}", dimensions=[d.Dimension(name="deviceCategory"),
                                                      d.Dimension(name="eventName")],
        metrics=[d.Metric(name="totalUsers")], date_ranges=[d.DateRange(start_date=str(START), end_date=str(END))],
        pivots=[d.Pivot(field_names=["deviceCategory"], limit=5), d.Pivot(field_names=["eventName"], limit=20)]))
    assert resp.metadata.subject_to_thresholding is True
    cells = emu.raw.groupby(["device_category", "event_name"])["user_id"].nunique()
    got = {(r.dimension_values[0].value, r.dimension_values[1].value): float(r.metric_values[0].value)
           for r in resp.rows}
    assert got == {k: float(v) for k, v in cells.items() if v >= THRESHOLD}


def _folded(raw, dims, limit):
    """The events with "(other)" in ``dims`` where a day has more than ``limit`` combinations: per day,
    combinations ranked by events (ties: labels ascending), those past the limit folded."""
    raw = raw.copy()
    counts = raw.groupby(["day"] + dims).size().rename("n").reset_index()
    counts = counts.sort_values(["day", "n"] + dims, ascending=[True, False] + [True] * len(dims), kind="stable")
    counts["rank"] = counts.groupby("day").cumcount()
    folded = counts[counts["rank"] >= limit][["day"] + dims].assign(fold=True)
    raw = raw.merge(folded, on=["day"] + dims, how="left")
    raw.loc[raw["fold"].fillna(False).astype(bool), dims] = "(other)"
    return raw


def test_the_other_row_beyond_a_days_row_limit(emu, small_tables):
    raw = emu.raw.assign(pagePath=_paths(emu.raw))
    assert raw.groupby("day")["pagePath"].nunique().max() > ROWS
    resp = _report(emu, ["pagePath"], ["eventCount", "totalUsers"])
    assert resp.metadata.data_loss_from_other_row is True
    ref = _folded(raw, ["pagePath"], ROWS)
    exp = ref.groupby("pagePath").agg(eventCount=("ts", "size"), totalUsers=("user_id", "nunique"))
    got = table(resp).set_index("pagePath").sort_index()
    assert got.to_dict() == exp.astype(float).sort_index().to_dict()
    assert "(other)" in got.index and len(got) > ROWS  # ROWS a day, different ones on different days
    # per day, with the date: at most ROWS + 1 rows a day
    daily = table(_report(emu, ["date", "pagePath"], ["eventCount"]))
    assert daily.groupby("date").size().max() == ROWS + 1


def test_no_other_row_when_the_limit_is_not_reached(emu, small_tables):
    resp = _report(emu, ["eventName"], ["eventCount"])
    assert resp.metadata.data_loss_from_other_row is False and "(other)" not in set(table(resp)["eventName"])
    big = _report(emu, ["pagePath"], ["eventCount"], pid=emu.pid360)  # 360 tables are larger
    assert big.metadata.data_loss_from_other_row is False
    assert set(table(big)["pagePath"]) == set(_paths(emu.raw))


def test_ga4kit_pull_sees_thresholding_and_the_other_row(emu, signals_on, small_tables):
    from ga4kit.config import load_text
    from ga4kit.connect import make_clients
    from ga4kit.reporting import pull

    cfg = load_text("""
version: 1
properties: [{id: "1", label: Shop}]
goals:
  - {event: view_item, type: micro, kind: milestone}
  - {event: purchase, type: macro}
report: {segments: [pagePath], range: {start: 14daysAgo, end: yesterday}}
""")
    cfg = dataclasses.replace(cfg, properties=(dataclasses.replace(cfg.properties[0], id=emu.pid),))
    ga = make_clients(emulator=emu.address)
    try:
        res = pull(cfg, ga, today=TODAY)
    finally:
        ga.close()
    meta = res.metadata[emu.pid]
    assert meta.subject_to_thresholding and meta.data_loss_from_other_row and not meta.sampled
    assert isinstance(res.events, pd.DataFrame)

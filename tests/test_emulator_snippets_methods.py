"""Google's published Data API snippets for the pivot, cohort, realtime, funnel and filter methods
(googleapis/python-analytics-data samples/snippets, googleanalytics/python-docs-samples), sent as the
snippets build them through Google's real clients to the emulator, numbers checked against plain pandas /
Python counts of the same events. The requests are our own code, not the snippets'.

The requests use the snippets' own dimensions (browser, city, platform, firstUserMedium) on a generated
shop with an Android / iOS app; the one substitution left (SUBSTITUTE) is unifiedScreenName -> eventName,
because the event model has no screen names (app events carry no firebase_screen). The snippets' fixed
2021 dates become dates of the generated data, and the metric filter's threshold fits its size.
activeUsers counts GA4's active users (emulator_reference.active_rows). runReport_cohort.py is not
mirrored: it passes cohorts_spec/cohorts_range, which are not fields of RunReportRequest, so Google's
client refuses it before any call.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from google.analytics import data_v1alpha as a
from google.analytics import data_v1beta as d

from ga4kit.emulator import Emulator
from ga4kit.emulator.generator import generate_events
from emulator_data_support import between, clients, raw_events, sessions, table
from emulator_reference import active_rows, not_set

TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 9, 15, 40, tzinfo=timezone.utc)
SUBSTITUTE = {"unifiedScreenName": "eventName"}
COLUMN = {"country": "country", "eventName": "event_name", "deviceCategory": "device_category",
          "browser": "browser", "city": "city", "platform": "platform", "firstUserMedium": "first_medium"}


def dim(name: str) -> str:
    return SUBSTITUTE.get(name, name)


@pytest.fixture(scope="module")
def emu():
    e = Emulator(demo=False, today=TODAY)
    account = e.admin.create_account("Snippets")
    e.pid = e.admin.create_property(account, "Shop with apps", time_zone="Europe/Berlin", currency="EUR")
    e.store.replace(e.pid, generate_events(seed=71, days=45, users=1200, today=TODAY, apps=0.4))
    # A property with events in the last hour, for the realtime snippets.
    e.live = e.admin.create_property(account, "Live", time_zone="UTC")
    rng = np.random.default_rng(3)
    n = 600
    now_us = int(NOW.timestamp() * 1_000_000)
    user = rng.integers(0, 90, n)
    e.store.append(e.live, pd.DataFrame({
        "ts": now_us - rng.integers(0, 45 * 60_000_000, n), "user_id": [f"u{u}" for u in user],
        "session_id": user, "event_name": rng.choice(["page_view", "purchase", "scroll"], n),
        "country": rng.choice(["Germany", "Spain"], n), "device_category": rng.choice(["mobile", "desktop"], n),
        "city": rng.choice(["Berlin", "Madrid", "Munich"], n), "platform": rng.choice(["web", "Android"], n)}))
    e.data.clock = lambda: NOW
    e.start()
    e.beta, e.alpha = clients(e)
    raw = raw_events(e, e.pid)
    for col in COLUMN.values():
        raw[col] = not_set(raw[col])
    e.raw = raw.assign(active=active_rows(raw, raw, e.admin.property_info(e.pid).key_events))
    yield e
    e.stop(grace=None)


def test_run_pivot_report(emu):
    """run_pivot_report.py: sessions by country (limit 250, by country), pivoted by browser (offset 3,
    limit 3, by sessions descending)."""
    start, end = date(2026, 10, 1), date(2026, 10, 30)
    resp = emu.beta.run_pivot_report(d.RunPivotReportRequest(
        property=f"properties/{emu.pid}",
        date_ranges=[d.DateRange(start_date=str(start), end_date=str(end))],
        pivots=[d.Pivot(field_names=["country"], limit=250,
                        order_bys=[d.OrderBy(dimension=d.OrderBy.DimensionOrderBy(dimension_name="country"))]),
                d.Pivot(field_names=[dim("browser")], offset=3, limit=3,
                        order_bys=[d.OrderBy(metric=d.OrderBy.MetricOrderBy(metric_name="sessions"), desc=True)])],
        metrics=[d.Metric(name="sessions")],
        dimensions=[d.Dimension(name="country"), d.Dimension(name=dim("browser"))]))
    raw = between(emu.raw, start, end)
    col = COLUMN[dim("browser")]
    per_col = {k: sessions(g) for k, g in raw.groupby(col)}
    shown = sorted(per_col, key=lambda k: (-per_col[k], k))[3:6]
    cells = {k: sessions(g) for k, g in raw.groupby(["country", col])}
    exp = [(c, b, str(cells[(c, b)])) for c in sorted(raw.country.unique()) for b in shown if (c, b) in cells]
    assert [tuple(v.value for v in r.dimension_values) + (r.metric_values[0].value,) for r in resp.rows] == exp


def test_run_report_with_cohorts(emu):
    """run_report_with_cohorts.py: one weekly cohort (a Sunday-to-Saturday week), offsets 0 to 4,
    cohortActiveUsers and cohortRetentionRate = cohortActiveUsers/cohortTotalUsers."""
    start, end = date(2026, 10, 4), date(2026, 10, 10)
    resp = emu.beta.run_report(d.RunReportRequest(
        property=f"properties/{emu.pid}",
        dimensions=[d.Dimension(name="cohort"), d.Dimension(name="cohortNthWeek")],
        metrics=[d.Metric(name="cohortActiveUsers"),
                 d.Metric(name="cohortRetentionRate", expression="cohortActiveUsers/cohortTotalUsers")],
        cohort_spec=d.CohortSpec(
            cohorts=[d.Cohort(dimension="firstSessionDate", name="cohort",
                              date_range=d.DateRange(start_date=str(start), end_date=str(end)))],
            cohorts_range=d.CohortsRange(start_offset=0, end_offset=4, granularity=d.CohortsRange.Granularity.WEEKLY))))
    raw = emu.raw
    # firstSessionDate: the day of the user's first_visit / first_open
    first = raw[raw.event_name.isin(["first_visit", "first_open"])].groupby("user_id")["day"].min()
    members = set(first[(first >= start) & (first <= end)].index)
    span = raw[raw.user_id.isin(members) & (raw.day <= end + timedelta(days=28)) & raw.active]
    week = span["day"].map(lambda x: x.toordinal() // 7) - span["user_id"].map(first).map(lambda x: x.toordinal() // 7)
    active = span.assign(week=week).groupby("week")["user_id"].nunique()
    got = table(resp)
    assert list(got["cohortNthWeek"]) == [f"{w:04d}" for w in active.index]
    assert list(got["cohortActiveUsers"]) == list(active.astype(float))
    assert np.allclose(got["cohortRetentionRate"], active.to_numpy() / len(members))


def _recent(emu, minutes=29):
    f = raw_events(emu, emu.live)
    f = f.assign(active=active_rows(f, f, emu.admin.property_info(emu.live).key_events))
    ago = int(NOW.timestamp() * 1e6) // 60_000_000 - f["ts"] // 60_000_000
    return f[(ago >= 0) & (ago <= minutes)]


@pytest.mark.parametrize("dims,mets", [
    (["country"], ["activeUsers"]),                                  # run_realtime_report.py
    (["country", dim("city")], ["activeUsers"]),                     # run_realtime_report_with_multiple_dimensions
    ([dim("unifiedScreenName")], ["screenPageViews", "keyEvents"]),  # run_realtime_report_with_multiple_metrics
])
def test_realtime_snippets(emu, dims, mets):
    resp = emu.beta.run_realtime_report(d.RunRealtimeReportRequest(
        property=f"properties/{emu.live}", dimensions=[d.Dimension(name=n) for n in dims],
        metrics=[d.Metric(name=n) for n in mets]))
    recent = _recent(emu)
    cols = list(dict.fromkeys(COLUMN[n] for n in dims))
    exp = {}
    for key, g in recent.groupby(cols):
        key = key if isinstance(key, tuple) else (key,)
        vals = {"activeUsers": g[g.active].user_id.nunique(), "screenPageViews": (g.event_name == "page_view").sum(),
                "keyEvents": (g.event_name == "purchase").sum()}
        exp[tuple(key[cols.index(COLUMN[n])] for n in dims)] = tuple(float(vals[m]) for m in mets)
    got = {tuple(r.dimension_values[i].value for i in range(len(dims))):
           tuple(float(v.value) for v in r.metric_values) for r in resp.rows}
    assert got == {k: v for k, v in exp.items() if any(v)} and got


def _or_events(*names):
    return a.FunnelFilterExpression(or_group=a.FunnelFilterExpressionList(expressions=[
        a.FunnelFilterExpression(funnel_event_filter=a.FunnelEventFilter(event_name=n)) for n in names]))


def test_run_funnel_report(emu):
    """run_funnel_report.py: five steps (first open/visit, organic visitors, session start, screen/page view,
    purchase), broken down by deviceCategory, 30daysAgo to today."""
    resp = emu.alpha.run_funnel_report(a.RunFunnelReportRequest(
        property=f"properties/{emu.pid}",
        date_ranges=[a.DateRange(start_date="30daysAgo", end_date="today")],
        funnel_breakdown=a.FunnelBreakdown(breakdown_dimension=a.Dimension(name="deviceCategory")),
        funnel=a.Funnel(steps=[
            a.FunnelStep(name="First open/visit", filter_expression=_or_events("first_open", "first_visit")),
            a.FunnelStep(name="Organic visitors", filter_expression=a.FunnelFilterExpression(
                funnel_field_filter=a.FunnelFieldFilter(field_name=dim("firstUserMedium"), string_filter=a.StringFilter(
                    match_type=a.StringFilter.MatchType.CONTAINS, case_sensitive=False, value="organic")))),
            a.FunnelStep(name="Session start", filter_expression=_or_events("session_start")),
            a.FunnelStep(name="Screen/Page view", filter_expression=_or_events("screen_view", "page_view")),
            a.FunnelStep(name="Purchase", filter_expression=_or_events("purchase", "in_app_purchase")),
        ])))
    raw = between(emu.raw, TODAY - timedelta(days=30), TODAY).sort_values("ts", kind="stable")
    tests = [lambda r: r.event_name in ("first_open", "first_visit"),
             lambda r: "organic" in r.first_medium.lower(),
             lambda r: r.event_name == "session_start",
             lambda r: r.event_name in ("screen_view", "page_view"),
             lambda r: r.event_name in ("purchase", "in_app_purchase")]
    reached = {}  # user -> [device at the first event reaching each step]
    for u, g in raw.groupby("user_id", sort=False):
        k, devices = 0, []
        for r in g.itertuples():
            if k < len(tests) and tests[k](r):
                devices.append(r.device_category)
                k += 1
        reached[u] = devices
    got = table(resp.funnel_table)
    names = ["1. First open/visit", "2. Organic visitors", "3. Session start", "4. Screen/Page view", "5. Purchase"]
    shown = set(Counter(devs[0] for devs in reached.values() if devs))  # breakdown values: those at step 1
    for k, name in enumerate(names):
        at = Counter(devs[k] for devs in reached.values() if len(devs) > k)
        rows = got[got.funnelStepName == name].set_index("deviceCategory")["activeUsers"]
        assert rows["RESERVED_TOTAL"] == sum(at.values()) > 0
        assert rows.drop("RESERVED_TOTAL").to_dict() == {dev: float(at.get(dev, 0)) for dev in shown}


def test_run_report_with_dimension_and_metric_filters(emu):
    """run_report_with_dimension_and_metric_filters: activeUsers by city where platform is Android and
    eventName is in_app_purchase, only rows with more sessions than a threshold (1,000 in the snippet; 1 for
    the generated data) -- sessions not requested."""
    resp = emu.beta.run_report(d.RunReportRequest(
        property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=dim("city"))],
        metrics=[d.Metric(name="activeUsers")],
        date_ranges=[d.DateRange(start_date="2026-10-01", end_date="today")],
        metric_filter=d.FilterExpression(filter=d.Filter(field_name="sessions", numeric_filter=d.Filter.NumericFilter(
            operation=d.Filter.NumericFilter.Operation.GREATER_THAN, value=d.NumericValue(int64_value=1)))),
        dimension_filter=d.FilterExpression(and_group=d.FilterExpressionList(expressions=[
            d.FilterExpression(filter=d.Filter(field_name=dim("platform"), string_filter=d.Filter.StringFilter(
                match_type=d.Filter.StringFilter.MatchType.EXACT, value="Android"))),
            d.FilterExpression(filter=d.Filter(field_name="eventName", string_filter=d.Filter.StringFilter(
                match_type=d.Filter.StringFilter.MatchType.EXACT, value="in_app_purchase")))]))))
    raw = between(emu.raw, date(2026, 10, 1), TODAY)
    buys = raw[(raw.platform == "Android") & (raw.event_name == "in_app_purchase")]
    exp = {c: float(g[g.active].user_id.nunique()) for c, g in buys.groupby("city") if sessions(g) > 1}
    assert table(resp).set_index(dim("city"))["activeUsers"].to_dict() == exp
    assert 0 < len(exp) < buys.city.nunique()  # the metric filter keeps some cities, not all

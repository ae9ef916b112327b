"""The emulator's Data API through Google's real clients over gRPC: reports checked against an
independent pandas computation over the raw events, GA4's invariants, validation, batches,
the quota returned with a report, funnels, derived events, broken tracking and the importer.
Quota exhaustion and the ledger itself: test_emulator_quota.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import grpc
import numpy as np
import pandas as pd
import pytest
from google.api_core import exceptions as gexc
from google.analytics import data_v1alpha as a
from google.analytics import data_v1beta as d
from google.analytics.data_v1alpha.services.alpha_analytics_data.transports import AlphaAnalyticsDataGrpcTransport
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from ga4kit.emulator import Emulator
from ga4kit.emulator.importer import EventFileError, read_events, write_events

from emulator_reference import active_rows, path_of

TODAY = date(2026, 11, 22)
TZ = "Europe/Berlin"


def _clients(emu):
    ch = grpc.insecure_channel(emu.address)
    return (d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=ch)),
            a.AlphaAnalyticsDataClient(transport=AlphaAnalyticsDataGrpcTransport(channel=ch)))


@pytest.fixture(scope="module")
def emu():
    e = Emulator(today=TODAY, days=60, users=1500, seed=7, properties=2)
    e.start()
    e.pid = e.demo_property_ids[0]
    e.beta, e.alpha = _clients(e)
    yield e
    e.stop(grace=None)


def _raw(emu, pid=None) -> pd.DataFrame:
    """The property's events with local dates, as plain strings (the independent reference)."""
    info = emu.admin.property_info(pid or emu.pid)
    f = emu.store.view(pid or emu.pid, info.rules)
    f = f.astype({c: str for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)})
    local = pd.to_datetime(f["ts"], unit="us", utc=True).dt.tz_convert(info.time_zone)
    return f.assign(day=local.dt.date, date=local.dt.strftime("%Y%m%d"))


def _in(df, start: date, end: date):
    return df[(df["day"] >= start) & (df["day"] <= end)]


def _run(emu, dims, mets, start="28daysAgo", end="yesterday", **kw):
    pid = kw.pop("pid", None) or emu.pid
    req = d.RunReportRequest(property=f"properties/{pid}",
                             dimensions=[d.Dimension(name=n) for n in dims],
                             metrics=[d.Metric(name=n) for n in mets],
                             date_ranges=kw.pop("date_ranges", None) or [d.DateRange(start_date=start, end_date=end)],
                             **kw)
    return emu.beta.run_report(req)


def _table(resp) -> pd.DataFrame:
    dims = [h.name for h in resp.dimension_headers]
    mets = [h.name for h in resp.metric_headers]
    rows = [[v.value for v in r.dimension_values] + [float(v.value) for v in r.metric_values] for r in resp.rows]
    return pd.DataFrame(rows, columns=dims + mets)


# ---- numbers -------------------------------------------------------------------------------

def test_report_matches_independent_pandas_computation(emu):
    resp = _run(emu, ["eventName", "sessionDefaultChannelGroup"],
                ["eventCount", "totalUsers", "sessions", "eventValue", "eventCountPerUser"])
    got = _table(resp).set_index(["eventName", "sessionDefaultChannelGroup"]).sort_index()
    raw = _in(_raw(emu), TODAY - timedelta(days=28), TODAY - timedelta(days=1))
    exp = raw.groupby(["event_name", "channel_group"]).agg(
        eventCount=("ts", "size"), totalUsers=("user_id", "nunique"),
        sessions=("session_id", lambda s: len(set(zip(raw.loc[s.index, "user_id"], s)))),
        eventValue=("value", "sum")).sort_index()
    assert len(got) == len(exp) == resp.row_count
    assert (got["eventCount"].to_numpy() == exp["eventCount"].to_numpy()).all()
    assert (got["totalUsers"].to_numpy() == exp["totalUsers"].to_numpy()).all()
    assert (got["sessions"].to_numpy() == exp["sessions"].to_numpy()).all()
    np.testing.assert_allclose(got["eventValue"].to_numpy(), exp["eventValue"].to_numpy(), rtol=1e-9)
    # events per ACTIVE user (engaged session, first_visit or engagement time), as GA4 defines it
    active = raw[active_rows(raw, _raw(emu), emu.admin.property_info(emu.pid).key_events)]
    act = active.groupby(["event_name", "channel_group"])["user_id"].nunique().reindex(exp.index).fillna(0)
    np.testing.assert_allclose(got["eventCountPerUser"], np.where(act > 0, exp["eventCount"] / act, 0), rtol=1e-9)
    assert [h.type_.name for h in resp.metric_headers] == ["TYPE_INTEGER"] * 3 + ["TYPE_FLOAT"] * 2
    assert all(r.metric_values[0].value.isdigit() for r in resp.rows)  # integers as plain strings
    assert resp.metadata.currency_code == "EUR" and resp.metadata.time_zone == TZ


def test_segments_add_up_and_users_are_not_additive(emu):
    by_channel = _table(_run(emu, ["sessionDefaultChannelGroup"], ["eventCount", "totalUsers"],
                             metric_aggregations=[d.MetricAggregation.TOTAL]))
    total = _run(emu, [], ["eventCount", "totalUsers"])
    t_events, t_users = (float(v.value) for v in total.rows[0].metric_values)
    assert by_channel["eventCount"].sum() == t_events          # events add up over segments
    assert t_users <= by_channel["totalUsers"].sum()           # users are distinct, never summed
    assert t_users >= by_channel["totalUsers"].max()
    daily = _table(_run(emu, ["date"], ["totalUsers", "eventCount"]))
    assert len(daily) == 28
    assert t_users <= daily["totalUsers"].sum() and t_users >= daily["totalUsers"].max()
    assert daily["eventCount"].sum() == t_events
    # the totals row is computed from events too (distinct users), not summed
    resp = _run(emu, ["date"], ["totalUsers"], metric_aggregations=[d.MetricAggregation.TOTAL,
                                                                    d.MetricAggregation.MAXIMUM])
    assert float(resp.totals[0].metric_values[0].value) == t_users
    assert resp.totals[0].dimension_values[0].value == "RESERVED_TOTAL"
    assert float(resp.maximums[0].metric_values[0].value) == daily["totalUsers"].max()


def test_key_events_follow_counting_method(emu):
    emu.admin.create_key_event(emu.pid, "add_to_cart", "ONCE_PER_SESSION")
    resp = _run(emu, ["sessionDefaultChannelGroup"],
                ["keyEvents:add_to_cart", "keyEvents:purchase", "keyEvents", "eventCount"],
                dimension_filter=d.FilterExpression(filter=d.Filter(
                    field_name="eventName", in_list_filter=d.Filter.InListFilter(values=["add_to_cart", "purchase"]))))
    got = _table(resp).set_index("sessionDefaultChannelGroup")
    raw = _in(_raw(emu), TODAY - timedelta(days=28), TODAY - timedelta(days=1))
    carts = raw[raw.event_name == "add_to_cart"]
    exp_cart = carts.drop_duplicates(["user_id", "session_id"]).groupby("channel_group").size()
    exp_buy = raw[raw.event_name == "purchase"].groupby("channel_group").size()
    for ch, row in got.iterrows():
        assert row["keyEvents:add_to_cart"] == exp_cart.get(ch, 0)
        assert row["keyEvents:purchase"] == exp_buy.get(ch, 0)  # ONCE_PER_EVENT: every purchase
        assert row["keyEvents"] == row["keyEvents:add_to_cart"] + row["keyEvents:purchase"]
    assert len(carts) > exp_cart.sum()  # the counting method mattered
    assert resp.metric_headers[0].type_.name == "TYPE_INTEGER"


# ---- filters, order, paging ------------------------------------------------------------------

def _sf(match, value, cs=False):
    return d.FilterExpression(filter=d.Filter(field_name="pagePath", string_filter=d.Filter.StringFilter(
        match_type=match, value=value, case_sensitive=cs)))


M = d.Filter.StringFilter.MatchType


@pytest.mark.parametrize("flt,pred", [
    (_sf(M.EXACT, "/pricing"), lambda p: p == "/pricing"),
    (_sf(M.EXACT, "/PRICING"), lambda p: p == "/pricing"),
    (_sf(M.EXACT, "/PRICING", cs=True), lambda p: False),
    (_sf(M.BEGINS_WITH, "/products/"), lambda p: p.startswith("/products/")),
    (_sf(M.ENDS_WITH, "-kit"), lambda p: p.endswith("-kit")),
    (_sf(M.CONTAINS, "BLOG"), lambda p: "blog" in p),
    (_sf(M.FULL_REGEXP, r"/blog/.*guide"), lambda p: p.startswith("/blog/") and p.endswith("guide")),
    (_sf(M.PARTIAL_REGEXP, r"grind"), lambda p: "grind" in p),
    (d.FilterExpression(not_expression=_sf(M.BEGINS_WITH, "/products")), lambda p: not p.startswith("/products")),
    (d.FilterExpression(or_group=d.FilterExpressionList(expressions=[_sf(M.EXACT, "/"), _sf(M.EXACT, "/about")])),
     lambda p: p in ("/", "/about")),
    (d.FilterExpression(and_group=d.FilterExpressionList(expressions=[
        _sf(M.BEGINS_WITH, "/products/"), d.FilterExpression(filter=d.Filter(
            field_name="deviceCategory", in_list_filter=d.Filter.InListFilter(values=["Desktop"])))])),
     None),
])
def test_dimension_filters(emu, flt, pred):
    got = _table(_run(emu, ["pagePath"], ["eventCount"], dimension_filter=flt)).set_index("pagePath")["eventCount"]
    raw = _in(_raw(emu), TODAY - timedelta(days=28), TODAY - timedelta(days=1))
    path = raw["page_location"].map(path_of)
    mask = path.map(pred) if pred else path.str.startswith("/products/") & (raw["device_category"] == "desktop")
    exp = raw.assign(p=path)[mask.astype(bool)].groupby("p").size()
    assert got.sort_index().to_dict() == exp.sort_index().astype(float).to_dict()


def test_metric_filter_order_and_paging(emu):
    mf = d.FilterExpression(filter=d.Filter(field_name="eventCount", numeric_filter=d.Filter.NumericFilter(
        operation=d.Filter.NumericFilter.Operation.GREATER_THAN, value=d.NumericValue(int64_value=50))))
    order = [d.OrderBy(metric=d.OrderBy.MetricOrderBy(metric_name="eventCount"), desc=True),
             d.OrderBy(dimension=d.OrderBy.DimensionOrderBy(dimension_name="date"))]
    full = _table(_run(emu, ["date", "eventName"], ["eventCount"], metric_filter=mf, order_bys=order))
    assert (full["eventCount"] > 50).all()
    assert full["eventCount"].is_monotonic_decreasing
    pages, offset = [], 0
    while True:
        resp = _run(emu, ["date", "eventName"], ["eventCount"], metric_filter=mf, order_bys=order,
                    limit=37, offset=offset)
        assert resp.row_count == len(full)
        if not resp.rows:
            break
        pages.append(_table(resp))
        offset += 37
    assert pd.concat(pages, ignore_index=True).equals(full)
    # dimension order, descending, case-insensitive
    t = _table(_run(emu, ["eventName"], ["eventCount"], order_bys=[d.OrderBy(
        dimension=d.OrderBy.DimensionOrderBy(dimension_name="eventName"), desc=True)]))
    assert list(t["eventName"]) == sorted(t["eventName"], reverse=True)
    # rows that are all zero are dropped unless keep_empty_rows
    kz = _table(_run(emu, ["eventName"], ["keyEvents:purchase"]))
    assert list(kz["eventName"]) == ["purchase"]


def test_relative_dates_and_date_ranges(emu):
    t = _table(_run(emu, ["date"], ["eventCount"], start="7daysAgo", end="yesterday"))
    assert sorted(t["date"]) == [(TODAY - timedelta(days=i)).strftime("%Y%m%d") for i in range(7, 0, -1)]
    assert _run(emu, ["date"], ["eventCount"], start="today", end="today").row_count == 0  # no data today
    iso = _table(_run(emu, ["date"], ["eventCount"], start="2026-11-01", end="2026-11-03"))
    assert sorted(iso["date"]) == ["20261101", "20261102", "20261103"]
    two = _run(emu, ["eventName"], ["totalUsers"], date_ranges=[
        d.DateRange(start_date="7daysAgo", end_date="yesterday", name="this"),
        d.DateRange(start_date="14daysAgo", end_date="8daysAgo")])
    assert [h.name for h in two.dimension_headers] == ["eventName", "dateRange"]
    assert {r.dimension_values[1].value for r in two.rows} == {"this", "date_range_1"}
    bare = _run(emu, [], ["totalUsers"], date_ranges=[d.DateRange(start_date="7daysAgo", end_date="yesterday"),
                                                       d.DateRange(start_date="14daysAgo", end_date="8daysAgo")])
    assert [h.name for h in bare.dimension_headers] == ["dateRange"]
    assert sorted(r.dimension_values[0].value for r in bare.rows) == ["date_range_0", "date_range_1"]
    weeks = _table(_run(emu, ["isoYearIsoWeek", "yearMonth"], ["eventCount"]))
    assert set(weeks["yearMonth"]) <= {"202610", "202611"} and weeks["isoYearIsoWeek"].str.len().eq(6).all()
    with pytest.raises(gexc.InvalidArgument):
        _run(emu, ["date"], ["eventCount"], start="yesterday", end="7daysAgo")
    with pytest.raises(gexc.InvalidArgument, match="date"):
        _run(emu, ["date"], ["eventCount"], start="2026-13-01", end="yesterday")
    with pytest.raises(gexc.InvalidArgument, match="4"):
        _run(emu, ["date"], ["eventCount"], date_ranges=[
            d.DateRange(start_date=f"{i}daysAgo", end_date=f"{i}daysAgo") for i in range(1, 6)])


def test_days_follow_the_property_time_zone(emu):
    pid = emu.demo_property_ids[1]
    info = emu.admin.property_info(pid)
    assert info.time_zone == "America/New_York" and info.currency == "USD"
    resp = _run(emu, ["date"], ["eventCount"], start="2026-11-01", end="2026-11-20", pid=pid)
    assert resp.metadata.time_zone == "America/New_York" and resp.metadata.currency_code == "USD"
    got = _table(resp).set_index("date")["eventCount"].sort_index()
    raw = _raw(emu, pid)
    exp = _in(raw, date(2026, 11, 1), date(2026, 11, 20)).groupby("date").size().sort_index()
    assert got.to_dict() == exp.astype(float).to_dict()
    utc = pd.to_datetime(raw["ts"], unit="us", utc=True).dt.strftime("%Y%m%d")
    assert (utc != raw["date"]).any()  # evening events in New York fall on the next UTC day


def test_invalid_requests_are_refused_like_ga4(emu):
    with pytest.raises(gexc.InvalidArgument) as e:
        _run(emu, ["xyz"], ["eventCount"])
    assert ("Field xyz is not a valid dimension. For a list of valid dimensions and metrics, see "
            "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema") in str(e.value)
    with pytest.raises(gexc.InvalidArgument, match="Field conversionz is not a valid metric"):
        _run(emu, ["eventName"], ["conversionz"])
    with pytest.raises(gexc.InvalidArgument, match="9 dimensions"):
        _run(emu, ["eventName", "date", "country", "deviceCategory", "pagePath", "sessionSource", "sessionMedium",
                   "sessionSourceMedium", "sessionDefaultChannelGroup", "month"], ["eventCount"])
    with pytest.raises(gexc.InvalidArgument, match="10 metrics"):
        _run(emu, ["eventName"], ["eventCount", "totalUsers", "activeUsers", "sessions", "eventValue",
                                  "eventCountPerUser", "keyEvents", "newUsers", "screenPageViews",
                                  "purchaseRevenue", "transactions"])
    with pytest.raises(gexc.InvalidArgument, match="limit must be positive"):
        _run(emu, ["eventName"], ["eventCount"], limit=-1)
    with pytest.raises(gexc.NotFound):
        _run(emu, ["eventName"], ["eventCount"], pid="999999999")


def test_batch_run_reports(emu):
    req = d.RunReportRequest(dimensions=[d.Dimension(name="eventName")], metrics=[d.Metric(name="eventCount")],
                             date_ranges=[d.DateRange(start_date="7daysAgo", end_date="yesterday")])
    prop = f"properties/{emu.pid}"
    resp = emu.beta.batch_run_reports(d.BatchRunReportsRequest(property=prop, requests=[req, req]))
    assert len(resp.reports) == 2 and resp.reports[0].row_count == resp.reports[1].row_count > 0
    with pytest.raises(gexc.InvalidArgument, match="5"):
        emu.beta.batch_run_reports(d.BatchRunReportsRequest(property=prop, requests=[req] * 6))
    other = d.RunReportRequest(req)
    other.property = "properties/123"
    with pytest.raises(gexc.InvalidArgument, match="property"):
        emu.beta.batch_run_reports(d.BatchRunReportsRequest(property=prop, requests=[req, other]))


def test_property_quota_is_returned_and_consumed(emu):
    r1 = _run(emu, ["eventName"], ["eventCount"], return_property_quota=True)
    r2 = _run(emu, ["eventName"], ["eventCount"], return_property_quota=True)
    q1, q2 = r1.property_quota, r2.property_quota
    assert q1.tokens_per_hour.consumed >= 1 and q1.tokens_per_day.remaining < 200_000
    assert q2.tokens_per_hour.remaining == q1.tokens_per_hour.remaining - q2.tokens_per_hour.consumed
    assert q1.concurrent_requests.remaining == 10 and q1.tokens_per_project_per_hour.remaining < 14_000
    assert not _run(emu, ["eventName"], ["eventCount"]).property_quota.tokens_per_day.remaining


def test_broken_tracking_stops_the_event():
    broken_from = TODAY - timedelta(days=5)
    with Emulator(today=TODAY, days=21, users=600, seed=5, broken={"video_complete": broken_from}) as e:
        e.beta, _ = _clients(e)
        t = _table(_run(e, ["date", "eventName"], ["eventCount"], start="20daysAgo", pid=e.demo_property_ids[0],
                        dimension_filter=d.FilterExpression(filter=d.Filter(
                            field_name="eventName", in_list_filter=d.Filter.InListFilter(
                                values=["video_start", "video_complete"])))))
    last = broken_from.strftime("%Y%m%d")
    vc, vs = t[t.eventName == "video_complete"], t[t.eventName == "video_start"]
    assert len(vc) and vc["date"].max() < last
    assert vs["date"].max() >= last  # the player still starts videos


# ---- derived events ------------------------------------------------------------------------------

def test_derived_events_appear_exactly_from_rule_creation(emu):
    info = emu.admin.property_info(emu.pid)
    raw = _raw(emu)
    src = raw[(raw.event_name == "page_view") & raw.page_location.str.contains("/pricing")]
    # the rule is created exactly at the time of a /pricing view, mid-day: that view counts, earlier ones not
    per_day = src[src.day >= TODAY - timedelta(days=20)].groupby("date")["ts"].apply(sorted)
    first_day, stamps = next((k, v) for k, v in per_day.items() if len(v) >= 3)
    created = datetime.fromtimestamp(stamps[1] / 1e6, tz=timezone.utc)
    emu.admin.create_event_create_rule(
        emu.pid, info.stream_ids[0], "view_pricing",
        [("event_name", "EQUALS", "page_view", False), ("page_location", "CONTAINS", "/pricing", False)],
        source_copy_parameters=True, create_time=created)
    t = _table(_run(emu, ["date"], ["eventCount"], start="30daysAgo", dimension_filter=d.FilterExpression(
        filter=d.Filter(field_name="eventName", string_filter=d.Filter.StringFilter(value="view_pricing")))))
    exp = src[src.ts >= stamps[1]]
    assert t["eventCount"].sum() == len(exp) > 0
    assert t["date"].min() == first_day
    assert t.set_index("date").loc[first_day, "eventCount"] == len(stamps) - 1
    # the copied parameters keep the page
    paths = _table(_run(emu, ["pagePath"], ["eventCount"], start="30daysAgo", dimension_filter=d.FilterExpression(
        filter=d.Filter(field_name="eventName", string_filter=d.Filter.StringFilter(value="view_pricing")))))
    assert list(paths["pagePath"]) == ["/pricing"]


# ---- funnels --------------------------------------------------------------------------------------

def _funnel(emu, names, *, open_=False, directly=False, within=None, breakdown=None, start="28daysAgo"):
    steps = []
    for i, n in enumerate(names):
        st = a.FunnelStep(name=n, filter_expression=a.FunnelFilterExpression(
            funnel_event_filter=a.FunnelEventFilter(event_name=n)))
        if i and directly:
            st.is_directly_followed_by = True
        if i and within:
            st.within_duration_from_prior_step = timedelta(seconds=within)
        steps.append(st)
    req = a.RunFunnelReportRequest(property=f"properties/{emu.pid}", funnel=a.Funnel(steps=steps, is_open_funnel=open_),
                                   date_ranges=[a.DateRange(start_date=start, end_date="yesterday")])
    if breakdown:
        req.funnel_breakdown = a.FunnelBreakdown(breakdown_dimension=a.Dimension(name=breakdown))
    return emu.alpha.run_funnel_report(req)


def _steps(resp, breakdown="RESERVED_TOTAL"):
    rows = [r for r in resp.funnel_table.rows
            if len(r.dimension_values) == 1 or r.dimension_values[1].value == breakdown]
    return [[float(v.value) for v in r.metric_values] for r in rows]


def _closed_reference(raw, names):
    counts = [0] * len(names)
    for _, g in raw.sort_values(["ts"], kind="stable").groupby("user_id"):
        k = 0
        for ev in g["event_name"]:
            if k < len(names) and ev == names[k]:
                counts[k] += 1
                k += 1
    return counts


def test_closed_funnel_matches_per_user_walk(emu):
    names = ["view_item", "add_to_cart", "begin_checkout", "purchase"]
    resp = _funnel(emu, names)
    steps = _steps(resp)
    users = [s[0] for s in steps]
    raw = _in(_raw(emu), TODAY - timedelta(days=28), TODAY - timedelta(days=1))
    assert users == _closed_reference(raw, names)
    assert users == sorted(users, reverse=True)  # closed funnels never grow
    for i, (u, rate, ab, ab_rate) in enumerate(steps[:-1]):
        assert ab == u - users[i + 1] and rate == pytest.approx(users[i + 1] / u)
        assert ab_rate == pytest.approx(1 - rate)
    assert steps[-1][1:] == [1, 0, 0]
    assert [h.name for h in resp.funnel_table.metric_headers] == [
        "activeUsers", "funnelStepCompletionRate", "funnelStepAbandonments", "funnelStepAbandonmentRate"]
    assert [r.dimension_values[0].value for r in resp.funnel_visualization.rows] == [
        "1. view_item", "2. add_to_cart", "3. begin_checkout", "4. purchase"]


def test_open_funnel_breakdown_and_step_constraints(emu):
    names = ["view_item", "add_to_cart", "purchase"]
    raw = _in(_raw(emu), TODAY - timedelta(days=28), TODAY - timedelta(days=1))
    open_users = [s[0] for s in _steps(_funnel(emu, names, open_=True))]
    assert open_users == [raw[raw.event_name == n].user_id.nunique() for n in names]
    closed = [s[0] for s in _steps(_funnel(emu, names))]
    assert all(o >= c for o, c in zip(open_users, closed))
    resp = _funnel(emu, names, breakdown="deviceCategory")
    assert [h.name for h in resp.funnel_table.dimension_headers] == ["funnelStepName", "deviceCategory"]
    for i, total in enumerate(closed):
        parts = [float(r.metric_values[0].value) for r in resp.funnel_table.rows
                 if r.dimension_values[0].value.startswith(f"{i + 1}.") and r.dimension_values[1].value != "RESERVED_TOTAL"]
        assert sum(parts) == total
    direct = [s[0] for s in _steps(_funnel(emu, ["session_start", "first_visit"], directly=True))]
    loose = [s[0] for s in _steps(_funnel(emu, ["session_start", "scroll"]))]
    tight = [s[0] for s in _steps(_funnel(emu, ["session_start", "scroll"], within=60))]
    # first_visit directly follows the user's first session_start; view_item never follows session_start
    assert direct[1] == raw[raw.event_name == "first_visit"].user_id.nunique() > 0
    assert [s[0] for s in _steps(_funnel(emu, ["session_start", "view_item"], directly=True))][1] == 0
    assert tight[1] < loose[1] and tight[0] == loose[0]


# ---- importer -----------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", ["ndjson", "csv", "parquet"])
def test_importer_round_trip(emu, tmp_path, ext):
    src = emu.store.frame(emu.pid)
    src = src[src["ts"] >= src["ts"].max() - 3 * 86400 * 10**6].reset_index(drop=True)
    path = write_events(src, tmp_path / f"events.{ext}")
    back = read_events(path)

    def canon(f):
        f = f.astype({c: str for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)})
        return f.sort_values(list(f.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(canon(src), canon(back))


def test_imported_file_is_served(tmp_path, emu):
    src = emu.store.frame(emu.pid)
    src = src[src["ts"] >= src["ts"].max() - 5 * 86400 * 10**6].reset_index(drop=True)
    path = write_events(src, tmp_path / "events.ndjson")
    with Emulator(today=TODAY, demo=False, events_file=path) as e:
        e.beta, _ = _clients(e)
        pid = e.admin.property_ids()[0]
        got = _table(_run(e, ["sessionDefaultChannelGroup"], ["eventCount"], start="10daysAgo", pid=pid))
    exp = src.groupby("channel_group", observed=True).size()
    assert got.set_index("sessionDefaultChannelGroup")["eventCount"].sort_index().to_dict() == \
        exp[exp > 0].sort_index().astype(float).to_dict()


def test_import_names_the_property_within_ga4s_limits(tmp_path):
    """A long file name still imports: the property's name is cut to GA4's 100 characters."""
    from ga4kit.emulator import importer
    from ga4kit.emulator.admin_state import AdminState
    from ga4kit.emulator.events import EventStore

    path = tmp_path / ("x" * 120 + ".csv")
    path.write_text("event_name,user_pseudo_id,event_timestamp,page_location\n"
                    "page_view,u1,1700000000000000,https://shop.example.com:8080/a b?q=1\n")
    admin = AdminState()
    pid = importer.import_file(admin, EventStore(), path)
    assert len(admin.get_property(pid)["display_name"]) <= 100
    assert admin.list_streams(pid)[0]["uri"] == "https://shop.example.com:8080"


@pytest.mark.parametrize("name,content,match", [
    ("bad.ndjson", '{"event_name": "x", "user_pseudo_id": "u", "event_timestamp": 1700000000000000}\n{oops\n',
     r"bad.ndjson:2: not valid JSON"),
    ("nouser.ndjson", '{"event_name": "x", "event_timestamp": 1700000000000000}\n', "user_pseudo_id is missing"),
    ("secs.ndjson", '{"event_name": "x", "user_pseudo_id": "u", "event_timestamp": 1700000000}\n', "microseconds"),
    ("params.csv", 'event_name,user_pseudo_id,event_timestamp,event_params\nx,u,1700000000000000,[{oops\n',
     r"params.csv:2: event_params is not valid JSON"),
    ("events.xlsx", "x", "unsupported file type"),
    ("empty.csv", "event_name,user_pseudo_id,event_timestamp\n", "no events"),
])
def test_importer_errors(tmp_path, name, content, match):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(EventFileError, match=match):
        read_events(p)
    assert issubclass(EventFileError, ValueError)


def test_importer_derives_sessions_and_channels(tmp_path):
    lines = [
        '{"event_name": "page_view", "user_pseudo_id": "u1", "event_timestamp": 1763000000000000, '
        '"collected_traffic_source": {"manual_source": "google", "manual_medium": "cpc"}, '
        '"event_params": [{"key": "page_location", "value": {"string_value": "https://x.example/pricing"}}]}',
        '{"event_name": "purchase", "user_pseudo_id": "u1", "event_timestamp": 1763000600000000, '
        '"event_params": [{"key": "value", "value": {"double_value": 9.5}}, '
        '{"key": "currency", "value": {"string_value": "EUR"}}]}',
        '{"event_name": "page_view", "user_pseudo_id": "u1", "event_timestamp": 1763090000000000}',
        '{"event_name": "page_view", "user_pseudo_id": "u2", "event_timestamp": 1763000000000000, '
        '"traffic_source": {"source": "newsletter", "medium": "email"}}',
    ]
    p = tmp_path / "e.jsonl"
    p.write_text("\n".join(lines))
    f = read_events(p).sort_values(["user_id", "ts"]).reset_index(drop=True)
    assert len(f[["user_id", "session_id"]].drop_duplicates()) == 3  # u1: two sessions (25 h apart), u2: one
    assert list(f["channel_group"].astype(str)) == ["Paid Search", "Paid Search", "Direct", "Email"]
    assert f.loc[1, "value"] == 9.5 and f.loc[1, "currency"] == "EUR"


def test_event_store_persists_as_parquet(tmp_path, emu):
    from ga4kit.emulator.events import EventStore
    s = EventStore(tmp_path)
    s.replace("42", emu.store.frame(emu.pid).iloc[:500])
    s.save()
    assert (tmp_path / "events" / "42.parquet").exists()
    again = EventStore(tmp_path)
    pd.testing.assert_frame_equal(again.frame("42").astype(str), s.frame("42").astype(str))
    assert str(again.frame("42")["event_name"].dtype) == "category"


def test_v1alpha_run_report_and_metadata(emu):
    req = a.RunReportRequest(
        property=f"properties/{emu.pid}", dimensions=[a.Dimension(name="eventName")],
        metrics=[a.Metric(name="eventCount")], date_ranges=[a.DateRange(start_date="28daysAgo", end_date="yesterday")],
        dimension_filter=a.FilterExpression(filter=a.Filter(field_name="eventName", string_filter=a.StringFilter(
            match_type=a.StringFilter.MatchType.BEGINS_WITH, value="P"))))
    alpha = {r.dimension_values[0].value: r.metric_values[0].value for r in emu.alpha.run_report(req).rows}
    beta = {r.dimension_values[0].value: r.metric_values[0].value
            for r in _run(emu, ["eventName"], ["eventCount"]).rows if r.dimension_values[0].value.startswith("p")}
    assert alpha == beta and "purchase" in alpha
    md = emu.beta.get_metadata(d.GetMetadataRequest(name=f"properties/{emu.pid}/metadata"))
    dims = {m.api_name for m in md.dimensions}
    mets = {m.api_name: m.type_.name for m in md.metrics}
    assert {"date", "eventName", "sessionDefaultChannelGroup", "pagePath", "country", "deviceCategory"} <= dims
    assert mets["eventCount"] == "TYPE_INTEGER" and mets["purchaseRevenue"] == "TYPE_CURRENCY"
    assert "keyEvents:purchase" in mets


@pytest.mark.parametrize("ext", ["ndjson", "parquet", "csv"])
def test_importer_fast_path_equals_record_path(emu, tmp_path, ext):
    from ga4kit.emulator import importer

    src = emu.store.frame(emu.pid).iloc[:3000]
    path = write_events(src, tmp_path / f"events.{ext}")
    raw = importer._arrow_raw(path)
    assert raw is not None  # the column-wise reader took this file
    fast, slow = importer._finish(raw, path)[0], importer._finish(importer._record_raw(path), path)[0]
    for c in fast.columns:
        assert (fast[c].astype(str).to_numpy() == slow[c].astype(str).to_numpy()).all(), c

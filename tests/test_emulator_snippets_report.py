"""Google's published Data API Python snippets (googleapis/python-analytics-data, samples/snippets) against
the emulator: each test sends the request a snippet sends (same dimensions, metrics, filters, date ranges,
ordering) through Google's real client and checks the numbers against an independent pandas count of the
same events. The snippets' code is not copied; each test names the snippet it mirrors. Pivot, realtime,
cohort and funnel snippets are tested with those methods.

The data: a shop with app users (Android / iOS, in_app_purchase), two years up to 2021-02-10, so the
snippets' literal date ranges (2019-08 to 2021-01) hold data."""

from __future__ import annotations

from datetime import date, timedelta

import grpc
import numpy as np
import pandas as pd
import pytest
from google.api_core import exceptions as gexc
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport
from google.analytics.data_v1beta.types import (BatchRunReportsRequest, DateRange, Dimension, Filter,
                                                FilterExpression, FilterExpressionList, GetMetadataRequest, Metric,
                                                MetricAggregation, MetricType, NumericValue, OrderBy,
                                                RunReportRequest)

from ga4kit.emulator import Emulator
from ga4kit.emulator.generator import generate_events
from emulator_reference import active_rows, not_set, raw_events, session_key

TODAY = date(2021, 2, 10)
TZ = "Europe/Berlin"


@pytest.fixture(scope="module")
def emu():
    e = Emulator(demo=False, today=TODAY)
    account = e.admin.create_account("Snippets")
    pid = e.admin.create_property(account, "Shop and apps", time_zone=TZ, currency="EUR")
    e.admin.create_web_stream(pid, "web", "https://shop.example.com")
    e.store.replace(pid, generate_events(seed=5, days=620, users=5000, today=TODAY, time_zone=TZ, apps=0.35))
    e.start()
    e.pid = pid
    e.client = BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(
        channel=grpc.insecure_channel(e.address)))
    e.raw = raw_events(e, pid)
    e.raw["active"] = active_rows(e.raw, e.raw, e.admin.property_info(pid).key_events)
    e.raw["s"] = session_key(e.raw)
    yield e
    e.stop(grace=None)


def prop(emu) -> str:
    return "properties/" + str(emu.pid)


def days(emu, start: str, end: str) -> pd.DataFrame:
    def resolve(x: str) -> date:
        if x == "today":
            return TODAY
        if x == "yesterday":
            return TODAY - timedelta(days=1)
        if x.endswith("daysAgo"):
            return TODAY - timedelta(days=int(x[:-7]))
        return date.fromisoformat(x)
    lo, hi = resolve(start), resolve(end)
    return emu.raw[(emu.raw["day"] >= lo) & (emu.raw["day"] <= hi)]


METRICS = {
    "activeUsers": lambda g: g.loc[g["active"], "user_id"].nunique(),
    "totalUsers": lambda g: g["user_id"].nunique(),
    "newUsers": lambda g: g.loc[g["event_name"].isin(["first_visit", "first_open"]), "user_id"].nunique(),
    "sessions": lambda g: g["s"].nunique(),
    "eventCount": len,
    "totalRevenue": lambda g: g.loc[g["event_name"].isin(["purchase", "in_app_purchase"]), "value"].sum(),
    "conversions": lambda g: (g["event_name"] == "purchase").sum(),  # purchase: the default key event
}


def reference(df: pd.DataFrame, dims: dict, metrics: list[str]) -> pd.DataFrame:
    """Rows of dimension labels (computed by ``dims``: name -> fn(df)) with the metrics; all-zero rows out."""
    if not len(df):
        return pd.DataFrame(columns=list(dims) + metrics)
    keys = pd.DataFrame({name: np.asarray(fn(df)) for name, fn in dims.items()}, index=df.index)
    rows = []
    for key, g in (df.groupby([keys[k] for k in dims]) if dims else [((), df)]):
        key = key if isinstance(key, tuple) else (key,)
        vals = [float(METRICS[m](g)) for m in metrics]
        if any(vals):
            rows.append(list(key) + vals)
    return pd.DataFrame(rows, columns=list(dims) + metrics)


def table(resp) -> pd.DataFrame:
    dims = [h.name for h in resp.dimension_headers]
    mets = [h.name for h in resp.metric_headers]
    return pd.DataFrame([[v.value for v in r.dimension_values] + [float(v.value) for v in r.metric_values]
                         for r in resp.rows], columns=dims + mets)


def same(got: pd.DataFrame, exp: pd.DataFrame, keys: list[str]) -> None:
    g = got.sort_values(keys).reset_index(drop=True) if len(got) else got
    e = exp.sort_values(keys).reset_index(drop=True) if len(exp) else exp
    assert len(g) == len(e), (len(g), len(e))
    for c in exp.columns:
        if c in keys:
            assert list(g[c]) == list(e[c]), c
        else:
            np.testing.assert_allclose(g[c].to_numpy(float), e[c].to_numpy(float), rtol=1e-9, atol=1e-6, err_msg=c)


COUNTRY = {"country": lambda df: not_set(df["country"])}
CITY = {"city": lambda df: not_set(df["city"])}


def test_run_report(emu):
    """run_report.py (run_report_simple): country x activeUsers, 2020-09-01 to 2020-09-15."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="country")], metrics=[Metric(name="activeUsers")],
        date_ranges=[DateRange(start_date="2020-09-01", end_date="2020-09-15")]))
    same(table(resp), reference(days(emu, "2020-09-01", "2020-09-15"), COUNTRY, ["activeUsers"]), ["country"])
    assert len(resp.rows) > 3


def test_run_report_with_multiple_dimensions(emu):
    """run_report_with_multiple_dimensions: country, region, city x activeUsers, 7daysAgo to today."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="country"), Dimension(name="region"), Dimension(name="city")],
        metrics=[Metric(name="activeUsers")], date_ranges=[DateRange(start_date="7daysAgo", end_date="today")]))
    dims = {**COUNTRY, "region": lambda df: not_set(df["region"]), **CITY}
    same(table(resp), reference(days(emu, "7daysAgo", "today"), dims, ["activeUsers"]), list(dims))


def test_run_report_with_multiple_metrics(emu):
    """run_report_with_multiple_metrics: date x activeUsers, newUsers, totalRevenue, 7daysAgo to today."""
    mets = ["activeUsers", "newUsers", "totalRevenue"]
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="date")], metrics=[Metric(name=m) for m in mets],
        date_ranges=[DateRange(start_date="7daysAgo", end_date="today")]))
    same(table(resp), reference(days(emu, "7daysAgo", "today"), {"date": lambda df: df["date"]}, mets), ["date"])
    assert [h.type_ for h in resp.metric_headers] == [MetricType.TYPE_INTEGER] * 2 + [MetricType.TYPE_CURRENCY]


def test_run_report_with_dimension_filter(emu):
    """run_report_with_dimension_filter: date x eventCount where eventName is first_open."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="date")], metrics=[Metric(name="eventCount")],
        date_ranges=[DateRange(start_date="7daysAgo", end_date="yesterday")],
        dimension_filter=FilterExpression(filter=Filter(
            field_name="eventName", string_filter=Filter.StringFilter(value="first_open")))))
    df = days(emu, "7daysAgo", "yesterday")
    exp = reference(df[df["event_name"] == "first_open"], {"date": lambda x: x["date"]}, ["eventCount"])
    same(table(resp), exp, ["date"])
    assert len(exp) > 0


def test_run_report_with_multiple_dimension_filters(emu):
    """run_report_with_multiple_dimension_filters: browser x activeUsers where browser is Chrome and
    countryId is US, 7daysAgo to yesterday (and over a year, when more US visitors came)."""
    def request(start):
        return RunReportRequest(
            property=prop(emu), dimensions=[Dimension(name="browser")], metrics=[Metric(name="activeUsers")],
            date_ranges=[DateRange(start_date=start, end_date="yesterday")],
            dimension_filter=FilterExpression(and_group=FilterExpressionList(expressions=[
                FilterExpression(filter=Filter(field_name="browser",
                                               string_filter=Filter.StringFilter(value="Chrome"))),
                FilterExpression(filter=Filter(field_name="countryId",
                                               string_filter=Filter.StringFilter(value="US")))])))
    for start in ("7daysAgo", "365daysAgo"):
        resp = emu.client.run_report(request(start))
        df = days(emu, start, "yesterday")
        df = df[(df["browser"] == "Chrome") & (df["country"] == "United States")]
        same(table(resp), reference(df, {"browser": lambda x: x["browser"]}, ["activeUsers"]), ["browser"])
    assert len(resp.rows) == 1


def test_run_report_with_dimension_exclude_filter(emu):
    """run_report_with_dimension_exclude_filter: pageTitle x sessions where pageTitle is not My Homepage."""
    def request(title):
        return RunReportRequest(
            property=prop(emu), dimensions=[Dimension(name="pageTitle")], metrics=[Metric(name="sessions")],
            date_ranges=[DateRange(start_date="7daysAgo", end_date="yesterday")],
            dimension_filter=FilterExpression(not_expression=FilterExpression(filter=Filter(
                field_name="pageTitle", string_filter=Filter.StringFilter(value=title)))))
    df = days(emu, "7daysAgo", "yesterday")
    dims = {"pageTitle": lambda x: not_set(x["page_title"])}
    for title in ("My Homepage", "Home | Demo Shop"):  # the snippet's title, and one the shop has
        kept = df[not_set(df["page_title"]) != title]
        same(table(emu.client.run_report(request(title))), reference(kept, dims, ["sessions"]), ["pageTitle"])


def test_run_report_with_dimension_in_list_filter(emu):
    """run_report_with_dimension_in_list_filter: eventName x sessions for purchase, in_app_purchase,
    app_store_subscription_renew."""
    names = ["purchase", "in_app_purchase", "app_store_subscription_renew"]
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="eventName")], metrics=[Metric(name="sessions")],
        date_ranges=[DateRange(start_date="7daysAgo", end_date="yesterday")],
        dimension_filter=FilterExpression(filter=Filter(field_name="eventName",
                                                        in_list_filter=Filter.InListFilter(values=names)))))
    df = days(emu, "7daysAgo", "yesterday")
    exp = reference(df[df["event_name"].isin(names)], {"eventName": lambda x: x["event_name"]}, ["sessions"])
    same(table(resp), exp, ["eventName"])
    assert "in_app_purchase" in set(exp["eventName"]) and len(exp) <= 2


def test_run_report_with_dimension_and_metric_filters(emu):
    """run_report_with_dimension_and_metric_filters: city x activeUsers where platform is Android and
    eventName is in_app_purchase, keeping cities with more than 1,000 sessions (a metric the report does
    not show); 2020-03-31 to today. Run again with a threshold this data reaches."""
    def request(threshold):
        return RunReportRequest(
            property=prop(emu), dimensions=[Dimension(name="city")], metrics=[Metric(name="activeUsers")],
            date_ranges=[DateRange(start_date="2020-03-31", end_date="today")],
            metric_filter=FilterExpression(filter=Filter(field_name="sessions", numeric_filter=Filter.NumericFilter(
                operation=Filter.NumericFilter.Operation.GREATER_THAN, value=NumericValue(int64_value=threshold)))),
            dimension_filter=FilterExpression(and_group=FilterExpressionList(expressions=[
                FilterExpression(filter=Filter(field_name="platform", string_filter=Filter.StringFilter(
                    match_type=Filter.StringFilter.MatchType.EXACT, value="Android"))),
                FilterExpression(filter=Filter(field_name="eventName", string_filter=Filter.StringFilter(
                    match_type=Filter.StringFilter.MatchType.EXACT, value="in_app_purchase")))])))
    df = days(emu, "2020-03-31", "today")
    df = df[(df["platform"] == "Android") & (df["event_name"] == "in_app_purchase")]
    full = reference(df, CITY, ["activeUsers", "sessions"])
    for threshold in (1000, 1):
        resp = emu.client.run_report(request(threshold))
        assert [h.name for h in resp.metric_headers] == ["activeUsers"]
        same(table(resp), full[full["sessions"] > threshold][["city", "activeUsers"]], ["city"])
    assert len(full[full["sessions"] > 1]) > 0


def test_run_report_with_named_date_ranges(emu):
    """run_report_with_named_date_ranges: country x sessions over year_ago (2020-01) and current_year
    (2021-01)."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="country")], metrics=[Metric(name="sessions")],
        date_ranges=[DateRange(start_date="2020-01-01", end_date="2020-01-31", name="year_ago"),
                     DateRange(start_date="2021-01-01", end_date="2021-01-31", name="current_year")]))
    exp = pd.concat([reference(days(emu, a, b), COUNTRY, ["sessions"]).assign(dateRange=n)
                     for a, b, n in (("2020-01-01", "2020-01-31", "year_ago"),
                                     ("2021-01-01", "2021-01-31", "current_year"))])
    same(table(resp), exp[["country", "dateRange", "sessions"]], ["country", "dateRange"])


def test_run_report_with_date_ranges(emu):
    """run_report_with_date_ranges: platform x activeUsers over 2019-08-01..14 and 2020-08-01..14."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="platform")], metrics=[Metric(name="activeUsers")],
        date_ranges=[DateRange(start_date="2019-08-01", end_date="2019-08-14"),
                     DateRange(start_date="2020-08-01", end_date="2020-08-14")]))
    exp = pd.concat([reference(days(emu, a, b), {"platform": lambda x: x["platform"]}, ["activeUsers"])
                     .assign(dateRange=f"date_range_{i}")
                     for i, (a, b) in enumerate((("2019-08-01", "2019-08-14"), ("2020-08-01", "2020-08-14")))])
    same(table(resp), exp[["platform", "dateRange", "activeUsers"]], ["platform", "dateRange"])
    assert {"web", "Android", "iOS"} <= set(table(resp)["platform"])


def test_run_report_with_aggregations(emu):
    """run_report_with_aggregations: country x sessions, yesterday to today, with TOTAL, MAXIMUM, MINIMUM."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="country")], metrics=[Metric(name="sessions")],
        date_ranges=[DateRange(start_date="yesterday", end_date="today")],
        metric_aggregations=[MetricAggregation.TOTAL, MetricAggregation.MAXIMUM, MetricAggregation.MINIMUM]))
    df = days(emu, "yesterday", "today")
    exp = reference(df, COUNTRY, ["sessions"])
    same(table(resp), exp, ["country"])
    assert float(resp.totals[0].metric_values[0].value) == df["s"].nunique()  # distinct, not summed
    assert float(resp.maximums[0].metric_values[0].value) == exp["sessions"].max()
    assert float(resp.minimums[0].metric_values[0].value) == exp["sessions"].min()


def test_run_report_with_ordering(emu):
    """run_report_with_ordering: date x activeUsers, newUsers, totalRevenue ordered by totalRevenue, desc."""
    mets = ["activeUsers", "newUsers", "totalRevenue"]
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="date")], metrics=[Metric(name=m) for m in mets],
        date_ranges=[DateRange(start_date="7daysAgo", end_date="today")],
        order_bys=[OrderBy(metric=OrderBy.MetricOrderBy(metric_name="totalRevenue"), desc=True)]))
    got = table(resp)
    exp = reference(days(emu, "7daysAgo", "today"), {"date": lambda x: x["date"]}, mets)
    same(got, exp, ["date"])
    assert list(got["totalRevenue"]) == sorted(exp["totalRevenue"], reverse=True)


def test_run_report_with_pagination(emu):
    """run_report_with_pagination: firstUserSource, firstUserMedium, firstUserCampaignName x sessions,
    conversions (the deprecated name of keyEvents), totalRevenue; 365daysAgo to yesterday; pages of 100,000
    at offsets 0 and 100,000. Then pages of 5 rows, put together."""
    dims = ["firstUserSource", "firstUserMedium", "firstUserCampaignName"]
    mets = ["sessions", "conversions", "totalRevenue"]

    def request(limit, offset):
        return RunReportRequest(
            property=prop(emu), date_ranges=[DateRange(start_date="365daysAgo", end_date="yesterday")],
            dimensions=[Dimension(name=n) for n in dims], metrics=[Metric(name=m) for m in mets],
            limit=limit, offset=offset)
    first, second = emu.client.run_report(request(100000, 0)), emu.client.run_report(request(100000, 100000))
    cols = {"firstUserSource": lambda x: x["first_source"], "firstUserMedium": lambda x: x["first_medium"],
            "firstUserCampaignName": lambda x: x["first_campaign"]}
    exp = reference(days(emu, "365daysAgo", "yesterday"), cols, mets)
    same(table(first), exp, dims)
    assert first.row_count == second.row_count == len(exp) and not second.rows
    pages = [table(emu.client.run_report(request(5, off))) for off in range(0, first.row_count, 5)]
    same(pd.concat(pages, ignore_index=True), exp, dims)


def test_run_report_with_property_quota(emu):
    """run_report_with_property_quota: country x activeUsers, 7daysAgo to today, return_property_quota."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), return_property_quota=True, dimensions=[Dimension(name="country")],
        metrics=[Metric(name="activeUsers")], date_ranges=[DateRange(start_date="7daysAgo", end_date="today")]))
    same(table(resp), reference(days(emu, "7daysAgo", "today"), COUNTRY, ["activeUsers"]), ["country"])
    q = resp.property_quota
    assert q.tokens_per_day.consumed > 0 and q.tokens_per_day.remaining > 0
    assert q.tokens_per_hour.consumed == q.tokens_per_day.consumed
    assert q.concurrent_requests.remaining == 10 and q.server_errors_per_project_per_hour.remaining == 10


def test_run_batch_report(emu):
    """run_batch_report: country, region, city x activeUsers (7 days) and browser x activeUsers (14 days)."""
    resp = emu.client.batch_run_reports(BatchRunReportsRequest(property=prop(emu), requests=[
        RunReportRequest(dimensions=[Dimension(name="country"), Dimension(name="region"), Dimension(name="city")],
                         metrics=[Metric(name="activeUsers")],
                         date_ranges=[DateRange(start_date="7daysAgo", end_date="today")]),
        RunReportRequest(dimensions=[Dimension(name="browser")], metrics=[Metric(name="activeUsers")],
                         date_ranges=[DateRange(start_date="14daysAgo", end_date="today")])]))
    geo = {**COUNTRY, "region": lambda df: not_set(df["region"]), **CITY}
    same(table(resp.reports[0]), reference(days(emu, "7daysAgo", "today"), geo, ["activeUsers"]), list(geo))
    same(table(resp.reports[1]), reference(days(emu, "14daysAgo", "today"),
                                           {"browser": lambda x: not_set(x["browser"])}, ["activeUsers"]),
         ["browser"])


def test_get_metadata_by_property_id_and_common_metadata(emu):
    """get_metadata.py / get_metadata_by_property_id.py / get_common_metadata: every field the snippets
    print (api_name, ui_name, description, custom_definition, deprecated_api_names, type) is filled."""
    for name in (f"{prop(emu)}/metadata", "properties/0/metadata"):
        md = emu.client.get_metadata(GetMetadataRequest(name=name))
        assert md.name == name and len(md.dimensions) > 40 and len(md.metrics) > 40
        for dim in md.dimensions:
            assert dim.api_name and dim.ui_name and dim.description
        for met in md.metrics:
            assert met.api_name and met.ui_name and met.description and MetricType(met.type_).name != "METRIC_TYPE_UNSPECIFIED"
        # what the snippets ask for is listed
        assert {"country", "region", "city", "browser", "countryId", "pageTitle", "platform", "firstUserSource",
                "firstUserMedium", "firstUserCampaignName", "date", "eventName"} <= {x.api_name for x in md.dimensions}
        assert {"activeUsers", "newUsers", "totalRevenue", "sessions", "eventCount", "keyEvents"} <= \
            {x.api_name for x in md.metrics}
    custom = [m.api_name for m in md.metrics if m.custom_definition]
    assert custom == []  # property 0: no key-event or custom metrics


def test_quickstart(emu):
    """quickstart.py (and quickstart_json_credentials / quickstart_oauth2): city x activeUsers, 2020-03-31
    to today."""
    resp = emu.client.run_report(RunReportRequest(
        property=prop(emu), dimensions=[Dimension(name="city")], metrics=[Metric(name="activeUsers")],
        date_ranges=[DateRange(start_date="2020-03-31", end_date="today")]))
    same(table(resp), reference(days(emu, "2020-03-31", "today"), CITY, ["activeUsers"]), ["city"])
    assert "(not set)" in set(table(resp)["city"])


def test_run_report_with_custom_parameters(emu):
    """run_report_with_custom_parameters: the snippet sends an empty RunReportRequest; GA4 refuses it (no
    property), and so does the emulator."""
    with pytest.raises(gexc.InvalidArgument, match="property"):
        emu.client.run_report(RunReportRequest())

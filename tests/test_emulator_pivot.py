"""runPivotReport and batchRunPivotReports through Google's real v1beta client over gRPC: pivot headers
(order, offset, limit, row_count), row layout, pivot order bys, aggregates, date ranges in a pivot and
GA4's request rules. Every number is counted from the raw events with pandas."""

from __future__ import annotations

from datetime import date

import pytest
from google.analytics import data_v1beta as d
from google.api_core import exceptions as gexc

from ga4kit.emulator import Emulator
from emulator_data_support import between, clients, raw_events, sessions

TODAY = date(2026, 11, 22)
START, END = date(2026, 11, 1), date(2026, 11, 20)


@pytest.fixture(scope="module")
def emu():
    e = Emulator(today=TODAY, days=30, users=500, seed=21)
    e.start()
    e.pid = e.demo_property_ids[0]
    e.beta, _ = clients(e)
    e.raw = between(raw_events(e, e.pid), START, END)
    yield e
    e.stop(grace=None)


def _pivot(emu, pivots, dims, mets, ranges=None, **kw):
    return emu.beta.run_pivot_report(d.RunPivotReportRequest(
        property=f"properties/{emu.pid}", pivots=pivots, dimensions=[d.Dimension(name=n) for n in dims],
        metrics=[d.Metric(name=n) for n in mets],
        date_ranges=ranges or [d.DateRange(start_date=str(START), end_date=str(END))], **kw))


def _dim_order(name):
    return d.OrderBy(dimension=d.OrderBy.DimensionOrderBy(dimension_name=name))


def _headers(resp, i):
    return [tuple(v.value for v in h.dimension_values) for h in resp.pivot_headers[i].pivot_dimension_headers]


def _rows(rows):
    return [tuple(v.value for v in r.dimension_values) + tuple(float(v.value) for v in r.metric_values)
            for r in rows]


def test_pivot_headers_and_rows_match_the_events(emu):
    """Mirrors run_pivot_report: sessions by country, pivoted by a second dimension (deviceCategory for
    browser, which the emulator's events lack) with an offset and a limit, ordered by sessions descending."""
    raw = emu.raw
    resp = _pivot(emu, [
        d.Pivot(field_names=["country"], limit=250, order_bys=[_dim_order("country")]),
        d.Pivot(field_names=["deviceCategory"], offset=1, limit=2,
                order_bys=[d.OrderBy(metric=d.OrderBy.MetricOrderBy(metric_name="sessions"), desc=True)]),
    ], ["country", "deviceCategory"], ["sessions"])
    by_device = {k: sessions(g) for k, g in raw.groupby("device_category")}
    devices = sorted(by_device, key=lambda k: (-by_device[k], k))[1:3]
    countries = sorted(raw["country"].unique())
    assert _headers(resp, 0) == [(c,) for c in countries]
    assert _headers(resp, 1) == [(x,) for x in devices]
    assert [h.row_count for h in resp.pivot_headers] == [len(countries), len(by_device)]
    assert [h.name for h in resp.dimension_headers] == ["country", "deviceCategory"]
    cells = {k: sessions(g) for k, g in raw.groupby(["country", "device_category"])}
    exp = [(c, x, float(cells[(c, x)])) for c in countries for x in devices if (c, x) in cells]
    assert _rows(resp.rows) == exp
    assert resp.kind == "analyticsData#runPivotReport" and resp.metadata.currency_code == "EUR"


def test_aggregates_are_computed_from_events(emu):
    raw = emu.raw
    resp = _pivot(emu, [
        d.Pivot(field_names=["deviceCategory"], limit=10, order_bys=[_dim_order("deviceCategory")],
                metric_aggregations=[d.MetricAggregation.TOTAL]),
        d.Pivot(field_names=["eventName"], limit=3, metric_aggregations=[d.MetricAggregation.TOTAL,
                                                                          d.MetricAggregation.MAXIMUM]),
    ], ["deviceCategory", "eventName"], ["totalUsers"])
    users_by_event = raw.groupby("event_name")["user_id"].nunique()
    top_events = sorted(users_by_event.index, key=lambda k: (-users_by_event[k], k))[:3]
    assert _headers(resp, 1) == [(e,) for e in top_events]
    aggs = _rows(resp.aggregates)
    # deviceCategory totals: users over every device, per shown event (distinct users, not summed)
    exp_total_dev = {("RESERVED_TOTAL", e, float(users_by_event[e])) for e in top_events}
    assert exp_total_dev <= set(aggs)
    # eventName totals: per device, users over every event
    users_by_device = raw.groupby("device_category")["user_id"].nunique()
    exp_total_ev = {(x, "RESERVED_TOTAL", float(u)) for x, u in users_by_device.items()}
    assert exp_total_ev <= set(aggs)
    cells = raw.groupby(["device_category", "event_name"])["user_id"].nunique()
    exp_max = {(x, "RESERVED_MAX", float(cells[x].max())) for x in users_by_device.index}
    assert exp_max <= set(aggs)
    assert len(aggs) == len(exp_total_dev) + len(exp_total_ev) + len(exp_max)
    # a total is not the sum of its parts: a user has several events
    some = users_by_device.index[0]
    assert users_by_device[some] < sum(cells[some].get(e, 0) for e in users_by_event.index)


def test_pivot_order_by_a_column_of_another_pivot(emu):
    raw = emu.raw
    resp = _pivot(emu, [
        d.Pivot(field_names=["country"], limit=4, order_bys=[d.OrderBy(desc=True, pivot=d.OrderBy.PivotOrderBy(
            metric_name="eventCount", pivot_selections=[d.OrderBy.PivotOrderBy.PivotSelection(
                dimension_name="deviceCategory", dimension_value="mobile")]))]),
        d.Pivot(field_names=["deviceCategory"], limit=5),
    ], ["country", "deviceCategory"], ["eventCount"])
    mobile = raw[raw.device_category == "mobile"].groupby("country").size()
    counts = {c: int(mobile.get(c, 0)) for c in raw["country"].unique()}
    exp = sorted(counts, key=lambda c: (-counts[c], c))[:4]
    assert _headers(resp, 0) == [(c,) for c in exp]
    # rows follow the first pivot's order
    assert [r[0] for r in _rows(resp.rows)] == sorted([r[0] for r in _rows(resp.rows)], key=exp.index)


def test_date_range_pivot(emu):
    full = raw_events(emu, emu.pid)
    ranges = [d.DateRange(start_date="2026-11-01", end_date="2026-11-07", name="first"),
              d.DateRange(start_date="2026-11-08", end_date="2026-11-14", name="second")]
    resp = _pivot(emu, [d.Pivot(field_names=["eventName"], limit=2, order_bys=[_dim_order("eventName")]),
                        d.Pivot(field_names=["dateRange"], limit=2, order_bys=[_dim_order("dateRange")])],
                  ["eventName"], ["totalUsers"], ranges=ranges)
    names = sorted(full["event_name"].unique())[:2]
    exp = []
    for ev in names:
        for label, (s, e) in (("first", (date(2026, 11, 1), date(2026, 11, 7))),
                              ("second", (date(2026, 11, 8), date(2026, 11, 14)))):
            part = between(full, s, e)
            n = part[part.event_name == ev]["user_id"].nunique()
            if n:
                exp.append((ev, label, float(n)))
    assert [h.name for h in resp.dimension_headers] == ["eventName", "dateRange"]
    assert _rows(resp.rows) == exp


def test_pivot_request_rules(emu):
    p = d.Pivot(field_names=["country"], limit=10)
    with pytest.raises(gexc.InvalidArgument, match="must not exceed 250000"):
        _pivot(emu, [d.Pivot(field_names=["country"], limit=1000), d.Pivot(field_names=["eventName"], limit=1000)],
               ["country", "eventName"], ["eventCount"])
    with pytest.raises(gexc.InvalidArgument, match="limit is required"):
        _pivot(emu, [d.Pivot(field_names=["country"])], ["country"], ["eventCount"])
    with pytest.raises(gexc.InvalidArgument, match="more than one pivot"):
        _pivot(emu, [p, d.Pivot(field_names=["country"], limit=3)], ["country"], ["eventCount"])
    with pytest.raises(gexc.InvalidArgument, match="Dimension eventName must be used"):
        _pivot(emu, [p], ["country", "eventName"], ["eventCount"])
    with pytest.raises(gexc.InvalidArgument, match="dateRange"):
        _pivot(emu, [p], ["country"], ["eventCount"], ranges=[
            d.DateRange(start_date="7daysAgo", end_date="yesterday"),
            d.DateRange(start_date="14daysAgo", end_date="8daysAgo")])
    with pytest.raises(gexc.InvalidArgument, match="field names"):
        _pivot(emu, [d.Pivot(field_names=["country"], limit=5, order_bys=[_dim_order("eventName")]),
                     d.Pivot(field_names=["eventName"], limit=5)], ["country", "eventName"], ["eventCount"])
    with pytest.raises(gexc.InvalidArgument, match="at least one pivot"):
        _pivot(emu, [], ["country"], ["eventCount"])
    # a dimension used only in the dimension filter is fine, and a metric filter may use any metric
    resp = _pivot(emu, [p], ["country", "eventName"], ["eventCount"], dimension_filter=d.FilterExpression(
        filter=d.Filter(field_name="eventName", string_filter=d.Filter.StringFilter(value="purchase"))),
        metric_filter=d.FilterExpression(filter=d.Filter(field_name="totalUsers", numeric_filter=d.Filter.NumericFilter(
            operation=d.Filter.NumericFilter.Operation.GREATER_THAN, value=d.NumericValue(int64_value=2)))))
    buyers = emu.raw[emu.raw.event_name == "purchase"].groupby("country")
    exp = {c: float(len(g)) for c, g in buyers if g.user_id.nunique() > 2}
    assert {r[0]: r[1] for r in _rows(resp.rows)} == exp and [h.name for h in resp.metric_headers] == ["eventCount"]


def test_batch_run_pivot_reports(emu):
    one = d.RunPivotReportRequest(pivots=[d.Pivot(field_names=["eventName"], limit=5)],
                                  dimensions=[d.Dimension(name="eventName")], metrics=[d.Metric(name="eventCount")],
                                  date_ranges=[d.DateRange(start_date=str(START), end_date=str(END))])
    two = d.RunPivotReportRequest(one)
    two.pivots = [d.Pivot(field_names=["eventName"], limit=2, offset=2)]
    batch = emu.beta.batch_run_pivot_reports(d.BatchRunPivotReportsRequest(
        property=f"properties/{emu.pid}", requests=[one, two]))
    assert batch.kind == "analyticsData#batchRunPivotReports" and len(batch.pivot_reports) == 2
    counts = emu.raw.groupby("event_name").size()
    ranked = sorted(counts.index, key=lambda k: (-counts[k], k))
    assert [r[0] for r in _rows(batch.pivot_reports[0].rows)] == ranked[:5]
    assert [r[0] for r in _rows(batch.pivot_reports[1].rows)] == ranked[2:4]
    with pytest.raises(gexc.InvalidArgument, match="5"):
        emu.beta.batch_run_pivot_reports(d.BatchRunPivotReportsRequest(
            property=f"properties/{emu.pid}", requests=[one] * 6))

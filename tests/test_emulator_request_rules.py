"""GA4's request rules the emulator follows, through Google's real v1beta client over gRPC:

- a metric filter on a metric the request does not ask for is accepted (Google's own snippet
  run_report_with_dimension_and_metric_filters does it): the metric is computed, filtered on, not returned;
- a limit above 250,000 is capped, not refused (a negative one is refused);
- currency_code converts the currency metrics with the emulator's fixed rates, or is refused: amounts
  are never relabelled.

Expected numbers are counted from the raw events with pandas.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from google.analytics import data_v1beta as d
from google.api_core import exceptions as gexc

from ga4kit.emulator import Emulator
from ga4kit.emulator import reports
from emulator_data_support import between, clients, raw_events, sessions, table
from emulator_reference import active_rows, not_set

TODAY = date(2026, 11, 22)
# The emulator's documented fixed rates (docs/emulator-contract.md): units per US dollar.
EUR_PER_USD, JPY_PER_USD = 0.92, 150.0


@pytest.fixture(scope="module")
def emu():
    e = Emulator(today=TODAY, days=30, users=500, seed=11)
    e.start()
    e.pid = e.demo_property_ids[0]
    e.beta, _ = clients(e)
    yield e
    e.stop(grace=None)


def _report(emu, dims, mets, **kw):
    return emu.beta.run_report(d.RunReportRequest(
        property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=n) for n in dims],
        metrics=[d.Metric(name=n) for n in mets],
        date_ranges=[d.DateRange(start_date="28daysAgo", end_date="yesterday")], **kw))


def _last28(emu):
    return between(raw_events(emu, emu.pid), TODAY - timedelta(days=28), TODAY - timedelta(days=1))


def _greater(field, value):
    return d.FilterExpression(filter=d.Filter(field_name=field, numeric_filter=d.Filter.NumericFilter(
        operation=d.Filter.NumericFilter.Operation.GREATER_THAN, value=d.NumericValue(double_value=value))))


def test_metric_filter_on_a_metric_not_requested(emu):
    """Mirrors run_report_with_dimension_and_metric_filters (eventName == page_view for the snippet's
    platform/in_app_purchase filter, which the small generated property has too few events for)."""
    all_events = raw_events(emu, emu.pid)
    raw = _last28(emu)
    views = raw[raw.event_name == "page_view"].assign(city=lambda f: not_set(f.city))
    active = views[active_rows(views, all_events, emu.admin.property_info(emu.pid).key_events)]
    per_city = {c: (active[active.city == c].user_id.nunique(), sessions(g)) for c, g in views.groupby("city")}
    cut = sorted(s for _, s in per_city.values())[len(per_city) // 2]  # about half the cities pass
    resp = _report(emu, ["city"], ["activeUsers"], metric_filter=_greater("sessions", cut),
                   dimension_filter=d.FilterExpression(filter=d.Filter(
                       field_name="eventName", string_filter=d.Filter.StringFilter(value="page_view"))))
    assert [h.name for h in resp.metric_headers] == ["activeUsers"]  # sessions is filtered on, not returned
    got = table(resp).set_index("city")["activeUsers"].to_dict()
    exp = {c: float(u) for c, (u, s) in per_city.items() if s > cut}
    assert got == exp and 0 < len(got) < len(per_city)


def test_metric_filter_still_refuses_dimensions_and_unknown_names(emu):
    with pytest.raises(gexc.InvalidArgument, match="Dimension country cannot be used in a metric filter"):
        _report(emu, ["country"], ["activeUsers"], metric_filter=_greater("country", 1))
    with pytest.raises(gexc.InvalidArgument, match="Field bogus is not a valid metric"):
        _report(emu, ["country"], ["activeUsers"], metric_filter=_greater("bogus", 1))


def test_limit_above_the_maximum_is_capped_not_refused(emu, monkeypatch):
    full = _report(emu, ["date", "eventName"], ["eventCount"])
    big = _report(emu, ["date", "eventName"], ["eventCount"], limit=1_000_000)
    assert len(big.rows) == big.row_count == full.row_count
    # The cap itself, without a 250,000-row report: lower the emulator's maximum for this test.
    monkeypatch.setattr(reports, "MAX_LIMIT", 7)
    capped = _report(emu, ["date", "eventName"], ["eventCount"], limit=1_000_000)
    assert len(capped.rows) == 7 and capped.row_count == full.row_count
    with pytest.raises(gexc.InvalidArgument, match="limit must be positive"):
        _report(emu, ["eventName"], ["eventCount"], limit=-5)


def test_currency_code_converts_amounts(emu):
    info = emu.admin.property_info(emu.pid)
    assert info.currency == "EUR"
    raw = _last28(emu)
    revenue = raw[raw.event_name == "purchase"].groupby("channel_group")["value"].sum()
    own = _report(emu, ["sessionDefaultChannelGroup"], ["purchaseRevenue", "eventCount"],
                  metric_aggregations=[d.MetricAggregation.TOTAL])
    usd = _report(emu, ["sessionDefaultChannelGroup"], ["purchaseRevenue", "eventCount"], currency_code="USD",
                  metric_aggregations=[d.MetricAggregation.TOTAL])
    assert own.metadata.currency_code == "EUR" and usd.metadata.currency_code == "USD"
    got_eur = table(own).set_index("sessionDefaultChannelGroup")
    got_usd = table(usd).set_index("sessionDefaultChannelGroup")
    for channel, eur in revenue.items():
        assert got_eur.loc[channel, "purchaseRevenue"] == pytest.approx(round(eur, 2), abs=0.005)
        assert got_usd.loc[channel, "purchaseRevenue"] == pytest.approx(round(eur / EUR_PER_USD, 2), abs=0.005)
    assert (got_usd["eventCount"] == got_eur["eventCount"]).all()  # only amounts change
    total = float(usd.totals[0].metric_values[0].value)
    assert total == pytest.approx(round(revenue.sum() / EUR_PER_USD, 2), abs=0.005)
    jpy = table(_report(emu, [], ["purchaseRevenue"], currency_code="JPY"))
    assert jpy["purchaseRevenue"][0] == pytest.approx(round(revenue.sum() / EUR_PER_USD * JPY_PER_USD, 2), abs=0.01)


def test_metric_filter_on_an_amount_compares_in_the_requested_currency(emu):
    raw = _last28(emu)
    eur = raw[raw.event_name == "purchase"].groupby("channel_group")["value"].sum()
    usd = eur / EUR_PER_USD
    # A cut between a channel's amount in EUR and in USD: it passes only if the filter compares in USD.
    channel = usd.sort_values().index[len(usd) // 2]
    cut = float(eur[channel] + usd[channel]) / 2
    got = table(_report(emu, ["sessionDefaultChannelGroup"], ["purchaseRevenue"], currency_code="USD",
                        metric_filter=_greater("purchaseRevenue", cut)))
    assert channel in set(got["sessionDefaultChannelGroup"])
    assert set(got["sessionDefaultChannelGroup"]) == set(usd[usd > cut].index)


def test_currency_codes_that_cannot_be_converted_are_refused(emu):
    with pytest.raises(gexc.InvalidArgument, match="ISO 4217"):
        _report(emu, [], ["purchaseRevenue"], currency_code="XYZ")
    with pytest.raises(gexc.MethodNotImplemented, match="cannot convert amounts to ISK"):
        _report(emu, [], ["purchaseRevenue"], currency_code="ISK")

"""checkCompatibility through Google's real v1beta client over gRPC: every dimension and metric of the
property's metadata answered for the request's fields (the cohort rule and the item-scope rule), the
compatibility filter, invalid and unmodelled names, and the answers agreeing with what runReport then
accepts or refuses."""

from __future__ import annotations

from datetime import date

import pytest
from google.analytics import data_v1beta as d
from google.api_core import exceptions as gexc

from ga4kit.emulator import Emulator
from emulator_data_support import clients

TODAY = date(2026, 11, 22)
COHORT_FIELDS = {"cohort", "cohortNthDay", "cohortNthWeek", "cohortNthMonth", "cohortActiveUsers",
                 "cohortTotalUsers"}
ITEM_DIMENSIONS = {"itemId", "itemName", "itemBrand", "itemCategory"}  # written from GA4's schema
ITEM_METRICS = {"itemRevenue", "itemsPurchased", "itemsViewed", "itemsAddedToCart", "itemsCheckedOut"}
C = d.Compatibility


@pytest.fixture(scope="module")
def emu():
    e = Emulator(today=TODAY, days=10, users=100, seed=41)
    e.start()
    e.pid = e.demo_property_ids[0]
    e.beta, _ = clients(e)
    yield e
    e.stop(grace=None)


def _check(emu, dims, mets, **kw):
    resp = emu.beta.check_compatibility(d.CheckCompatibilityRequest(
        property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=n) for n in dims],
        metrics=[d.Metric(name=n) for n in mets], **kw))
    return ({x.dimension_metadata.api_name: x.compatibility for x in resp.dimension_compatibilities},
            {x.metric_metadata.api_name: x.compatibility for x in resp.metric_compatibilities})


def test_every_field_of_the_metadata_is_answered(emu):
    md = emu.beta.get_metadata(name=f"properties/{emu.pid}/metadata")
    dims, mets = _check(emu, ["eventName"], ["eventCount"])
    assert set(dims) == {x.api_name for x in md.dimensions} and set(mets) == {x.api_name for x in md.metrics}
    assert "keyEvents:purchase" in mets
    # eventCount is event scoped: the item dimensions cannot join it
    assert {n for n, c in {**dims, **mets}.items() if c == C.INCOMPATIBLE} == COHORT_FIELDS | ITEM_DIMENSIONS
    only = _check(emu, ["eventName"], ["eventCount"], compatibility_filter=C.COMPATIBLE)
    assert set(only[0]) == set(dims) - COHORT_FIELDS - ITEM_DIMENSIONS and set(only[1]) == set(mets) - COHORT_FIELDS
    incompatible = _check(emu, ["eventName"], [], compatibility_filter=C.INCOMPATIBLE)
    assert set(incompatible[0]) | set(incompatible[1]) == COHORT_FIELDS
    assert {"city", "browser", "landingPage", "firstUserMedium", "transactionId"} <= set(dims)  # the event model's


def test_item_scoped_fields_go_only_with_item_metrics(emu):
    dims, mets = _check(emu, ["itemName"], [])
    assert {n for n, c in mets.items() if c == C.COMPATIBLE} == ITEM_METRICS
    assert all(dims[n] == C.COMPATIBLE for n in ITEM_DIMENSIONS | {"country", "date"})
    dims, mets = _check(emu, [], ["itemRevenue"])
    assert all(dims[n] == C.COMPATIBLE for n in ITEM_DIMENSIONS) and mets["eventCount"] == C.COMPATIBLE
    # an item dimension in the dimension filter counts like one in the rows
    _, mets = _check(emu, ["country"], [], dimension_filter=d.FilterExpression(filter=d.Filter(
        field_name="itemBrand", string_filter=d.Filter.StringFilter(value="Acme"))))
    assert mets["itemsViewed"] == C.COMPATIBLE and mets["sessions"] == C.INCOMPATIBLE

    def run(dim, met):
        return emu.beta.run_report(d.RunReportRequest(
            property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=dim)], metrics=[d.Metric(name=met)],
            date_ranges=[d.DateRange(start_date="7daysAgo", end_date="yesterday")]))
    run("itemName", "itemRevenue")
    with pytest.raises(gexc.InvalidArgument, match="Please remove eventCount"):
        run("itemName", "eventCount")


def test_cohort_requests_exclude_ordinary_dimensions(emu):
    dims, mets = _check(emu, ["cohort", "cohortNthWeek"], ["cohortActiveUsers"])
    assert dims["country"] == dims["eventName"] == C.INCOMPATIBLE and dims["cohortNthDay"] == C.COMPATIBLE
    assert mets["eventCount"] == mets["cohortTotalUsers"] == C.COMPATIBLE
    # a dimension filter's fields are part of the request
    dims, mets = _check(emu, [], ["cohortActiveUsers"], dimension_filter=d.FilterExpression(filter=d.Filter(
        field_name="country", string_filter=d.Filter.StringFilter(value="Germany"))))
    assert dims["cohort"] == mets["cohortActiveUsers"] == C.INCOMPATIBLE


def test_answers_agree_with_run_report(emu):
    dims, _ = _check(emu, ["eventName"], ["eventCount"])

    def run(extra):
        return emu.beta.run_report(d.RunReportRequest(
            property=f"properties/{emu.pid}", dimensions=[d.Dimension(name="eventName"), d.Dimension(name=extra)],
            metrics=[d.Metric(name="eventCount")], date_ranges=[d.DateRange(start_date="7daysAgo",
                                                                             end_date="yesterday")]))
    for name in ("country", "pagePath", "sessionSourceMedium"):
        assert dims[name] == C.COMPATIBLE and run(name).row_count > 0
    assert dims["cohortNthWeek"] == C.INCOMPATIBLE
    with pytest.raises(gexc.InvalidArgument, match="only valid in a cohort report"):
        run("cohortNthWeek")


def test_invalid_names_are_refused(emu):
    with pytest.raises(gexc.InvalidArgument, match="Field bogus is not a valid dimension"):
        _check(emu, ["bogus"], [])
    with pytest.raises(gexc.InvalidArgument, match="Field nope is not a valid metric"):
        _check(emu, [], ["nope"])
    # a valid GA4 name the emulator does not model is UNIMPLEMENTED, as in runReport
    with pytest.raises(gexc.MethodNotImplemented, match="does not model the dimension unifiedScreenName"):
        _check(emu, ["unifiedScreenName"], [])
    # deprecated names are still accepted
    _, mets = _check(emu, ["isConversionEvent"], ["conversions"])
    assert mets["keyEvents"] == C.COMPATIBLE
    with pytest.raises(gexc.NotFound):
        emu.beta.check_compatibility(d.CheckCompatibilityRequest(property="properties/999999"))

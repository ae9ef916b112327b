"""Cohort reports (runReport with a cohort_spec) through Google's real v1beta client over gRPC: cohort
selection by firstSessionDate, the extended reporting range, cohortNthDay/Week/Month, cohortActiveUsers,
cohortTotalUsers, metric expressions and the request rules. Expected numbers are counted from the raw
events with pandas: a user's firstSessionDate is the local day of their first_visit / first_open event, and
cohortActiveUsers counts GA4's active users (emulator_reference.active_rows)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from google.analytics import data_v1beta as d
from google.api_core import exceptions as gexc

from ga4kit.emulator import Emulator
from emulator_data_support import clients, raw_events, table
from emulator_reference import active_rows

TODAY = date(2026, 11, 22)
WEEKLY, DAILY, MONTHLY = (d.CohortsRange.Granularity.WEEKLY, d.CohortsRange.Granularity.DAILY,
                          d.CohortsRange.Granularity.MONTHLY)


@pytest.fixture(scope="module")
def emu():
    e = Emulator(today=TODAY, days=75, users=900, seed=31)
    e.start()
    e.pid = e.demo_property_ids[0]
    e.beta, _ = clients(e)
    raw = raw_events(e, e.pid)
    first = raw[raw.event_name.isin(["first_visit", "first_open"])].groupby("user_id")["day"].min()
    e.raw = raw.assign(first=raw["user_id"].map(first),
                       active=active_rows(raw, raw, e.admin.property_info(e.pid).key_events))
    yield e
    e.stop(grace=None)


def _cohort(name, start, end):
    return d.Cohort(name=name, dimension="firstSessionDate", date_range=d.DateRange(start_date=str(start),
                                                                                   end_date=str(end)))


def _report(emu, dims, metrics, cohorts, granularity, start_offset, end_offset, **kw):
    return emu.beta.run_report(d.RunReportRequest(
        property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=n) for n in dims], metrics=metrics,
        cohort_spec=d.CohortSpec(cohorts=cohorts, cohorts_range=d.CohortsRange(
            start_offset=start_offset, end_offset=end_offset, granularity=granularity)), **kw))


def _week(day: date) -> int:
    return day.toordinal() // 7  # weeks from Sunday to Saturday (ordinal 7 was a Sunday)


def _expected(raw, start, end, period, lo_off, hi_off, step_days):
    """{nth: (active users, total users)} for a cohort (periods with active users), counted from the events."""
    members = raw[(raw["first"] >= start) & (raw["first"] <= end)]
    total = members["user_id"].nunique()
    span = members[(members["day"] >= start + timedelta(days=lo_off * step_days))
                   & (members["day"] <= end + timedelta(days=hi_off * step_days))]
    nth = span["day"].map(period) - span["first"].map(period)
    span = span.assign(nth=nth)
    span = span[(span.nth >= lo_off) & (span.nth <= hi_off)]
    active = span[span.active].groupby("nth")["user_id"].nunique()
    return {n: (a, total) for n, a in active.items() if a}, span


def test_weekly_cohort_retention(emu):
    """Mirrors run_report_with_cohorts: one weekly cohort (a Sunday-to-Saturday week), four more weeks,
    cohortActiveUsers and the expression cohortActiveUsers/cohortTotalUsers."""
    start, end = date(2026, 9, 27), date(2026, 10, 3)
    resp = _report(emu, ["cohort", "cohortNthWeek"], [
        d.Metric(name="cohortActiveUsers"),
        d.Metric(name="cohortRetentionRate", expression="cohortActiveUsers/cohortTotalUsers")],
        [_cohort("cohort", start, end)], WEEKLY, 0, 4)
    exp, _ = _expected(emu.raw, start, end, _week, 0, 4, 7)
    got = table(resp)
    assert list(got["cohort"].unique()) == ["cohort"]
    assert list(got["cohortNthWeek"]) == [f"{n:04d}" for n in sorted(exp)]
    for _, row in got.iterrows():
        active, total = exp[int(row["cohortNthWeek"])]
        assert row["cohortActiveUsers"] == active
        assert row["cohortRetentionRate"] == pytest.approx(active / total)
    assert got["cohortActiveUsers"].iloc[0] == exp[0][1]  # week 0: everyone who arrived that week
    assert got["cohortActiveUsers"].iloc[1] < got["cohortActiveUsers"].iloc[0]
    assert [h.type_.name for h in resp.metric_headers] == ["TYPE_INTEGER", "TYPE_FLOAT"]


def test_daily_cohorts_names_and_other_metrics(emu):
    # Five-day cohorts: a user's Nth day counts from their own first day.
    c1, c2 = (date(2026, 10, 5), date(2026, 10, 9)), (date(2026, 10, 10), date(2026, 10, 14))
    resp = _report(emu, ["cohort", "cohortNthDay"],
                   [d.Metric(name="cohortActiveUsers"), d.Metric(name="cohortTotalUsers"),
                    d.Metric(name="eventCount")],
                   [_cohort("", *c1), _cohort("", *c2)], DAILY, 1, 6)
    got = table(resp)
    assert set(got["cohort"]) == {"cohort_0", "cohort_1"}
    for name, (start, end) in (("cohort_0", c1), ("cohort_1", c2)):
        exp, span = _expected(emu.raw, start, end, lambda x: x.toordinal(), 1, 6, 1)
        assert len(exp) >= 4  # the cohort's users come back on several of the next days
        mine = got[got.cohort == name]
        total = emu.raw[(emu.raw["first"] >= start) & (emu.raw["first"] <= end)]["user_id"].nunique()
        # cohortTotalUsers is never 0, so every day of the range has a row, active users or not
        assert list(mine["cohortNthDay"]) == [f"{n:04d}" for n in range(1, 7)] and total > 0
        for _, row in mine.iterrows():
            n = int(row["cohortNthDay"])
            assert (row["cohortActiveUsers"], row["cohortTotalUsers"]) == exp.get(n, (0, total))
            assert row["eventCount"] == (span.nth == n).sum()
    assert list(got["cohort"]) == sorted(got["cohort"])  # cohorts in request order, days ascending


def test_monthly_cohort(emu):
    start, end = date(2026, 9, 1), date(2026, 9, 30)
    got = table(_report(emu, ["cohort", "cohortNthMonth"], [d.Metric(name="cohortActiveUsers")],
                        [_cohort("september", start, end)], MONTHLY, 0, 2))
    exp, _ = _expected(emu.raw, start, end, lambda x: x.year * 12 + x.month, 0, 2, 30)
    assert {int(r.cohortNthMonth): r.cohortActiveUsers for r in got.itertuples()} == \
        {n: float(a) for n, (a, _) in exp.items()}


def test_cohort_request_rules(emu):
    c = [_cohort("c", date(2026, 10, 4), date(2026, 10, 10))]
    m = [d.Metric(name="cohortActiveUsers")]
    with pytest.raises(gexc.InvalidArgument, match="dateRanges must be unspecified"):
        _report(emu, ["cohort"], m, c, WEEKLY, 0, 2,
                date_ranges=[d.DateRange(start_date="7daysAgo", end_date="yesterday")])
    with pytest.raises(gexc.InvalidArgument, match="must include the dimension 'cohort'"):
        _report(emu, ["cohortNthWeek"], m, c, WEEKLY, 0, 2)
    with pytest.raises(gexc.InvalidArgument, match="cohortNthDay requires a DAILY"):
        _report(emu, ["cohort", "cohortNthDay"], m, c, WEEKLY, 0, 2)
    with pytest.raises(gexc.InvalidArgument, match="granularity is required"):
        _report(emu, ["cohort"], m, c, d.CohortsRange.Granularity.GRANULARITY_UNSPECIFIED, 0, 2)
    with pytest.raises(gexc.InvalidArgument, match="firstSessionDate"):
        _report(emu, ["cohort"], m, [d.Cohort(name="x", dimension="date", date_range=c[0].date_range)], WEEKLY, 0, 1)
    with pytest.raises(gexc.InvalidArgument, match="cannot begin with 'cohort_'"):
        _report(emu, ["cohort"], m, [_cohort("cohort_x", date(2026, 10, 4), date(2026, 10, 10))], WEEKLY, 0, 1)
    with pytest.raises(gexc.InvalidArgument, match="accumulate"):
        emu.beta.run_report(d.RunReportRequest(
            property=f"properties/{emu.pid}", dimensions=[d.Dimension(name="cohort")], metrics=m,
            cohort_spec=d.CohortSpec(cohorts=c, cohorts_range=d.CohortsRange(end_offset=1, granularity=WEEKLY),
                                     cohort_report_settings=d.CohortReportSettings(accumulate=True))))
    with pytest.raises(gexc.MethodNotImplemented, match="cohort reports take the dimensions"):
        _report(emu, ["cohort", "country"], m, c, WEEKLY, 0, 2)
    with pytest.raises(gexc.InvalidArgument, match="not valid"):
        _report(emu, ["cohort"], [d.Metric(name="r", expression="cohortActiveUsers//2")], c, WEEKLY, 0, 2)


def test_metadata_lists_the_cohort_fields(emu):
    md = emu.beta.get_metadata(name=f"properties/{emu.pid}/metadata")
    dims = {x.api_name: x.category for x in md.dimensions}
    mets = {x.api_name for x in md.metrics}
    assert {"cohort", "cohortNthDay", "cohortNthWeek", "cohortNthMonth"} <= set(dims)
    assert dims["cohort"] == "Cohort" and {"cohortActiveUsers", "cohortTotalUsers"} <= mets

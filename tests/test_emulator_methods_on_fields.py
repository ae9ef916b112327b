"""The Data API methods and request rules (currency, metric filters, thresholding, the "(other)" row, pivots,
funnels, segments, cohorts) on the event model's fields (custom definitions, isKeyEvent, items, page titles,
event parameters), through Google's real client over gRPC. Expected numbers are counted from the stored
events with pandas, written from GA4's definitions (emulator_reference)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import grpc
import numpy as np
import pandas as pd
import pytest
from google.analytics import data_v1alpha as a
from google.analytics import data_v1beta as d
from google.api_core import exceptions as gexc

from ga4kit.emulator import Emulator
from ga4kit.emulator.generator import generate_events
from emulator_data_support import clients, table
from emulator_reference import in_days, not_set, raw_events

TODAY = date(2026, 11, 22)
START, END = TODAY - timedelta(days=14), TODAY - timedelta(days=1)
THRESHOLD = 25
USD_PER_EUR = 1 / 0.92  # the contract's fixed rates: 0.92 EUR per US dollar


@pytest.fixture(scope="module")
def emu():
    e = Emulator(demo=False, today=TODAY, data_limits={"threshold_users": THRESHOLD})
    account = e.admin.create_account("Fields and methods")
    e.pid = e.admin.create_property(account, "Shop", time_zone="Europe/Berlin", currency="EUR")
    e.admin.create_web_stream(e.pid, "web", "https://shop.example.com")
    e.admin.create_key_event(e.pid, "add_to_cart", "ONCE_PER_EVENT")
    e.admin.create_custom_dimension(e.pid, "payment_type", "Payment type", "EVENT")
    e.admin.create_custom_metric(e.pid, "value", "Order value", "CURRENCY", restricted_metric_type=["REVENUE_DATA"])
    frame = generate_events(seed=17, days=20, users=900, today=TODAY, apps=0.3)
    e.store.replace(e.pid, frame)
    e.start()
    e.beta, e.alpha = clients(e)
    e.all = raw_events(e, e.pid)
    e.raw = in_days(e.all, START, END).assign(payment=lambda f: not_set(f["param:payment_type"]))
    e.items = e.store.items(e.pid)
    yield e
    e.stop(grace=None)


@pytest.fixture
def signals_on(emu):
    emu.admin.update_google_signals(emu.pid, state="GOOGLE_SIGNALS_ENABLED")
    yield
    emu.admin.update_google_signals(emu.pid, state="GOOGLE_SIGNALS_DISABLED")


def _report(emu, dims, mets, **kw):
    return emu.beta.run_report(d.RunReportRequest(
        property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=n) for n in dims],
        metrics=[d.Metric(name=n) for n in mets], limit=100_000,
        date_ranges=[d.DateRange(start_date=str(START), end_date=str(END))], **kw))


def _greater(field, value):
    return d.FilterExpression(filter=d.Filter(field_name=field, numeric_filter=d.Filter.NumericFilter(
        operation=d.Filter.NumericFilter.Operation.GREATER_THAN, value=d.NumericValue(double_value=value))))


def test_a_custom_currency_metric_is_converted_typed_and_filtered_in_the_requested_currency(emu):
    per_type = emu.raw.groupby("payment")["value"].sum() * USD_PER_EUR
    resp = _report(emu, ["customEvent:payment_type"], ["customEvent:value", "eventCount"], currency_code="USD")
    assert [h.type_.name for h in resp.metric_headers] == ["TYPE_CURRENCY", "TYPE_INTEGER"]
    assert resp.metadata.currency_code == "USD"
    got = table(resp).set_index("customEvent:payment_type")["customEvent:value"]
    exp = per_type[per_type != 0]
    assert set(got.index) == set(exp.index) and np.allclose(got[exp.index], exp, atol=0.006)
    # a metric filter on the custom metric, not requested, compares in dollars
    ranked = exp.sort_values()
    cut = float(ranked.iloc[len(ranked) // 2 - 1] + ranked.iloc[len(ranked) // 2]) / 2  # between two rows
    resp = _report(emu, ["customEvent:payment_type"], ["eventCount"], currency_code="USD",
                   metric_filter=_greater("customEvent:value", cut))
    counts = emu.raw.groupby("payment").size()
    assert table(resp).set_index("customEvent:payment_type")["eventCount"].to_dict() == \
        {k: float(counts[k]) for k in exp.index if exp[k] > cut}
    assert 0 < len(resp.rows) < len(exp)


def test_thresholding_withholds_custom_and_item_rows(emu, signals_on, monkeypatch):
    raw = emu.raw
    users = raw.groupby("payment")["user_id"].nunique()
    counts = raw.groupby("payment").size()
    assert (users < THRESHOLD).any() and (users >= THRESHOLD).any()
    resp = _report(emu, ["customEvent:payment_type"], ["eventCount"])
    assert resp.metadata.subject_to_thresholding is True
    assert table(resp).set_index("customEvent:payment_type")["eventCount"].to_dict() == \
        {k: float(counts[k]) for k in users.index if users[k] >= THRESHOLD}
    # item rows: the users of each item's rows (any ecommerce event) decide; totalUsers cannot be asked for
    items = emu.items.assign(user=emu.all["user_id"].to_numpy()[emu.items["row"].to_numpy()],
                             day=emu.all["day"].to_numpy()[emu.items["row"].to_numpy()],
                             event=emu.all["event_name"].to_numpy()[emu.items["row"].to_numpy()],
                             name=lambda f: not_set(f["item_name"].astype(str)))
    items = items[(items.day >= START) & (items.day <= END)]
    item_users = items.groupby("name")["user"].nunique()
    viewed = items[items.event == "view_item"].groupby("name")["quantity"].sum()
    threshold = int(item_users.median())  # items have more users than the event rows above: a higher bar
    monkeypatch.setattr(emu.data, "limits", dataclasses.replace(emu.data.limits, threshold_users=threshold))
    assert (item_users < threshold).any() and (item_users >= threshold).any()
    got = table(_report(emu, ["itemName"], ["itemsViewed"])).set_index("itemName")["itemsViewed"].to_dict()
    assert got == {k: float(v) for k, v in viewed.items() if v and item_users[k] >= threshold}
    with pytest.raises(gexc.InvalidArgument, match="Please remove totalUsers"):
        _report(emu, ["itemName"], ["totalUsers"])


def _folded(raw, dims, limit):
    """Per day, the combinations beyond ``limit`` (by events, ties by labels) read "(other)"."""
    counts = raw.groupby(["day"] + dims).size().rename("n").reset_index()
    counts = counts.sort_values(["day", "n"] + dims, ascending=[True, False] + [True] * len(dims), kind="stable")
    counts["rank"] = counts.groupby("day").cumcount()
    folded = counts[counts["rank"] >= limit][["day"] + dims].assign(fold=True)
    out = raw.merge(folded, on=["day"] + dims, how="left")
    for c in dims:
        out[c] = out[c].where(out["fold"] != True, "(other)")  # noqa: E712
    return out


def test_the_other_row_folds_custom_and_key_event_dimensions(emu, monkeypatch):
    monkeypatch.setattr(emu.data, "limits", dataclasses.replace(emu.data.limits, other_row_rows=3))
    raw = emu.raw.assign(key=np.where(emu.raw.event_name.isin(["purchase", "add_to_cart"]), "true", "false"))
    resp = _report(emu, ["customEvent:payment_type", "isKeyEvent"], ["eventCount"])
    assert resp.metadata.data_loss_from_other_row is True
    ref = _folded(raw, ["payment", "key"], 3).groupby(["payment", "key"]).size()
    got = {(r.dimension_values[0].value, r.dimension_values[1].value): float(r.metric_values[0].value)
           for r in resp.rows}
    assert got == {k: float(v) for k, v in ref.items()} and ("(other)", "(other)") in got


def test_pivot_on_custom_and_key_event_dimensions(emu):
    resp = emu.beta.run_pivot_report(d.RunPivotReportRequest(
        property=f"properties/{emu.pid}", date_ranges=[d.DateRange(start_date=str(START), end_date=str(END))],
        dimensions=[d.Dimension(name="customEvent:payment_type"), d.Dimension(name="isKeyEvent")],
        metrics=[d.Metric(name="eventCount")],
        pivots=[d.Pivot(field_names=["customEvent:payment_type"], limit=10), d.Pivot(field_names=["isKeyEvent"],
                                                                                    limit=2)]))
    raw = emu.raw.assign(key=np.where(emu.raw.event_name.isin(["purchase", "add_to_cart"]), "true", "false"))
    exp = raw.groupby(["payment", "key"]).size()
    got = {(r.dimension_values[0].value, r.dimension_values[1].value): float(r.metric_values[0].value)
           for r in resp.rows}
    assert got == {k: float(v) for k, v in exp.items()}


def _walk(raw, first, second):
    """Closed two-step funnel per user (time order): the position of the first ``first`` event, then of the
    first later ``second`` event."""
    out = {}
    for u, g in raw.sort_values("ts", kind="stable").groupby("user_id", sort=False):
        g = g.reset_index(drop=True)
        hits = np.flatnonzero(g.event_name.to_numpy() == first)
        if not len(hits):
            continue
        later = [i for i in np.flatnonzero(g.event_name.to_numpy() == second) if i > hits[0]]
        out[u] = (g, hits[0], later[0] if later else None)
    return out


def test_funnel_next_action_on_page_titles_and_a_key_event_step(emu):
    raw = emu.raw
    step = a.FunnelFilterExpression(funnel_field_filter=a.FunnelFieldFilter(
        field_name="isKeyEvent", string_filter=a.StringFilter(value="true")))
    resp = emu.alpha.run_funnel_report(a.RunFunnelReportRequest(
        property=f"properties/{emu.pid}", date_ranges=[a.DateRange(start_date=str(START), end_date=str(END))],
        funnel=a.Funnel(steps=[
            a.FunnelStep(name="view", filter_expression=a.FunnelFilterExpression(
                funnel_event_filter=a.FunnelEventFilter(event_name="view_item"))),
            a.FunnelStep(name="key event", filter_expression=step)]),
        funnel_next_action=a.FunnelNextAction(next_action_dimension=a.Dimension(name="pageTitle"))))
    walks = _walk(raw.assign(event_name=np.where(raw.event_name.isin(["purchase", "add_to_cart"]), "KEY",
                                                 raw.event_name)), "view_item", "KEY")
    vis = table(resp.funnel_visualization)
    first = vis[vis.funnelStepName == "1. view"]
    assert first.iloc[0].funnelStepNextAction == "RESERVED_TOTAL" and first.iloc[0].activeUsers == len(walks)
    second = vis[vis.funnelStepName == "2. key event"]
    assert second.iloc[0].activeUsers == sum(1 for *_, nxt in walks.values() if nxt is not None) > 0
    # next action after view_item: the title of the user's next page_view / screen_view before the key event
    titles = {}
    for g, pos, nxt in walks.values():
        later = [i for i in range(pos + 1, len(g)) if g.event_name[i] in ("page_view", "screen_view")]
        if later and (nxt is None or later[0] < nxt):
            title = g.page_title[later[0]] or "(not set)"
            titles[title] = titles.get(title, 0) + 1
    top = sorted(titles.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(r.funnelStepNextAction, r.activeUsers) for r in first.iloc[1:].itertuples()] == \
        [(t, float(n)) for t, n in top] and top


def test_a_segment_filters_on_an_event_parameter_column(emu):
    """payment_type is a param: column of the event model; funnel segments read it."""
    seg = a.Segment(name="PayPal buyers", event_segment=a.EventSegment(
        event_inclusion_criteria=a.EventSegmentCriteria(and_condition_groups=[a.EventSegmentConditionGroup(
            segment_filter_expression=a.SegmentFilterExpression(segment_event_filter=a.SegmentEventFilter(
                event_name="purchase", segment_parameter_filter_expression=a.SegmentParameterFilterExpression(
                    segment_parameter_filter=a.SegmentParameterFilter(
                        event_parameter_name="payment_type",
                        string_filter=a.StringFilter(value="paypal"))))))])))
    resp = emu.alpha.run_funnel_report(a.RunFunnelReportRequest(
        property=f"properties/{emu.pid}", date_ranges=[a.DateRange(start_date=str(START), end_date=str(END))],
        segments=[seg], funnel=a.Funnel(steps=[a.FunnelStep(name="buy", filter_expression=a.FunnelFilterExpression(
            funnel_event_filter=a.FunnelEventFilter(event_name="purchase")))])))
    raw = emu.raw
    exp = raw[(raw.event_name == "purchase") & (raw.payment == "paypal")].user_id.nunique()
    got = table(resp.funnel_table)
    assert list(got.segment) == ["1. PayPal buyers"] and got.activeUsers.iloc[0] == exp > 0
    assert exp < raw[raw.event_name == "purchase"].user_id.nunique()


def test_cohort_fields_are_refused_outside_cohort_reports(emu):
    with pytest.raises(gexc.InvalidArgument, match="cohortNthWeek is only valid in a cohort report"):
        emu.beta.run_pivot_report(d.RunPivotReportRequest(
            property=f"properties/{emu.pid}", date_ranges=[d.DateRange(start_date=str(START), end_date=str(END))],
            dimensions=[d.Dimension(name="cohortNthWeek")], metrics=[d.Metric(name="eventCount")],
            pivots=[d.Pivot(field_names=["cohortNthWeek"], limit=5)]))
    with pytest.raises(gexc.InvalidArgument, match="cohortActiveUsers is only valid in a cohort report"):
        _report(emu, ["country"], ["eventCount"], metric_filter=_greater("cohortActiveUsers", 1))

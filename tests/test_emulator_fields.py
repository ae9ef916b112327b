"""Every dimension and metric the emulator models, through Google's real client over gRPC, against an
independent count of the same events in plain pandas (tests/emulator_reference.py); GA4's names the
emulator does not model answer UNIMPLEMENTED, unknown ones INVALID_ARGUMENT; GetMetadata lists what is
modelled."""

from __future__ import annotations

from datetime import date, timedelta

import grpc
import numpy as np
import pandas as pd
import pytest
from google.api_core import exceptions as gexc
from google.analytics import data_v1beta as d
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from ga4kit.emulator import Emulator
from ga4kit.emulator.events import items_of
from ga4kit.emulator.generator import generate_events
from emulator_reference import active_rows, engaged_sessions, host_of, in_days, not_set, path_of, raw_events, session_key

TODAY = date(2026, 11, 22)
TZ = "America/New_York"
START, END = TODAY - timedelta(days=28), TODAY - timedelta(days=1)
# Written independently of the emulator's geography table.
ISO = {"Germany": "DE", "Austria": "AT", "Switzerland": "CH", "Netherlands": "NL", "France": "FR",
       "United States": "US", "United Kingdom": "GB"}
CONTINENT = {c: "Americas" if c == "United States" else "Europe" for c in ISO}


@pytest.fixture(scope="module")
def emu():
    e = Emulator(demo=False, today=TODAY)
    account = e.admin.create_account("Fields")
    pid = e.admin.create_property(account, "Shop with apps", time_zone=TZ, currency="USD")
    e.admin.create_web_stream(pid, "web", "https://shop.example.com")
    e.admin.create_key_event(pid, "add_to_cart", "ONCE_PER_SESSION")
    e.admin.create_custom_dimension(pid, "payment_type", "Payment type", "EVENT")
    e.admin.create_custom_dimension(pid, "loyalty_tier", "Loyalty tier", "USER")
    e.admin.create_custom_metric(pid, "value", "Order value", "CURRENCY", restricted_metric_type=["REVENUE_DATA"])
    frame = generate_events(seed=21, days=45, users=1500, today=TODAY, time_zone=TZ, currency="USD", apps=0.3)
    e.store.replace(pid, frame)
    e.start()
    e.pid = pid
    e.client = d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(
        channel=grpc.insecure_channel(e.address)))
    all_events = raw_events(e, pid)
    e.all = all_events
    e.raw = in_days(all_events, START, END)
    e.key_events = e.admin.property_info(pid).key_events
    yield e
    e.stop(grace=None)


def run(emu, dims, mets, start=START.isoformat(), end=END.isoformat(), **kw):
    req = d.RunReportRequest(property=f"properties/{emu.pid}", dimensions=[d.Dimension(name=n) for n in dims],
                             metrics=[d.Metric(name=n) for n in mets], limit=100_000,
                             date_ranges=kw.pop("date_ranges", None) or [d.DateRange(start_date=start, end_date=end)],
                             **kw)
    return emu.client.run_report(req)


def table(resp) -> pd.DataFrame:
    dims = [h.name for h in resp.dimension_headers]
    mets = [h.name for h in resp.metric_headers]
    rows = [[v.value for v in r.dimension_values] + [float(v.value) for v in r.metric_values] for r in resp.rows]
    return pd.DataFrame(rows, columns=dims + mets)


def landing(all_events: pd.DataFrame, fn) -> pd.Series:
    """Per event: ``fn`` of the page_location of its session's first page or screen view."""
    views = all_events[all_events["event_name"].isin(["page_view", "screen_view"])].sort_values("ts", kind="stable")
    first = views.assign(s=session_key(views)).drop_duplicates("s").set_index("s")["page_location"]
    return session_key(all_events).map(first.map(fn)).fillna("(not set)")


def path_query(url: str) -> str:
    from urllib.parse import urlsplit
    if not url:
        return "(not set)"
    p = urlsplit(url)
    return (p.path or "/") + (f"?{p.query}" if p.query else "")


def first_session_date(all_events: pd.DataFrame) -> pd.Series:
    fv = all_events[all_events["event_name"].isin(["first_visit", "first_open"])]
    return all_events["user_id"].map(fv.groupby("user_id")["date"].min()).fillna("(not set)")


# label of each event for a dimension, computed from the raw strings
REFERENCE = {
    "eventName": lambda r, a: r["event_name"],
    "hour": lambda r, a: r["hour"],
    "minute": lambda r, a: pd.to_datetime(r["ts"], unit="us", utc=True).dt.tz_convert(TZ).dt.strftime("%M"),
    "dateHour": lambda r, a: r["date"] + r["hour"],
    "dateHourMinute": lambda r, a: pd.to_datetime(r["ts"], unit="us", utc=True).dt.tz_convert(TZ)
    .dt.strftime("%Y%m%d%H%M"),
    "country": lambda r, a: not_set(r["country"]),
    "countryId": lambda r, a: r["country"].map(ISO).fillna("(not set)"),
    "continent": lambda r, a: r["country"].map(CONTINENT).fillna("(not set)"),
    "region": lambda r, a: not_set(r["region"]),
    "city": lambda r, a: not_set(r["city"]),
    "platform": lambda r, a: r["platform"],
    "deviceCategory": lambda r, a: r["device_category"],
    "platformDeviceCategory": lambda r, a: r["platform"] + " / " + r["device_category"],
    "operatingSystem": lambda r, a: r["operating_system"],
    "browser": lambda r, a: not_set(r["browser"]),
    "pageLocation": lambda r, a: not_set(r["page_location"]),
    "pagePath": lambda r, a: r["page_location"].map(path_of),
    "pagePathPlusQueryString": lambda r, a: r["page_location"].map(path_query),
    "fullPageUrl": lambda r, a: r["page_location"].map(lambda u: (host_of(u) + path_query(u)) if u else "(not set)"),
    "hostName": lambda r, a: r["page_location"].map(host_of),
    "pageTitle": lambda r, a: not_set(r["page_title"]),
    "pageReferrer": lambda r, a: not_set(r["page_referrer"]),
    "landingPage": lambda r, a: landing(a, path_of).loc[r.index],
    "landingPagePlusQueryString": lambda r, a: landing(a, path_query).loc[r.index],
    "sessionSource": lambda r, a: r["source"],
    "sessionMedium": lambda r, a: r["medium"],
    "sessionSourceMedium": lambda r, a: r["source"] + " / " + r["medium"],
    "sessionCampaignName": lambda r, a: r["campaign"],
    "sessionDefaultChannelGroup": lambda r, a: r["channel_group"],
    "firstUserSource": lambda r, a: r["first_source"],
    "firstUserMedium": lambda r, a: r["first_medium"],
    "firstUserSourceMedium": lambda r, a: r["first_source"] + " / " + r["first_medium"],
    "firstUserCampaignName": lambda r, a: r["first_campaign"],
    "firstUserDefaultChannelGroup": lambda r, a: r["first_channel_group"],
    "newVsReturning": lambda r, a: np.where(r["session_number"] == 1, "new",
                                            np.where(r["session_number"] > 1, "returning", "(not set)")),
    "transactionId": lambda r, a: not_set(r["transaction_id"]),
    "currencyCode": lambda r, a: not_set(r["currency"]),
    "isKeyEvent": lambda r, a: np.where(r["event_name"].isin(["purchase", "add_to_cart"]), "true", "false"),
    "firstSessionDate": lambda r, a: first_session_date(a).loc[r.index],
    "customEvent:payment_type": lambda r, a: not_set(r["param:payment_type"]),
}


@pytest.mark.parametrize("dim", sorted(REFERENCE))
def test_dimension_matches_an_independent_count(emu, dim):
    got = table(run(emu, [dim], ["eventCount", "totalUsers"])).set_index(dim)
    raw = emu.raw
    labels = pd.Series(np.asarray(REFERENCE[dim](raw, emu.all)), index=raw.index)
    exp = raw.assign(label=labels).groupby("label").agg(events=("ts", "size"), users=("user_id", "nunique"))
    assert got["eventCount"].sort_index().to_dict() == exp["events"].astype(float).sort_index().to_dict()
    assert got["totalUsers"].sort_index().to_dict() == exp["users"].astype(float).sort_index().to_dict()
    assert len(got) > 1 or dim in ("currencyCode",)  # the dimension splits the data


def test_the_model_has_what_the_dimensions_need(emu):
    raw = emu.raw
    assert {"web", "Android", "iOS"} <= set(raw["platform"])
    assert raw["page_location"].str.contains("?utm_source=", regex=False).any()  # query strings
    assert raw["page_location"].map(host_of).nunique() >= 2  # the blog has its own host
    assert (raw["city"] == "").any() and raw["city"].nunique() > 5
    assert (raw["source"] != raw["first_source"]).any()  # later sessions come from elsewhere
    assert raw["transaction_id"].str.len().gt(0).sum() == raw["event_name"].isin(["purchase", "in_app_purchase"]).sum()


METRIC_GROUPS = [
    ["sessions", "engagedSessions", "engagementRate", "bounceRate", "averageSessionDuration",
     "userEngagementDuration", "activeUsers", "totalUsers", "newUsers", "sessionsPerUser"],
    ["screenPageViews", "screenPageViewsPerSession", "screenPageViewsPerUser", "scrolledUsers", "addToCarts",
     "checkouts", "ecommercePurchases", "transactions", "totalPurchasers", "purchaserRate"],
    ["transactionsPerPurchaser", "purchaseRevenue", "totalRevenue", "averagePurchaseRevenue",
     "averagePurchaseRevenuePerUser", "averageRevenuePerUser", "keyEvents", "sessionKeyEventRate",
     "userKeyEventRate", "eventCountPerUser"],
    ["eventsPerSession", "eventValue", "eventCount", "keyEvents:add_to_cart", "sessionKeyEventRate:purchase",
     "userKeyEventRate:add_to_cart", "customEvent:value", "conversions", "sessionConversionRate"],
]


def reference_metrics(raw: pd.DataFrame, all_events: pd.DataFrame, key_events) -> pd.DataFrame:
    """Every metric of METRIC_GROUPS per session default channel group, from GA4's definitions."""
    r = raw.assign(s=session_key(raw), active=active_rows(raw, all_events, key_events))
    engaged = engaged_sessions(all_events, key_events)
    # a session's duration: its first to last event (all of its events)
    a = all_events.assign(s=session_key(all_events))
    span = a.groupby("s")["ts"].agg(lambda t: (t.max() - t.min()) / 1e6)
    key_sessions = set(a.loc[a["event_name"].isin(list(key_events)), "s"])
    purchase_sessions = set(a.loc[a["event_name"] == "purchase", "s"])
    tx_events = ["purchase", "in_app_purchase", "ecommerce_purchase", "app_store_subscription_convert",
                 "app_store_subscription_renew"]
    out = {}
    for ch, g in r.groupby("channel_group"):
        sess = g["s"].unique()
        act = g.loc[g["active"], "user_id"].nunique()
        ev = g["event_name"]
        views = ev.isin(["page_view", "screen_view"]).sum()
        purchasers = g.loc[ev == "purchase", "user_id"].nunique()
        tx = ev.isin(tx_events).sum()
        revenue = g.loc[ev.isin(tx_events), "value"].sum()
        key = (ev == "purchase").sum() + g.loc[ev == "add_to_cart", "s"].nunique()  # add_to_cart once per session
        n_eng = sum(s in engaged for s in sess)
        key_users = g.loc[g["active"] & ev.isin(list(key_events)), "user_id"].nunique()

        def div(x, y):
            return x / y if y else 0.0
        out[ch] = {
            "sessions": len(sess), "engagedSessions": n_eng, "engagementRate": div(n_eng, len(sess)),
            "bounceRate": div(len(sess) - n_eng, len(sess)),
            "averageSessionDuration": div(span.loc[sess].sum(), len(sess)),
            "userEngagementDuration": g["engagement_time_msec"].sum() / 1000,
            "activeUsers": act, "totalUsers": g["user_id"].nunique(),
            "newUsers": g.loc[ev.isin(["first_visit", "first_open"]), "user_id"].nunique(),
            "sessionsPerUser": div(len(sess), act), "screenPageViews": views,
            "screenPageViewsPerSession": div(views, len(sess)), "screenPageViewsPerUser": div(views, act),
            "scrolledUsers": g.loc[ev == "scroll", "user_id"].nunique(), "addToCarts": (ev == "add_to_cart").sum(),
            "checkouts": (ev == "begin_checkout").sum(), "ecommercePurchases": (ev == "purchase").sum(),
            "transactions": tx, "totalPurchasers": purchasers, "purchaserRate": div(purchasers, act),
            "transactionsPerPurchaser": div(tx, purchasers), "purchaseRevenue": revenue, "totalRevenue": revenue,
            "averagePurchaseRevenue": div(revenue, tx), "averagePurchaseRevenuePerUser": div(revenue, act),
            "averageRevenuePerUser": div(revenue, act), "keyEvents": key,
            "sessionKeyEventRate": div(sum(s in key_sessions for s in sess), len(sess)),
            "userKeyEventRate": div(key_users, act), "eventCountPerUser": div(len(g), act),
            "eventsPerSession": div(len(g), len(sess)), "eventValue": g["value"].sum(), "eventCount": len(g),
            "keyEvents:add_to_cart": g.loc[ev == "add_to_cart", "s"].nunique(),
            "sessionKeyEventRate:purchase": div(sum(s in purchase_sessions for s in sess), len(sess)),
            "userKeyEventRate:add_to_cart": div(g.loc[g["active"] & (ev == "add_to_cart"), "user_id"].nunique(), act),
            "customEvent:value": g["value"].sum(), "conversions": key,
            "sessionConversionRate": div(sum(s in key_sessions for s in sess), len(sess)),
        }
    return pd.DataFrame(out).T


@pytest.mark.parametrize("metrics", METRIC_GROUPS, ids=lambda m: m[0])
def test_metrics_match_an_independent_count(emu, metrics):
    resp = run(emu, ["sessionDefaultChannelGroup"], metrics)
    got = table(resp).set_index("sessionDefaultChannelGroup").sort_index()
    exp = reference_metrics(emu.raw, emu.all, emu.key_events).loc[got.index, metrics].astype(float)
    for m in metrics:
        np.testing.assert_allclose(got[m].to_numpy(), exp[m].to_numpy(), rtol=1e-9, atol=0.006, err_msg=m)
    types = {h.name: h.type_.name for h in resp.metric_headers}
    assert types.get("averageSessionDuration", "TYPE_SECONDS") == "TYPE_SECONDS"
    assert types.get("bounceRate", "TYPE_FLOAT") == "TYPE_FLOAT"
    assert types.get("customEvent:value", "TYPE_CURRENCY") == "TYPE_CURRENCY"


def test_engagement_separates_active_from_total_users(emu):
    t = table(run(emu, [], ["activeUsers", "totalUsers", "engagedSessions", "sessions", "bounceRate"]))
    row = t.iloc[0]
    assert 0 < row["activeUsers"] < row["totalUsers"]  # returning users with only an unengaged session
    assert 0 < row["engagedSessions"] < row["sessions"] and 0.2 < row["bounceRate"] < 0.6


def items_frame(emu) -> pd.DataFrame:
    """Item rows joined to their event (by position in the stored frame), in the report's date range."""
    frame = emu.store.frame(emu.pid)
    items = items_of(frame).astype({c: str for c in ("item_id", "item_name", "item_brand", "item_category")})
    ev = emu.all.iloc[items["row"].to_numpy()].reset_index(drop=True)
    out = pd.concat([items.reset_index(drop=True), ev[["event_name", "day", "date", "country"]]], axis=1)
    return out[(out["day"] >= START) & (out["day"] <= END)]


@pytest.mark.parametrize("dim", ["itemName", "itemId", "itemCategory", "itemBrand"])
def test_item_scoped_fields_count_items_not_events(emu, dim):
    col = {"itemName": "item_name", "itemId": "item_id", "itemCategory": "item_category", "itemBrand": "item_brand"}[dim]
    mets = ["itemRevenue", "itemsPurchased", "itemsViewed", "itemsAddedToCart", "itemsCheckedOut"]
    got = table(run(emu, [dim], mets)).set_index(dim).sort_index()
    it = items_frame(emu)
    qty = it["quantity"]
    exp = pd.DataFrame({
        "itemRevenue": (qty * it["price"]).where(it["event_name"] == "purchase", 0),
        "itemsPurchased": qty.where(it["event_name"] == "purchase", 0),
        "itemsViewed": qty.where(it["event_name"] == "view_item", 0),
        "itemsAddedToCart": qty.where(it["event_name"] == "add_to_cart", 0),
        "itemsCheckedOut": qty.where(it["event_name"] == "begin_checkout", 0),
    }).groupby(it[col]).sum().sort_index()
    exp = exp[(exp != 0).any(axis=1)]
    assert list(got.index) == list(exp.index)
    np.testing.assert_allclose(got.to_numpy(), exp[mets].to_numpy(), rtol=1e-9)
    # a purchase with two products counts both: more items purchased than purchases
    assert got["itemsPurchased"].sum() > (emu.raw["event_name"] == "purchase").sum()


def test_item_metrics_by_event_dimensions_and_item_filters(emu):
    it = items_frame(emu)
    buys = it[it["event_name"] == "purchase"]
    got = table(run(emu, ["date"], ["itemRevenue", "ecommercePurchases"])).set_index("date")
    exp = (buys["quantity"] * buys["price"]).groupby(buys["date"]).sum()
    np.testing.assert_allclose(got["itemRevenue"].reindex(exp.index).to_numpy(), exp.to_numpy(), rtol=1e-9)
    assert got["ecommercePurchases"].sum() == (emu.raw["event_name"] == "purchase").sum()
    flt = d.FilterExpression(filter=d.Filter(field_name="itemCategory", string_filter=d.Filter.StringFilter(
        value="Accessories")))
    got = table(run(emu, ["country"], ["itemsPurchased"], dimension_filter=flt)).set_index("country")
    sub = buys[buys["item_category"] == "Accessories"]
    assert got["itemsPurchased"].to_dict() == sub.groupby("country")["quantity"].sum().astype(float).to_dict()
    with pytest.raises(gexc.InvalidArgument, match="eventCount"):  # item dimensions go with item metrics only
        run(emu, ["itemName"], ["eventCount"])


ROLLING = {"active1DayUsers": 1, "active7DayUsers": 7, "active28DayUsers": 28}


def rolling(emu, days: int, end: date, mask=None) -> int:
    a = emu.all
    active = a[active_rows(a, a, emu.key_events)]
    if mask is not None:
        active = active[mask(active)]
    w = active[(active["day"] > end - timedelta(days=days)) & (active["day"] <= end)]
    return w["user_id"].nunique()


def test_rolling_active_users_and_ratios(emu):
    mets = list(ROLLING) + ["dauPerMau", "dauPerWau", "wauPerMau"]
    start = END - timedelta(days=6)
    got = table(run(emu, [], mets, start=start.isoformat())).iloc[0]
    for m, n in ROLLING.items():
        assert got[m] == rolling(emu, n, END), m  # the window reaches back before the date range
    assert got["dauPerMau"] == pytest.approx(rolling(emu, 1, END) / rolling(emu, 30, END))
    assert got["wauPerMau"] == pytest.approx(rolling(emu, 7, END) / rolling(emu, 30, END))
    by_day = table(run(emu, ["date"], ["active7DayUsers", "active1DayUsers"], start=start.isoformat()))
    for _, row in by_day.iterrows():
        day = date(int(row["date"][:4]), int(row["date"][4:6]), int(row["date"][6:]))
        assert row["active7DayUsers"] == rolling(emu, 7, day)
        assert row["active1DayUsers"] == rolling(emu, 1, day)
    by_country = table(run(emu, ["country"], ["active28DayUsers"], start=start.isoformat())).set_index("country")
    for country, v in by_country["active28DayUsers"].items():
        assert v == rolling(emu, 28, END, lambda x, c=country: x["country"] == c)


@pytest.mark.parametrize("name,kind", [("sessionGoogleAdsCampaignName", "dimension"), ("itemListName", "dimension"),
                                       ("unifiedScreenName", "dimension"), ("advertiserAdCost", "metric"),
                                       ("firstTimePurchasers", "metric"), ("customUser:loyalty_tier", "dimension")])
def test_valid_ga4_names_not_modelled_answer_unimplemented(emu, name, kind):
    dims, mets = ([name], ["eventCount"]) if kind == "dimension" else (["eventName"], [name])
    with pytest.raises(gexc.MethodNotImplemented, match=name):
        run(emu, dims, mets)


@pytest.mark.parametrize("dims,mets,message", [
    (["cityName"], ["eventCount"], "Field cityName is not a valid dimension"),
    (["eventName"], ["bounces"], "Field bounces is not a valid metric"),
    (["customEvent:not_registered"], ["eventCount"], "Field customEvent:not_registered is not a valid dimension"),
])
def test_unknown_names_are_invalid(emu, dims, mets, message):
    with pytest.raises(gexc.InvalidArgument, match=message):
        run(emu, dims, mets)


def test_deprecated_names_are_still_answered(emu):
    got = table(run(emu, ["isConversionEvent"], ["conversions", "keyEvents", "eventCount"]))
    assert list(got.columns) == ["isConversionEvent", "conversions", "keyEvents", "eventCount"]
    assert (got["conversions"] == got["keyEvents"]).all() and set(got["isConversionEvent"]) == {"true", "false"}


def test_metadata_lists_what_is_modelled(emu):
    md = emu.client.get_metadata(d.GetMetadataRequest(name=f"properties/{emu.pid}/metadata"))
    dims = {m.api_name: m for m in md.dimensions}
    mets = {m.api_name: m for m in md.metrics}
    assert set(REFERENCE) <= set(dims) | {"customEvent:payment_type"}
    assert dims["customEvent:payment_type"].custom_definition and dims["city"].category == "Geography"
    assert "customUser:loyalty_tier" not in dims  # user properties are not modelled
    assert {m for group in METRIC_GROUPS for m in group if ":" not in m and "Conversion" not in m
            and m != "conversions"} <= set(mets)
    assert mets["averageSessionDuration"].type_.name == "TYPE_SECONDS"
    assert mets["customEvent:value"].type_.name == "TYPE_CURRENCY" and mets["customEvent:value"].custom_definition
    assert list(mets["keyEvents"].deprecated_api_names) == ["conversions"]
    assert "keyEvents:add_to_cart" in mets and "sessionKeyEventRate:purchase" in mets
    assert all(m.description for m in md.metrics if not m.custom_definition)
    assert all(m.ui_name for m in md.dimensions)
    every = emu.client.get_metadata(d.GetMetadataRequest(name="properties/0/metadata"))
    assert not any(m.custom_definition for m in every.dimensions) and len(every.dimensions) == len(dims) - 1
    # the cohort fields are listed too (they need a cohortSpec: test_emulator_cohorts.py)
    assert {n for n, m in dims.items() if m.category == "Cohort"} == {"cohort", "cohortNthDay", "cohortNthWeek",
                                                                       "cohortNthMonth"}
    assert {n for n, m in mets.items() if m.category == "Cohort"} == {"cohortActiveUsers", "cohortTotalUsers"}
    # everything else listed can be asked for
    for name in [n for n in dims if n != "dateRange" and dims[n].category != "Cohort"]:
        run(emu, [name], ["itemsViewed"] if name.startswith("item") else ["eventCount"])

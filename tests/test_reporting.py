"""Reporting end to end: pull through the real Data API clients from the emulator, chains and flags, checked
against numbers computed independently in the test from the emulator's raw events."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from ga4kit import chains as C
from ga4kit.config import load_text
from ga4kit.connect import make_clients
from ga4kit.errors import QuotaExhaustedError
from ga4kit.reporting import pull
from ga4kit.reporting.analysis import analyse

TODAY = dt.date(2026, 11, 22)
TZ = "Europe/Berlin"
SEG = "sessionDefaultChannelGroup"
BROKEN_FROM = TODAY - dt.timedelta(days=10)

GOALS = """
version: 1
properties: [{id: "1", label: Shop}]
goals:
  - {event: view_item, type: micro, kind: milestone}
  - {event: add_to_cart, type: micro, kind: milestone}
  - {event: begin_checkout, type: micro, kind: milestone}
  - {event: newsletter_signup, type: micro, kind: secondary}
  - {event: purchase, type: macro}
chains:
  - {name: checkout, steps: [view_item, add_to_cart, begin_checkout, purchase]}
report: {segments: [sessionDefaultChannelGroup], range: {start: 28daysAgo, end: yesterday}}
"""


@pytest.fixture(scope="module")
def shop():
    from ga4kit.emulator import Emulator

    emu = Emulator(days=70, users=3000, seed=7, today=TODAY, broken={"add_to_cart": BROKEN_FROM})
    emu.start()
    pid = emu.admin.property_ids()[0]
    cfg = load_text(GOALS)
    cfg = dataclasses.replace(cfg, properties=(dataclasses.replace(cfg.properties[0], id=pid),))
    clients = make_clients(emulator=emu.address)
    yield emu, pid, cfg, clients
    clients.close()
    emu.stop(grace=None)


def raw_events(emu, pid) -> pd.DataFrame:
    df = emu.store.frame(pid).copy()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(str)
    df["day"] = pd.to_datetime(df["ts"], unit="us", utc=True).dt.tz_convert(TZ).dt.date
    return df


def window(df, start, end):
    return df[(df["day"] >= start) & (df["day"] <= end)]


def expected_counts(df, by):
    """eventCount and distinct users per group, computed directly from event rows."""
    g = df.groupby(by, observed=True)
    return pd.DataFrame({"event_count": g.size(), "users": g["user_id"].nunique()})


def test_range_grain_matches_raw_events_per_segment_and_overall(shop):
    emu, pid, cfg, clients = shop
    res = pull(cfg, clients, today=TODAY)
    assert res.errors == {}
    start, end = TODAY - dt.timedelta(days=28), TODAY - dt.timedelta(days=1)
    assert (res.start, res.end) == (start, end)
    raw = window(raw_events(emu, pid), start, end)
    goals = raw[raw["event_name"].isin([g.event for g in cfg.goals])]

    want = expected_counts(goals, ["channel_group", "event_name"])
    got = res.events[res.events[SEG] != "(all)"].set_index([SEG, "event"])[["event_count", "users"]]
    got.index.names = want.index.names
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False)

    want_all = expected_counts(goals, ["event_name"])
    got_all = res.events[res.events[SEG] == "(all)"].set_index("event")[["event_count", "users"]]
    pd.testing.assert_frame_equal(got_all.sort_index(), want_all.rename_axis("event").sort_index(),
                                  check_dtype=False)

    base = res.baseline.set_index(SEG)
    assert base.loc["(all)", "users"] == raw["user_id"].nunique()
    assert base.loc["(all)", "sessions"] == raw[["user_id", "session_id"]].drop_duplicates().shape[0]
    for channel, users in raw.groupby("channel_group", observed=True)["user_id"].nunique().items():
        assert base.loc[channel, "users"] == users
    # users are not additive: the sum over channels exceeds the distinct total when users switch channels
    assert base.drop("(all)")["users"].sum() >= base.loc["(all)", "users"]


def test_day_grain_matches_raw_events(shop):
    emu, pid, cfg, clients = shop
    res = pull(cfg, clients, grain="day", start="14daysAgo", end="yesterday", today=TODAY)
    raw = window(raw_events(emu, pid), TODAY - dt.timedelta(days=14), TODAY - dt.timedelta(days=1))
    goals = raw[raw["event_name"].isin([g.event for g in cfg.goals])]
    want = expected_counts(goals, ["day", "channel_group", "event_name"]).reset_index()
    want["day"] = want["day"].astype(str)
    got = res.events[res.events[SEG] != "(all)"].rename(columns={"period": "day", SEG: "channel_group",
                                                                 "event": "event_name"})
    merged = want.merge(got, on=["day", "channel_group", "event_name"], how="outer", suffixes=("_want", ""))
    assert merged["event_count"].notna().all() and merged["event_count_want"].notna().all()
    assert (merged["event_count"] == merged["event_count_want"]).all()
    assert (merged["users"] == merged["users_want"]).all()
    assert sorted(res.events["period"].unique()) == sorted(want["day"].unique())


@pytest.mark.parametrize("grain", ["week", "month"])
def test_week_and_month_grains_match_raw_events_per_clipped_period(shop, grain):
    # One request per property (isoYearIsoWeek / yearMonth): users are still exact per period, and the first
    # and last periods are clipped to the range.
    emu, pid, cfg, clients = shop
    start, end = TODAY - dt.timedelta(days=45), TODAY - dt.timedelta(days=1)
    before = len(clients.calls)
    res = pull(cfg, clients, grain=grain, start=str(start), end=str(end), today=TODAY)
    assert clients.calls[before:].count("batch_run_reports") == 1  # a single Data API request
    raw = window(raw_events(emu, pid), start, end)
    raw = raw[raw["event_name"].isin([g.event for g in cfg.goals])].copy()
    days = pd.to_datetime(raw["day"])
    first = days - pd.to_timedelta(days.dt.day_of_week, unit="D") if grain == "week" else days.dt.to_period("M") \
        .dt.start_time
    raw["period_start"] = first.where(first >= pd.Timestamp(start), pd.Timestamp(start)).dt.normalize()
    want = expected_counts(raw, ["period_start", "event_name"]).reset_index()
    got = res.events[res.events[SEG] == "(all)"].rename(columns={"event": "event_name"})
    got = got.assign(period_start=pd.to_datetime(got["period_start"]))
    merged = want.merge(got, on=["period_start", "event_name"], how="outer", suffixes=("_want", ""))
    assert merged["event_count"].notna().all() and merged["event_count_want"].notna().all(), merged
    assert (merged["event_count"] == merged["event_count_want"]).all()
    assert (merged["users"] == merged["users_want"]).all()
    assert got["period_end"].max() == pd.Timestamp(end) and got["period_start"].min() == pd.Timestamp(start)


def test_chain_numbers_and_previous_period_from_raw_events(shop):
    emu, pid, cfg, clients = shop
    a = analyse(cfg, clients, today=TODAY, compare_previous=True)
    start, end = TODAY - dt.timedelta(days=28), TODAY - dt.timedelta(days=1)
    raw = raw_events(emu, pid)
    cur = window(raw, start, end)
    prev = window(raw, start - dt.timedelta(days=28), start - dt.timedelta(days=1))
    steps = cfg.chains[0].steps
    for channel in ("(all)", "Organic Search"):
        sel = cur if channel == "(all)" else cur[cur["channel_group"] == channel]
        psel = prev if channel == "(all)" else prev[prev["channel_group"] == channel]
        users = [sel.loc[sel["event_name"] == s, "user_id"].nunique() for s in steps]
        prev_users = [psel.loc[psel["event_name"] == s, "user_id"].nunique() for s in steps]
        all_users = sel["user_id"].nunique()
        rows = a.chains[(a.chains[SEG] == channel)].sort_values("step_index")
        assert list(rows["step"]) == list(steps)
        assert list(rows["users"]) == users
        assert list(rows["users_prev"]) == prev_users
        assert rows["rate_from_previous"].iloc[1] == pytest.approx(users[1] / users[0])
        assert rows["rate_from_first"].iloc[3] == pytest.approx(users[3] / users[0])
        assert rows["drop_off"].iloc[2] == users[1] - users[2]
        assert rows["rate_over_all_users"].iloc[0] == pytest.approx(users[0] / all_users)
        assert rows["macro_per_step_user"].iloc[0] == pytest.approx(users[3] / users[0])
        assert rows["change_abs"].iloc[3] == users[3] - prev_users[3]


def test_broken_tracking_is_flagged_and_healthy_goals_are_not(shop):
    emu, pid, cfg, clients = shop
    a = analyse(cfg, clients, today=TODAY)
    broken = a.flags[(a.flags["flag"] == "broken_tracking") & (a.flags[SEG] == "(all)")]
    assert list(broken["event"]) == ["add_to_cart"]
    assert broken["period"].iloc[0] == str(BROKEN_FROM)
    assert "add_to_cart" in broken["message"].iloc[0]


def test_api_calls_per_pull(shop):
    emu, pid, cfg, clients = shop
    emu.reset_calls()
    pull(cfg, clients, today=TODAY)
    assert [c.method for c in emu.calls] == ["GetProperty", "BatchRunReports"]
    emu.reset_calls()
    # 9 weeks + partial weeks at both ends -> 10 periods, one isoYearIsoWeek dimension: still one request
    # (it took 3 when weeks were date ranges, 4 per report).
    res = pull(cfg, clients, grain="week", start="2026-09-20", end="2026-11-21", today=TODAY)
    assert res.events["period"].nunique() == 10
    assert [c.method for c in emu.calls] == ["GetProperty", "BatchRunReports"]


def test_paging_when_rows_do_not_fit_in_one_page(shop, monkeypatch):
    emu, pid, cfg, clients = shop
    whole = pull(cfg, clients, grain="day", today=TODAY)
    import importlib

    pull_module = importlib.import_module("ga4kit.reporting.pull")

    monkeypatch.setattr(pull_module, "PAGE", 50)
    emu.reset_calls()
    paged = pull(cfg, clients, grain="day", today=TODAY)
    methods = [c.method for c in emu.calls]
    assert methods.count("RunReport") > 4
    pd.testing.assert_frame_equal(paged.events, whole.events)
    pd.testing.assert_frame_equal(paged.baseline, whole.baseline)


def test_exact_funnel_matches_an_in_order_count(shop):
    emu, pid, cfg, clients = shop
    a = analyse(cfg, clients, today=TODAY, exact=True, compare_previous=False)
    start, end = TODAY - dt.timedelta(days=28), TODAY - dt.timedelta(days=1)
    raw = window(raw_events(emu, pid), start, end).sort_values(["user_id", "ts"], kind="stable")
    steps = cfg.chains[0].steps
    reached = [0] * len(steps)
    for _, seq in raw.groupby("user_id", sort=False)["event_name"]:
        k = 0
        for name in seq:
            if k < len(steps) and name == steps[k]:
                reached[k] += 1
                k += 1
    rows = a.chains[a.chains[SEG] == "(all)"].sort_values("step_index")
    assert list(rows["users_exact"]) == reached
    assert (rows["users_exact"] <= rows["users"]).all()
    assert "exact_sampled" not in set(a.flags["flag"])  # an unsampled funnel is not flagged


def test_a_sampled_closed_funnel_is_flagged_as_an_estimate():
    from ga4kit.emulator import Emulator

    with Emulator(days=35, users=400, seed=8, today=TODAY, data_limits={"funnel_sampling_events": 2_000}) as emu:
        pid = emu.admin.property_ids()[0]
        cfg = load_text(GOALS)
        cfg = dataclasses.replace(cfg, properties=(dataclasses.replace(cfg.properties[0], id=pid),))
        with make_clients(emulator=emu.address) as clients:
            a = analyse(cfg, clients, today=TODAY, exact=True, compare_previous=False)
    sampled = a.flags[a.flags["flag"] == "exact_sampled"]
    assert len(sampled) == 1, a.flags
    row = sampled.iloc[0]
    assert (row["property"], row["severity"]) == (pid, "warning")
    assert "chain 'checkout'" in row["message"] and "estimates" in row["message"]


def test_permission_denied_on_one_property_keeps_the_others(shop):
    emu, pid, cfg, clients = shop
    other = emu.admin.create_property(emu.admin.account_ids()[0], "Locked")
    emu.admin.set_access(other, ["someone@else.example"])
    res = pull(cfg, clients, properties=[pid, other], today=TODAY)
    assert set(res.metadata) == {pid}
    assert "Property access management" in str(res.errors[other])
    assert set(res.events["property"]) == {pid}


def test_quota_exhaustion_names_the_quota():
    from ga4kit.emulator import Emulator
    from ga4kit.emulator.quota import QuotaLedger

    with Emulator(days=35, users=300, today=TODAY, quota=QuotaLedger(limits={"tokens_per_hour": 3})) as emu:
        pid = emu.admin.property_ids()[0]
        cfg = load_text(GOALS)
        cfg = dataclasses.replace(cfg, properties=(dataclasses.replace(cfg.properties[0], id=pid),))
        with make_clients(emulator=emu.address) as clients:
            first = pull(cfg, clients, today=TODAY)
            second = pull(cfg, clients, today=TODAY)
    errs = list(first.errors.values()) + list(second.errors.values())
    assert errs, "a 3-token hourly quota must run out"
    assert isinstance(errs[0], QuotaExhaustedError)
    assert "tokens per hour" in errs[0].hint and "within the hour" in errs[0].hint


def test_goal_summary_covers_goals_that_never_fired(shop):
    emu, pid, cfg, clients = shop
    extra = load_text(GOALS.replace("  - {event: purchase, type: macro}",
                                    "  - {event: purchase, type: macro}\n  - {event: never_sent, type: micro, "
                                    "kind: secondary}"))
    extra = dataclasses.replace(extra, properties=cfg.properties)
    res = pull(extra, clients, today=TODAY)
    summary = C.goal_summary(res.events, res.baseline, extra, [SEG])
    never = summary[(summary["event"] == "never_sent") & (summary[SEG] == "(all)")]
    assert len(never) == 1 and never["users"].iloc[0] == 0


def test_exact_per_week_and_too_many_periods(shop):
    from ga4kit.errors import Ga4kitError

    emu, pid, cfg, clients = shop
    emu.reset_calls()
    a = analyse(cfg, clients, today=TODAY, exact=True, compare_previous=False, grain="week",
                start="2026-11-02", end="2026-11-15", flags_history=False)
    assert [c.method for c in emu.calls].count("RunFunnelReport") == 2  # one per week
    week = a.chains[(a.chains[SEG] == "(all)") & (a.chains["period"] == "2026-11-09..2026-11-15")]
    raw = window(raw_events(emu, pid), dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    first = raw.loc[raw["event_name"] == "view_item", "user_id"].nunique()
    assert week.sort_values("step_index")["users_exact"].iloc[0] == first
    with pytest.raises(Ga4kitError, match="coarser grain"):
        analyse(cfg, clients, today=TODAY, exact=True, compare_previous=False, grain="day", flags_history=False)


def test_the_same_property_twice_is_pulled_once_and_chains_work(shop):
    emu, pid, cfg, clients = shop
    emu.reset_calls()
    res = pull(cfg, clients, properties=[pid, f"properties/{pid}", pid], today=TODAY)
    assert [c.method for c in emu.calls] == ["GetProperty", "BatchRunReports"]
    assert list(res.metadata) == [pid] and not res.events.duplicated(["property", "period", SEG, "event"]).any()
    a = analyse(cfg, clients, properties=[pid, f"properties/{pid}"], today=TODAY)  # raised ValueError before
    assert len(a.chains) and set(a.chains["property"]) == {pid}


def test_each_property_records_its_window_name_and_currency(shop):
    emu, pid, cfg, clients = shop
    res = pull(cfg, clients, start="2026-11-13", end="2026-11-20", grain="week", today=TODAY,
               compare_previous=True)
    meta = res.metadata[pid]
    assert (meta.start, meta.end) == (dt.date(2026, 11, 13), dt.date(2026, 11, 20))  # as asked
    assert (meta.previous_start, meta.previous_end) == (dt.date(2026, 11, 5), dt.date(2026, 11, 12))
    assert res.windows() == {pid: (meta.start, meta.end)}
    assert meta.as_dict()["start"] == "2026-11-13" and meta.name and meta.currency == "EUR"
    assert set(res.events["property_name"]) == {meta.name} and set(res.events["currency"]) == {"EUR"}
    assert res.events["key_events"].dtype == "int64" and res.events["event_count"].dtype == "int64"
    whole = pull(cfg, clients, start="2026-11-13", end="2026-11-20", grain="week", today=TODAY, whole_periods=True)
    # Back to Monday the 9th; forward to Sunday the 22nd? Not yet over on the 22nd: the end stays.
    assert whole.windows()[pid] == (dt.date(2026, 11, 9), dt.date(2026, 11, 20))
    assert list(whole.events["period"].unique()) == ["2026-11-09..2026-11-15", "2026-11-16..2026-11-20"]


@pytest.mark.parametrize("grain, start, end, today, want", [
    ("week", "2026-11-13", "2026-11-18", "2026-11-30", ("2026-11-09", "2026-11-22")),
    ("week", "2026-11-16", "2026-11-22", "2026-11-23", ("2026-11-16", "2026-11-22")),
    ("week", "2026-11-16", "2026-11-21", "2026-11-22", ("2026-11-16", "2026-11-21")),  # week not over
    ("month", "2026-10-05", "2026-10-15", "2026-11-22", ("2026-10-01", "2026-10-31")),
    ("month", "2026-02-10", "2026-02-11", "2026-03-01", ("2026-02-01", "2026-02-28")),
    ("month", "2026-11-10", "2026-11-21", "2026-11-22", ("2026-11-01", "2026-11-21")),
    ("day", "2026-11-10", "2026-11-21", "2026-11-22", ("2026-11-10", "2026-11-21")),
    ("range", "2026-11-10", "2026-11-21", "2026-11-22", ("2026-11-10", "2026-11-21")),
])
def test_widen_to_whole_periods(grain, start, end, today, want):
    from ga4kit.reporting.pull import widen_to_whole_periods

    d = dt.date.fromisoformat
    assert widen_to_whole_periods(d(start), d(end), grain, d(today)) == (d(want[0]), d(want[1]))

"""ga4kit.flags: findings checked against frames made by hand (shared with test_chains)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ga4kit import flags as F
from test_chains import BASELINE, CONFIG, EVENTS, S, baseline_frame, daily, events_frame


def test_broken_tracking_goal_stops_from_a_date():
    rng = np.random.default_rng(7)
    ev, bl = daily({
        "view_item": list(rng.poisson(40, 28) + 1),                  # healthy
        "add_to_cart": [8] * 19 + [0] * 9,                           # stops on 2026-11-20
        "purchase": list(rng.poisson(2, 28)),                        # low volume: zeros are normal
        # newsletter_signup never fires: no history that says it should
    })
    fl = F.flags(ev, bl, CONFIG, [S])
    broken = fl[fl["flag"] == "broken_tracking"]
    assert list(broken["event"]) == ["add_to_cart"], fl
    r = broken.iloc[0]
    assert r["severity"] == "error" and r["period"] == "2026-11-20"
    assert "2026-11-20" in r["message"] and "2026-11-28" in r["message"] and "9 periods" in r["message"]
    assert list(fl.columns) == F.flag_columns([S])


def test_broken_tracking_not_raised_without_traffic_or_history():
    ev, bl = daily({"add_to_cart": [8] * 19 + [0] * 9}, users_per_day=[500] * 19 + [0] * 9)
    assert F.flags(ev, bl, CONFIG, [S]).query("flag == 'broken_tracking'").empty
    ev, bl = daily({"add_to_cart": [0, 0] + [8] * 26})  # zeros before it ever fired: no reference
    assert F.flags(ev, bl, CONFIG, [S]).query("flag == 'broken_tracking'").empty


def test_broken_tracking_from_history_frame():
    # History: 21 earlier days where add_to_cart fired; current: one 7-day range with none.
    hist_days = pd.date_range("2026-10-11", periods=21, freq="D")
    hev, hbl = daily({"add_to_cart": [6] * 21, "view_item": [30] * 21}, days=hist_days)
    ev = events_frame([("(all)", "view_item", 200, 150)], period="week", start="2026-11-01", end="2026-11-07")
    bl = baseline_frame([("(all)", 3000)], period="week", start="2026-11-01", end="2026-11-07")
    fl = F.flags(ev, bl, CONFIG, [S], history=hev)
    broken = fl[fl["flag"] == "broken_tracking"]
    assert list(broken["event"]) == ["add_to_cart"] and broken.iloc[0]["period"] == "week"
    # The same history with add_to_cart present in the current range: nothing broken.
    ev2 = pd.concat([ev, events_frame([("(all)", "add_to_cart", 40, 30)], period="week", start="2026-11-01",
                                      end="2026-11-07")])
    assert F.flags(ev2, bl, CONFIG, [S], history=(hev, hbl)).query("flag == 'broken_tracking'").empty


def test_out_of_sequence_and_metadata_flags():
    fl = F.flags(EVENTS, BASELINE, CONFIG, [S], metadata={
        "properties/1": {"subject_to_thresholding": True,
                         "sampling_metadatas": [{"samples_read_count": 25, "sampling_space_size": 100}],
                         "data_loss_from_other_row": False}})
    oos = fl[fl["flag"] == "out_of_sequence"]
    # Only Paid: purchase (5) > add_to_cart (0). Organic and (all) shrink step by step.
    assert list(zip(oos[S], oos["event"])) == [("Paid", "purchase")]
    assert "5 users" in oos.iloc[0]["message"] and "add_to_cart (0)" in oos.iloc[0]["message"]
    meta = fl[fl["flag"].isin(["thresholded", "sampled", "other_row"])]
    assert sorted(meta["flag"]) == ["sampled", "thresholded"]
    assert (meta["property"] == "1").all()
    assert "25.0%" in meta[meta["flag"] == "sampled"].iloc[0]["message"]


def test_healthy_frame_has_no_flags():
    ev = EVENTS[EVENTS[S] != "Paid"]
    fl = F.flags(ev, BASELINE, CONFIG, [S], metadata={"1": {"subject_to_thresholding": False}})
    # The fixture never sends newsletter_signup: the only finding is that it never fired.
    assert list(zip(fl["flag"], fl["event"])) == [("never_fired", "newsletter_signup")]


def test_broken_tracking_inside_a_range_period_found_through_daily_history():
    # The report is one 28-day range where add_to_cart still has events (it stopped on day 20), so the
    # range row alone looks fine; the day-grain history of the same window shows the outage.
    dev, dbl = daily({"view_item": [30] * 28, "add_to_cart": [8] * 19 + [0] * 9})
    ev = events_frame([("(all)", "view_item", 840, 600), ("(all)", "add_to_cart", 152, 120)])
    bl = baseline_frame([("(all)", 9000)])
    assert F.flags(ev, bl, CONFIG, [S]).query("flag == 'broken_tracking'").empty
    fl = F.flags(ev, bl, CONFIG, [S], history=(dev, dbl))
    broken = fl[fl["flag"] == "broken_tracking"]
    assert list(zip(broken["event"], broken["period"])) == [("add_to_cart", "2026-11-20")]
    # Outages that ended before the current frame's dates are old news and not reported.
    later = events_frame([("(all)", "view_item", 300, 200), ("(all)", "add_to_cart", 50, 40)],
                         period="2026-12", start="2026-12-01", end="2026-12-07")
    later_bl = baseline_frame([("(all)", 3000)], period="2026-12", start="2026-12-01", end="2026-12-07")
    dev2, dbl2 = daily({"view_item": [30] * 28, "add_to_cart": [8] * 10 + [0] * 3 + [8] * 15})
    assert F.flags(later, later_bl, CONFIG, [S], history=(dev2, dbl2)).query("flag == 'broken_tracking'").empty
    dev3, dbl3 = daily({"view_item": [30] * 28, "add_to_cart": [8] * 10 + [0] * 3 + [8] * 15})
    fl3 = F.flags(dev3, dbl3, CONFIG, [S])
    assert list(fl3.query("flag == 'broken_tracking'")["period"]) == ["2026-11-11"]  # same gap, current frame


def test_metadata_flags_from_the_pulls_property_meta():
    pull = pytest.importorskip("ga4kit.reporting.pull")
    meta = {"1": pull.PropertyMeta(property="1", sampled=True, data_loss_from_other_row=True),
            "2": pull.PropertyMeta(property="2")}
    fl = F.flags(EVENTS[EVENTS[S] != "Paid"], BASELINE, CONFIG, [S], metadata=meta)
    fl = fl[fl["flag"] != "never_fired"]  # newsletter_signup is absent from the fixture (tested elsewhere)
    assert sorted(zip(fl["property"], fl["flag"])) == [("1", "other_row"), ("1", "sampled")]
    assert (fl["severity"] == "warning").all() and fl["event"].isna().all()


def test_one_quiet_day_is_noise_but_not_for_a_high_volume_goal():
    ev, bl = daily({"view_item": [6] * 14 + [0] + [6] * 13,          # ~6 a day, one empty day: noise
                    "add_to_cart": [60] * 14 + [0] + [60] * 13})    # ~60 a day, one empty day: outage
    broken = F.flags(ev, bl, CONFIG, [S]).query("flag == 'broken_tracking'")
    assert list(zip(broken["event"], broken["period"])) == [("add_to_cart", "2026-11-15")]
    assert "1 period)" in broken.iloc[0]["message"] and "about 60 expected" in broken.iloc[0]["message"]


def test_out_of_sequence_over_consecutive_days_is_one_finding():
    # add_to_cart breaks on day 20 while purchase goes on: purchase > add_to_cart for 9 days in a row.
    ev, bl = daily({"view_item": [40] * 28, "add_to_cart": [10] * 19 + [0] * 9,
                    "purchase": [0] * 5 + [12] + [3] * 22})  # day 6: purchase 12 > add_to_cart 10
    oos = F.flags(ev, bl, CONFIG, [S]).query("flag == 'out_of_sequence'")
    assert list(zip(oos["event"], oos["period"])) == [("purchase", "2026-11-06"), ("purchase", "2026-11-20")]
    msg = oos.set_index("period")["message"]
    assert "all 9 periods from 2026-11-20 to 2026-11-28" in msg["2026-11-20"]
    assert "12 users, more than add_to_cart (10)" in msg["2026-11-06"] and "periods" not in msg["2026-11-06"]


def test_never_fired_goal_is_flagged_once_over_all_traffic():
    import datetime as _dt

    from ga4kit.config import load_text

    cfg = load_text("version: 1\ngoals:\n  - {event: sign_up, type: micro, kind: milestone}\n"
                    "  - {event: view_pricing, type: micro, kind: milestone, derive: {from: page_view}}\n"
                    "  - {event: Purchase, type: macro}\n")
    day = pd.Timestamp(_dt.date(2026, 11, 1))
    base = pd.DataFrame({"property": ["1", "1"], "period": ["p", "p"], "period_start": [day, day],
                         "period_end": [day, day], "sessionDefaultChannelGroup": ["(all)", "Direct"],
                         "users": [100, 60], "sessions": [120, 70]})
    events = pd.DataFrame({"property": ["1", "1"], "period": ["p", "p"], "period_start": [day, day],
                           "period_end": [day, day], "sessionDefaultChannelGroup": ["(all)", "Direct"],
                           "event": ["sign_up", "sign_up"], "goal_type": ["micro", "micro"],
                           "goal_kind": ["milestone", "milestone"], "event_count": [5, 5], "users": [4, 4],
                           "value": [0.0, 0.0], "key_events": [0.0, 0.0]})
    out = F.flags(events, base, cfg, ["sessionDefaultChannelGroup"])
    never = out[out["flag"] == "never_fired"]
    assert list(never["event"]) == ["Purchase", "view_pricing"]  # misspelt (case-sensitive); rule too new
    assert set(never["sessionDefaultChannelGroup"]) == {"(all)"}
    assert "100 users" in never["message"].iloc[0] and "case-sensitive" in never["message"].iloc[0]
    assert "derived from page_view" in never["message"].iloc[1]
    # no traffic, no flag
    quiet = base.assign(users=0)
    assert "never_fired" not in set(F.flags(events.iloc[:0], quiet, cfg, ["sessionDefaultChannelGroup"])["flag"])


def test_no_data_and_no_goal_events_are_error_flags():
    """An empty range, or traffic without one goal event, said "No flags: the data looks consistent"."""
    empty_ev = events_frame([])
    empty_bl = baseline_frame([])
    flags = F.flags(empty_ev, empty_bl, CONFIG, [S], properties=["1"])
    assert list(flags["flag"]) == ["no_data"] and flags["severity"].iloc[0] == "error"
    quiet_bl = baseline_frame([("(all)", 700), ("Organic", 400)])
    flags = F.flags(empty_ev, quiet_bl, CONFIG, [S], properties=["1"])
    assert list(flags["flag"]) == ["no_goal_events"]  # instead of one never_fired per goal
    assert "700 users" in flags["message"].iloc[0] and "view_item" in flags["message"].iloc[0]
    assert flags["severity"].iloc[0] == "error"
    # Healthy data: neither.
    assert not F.flags(EVENTS, BASELINE, CONFIG, [S], properties=["1"])["flag"].isin(
        ["no_data", "no_goal_events"]).any()


def test_never_fired_counts_history_spelt_with_the_properties_prefix():
    """A history whose property reads "properties/1" is the same property as "1" (as everywhere else): a
    goal that fired there did fire. (It was flagged never_fired: the history's property was not normalised.)"""
    ev = EVENTS[EVENTS["event"] != "purchase"]
    hist = events_frame([("(all)", "purchase", 9, 7)], prop="properties/1", period="2026-10",
                        start="2026-10-04", end="2026-10-31")
    never = F.flags(ev, BASELINE, CONFIG, [S], history=hist).query("flag == 'never_fired'")
    assert "purchase" not in set(never["event"])
    assert set(never["event"]) == {"newsletter_signup"}  # the one goal that fired nowhere

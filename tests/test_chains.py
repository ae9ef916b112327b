"""ga4kit.chains: numbers checked against values worked out by hand from small frames (the frames and
``daily`` are shared with test_flags and test_render)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ga4kit import chains as C
from ga4kit import flags as F
from ga4kit.config.model import Chain, Goal, GoalsConfig, PropertyRef

S = "sessionDefaultChannelGroup"

CONFIG = GoalsConfig(
    version=1,
    properties=(PropertyRef("1"),),
    goals=(Goal("view_item", "micro", "milestone"), Goal("add_to_cart", "micro", "milestone"),
           Goal("newsletter_signup", "micro", "secondary"), Goal("purchase", "macro")),
    chains=(Chain("checkout", ("view_item", "add_to_cart", "purchase")),),
)


def events_frame(rows, *, prop="1", period="2026-11", start="2026-11-01", end="2026-11-28"):
    """rows: (channel, event, event_count, users)."""
    return pd.DataFrame([
        dict(property=prop, period=period, period_start=pd.Timestamp(start), period_end=pd.Timestamp(end),
             **{S: ch}, event=e, goal_type=None, goal_kind=None, event_count=n, users=u, value=1.5 * n,
             key_events=float(n))
        for ch, e, n, u in rows])


def baseline_frame(rows, *, prop="1", period="2026-11", start="2026-11-01", end="2026-11-28"):
    """rows: (channel, users)."""
    return pd.DataFrame([
        dict(property=prop, period=period, period_start=pd.Timestamp(start), period_end=pd.Timestamp(end),
             **{S: ch}, users=u, sessions=2 * u) for ch, u in rows])


EVENTS = events_frame([
    ("Organic", "view_item", 150, 100), ("Organic", "add_to_cart", 50, 40), ("Organic", "purchase", 12, 10),
    ("Paid", "view_item", 60, 50), ("Paid", "purchase", 5, 5),  # no add_to_cart row at all
    ("(all)", "view_item", 210, 140), ("(all)", "add_to_cart", 50, 40), ("(all)", "purchase", 17, 15),
])
BASELINE = baseline_frame([("Organic", 1000), ("Paid", 500), ("(all)", 1400), ("Email", 0)])


def row(frame, channel, step):
    sel = frame[(frame[S] == channel) & (frame["step"] == step)]
    assert len(sel) == 1, sel
    return sel.iloc[0]


def test_chain_numbers_by_hand():
    out = C.compute_chains(EVENTS, BASELINE, CONFIG, [S])
    assert list(out.columns) == C.chain_columns([S])
    # 4 segments (Organic, Paid, (all), Email from the baseline) × 3 steps.
    assert len(out) == 12
    r = row(out, "Organic", "add_to_cart")
    assert (r["step_index"], r["users"], r["events"]) == (2, 40, 50)
    assert r["rate_from_previous"] == pytest.approx(40 / 100)
    assert r["rate_from_first"] == pytest.approx(40 / 100)
    assert r["drop_off"] == 60 and r["drop_off_rate"] == pytest.approx(60 / 100)
    assert r["all_users"] == 1000 and r["rate_over_all_users"] == pytest.approx(40 / 1000)
    assert r["macro_per_step_user"] == pytest.approx(10 / 40)
    assert (r["goal_type"], r["goal_kind"]) == ("micro", "milestone")

    r = row(out, "Organic", "purchase")
    assert r["rate_from_previous"] == pytest.approx(10 / 40)
    assert r["rate_from_first"] == pytest.approx(10 / 100)
    assert r["drop_off"] == 30
    assert math.isnan(r["macro_per_step_user"])  # only micro steps have it
    assert r["goal_type"] == "macro"

    r = row(out, "Organic", "view_item")
    assert math.isnan(r["rate_from_previous"]) and math.isnan(r["drop_off"])
    assert r["rate_from_first"] == 1.0 and r["macro_per_step_user"] == pytest.approx(10 / 100)

    # "(all)" is its own segment, not the sum of the channels (140 != 100 + 50).
    r = row(out, "(all)", "view_item")
    assert r["users"] == 140 and r["rate_over_all_users"] == pytest.approx(140 / 1400)


def test_missing_goal_is_zero_and_zero_division_is_nan():
    out = C.compute_chains(EVENTS, BASELINE, CONFIG, [S])
    r = row(out, "Paid", "add_to_cart")  # no row in events → 0 users, not absent
    assert (r["users"], r["events"]) == (0, 0)
    assert r["rate_from_previous"] == 0.0 and r["drop_off"] == 50
    assert math.isnan(r["macro_per_step_user"])  # 5 / 0
    r = row(out, "Paid", "purchase")
    assert math.isnan(r["rate_from_previous"])  # 5 / 0
    assert r["drop_off"] == -5
    email = out[out[S] == "Email"]
    assert (email["users"] == 0).all()
    assert email["rate_over_all_users"].isna().all()  # 0 / 0 baseline users
    numeric = out.select_dtypes("number").to_numpy(dtype="float64", na_value=np.nan)
    assert not np.isinf(numeric).any()


def test_previous_period_comparison():
    prev_ev = events_frame([("Organic", "view_item", 100, 80), ("Organic", "add_to_cart", 20, 20),
                            ("Organic", "purchase", 0, 0), ("(all)", "view_item", 100, 80)],
                           period="2026-10", start="2026-10-04", end="2026-10-31")
    prev_bl = baseline_frame([("Organic", 900), ("(all)", 900)], period="2026-10", start="2026-10-04",
                             end="2026-10-31")
    out = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, prev_bl))
    assert list(out.columns)[-4:] == ["users_prev", "change_abs", "change_pct", "change_note"]
    r = row(out, "Organic", "view_item")
    assert (r["users_prev"], r["change_abs"]) == (80, 20)
    assert r["change_pct"] == pytest.approx(20 / 80)
    r = row(out, "Organic", "purchase")  # 10 now, 0 before: change 10, pct NaN (not inf)
    assert (r["users_prev"], r["change_abs"]) == (0, 10) and math.isnan(r["change_pct"])
    r = row(out, "Paid", "view_item")  # Paid absent from a previous period that was pulled → 0
    assert r["users_prev"] == 0 and r["change_abs"] == 50
    # mapping form gives the same
    out2 = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous={"events": prev_ev, "baseline": prev_bl})
    pd.testing.assert_frame_equal(out, out2)


def test_previous_unknown_property_stays_na():
    prev_ev = events_frame([("Organic", "view_item", 1, 1)], prop="2", start="2026-10-04", end="2026-10-31")
    out = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, None))
    assert out["users_prev"].isna().all()
    assert out["change_pct"].isna().all()


def test_goal_summary_every_goal_with_value_and_rate():
    out = C.goal_summary(EVENTS, BASELINE, CONFIG, [S])
    assert list(out.columns) == C.goal_columns([S])
    assert len(out) == 4 * 4
    ns = out[(out[S] == "Organic") & (out["event"] == "newsletter_signup")].iloc[0]
    assert (ns["users"], ns["events"], ns["value"], ns["goal_kind"]) == (0, 0, 0.0, "secondary")
    assert ns["rate_over_all_users"] == 0.0
    vi = out[(out[S] == "Organic") & (out["event"] == "view_item")].iloc[0]
    assert vi["value"] == pytest.approx(225.0) and vi["rate_over_all_users"] == pytest.approx(0.1)
    prev_ev = events_frame([("Organic", "view_item", 100, 80)], start="2026-10-04", end="2026-10-31")
    prev_bl = baseline_frame([("Organic", 900)], start="2026-10-04", end="2026-10-31")
    out = C.goal_summary(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, prev_bl))
    vi = out[(out[S] == "Organic") & (out["event"] == "view_item")].iloc[0]
    assert (vi["users_prev"], vi["change_abs"]) == (80, 20)


def test_empty_frames_and_no_segments():
    empty = C.compute_chains(pd.DataFrame(), pd.DataFrame(), CONFIG, [S])
    assert empty.empty and list(empty.columns) == C.chain_columns([S])
    assert C.goal_summary(pd.DataFrame(), pd.DataFrame(), CONFIG, [S]).empty
    assert F.flags(pd.DataFrame(), pd.DataFrame(), CONFIG, [S]).empty
    ev = EVENTS[EVENTS[S] == "(all)"].drop(columns=S)
    bl = BASELINE[BASELINE[S] == "(all)"].drop(columns=S)
    out = C.compute_chains(ev, bl, CONFIG, [])
    assert list(out["users"]) == [140, 40, 15]


def test_duplicate_rows_refused():
    with pytest.raises(ValueError, match="not additive"):
        C.compute_chains(pd.concat([EVENTS, EVENTS.head(1)]), BASELINE, CONFIG, [S])


def test_exact_steps_beside_open_counts():
    out = C.compute_chains(EVENTS, BASELINE, CONFIG, [S])
    funnel = pd.DataFrame({"property": "1", "chain": "checkout", "step_index": [1, 2, 3],
                           "step": ["view_item", "add_to_cart", "purchase"], "users_exact": [140, 30, 6]})
    ex = C.exact_steps(out, funnel, [S])
    assert len(ex) == len(out)
    alls = ex[ex[S] == "(all)"].sort_values("step_index")
    assert list(alls["users_exact"]) == [140, 30, 6]
    assert math.isnan(alls["rate_exact"].iloc[0])
    assert alls["rate_exact"].iloc[1] == pytest.approx(30 / 140)
    assert alls["rate_exact"].iloc[2] == pytest.approx(6 / 30)
    assert ex[ex[S] == "Organic"]["users_exact"].isna().all()  # the funnel had no channel breakdown
    with pytest.raises(ValueError, match="chain has"):
        C.exact_steps(out, funnel.assign(step=["view_item", "purchase", "add_to_cart"]), [S])


# ------------------------------------------------------------------------------------------ day-grain frames

DAYS = pd.date_range("2026-11-01", periods=28, freq="D")


def daily(events_per_day: dict[str, list[int]], users_per_day=500, days=DAYS):
    """Day-grain frames, "(all)" segment only; a 0 count means no row at all."""
    ev, bl = [], []
    for i, d in enumerate(days):
        label = f"{d:%Y-%m-%d}"
        bl.append(dict(property="1", period=label, period_start=d, period_end=d, **{S: "(all)"},
                       users=users_per_day if np.isscalar(users_per_day) else users_per_day[i], sessions=1))
        for e, counts in events_per_day.items():
            if counts[i]:
                ev.append(dict(property="1", period=label, period_start=d, period_end=d, **{S: "(all)"},
                               event=e, goal_type="micro", goal_kind=None, event_count=counts[i],
                               users=counts[i], value=0.0, key_events=0.0))
    return pd.DataFrame(ev), pd.DataFrame(bl)


# ------------------------------------------------------------------------------------------ trust fixes

def test_macro_per_step_user_is_not_a_share_and_the_closed_funnel_gives_the_share():
    """Open counts: more purchasers than product viewers gives 150% "macro/step"; the closed funnel's
    macro_share_exact is the share of in-order step users who reached the macro goal."""
    ev = events_frame([("(all)", "view_item", 40, 20), ("(all)", "add_to_cart", 15, 10),
                       ("(all)", "purchase", 30, 30)])
    bl = baseline_frame([("(all)", 100)])
    out = C.compute_chains(ev, bl, CONFIG, [S])
    first = row(out, "(all)", "view_item")
    assert first["macro_per_step_user"] == pytest.approx(30 / 20)  # 150%: a ratio, not a share
    assert row(out, "(all)", "add_to_cart")["drop_off"] == 10
    assert row(out, "(all)", "purchase")["drop_off"] == -20  # more purchasers than cart users
    funnel = pd.DataFrame({"property": "1", "chain": "checkout", "step_index": [1, 2, 3],
                           "step": ["view_item", "add_to_cart", "purchase"], "users_exact": [20, 8, 4]})
    ex = C.exact_steps(out, funnel, [S]).sort_values("step_index")
    assert list(ex["macro_share_exact"].iloc[:2]) == [pytest.approx(4 / 20), pytest.approx(4 / 8)]
    assert math.isnan(ex["macro_share_exact"].iloc[2])  # the macro step itself
    assert (ex["macro_share_exact"].dropna() <= 1).all()


def test_partial_period_has_no_change():
    prev_ev = events_frame([("(all)", "view_item", 100, 80)], period="2026-10", start="2026-10-04",
                           end="2026-10-31")
    prev_bl = baseline_frame([("(all)", 900)], period="2026-10", start="2026-10-04", end="2026-10-31")
    today = {"1": pd.Timestamp("2026-11-20").date()}  # inside 2026-11-01..2026-11-28
    out = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, prev_bl), today=today)
    r = row(out, "(all)", "view_item")
    assert bool(r["partial"]) and r["users_prev"] == 80
    assert pd.isna(r["change_abs"]) and math.isnan(r["change_pct"])
    assert "partial" in r["change_note"]
    goals = C.goal_summary(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, prev_bl), today=today)
    assert goals["partial"].all() and goals["change_pct"].isna().all()
    flags = F.caveat_flags(goals, [S])
    assert list(flags["flag"]) == ["partial_period"] and flags["severity"].iloc[0] == "warning"
    # Yesterday's range is complete: the change is there.
    done = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, prev_bl),
                            today={"1": pd.Timestamp("2026-11-29").date()})
    r = row(done, "(all)", "view_item")
    assert not r["partial"] and r["change_pct"] == pytest.approx(60 / 80) and r["change_note"] is None


def test_previous_period_before_the_data_starts_gives_no_change():
    """Data that starts inside the previous period made +2253.8% out of a few days of data."""
    prev_ev = events_frame([("(all)", "view_item", 6, 6)], period="2026-10", start="2026-10-04", end="2026-10-31")
    prev_bl = baseline_frame([("(all)", 60)], period="2026-10", start="2026-10-04", end="2026-10-31")
    first = {"1": pd.Timestamp("2026-10-29").date()}
    out = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, prev_bl), data_start=first)
    r = row(out, "(all)", "view_item")
    assert r["users_prev"] == 6 and math.isnan(r["change_pct"])
    assert r["change_note"] == ("the previous period 2026-10 begins before the property's first data "
                                "(2026-10-29)")
    goals = C.goal_summary(EVENTS, BASELINE, CONFIG, [S], previous=(prev_ev, prev_bl), data_start=first)
    flags = F.caveat_flags(goals, [S])
    assert list(flags["flag"]) == ["previous_incomplete"] and "2026-10-29" in flags["message"].iloc[0]


def test_clipped_periods_of_different_length_give_no_change():
    ev = events_frame([("(all)", "view_item", 5, 5)], period="w1", start="2026-11-01", end="2026-11-01")
    bl = baseline_frame([("(all)", 50)], period="w1", start="2026-11-01", end="2026-11-01")
    pev = events_frame([("(all)", "view_item", 9, 9)], period="p1", start="2026-10-02", end="2026-10-04")
    pbl = baseline_frame([("(all)", 90)], period="p1", start="2026-10-02", end="2026-10-04")
    out = C.compute_chains(ev, bl, CONFIG, [S], previous=(pev, pbl))
    r = row(out, "(all)", "view_item")
    assert math.isnan(r["change_pct"]) and r["change_note"] == "the previous period p1 has 3 days, this one 1"

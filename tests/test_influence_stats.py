"""ga4kit.influence: the intervals against published values, the estimate from four counts, the thin-row mark."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ga4kit.errors import Ga4kitError
from ga4kit.influence import difference_interval, influence_table, parse_within, ranked, ratio_interval, wilson


def test_wilson_matches_newcombe_1998():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605.
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    low, high = wilson(0, 20)
    assert low == 0 and high == pytest.approx(0.1611, abs=5e-5)  # no success: still a real upper bound
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_difference_interval_matches_newcombe_method_10():
    # Newcombe (1998), table II, example (a): 56/70 - 48/80 -> 0.0524 to 0.3339.
    d, low, high = difference_interval(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert (low, high) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_ratio_interval_is_the_log_method():
    ratio, low, high = ratio_interval(40, 200, 20, 200)
    assert ratio == pytest.approx(2.0)
    se = math.sqrt(1 / 40 - 1 / 200 + 1 / 20 - 1 / 200)
    assert (low, high) == pytest.approx((2 * math.exp(-1.959964 * se), 2 * math.exp(1.959964 * se)), rel=1e-6)
    # A zero cell: no point estimate for a zero reference rate, but a finite interval (0.5 added to each count).
    ratio, low, high = ratio_interval(5, 50, 0, 50)
    assert math.isnan(ratio) and 0 < low < high < math.inf


def counts(**kw):
    base = {"property": "1", "period": "p", "micro": "signup", "macro": "purchase", "all_users": 1000,
            "micro_users": 200, "macro_users": 120, "in_order_users": 40}
    base.update(kw)
    return pd.DataFrame([base])


def test_the_data_api_estimate_takes_in_order_users_out_of_the_macro_users():
    row = influence_table(counts()).iloc[0]
    assert row.estimated and row.other_macro_users == 80 and row.other_users == 800
    assert row.rate_after_micro == pytest.approx(0.2) and row.rate_without_micro == pytest.approx(0.1)
    assert row.lift == pytest.approx(2.0) and row.lift_low > 1
    exact = influence_table(counts(other_macro_users=60)).iloc[0]
    assert not exact.estimated and exact.rate_without_micro == pytest.approx(0.075)


def test_too_few_users_is_marked_per_group_and_the_threshold_is_an_option():
    assert influence_table(counts(micro_users=29, in_order_users=5), min_users=30).iloc[0].too_few_users
    assert influence_table(counts(all_users=225), min_users=30).iloc[0].too_few_users  # 25 others
    assert not influence_table(counts(micro_users=29, in_order_users=5), min_users=20).iloc[0].too_few_users


def test_missing_counts_give_missing_results_not_errors():
    frame = pd.concat([counts(), counts(micro="video", all_users=None)], ignore_index=True)
    out = influence_table(frame)
    assert math.isnan(out.iloc[1].lift) and out.iloc[1].too_few_users
    assert out["all_users"].dtype == "Int64"


def test_ranked_puts_the_strongest_first_and_thin_rows_last():
    frame = pd.concat([counts(micro="a", in_order_users=25), counts(micro="b", in_order_users=60),
                       counts(micro="c", micro_users=10, in_order_users=9)], ignore_index=True)
    assert ranked(influence_table(frame), ["macro"])["micro"].tolist() == ["b", "a", "c"]


def test_a_step_every_buyer_takes_has_an_unbounded_lift_ranked_first_and_shown_as_infinite():
    # Nobody bought without viewing an item: rate without = 0, so the lift has no bound (not "undefined").
    frame = pd.concat([counts(micro="view_item", micro_users=600, macro_users=120, in_order_users=120),
                       counts(micro="b", in_order_users=60),
                       counts(micro="none", macro_users=0, in_order_users=0)], ignore_index=True)
    table = ranked(influence_table(frame), ["macro"])
    assert table["micro"].tolist() == ["view_item", "b", "none"]
    from ga4kit.cli.influence_cmd import influence_view

    shown = influence_view(table, [])["lift (95% CI)"].tolist()
    assert shown[0].startswith("∞ (") and shown[1].startswith("4 (") and not shown[2].startswith("∞")


@pytest.mark.parametrize("text, seconds", [("7d", 604800), ("24h", 86400), ("30m", 1800), ("90s", 90), ("2", 172800),
                                           ("1.5h", 5400), (None, None)])
def test_parse_within(text, seconds):
    assert parse_within(text) == seconds


@pytest.mark.parametrize("text", ["0", "-3d", "soon", "7w"])
def test_parse_within_refuses_what_is_not_a_window(text):
    with pytest.raises(Ga4kitError, match="not a window"):
        parse_within(text)

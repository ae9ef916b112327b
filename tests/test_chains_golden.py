"""Chains, goal summary and flags give exactly the frames pinned before the chains/flags split and the
integer-code rewrite, on a varied input (see chains_golden_support.py): same rows, order, values, dtypes."""

from __future__ import annotations

import pandas as pd
import pytest

import chains_golden_support as G
from ga4kit import chains as C
from ga4kit.tables import tables

try:
    from ga4kit import flags as F
except ImportError:  # before the split the flags lived in ga4kit.chains
    F = C

GOLDEN = pd.read_pickle(G.GOLDEN)


@pytest.fixture(scope="module", params=list(G.CASES))
def case(request):
    return request.param, G.outputs(G.CASES[request.param](), C, F)


def test_every_output_equals_the_pinned_frame(case):
    name, got = case
    pinned = {k.split("/", 1)[1]: v for k, v in GOLDEN.items() if k.startswith(name + "/")}
    assert sorted(got) == sorted(pinned)
    for key, frame in got.items():
        try:
            pd.testing.assert_frame_equal(frame, pinned[key], check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"{name}/{key} differs from the pinned output: {exc}") from None


@pytest.mark.parametrize("name", list(G.CASES))
def test_one_pass_gives_the_same_frames_as_the_calls_one_by_one(name):
    case = G.CASES[name]()
    got = tables(case["events"], case["baseline"], G.CONFIG, case["segments"], previous=case["previous"],
                 history=case["history"], today=case["today"], data_start=case["data_start"],
                 metadata=case["metadata"], properties=case["properties"])
    for frame, key in ((got.chains, "chains_prev"), (got.goals, "goals_prev"), (got.flags, "flags_full")):
        pd.testing.assert_frame_equal(frame, GOLDEN[f"{name}/{key}"], check_exact=True)
    loose = tables(case["events"], case["baseline"], G.CONFIG, case["segments"], history=case["history"],
                   min_history=2, min_fire_share=0.3, min_expected=5.0)
    pd.testing.assert_frame_equal(loose.chains, GOLDEN[f"{name}/chains"], check_exact=True)
    pd.testing.assert_frame_equal(loose.goals, GOLDEN[f"{name}/goals"], check_exact=True)
    pd.testing.assert_frame_equal(loose.flags, GOLDEN[f"{name}/flags_loose"], check_exact=True)


def test_the_pinned_input_is_varied():
    """The pin is only worth something if the input reaches every kind of output."""
    flags = pd.concat([v for k, v in GOLDEN.items() if k.endswith("flags_full") or k.endswith("caveats")])
    assert set(flags["flag"]) >= {"no_data", "no_goal_events", "broken_tracking", "out_of_sequence",
                                  "never_fired", "thresholded", "sampled", "other_row", "partial_period",
                                  "previous_incomplete", "uneven_periods"}
    notes = pd.concat([GOLDEN[f"{c}/chains_prev"]["change_note"] for c in G.CASES]).dropna()
    assert {n.split(" ")[0] + " " + n.split(" ")[1] for n in notes} >= {"no data", "this period", "the previous"}
    assert GOLDEN["day/chains"]["all_users"].isna().any()  # a segment/day without a baseline row
    assert GOLDEN["range/exact"]["users_exact"].notna().any() and GOLDEN["range/exact"]["users_exact"].isna().any()

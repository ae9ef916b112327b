"""Influence and exact chains on an export with a planted effect: users who signed up for the newsletter are
twice as likely to purchase afterwards. The Data API (the emulator loaded from the same export), the export
through DuckDB (Parquet and NDJSON) and a plain Python count of the same events must find it and agree."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pandas as pd
import pytest

from export_support import TIME_ZONE, goals_yaml, planted_events, write_export
import ga4kit.frames as F
from ga4kit.config import load
from ga4kit.constants import ALL
from ga4kit.export import export_chains

SEG = "sessionDefaultChannelGroup"
START, END = "2024-03-04", "2024-03-17"
TODAY = dt.date(2024, 3, 18)
PAIR = ("newsletter_signup", "purchase")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """The frame, its export as Parquet and NDJSON, the emulator loaded from the Parquet file, the goals."""
    from ga4kit.connect import make_clients
    from ga4kit.emulator import Emulator

    root = tmp_path_factory.mktemp("planted")
    frame = planted_events(4000)
    parquet = write_export(frame, root / "events.parquet")
    ndjson = write_export(frame, root / "events.ndjson")
    with Emulator(demo=False, events_file=parquet, events_time_zone=TIME_ZONE, today=TODAY) as emu:
        pid = emu.admin.property_ids()[0]
        goals = root / "goals.yaml"
        goals.write_text(goals_yaml(pid, START, END))
        with make_clients(emulator=emu.address) as clients:
            yield {"frame": frame, "parquet": parquet, "ndjson": ndjson, "emu": emu, "clients": clients,
                   "config": load(goals), "goals": goals, "pid": pid}


# ------------------------------------------------------------------------------ plain Python count
def _journeys(frame):
    """{user: ([(ts, event, session number, channel)], ...)} in time order (the frame is sorted by user, time)."""
    users = defaultdict(list)
    for ts, ev, user, sess, ch in zip(frame["ts"], frame["event_name"].astype(str), frame["user_id"].astype(str),
                                      frame["session_number"], frame["channel_group"].astype(str)):
        users[user].append((int(ts), ev, int(sess), ch))
    return users


def python_influence(frame, micro, macro, within_s=None):
    """{segment: (N, M, K, B, other macro users)}: users by the channel of their first event."""
    out = defaultdict(lambda: [0, 0, 0, 0, 0])
    for events in _journeys(frame).values():
        channel = events[0][3]
        did_micro = any(e == micro for _, e, _, _ in events)
        did_macro = any(e == macro for _, e, _, _ in events)
        in_order = False
        last_micro = None
        for ts, e, _, _ in events:
            if e == micro:
                last_micro = ts
            elif e == macro and last_micro is not None and (within_s is None or ts - last_micro <= within_s * 10**6):
                in_order = True
        for seg in (channel, ALL):
            row = out[seg]
            row[0] += 1
            row[1] += did_micro
            row[2] += did_macro
            row[3] += in_order
            row[4] += did_macro and not did_micro
    return {k: tuple(v) for k, v in out.items()}


def python_chain(frame, steps, within_s=None):
    """{(segment, step index): (users, [seconds from previous], [sessions from step 1 to step k: the session
    numbers' difference + 1])}, GA4's closed funnel:
    step k at an event after a reached step k-1 event (within the window of the latest one); a step's
    segment is the channel of the event that first reached it."""
    out = defaultdict(lambda: [0, [], []])
    for events in _journeys(frame).values():
        reached_prev = [ts for ts, e, _, _ in events if e == steps[0]]
        firsts = []
        if reached_prev:
            first = next(x for x in events if x[1] == steps[0])
            firsts.append((first, None))
        for step in steps[1:]:
            if not reached_prev:
                break
            reached, first = [], None
            for ev in events:
                ts, e = ev[0], ev[1]
                if e != step:
                    continue
                before = [p for p in reached_prev if p < ts]
                if before and (within_s is None or ts - max(before) <= within_s * 10**6):
                    reached.append(ts)
                    if first is None:
                        first = (ev, max(before))
            if first is None:
                break
            firsts.append(first)
            reached_prev = reached
        if not firsts:
            continue
        start_session = firsts[0][0][2]
        for k, (ev, prior) in enumerate(firsts, start=1):
            sessions = ev[2] - start_session + 1
            for seg in (ev[3], ALL):
                row = out[(seg, k)]
                row[0] += 1
                if prior is not None:
                    row[1].append((ev[0] - prior) / 1e6)
                row[2].append(sessions)
    return out


def _quartiles(values):
    import numpy as np

    if not values:
        return [float("nan")] * 3
    return list(np.percentile(np.array(values, dtype=float), [25, 50, 75]))


# ------------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("kind", ["parquet", "ndjson"])
def test_export_influence_equals_a_python_count(planted, kind):
    result = export_chains(planted["config"], planted[kind])
    expected = python_influence(planted["frame"], *PAIR)
    table = result.influence
    rows = table[(table["micro"] == PAIR[0]) & (table["macro"] == PAIR[1])]
    got = {r[SEG]: (r.all_users, r.micro_users, r.macro_users, r.in_order_users, r.other_macro_users)
           for _, r in rows.iterrows()}
    assert got == expected
    assert not rows["estimated"].any()


def test_planted_effect_found_by_both_sources_with_the_right_size(planted):
    from ga4kit.reporting.influence import influence

    exact = export_chains(planted["config"], planted["parquet"]).influence
    api = influence(planted["config"], planted["clients"], start=START, end=END, today=TODAY).table
    for table in (exact, api):
        row = table[(table["micro"] == PAIR[0]) & (table["macro"] == PAIR[1]) & (table[SEG] == ALL)].iloc[0]
        assert 1.6 <= row.lift <= 2.5, row.lift
        assert row.lift_low > 1 and row.lift_high < 3
        assert row.rate_difference_low > 0
        assert not row.too_few_users
        # Ranked: the planted action leads the secondary actions for purchase.
        ranked = table[(table[SEG] == ALL) & table["lift"].notna()]["micro"].tolist()
        assert ranked[0] == PAIR[0]
    # Both sources give the frame documented in ga4kit.frames, column for column.
    assert list(exact.columns) == list(api.columns) == F.columns("influence", [SEG])
    key = ["period", SEG, "micro", "macro"]
    both = exact.merge(api, on=key, suffixes=("_exact", "_api"))
    assert len(both) == len(exact)
    every = both[both[SEG] == ALL]
    # Over all users the Data API's funnel counts are the export's exactly ...
    for col in ("all_users", "micro_users", "macro_users", "in_order_users"):
        assert (every[f"{col}_exact"] == every[f"{col}_api"]).all(), col
    # ... and in this export nobody purchased before signing up, so the estimate is exact too.
    news = both[(both["micro"] == PAIR[0])]
    assert (news["other_macro_users_exact"] == news["other_macro_users_api"]).all()
    assert news["lift_exact"].round(9).tolist() == news["lift_api"].round(9).tolist()
    assert api["estimated"].all() and not exact["estimated"].any()


def test_within_window_counts_like_python_and_the_api(planted):
    from ga4kit.reporting.influence import influence

    # Purchases come 110 s after the sign-up: a 60 s window keeps none, a 2 minute window all.
    for seconds, keeps in ((60, False), (120, True)):
        exact = export_chains(planted["config"], planted["parquet"], within=seconds).influence
        row = exact[(exact["micro"] == PAIR[0]) & (exact[SEG] == ALL)].iloc[0]
        n, m, k, b, k0 = python_influence(planted["frame"], *PAIR, within_s=seconds)[ALL]
        assert (row.in_order_users, row.other_macro_users) == (b, k0)
        assert (b > 0) is keeps
        api = influence(planted["config"], planted["clients"], start=START, end=END, today=TODAY,
                        segments=(), within=seconds).table
        api_row = api[api["micro"] == PAIR[0]].iloc[0]
        assert api_row.in_order_users == b
        assert api_row.within_seconds == seconds


@pytest.mark.parametrize("within", [None, 45])
def test_exact_chain_equals_python_count_and_runfunnelreport(planted, within):
    from google.analytics.data_v1alpha import types as fa

    result = export_chains(planted["config"], planted["ndjson"], within=within)
    chains = result.chains
    assert list(chains.columns) == F.columns("export_chains", [SEG])
    expected = python_chain(planted["frame"], ["view_item", "add_to_cart", "purchase"], within)
    for (seg, k), (users, seconds, sessions) in expected.items():
        row = chains[(chains[SEG] == seg) & (chains["step_index"] == k)].iloc[0]
        assert row.users_exact == users, (seg, k)
        got = [row.seconds_from_previous_q1, row.seconds_from_previous_median, row.seconds_from_previous_q3]
        assert got == pytest.approx(_quartiles(seconds), nan_ok=True, abs=1e-6)
        assert [row.sessions_q1, row.sessions_median, row.sessions_q3] == pytest.approx(_quartiles(sessions))
    # The same closed funnel from the Data API, with the channel as the breakdown.
    steps = []
    for i, name in enumerate(["view_item", "add_to_cart", "purchase"]):
        step = fa.FunnelStep(name=name, filter_expression=fa.FunnelFilterExpression(
            funnel_event_filter=fa.FunnelEventFilter(event_name=name)))
        if i and within:
            step.within_duration_from_prior_step = dt.timedelta(seconds=within)
        steps.append(step)
    answer = planted["clients"].data_alpha.run_funnel_report(request=fa.RunFunnelReportRequest(
        property=f"properties/{planted['pid']}", date_ranges=[fa.DateRange(start_date=START, end_date=END)],
        funnel=fa.Funnel(steps=steps), funnel_breakdown=fa.FunnelBreakdown(
            breakdown_dimension=fa.Dimension(name=SEG), limit=15)))
    api = {}
    for r in answer.funnel_table.rows:
        seg = r.dimension_values[1].value
        api[(ALL if seg == "RESERVED_TOTAL" else seg, int(r.dimension_values[0].value.split(".")[0]))] = \
            int(r.metric_values[0].value)
    ours = {(r[SEG], r.step_index): r.users_exact for _, r in chains.iterrows()}
    assert ours == api
    assert api[(ALL, 3)] > 0


def test_rate_columns_and_drop_off(planted):
    chains = export_chains(planted["config"], planted["parquet"]).chains
    every = chains[chains[SEG] == ALL].sort_values("step_index")
    users = every["users_exact"].tolist()
    assert every["rate_exact"].iloc[1] == pytest.approx(users[1] / users[0])
    assert every["rate_from_first"].iloc[2] == pytest.approx(users[2] / users[0])
    assert every["drop_off"].iloc[1] == users[0] - users[1]
    assert every["macro_share_exact"].iloc[0] == pytest.approx(users[2] / users[0])
    assert every["goal_type"].tolist() == ["micro", "micro", "macro"]
    assert pd.isna(every["rate_exact"].iloc[0])


def test_the_data_api_requests_stay_linear_in_goal_pairs_not_segments(planted):
    from ga4kit.reporting.influence import influence, request_count

    config, clients = planted["config"], planted["clients"]
    pairs = len(config.micro_goals) * len(config.macro_goals)
    counts = {}
    for segs, grain in (((), "range"), ((SEG,), "range"), ((SEG,), "day")):
        result = influence(config, clients, start=START, end=END, today=TODAY, segments=segs, grain=grain)
        counts[(segs, grain)] = result.funnel_requests[planted["pid"]]
    assert counts[((), "range")] == counts[((SEG,), "range")] == pairs
    assert counts[((SEG,), "day")] == request_count(pairs, 14) == pairs * 4  # 14 days in ranges of 4

"""runFunnelReport beyond one plain funnel, through Google's real v1alpha client over gRPC: several date
ranges, segments (user, session, event; exclusions; sequences), next action, and sampling above the
property's event limit. Every expected number comes from a per-user walk over the raw events in plain
Python."""

from __future__ import annotations

import zlib
from collections import Counter
from datetime import date, timedelta

import pytest
from google.analytics import data_v1alpha as a
from google.api_core import exceptions as gexc
from google.protobuf import duration_pb2

from ga4kit.emulator import Emulator
from emulator_data_support import between, clients, raw_events, table
from emulator_reference import path_of

TODAY = date(2026, 11, 22)
STEPS = ["view_item", "add_to_cart", "purchase"]
RECENT = (TODAY - timedelta(days=14), TODAY - timedelta(days=1))
EARLIER = (TODAY - timedelta(days=28), TODAY - timedelta(days=15))


@pytest.fixture(scope="module")
def emu():
    e = Emulator(today=TODAY, days=30, users=700, seed=51)
    e.start()
    e.pid = e.demo_property_ids[0]
    _, e.alpha = clients(e)
    e.raw = raw_events(e, e.pid)
    yield e
    e.stop(grace=None)


def _step(name, event):
    return a.FunnelStep(name=name, filter_expression=a.FunnelFilterExpression(
        funnel_event_filter=a.FunnelEventFilter(event_name=event)))


def _funnel(emu, ranges=(RECENT,), pid=None, **kw):
    return emu.alpha.run_funnel_report(a.RunFunnelReportRequest(
        property=f"properties/{pid or emu.pid}",
        funnel=a.Funnel(steps=[_step(ev, ev) for ev in STEPS]),
        date_ranges=[a.DateRange(start_date=str(s), end_date=str(e)) for s, e in ranges], **kw))


def _sequences(df):
    """Each user's events in time order (stable: stored order breaks ties, as in the emulator)."""
    df = df.sort_values("ts", kind="stable")
    return {u: g.reset_index(drop=True) for u, g in df.groupby("user_id", sort=False)}


def _walk(seqs):
    """Closed funnel: per user, the position of the first event reaching each step (greedy walk)."""
    reached = {}
    for u, g in seqs.items():
        pos, k = [], 0
        for i, ev in enumerate(g["event_name"]):
            if k < len(STEPS) and ev == STEPS[k]:
                pos.append(i)
                k += 1
        if pos:
            reached[u] = pos
    return reached


def _users_at(reached):
    return [sum(1 for p in reached.values() if len(p) > k) for k in range(len(STEPS))]


def _totals(resp, **where):
    """activeUsers of the RESERVED_TOTAL-free table rows, per step, for rows matching ``where``."""
    t = table(resp.funnel_table)
    for col, val in where.items():
        t = t[t[col] == val]
    return [float(t[t.funnelStepName == f"{i + 1}. {s}"]["activeUsers"].iloc[0]) for i, s in enumerate(STEPS)]


def test_several_date_ranges_are_funnels_of_their_own(emu):
    resp = _funnel(emu, ranges=(RECENT, EARLIER))
    assert [h.name for h in resp.funnel_table.dimension_headers] == ["funnelStepName", "dateRange"]
    for name, (s, e) in (("date_range_0", RECENT), ("date_range_1", EARLIER)):
        exp = _users_at(_walk(_sequences(between(emu.raw, s, e))))
        assert _totals(resp, dateRange=name) == exp and exp[0] > exp[-1] > 0
    vis = table(resp.funnel_visualization)
    assert set(vis["dateRange"]) == {"date_range_0", "date_range_1"}


def _segment_filter(field, value):
    return a.SegmentFilterExpression(segment_filter=a.SegmentFilter(
        field_name=field, string_filter=a.StringFilter(value=value)))


def _event(name):
    return a.SegmentFilterExpression(segment_event_filter=a.SegmentEventFilter(event_name=name))


def test_segments(emu):
    raw = between(emu.raw, *RECENT)
    segments = [
        a.Segment(name="Mobile users", user_segment=a.UserSegment(user_inclusion_criteria=a.UserSegmentCriteria(
            and_condition_groups=[a.UserSegmentConditionGroup(
                segment_filter_expression=_segment_filter("deviceCategory", "mobile"))]))),
        a.Segment(session_segment=a.SessionSegment(session_inclusion_criteria=a.SessionSegmentCriteria(
            and_condition_groups=[a.SessionSegmentConditionGroup(
                condition_scoping=a.SessionCriteriaScoping.SESSION_CRITERIA_WITHIN_SAME_SESSION,
                segment_filter_expression=_event("view_item"))]))),
        a.Segment(name="Germany", event_segment=a.EventSegment(event_inclusion_criteria=a.EventSegmentCriteria(
            and_condition_groups=[a.EventSegmentConditionGroup(
                segment_filter_expression=_segment_filter("country", "Germany"))]))),
        a.Segment(name="Never bought", user_segment=a.UserSegment(exclusion=a.UserSegmentExclusion(
            user_exclusion_duration=a.UserExclusionDuration.USER_EXCLUSION_PERMANENT,
            user_exclusion_criteria=a.UserSegmentCriteria(and_condition_groups=[
                a.UserSegmentConditionGroup(segment_filter_expression=_event("purchase"))])))),
    ]
    resp = _funnel(emu, segments=segments)
    assert [h.name for h in resp.funnel_table.dimension_headers] == ["funnelStepName", "segment"]
    mobile_users = set(raw[raw.device_category == "mobile"].user_id)
    view_sessions = set(zip(*raw[raw.event_name == "view_item"][["user_id", "session_id"]].to_numpy().T))
    buyers = set(raw[raw.event_name == "purchase"].user_id)
    in_session = [s in view_sessions for s in zip(raw.user_id, raw.session_id)]
    expected = {
        "1. Mobile users": raw[raw.user_id.isin(mobile_users)],
        "2. Segment": raw[in_session],
        "3. Germany": raw[raw.country == "Germany"],
        "4. Never bought": raw[~raw.user_id.isin(buyers)],
    }
    for name, events in expected.items():
        assert _totals(resp, segment=name) == _users_at(_walk(_sequences(events))), name
    assert _totals(resp, segment="4. Never bought")[-1] == 0
    with pytest.raises(gexc.InvalidArgument, match="limited to 4 segments"):
        _funnel(emu, segments=segments + segments[:1])


def test_sequence_segment(emu):
    """Users who added to cart within ten minutes after viewing an item, in one session."""
    raw = between(emu.raw, *RECENT)
    seq = a.UserSegmentSequenceGroup(
        sequence_scoping=a.UserCriteriaScoping.USER_CRITERIA_WITHIN_SAME_SESSION,
        sequence_maximum_duration=duration_pb2.Duration(seconds=600),
        user_sequence_steps=[a.UserSequenceStep(segment_filter_expression=_event("view_item")),
                             a.UserSequenceStep(segment_filter_expression=_event("add_to_cart"))])
    resp = _funnel(emu, segments=[a.Segment(name="Quick carts", user_segment=a.UserSegment(
        user_inclusion_criteria=a.UserSegmentCriteria(and_sequence_groups=[seq])))])
    members = set()
    for u, g in _sequences(raw).items():
        views = {}
        for ev, sid, ts in zip(g.event_name, g.session_id, g.ts):
            if ev == "view_item":
                views[sid] = ts  # the latest view of the session
            elif ev == "add_to_cart" and sid in views and ts - views[sid] <= 600_000_000:
                members.add(u)
    assert 0 < len(members) < raw.user_id.nunique()
    assert _totals(resp, segment="1. Quick carts") == _users_at(_walk(_sequences(raw[raw.user_id.isin(members)])))


def _next_actions(seqs, reached, step, page=False):
    """Counter of next actions after each user's first event at ``step`` (before the next step)."""
    out = Counter()
    for u, pos in reached.items():
        if len(pos) <= step:
            continue
        g, p = seqs[u], pos[step]
        stop = pos[step + 1] if len(pos) > step + 1 else len(g)
        later = [i for i in range(p + 1, len(g))
                 if not page or g.event_name[i] in ("page_view", "screen_view")]
        if later and later[0] < stop:
            col = "page_location" if page else "event_name"
            val = g[col][later[0]]
            out[path_of(val) if page else val] += 1
    return out


def test_next_action(emu):
    seqs = _sequences(between(emu.raw, *RECENT))
    reached = _walk(seqs)
    resp = _funnel(emu, funnel_next_action=a.FunnelNextAction(next_action_dimension=a.Dimension(name="eventName"),
                                                              limit=3))
    vis = table(resp.funnel_visualization)
    assert list(vis.columns[:2]) == ["funnelStepName", "funnelStepNextAction"]
    users = _users_at(reached)
    for k, name in enumerate(STEPS):
        rows = vis[vis.funnelStepName == f"{k + 1}. {name}"]
        assert rows.iloc[0]["funnelStepNextAction"] == "RESERVED_TOTAL" and rows.iloc[0]["activeUsers"] == users[k]
        counts = _next_actions(seqs, reached, k)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        assert [(r.funnelStepNextAction, r.activeUsers) for r in rows.iloc[1:].itertuples()] == \
            [(v, float(n)) for v, n in top]
    page = table(_funnel(emu, funnel_next_action=a.FunnelNextAction(
        next_action_dimension=a.Dimension(name="pagePath"))).funnel_visualization)
    first = page[(page.funnelStepName == "1. view_item") & (page.funnelStepNextAction != "RESERVED_TOTAL")]
    top = sorted(_next_actions(seqs, reached, 0, page=True).items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    assert [(r.funnelStepNextAction, r.activeUsers) for r in first.itertuples()] == [(v, float(n)) for v, n in top]


def test_next_action_rules(emu):
    def na(name, **kw):
        return _funnel(emu, funnel_next_action=a.FunnelNextAction(next_action_dimension=a.Dimension(name=name)),
                       **kw)
    with pytest.raises(gexc.InvalidArgument, match="eventName and Page / screen"):
        na("country")
    with pytest.raises(gexc.InvalidArgument, match="between 1 and 5"):
        _funnel(emu, funnel_next_action=a.FunnelNextAction(next_action_dimension=a.Dimension(name="eventName"),
                                                           limit=6))
    with pytest.raises(gexc.InvalidArgument, match="STANDARD_FUNNEL"):
        na("eventName", funnel_visualization_type=a.RunFunnelReportRequest.FunnelVisualizationType.TRENDED_FUNNEL)


def test_sampling_above_the_event_limit():
    limit = 2_000
    with Emulator(today=TODAY, days=14, users=300, seed=52, data_limits={"funnel_sampling_events": limit}) as e:
        _, e.alpha = clients(e)
        e.pid = e.demo_property_ids[0]
        raw = between(raw_events(e, e.pid), *RECENT)
        resp = _funnel(e)
        # The reference: whole users in ascending CRC-32 of their id, while their events fit the limit.
        per_user = raw.groupby("user_id").size()
        order = sorted(per_user.index, key=lambda u: (zlib.crc32(u.encode()), u))
        taken, read = set(), 0
        for u in order:
            if read + per_user[u] > limit:
                break
            taken.add(u)
            read += per_user[u]
        space = len(raw)
        assert space > limit
        meta = resp.funnel_table.metadata.sampling_metadatas
        assert [(m.samples_read_count, m.sampling_space_size) for m in meta] == [(read, space)]
        assert len(resp.funnel_visualization.metadata.sampling_metadatas) == 1
        sample = _users_at(_walk(_sequences(raw[raw.user_id.isin(taken)])))
        assert _totals(resp) == [float(round(n * space / read)) for n in sample]
        unsampled = _funnel(e, ranges=((TODAY - timedelta(days=2), TODAY - timedelta(days=1)),))
        assert not unsampled.funnel_table.metadata.sampling_metadatas

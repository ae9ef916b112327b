"""Exact chains from local export files (DuckDB): equal to the emulator's runFunnelReport on the demo shop, whose
visitors change channel between sessions (so a step's segment is the one on the event that reached it), and
the errors a user meets with a wrong SOURCE."""

from __future__ import annotations

import datetime as dt

import pytest

from ga4kit.config.model import Chain, Goal, GoalsConfig, PropertyRef, ReportSettings
from ga4kit.constants import ALL
from ga4kit.errors import Ga4kitError
from ga4kit.export import export_chains

TODAY = dt.date(2026, 5, 20)
SEG = "sessionDefaultChannelGroup"
STEPS = ("view_item", "add_to_cart", "begin_checkout", "purchase")


def _config(pid: str, segments=(SEG,)) -> GoalsConfig:
    goals = tuple(Goal(e, "micro", "milestone") for e in STEPS[:-1]) + (
        Goal("newsletter_signup", "micro", "secondary"), Goal("purchase", "macro"))
    return GoalsConfig(version=1, properties=(PropertyRef(pid),), goals=goals,
                       chains=(Chain("checkout", STEPS),),
                       report=ReportSettings(segments=segments, start="14daysAgo", end="yesterday", grain="week"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from ga4kit.connect import make_clients
    from ga4kit.emulator import Emulator
    from ga4kit.emulator.importer import write_events

    with Emulator(days=16, users=900, seed=11, today=TODAY) as emu:
        pid = emu.admin.property_ids()[0]
        path = tmp_path_factory.mktemp("demo") / f"analytics_{pid}"
        path.mkdir()
        zone = emu.admin.property_info(pid).time_zone
        # Two daily-table files, as an export of several days is usually kept.
        frame = emu.store.frame(pid)
        cut = frame["ts"].median()
        write_events(frame[frame["ts"] < cut].reset_index(drop=True), path / "events_a.parquet", time_zone=zone)
        write_events(frame[frame["ts"] >= cut].reset_index(drop=True), path / "events_b.parquet", time_zone=zone)
        with make_clients(emulator=emu.address) as clients:
            yield emu, pid, path, clients


def _api_funnel(clients, pid, start, end, within=None):
    from google.analytics.data_v1alpha import types as fa

    steps = []
    for i, name in enumerate(STEPS):
        s = fa.FunnelStep(name=name, filter_expression=fa.FunnelFilterExpression(
            funnel_event_filter=fa.FunnelEventFilter(event_name=name)))
        if i and within:
            s.within_duration_from_prior_step = dt.timedelta(seconds=within)
        steps.append(s)
    answer = clients.data_alpha.run_funnel_report(request=fa.RunFunnelReportRequest(
        property=f"properties/{pid}", date_ranges=[fa.DateRange(start_date=str(start), end_date=str(end))],
        funnel=fa.Funnel(steps=steps),
        funnel_breakdown=fa.FunnelBreakdown(breakdown_dimension=fa.Dimension(name=SEG), limit=15)))
    out = {}
    for r in answer.funnel_table.rows:
        seg = r.dimension_values[1].value
        out[(ALL if seg == "RESERVED_TOTAL" else seg, int(r.dimension_values[0].value.split(".")[0]))] = \
            int(r.metric_values[0].value)
    return out


@pytest.mark.parametrize("within", [None, 600])
def test_exact_chains_equal_runfunnelreport_per_period_and_channel(demo, within):
    emu, pid, path, clients = demo
    result = export_chains(_config(pid), str(path), today=TODAY, within=within)
    assert result.property == pid  # from the analytics_<id> folder
    chains = result.chains
    periods = chains[["period", "period_start", "period_end"]].drop_duplicates()
    assert len(periods) >= 2
    for _, p in periods.iterrows():
        api = _api_funnel(clients, pid, p.period_start.date(), p.period_end.date(), within)
        rows = chains[chains["period"] == p.period]
        ours = {(r[SEG], r.step_index): r.users_exact for _, r in rows.iterrows()}
        # GA4's breakdown lists values seen at step 1; ours lists every value a step was reached in.
        ours = {k: v for k, v in ours.items() if (k[0], 1) in api}
        assert ours == api
        assert api[(ALL, 4)] > 0


def test_a_steps_segment_is_the_one_on_the_event_that_reached_it(demo):
    emu, pid, path, clients = demo
    chains = export_chains(_config(pid), str(path), today=TODAY, grain="range").chains
    every = chains[chains[SEG] == ALL].set_index("step_index")["users_exact"]
    per_seg = chains[chains[SEG] != ALL].groupby("step_index")["users_exact"].sum()
    # Each user is in exactly one channel per step, so the channels add up to all users at every step ...
    assert per_seg.to_dict() == every.to_dict()
    # ... while users change channel between steps in this data (the first step's channel would not do).
    frame = emu.store.frame(pid)
    assert frame.groupby("user_id", observed=True)["channel_group"].nunique().max() > 1


def test_no_segments_and_the_sql_is_bigquery_text(demo):
    emu, pid, path, clients = demo
    result = export_chains(_config(pid, segments=()), str(path / "*.parquet"), today=TODAY, grain="range")
    assert set(result.chains.columns) >= {"users_exact", "seconds_from_previous_median", "sessions_median"}
    assert SEG not in result.chains
    assert result.chains["step_index"].tolist() == [1, 2, 3, 4]
    # Without segments every user is counted once (regression: the "(all)" copy doubled them).
    segmented = export_chains(_config(pid), str(path), today=TODAY, grain="range").chains
    every = segmented[segmented[SEG] == ALL]["users_exact"].tolist()
    assert result.chains["users_exact"].tolist() == every
    plain = export_chains(_config(pid, segments=()), str(path), today=TODAY, grain="range").influence
    seg_infl = export_chains(_config(pid), str(path), today=TODAY, grain="range").influence
    cols = ["micro", "all_users", "micro_users", "in_order_users"]
    assert plain.sort_values("micro")[cols].values.tolist() == \
        seg_infl[seg_infl[SEG] == ALL].sort_values("micro")[cols].values.tolist()
    for text in result.sql.values():
        assert "`ga4kit_local.export.events_*`" in text and "UNNEST(" in text and "_TABLE_SUFFIX" in text


@pytest.mark.parametrize("source, words", [
    ("missing.parquet", "does not exist"),
    ("events.csv", "not an export file"),
    ("empty_dir", "No export files"),
])
def test_bad_sources_say_what_to_pass(tmp_path, source, words):
    (tmp_path / "events.csv").write_text("event_name\npage_view\n")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(Ga4kitError, match=words) as info:
        export_chains(_config("1"), str(tmp_path / source), start="2024-01-01", end="2024-01-02")
    assert info.value.hint


def test_a_file_that_is_not_an_export_is_one_clear_error(tmp_path):
    path = tmp_path / "other.ndjson"
    path.write_text('{"a": 1}\n')
    with pytest.raises(Ga4kitError, match="could not be queried") as info:
        export_chains(_config("1"), str(path), start="2024-01-01", end="2024-01-02")
    assert "GA4 BigQuery export" in info.value.hint


def test_a_segment_the_export_lacks_is_refused_before_any_query(tmp_path):
    with pytest.raises(Ga4kitError, match="cannot be read from the BigQuery export"):
        export_chains(_config("1", segments=("newVsReturning",)), str(tmp_path / "nothing.parquet"))

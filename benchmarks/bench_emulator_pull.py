"""Benchmark: runReport over ~1M events for the request shapes ga4kit's own pull sends, first call included.

    .venv/bin/python benchmarks/bench_emulator_pull.py [--users 100000] [--repeat 3]

Shapes (ga4kit.reporting.pull with segments: [sessionDefaultChannelGroup], grain day), through Google's
real client over gRPC:
- events:   date x sessionDefaultChannelGroup x eventName, eventCount, totalUsers, eventValue, keyEvents,
            the goals' event names as an in-list filter, ordered by the dimensions;
- all:      the same without the filter (every event name: the most work for one report);
- baseline: date x sessionDefaultChannelGroup, totalUsers, sessions;
- batch:    events + baseline in one BatchRunReports, as pull sends them.
"First call" is timed on a fresh emulator holding the frame (the connection is opened before), so it
includes the per-frame preparation (time zone, users, sessions); "warm" is the median of the next calls.
Wall-clock times, and the process's CPU time (client and server threads: the emulator runs in-process),
which a busy machine disturbs less.
Every shape's numbers are compared with a plain pandas groupby of the same events before anything is shown.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import grpc
import numpy as np
import pandas as pd
from google.analytics import data_v1beta as d
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from ga4kit.emulator import Emulator
from ga4kit.emulator.generator import generate_events

TODAY = date(2026, 11, 22)
GOALS = ["page_view", "view_item", "add_to_cart", "begin_checkout", "purchase"]
DIMS = ["date", "sessionDefaultChannelGroup"]


def _request(pid: str, shape: str) -> d.RunReportRequest:
    dims = DIMS + (["eventName"] if shape != "baseline" else [])
    metrics = ["totalUsers", "sessions"] if shape == "baseline" else ["eventCount", "totalUsers", "eventValue",
                                                                       "keyEvents"]
    flt = d.FilterExpression(filter=d.Filter(field_name="eventName", in_list_filter=d.Filter.InListFilter(
        values=GOALS, case_sensitive=True))) if shape == "events" else None
    return d.RunReportRequest(
        property=f"properties/{pid}", date_ranges=[d.DateRange(start_date="90daysAgo", end_date="yesterday")],
        dimensions=[d.Dimension(name=n) for n in dims], metrics=[d.Metric(name=m) for m in metrics],
        dimension_filter=flt, limit=100_000, return_property_quota=True,
        order_bys=[d.OrderBy(dimension=d.OrderBy.DimensionOrderBy(dimension_name=n)) for n in dims])


def _serve(frame):
    emu = Emulator(demo=False, today=TODAY)
    account = emu.admin.create_account("Bench")
    pid = emu.admin.create_property(account, "Bench Shop", time_zone="Europe/Berlin", currency="EUR")
    emu.store.replace(pid, frame)
    emu.start()
    client = d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(
        channel=grpc.insecure_channel(emu.address)))
    client.get_metadata(d.GetMetadataRequest(name="properties/0/metadata"))  # connect first
    return emu, client, pid


def _rows(resp) -> dict:
    return {tuple(v.value for v in r.dimension_values): tuple(float(v.value) for v in r.metric_values)
            for r in resp.rows}


def _expected(frame: pd.DataFrame, shape: str) -> dict:
    local = pd.to_datetime(frame["ts"], unit="us", utc=True).dt.tz_convert("Europe/Berlin")
    day = local.dt.strftime("%Y%m%d")
    first, last = (TODAY - pd.Timedelta(days=90)).strftime("%Y%m%d"), (TODAY - pd.Timedelta(days=1)).strftime("%Y%m%d")
    f = pd.DataFrame({"date": day, "channel": frame["channel_group"].astype(str),
                      "event": frame["event_name"].astype(str), "user": frame["user_id"].astype(str),
                      "session": frame["user_id"].astype(str) + "|" + frame["session_id"].astype(str),
                      "value": frame["value"].to_numpy()})
    f = f[(f.date >= first) & (f.date <= last)]
    if shape == "events":
        f = f[f.event.isin(GOALS)]
    if shape == "baseline":
        g = f.groupby(["date", "channel"]).agg(u=("user", "nunique"), s=("session", "nunique"))
        return {k: (float(v.u), float(v.s)) for k, v in g.iterrows()}
    f = f.assign(key=(f.event == "purchase").astype(float))
    g = f.groupby(["date", "channel", "event"]).agg(n=("user", "size"), u=("user", "nunique"), v=("value", "sum"),
                                                    k=("key", "sum"))
    return {k: (float(v.n), float(v.u), float(v.v), float(v.k)) for k, v in g.iterrows()}


def _same(got: dict, exp: dict) -> bool:
    return got.keys() == exp.keys() and all(np.allclose(got[k], exp[k], rtol=1e-9, atol=1e-6) for k in exp)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    frame = generate_events(seed=1, days=90, users=args.users, today=TODAY)
    print(f"events: {len(frame):,}  users: {args.users:,}")
    for shape in ("events", "all", "baseline", "batch"):
        emu, client, pid = _serve(frame)
        try:
            if shape == "batch":
                reqs = [_request(pid, "events"), _request(pid, "baseline")]
                call = lambda: client.batch_run_reports(d.BatchRunReportsRequest(  # noqa: E731
                    property=f"properties/{pid}", requests=reqs))
            else:
                req = _request(pid, shape)
                call = lambda: client.run_report(req)  # noqa: E731
            t0, c0 = time.perf_counter(), time.process_time()
            resp = call()
            first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
            warm, warm_cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                resp = call()
                warm.append(time.perf_counter() - t0)
                warm_cpu.append(time.process_time() - c0)
        finally:
            emu.stop(grace=None)
        answers = list(resp.reports) if shape == "batch" else [resp]
        for s, r in zip(["events", "baseline"] if shape == "batch" else [shape], answers):
            assert _same(_rows(r), _expected(frame, s)), f"{s}: emulator and pandas disagree"
        rows = sum(r.row_count for r in answers)
        print(f"{shape:9s} rows {rows:6,}  first call {first * 1000:6.1f} ms (CPU {first_cpu * 1000:6.1f})   "
              f"warm, median of {args.repeat}: {statistics.median(warm) * 1000:6.1f} ms "
              f"(CPU {statistics.median(warm_cpu) * 1000:6.1f})")


if __name__ == "__main__":
    main()

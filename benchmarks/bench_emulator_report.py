"""Benchmark: the emulator's runReport over ~1M events, through Google's real client over gRPC.

    /work/venv/bin/python benchmarks/bench_emulator_report.py [--users 95000] [--days 90] [--repeat 5]

The report is eventName x sessionDefaultChannelGroup x date with eventCount and totalUsers over
the 90 days. The baseline, measured in the same run on the same frame, is a plain pandas groupby
(size + nunique) over event columns with the local date already computed, i.e. the aggregation
alone with no request parsing, filtering, time zones or response building. The emulator's
figures include all of that plus protobuf serialisation and the gRPC round trip. Both results
are compared row by row before any figure is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

import grpc
import pandas as pd
from google.analytics import data_v1beta as d
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from ga4kit.emulator import Emulator
from ga4kit.emulator.generator import generate_events

TODAY = date(2026, 11, 22)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=95_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    t0 = time.perf_counter()
    frame = generate_events(seed=1, days=args.days, users=args.users, today=TODAY)
    t_gen = time.perf_counter() - t0

    with Emulator(demo=False, today=TODAY) as emu:
        account = emu.admin.create_account("Bench")
        pid = emu.admin.create_property(account, "Bench Shop", time_zone="Europe/Berlin", currency="EUR")
        emu.store.replace(pid, frame)
        client = d.BetaAnalyticsDataClient(
            transport=BetaAnalyticsDataGrpcTransport(channel=grpc.insecure_channel(emu.address)))
        req = d.RunReportRequest(
            property=f"properties/{pid}",
            dimensions=[d.Dimension(name=n) for n in ("eventName", "sessionDefaultChannelGroup", "date")],
            metrics=[d.Metric(name="eventCount"), d.Metric(name="totalUsers")],
            date_ranges=[d.DateRange(start_date=f"{args.days}daysAgo", end_date="yesterday")],
            limit=250_000)
        t0 = time.perf_counter()
        resp = client.run_report(req)
        t_cold = time.perf_counter() - t0  # includes the per-property time-zone / session preparation
        warm = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            resp = client.run_report(req)
            warm.append(time.perf_counter() - t0)

    # Baseline: pandas groupby on the same events, local date precomputed (not timed).
    local = pd.to_datetime(frame["ts"], unit="us", utc=True).dt.tz_convert("Europe/Berlin").dt.strftime("%Y%m%d")
    base_frame = frame.assign(date=local)
    base = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        expected = base_frame.groupby(["event_name", "channel_group", "date"], observed=True).agg(
            eventCount=("ts", "size"), totalUsers=("user_id", "nunique"))
        base.append(time.perf_counter() - t0)

    got = {(r.dimension_values[0].value, r.dimension_values[1].value, r.dimension_values[2].value):
           (int(r.metric_values[0].value), int(r.metric_values[1].value)) for r in resp.rows}
    exp = {k: (int(v.eventCount), int(v.totalUsers)) for k, v in expected.iterrows()}
    assert got == exp, "emulator and pandas disagree"
    assert resp.row_count == len(exp)

    t_warm, t_base = statistics.median(warm), statistics.median(base)
    print(f"events: {len(frame):,}  users: {args.users:,}  days: {args.days}  generated in {t_gen:.2f} s")
    print(f"rows returned: {resp.row_count:,} (eventName x channel x date), numbers identical to pandas")
    print(f"emulator runReport over gRPC, first call (prepares tz/session arrays): {t_cold * 1000:8.1f} ms")
    print(f"emulator runReport over gRPC, median of {args.repeat}:                    {t_warm * 1000:8.1f} ms")
    print(f"baseline pandas groupby (size+nunique), median of {args.repeat}:          {t_base * 1000:8.1f} ms")
    print(f"ratio emulator/baseline: {t_warm / t_base:.2f}x")


if __name__ == "__main__":
    main()

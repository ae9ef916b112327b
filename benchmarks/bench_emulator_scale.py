"""Benchmark: the emulator's runReport over 1M and 10M events (first call and warm) and its memory per
million events.

    .venv/bin/python benchmarks/bench_emulator_scale.py [--millions 1,10] [--repeat 3]

The report, through Google's real client over gRPC: eventName x sessionDefaultChannelGroup x date with
eventCount, totalUsers, sessions, activeUsers and engagedSessions over 90 days. The first call includes the
per-frame preparation (time zone, sessions, engagement). Baseline, in the same run on the same frame: a
plain pandas groupby (size + nunique users + nunique sessions) with the local date already computed. The
emulator's eventCount, totalUsers and sessions are compared with the baseline's before any figure is shown.

Memory per million events: the event frame as stored (categorical / integer columns) and the arrays a
report adds (``Prepared``), against the same events as a plain pandas frame with string columns (baseline,
measured on the first million events).
"""

from __future__ import annotations

import argparse
import gc
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
USERS_PER_MILLION = 108_000


def _prepared_bytes(prep) -> int:
    total = 0
    for v in list(vars(prep).values()) + list(prep._cache.values()) + [a for pair in prep._dims.values()
                                                                       for a in pair]:
        if isinstance(v, np.ndarray):
            total += v.nbytes
        elif isinstance(v, dict):
            total += sum(a.nbytes for a in v.values() if isinstance(a, np.ndarray))
    return total


def run(millions: float, repeat: int) -> None:
    t0 = time.perf_counter()
    frame = generate_events(seed=1, days=90, users=int(USERS_PER_MILLION * millions), today=TODAY)
    t_gen = time.perf_counter() - t0
    n = len(frame)
    with Emulator(demo=False, today=TODAY) as emu:
        account = emu.admin.create_account("Bench")
        pid = emu.admin.create_property(account, "Bench Shop", time_zone="Europe/Berlin", currency="EUR")
        emu.store.replace(pid, frame)
        client = d.BetaAnalyticsDataClient(
            transport=BetaAnalyticsDataGrpcTransport(channel=grpc.insecure_channel(emu.address)))
        client.get_metadata(d.GetMetadataRequest(name="properties/0/metadata"))  # connect first
        req = d.RunReportRequest(
            property=f"properties/{pid}",
            dimensions=[d.Dimension(name=x) for x in ("eventName", "sessionDefaultChannelGroup", "date")],
            metrics=[d.Metric(name=m) for m in ("eventCount", "totalUsers", "sessions", "activeUsers",
                                                 "engagedSessions")],
            date_ranges=[d.DateRange(start_date="90daysAgo", end_date="yesterday")], limit=250_000)
        t0 = time.perf_counter()
        resp = client.run_report(req)
        t_first = time.perf_counter() - t0
        warm = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            resp = client.run_report(req)
            warm.append(time.perf_counter() - t0)
        stored = frame.memory_usage(deep=True).sum()
        prep = next(iter(emu.data.reports._cache.values()))
        prepared = _prepared_bytes(prep)

    local = pd.to_datetime(frame["ts"], unit="us", utc=True).dt.tz_convert("Europe/Berlin").dt.strftime("%Y%m%d")
    key = frame["user_id"].array.codes.astype(np.int64) * (1 << 40) + frame["session_id"].to_numpy()
    base_frame = frame[["event_name", "channel_group", "user_id"]].assign(date=local, session=key)
    base = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        expected = base_frame.groupby(["event_name", "channel_group", "date"], observed=True).agg(
            eventCount=("user_id", "size"), totalUsers=("user_id", "nunique"), sessions=("session", "nunique"))
        base.append(time.perf_counter() - t0)
    got = {tuple(v.value for v in r.dimension_values): tuple(int(v.value) for v in r.metric_values[:3])
           for r in resp.rows}
    exp = {k: (int(v.eventCount), int(v.totalUsers), int(v.sessions)) for k, v in expected.iterrows()}
    assert got == exp, "emulator and pandas disagree"

    sample = frame.iloc[:1_000_000]
    plain = sample.astype({c: object for c in sample.columns if isinstance(sample[c].dtype, pd.CategoricalDtype)})
    plain_bytes = plain.memory_usage(deep=True).sum() / len(sample) * 1e6
    print(f"--- {n:,} events ({n / 1e6:.1f}M), generated in {t_gen:.1f} s; {resp.row_count:,} rows, numbers "
          "identical to pandas")
    print(f"runReport over gRPC, first call (prepares the frame): {t_first * 1000:8.1f} ms")
    print(f"runReport over gRPC, warm (median of {repeat}):           {statistics.median(warm) * 1000:8.1f} ms")
    print(f"baseline pandas groupby (size + nunique), median:     {statistics.median(base) * 1000:8.1f} ms")
    print(f"memory per million events: stored frame {stored / n:,.0f} MB/M, report arrays {prepared / n:,.0f} MB/M;"
          f" baseline plain pandas (string columns) {plain_bytes / 1e6:,.0f} MB/M")
    del frame, base_frame, plain, sample
    gc.collect()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--millions", default="1,10")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for m in args.millions.split(","):
        run(float(m), args.repeat)


if __name__ == "__main__":
    main()

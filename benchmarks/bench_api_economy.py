"""Benchmark: API economy. Data API requests and quota tokens of a 28-day pull of 20 goals by channel,
against a per-goal, per-day pull; and requests per grain as the range grows.

    .venv/bin/python benchmarks/bench_api_economy.py [--goals 20] [--days 28]

One standard property (200,000 tokens a day) with synthetic events of ``--goals`` goals. Tokens are what
the emulator charges (GA4's rule: more rows and longer ranges cost more), read from the property quota each
response returns. The baseline is the obvious script: one runReport per goal and day (by channel), plus one
per day for users and sessions. Target: one Data API request per property while the rows fit in a page,
at every grain.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math

from _support import TODAY, clients, emulator_process, goal_names, goals_config, machine


def naive(ga, pid: str, goals: list[str], days: list[dt.date]) -> tuple[int, int]:
    """(requests, tokens) of the per-goal, per-day pull; tokens from the quota each response reports."""
    from google.analytics.data_v1beta import types as d

    requests = tokens = 0
    channel = [d.Dimension(name="sessionDefaultChannelGroup")]
    for day in days:
        rng = [d.DateRange(start_date=str(day), end_date=str(day))]
        asks = [d.RunReportRequest(property=f"properties/{pid}", date_ranges=rng, dimensions=channel,
                                   metrics=[d.Metric(name=m) for m in ("eventCount", "totalUsers", "eventValue",
                                                                       "keyEvents")],
                                   dimension_filter=d.FilterExpression(filter=d.Filter(
                                       field_name="eventName", string_filter=d.Filter.StringFilter(value=g))),
                                   return_property_quota=True) for g in goals]
        asks.append(d.RunReportRequest(property=f"properties/{pid}", date_ranges=rng, dimensions=channel,
                                       metrics=[d.Metric(name="totalUsers"), d.Metric(name="sessions")],
                                       return_property_quota=True))
        for ask in asks:
            rep = ga.data.run_report(request=ask)
            requests += 1
            tokens += rep.property_quota.tokens_per_day.consumed
    return requests, tokens


def old_requests(grain: str, days: int, compare: bool) -> int:
    """Batch requests of the pull before this change: weeks and months as date ranges, 4 per report."""
    from ga4kit.reporting import periods as P

    end = TODAY - dt.timedelta(days=1)
    start = end - dt.timedelta(days=days - 1)
    n = len(P.split(start, end, grain)) * (2 if compare else 1)
    reports = 4 * (math.ceil(n / 4) if grain in ("week", "month") else 1)
    return math.ceil(reports / 5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goals", type=int, default=20)
    ap.add_argument("--days", type=int, default=28)
    args = ap.parse_args()

    from ga4kit.reporting.pull import pull

    names = goal_names(args.goals)
    synthetic = dict(goals=args.goals, days=400, rows=150_000, users=8_000)
    with emulator_process(synthetic=synthetic, properties=1, days=2, users=10) as (address, pids):
        pid = pids[0]
        cfg = goals_config([pid], names)
        ga = clients(address)
        try:
            start = f"{args.days}daysAgo"
            res = pull(cfg, ga, start=start, end="yesterday", grain="range", today=TODAY)
            data_calls = sum(1 for c in ga.calls if c in ("batch_run_reports", "run_report"))
            ours = 200_000 - res.metadata[pid].quota["tokens_per_day"]["remaining"]
            days = [TODAY - dt.timedelta(days=i) for i in range(args.days, 0, -1)]
            n_naive, t_naive = naive(ga, pid, names, days)
            grains = []
            for grain, span, compare in (("week", 28, False), ("week", 365, False), ("week", 365, True),
                                         ("month", 365, True), ("day", 365, True)):
                ga.calls.clear()
                pull(cfg, ga, start=f"{span}daysAgo", end="yesterday", grain=grain, compare_previous=compare,
                     today=TODAY)
                now = sum(1 for c in ga.calls if c in ("batch_run_reports", "run_report"))
                grains.append((grain, span, compare, now, old_requests(grain, span, compare)))
        finally:
            ga.close()
    print(f"{args.days}-day pull of {args.goals} goals by channel, one property ({machine()})")
    print(f"  ga4kit pull:        {data_calls:4d} Data API request(s), {ours:6d} tokens")
    print(f"  per goal, per day:  {n_naive:4d} requests,             {t_naive:6d} tokens   "
          f"({n_naive / data_calls:.0f}x the requests, {t_naive / max(ours, 1):.1f}x the tokens)")
    print("  Data API requests per property by grain (rows in one page):")
    for grain, span, compare, now, old in grains:
        print(f"    {grain:5s} over {span:3d} days{' + previous period' if compare else '':20s} {now:3d} "
              f"(before: {old})")


if __name__ == "__main__":
    main()

"""Benchmark: `audit` of 200 properties with 50 ms of latency per call, concurrent against the ideal given
the caps and against one property at a time.

    .venv/bin/python benchmarks/bench_audit.py [--properties 200] [--latency 50] [--concurrency 10]
                                               [--ga4-window]

The emulator (demo properties: a shop, SaaS, lead and content sites, 60 days of events) runs in its own
process with ``--latency`` ms added to every call. Per property the audit makes about 11 Admin API reads
and one Data API batch, in three rounds of calls sent together (GetProperty; the settings, lists and the
Data API batch; each web stream's settings), so a property's critical path is 3 x latency.

Figures (ga4kit's own CPU time beside each):

- concurrent: ``run_audit(concurrency=N)`` (default 10 properties in flight);
- sequential: ``concurrency=1`` (one property at a time; its calls still grouped in rounds);
- ideal: the least time under the caps: the largest of ceil(properties / N) x rounds x latency (N
  properties in flight, each waiting out its three rounds), the Admin API window (its limit of requests
  at once, then each further one a period after the one that many places before it) and the emulator's
  service time (its report building, measured one property at a time without latency, minus ga4kit's CPU
  time in it).

The latency runs lift the Admin API's per-user window (540 requests a minute in ga4kit): with it, 200
properties x 11 Admin reads = 2,200 requests cannot take less than 4 minutes (bursts of 540 a minute)
however the audit is scheduled, and concurrency would show nothing. ``--ga4-window`` adds a run under GA4's real window to
show that the audit then keeps to it and takes what it must.
"""

from __future__ import annotations

import argparse
import math

from _support import TODAY, clients, emulator_process, machine, timed

DATA = ("batch_run_reports", "run_report")
ROUNDS = 3


def run(address: str, n: int, limits):
    """(wall seconds, ga4kit CPU seconds, report, call names) of one audit with fresh clients."""
    import time

    from ga4kit.audit import run_audit
    from ga4kit.properties import list_properties

    ga = clients(address)
    try:
        pids = [p.property for p in list_properties(ga)]
        ga.calls.clear()
        cpu = time.process_time()
        wall, report = timed(lambda: run_audit(ga, pids, concurrency=n, today=TODAY, limits=limits()))
        return wall, time.process_time() - cpu, report, list(ga.calls)
    finally:
        ga.close()


def ideal(properties: int, latency: float, workers: int, admin_calls: int, per_minute: int, period: float,
          service: float) -> float:
    # The window lets ``per_minute`` requests through at once, then each further one a period after the
    # request ``per_minute`` places before it: the last of n starts at floor((n - 1) / per_minute) periods.
    window = (max(admin_calls, 1) - 1) // per_minute * period
    return max(math.ceil(properties / workers) * ROUNDS * latency, window, service)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--properties", type=int, default=200)
    ap.add_argument("--latency", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--skip-sequential", action="store_true")
    ap.add_argument("--ga4-window", action="store_true", help="also run under GA4's Admin API window")
    args = ap.parse_args()

    from ga4kit.executor import ADMIN_REQUESTS_PER_MINUTE, Limits

    lifted = 10**9
    free = lambda: Limits(admin_per_minute=lifted)  # noqa: E731
    lat = args.latency / 1000
    kw = dict(properties=args.properties, days=60, users=100)
    with emulator_process(**kw) as (address, _):
        run(address, 1, free)  # warm: imports, first reports
        wall, cpu, report, _ = run(address, 1, free)
        service = max(0.0, wall - cpu)
        print(f"{args.properties} properties without latency, one at a time ({machine()}): {wall:.2f} s, of which "
              f"ga4kit CPU {cpu:.2f} s; emulator service time {service:.2f} s")
    with emulator_process(latency=args.latency, **kw) as (address, _):
        wall, cpu, report, calls = run(address, args.concurrency, free)
        assert not report.failed, [p.error for p in report.failed]
        admin = sum(1 for c in calls if c not in DATA)
        best = ideal(args.properties, lat, args.concurrency, admin, lifted, 60.0, service)
        print(f"{args.properties} properties, {args.latency:g} ms per call, concurrency {args.concurrency}: "
              f"{len(calls) / args.properties:.1f} calls per property ({admin} Admin, {len(calls) - admin} Data)")
        print(f"  concurrent {wall:6.2f} s (ga4kit CPU {cpu:.2f} s), ideal {best:5.2f} s "
              f"({wall / best:.2f}x, target <= 1.3x)")
        if not args.skip_sequential:
            seq, seq_cpu, _, _ = run(address, 1, free)
            print(f"  sequential {seq:6.2f} s (ga4kit CPU {seq_cpu:.2f} s): concurrent is {seq / wall:.1f}x faster")
        if args.ga4_window:
            limits = lambda: Limits(admin_per_minute=ADMIN_REQUESTS_PER_MINUTE)  # noqa: E731
            wall, cpu, report, calls = run(address, args.concurrency, limits)
            best = ideal(args.properties, lat, args.concurrency, admin, ADMIN_REQUESTS_PER_MINUTE, 60.0, service)
            print(f"  under GA4's Admin window ({ADMIN_REQUESTS_PER_MINUTE}/min): {wall:6.2f} s, ideal {best:5.2f} s "
                  f"({wall / best:.2f}x)")


if __name__ == "__main__":
    main()

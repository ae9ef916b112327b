"""Benchmark: `plan` and `pull` over 200 properties with 50 ms of latency per call, concurrent against the
ideal given ga4kit's caps and against one property at a time.

    .venv/bin/python benchmarks/bench_concurrency.py [--properties 200] [--latency 50] [--concurrency 10]

The emulator runs in its own process with ``--latency`` ms added to every call (GA4 answers in 50 to 300
ms). Each run gets fresh clients. Figures:

- concurrent: ``admin.plan`` / ``reporting.pull`` with ``concurrency=N`` (the library default, 10);
- sequential: the same with ``concurrency=1`` (what plan and pull did before);
- ideal: the least time the calls made can take under the caps and the server: the largest of
  (calls x latency + service) / N (N threads each waiting out their calls), the longest property's
  calls x latency, the Admin API window (calls beyond 540 wait for the minute to pass), and the
  emulator's service time. The emulator builds reports in one Python process, so its service time
  (measured: the same run one property at a time on an emulator without latency, minus ga4kit's CPU
  time in it) is a floor no client can go under; GA4's servers have no such floor.
  Target: concurrent at most 1.3x the ideal.

Three runs: plan (Admin reads and the Data API event check per property), plan --no-event-check
(Admin reads only: nearly no service time, so it shows the latency bound alone) and pull.

ga4kit's own CPU time (this process) is printed beside each figure.

GA4 counts the Admin API's 600 requests per minute per user across runs; the emulator does not, and each
run here has its own clients, so runs do not wait for each other's minute.
"""

from __future__ import annotations

import argparse

from _support import TODAY, clients, emulator_process, goals_config, machine, timed

ADMIN = ("get_property", "list_key_events", "list_data_streams", "list_event_create_rules")


def ideal(calls: list[list[str]], latency: float, workers: int, admin_per_minute: int, service: float) -> float:
    """Least time for these per-property call lists under the caps and the server's service time."""
    total = sum(len(c) for c in calls)
    admin = sum(1 for c in calls for m in c if m in ADMIN)
    window = max(0.0, (admin - admin_per_minute) / admin_per_minute * 60.0)
    return max((total * latency + service) / workers, max(len(c) for c in calls) * latency, window, service)


def run(address: str, job, n: int):
    """(wall seconds, ga4kit CPU seconds, result, calls per property) of one run with fresh clients."""
    import time

    ga = clients(address)
    try:
        cpu = time.process_time()
        wall, out = timed(lambda: job(ga, n))
        return wall, time.process_time() - cpu, out, list(ga.calls)
    finally:
        ga.close()


def _warm() -> None:
    """Import what the first pull would (pandas, pyarrow strings), so no figure carries import time."""
    import numpy as np
    import pandas as pd

    pd.DataFrame({"a": np.array(["x"], dtype=object), "b": np.array(["2026-01-01"], dtype="datetime64[us]")})


def _time_tidy() -> list[float]:
    """Seconds spent in ga4kit.reporting.tidy.frames, appended per call."""
    import time

    from ga4kit.reporting import tidy

    spent: list[float] = []
    frames = tidy.frames

    def timed_frames(*a, **kw):
        t = time.perf_counter()
        try:
            return frames(*a, **kw)
        finally:
            spent.append(time.perf_counter() - t)

    tidy.frames = timed_frames
    return spent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--properties", type=int, default=200)
    ap.add_argument("--latency", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--skip-sequential", action="store_true")
    args = ap.parse_args()

    from ga4kit import admin
    from ga4kit.executor import ADMIN_REQUESTS_PER_MINUTE
    from ga4kit.reporting.pull import pull

    lat = args.latency / 1000
    cfg = None
    jobs = {
        "plan": lambda ga, n: admin.plan(cfg, ga, concurrency=n),
        "plan --no-event-check": lambda ga, n: admin.plan(cfg, ga, concurrency=n, check_events=False),
        "pull": lambda ga, n: pull(cfg, ga, concurrency=n, today=TODAY),
    }
    service, unloaded = {}, {}
    tidy_time = _time_tidy()
    _warm()
    with emulator_process(properties=args.properties, days=35, users=100) as (address, pids):
        cfg = goals_config(pids, ["view_item", "add_to_cart", "begin_checkout", "newsletter_signup", "purchase"])
        for name, job in jobs.items():
            tidy_time.clear()
            wall, cpu, _, _ = run(address, job, 1)
            service[name] = max(0.0, wall - cpu)
            unloaded[name] = (wall, cpu, sum(tidy_time))
    rows = []
    with emulator_process(properties=args.properties, days=35, users=100, latency=args.latency) as (address, pids):
        cfg = goals_config(pids, ["view_item", "add_to_cart", "begin_checkout", "newsletter_signup", "purchase"])
        for name, job in jobs.items():
            wall, cpu, out, calls = run(address, job, args.concurrency)
            failed = len(out.errors) if name == "pull" else sum(1 for p in out.properties if p.error)
            assert not failed, f"{failed} properties failed"
            each = len(calls) // len(pids)
            per = [calls[i * each:(i + 1) * each] for i in range(len(pids))]
            best = ideal(per, lat, args.concurrency, ADMIN_REQUESTS_PER_MINUTE, service[name])
            seq = None if args.skip_sequential else run(address, job, 1)
            rows.append((name, each, wall, cpu, best, service[name], seq))
    print(f"{args.properties} properties without latency, one at a time ({machine()})")
    for name, (wall, cpu, tidy_s) in unloaded.items():
        print(f"  {name}: {wall:6.2f} s, of which ga4kit CPU {cpu:.2f} s" + (
            f" (tidying every property's rows: {tidy_s:.2f} s)" if name == "pull" else ""))
    print(f"{args.properties} properties, {args.latency:g} ms per call, concurrency {args.concurrency}")
    for name, each, wall, cpu, best, serv, seq in rows:
        line = (f"  {name}: {each} calls per property; concurrent {wall:6.2f} s (ga4kit CPU {cpu:.2f} s), "
                f"ideal {best:5.2f} s ({wall / best:.2f}x, target <= 1.3x; emulator service time {serv:.2f} s)")
        if seq is not None:
            line += f"; sequential {seq[0]:6.2f} s ({seq[0] / wall:.1f}x slower)"
        print(line)


if __name__ == "__main__":
    main()

"""Benchmark: `pull -g day` over 365 days and 50 goals by channel, against the raw-protobuf floor.

    .venv/bin/python benchmarks/bench_pull_day.py [--goals 50] [--days 365] [--rows 400000] [--repeat 3]

One property with ``--rows`` synthetic events of ``--goals`` goals over ``--days`` days (about 125,000
event rows by channel and day). Figures, best of ``--repeat``, in this process, same emulator (its own
process) and the same clients:

- ga4kit: ``ga4kit.reporting.pull.pull(grain="day")``, everything included (GetProperty, the batch
  request, reading, tidy frames with periods, goal types, rounded money);
- floor: the same batchRunReports request sent through the same clients, its rows read from the raw
  protobuf messages into one DataFrame per report (strings as they come, metrics as numbers): what any
  pull must do. Target: ga4kit at most 1.5x the floor;
- proto-plus (skip with --skip-proto-plus): the floor's reading done through the proto-plus wrappers
  the client hands out, as ga4kit did before (field by field), on the same response.
"""

from __future__ import annotations

import argparse
import datetime as dt

from _support import TODAY, clients, emulator_process, goal_names, goals_config, machine, timed


def floor(ga, cfg, pid, start, end):
    """The batch request of the pull, and its rows from raw protobuf into DataFrames."""
    import numpy as np
    import pandas as pd

    from ga4kit.reporting import periods as P
    from ga4kit.reporting.requests import batches, build_reports

    reports = build_reports(f"properties/{pid}", [g.event for g in cfg.goals], cfg.report.segments, "day",
                            P.split(start, end, "day"), [])
    frames = []
    for _, batch in batches(f"properties/{pid}", reports):
        answer = ga.data.batch_run_reports(request=batch)
        for rep in type(answer).pb(answer).reports:
            dims = [h.name for h in rep.dimension_headers]
            mets = [h.name for h in rep.metric_headers]
            dv = [v.value for r in rep.rows for v in r.dimension_values]
            mv = [v.value for r in rep.rows for v in r.metric_values]
            cols = {d: dv[i::len(dims)] for i, d in enumerate(dims)}
            cols.update({m: np.array(mv[i::len(mets)], dtype=np.float64) for i, m in enumerate(mets)})
            frames.append(pd.DataFrame(cols))
    return frames


def request_only(ga, cfg, pid, start, end):
    """The floor's request alone: the time GA4 (here the emulator) and the transport take."""
    from ga4kit.reporting import periods as P
    from ga4kit.reporting.requests import batches, build_reports

    reports = build_reports(f"properties/{pid}", [g.event for g in cfg.goals], cfg.report.segments, "day",
                            P.split(start, end, "day"), [])
    for _, batch in batches(f"properties/{pid}", reports):
        ga.data.batch_run_reports(request=batch)


def proto_plus(ga, cfg, pid, start, end):
    """The floor's reading through the proto-plus wrappers (field by field), on the same request."""
    import pandas as pd

    from ga4kit.reporting import periods as P
    from ga4kit.reporting.requests import batches, build_reports

    reports = build_reports(f"properties/{pid}", [g.event for g in cfg.goals], cfg.report.segments, "day",
                            P.split(start, end, "day"), [])
    [(_, batch)] = batches(f"properties/{pid}", reports)
    answer = ga.data.batch_run_reports(request=batch)
    frames = []
    for rep in answer.reports:
        dims = [h.name for h in rep.dimension_headers]
        mets = [h.name for h in rep.metric_headers]
        data = {d: [r.dimension_values[i].value for r in rep.rows] for i, d in enumerate(dims)}
        data.update({m: [r.metric_values[i].value for r in rep.rows] for i, m in enumerate(mets)})
        frames.append(pd.DataFrame(data))
    return frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goals", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rows", type=int, default=400_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-proto-plus", action="store_true")
    args = ap.parse_args()

    from ga4kit.reporting.pull import pull

    synthetic = dict(goals=args.goals, days=args.days + 1, rows=args.rows, users=20_000)
    with emulator_process(synthetic=synthetic, properties=1, days=2, users=10) as (address, pids):
        pid = pids[0]
        cfg = goals_config([pid], goal_names(args.goals))
        start, end = TODAY - dt.timedelta(days=args.days), TODAY - dt.timedelta(days=1)
        ga = clients(address)
        try:
            run = lambda: pull(cfg, ga, grain="day", start=str(start), end=str(end), today=TODAY)  # noqa: E731
            t_pull, res = timed(run, args.repeat)
            assert not res.errors, res.errors
            t_floor, frames = timed(lambda: floor(ga, cfg, pid, start, end), args.repeat)
            assert sum(len(f) for f in frames) == len(res.events) + len(res.baseline), "not the same rows"
            t_call, _ = timed(lambda: request_only(ga, cfg, pid, start, end), args.repeat)
            t_pp = None if args.skip_proto_plus else timed(lambda: proto_plus(ga, cfg, pid, start, end))[0]
        finally:
            ga.close()
    rows = len(res.events) + len(res.baseline)
    print(f"pull -g day, {args.days} days x {args.goals} goals by channel: {rows:,} rows ({machine()})")
    print(f"  ga4kit pull        {t_pull:7.2f} s   ga4kit / floor = {t_pull / t_floor:.2f}x (target <= 1.5x)")
    print(f"  raw-protobuf floor {t_floor:7.2f} s")
    print(f"  the request alone  {t_call:7.2f} s   (the emulator and the transport)")
    print(f"  after the answer: ga4kit {t_pull - t_call:.2f} s, floor {t_floor - t_call:.2f} s "
          f"({(t_pull - t_call) / max(t_floor - t_call, 1e-9):.2f}x)")
    if t_pp is not None:
        print(f"  proto-plus         {t_pp:7.2f} s   (the floor read field by field through proto-plus, as ga4kit "
              f"did before: {t_pp - t_call:.2f} s after the answer, "
              f"{(t_pp - t_call) / max(t_floor - t_call, 1e-9):.1f}x the floor's)")


if __name__ == "__main__":
    main()

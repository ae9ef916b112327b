"""Benchmark: chains, goal summary and flags on a 2-million-row pulled frame, time and peak memory.

    .venv/bin/python benchmarks/bench_chains.py [--properties 420] [--days 90] [--repeat 3]

The input is what a day-grain pull with the previous period gives: 420 properties × 90 days × (6 channels +
"(all)") × 8 events, 5% of event rows dropped (missing goals count as zero) ≈ 2.0 M event rows, and a
previous period of the same shape. Each measurement runs in its own subprocess that loads the frames,
then times the call (best of --repeat) and reads the peak resident memory (Linux VmHWM, reset after
loading): "peak" is the memory the call needs above the loaded input, "process" the whole process's peak;
"cpu s" is the process's CPU time (user + system) of the best run, a steadier figure on a busy machine.

- ``groupby``: the baseline, a plain pandas groupby of the same events frame over the grid keys and event.
- ``chains``: compute_chains.  ``chains+previous``: with the previous period, as `ga4kit chains` runs it.
- ``goals+previous``: goal_summary with the previous period.  ``flags+history``: flags with the day-grain
  history (previous + current period), metadata and the pulled properties.
- ``analysis``: what ga4kit.reporting.analysis computes after the pull: chains and goal summary with the
  previous period and flags with history in one pass (ga4kit.tables), caveat flags, all flags sorted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ga4kit import chains as C
from ga4kit import flags as F
from ga4kit import tables as T
from ga4kit.config.model import Chain, Goal, GoalsConfig, PropertyRef

S = "sessionDefaultChannelGroup"
CHANNELS = ["Organic Search", "Paid Search", "Direct", "Email", "Referral", "Organic Social", "(all)"]
GOALS = [("view_item", "micro", "milestone"), ("add_to_cart", "micro", "milestone"),
         ("begin_checkout", "micro", "milestone"), ("add_payment_info", "micro", "milestone"),
         ("newsletter_signup", "micro", "secondary"), ("video_complete", "micro", "secondary"),
         ("file_download", "micro", "secondary"), ("purchase", "macro", None)]
CONFIG = GoalsConfig(
    version=1, properties=(PropertyRef("1"),),
    goals=tuple(Goal(e, t, k) for e, t, k in GOALS),
    chains=(Chain("checkout", ("view_item", "add_to_cart", "begin_checkout", "add_payment_info", "purchase")),
            Chain("content", ("video_complete", "newsletter_signup", "purchase"))),
)
START = dt.date(2026, 8, 1)
TARGETS = {"chains": (1.0, 1024), "analysis": (5.0, 2048)}  # seconds, MB of peak above the input


def synth(n_props: int, n_days: int, start: dt.date, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Day-grain events and baseline frames shaped like ga4kit.reporting.pull's."""
    rng = np.random.default_rng(seed)
    props = np.array([str(100000000 + i) for i in range(n_props)], dtype=object)
    days = pd.date_range(start, periods=n_days, freq="D")
    p, d, c = (a.ravel() for a in np.meshgrid(np.arange(n_props), np.arange(n_days), np.arange(len(CHANNELS)),
                                               indexing="ij"))
    base = pd.DataFrame({"property": props[p], "property_name": "Shop " + pd.Series(props[p]),
                         "period": np.asarray(days.strftime("%Y-%m-%d"))[d],
                         "period_start": days[d], "period_end": days[d], S: np.array(CHANNELS)[c],
                         "users": rng.integers(50, 5000, len(p)), "sessions": rng.integers(60, 8000, len(p))})
    n_ev = len(GOALS)
    ev = base.loc[np.repeat(base.index.to_numpy(), n_ev)].reset_index(drop=True)
    ev["event"] = np.tile([g[0] for g in GOALS], len(base))
    ev["goal_type"] = np.tile([g[1] for g in GOALS], len(base))
    ev["goal_kind"] = np.tile(np.array([g[2] for g in GOALS], dtype=object), len(base))
    share = np.tile(np.array([0.5, 0.2, 0.1, 0.07, 0.03, 0.05, 0.04, 0.05]), len(base))
    ev["users"] = (ev["users"].to_numpy() * share).astype("int64")
    ev["event_count"] = (ev["users"] * 1.3).astype("int64")
    ev["value"] = ev["event_count"] * 1.0
    ev["currency"] = "EUR"
    ev["key_events"] = ev["event_count"]
    ev = ev.drop(columns="sessions")
    keep = rng.random(len(ev)) > 0.05  # missing goals must count as zero
    return ev[keep].reset_index(drop=True), base


# --------------------------------------------------------------------------------------------- measures

def _groupby(d):
    return d["ev"].groupby(["property", S, "period_start", "period", "event"])[["users", "event_count"]].sum()


def _chains(d):
    return C.compute_chains(d["ev"], d["bl"], CONFIG, [S])


def _chains_previous(d):
    return C.compute_chains(d["ev"], d["bl"], CONFIG, [S], previous=(d["pev"], d["pbl"]), today=d["today"],
                            data_start=d["first"])


def _goals_previous(d):
    return C.goal_summary(d["ev"], d["bl"], CONFIG, [S], previous=(d["pev"], d["pbl"]), today=d["today"],
                          data_start=d["first"])


def _flags_history(d):
    return F.flags(d["ev"], d["bl"], CONFIG, [S], history=d["history"], metadata=d["metadata"],
                   properties=d["properties"])


def _analysis(d):
    t = T.tables(d["ev"], d["bl"], CONFIG, [S], previous=(d["pev"], d["pbl"]), history=d["history"],
                 today=d["today"], data_start=d["first"], metadata=d["metadata"], properties=d["properties"])
    caveats = F.caveat_flags(t.goals, [S])
    return t.chains, t.goals, F.sort_flags([t.flags, caveats], [S])


MEASURES = {"groupby": _groupby, "chains": _chains, "chains+previous": _chains_previous,
            "goals+previous": _goals_previous, "flags+history": _flags_history, "analysis": _analysis}


def _mem() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB."""
    status = Path("/proc/self/status").read_text()
    return tuple(int(re.search(rf"{k}:\s+(\d+)", status).group(1)) / 1024 for k in ("VmRSS", "VmHWM"))


def child(name: str, data_dir: Path, repeat: int) -> None:
    d = {k: pd.read_pickle(data_dir / f"{k}.pkl") for k in ("ev", "bl", "pev", "pbl")}
    d["history"] = (pd.concat([d["pev"], d["ev"]], ignore_index=True),
                    pd.concat([d["pbl"], d["bl"]], ignore_index=True))
    props = list(pd.unique(d["bl"]["property"]))
    end = d["bl"]["period_end"].max().date()
    d.update(today={p: end + dt.timedelta(days=1) for p in props}, first={}, properties=props,
             metadata={p: {"subject_to_thresholding": False} for p in props})
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before, _ = _mem()
    times, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = MEASURES[name](d)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        del out
        gc.collect()
    _, peak = _mem()
    print(json.dumps({"seconds": min(times), "cpu": min(cpu), "peak_mb": peak - before, "process_mb": peak}))


def run(name: str, data_dir: Path, repeat: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", name, "--data", str(data_dir),
                           "--repeat", str(repeat)], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--properties", type=int, default=420)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=list(MEASURES), help="run only these measurements")
    ap.add_argument("--child", choices=list(MEASURES), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.data, a.repeat)

    with tempfile.TemporaryDirectory(prefix="bench_chains_") as tmp:
        data = Path(tmp)
        ev, bl = synth(a.properties, a.days, START, seed=1)
        pev, pbl = synth(a.properties, a.days, START - dt.timedelta(days=a.days), seed=2)
        for k, f in (("ev", ev), ("bl", bl), ("pev", pev), ("pbl", pbl)):
            f.to_pickle(data / f"{k}.pkl")
        print(f"input: {len(ev):,} event rows and {len(bl):,} baseline rows per period ({a.properties} properties "
              f"× {a.days} days × {len(CHANNELS)} segments × {len(GOALS)} events, 5% of event rows dropped), "
              f"and a previous period of the same shape; best of {a.repeat}, peak = resident memory above the "
              "loaded input")
        del ev, bl, pev, pbl
        print(f"{'measurement':<18}{'seconds':>9}{'cpu s':>8}{'peak MB':>10}{'process MB':>12}  target")
        for name in a.only or MEASURES:
            r = run(name, data, a.repeat)
            t = TARGETS.get(name)
            target = "" if t is None else (f"< {t[0]:g} s, < {t[1] / 1024:g} GB: "
                                           + ("met" if r["seconds"] < t[0] and r["peak_mb"] < t[1] else "MISSED"))
            print(f"{name:<18}{r['seconds']:>9.2f}{r['cpu']:>8.2f}{r['peak_mb']:>10,.0f}{r['process_mb']:>12,.0f}"
                  f"  {target}", flush=True)


if __name__ == "__main__":
    main()

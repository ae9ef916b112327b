"""Benchmark: exact chains and influence from a GA4 export of ~10 million events, DuckDB against pandas.

    .venv/bin/python benchmarks/bench_export_chains.py [--events 10000000] [--keep DIR]

Writes a synthetic export (tests/export_support.py: four channels, 1-3 sessions per user, a planted
newsletter effect) as one Parquet file in the GA4 export schema, then in fresh processes, one after the
other:

- duckdb: ``ga4kit.export.export_chains`` on the file: the BigQuery-dialect queries transpiled by sqlglot
  and run by DuckDB (both queries: the chain checkout [view_item, add_to_cart, purchase] with the time
  between steps and sessions to convert, and influence of 4 micro goals on purchase, by channel);
- pandas: the same numbers with a pandas groupby baseline: the file read with pyarrow (event_params
  flattened for ga_session_number), then sort, groupby and merge.

Each prints its wall time, its CPU time (all threads; the machine's cores may be shared) and peak memory
(the process's maximum resident set, ru_maxrss: imports and the result included), and the
parent checks that both found the same users at every step, the same quartiles of the time between steps
and of the sessions to convert, and the same influence counts. Target on this machine (2 cores): DuckDB
under 10 s and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

STEPS = ["view_item", "add_to_cart", "purchase"]
MICROS = ["view_item", "add_to_cart", "newsletter_signup", "video_complete"]
SEG = "sessionDefaultChannelGroup"


def make(events: int, path: Path) -> int:
    from export_support import planted_events, write_export

    users = max(int(events / 5.3), 1)  # the generator makes ~5.3 events per user
    frame = planted_events(users, days=28)
    write_export(frame, path)
    return len(frame)


def config(tmp: Path):
    from export_support import goals_yaml

    from ga4kit.config import load

    goals = tmp / "goals.yaml"
    goals.write_text(goals_yaml("1", "2024-03-04", "2024-03-31"))
    return load(goals)


def run_duckdb(path: Path, tmp: Path) -> dict:
    from ga4kit.export import export_chains

    cfg = config(tmp)
    t = time.perf_counter()
    result = export_chains(cfg, str(path))
    wall = time.perf_counter() - t
    chains = {f"{r[SEG]}|{r.step_index}": [int(r.users_exact), *_q(r.seconds_from_previous_q1,
                                                                  r.seconds_from_previous_median,
                                                                  r.seconds_from_previous_q3),
                                            *_q(r.sessions_q1, r.sessions_median, r.sessions_q3)]
              for _, r in result.chains.iterrows() if r.users_exact > 0}
    infl = {f"{r[SEG]}|{r.micro}": [int(r.all_users), int(r.micro_users), int(r.in_order_users),
                                    int(r.other_macro_users)] for _, r in result.influence.iterrows()}
    return {"wall": wall, "chains": chains, "influence": infl}


def run_pandas(path: Path, tmp: Path) -> dict:
    """The same numbers with pandas: flatten, sort by user and time, one pass per step with groupby."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = time.perf_counter()
    table = pq.read_table(path, columns=["event_date", "event_timestamp", "event_name", "user_pseudo_id",
                                         "event_params", "session_traffic_source_last_click"])
    params = table.column("event_params").combine_chunks()
    flat = pc.list_flatten(params)
    keys = flat.field("key").cast("string")
    ints = flat.field("value").field("int_value")
    parent = pc.list_parent_indices(params)
    is_num = pc.equal(keys, "ga_session_number").to_numpy(zero_copy_only=False)
    session = np.full(len(table), -1, dtype=np.int64)
    session[parent.to_numpy()[is_num]] = ints.to_numpy(zero_copy_only=False)[is_num]
    channel = pc.struct_field(pc.struct_field(table.column("session_traffic_source_last_click"),
                                              "cross_channel_campaign"), "default_channel_group")
    df = pd.DataFrame({
        "user": table.column("user_pseudo_id").to_pandas().astype("category").cat.codes.to_numpy(),
        "ts": table.column("event_timestamp").to_numpy(),
        "event": table.column("event_name").to_pandas().astype("category"),
        "session": session,
        "seg": channel.to_pandas().fillna("(not set)").astype("category"),
    })
    df = df.sort_values(["user", "ts"], kind="stable").reset_index(drop=True)
    # Closed funnel: step k reached at an event after a reached step k-1 event (latest one).
    reached = df[df["event"] == STEPS[0]][["user", "ts", "seg", "session"]].assign(prior=np.nan)
    firsts = {1: reached.groupby("user", sort=False).first()}
    for k, step in enumerate(STEPS[1:], start=2):
        cand = df[df["event"] == step][["user", "ts", "seg", "session"]]
        both = pd.concat([reached[["user", "ts"]].assign(k=0), cand.assign(k=1)]).sort_values(["user", "ts", "k"])
        prev_ts = both["ts"].where(both["k"] == 0)
        # The latest reached step k-1 event before each candidate (ties: the earlier step first).
        both["prior"] = prev_ts.groupby(both["user"]).ffill().where(both["k"] == 1)
        both = both[(both["k"] == 1) & both["prior"].notna()]
        reached = both[["user", "ts", "seg", "session", "prior"]]
        firsts[k] = reached.groupby("user", sort=False).first()
    chains = {}
    start_session = firsts[1]["session"]
    for k, f in firsts.items():
        f = f.assign(seconds=(f["ts"] - f["prior"]) / 1e6,
                     sessions=f["session"] - start_session.loc[f.index].to_numpy() + 1)
        for seg, g in list(f.groupby("seg", observed=True)) + [("(all)", f)]:
            chains[f"{seg}|{k}"] = [int(len(g)), *_quartiles(g["seconds"]), *_quartiles(g["sessions"])]
    # Influence: users by the channel of their first event; micro, macro, micro-then-macro per user.
    users = df.groupby("user", sort=False)["seg"].first()
    infl = {}
    macro = df[df["event"] == "purchase"][["user", "ts"]]
    did_macro = set(macro["user"].unique())
    for micro in MICROS:
        m = df[df["event"] == micro][["user", "ts"]]
        first_micro = m.groupby("user")["ts"].min()
        after = macro.merge(first_micro.rename("first"), left_on="user", right_index=True)
        in_order = set(after.loc[after["ts"] >= after["first"], "user"])
        did_micro = set(first_micro.index)
        flags = pd.DataFrame({"seg": users, "micro": users.index.isin(list(did_micro)),
                              "order": users.index.isin(list(in_order)),
                              "other": users.index.isin(list(did_macro - did_micro))})
        for seg, g in list(flags.groupby("seg", observed=True)) + [("(all)", flags)]:
            infl[f"{seg}|{micro}"] = [int(len(g)), int(g["micro"].sum()), int(g["order"].sum()),
                                      int(g["other"].sum())]
    return {"wall": time.perf_counter() - t, "chains": chains, "influence": infl}


def _q(*values) -> list:
    """Quartiles rounded for comparing (None for NaN, e.g. step 1's time from the previous step)."""
    return [None if v != v else round(float(v), 3) for v in values]


def _quartiles(series) -> list:
    import numpy as np

    values = series.dropna().to_numpy(dtype=float)
    return _q(*np.percentile(values, [25, 50, 75])) if len(values) else [None] * 3


def child(kind: str, path: str, tmp: str) -> None:
    fn = run_duckdb if kind == "duckdb" else run_pandas
    before = resource.getrusage(resource.RUSAGE_SELF)
    out = fn(Path(path), Path(tmp))
    after = resource.getrusage(resource.RUSAGE_SELF)
    # CPU seconds (all threads) say what the work costs when other processes share the cores.
    out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["peak_rss_mb"] = after.ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--keep", help="directory to keep (and reuse) the export file in")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="ga4kit-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"events_{args.events}.parquet"
    if not path.exists():
        t = time.perf_counter()
        n = make(args.events, path)
        print(f"wrote {n:,} events to {path} ({path.stat().st_size / 2**20:.0f} MiB) in "
              f"{time.perf_counter() - t:.1f} s")
    results = {}
    for kind in ("duckdb", "pandas"):
        proc = subprocess.run([sys.executable, __file__, "--child", kind, str(path), str(tmp)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode:
            sys.exit(proc.stderr)
        results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[kind]
        print(f"{kind:7s} wall {r['wall']:6.2f} s   cpu {r['cpu']:6.2f} s   peak memory {r['peak_rss_mb']:7.0f} MB")
    d, p = results["duckdb"], results["pandas"]
    same_chains = d["chains"] == p["chains"]
    same_infl = d["influence"] == p["influence"]
    print(f"same users per step: {same_chains}; same influence counts: {same_infl}")
    print(f"duckdb target (< 10 s, < 4 GB): {'met' if d['wall'] < 10 and d['peak_rss_mb'] < 4096 else 'MISSED'}")


if __name__ == "__main__":
    main()

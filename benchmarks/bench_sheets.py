"""Benchmark: writing 100,000 pulled rows to a Google Sheet (the emulator's Sheets v4 stand-in, over HTTP on
loopback), against the floor Sheets' limits set.

    .venv/bin/python benchmarks/bench_sheets.py [--rows 100000] [--writes-per-minute 60]

Rows are shaped like ``ga4kit pull``'s events table (14 columns: ids and names as text, three dates,
counts, a value). Two writes through ga4kit's production code (SheetsDestination over google-auth's
AuthorizedSession): a first write into an empty spreadsheet, then a merge that reads the table back and
replaces a 7-day window (what a scheduled `pull --merge` does). For each: wall time, requests (writes,
reads), bytes sent, the largest request, and the floor: at most ~2 MB per request means at least
ceil(bytes / 2 MB) value writes plus the two batchUpdates (staging, swap); at 60 write requests per
minute per user, W writes need at least (ceil(W / 60) - 1) minutes.

The stand-in enforces the per-user write quota on the real clock here; its work (parsing, storing,
rendering cells) is in the wall time, so the figures are an upper bound for ga4kit's own cost and a lower
bound for Google (whose latency per request is typically 0.2-2 s).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from ga4kit import destinations as D
from ga4kit.destinations.sheets import SheetsDestination
from ga4kit.emulator.sheets import SheetsLimits, SheetsStandIn
from ga4kit.merge import pull_keys
from ga4kit.sheets_api import MAX_REQUEST_BYTES

SEG = "sessionDefaultChannelGroup"
CHANNELS = ["Organic Search", "Paid Search", "Direct", "Email", "Referral", "Organic Social", "(all)"]
EVENTS = [("view_item", "micro", "milestone"), ("add_to_cart", "micro", "milestone"),
          ("begin_checkout", "micro", "milestone"), ("purchase", "macro", None)]


def events(rows: int, seed: int = 1, first_day: str = "2026-01-01") -> pd.DataFrame:
    """A pull's events table: properties x days x channels x events, cut to ``rows``."""
    rng = np.random.default_rng(seed)
    per_day = len(CHANNELS) * len(EVENTS)
    n_days = 120
    n_props = math.ceil(rows / (per_day * n_days))
    idx = np.arange(n_props * n_days * per_day)[:rows]
    prop, rest = np.divmod(idx, n_days * per_day)
    day, rest = np.divmod(rest, per_day)
    chan, ev = np.divmod(rest, len(EVENTS))
    days = pd.date_range(first_day, periods=n_days, freq="D")
    counts = rng.integers(0, 5000, rows)
    return pd.DataFrame({
        "property": (400_000_001 + prop).astype(str), "property_name": [f"Shop {p}" for p in prop],
        "period": days.strftime("%Y-%m-%d")[day], "period_start": days[day], "period_end": days[day],
        SEG: np.array(CHANNELS)[chan], "event": [EVENTS[e][0] for e in ev],
        "goal_type": [EVENTS[e][1] for e in ev], "goal_kind": [EVENTS[e][2] for e in ev],
        "event_count": counts, "users": (counts * 0.7).astype("int64"),
        "value": np.round(counts * 12.5, 2), "currency": "EUR", "key_events": (counts * 0.1).astype("int64")})


def run(label: str, dest: SheetsDestination, stand_in: SheetsStandIn, write) -> None:
    client = dest.client()
    before = (client.stats.requests, client.stats.writes, client.stats.bytes_sent, client.stats.waited)
    client.stats.largest_request = 0
    calls = len(stand_in.calls)
    t0 = time.perf_counter()
    write()
    wall = time.perf_counter() - t0
    st = client.stats
    requests, writes = st.requests - before[0], st.writes - before[1]
    sent = st.bytes_sent - before[2]
    value_writes = sum(1 for c in stand_in.calls[calls:] if c.method == "spreadsheets.values.batchUpdate")
    floor_writes = math.ceil(sent / MAX_REQUEST_BYTES) + 2
    limit = stand_in.limits.write_requests_per_minute_per_user
    floor_s = (math.ceil(writes / limit) - 1) * 60 if writes > limit else 0
    print(f"{label}: {wall:6.2f} s wall; {requests} requests ({writes} writes: {value_writes} values.batchUpdate "
          f"+ {writes - value_writes} batchUpdate; {requests - writes} reads); {sent / 1e6:.1f} MB sent, largest "
          f"request {st.largest_request / 1e6:.2f} MB; waited {st.waited - before[3]:.1f} s for quota")
    print(f"{'':{len(label)}}  floor: >= {floor_writes} writes for {sent / 1e6:.1f} MB at 2 MB each; at "
          f"{limit} writes/min/user, {writes} writes need >= {floor_s} s of quota waits")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--writes-per-minute", type=int, default=60, help="the stand-in's per-user write quota")
    args = ap.parse_args()

    frame = events(args.rows)
    print(f"{len(frame):,} rows x {len(frame.columns)} columns = {len(frame) * len(frame.columns):,} cells")
    limits = SheetsLimits(write_requests_per_minute_per_user=args.writes_per_minute)
    with SheetsStandIn(limits=limits) as stand_in:
        sid = stand_in.create("bench")
        import os

        os.environ["GA4KIT_SHEETS_ENDPOINT"] = stand_in.endpoint
        dest = SheetsDestination(f"sheets://{sid}/ga4", writes_per_minute=args.writes_per_minute)
        run("first write", dest, stand_in, lambda: D.write_frames(dest, {"events": frame}))
        # A scheduled re-pull: the last 7 days of the first property again, merged (read, merge, write).
        last = frame["period_start"].max() - pd.Timedelta(days=6)
        window = frame[(frame["period_start"] >= last) & (frame["property"] == frame["property"].iloc[0])].copy()
        window["event_count"] += 1
        keys = pull_keys([SEG], ["events"])["events"]
        run("merge 7 days", dest, stand_in,
            lambda: D.write_frames(dest, {"events": window}, merge_on=keys,
                                   replace_window=(last.date(), frame["period_start"].max().date())))
        held = stand_in.spreadsheets[sid].by_title("ga4.events")
        print(f"the sheet holds {held.rows:,} rows x {held.cols} columns; stand-in calls: {len(stand_in.calls)}")


if __name__ == "__main__":
    main()

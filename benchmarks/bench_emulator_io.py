"""Benchmark: the emulator's import and export of ~1M events in the GA4 BigQuery export shape.

    .venv/bin/python benchmarks/bench_emulator_io.py [--users 108000] [--formats ndjson,parquet,csv]

For each format: ``write_events`` (export), then ``read_events`` (import: parse, sessions, scopes,
channels, the time zone inferred from event_date), with the round trip checked (same events per
(event_name, day)). Baselines measured in the same run on the same data: for import, pyarrow's own reader
on the file (the parse alone); for export, pandas writing the flat event columns (to_json lines / to_csv /
to_parquet), i.e. the same rows without the nested BigQuery shape.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

from ga4kit.emulator.generator import generate_events
from ga4kit.emulator.importer import read_events_with_zone, write_events

TODAY = date(2026, 11, 22)
TZ = "America/New_York"


def _baseline_read(path: Path) -> float:
    t0 = time.perf_counter()
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        pq.read_table(path)
    elif path.suffix == ".csv":
        import pyarrow.csv as pc
        pc.read_csv(path)
    else:
        import pyarrow.json as pj
        pj.read_json(path, read_options=pj.ReadOptions(block_size=64 << 20))
    return time.perf_counter() - t0


def _baseline_write(frame: pd.DataFrame, path: Path) -> float:
    flat = frame.drop(columns=[c for c in frame.columns if c.startswith("param:")])
    t0 = time.perf_counter()
    if path.suffix == ".parquet":
        flat.to_parquet(path)
    elif path.suffix == ".csv":
        flat.to_csv(path, index=False)
    else:
        flat.to_json(path, orient="records", lines=True)
    return time.perf_counter() - t0


def _cells(frame: pd.DataFrame) -> pd.Series:
    day = pd.to_datetime(frame["ts"], unit="us", utc=True).dt.tz_convert(TZ).dt.strftime("%Y%m%d")
    return frame.groupby([frame["event_name"].astype(str), day]).size().sort_index()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=108_000)
    ap.add_argument("--formats", default="ndjson,parquet,csv")
    args = ap.parse_args()
    frame = generate_events(seed=1, days=90, users=args.users, today=TODAY, time_zone=TZ)
    print(f"events: {len(frame):,}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            path = Path(tmp) / f"events.{fmt}"
            t0 = time.perf_counter()
            write_events(frame, path, time_zone=TZ)
            t_write = time.perf_counter() - t0
            size = os.path.getsize(path)
            t0 = time.perf_counter()
            back, items, zone = read_events_with_zone(path)
            t_read = time.perf_counter() - t0
            assert zone == TZ and len(back) == len(frame), (zone, len(back))
            assert _cells(back).equals(_cells(frame)), "the round trip changed the events"
            base_read = _baseline_read(path)
            base_write = _baseline_write(frame, Path(tmp) / f"flat.{fmt}")
            os.remove(path)
            print(f"{fmt:8s} export {t_write:6.2f} s  (baseline pandas flat write {base_write:6.2f} s)   "
                  f"import {t_read:6.2f} s  (baseline pyarrow parse alone {base_read:6.2f} s)   "
                  f"{size / 1e6:,.0f} MB, {len(items):,} items")


if __name__ == "__main__":
    main()

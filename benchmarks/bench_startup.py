"""Benchmark: start-up, `ga4kit --help` against `python -c "import click"`.

    .venv/bin/python benchmarks/bench_startup.py [--runs 30]

Both run as fresh processes of this interpreter, alternating, ``--runs`` times each; the figure is the
median wall time. ``ga4kit --help`` runs the installed console script when there is one beside the
interpreter (what a user types), else ``python -m ga4kit``. Target: at most 1.5x the bare click import,
i.e. ga4kit's own start-up costs no more than half of what click costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _support import machine


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    script = os.path.join(os.path.dirname(sys.executable), "ga4kit")
    ga4kit = [script, "--help"] if os.path.exists(script) else [sys.executable, "-m", "ga4kit", "--help"]
    click = [sys.executable, "-c", "import click"]
    for cmd in (ga4kit, click):  # warm the file cache
        wall(cmd)
    a, b = [], []
    for _ in range(args.runs):
        a.append(wall(ga4kit))
        b.append(wall(click))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"start-up, median of {args.runs} runs ({machine()})")
    print(f"  {' '.join(os.path.basename(c) for c in ga4kit[:1])} --help   {ma * 1000:6.1f} ms")
    print(f"  python -c 'import click' {mb * 1000:6.1f} ms   ga4kit / click = {ma / mb:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()

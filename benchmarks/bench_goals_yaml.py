"""Benchmark: loading a goals file of 10,000 goals (every check included), as shipped against the two
things that made it slow before: PyYAML's pure-Python parser, and the garbage collector walking the
growing node graph.

    .venv/bin/python benchmarks/bench_goals_yaml.py [--goals 10000] [--repeat 3]

All variants run in this process, alternately, best of ``--repeat``; in flow style (one goal per line) and
block style (one key per line). The file declares more goals than a property holds, so loading ends in one
ConfigError: the time is parsing plus every check. Measured on the 2-CPU build box while other jobs ran
(2026-11-23): before these changes (pure Python, collector on) 3.4-4.7 s, as shipped 0.8-1.0 s.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import yaml

from ga4kit.config import loader
from ga4kit.errors import ConfigError


def texts(n: int) -> dict[str, str]:
    head = 'version: 1\nproperties: [{id: "1", service_level: "360"}]\ngoals:\n'
    flow = "".join(f"  - {{event: goal_{i:05d}, type: micro, kind: milestone, counting: once_per_event}}\n"
                   for i in range(n - 1))
    block = "".join(f"  - event: goal_{i:05d}\n    type: micro\n    kind: milestone\n" for i in range(n - 1))
    tail = "  - {event: purchase, type: macro}\n"
    return {"flow": head + flow + tail, "block": head + block + tail}


def load_once(text: str) -> float:
    t0 = time.perf_counter()
    try:
        loader.load_text(text)
    except ConfigError:
        pass
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goals", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    shipped = loader._loader_class()
    composer = shipped.__mro__[1]  # the depth-guarded composer, on top of either parser

    class PurePython(composer, yaml.SafeLoader):
        pass

    paused = loader._gc_paused
    variants = {
        "as shipped": (shipped, paused),
        "pure-Python parser": (PurePython, paused),
        "collector running": (shipped, contextlib.nullcontext),
        "both (before)": (PurePython, contextlib.nullcontext),
    }
    try:
        for style, text in texts(args.goals).items():
            best = dict.fromkeys(variants, float("inf"))
            for _ in range(args.repeat):
                for name, (cls, gc_context) in variants.items():
                    loader._LOADERS["loader"], loader._gc_paused = cls, gc_context
                    best[name] = min(best[name], load_once(text))
            print(f"{args.goals:,} goals, {style} style ({len(text):,} bytes): "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))
    finally:
        loader._LOADERS["loader"], loader._gc_paused = shipped, paused


if __name__ == "__main__":
    main()

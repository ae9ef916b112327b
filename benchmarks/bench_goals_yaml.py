"""Benchmark: loading a goals file of 10,000 goals (validation included), libyaml's C parser against the
pure-Python parser ga4kit used before.

    .venv/bin/python benchmarks/bench_goals_yaml.py [--goals 10000] [--repeat 3]

Both parsers run in this process, alternately, best of ``--repeat``; each in flow style (one goal per
line, `- {event: ..., type: ...}`) and block style (one key per line). The file declares more goals than a
property holds, so loading ends in one ConfigError: the time is parsing plus every check.
"""

from __future__ import annotations

import argparse
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


def pure_python_loader():
    """The loader class ga4kit had before: PyYAML's pure-Python SafeLoader (with the depth guard)."""
    base = loader._loader_class()
    composer = base.__mro__[1]

    class PurePython(composer, yaml.SafeLoader):
        pass

    return PurePython


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goals", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    fast = loader._loader_class()
    slow = pure_python_loader()
    for style, text in texts(args.goals).items():
        best = {"C (libyaml)": float("inf"), "pure Python": float("inf")}
        for _ in range(args.repeat):
            for name, cls in (("C (libyaml)", fast), ("pure Python", slow)):
                loader._LOADERS["loader"] = cls
                best[name] = min(best[name], load_once(text))
        loader._LOADERS["loader"] = fast
        print(f"{args.goals:,} goals, {style} style ({len(text):,} bytes): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()))


if __name__ == "__main__":
    main()

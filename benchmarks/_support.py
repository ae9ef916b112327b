"""What the pull/plan benchmarks share: an emulator in its own process, synthetic events, goals files, clients.

The emulator runs in a child process so that its work (building reports, the latency it adds) does not
compete with ga4kit for this process's interpreter lock: GA4 is on another machine too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing as mp
import os
import sys
import time
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

TODAY = dt.date(2026, 11, 22)
CHANNELS = ["Organic Search", "Paid Search", "Direct", "Email", "Referral", "Organic Social"]


def goal_names(n: int) -> list[str]:
    return [f"goal_{i:02d}" for i in range(n)]


def synthetic_events(goals: int, days: int, rows: int, users: int, seed: int = 1, tz: str = "Europe/Berlin"):
    """``rows`` events of ``goals`` event names spread over the ``days`` days before TODAY (in ``tz``)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    start = pd.Timestamp(TODAY - dt.timedelta(days=days), tz=tz).value // 1000
    return pd.DataFrame({
        "ts": start + rng.integers(0, days * 86_400_000_000, rows),
        "event_name": rng.choice(goal_names(goals), rows),
        "user_id": [f"u{i}" for i in rng.integers(0, users, rows)],
        "session_id": rng.integers(1, 5, rows),
        "channel_group": rng.choice(CHANNELS, rows),
        "value": rng.choice([0.0, 0.0, 0.0, 12.5, 40.0], rows),
        "currency": "EUR",
    })


def goals_config(pids: list[str], events: list[str], segments=("sessionDefaultChannelGroup",)):
    """A goals file for these properties: every event a goal (the last one the macro goal)."""
    from ga4kit.config import load_text
    from ga4kit.config.model import PropertyRef

    lines = [f"  - {{event: {e}, type: micro, kind: milestone}}" for e in events[:-1]]
    lines.append(f"  - {{event: {events[-1]}, type: macro}}")
    text = ("version: 1\nproperties: [{id: \"1\", service_level: \"360\"}]\ngoals:\n" + "\n".join(lines)
            + f"\nreport: {{segments: [{', '.join(segments)}]}}\n")
    cfg = load_text(text)
    return dataclasses.replace(cfg, properties=tuple(PropertyRef(p) for p in pids))


def _serve(conn, kwargs: dict, synthetic: dict | None) -> None:
    from ga4kit.emulator import Emulator

    # The emulator answers from threads of one Python process: a thread whose added latency is over waits
    # for the interpreter lock while others build reports (5 ms per switch by default). GA4 answers from
    # many machines; a short switch interval keeps the added latency close to what was asked for.
    sys.setswitchinterval(0.0005)

    emu = Emulator(**kwargs)
    if synthetic:
        for pid in emu.admin.property_ids():
            emu.store.replace(pid, synthetic_events(**synthetic))
    emu.start()
    conn.send((emu.address, emu.admin.property_ids()))
    conn.recv()  # until the parent says stop
    emu.stop(grace=None)


@contextmanager
def emulator_process(synthetic: dict | None = None, **kwargs):
    """(address, property ids) of an Emulator(**kwargs) serving from a child process; ``synthetic``:
    replace every property's events with :func:`synthetic_events(**synthetic)`."""
    kwargs.setdefault("today", TODAY)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, kwargs, synthetic), daemon=True)
    proc.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        proc.join(10)


def clients(address: str):
    """ga4kit's clients for the emulator, with gRPC's message size limits lifted.

    ga4kit.connect opens the emulator channel with gRPC's default 4 MB receive limit, while Google's own
    transport lifts it (max_receive_message_length -1): a report of more than about 60,000 rows then fails
    against the emulator only. Lifted here so a large pull measures the same as against GA4.
    """
    import grpc

    from ga4kit.connect import make_clients

    original = grpc.insecure_channel
    unlimited = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    grpc.insecure_channel = lambda target, options=None, **kw: original(target, options=unlimited, **kw)
    try:
        return make_clients(emulator=address)
    finally:
        grpc.insecure_channel = original


def timed(fn, repeat: int = 1):
    """(best seconds of ``repeat`` runs, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def machine() -> str:
    import platform

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"

"""The end-to-end demo: a local GA4 (the emulator, in-process) with a generated online shop, the shop goals
file planned and applied, the last 28 days pulled, chains by channel computed and an HTML report written.

Everything goes through the same library calls and real Google clients a user's run would use.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ga4kit.config.model import GoalsConfig


def default_goals_file() -> Path:
    """The shop example: ``ga4kit/examples`` is the repository's ``configs/`` folder (a link in a checkout,
    real files in an installed wheel), so the demo and the examples never drift apart."""
    return Path(__file__).resolve().parent / "examples" / "shop.yaml"


def check_report_path(path: str | os.PathLike) -> None:
    """OutputError unless ``path`` is an .html file that can be written."""
    from ga4kit.errors import OutputError
    from ga4kit.atomic import check_writable

    if not str(path).lower().endswith((".html", ".htm")):
        raise OutputError(f"Cannot write {path}: the report is an HTML page.",
                          "Name the file with .html, e.g. -o report.html.")
    check_writable(path)


@dataclass
class DemoResult:
    property_id: str
    plan_text: str
    plan_changes: int
    second_plan_changes: int
    analysis: object  # ga4kit.reporting.analysis.Analysis
    report_path: Path | None
    timings: dict[str, float] = field(default_factory=dict)


def run_demo(*, goals_file: str | os.PathLike | None = None, report_path: str | os.PathLike | None = "report.html",
             days: int = 90, users: int = 5000, seed: int = 42, say: Callable[[str], None] = lambda s: None,
             show: Callable[[str, object], None] | None = None) -> DemoResult:
    """Run the demo; ``say`` receives progress lines, ``show(title, frame)`` the result tables.

    The report path is checked before anything runs: a path that cannot be written fails at once.
    """
    if report_path:
        check_report_path(report_path)
    from ga4kit import admin
    from ga4kit.config import load
    from ga4kit.connect import make_clients
    from ga4kit.emulator import Emulator
    from ga4kit.reporting.analysis import analyse

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    cfg: GoalsConfig = load(goals_file or default_goals_file())
    with Emulator(days=days, users=users, seed=seed) as emu:
        pid = emu.admin.property_ids()[0]
        # The demo's goals file names a placeholder property; point it at the emulator's shop.
        cfg = dataclasses.replace(cfg, properties=(dataclasses.replace(cfg.properties[0], id=pid,
                                                                       label="Demo Shop"),))
        timings["emulator"] = time.perf_counter() - t0
        say(f"Local GA4 emulator on {emu.address}: property {pid} (Demo Shop), {days} days of generated data.")

        t = time.perf_counter()
        with make_clients(emulator=emu.address, write=True) as clients:
            p = admin.plan(cfg, clients)
            plan_text = admin.render_plan(p)
            say(plan_text)
            changes = sum(len(pp.changes) for pp in p.properties)
            result = admin.apply(p, clients)
            say(admin.render_result(result))
            again = admin.plan(cfg, clients)
            second = sum(len(pp.changes) for pp in again.properties)
            say(f"Plan again after apply: {second} change(s).")
        timings["plan_apply"] = time.perf_counter() - t

        t = time.perf_counter()
        with make_clients(emulator=emu.address) as clients:
            a = analyse(cfg, clients, start="28daysAgo", end="yesterday", grain="range", compare_previous=True,
                        exact=True)
        timings["pull_chains"] = time.perf_counter() - t
    if show is not None:
        from ga4kit.render import text

        compact = [*a.segments, "step", "users", "rate_from_previous", "rate_from_first", "macro_per_step_user",
                   "users_exact", "macro_share_exact", "users_prev", "change_pct"]
        show(f"Chain '{cfg.chains[0].name}' by channel, last 28 days vs the 28 before",
             a.chains.loc[a.chains["chain"] == cfg.chains[0].name, [c for c in compact if c in a.chains]])
        if len(a.flags):
            show("Flags", a.flags[["severity", "flag", "period", *a.segments, "event"]])
    path = None
    if report_path:
        from ga4kit.render.html import write_report

        t = time.perf_counter()
        path = write_report(report_path, a.chains, a.goals, a.flags, a.trend, a.meta(), segments=a.segments)
        timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    return DemoResult(pid, plan_text, changes, second, a, path, timings)

"""One call from a goals file to chains, goal summary, flags and trends: what `chains`, `report` and
`demo` share. Pulls at the report's grain (with the previous period when comparing) and, for flags and
trend lines, at day grain over the current and previous period; everything else is :mod:`ga4kit.chains`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from ga4kit.config.model import GoalsConfig
from ga4kit.errors import Ga4kitError
from ga4kit.reporting import periods as P
from ga4kit.reporting.pull import PullResult, pull


@dataclass
class Analysis:
    config: GoalsConfig
    pulled: PullResult
    daily: PullResult | None
    chains: Any  # DataFrame from ga4kit.chains.compute_chains (with users_exact when exact)
    goals: Any  # DataFrame from ga4kit.chains.goal_summary
    flags: Any  # DataFrame from ga4kit.chains.flags
    segments: tuple[str, ...]
    errors: dict[str, Ga4kitError] = field(default_factory=dict)

    @property
    def trend(self):
        """Day-grain goal events over all traffic, for trend lines."""
        return self.daily.events if self.daily is not None else None

    def meta(self) -> dict:
        labels = {p.id: p.label for p in self.config.properties if p.label}
        props = list(self.pulled.metadata)
        return {
            "title": "GA4 goals and conversion chains",
            "properties": [f"{labels.get(p, p)} ({p})" if p in labels else p for p in props],
            "range": f"{self.pulled.start} to {self.pulled.end}" if self.pulled.start else None,
            "grain": self.pulled.grain,
            "property_labels": labels,
            "notes": [f"{pid}: {err}" for pid, err in self.errors.items()],
            "metadata": {pid: m.as_dict() for pid, m in self.pulled.metadata.items()},
        }


def analyse(config: GoalsConfig, clients, *, properties: list[str] | None = None, start: str | None = None,
            end: str | None = None, segments: tuple[str, ...] | None = None, grain: str | None = None,
            compare_previous: bool = True, exact: bool = False, flags_history: bool = True,
            today: dt.date | None = None, progress: Callable[[str], None] | None = None) -> Analysis:
    """Pull, then compute chains, goal summary and flags for every property that answered."""
    from ga4kit import chains as C

    pulled = pull(config, clients, properties=properties, start=start, end=end, segments=segments, grain=grain,
                  compare_previous=compare_previous, today=today, progress=progress)
    segs = pulled.segments
    if not pulled.metadata:
        # Nothing to compute: every property failed. Say why instead of printing empty tables.
        pid, first = next(iter(pulled.errors.items()))
        if len(pulled.errors) == 1:
            first.message = f"property {pid}: {first.message}"
            raise first
        raise Ga4kitError("No property could be pulled:\n" + "\n".join(
            f"  {pid}: {err}" for pid, err in pulled.errors.items()), None)
    daily = None
    if flags_history and pulled.metadata:
        if pulled.grain == "day" and compare_previous:
            daily = PullResult(
                events=_cat(pulled.previous_events, pulled.events), baseline=_cat(pulled.previous_baseline,
                                                                                  pulled.baseline),
                segments=segs, grain="day", start=pulled.start, end=pulled.end, metadata=pulled.metadata)
        else:
            # History for broken-tracking flags and trend lines: the current and previous period, by day.
            ps, _ = P.previous(pulled.start, pulled.end)
            daily = pull(config, clients, properties=list(pulled.metadata), start=str(ps), end=str(pulled.end),
                         segments=segs, grain="day", compare_previous=False, today=today, known=pulled.metadata)
    prev = (pulled.previous_events, pulled.previous_baseline) if compare_previous else None
    chains = C.compute_chains(pulled.events, pulled.baseline, config, segs, previous=prev)
    goals = C.goal_summary(pulled.events, pulled.baseline, config, segs, previous=prev)
    history = (daily.events, daily.baseline) if daily is not None else None
    flags = C.flags(pulled.events, pulled.baseline, config, segs, history=history, metadata=pulled.metadata)
    errors = dict(pulled.errors)
    if exact and config.chains and pulled.metadata:
        from ga4kit.reporting.funnel import check_periods, exact_chains

        periods = P.split(pulled.start, pulled.end, pulled.grain)
        check_periods(len(periods), len(config.chains))  # a usage problem: stop before any funnel call
        funnels = []
        for pid in list(pulled.metadata):
            try:
                funnels.append(exact_chains(config, clients, pid, pulled.start, pulled.end, segs,
                                            periods=periods))
            except Ga4kitError as exc:
                errors[pid] = exc
        if funnels:
            import pandas as pd

            chains = C.exact_steps(chains, pd.concat(funnels, ignore_index=True), segs)
    return Analysis(config, pulled, daily, chains, goals, flags, segs, errors)


def _cat(a, b):
    import pandas as pd

    frames = [f for f in (a, b) if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else b

"""One call from a goals file to chains, goal summary, flags and trends: what `chains`, `report` and
`demo` share. Pulls at the report's grain (with the previous period when comparing) and, for flags and
trend lines, at day grain over the current and previous period; everything else is :mod:`ga4kit.chains`
and :mod:`ga4kit.flags` (in one pass: :mod:`ga4kit.tables`).

Nothing is dropped without saying so. A property whose pull fails is in ``errors``; a part that fails for
a property that was pulled (the day-by-day history behind trends and broken-tracking flags, closed funnels
of ``exact``) is in ``incomplete``. Each gets a flag (``not_pulled``, ``history_unavailable``,
``exact_incomplete``), so a table written to a file says what it lacks.
Either makes the analysis ``partial`` (the CLI exits 3).

Periods are judged against each property's today (in its time zone): a period that includes today or
later days is ``partial`` and gets no change against the previous period, and neither does a period
whose previous period begins before the property's first data (see :mod:`ga4kit.chains`).
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
class Incomplete:
    """A part of the analysis missing for a property that was pulled: ``part`` is "history" or "exact"."""

    property: str
    part: str
    error: Ga4kitError
    message: str

    def as_dict(self) -> dict:
        return {"property": self.property, "part": self.part, "message": self.message}


@dataclass
class Analysis:
    config: GoalsConfig
    pulled: PullResult
    daily: PullResult | None
    chains: Any  # DataFrame from ga4kit.chains.compute_chains (with users_exact when exact)
    goals: Any  # DataFrame from ga4kit.chains.goal_summary
    flags: Any  # DataFrame from ga4kit.flags.flags
    segments: tuple[str, ...]
    errors: dict[str, Ga4kitError] = field(default_factory=dict)  # properties that could not be pulled
    incomplete: list[Incomplete] = field(default_factory=list)
    today: dict[str, dt.date] = field(default_factory=dict)  # each property's today

    @property
    def trend(self):
        """Day-grain goal events over all traffic, for trend lines."""
        return self.daily.events if self.daily is not None else None

    @property
    def partial(self) -> bool:
        """True when some property failed or some part is missing (the CLI's exit code 3)."""
        return bool(self.errors or self.incomplete)

    @property
    def currencies(self) -> dict[str, str | None]:
        return {pid: m.currency for pid, m in self.pulled.metadata.items()}

    def notes(self) -> list[str]:
        """One line per failed property and per missing part."""
        return ([f"{pid}: {err}" for pid, err in self.errors.items()]
                + [f"{i.property}: {i.message}" for i in self.incomplete])

    def meta(self) -> dict:
        labels = {p.id: p.label for p in self.config.properties if p.label}
        props = list(self.pulled.metadata)
        return {
            "title": "GA4 goals and conversion chains",
            "properties": [f"{labels.get(p, p)} ({p})" if p in labels else p for p in props],
            "range": f"{self.pulled.start} to {self.pulled.end}" if self.pulled.start else None,
            "grain": self.pulled.grain,
            "property_labels": labels,
            "notes": self.notes(),
            "metadata": {pid: m.as_dict() for pid, m in self.pulled.metadata.items()},
        }


def analyse(config: GoalsConfig, clients, *, properties: list[str] | None = None, start: str | None = None,
            end: str | None = None, segments: tuple[str, ...] | None = None, grain: str | None = None,
            compare_previous: bool = True, exact: bool = False, flags_history: bool = True,
            today: dt.date | None = None, progress: Callable[[str], None] | None = None) -> Analysis:
    """Pull, then compute chains, goal summary and flags for every property that answered."""
    from ga4kit import flags as F
    from ga4kit import tables as T

    P.check_order(start or config.report.start, end or config.report.end, today=today,
                  end_is_default=end is None)
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
    todays = {pid: today or P.today_in(m.time_zone) for pid, m in pulled.metadata.items()}
    incomplete: list[Incomplete] = []
    daily = None
    if flags_history:
        daily = _history(config, clients, pulled, compare_previous, today)
        for pid, err in daily.errors.items():
            incomplete.append(Incomplete(pid, "history", err, (
                f"the day-by-day history could not be pulled ({str(err).rstrip('.')}): trend lines are "
                "missing and broken-tracking checks only see the report's own periods.")))
    first_data = _first_data(daily, pulled) if daily is not None else None
    prev = (pulled.previous_events, pulled.previous_baseline) if compare_previous else None
    history = None
    if daily is not None:
        history = (daily.events, daily.baseline)
    # Chains, goal summary and flags in one pass over the frames (ga4kit.tables).
    tables = T.tables(pulled.events, pulled.baseline, config, segs, previous=prev, history=history, today=todays,
                      data_start=first_data, metadata=pulled.metadata, properties=list(pulled.metadata))
    chains, goals = tables.chains, tables.goals
    if exact and config.chains:
        chains = _exact(config, clients, pulled, chains, segs, incomplete)
    caveats = F.caveat_flags(goals, segs)
    flags = F.sort_flags([
        tables.flags,
        caveats,
        _future_flags(pulled, todays, caveats, segs),
        F.make_flags([{"property": i.property, "flag": f"{i.part}_unavailable" if i.part == "history" else
                       "exact_incomplete", "severity": "warning", "message": i.message[0].upper() + i.message[1:]}
                      for i in incomplete], segs),
        # Files written from this analysis must say which properties are missing from them.
        F.make_flags([{"property": pid, "flag": "not_pulled", "severity": "error",
                       "message": f"This property could not be pulled ({str(err).rstrip('.')}); it is missing "
                                  "from every table."} for pid, err in pulled.errors.items()], segs),
    ], segs)
    return Analysis(config, pulled, daily, chains, goals, flags, segs, dict(pulled.errors), incomplete, todays)


def _future_flags(pulled: PullResult, todays: dict, caveats, segs):
    """A range that reaches today or later although no period with data says so (the days from today on
    have no rows yet, e.g. the last weeks of a range that ends next month)."""
    from ga4kit import flags as F

    said = set(caveats.loc[caveats["flag"] == "partial_period", "property"]) if len(caveats) else set()
    rows = [{"property": pid, "period": f"{pulled.start}..{pulled.end}", "flag": "partial_period",
             "severity": "warning",
             "message": f"The range ends on {pulled.end}, but the property's today is {t}: days from today on "
                        "have no data yet (today's only in part), so the last periods are incomplete or "
                        "missing. Ranges end yesterday by default."}
            for pid, t in todays.items() if pulled.end is not None and pulled.end >= t and pid not in said]
    return F.make_flags(rows, segs)


def _history(config, clients, pulled: PullResult, compare_previous: bool, today) -> PullResult:
    """Day-grain events and baseline over the current and previous period."""
    if pulled.grain == "day" and compare_previous:
        return PullResult(events=_cat(pulled.previous_events, pulled.events),
                          baseline=_cat(pulled.previous_baseline, pulled.baseline), segments=pulled.segments,
                          grain="day", start=pulled.start, end=pulled.end, metadata=pulled.metadata)
    ps, _ = P.previous(pulled.start, pulled.end)
    return pull(config, clients, properties=list(pulled.metadata), start=str(ps), end=str(pulled.end),
                segments=pulled.segments, grain="day", compare_previous=False, today=today, known=pulled.metadata)


def _first_data(daily: PullResult, pulled: PullResult) -> dict[str, dt.date]:
    """Each property's first day with users in the history (which starts with the previous period), where
    the data evidently starts then: the days without users before it are more than the longest run of days
    without users after it (a small site's quiet weekend is no start of tracking). Properties whose history
    is missing are left out (unknown)."""
    base = daily.baseline
    if base is None or not len(base) or pulled.start is None:
        return {}
    history_start, _ = P.previous(pulled.start, pulled.end)
    seen = base[base["users"] > 0]
    out = {}
    for pid, starts in seen.groupby("property")["period_start"]:
        if str(pid) in daily.errors:
            continue
        days = sorted({d.date() for d in starts})
        lead = (days[0] - history_start).days
        quiet = max([(b - a).days - 1 for a, b in zip(days, days[1:])] + [0])
        if lead > quiet:
            out[str(pid)] = days[0]
    return out


def _exact(config, clients, pulled: PullResult, chains, segs, incomplete: list[Incomplete]):
    """Closed funnels beside the open counts; what quota or errors leave out stays NA and is reported."""
    import pandas as pd

    from ga4kit import chains as C
    from ga4kit.reporting.funnel import check_periods, exact_chains

    periods = P.split(pulled.start, pulled.end, pulled.grain)
    check_periods(len(periods), len(config.chains))  # a usage problem: stop before any funnel call
    funnels = []
    for pid in list(pulled.metadata):
        gaps: list = []
        funnels.append(exact_chains(config, clients, pid, pulled.start, pulled.end, segs, periods=periods,
                                    gaps=gaps))
        if gaps:
            missing = sorted({f"{g.chain} {g.period}" if len(periods) > 1 else g.chain for g in gaps})
            incomplete.append(Incomplete(pid, "exact", gaps[0].error, (
                f"the closed funnel (--exact) is missing for {len(gaps)} of {len(periods) * len(config.chains)} "
                f"chain funnels ({', '.join(missing)}): {str(gaps[0].error).rstrip('.')}. users_exact is empty "
                "there; run again when the quota allows, or with fewer periods.")))
    return C.exact_steps(chains, pd.concat(funnels, ignore_index=True), segs)


def _cat(a, b):
    import pandas as pd

    frames = [f for f in (a, b) if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else b

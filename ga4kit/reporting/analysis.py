"""One call from a goals file to chains, goal summary, flags and trends: what `chains`, `report` and
`demo` share. Pulls at the report's grain (with the previous period when comparing) and, for flags and
trend lines, at day grain over the current and previous period; everything else is :mod:`ga4kit.chains`
and :mod:`ga4kit.flags` (in one pass: :mod:`ga4kit.tables`).

Nothing is dropped without saying so. A property whose pull fails is in ``errors``; a part that fails for
a property that was pulled (the day-by-day history behind trends and broken-tracking flags, closed funnels
of ``exact``) is in ``incomplete``. Each gets a flag (``not_pulled``, ``history_unavailable``,
``exact_incomplete``), so a table written to a file says what it lacks.
Either makes the analysis ``partial`` (the CLI exits 3). A closed funnel GA4 sampled is kept and flagged
``exact_sampled`` (its numbers are estimates; the analysis is not partial).

Periods are judged against each property's today (in its time zone): a period that includes today or
later days is ``partial`` and gets no change against the previous period, and neither does a period
whose previous period begins before the property's first data (see :mod:`ga4kit.chains`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from ga4kit.config.model import GoalsConfig
from ga4kit.errors import Ga4kitError
from ga4kit.executor import DEFAULT_CONCURRENCY, Done, guard, run_per_property
from ga4kit.reporting import periods as P
from ga4kit.properties import property_ids
from ga4kit.reporting.pull import PropertyPull, PullResult, PullSpec, assemble, pull_property, spec_for


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
            today: dt.date | None = None, progress: Callable[[str], None] | None = None,
            now: dt.datetime | None = None, concurrency: int = DEFAULT_CONCURRENCY) -> Analysis:
    """Pull, then compute chains, goal summary and flags for every property that answered.

    Properties are worked on ``concurrency`` at once, each through its report pull and its day-by-day
    history; ``progress(pid)`` is called as each property's pulls are done. ``today``/``now``: see
    :func:`ga4kit.reporting.pull.pull`.
    """
    from ga4kit import flags as F
    from ga4kit import tables as T

    P.check_order(start or config.report.start, end or config.report.end,
                  today=today or (P.today_in(None, now) if now is not None else None), end_is_default=end is None)
    pids = property_ids(config, properties)
    if not pids:
        raise Ga4kitError("No property to pull.", "List properties in the goals file or pass -p PROPERTY_ID.")
    spec = spec_for(config, start=start, end=end, segments=segments, grain=grain,
                    compare_previous=compare_previous, today=today, now=now)
    clients = guard(clients)
    pulled, daily, todays = _pull_all(config, clients, spec, pids, flags_history, progress, concurrency)
    segs = pulled.segments
    if not pulled.metadata:
        # Nothing to compute: every property failed. Say why instead of printing empty tables.
        pid, first = next(iter(pulled.errors.items()))
        if len(pulled.errors) == 1:
            first.message = f"property {pid}: {first.message}"
            raise first
        raise Ga4kitError("No property could be pulled:\n" + "\n".join(
            f"  {pid}: {err}" for pid, err in pulled.errors.items()), None)
    incomplete: list[Incomplete] = []
    if daily is not None:
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
    samples: list = []
    if exact and config.chains:
        chains = _exact(config, clients, pulled, chains, segs, incomplete, concurrency, samples)
    caveats = F.caveat_flags(goals, segs)
    flags = F.sort_flags([
        tables.flags,
        caveats,
        _future_flags(pulled, todays, caveats, segs),
        F.make_flags([{"property": i.property, "flag": f"{i.part}_unavailable" if i.part == "history" else
                       "exact_incomplete", "severity": "warning", "message": i.message[0].upper() + i.message[1:]}
                      for i in incomplete], segs),
        _sample_flags(samples, segs),
        # Files written from this analysis must say which properties are missing from them.
        F.make_flags([{"property": pid, "flag": "not_pulled", "severity": "error",
                       "message": f"This property could not be pulled ({str(err).rstrip('.')}); it is missing "
                                  "from every table."} for pid, err in pulled.errors.items()], segs),
    ], segs)
    return Analysis(config, pulled, daily, chains, goals, flags, segs, dict(pulled.errors), incomplete, todays)


@dataclass(frozen=True)
class _Pulled:
    """One property's pulls: the report's, and the day-by-day history's (None when not wanted)."""

    report: PropertyPull
    history: Done | None


def _pull_all(config, clients, spec: PullSpec, pids: list[str], flags_history: bool, progress, concurrency):
    """(report pull, day-by-day history or None, each property's today), each property in one go."""
    reuse = spec.grain == "day" and spec.compare_previous  # the report's own days are the history
    want_history = flags_history and not reuse
    labels = {p.id: p.label for p in config.properties if p.label}

    def one(pid: str) -> _Pulled:
        main = pull_property(spec, clients, pid, label=labels.get(pid))
        history = None
        if want_history:
            try:
                history = Done(pid, value=pull_property(_history_spec(spec, main), clients, pid, known=main.meta,
                                                        label=labels.get(pid)))
            except Ga4kitError as exc:
                history = Done(pid, error=exc)
        return _Pulled(main, history)

    done = run_per_property(pids, one, max_workers=concurrency,
                            on_done=(lambda d: progress(d.item)) if progress else None)
    pulled = assemble(spec, config, [Done(d.item, d.value.report if d.ok else None, d.error) for d in done])
    todays = {d.item: d.value.report.today for d in done if d.ok}
    daily = None
    if reuse and flags_history:
        daily = PullResult(events=_cat(pulled.previous_events, pulled.events),
                           baseline=_cat(pulled.previous_baseline, pulled.baseline), segments=pulled.segments,
                           grain="day", start=pulled.start, end=pulled.end, metadata=pulled.metadata)
    elif want_history:
        daily = assemble(dataclasses.replace(spec, grain="day", compare_previous=False, whole_periods=False),
                         config, [d.value.history for d in done if d.ok])
    return pulled, daily, todays


def _history_spec(spec: PullSpec, main: PropertyPull) -> PullSpec:
    """Day grain over the property's own current and previous period."""
    ps, _ = P.previous(main.meta.start, main.meta.end)
    return dataclasses.replace(spec, grain="day", start=ps, end=main.meta.end, compare_previous=False,
                               whole_periods=False, today=main.today)


def _future_flags(pulled: PullResult, todays: dict, caveats, segs):
    """A range that reaches today or later although no period with data says so (the days from today on
    have no rows yet, e.g. the last weeks of a range that ends next month)."""
    from ga4kit import flags as F

    said = set(caveats.loc[caveats["flag"] == "partial_period", "property"]) if len(caveats) else set()
    rows = []
    for pid, t in todays.items():
        m = pulled.metadata.get(pid)
        if m is None or m.end is None or m.end < t or pid in said:
            continue
        rows.append({"property": pid, "period": f"{m.start}..{m.end}", "flag": "partial_period",
                     "severity": "warning",
                     "message": f"The range ends on {m.end}, but the property's today is {t}: days from today on "
                                "have no data yet (today's only in part), so the last periods are incomplete or "
                                "missing. Ranges end yesterday by default."})
    return F.make_flags(rows, segs)


def _first_data(daily: PullResult, pulled: PullResult) -> dict[str, dt.date]:
    """Each property's first day with users in the history (which starts with its previous period), where
    the data evidently starts then: the days without users before it are more than the longest run of days
    without users after it (a small site's quiet weekend is no start of tracking). Properties whose history
    is missing are left out (unknown)."""
    base = daily.baseline
    if base is None or not len(base) or pulled.start is None:
        return {}
    seen = base[base["users"] > 0]
    out = {}
    for pid, starts in seen.groupby("property")["period_start"]:
        if str(pid) in daily.errors:
            continue
        m = pulled.metadata.get(str(pid))
        history_start, _ = P.previous(m.start, m.end) if m is not None and m.start is not None else \
            P.previous(pulled.start, pulled.end)
        days = sorted({d.date() for d in starts})
        lead = (days[0] - history_start).days
        quiet = max([(b - a).days - 1 for a, b in zip(days, days[1:])] + [0])
        if lead > quiet:
            out[str(pid)] = days[0]
    return out


def _exact(config, clients, pulled: PullResult, chains, segs, incomplete: list[Incomplete], concurrency: int,
           samples: list):
    """Closed funnels beside the open counts, per property over its own window; what quota or errors leave
    out stays NA and is reported; funnels GA4 sampled are added to ``samples``."""
    import pandas as pd

    from ga4kit import chains as C
    from ga4kit.reporting.funnel import check_periods, exact_chains

    windows = {pid: (m.start, m.end, P.split(m.start, m.end, pulled.grain)) for pid, m in pulled.metadata.items()}
    check_periods(max(len(w[2]) for w in windows.values()), len(config.chains))  # a usage problem: before any call

    def one(pid: str):
        gaps: list = []
        start, end, periods = windows[pid]
        return exact_chains(config, clients, pid, start, end, segs, periods=periods, gaps=gaps,
                            samples=samples), gaps, periods

    funnels = []
    for done in run_per_property(list(windows), one, max_workers=concurrency):
        if not done.ok:  # exact_chains records API failures in gaps; anything else is a usage error
            raise done.error
        frame, gaps, periods = done.value
        funnels.append(frame)
        if gaps:
            missing = sorted({f"{g.chain} {g.period}" if len(periods) > 1 else g.chain for g in gaps})
            incomplete.append(Incomplete(done.item, "exact", gaps[0].error, (
                f"the closed funnel (--exact) is missing for {len(gaps)} of {len(periods) * len(config.chains)} "
                f"chain funnels ({', '.join(missing)}): {str(gaps[0].error).rstrip('.')}. users_exact is empty "
                "there; run again when the quota allows, or with fewer periods.")))
    return C.exact_steps(chains, pd.concat(funnels, ignore_index=True), segs)


def _sample_flags(samples: list, segs):
    """``exact_sampled`` (warning), one per chain and period whose closed funnel GA4 sampled."""
    from ga4kit import flags as F
    from ga4kit.constants import ALL

    return F.make_flags([{
        "property": s.property, "period": s.period or ALL, "flag": "exact_sampled", "severity": "warning",
        "message": f"GA4 sampled the closed funnel of chain '{s.chain}' ({s.samples_read / s.sampling_space:.0%} "
                   f"of {s.sampling_space:,} events read): its users_exact are estimates. Use a shorter range or "
                   "a finer grain to avoid sampling."} for s in samples], segs)


def _cat(a, b):
    import pandas as pd

    frames = [f for f in (a, b) if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else b

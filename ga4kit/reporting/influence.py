"""Micro-goal influence from the GA4 Data API: which micro goals lead to the macro goals.

For every micro goal and every macro goal of the goals file, per segment and period, the counts
:func:`ga4kit.influence.influence_table` needs:

- users (all, and per macro goal) from the pull's reports (:func:`ga4kit.reporting.pull.pull`: one
  batchRunReports per property, or the pull an analysis already made);
- micro users and the users who did the macro goal *after* the micro goal from one closed funnel
  [micro, macro] (runFunnelReport, v1alpha) per goal pair, optionally within N seconds
  (``withinDurationFromPriorStep``).

Requests. GA4 has no batch method for funnels, so the batching is in the shape of each request: the
segment dimension is the funnel's breakdown (one breakdown dimension per request, its top
``MAX_FUNNEL_BREAKDOWN`` values by micro users, plus the total) and the periods are the request's date ranges
(at most ``MAX_DATE_RANGES`` per request; each range is a funnel of its own). So a property costs
``micro goals x macro goals x ceil(periods / 4)`` funnel requests, whatever the number of segment values,
plus the pull's calls. Only the first segment dimension is used (GA4 allows one breakdown).

Segments. GA4 puts a user in a funnel step's breakdown value by the event that first reached that step,
while the pull counts a user in every segment value they had a session in: per segment, ``all_users`` and
``macro_users`` are the pull's and the funnel's counts are the funnel's; the "(all)" rows have no such
mismatch. ``rate_without_micro`` is estimated (see :mod:`ga4kit.influence`). The exact numbers come from the
BigQuery export (:mod:`ga4kit.export`).

A funnel call that fails (typically RESOURCE_EXHAUSTED when the property's funnel quota runs out) stops
that property's funnels: the pairs and periods left are in ``gaps`` and their rows are missing; what was
fetched is kept.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import ga4kit.frames as F
from ga4kit import ids
from ga4kit.config.model import GoalsConfig
from ga4kit.constants import ALL, MAX_DATE_RANGES, MAX_FUNNEL_BREAKDOWN
from ga4kit.errors import ApiError, Ga4kitError
from ga4kit.influence import MIN_USERS, influence_table, ranked
from ga4kit.reporting import periods as P

MAX_FUNNEL_REQUESTS = 300  # per property: refuse a run that would take more before sending any
_STEP = re.compile(r"^(\d+)\.\s*(.*)$")
_TOTAL = {"RESERVED_TOTAL", "(total)", "Total"}


@dataclass
class Gap:
    """Goal pairs and periods of a property left without a funnel, and the error that stopped them."""

    property: str
    pairs: list[tuple[str, str]]
    periods: list[str]
    error: Ga4kitError

    @property
    def message(self) -> str:
        return (f"the influence funnels are missing for {len(self.pairs)} goal pair(s) in "
                f"{len(self.periods)} period(s): {str(self.error).rstrip('.')}. Their rows are left out; run "
                "again when the quota allows, or with fewer goals or periods.")


@dataclass
class InfluenceResult:
    """The influence table (:func:`ga4kit.influence.influence_table`, ranked) and how it was obtained."""

    table: Any
    segments: tuple[str, ...]  # the breakdown dimension (one at most)
    grain: str
    within: int | None  # seconds, or None for no limit
    min_users: int
    funnel_requests: dict[str, int] = field(default_factory=dict)  # property -> runFunnelReport calls
    api_calls: dict[str, int] = field(default_factory=dict)  # property -> every call, the pull's included
    errors: dict[str, Ga4kitError] = field(default_factory=dict)  # properties that could not be pulled
    gaps: list[Gap] = field(default_factory=list)
    sampled: list[str] = field(default_factory=list)  # properties whose funnels GA4 sampled
    left_out: dict[str, int] = field(default_factory=dict)  # property -> segment values beyond the breakdown

    @property
    def partial(self) -> bool:
        return bool(self.errors or self.gaps)

    def notes(self, errors: bool = True) -> list[str]:
        """One line per failed property (``errors``), missing funnels, sampled property, segments left out."""
        out = [f"{pid}: {err}" for pid, err in self.errors.items()] if errors else []
        out += [f"{g.property}: {g.message}" for g in self.gaps]
        out += [f"{pid}: GA4 sampled the funnels; counts are estimates from a sample." for pid in self.sampled]
        out += [f"{pid}: {n} segment value(s) beyond the funnel breakdown's top {MAX_FUNNEL_BREAKDOWN} are left "
                "out." for pid, n in self.left_out.items() if n]
        return out

    def meta(self) -> dict:
        return {"source": "data_api", "segments": list(self.segments), "grain": self.grain,
                "within_seconds": self.within, "min_users": self.min_users,
                "funnel_requests": dict(self.funnel_requests), "api_calls": dict(self.api_calls),
                "notes": self.notes()}


def goal_pairs(config: GoalsConfig) -> list[tuple[str, str]]:
    """(micro, macro) for every micro goal and every macro goal, in the goals file's order."""
    pairs = [(m.event, g.event) for g in config.macro_goals for m in config.micro_goals]
    if not pairs:
        raise Ga4kitError("Influence needs at least one micro goal and one macro goal; the goals file has "
                          f"{len(config.micro_goals)} micro and {len(config.macro_goals)} macro goals.",
                          "Declare goals with type: micro and type: macro.")
    return pairs


def request_count(n_pairs: int, n_periods: int) -> int:
    """Funnel requests per property: one per goal pair and group of up to four periods."""
    return n_pairs * math.ceil(n_periods / MAX_DATE_RANGES)


def check_requests(n_pairs: int, n_periods: int) -> None:
    """Refuse, before any call, a run that would take more than MAX_FUNNEL_REQUESTS funnels per property."""
    n = request_count(n_pairs, n_periods)
    if n > MAX_FUNNEL_REQUESTS:
        raise Ga4kitError(
            f"Influence would take {n} funnel requests per property ({n_pairs} goal pairs x "
            f"{math.ceil(n_periods / MAX_DATE_RANGES)} groups of up to {MAX_DATE_RANGES} periods); the limit is "
            f"{MAX_FUNNEL_REQUESTS}.", "Use a coarser grain (week, month or range) or a shorter range.")


def influence(config: GoalsConfig, clients, *, properties: list[str] | None = None, start: str | None = None,
              end: str | None = None, segments: tuple[str, ...] | None = None, grain: str | None = None,
              within: int | None = None, min_users: int = MIN_USERS, pulled=None, today: dt.date | None = None,
              progress: Callable[[str], None] | None = None, funnel_map: Callable | None = None) -> InfluenceResult:
    """Influence of every micro goal on every macro goal, per segment and period (see the module docstring).

    ``segments``: the first is the funnels' breakdown (None: the goals file's; () for all traffic only).
    ``within``: seconds from the micro goal to the macro goal (None: any time in the period).
    ``pulled``: a :class:`~ga4kit.reporting.pull.PullResult` to take users from (an analysis' pull); it is
    used when it was pulled by the breakdown dimension alone (or without segments, for ``()``), else the
    users are pulled again. ``funnel_map(fn, items)``: how the funnel requests of one property are run
    (default: one after the other, in order); a thread pool may be passed.
    """
    from ga4kit.reporting.pull import pull

    pairs = goal_pairs(config)
    segs = tuple(config.report.segments if segments is None else segments)
    breakdown = segs[:1]
    if within is not None and within <= 0:
        raise Ga4kitError(f"The window must be positive, not {within} seconds.", "Pass --within 7d, 24h or 30m.")
    if pulled is None or tuple(pulled.segments) != breakdown:
        P.check_order(start or config.report.start, end or config.report.end, today=today,
                      end_is_default=end is None)
        pulled = pull(config, clients, properties=properties, start=start, end=end, segments=breakdown,
                      grain=grain, compare_previous=False, today=today, progress=progress)
    result = InfluenceResult(None, breakdown, pulled.grain, within, min_users, errors=dict(pulled.errors))
    for pid, meta in pulled.metadata.items():
        check_requests(len(pairs), len(P.split(meta.start, meta.end, pulled.grain)))
    frames = []
    for pid, meta in pulled.metadata.items():
        before = len(clients.calls)
        periods = P.split(meta.start, meta.end, pulled.grain)
        funnels = _funnels(clients, pid, pairs, periods, breakdown, within, result, funnel_map)
        frames.append(_counts(pulled, pid, funnels, breakdown, result))
        result.api_calls[pid] = meta.api_calls + len(clients.calls) - before
    import pandas as pd

    counts = pd.concat(frames, ignore_index=True) if frames else _empty_counts(breakdown)
    table = influence_table(counts, min_users=min_users)
    table.insert(table.columns.get_loc("macro") + 1, "within_seconds",
                 pd.array([within] * len(table), dtype="Int64"))
    result.table = ranked(table, ["property", "period", *breakdown, "macro"])[F.columns("influence", breakdown)]
    return result


def _funnels(clients, pid: str, pairs, periods, breakdown, within, result: InfluenceResult, funnel_map):
    """One closed funnel [micro, macro] per pair and group of periods: rows (period, segment value, pair,
    step 1 users, step 2 users)."""
    groups = [periods[i:i + MAX_DATE_RANGES] for i in range(0, len(periods), MAX_DATE_RANGES)]
    todo = [(pair, group) for pair in pairs for group in groups]
    rows: list[dict] = []
    stopped: list[Ga4kitError] = []

    def one(item):
        if stopped:  # the quota ran out: do not spend more calls on this property
            return None
        (micro, macro), group = item
        try:
            answer = clients.data_alpha.run_funnel_report(
                request=_request(pid, micro, macro, group, breakdown, within))
        except ApiError as exc:
            exc.resource = ids.property_name(pid)
            stopped.append(exc)
            return exc
        result.funnel_requests[pid] = result.funnel_requests.get(pid, 0) + 1
        return answer

    answers = (funnel_map or _sequential)(one, todo)
    missing = [item for item, answer in zip(todo, answers) if not _is_answer(answer)]
    for ((micro, macro), group), answer in zip(todo, answers):
        if _is_answer(answer):
            rows += _parse(answer, micro, macro, group, breakdown)
            if len(answer.funnel_table.metadata.sampling_metadatas) and pid not in result.sampled:
                result.sampled.append(pid)
    if missing:
        result.gaps.append(Gap(pid, sorted({pair for pair, _ in missing}),
                               sorted({p.label for _, group in missing for p in group}), stopped[0]))
    return rows


def _sequential(fn, items):
    return [fn(item) for item in items]


def _is_answer(answer) -> bool:
    return answer is not None and not isinstance(answer, Exception)


def _request(pid: str, micro: str, macro: str, group, breakdown, within):
    from google.analytics.data_v1alpha import types as fa

    def step(event: str, limit: int | None = None):
        s = fa.FunnelStep(name=event, filter_expression=fa.FunnelFilterExpression(
            funnel_event_filter=fa.FunnelEventFilter(event_name=event)))
        if limit is not None:
            s.within_duration_from_prior_step = dt.timedelta(seconds=limit)
        return s

    return fa.RunFunnelReportRequest(
        property=ids.property_name(pid),
        date_ranges=[fa.DateRange(start_date=str(p.start), end_date=str(p.end), name=f"p{i}")
                     for i, p in enumerate(group)],
        funnel=fa.Funnel(is_open_funnel=False, steps=[step(micro), step(macro, within)]),
        funnel_breakdown=fa.FunnelBreakdown(breakdown_dimension=fa.Dimension(name=breakdown[0]),
                                            limit=MAX_FUNNEL_BREAKDOWN) if breakdown else None,
    )


def _parse(answer, micro: str, macro: str, group, breakdown) -> list[dict]:
    table = answer.funnel_table
    dims = [h.name for h in table.dimension_headers]
    mets = [h.name for h in table.metric_headers]
    at = {d: i for i, d in enumerate(dims)}
    users = mets.index("activeUsers") if "activeUsers" in mets else 0
    by_name = {f"p{i}": p for i, p in enumerate(group)}
    out: dict[tuple, dict] = {}
    for r in table.rows:
        m = _STEP.match(r.dimension_values[at.get("funnelStepName", 0)].value)
        if not m or m.group(1) not in ("1", "2"):
            continue
        period = by_name.get(r.dimension_values[at["dateRange"]].value) if "dateRange" in at else group[0]
        if period is None:
            continue
        seg = ALL
        if breakdown and breakdown[0] in at:
            seg = r.dimension_values[at[breakdown[0]]].value
            seg = ALL if seg in _TOTAL else seg
        key = (period.label, seg)
        row = out.setdefault(key, {"period": period.label, **({breakdown[0]: seg} if breakdown else {}),
                                   "micro": micro, "macro": macro, "micro_users": 0, "in_order_users": 0})
        value = int(float(r.metric_values[users].value or 0))
        row["micro_users" if m.group(1) == "1" else "in_order_users"] = value
    return list(out.values())


def _counts(pulled, pid: str, rows: list[dict], breakdown, result: InfluenceResult):
    """The funnel rows of one property with all_users and macro_users from the pull."""
    import pandas as pd

    keys = ["period", *breakdown]
    funnels = pd.DataFrame(rows, columns=[*keys, "micro", "macro", "micro_users", "in_order_users"])
    base = pulled.baseline[pulled.baseline["property"] == pid][[*keys, "users"]]
    base = base.rename(columns={"users": "all_users"})
    ev = pulled.events[pulled.events["property"] == pid][[*keys, "event", "users"]]
    ev = ev.rename(columns={"event": "macro", "users": "macro_users"})
    out = funnels.merge(base, on=keys, how="left").merge(ev, on=[*keys, "macro"], how="left")
    out["macro_users"] = out["macro_users"].fillna(0)
    out.insert(0, "property", pid)
    if breakdown:
        seen = set(out[breakdown[0]])
        result.left_out[pid] = int(base.loc[~base[breakdown[0]].isin(seen), breakdown[0]].nunique())
    cols = ["property", *keys, "micro", "macro", "all_users", "micro_users", "macro_users", "in_order_users"]
    return out[cols]


def _empty_counts(breakdown):
    import pandas as pd

    cols = ["property", "period", *breakdown, "micro", "macro"]
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    for c in ("all_users", "micro_users", "macro_users", "in_order_users"):
        frame[c] = pd.Series(dtype="int64")
    return frame

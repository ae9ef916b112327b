"""Exact (closed, in-order) chains from the Data API's runFunnelReport (v1alpha), one call per chain.

The open counts in :mod:`ga4kit.chains` say how many users did each step in a period, in any order; the
funnel report says how many did the steps in the chain's order. ``exact_chains`` returns a frame
(property, chain, <segment>, step_index, step, users_exact) that :func:`ga4kit.chains.exact_steps`
places beside the open counts.

A call that fails part-way (typically RESOURCE_EXHAUSTED when the property's token quota runs out) either
raises, or, when a ``gaps`` list is passed, stops calling for that property, records every chain and period
left without a funnel in ``gaps`` and returns the funnels it did get, so nothing already paid for is lost
and nothing missing goes unsaid.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ga4kit import ids
from ga4kit.config.model import GoalsConfig
from ga4kit.constants import ALL, MAX_FUNNEL_BREAKDOWN
from ga4kit.errors import ApiError, Ga4kitError

_STEP = re.compile(r"^(\d+)\.\s*(.*)$")
_TOTAL = {"RESERVED_TOTAL", "(total)", "Total"}


MAX_PERIODS = 12  # one funnel call per chain and period: keep --exact from eating the quota


@dataclass
class FunnelGap:
    """A chain (and period) of a property left without a closed funnel, and the error that stopped it."""

    property: str
    chain: str
    period: str | None
    error: Ga4kitError


def check_periods(n_periods: int, n_chains: int) -> None:
    """Refuse an exact (funnel) request that would take more than MAX_PERIODS calls per chain."""
    if n_periods > MAX_PERIODS:
        raise Ga4kitError(
            f"--exact runs one funnel report per chain and period; {n_periods} periods would take "
            f"{n_periods * max(n_chains, 1)} calls per property.",
            f"Use a coarser grain (week, month or range) or a range of at most {MAX_PERIODS} periods.")


@dataclass
class FunnelSample:
    """A closed funnel GA4 computed from a sample of users: its users_exact are estimates."""

    property: str
    chain: str
    period: str | None
    samples_read: int
    sampling_space: int


def exact_chains(config: GoalsConfig, clients, property_id: str, start: dt.date, end: dt.date,
                 segments: tuple[str, ...] = (), periods: list | None = None, gaps: list | None = None,
                 samples: list | None = None):
    """Closed-funnel users per chain step, broken down by the first segment dimension (GA4 allows one
    breakdown), with the total over all traffic as the "(all)" rows.

    ``periods`` (ga4kit.reporting.periods.Period) gives one funnel per period, with a ``period`` column;
    without it the whole range is one funnel. ``gaps``: see the module docstring (without it, the first
    failed call raises). ``samples``: a list that gets a :class:`FunnelSample` for every funnel GA4 sampled.
    """
    if periods is not None:
        check_periods(len(periods), len(config.chains))
    import pandas as pd

    frames = []
    todo = [(period, chain) for period in (periods or [None]) for chain in config.chains]
    for i, (period, chain) in enumerate(todo):
        lo, hi = (period.start, period.end) if period is not None else (start, end)
        try:
            frame, sampling = _exact(config, clients, property_id, lo, hi, segments, chains=[chain])
        except ApiError as exc:
            if gaps is None:
                raise
            gaps.extend(FunnelGap(property_id, c.name, p.label if p is not None else None, exc)
                        for p, c in todo[i:])
            break
        if period is not None:
            frame.insert(2, "period", period.label)
        if sampling and samples is not None:
            samples.append(FunnelSample(property_id, chain.name, period.label if period is not None else None,
                                        *sampling))
        frames.append(frame)
    if not frames:
        cols = ["property", "chain", *(["period"] if periods is not None else []), *segments, "step_index", "step",
                "users_exact"]
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("step_index", "users_exact") else "object")
                             for c in cols})
    return pd.concat(frames, ignore_index=True)


def _exact(config: GoalsConfig, clients, property_id: str, start: dt.date, end: dt.date,
           segments: tuple[str, ...], chains=None):
    """The funnel frame, and (samples read, sampling space) summed over the answers GA4 sampled, or None."""
    import pandas as pd
    from google.analytics.data_v1alpha import types as fa

    name = ids.property_name(property_id)
    rows = []
    read = space = 0
    breakdown = segments[0] if segments else None
    for chain in (config.chains if chains is None else chains):
        funnel = fa.Funnel(is_open_funnel=False, steps=[
            fa.FunnelStep(name=step, filter_expression=fa.FunnelFilterExpression(
                funnel_event_filter=fa.FunnelEventFilter(event_name=step)))
            for step in chain.steps])
        req = fa.RunFunnelReportRequest(
            property=name, date_ranges=[fa.DateRange(start_date=str(start), end_date=str(end))], funnel=funnel,
            funnel_breakdown=fa.FunnelBreakdown(breakdown_dimension=fa.Dimension(name=breakdown),
                                              limit=MAX_FUNNEL_BREAKDOWN)
            if breakdown else None,
        )
        try:
            answer = clients.data_alpha.run_funnel_report(request=req)
        except ApiError as exc:
            exc.resource = name
            raise
        table = answer.funnel_table
        for sample in table.metadata.sampling_metadatas:
            read += int(sample.samples_read_count)
            space += int(sample.sampling_space_size)
        dims = [h.name for h in table.dimension_headers]
        mets = [h.name for h in table.metric_headers]
        step_col = dims.index("funnelStepName") if "funnelStepName" in dims else 0
        seg_col = next((i for i, d in enumerate(dims) if d == breakdown), None)
        users_col = mets.index("activeUsers") if "activeUsers" in mets else 0
        for r in table.rows:
            label = r.dimension_values[step_col].value
            m = _STEP.match(label)
            if m:
                index, step = int(m.group(1)), m.group(2)
            elif label in chain.steps:
                index, step = chain.steps.index(label) + 1, label
            else:
                continue
            seg_value = r.dimension_values[seg_col].value if seg_col is not None else ALL
            if seg_value in _TOTAL:
                seg_value = ALL
            row = {"property": property_id, "chain": chain.name, "step_index": index, "step": step,
                   "users_exact": int(float(r.metric_values[users_col].value or 0))}
            for s in segments:
                row[s] = ALL
            if breakdown:
                row[breakdown] = seg_value
            rows.append(row)
    cols = ["property", "chain", *segments, "step_index", "step", "users_exact"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["users_exact"] = frame["users_exact"].astype("int64")
    frame["step_index"] = frame["step_index"].astype("int64")
    return frame, ((read, space) if space else None)

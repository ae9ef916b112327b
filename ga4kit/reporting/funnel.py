"""Exact (closed, in-order) chains from the Data API's runFunnelReport (v1alpha), one call per chain.

The open counts in :mod:`ga4kit.chains` say how many users did each step in a period, in any order; the
funnel report says how many did the steps in the chain's order. ``exact_chains`` returns a frame
(property, chain, <segment>, step_index, step, users_exact) that :func:`ga4kit.chains.exact_steps`
places beside the open counts.
"""

from __future__ import annotations

import datetime as dt
import re

from ga4kit import ids
from ga4kit.config.model import GoalsConfig
from ga4kit.errors import ApiError, Ga4kitError

ALL = "(all)"
_STEP = re.compile(r"^(\d+)\.\s*(.*)$")
_TOTAL = {"RESERVED_TOTAL", "(total)", "Total"}


MAX_PERIODS = 12  # one funnel call per chain and period: keep --exact from eating the quota


def check_periods(n_periods: int, n_chains: int) -> None:
    """Refuse an exact (funnel) request that would take more than MAX_PERIODS calls per chain."""
    if n_periods > MAX_PERIODS:
        raise Ga4kitError(
            f"--exact runs one funnel report per chain and period; {n_periods} periods would take "
            f"{n_periods * max(n_chains, 1)} calls per property.",
            f"Use a coarser grain (week, month or range) or a range of at most {MAX_PERIODS} periods.")


def exact_chains(config: GoalsConfig, clients, property_id: str, start: dt.date, end: dt.date,
                 segments: tuple[str, ...] = (), periods: list | None = None):
    """Closed-funnel users per chain step, broken down by the first segment dimension (GA4 allows one
    breakdown), with the total over all traffic as the "(all)" rows.

    ``periods`` (ga4kit.reporting.periods.Period) gives one funnel per period, with a ``period`` column;
    without it the whole range is one funnel.
    """
    if periods is not None:
        check_periods(len(periods), len(config.chains))
    import pandas as pd

    frames = []
    for period in periods or [None]:
        lo, hi = (period.start, period.end) if period is not None else (start, end)
        frame = _exact(config, clients, property_id, lo, hi, segments)
        if period is not None:
            frame.insert(2, "period", period.label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _exact(config: GoalsConfig, clients, property_id: str, start: dt.date, end: dt.date,
           segments: tuple[str, ...]):
    import pandas as pd
    from google.analytics.data_v1alpha import types as fa

    name = ids.property_name(property_id)
    rows = []
    breakdown = segments[0] if segments else None
    for chain in config.chains:
        funnel = fa.Funnel(is_open_funnel=False, steps=[
            fa.FunnelStep(name=step, filter_expression=fa.FunnelFilterExpression(
                funnel_event_filter=fa.FunnelEventFilter(event_name=step)))
            for step in chain.steps])
        req = fa.RunFunnelReportRequest(
            property=name, date_ranges=[fa.DateRange(start_date=str(start), end_date=str(end))], funnel=funnel,
            funnel_breakdown=fa.FunnelBreakdown(breakdown_dimension=fa.Dimension(name=breakdown), limit=15)
            if breakdown else None,
        )
        try:
            answer = clients.data_alpha.run_funnel_report(request=req)
        except ApiError as exc:
            exc.resource = name
            raise
        table = answer.funnel_table
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
    return frame

"""runFunnelReport engine (Data API v1alpha), computed from each user's time-ordered events.

Semantics:
- Events are sorted by (user, time); a step is reached at an event matching the step's filter.
- Closed funnel: an event reaches step k only if some event reaching step k-1 comes earlier in the
  same user's sequence (immediately before it with ``is_directly_followed_by``; no more than
  ``within_duration_from_prior_step`` earlier when set). Step 1 is reached by any matching event.
  Taking the latest earlier step k-1 event is enough to decide this, so each step is one
  vectorised ``searchsorted`` over the candidate events.
- Open funnel: users may enter at any step, so every user with a matching event is in that step.
- funnelStepCompletionRate of step k = users who went on from step k to step k+1 (by the closed
  rule) / users at step k; funnelStepAbandonments = users at k - those; the last step completes
  at 1 (0 with no users) and has no abandonments.
- Breakdown: a user's value at step k is the breakdown dimension on the event that first reached
  step k for them. Rows per step: RESERVED_TOTAL first, then the top ``limit`` values (default 5,
  at most 15) by users at step 1.
- Metric headers are all TYPE_INTEGER, rates included: that is what GA4 returns.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from .dates import date_labels, resolve_ranges
from .dimensions import DIMENSIONS, Prepared, bad_dimension
from .errors import invalid, unimplemented
from .events import PARAMETER_COLUMNS
from .filters import eval_filter, filter_fields, leaf_hits

MAX_BREAKDOWN_LIMIT = 15


def _step_mask(expr, prep: Prepared, rows: np.ndarray) -> np.ndarray:
    """Events (among ``rows``, indices into the view) matching a FunnelFilterExpression (raw pb)."""
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        exprs = list(getattr(expr, which).expressions)
        if not exprs:
            raise invalid(f"A funnel {which} needs at least one expression.")
        masks = [_step_mask(e, prep, rows) for e in exprs]
        return np.logical_and.reduce(masks) if which == "and_group" else np.logical_or.reduce(masks)
    if which == "not_expression":
        return ~_step_mask(expr.not_expression, prep, rows)
    if which == "funnel_field_filter":
        ff = expr.funnel_field_filter
        if ff.field_name not in DIMENSIONS:
            raise bad_dimension(ff.field_name)
        codes, labels = prep.dimension(ff.field_name)
        return leaf_hits(ff, labels, "dimension")[codes[rows]]
    if which == "funnel_event_filter":
        ef = expr.funnel_event_filter
        if not ef.event_name:
            raise invalid("A funnel event filter needs an event_name.")
        m = prep.event[rows] == prep.event_code(ef.event_name)
        if ef.HasField("funnel_parameter_filter_expression"):
            m &= _param_mask(ef.funnel_parameter_filter_expression, prep, rows)
        return m
    raise invalid("A funnel step filter expression is empty.")


def _param_mask(expr, prep: Prepared, rows: np.ndarray) -> np.ndarray:
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        masks = [_param_mask(e, prep, rows) for e in getattr(expr, which).expressions]
        if not masks:
            raise invalid(f"A funnel parameter {which} needs at least one expression.")
        return np.logical_and.reduce(masks) if which == "and_group" else np.logical_or.reduce(masks)
    if which == "not_expression":
        return ~_param_mask(expr.not_expression, prep, rows)
    if which == "funnel_parameter_filter":
        pf = expr.funnel_parameter_filter
        name = pf.event_parameter_name or pf.item_parameter_name
        col = PARAMETER_COLUMNS.get(pf.event_parameter_name)
        if col is None:  # a parameter the events do not carry never matches
            return np.zeros(len(rows), dtype=bool)
        series = prep.frame[col]
        if col == "value":
            vals = series.to_numpy()[rows]
            return leaf_hits(pf, vals, "parameter", name)
        cat = series.array
        codes = cat.codes.astype(np.int64)[rows]
        labels = np.asarray(cat.categories, dtype=object)
        hits = leaf_hits(pf, labels, "parameter", name)
        present = labels != ""
        return np.where(codes >= 0, (hits & present)[np.maximum(codes, 0)], False)
    raise invalid("A funnel parameter filter expression is empty.")


class FunnelEngine:
    def run(self, req, prep: Prepared, *, today: date, types):
        """Execute a raw RunFunnelReportRequest pb; returns (response pb, events scanned).
        ``types`` is the data_v1alpha module."""
        if len(req.segments):
            raise unimplemented("Funnel segments are not supported by the emulator.")
        if req.HasField("funnel_next_action"):
            raise unimplemented("Funnel next actions are not supported by the emulator.")
        steps = list(req.funnel.steps)
        if not steps:
            raise invalid("A funnel needs at least one step.")
        if req.limit < 0:
            raise invalid("limit must be positive.")
        if len(req.date_ranges) > 1:
            raise unimplemented("The emulator's funnel reports take one date range.")
        if len(req.date_ranges):
            ranges = resolve_ranges(req.date_ranges, today)
        else:
            ranges = resolve_ranges([types.DateRange.pb()(start_date="28daysAgo", end_date="yesterday")], today)
        _, lo, hi = ranges[0]
        bd_name = None
        bd_limit = 5
        if req.HasField("funnel_breakdown"):
            bd_name = req.funnel_breakdown.breakdown_dimension.name
            if bd_name not in DIMENSIONS:
                raise bad_dimension(bd_name)
            if req.funnel_breakdown.HasField("limit"):
                bd_limit = req.funnel_breakdown.limit
                if not 0 < bd_limit <= MAX_BREAKDOWN_LIMIT:
                    raise invalid(f"The breakdown limit must be between 1 and {MAX_BREAKDOWN_LIMIT}.")
        if req.HasField("dimension_filter"):
            for f in filter_fields(req.dimension_filter):
                if f not in DIMENSIONS:
                    raise bad_dimension(f)

        in_range = (prep.day >= lo) & (prep.day <= hi)
        scanned = int(in_range.sum())
        sel = in_range
        if req.HasField("dimension_filter"):
            sel = sel & eval_filter(req.dimension_filter, prep.dimension, "dimension")
        rows = np.flatnonzero(sel)
        # Time order within each user; ties keep stored order (session_start before first_visit).
        ts = prep.frame["ts"].to_numpy()
        order = np.lexsort((rows, ts[rows], prep.user[rows]))
        rows = rows[order]
        user = prep.user[rows]
        t = ts[rows]

        k = len(steps)
        reached: list[np.ndarray] = []     # per step: positions (into rows) that reach the step
        continued: list[np.ndarray] = []   # per step < k: users going on to the next step
        first_pos: list[np.ndarray] = []   # per step: per reaching user, first reaching position
        cand_prev = None
        for i, step in enumerate(steps):
            cand = np.flatnonzero(_step_mask(step.filter_expression, prep, rows))
            if i == 0:
                ok = cand
            else:
                trans = _transitions(cand_prev, cand, user, t, step)
                if req.funnel.is_open_funnel:
                    continued.append(np.unique(user[trans]))
                    ok = cand
                else:
                    ok = trans
                    continued.append(np.unique(user[ok]))
            reached.append(ok)
            cand_prev = ok
            u_of = user[ok]
            _, first_idx = np.unique(u_of, return_index=True)
            first_pos.append(ok[first_idx])

        users_at = [len(fp) for fp in first_pos]
        step_names = [f"{i + 1}. {s.name}" for i, s in enumerate(steps)]

        resp = types.RunFunnelReportResponse.pb()()
        table = resp.funnel_table
        table.dimension_headers.add().name = "funnelStepName"
        if bd_name:
            table.dimension_headers.add().name = bd_name
        for m in ("activeUsers", "funnelStepCompletionRate", "funnelStepAbandonments", "funnelStepAbandonmentRate"):
            h = table.metric_headers.add()
            h.name = m
            h.type_ = 1  # TYPE_INTEGER, as GA4 labels all four
        if bd_name:
            codes, labels = prep.dimension(bd_name)
            step_codes = [codes[rows[fp]] for fp in first_pos]
            counts0 = np.bincount(step_codes[0], minlength=len(labels)) if len(step_codes[0]) else np.zeros(len(labels))
            top = [c for c in np.argsort(-counts0, kind="stable") if counts0[c] > 0][:bd_limit]
            top.sort(key=lambda c: (-counts0[c], labels[c]))
        for i in range(k):
            nxt = continued[i] if i < k - 1 else None
            self._table_row(table, step_names[i], "RESERVED_TOTAL" if bd_name else None, users_at[i],
                            None if nxt is None else len(nxt))
            if bd_name:
                fp_users = user[first_pos[i]]
                went_on = np.isin(fp_users, nxt) if nxt is not None else None
                for c in top:
                    here = step_codes[i] == c
                    self._table_row(table, step_names[i], str(labels[c]), int(here.sum()),
                                    None if went_on is None else int((here & went_on).sum()))

        vis = resp.funnel_visualization
        vis.dimension_headers.add().name = "funnelStepName"
        trended = req.funnel_visualization_type == 2
        if trended:
            vis.dimension_headers.add().name = "date"
        h = vis.metric_headers.add()
        h.name = "activeUsers"
        h.type_ = 1
        for i in range(k):
            if trended:
                days = prep.day[rows[first_pos[i]]]
                for d, cnt in zip(*np.unique(days, return_counts=True)):
                    row = vis.rows.add()
                    row.dimension_values.add().value = step_names[i]
                    row.dimension_values.add().value = date_labels("date", np.array([d]))[0]
                    row.metric_values.add().value = str(int(cnt))
            else:
                row = vis.rows.add()
                row.dimension_values.add().value = step_names[i]
                row.metric_values.add().value = str(users_at[i])
        resp.kind = "analyticsData#runFunnelReport"
        return resp, scanned

    @staticmethod
    def _table_row(table, step_name: str, breakdown: str | None, users: int, went_on: int | None):
        row = table.rows.add()
        row.dimension_values.add().value = step_name
        if breakdown is not None:
            row.dimension_values.add().value = breakdown
        if went_on is None:  # last step
            completion, abandon = (1.0 if users else 0.0), 0
        else:
            completion, abandon = (went_on / users if users else 0.0), users - went_on
        rate = abandon / users if users else 0.0
        for v in (str(users), _fmt_rate(completion), str(abandon), _fmt_rate(rate)):
            row.metric_values.add().value = v


def _fmt_rate(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _transitions(prev: np.ndarray, cand: np.ndarray, user: np.ndarray, t: np.ndarray, step) -> np.ndarray:
    """Candidate positions validly preceded by a position in ``prev`` (same user, earlier)."""
    if not len(prev) or not len(cand):
        return cand[:0]
    if step.is_directly_followed_by:
        # The prior step must be the user's immediately preceding event.
        before = cand - 1
        ok = np.isin(before, prev) & (before >= 0)
        ok[ok] &= user[before[ok]] == user[cand[ok]]
        pred = before
    else:
        j = np.searchsorted(prev, cand, side="left") - 1  # latest prev strictly before cand
        ok = j >= 0
        pred = np.where(ok, prev[np.maximum(j, 0)], 0)
        ok &= user[pred] == user[cand]
    if step.HasField("within_duration_from_prior_step"):
        d = step.within_duration_from_prior_step
        limit_us = d.seconds * 1_000_000 + d.nanos // 1000
        ok &= (t[cand] - t[pred]) <= limit_us
    return cand[ok]

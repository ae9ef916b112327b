"""runFunnelReport engine (Data API v1alpha), computed from each user's time-ordered events.

Semantics:
- Each date range is a funnel of its own over the events in the range (and the dimension filter);
  overlapping ranges count their shared days in both. The default range is 28daysAgo..yesterday.
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
- Segments (at most 4, ``segments.py``): the funnel is evaluated on each segment's events; rows carry
  the ``segment`` dimension ("1. Name"). Several date ranges add the ``dateRange`` dimension
  (the range's name, ``date_range_N`` by default). Table dimensions: funnelStepName, the breakdown,
  dateRange, segment; visualization: funnelStepName, date (trended), funnelStepNextAction, dateRange,
  segment. Rows are ordered by step, then segment, then date range.
- Next action (standard visualization only): for each user at step k, the value of the next action
  dimension on their next event after the event that first reached step k (for Page / screen
  dimensions: their next page_view or screen_view), counted only if it comes before they reach step
  k+1. Rows per step: RESERVED_TOTAL (users at the step), then the top ``limit`` values (default 5, at
  most 5) by users. Only eventName and Page / screen dimensions are accepted.
- Sampling (``report_limits.sample_users``): a date range with more events than the property's sampling
  limit is computed on whole users read in a fixed order, and every user count is scaled by
  sampling space / samples read (rounded); ``metadata.sampling_metadatas`` then has one entry per range.
- ``limit`` caps the funnel table's rows (default 10,000, at most 250,000).
- Metric headers are all TYPE_INTEGER, rates included: that is what GA4 returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .dates import date_labels, resolve_ranges
from .dimensions import DIMENSION_INFO, NO_CUSTOM, Prepared, canonical_dimension, check_dimension
from .errors import invalid
from .filters import eval_filter, filter_fields, leaf_hits
from .report_limits import sample_users
from .segments import check_segments, parameter_mask, segment_mask, segment_names

MAX_BREAKDOWN_LIMIT = 15
MAX_NEXT_ACTION_LIMIT = 5
DEFAULT_ROWS, MAX_ROWS = 10_000, 250_000
_PAGE_EVENTS = ("page_view", "screen_view")
_PAGE_CATEGORY = "Page / screen"


class _PropertyEvents:
    """A Prepared frame seen with the property's settings: ``dimension`` also answers the dimensions that
    depend on them (isKeyEvent, customEvent:<parameter>); ``custom`` checks names."""

    def __init__(self, prep, key_events=(), custom=None):
        self._prep = prep
        self.custom = custom or NO_CUSTOM
        self.dimension = prep.resolver(key_events, self.custom)

    def __getattr__(self, name):
        return getattr(self._prep, name)


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
        check_dimension(ff.field_name, prep.custom)
        codes, labels = prep.dimension(ff.field_name)
        return leaf_hits(ff, labels, "dimension")[codes[rows]]
    if which == "funnel_event_filter":
        ef = expr.funnel_event_filter
        if not ef.event_name:
            raise invalid("A funnel event filter needs an event_name.")
        m = prep.event[rows] == prep.event_code(ef.event_name)
        if ef.HasField("funnel_parameter_filter_expression"):
            m &= parameter_mask(ef.funnel_parameter_filter_expression, prep, rows)
        return m
    raise invalid("A funnel step filter expression is empty.")


def is_page_dimension(name: str) -> bool:
    """A dimension of GA4's Page / screen category (pagePath, pageTitle, hostName, landingPage, ...)."""
    info = DIMENSION_INFO.get(canonical_dimension(name))
    return info is not None and info.category == _PAGE_CATEGORY


@dataclass
class _Walk:
    """One funnel over one set of events: per step, the users reaching it and going on."""

    users_at: list[int]
    went_on: list[np.ndarray]      # per step < k: users going on to the next step (by the closed rule)
    first_pos: list[np.ndarray]    # per step: per reaching user, the first reaching position


@dataclass
class _Part:
    """A (date range, segment) slice of the report."""

    range_name: str
    segment: str | None
    rows: np.ndarray  # positions in the view, sorted by (user, time)
    scale: float      # sampling space / samples read (1 when not sampled)


class FunnelEngine:
    def run(self, req, prep: Prepared, *, today: date, types, sampling_limit: int = 10_000_000,
            key_events=(), custom=None):
        """Execute a raw RunFunnelReportRequest pb; returns (response pb, events scanned).
        ``types`` is the data_v1alpha module; ``key_events`` and ``custom`` (the property's custom
        definitions) let isKeyEvent and customEvent:<parameter> be used."""
        prep = _PropertyEvents(prep, key_events, custom)
        steps = list(req.funnel.steps)
        self._check(req, steps, prep.custom)
        if len(req.date_ranges):
            ranges = resolve_ranges(req.date_ranges, today)
        else:
            ranges = resolve_ranges([types.DateRange.pb()(start_date="28daysAgo", end_date="yesterday")], today)
        bd_name, bd_limit = self._breakdown(req, prep.custom)
        na_name, na_limit = self._next_action(req)
        segs = list(req.segments)
        seg_names = segment_names(segs)
        multi = len(ranges) > 1
        trended = req.funnel_visualization_type == 2

        base = np.ones(prep.n, dtype=bool)
        if req.HasField("dimension_filter"):
            base &= eval_filter(req.dimension_filter, prep.dimension, "dimension")
        ts = prep.frame["ts"].to_numpy()
        scanned, sampling, parts = 0, [], []
        for rname, lo, hi in ranges:
            in_range = (prep.day >= lo) & (prep.day <= hi)
            scanned += int(in_range.sum())
            rows = np.flatnonzero(in_range & base)
            # Time order within each user; ties keep stored order (session_start before first_visit).
            rows = rows[np.lexsort((rows, ts[rows], prep.user[rows]))]
            sample = (sample_users(prep.frame["user_id"].to_numpy()[rows], sampling_limit)
                      if len(rows) > sampling_limit else None)
            scale = 1.0
            if sample is not None:
                mask, read, space = sample
                rows, scale = rows[mask], space / read
                sampling.append((read, space))
            else:
                sampling.append((len(rows), len(rows)))
            for seg, sname in zip(segs, seg_names) if segs else [(None, None)]:
                seg_rows = rows if seg is None else rows[segment_mask(seg, prep, rows)]
                parts.append(_Part(rname, sname, seg_rows, scale))
        sampled = any(read != space for read, space in sampling)

        resp = types.RunFunnelReportResponse.pb()()
        table = resp.funnel_table
        vis = resp.funnel_visualization
        tdims = ["funnelStepName"] + ([bd_name] if bd_name else []) + (["dateRange"] if multi else []) + \
            (["segment"] if segs else [])
        vdims = ["funnelStepName"] + (["date"] if trended else []) + (["funnelStepNextAction"] if na_name else []) + \
            (["dateRange"] if multi else []) + (["segment"] if segs else [])
        for d in tdims:
            table.dimension_headers.add().name = d
        for m in ("activeUsers", "funnelStepCompletionRate", "funnelStepAbandonments", "funnelStepAbandonmentRate"):
            h = table.metric_headers.add()
            h.name = m
            h.type_ = 1  # TYPE_INTEGER, as GA4 labels all four
        for d in vdims:
            vis.dimension_headers.add().name = d
        h = vis.metric_headers.add()
        h.name = "activeUsers"
        h.type_ = 1

        step_names = [f"{i + 1}. {s.name}" for i, s in enumerate(steps)]
        table_rows, vis_rows = [], []
        for p_i, part in enumerate(parts):
            walk = self._walk(steps, prep, part.rows, req.funnel.is_open_funnel)
            tail = ([part.range_name] if multi else []) + ([part.segment] if segs else [])
            self._table_part(table_rows, p_i, walk, prep, part, step_names, bd_name, bd_limit, tail)
            self._vis_part(vis_rows, p_i, walk, prep, part, step_names, trended, na_name, na_limit, tail)
        table_rows.sort(key=lambda r: r[0])
        vis_rows.sort(key=lambda r: r[0])
        limit = min(req.limit or DEFAULT_ROWS, MAX_ROWS)
        for _, dims, values in table_rows[:limit]:
            _add_row(table.rows, dims, values)
        for _, dims, values in vis_rows:
            _add_row(vis.rows, dims, values)
        if sampled:
            for md in (table.metadata, vis.metadata):
                for read, space in sampling:
                    s = md.sampling_metadatas.add()
                    s.samples_read_count = read
                    s.sampling_space_size = space
        resp.kind = "analyticsData#runFunnelReport"
        return resp, scanned

    # ---- validation -----------------------------------------------------------------------
    @staticmethod
    def _check(req, steps, custom) -> None:
        if not steps:
            raise invalid("A funnel needs at least one step.")
        if req.limit < 0:
            raise invalid("limit must be positive.")
        if req.HasField("dimension_filter"):
            for f in filter_fields(req.dimension_filter):
                check_dimension(f, custom)
        check_segments(req.segments)

    @staticmethod
    def _breakdown(req, custom) -> tuple[str | None, int]:
        if not req.HasField("funnel_breakdown"):
            return None, 5
        name = req.funnel_breakdown.breakdown_dimension.name
        check_dimension(name, custom)
        limit = 5
        if req.funnel_breakdown.HasField("limit"):
            limit = req.funnel_breakdown.limit
            if not 0 < limit <= MAX_BREAKDOWN_LIMIT:
                raise invalid(f"The breakdown limit must be between 1 and {MAX_BREAKDOWN_LIMIT}.")
        return name, limit

    @staticmethod
    def _next_action(req) -> tuple[str | None, int]:
        if not req.HasField("funnel_next_action"):
            return None, 5
        dim = req.funnel_next_action.next_action_dimension
        if dim.HasField("dimension_expression"):
            raise invalid("nextActionDimension cannot be a dimension expression.")
        if dim.name != "eventName" and not is_page_dimension(dim.name):
            raise invalid(f"nextActionDimension supports eventName and Page / screen dimensions (such as "
                          f"pagePath); '{dim.name}' is not one of them.")
        if req.funnel_visualization_type == 2:
            raise invalid("Funnel next action is only available with the STANDARD_FUNNEL visualization.")
        limit = 5
        if req.funnel_next_action.HasField("limit"):
            limit = req.funnel_next_action.limit
            if not 0 < limit <= MAX_NEXT_ACTION_LIMIT:
                raise invalid(f"The next action limit must be between 1 and {MAX_NEXT_ACTION_LIMIT}.")
        return dim.name, limit

    # ---- the funnel -----------------------------------------------------------------------
    @staticmethod
    def _walk(steps, prep: Prepared, rows: np.ndarray, is_open: bool) -> _Walk:
        user = prep.user[rows]
        t = prep.frame["ts"].to_numpy()[rows]
        went_on, first_pos = [], []
        cand_prev = None
        for i, step in enumerate(steps):
            cand = np.flatnonzero(_step_mask(step.filter_expression, prep, rows))
            if i == 0:
                ok = cand
            else:
                trans = _transitions(cand_prev, cand, user, t, step)
                went_on.append(np.unique(user[trans]))
                ok = cand if is_open else trans
            cand_prev = ok
            _, first_idx = np.unique(user[ok], return_index=True)
            first_pos.append(ok[first_idx])
        return _Walk([len(fp) for fp in first_pos], went_on, first_pos)

    def _table_part(self, out, p_i, walk: _Walk, prep, part: _Part, step_names, bd_name, bd_limit, tail) -> None:
        k = len(step_names)
        user = prep.user[part.rows]
        if bd_name:
            codes, labels = prep.dimension(bd_name)
            step_codes = [codes[part.rows[fp]] for fp in walk.first_pos]
            counts0 = np.bincount(step_codes[0], minlength=len(labels))
            top = [c for c in np.argsort(-counts0, kind="stable") if counts0[c] > 0][:bd_limit]
            top.sort(key=lambda c: (-counts0[c], labels[c]))
        for i in range(k):
            nxt = walk.went_on[i] if i < k - 1 else None
            head = [step_names[i]]
            out.append(((i, p_i, -1), head + (["RESERVED_TOTAL"] if bd_name else []) + tail,
                        _step_values(walk.users_at[i], None if nxt is None else len(nxt), part.scale)))
            if bd_name:
                went = np.isin(user[walk.first_pos[i]], nxt) if nxt is not None else None
                for rank, c in enumerate(top):
                    here = step_codes[i] == c
                    out.append(((i, p_i, rank), head + [str(labels[c])] + tail,
                                _step_values(int(here.sum()), None if went is None else int((here & went).sum()),
                                             part.scale)))

    def _vis_part(self, out, p_i, walk: _Walk, prep, part: _Part, step_names, trended, na_name, na_limit,
                  tail) -> None:
        for i, name in enumerate(step_names):
            if trended:
                days = prep.day[part.rows[walk.first_pos[i]]]
                for j, (d, cnt) in enumerate(zip(*np.unique(days, return_counts=True))):
                    label = date_labels("date", np.array([d]))[0]
                    out.append(((i, p_i, j), [name, label] + tail, [_scaled(int(cnt), part.scale)]))
                continue
            extra = ["RESERVED_TOTAL"] if na_name else []
            out.append(((i, p_i, -1), [name] + extra + tail, [_scaled(walk.users_at[i], part.scale)]))
            if na_name:
                nxt_first = walk.first_pos[i + 1] if i + 1 < len(step_names) else None
                values, counts = self._next_actions(prep, part.rows, walk.first_pos[i], nxt_first, na_name)
                order = sorted(range(len(values)), key=lambda j: (-counts[j], values[j]))[:na_limit]
                for rank, j in enumerate(order):
                    out.append(((i, p_i, rank), [name, values[j]] + tail, [_scaled(int(counts[j]), part.scale)]))

    @staticmethod
    def _next_actions(prep, rows: np.ndarray, first: np.ndarray, next_first: np.ndarray | None, dim: str):
        """(values, users) of the next action after each user's first event at a step."""
        if not len(first):
            return [], []
        user = prep.user[rows]
        if dim == "eventName":
            cand = np.arange(len(rows))
        else:
            page_codes = [prep.event_code(e) for e in _PAGE_EVENTS]
            cand = np.flatnonzero(np.isin(prep.event[rows], page_codes))
        j = np.searchsorted(cand, first, side="right")  # the first candidate after the step's event
        has = j < len(cand)
        pos = cand[np.minimum(j, max(len(cand) - 1, 0))] if len(cand) else first
        has &= user[pos] == user[first] if len(cand) else False
        if next_first is not None and len(next_first):
            # Before the user reaches the next step (their first event there after this one).
            nu, npos = user[next_first], next_first
            reach = np.full(len(first), np.iinfo(np.int64).max)
            idx = np.searchsorted(nu, user[first])
            found = (idx < len(nu)) & (nu[np.minimum(idx, len(nu) - 1)] == user[first])
            later = found & (npos[np.minimum(idx, len(nu) - 1)] > first)
            reach[later] = npos[np.minimum(idx, len(nu) - 1)][later]
            has &= pos < reach
        if not np.any(has):
            return [], []
        codes, labels = prep.dimension(dim)
        vals = np.asarray(labels, dtype=object)[codes[rows[pos[has]]]].astype(str)
        uniq, counts = np.unique(vals, return_counts=True)
        return list(uniq), list(counts)


def _scaled(n: int, scale: float) -> int:
    return int(round(n * scale)) if scale != 1 else int(n)


def _step_values(users: int, went_on: int | None, scale: float) -> list[str]:
    users = _scaled(users, scale)
    if went_on is None:  # last step
        completion, abandon = (1.0 if users else 0.0), 0
    else:
        went_on = min(_scaled(went_on, scale), users)
        completion, abandon = (went_on / users if users else 0.0), users - went_on
    rate = abandon / users if users else 0.0
    return [str(users), _fmt_rate(completion), str(abandon), _fmt_rate(rate)]


def _add_row(rows, dims: list[str], values: list) -> None:
    row = rows.add()
    for v in dims:
        row.dimension_values.add().value = str(v)
    for v in values:
        row.metric_values.add().value = str(v)


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

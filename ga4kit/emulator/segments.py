"""Funnel segments (v1alpha ``Segment``): which of a date range's events a segment keeps.

A segment's conditions are evaluated over the events of the report's date range (and dimension filter)
only, as GA4 does ("only events within the report's date range are considered").

- Expressions (``SegmentFilterExpression``) are evaluated per unit of their scoping: an event, a session
  (user + session id) or a user. A leaf (``segment_filter`` on a dimension, ``segment_event_filter`` on an
  event name and its parameters) holds for a unit when one of the unit's events matches it; ``and``,
  ``or`` and ``not`` combine the units' answers. A group of conditions holds for a user (session, event)
  when some unit of it satisfies the expression.
- Event segments keep the events meeting every condition group, minus the events meeting the exclusion.
- Session segments keep every event of the sessions meeting every group (scoping WITHIN_SAME_SESSION by
  default, or WITHIN_SAME_EVENT), minus the sessions meeting the exclusion (temporary or permanent alike:
  a session cannot outlive itself).
- User segments keep every event of the users meeting every condition group (default scoping
  ACROSS_ALL_SESSIONS) and every sequence group. A PERMANENT exclusion drops the users who ever meet it;
  a TEMPORARY one (the default) drops only the units (events, sessions, or the whole user with
  ACROSS_ALL_SESSIONS) that meet it.
- Sequence groups: steps in order, each met by one event (the step's expression at event level), each
  after the previous one (immediately after with ``is_directly_followed_by``), all in one session with
  WITHIN_SAME_SESSION, the first to the last within ``sequence_maximum_duration`` when set.

Not modelled (UNIMPLEMENTED): metrics in segment filters, ``in_any_n_day_period``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dimensions import Prepared, check_dimension, is_metric
from .errors import invalid, unimplemented
from .events import parameter_column
from .filters import leaf_hits

MAX_SEGMENTS = 4
EVENT, SESSION, USER = "event", "session", "user"
# UserCriteriaScoping / SessionCriteriaScoping / EventCriteriaScoping numbers -> unit.
_USER_SCOPES = {0: USER, 1: EVENT, 2: SESSION, 3: USER}
_SESSION_SCOPES = {0: SESSION, 1: EVENT, 2: SESSION}
_PERMANENT_USER = 2


def segment_names(segments) -> list[str]:
    """The ``segment`` dimension's values: "1. Name", "2. Segment", ..."""
    return [f"{i + 1}. {s.name or 'Segment'}" for i, s in enumerate(segments)]


def check_segments(segments) -> None:
    if len(segments) > MAX_SEGMENTS:
        raise invalid(f"Requests are limited to {MAX_SEGMENTS} segments; this request has {len(segments)}.")
    for s in segments:
        if not s.WhichOneof("one_segment_scope"):
            raise invalid("A segment needs a user_segment, session_segment or event_segment.")


def segment_mask(segment, prep: Prepared, rows: np.ndarray) -> np.ndarray:
    """The events (positions of ``rows``, sorted by user and time) the segment keeps."""
    ev = _Events(prep, rows)
    which = segment.WhichOneof("one_segment_scope")
    if which == "event_segment":
        seg = segment.event_segment
        keep = np.ones(len(rows), dtype=bool)
        for group in seg.event_inclusion_criteria.and_condition_groups:
            keep &= ev.holds(group.segment_filter_expression, EVENT)
        excl = seg.exclusion.event_exclusion_criteria
        for group in excl.and_condition_groups:
            keep &= ~ev.holds(group.segment_filter_expression, EVENT)
        return keep
    if which == "session_segment":
        seg = segment.session_segment
        keep = np.ones(len(rows), dtype=bool)
        for group in seg.session_inclusion_criteria.and_condition_groups:
            unit = _SESSION_SCOPES.get(group.condition_scoping, SESSION)
            keep &= ev.spread(ev.holds(group.segment_filter_expression, unit), SESSION)
        excluded = np.zeros(len(rows), dtype=bool)
        groups = list(seg.exclusion.session_exclusion_criteria.and_condition_groups)
        if groups:
            excluded[:] = True
            for group in groups:
                unit = _SESSION_SCOPES.get(group.condition_scoping, SESSION)
                excluded &= ev.spread(ev.holds(group.segment_filter_expression, unit), SESSION)
        return keep & ~excluded
    seg = segment.user_segment
    keep = ev.spread(_criteria(ev, seg.user_inclusion_criteria), USER)
    groups = list(seg.exclusion.user_exclusion_criteria.and_condition_groups)
    if groups or len(seg.exclusion.user_exclusion_criteria.and_sequence_groups):
        permanent = seg.exclusion.user_exclusion_duration == _PERMANENT_USER
        if permanent:
            keep &= ~ev.spread(_criteria(ev, seg.exclusion.user_exclusion_criteria), USER)
        else:
            for group in groups:
                unit = _USER_SCOPES.get(group.condition_scoping, USER)
                keep &= ~ev.holds(group.segment_filter_expression, unit)
            for group in seg.exclusion.user_exclusion_criteria.and_sequence_groups:
                keep &= ~ev.spread(_sequence(ev, group), USER)
    return keep


def _criteria(ev: "_Events", criteria) -> np.ndarray:
    """Per event: its user meets every condition group and every sequence group of ``criteria``."""
    met = np.ones(len(ev.rows), dtype=bool)
    for group in criteria.and_condition_groups:
        unit = _USER_SCOPES.get(group.condition_scoping, USER)
        if group.segment_filter_expression.WhichOneof("expr") is None:
            raise invalid("A segment condition group needs a segment_filter_expression.")
        met &= ev.spread(ev.holds(group.segment_filter_expression, unit), USER)
    for group in criteria.and_sequence_groups:
        met &= ev.spread(_sequence(ev, group), USER)
    return met


def _sequence(ev: "_Events", group) -> np.ndarray:
    """Per event: the event completes the sequence (so its user meets it)."""
    steps = list(group.user_sequence_steps)
    if not steps:
        raise invalid("A sequence group needs at least one step.")
    if steps[0].is_directly_followed_by:
        raise invalid("isDirectlyFollowedBy must be false for the first step of a sequence.")
    same_session = group.sequence_scoping == 2
    if group.sequence_scoping == 1:
        raise invalid("sequenceScoping WITHIN_SAME_EVENT is not supported for sequences.")
    user, session, t = ev.user, ev.session, ev.t
    prev = start = None
    for k, step in enumerate(steps):
        cand = np.flatnonzero(ev.holds(step.segment_filter_expression, EVENT, sequence=True))
        if k == 0:
            ok, ok_start = cand, t[cand]
        else:
            if not len(prev) or not len(cand):
                ok, ok_start = cand[:0], t[cand[:0]]
            else:
                if step.is_directly_followed_by:
                    pred = cand - 1
                    where = np.searchsorted(prev, pred)
                    valid = (pred >= 0) & (where < len(prev)) & (prev[np.minimum(where, len(prev) - 1)] == pred)
                    j = np.minimum(where, len(prev) - 1)
                else:
                    j = np.searchsorted(prev, cand, side="left") - 1  # the latest earlier step event
                    valid = j >= 0
                    j = np.maximum(j, 0)
                    pred = prev[j]
                valid &= user[pred] == user[cand]
                if same_session:
                    valid &= session[pred] == session[cand]
                ok, ok_start = cand[valid], start[j][valid]
        prev, start = ok, ok_start
    if group.HasField("sequence_maximum_duration"):
        d = group.sequence_maximum_duration
        limit_us = d.seconds * 1_000_000 + d.nanos // 1000
        inside = (t[prev] - start) <= limit_us
        prev = prev[inside]
    out = np.zeros(len(ev.rows), dtype=bool)
    out[prev] = True
    return out


class _Events:
    """A date range's events (sorted by user and time) and their units."""

    def __init__(self, prep: Prepared, rows: np.ndarray):
        self.prep = prep
        self.rows = rows
        self.user = prep.user[rows]
        self.session = prep.session[rows]
        self.t = prep.frame["ts"].to_numpy()[rows]
        self._codes = {EVENT: np.arange(len(rows)), SESSION: self.session, USER: self.user}

    def spread(self, per_event: np.ndarray, unit: str) -> np.ndarray:
        """True on every event of a unit (session, user) in which some event is True."""
        if unit == EVENT:
            return per_event
        codes = self._codes[unit]
        hit = np.unique(codes[per_event])
        return np.isin(codes, hit)

    def holds(self, expr, unit: str, sequence: bool = False) -> np.ndarray:
        """Per event: the expression holds for the event's unit (so the answer is constant over a unit)."""
        return self._units(expr, unit, sequence)

    def _units(self, expr, unit: str, sequence: bool) -> np.ndarray:
        which = expr.WhichOneof("expr")
        if which in ("and_group", "or_group"):
            parts = [self._units(e, unit, sequence) for e in getattr(expr, which).expressions]
            if not parts:
                raise invalid(f"A segment {which} needs at least one expression.")
            return np.logical_and.reduce(parts) if which == "and_group" else np.logical_or.reduce(parts)
        if which == "not_expression":
            return ~self._units(expr.not_expression, unit, sequence)
        if which == "segment_filter":
            sf = expr.segment_filter
            if sf.filter_scoping.HasField("at_any_point_in_time") and sf.filter_scoping.at_any_point_in_time:
                if sequence or unit != USER:
                    raise invalid("atAnyPointInTime needs the scoping ACROSS_ALL_SESSIONS and no sequence.")
            custom = getattr(self.prep, "custom", None)
            if is_metric(sf.field_name, custom):
                raise unimplemented("Metrics in segment filters are not supported by the emulator.")
            check_dimension(sf.field_name, custom)
            codes, labels = self.prep.dimension(sf.field_name)
            hits = leaf_hits(sf, labels, "dimension")[codes[self.rows]]
        elif which == "segment_event_filter":
            ef = expr.segment_event_filter
            if not ef.event_name:
                raise invalid("A segment event filter needs an event_name.")
            hits = self.prep.event[self.rows] == self.prep.event_code(ef.event_name)
            if ef.HasField("segment_parameter_filter_expression"):
                hits &= parameter_mask(ef.segment_parameter_filter_expression, self.prep, self.rows)
        else:
            raise invalid("A segment filter expression is empty.")
        return self.spread(hits, unit)


def parameter_mask(expr, prep: Prepared, rows: np.ndarray) -> np.ndarray:
    """Events matching a parameter filter expression (funnel or segment flavour, raw pb)."""
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        masks = [parameter_mask(e, prep, rows) for e in getattr(expr, which).expressions]
        if not masks:
            raise invalid(f"A parameter {which} needs at least one expression.")
        return np.logical_and.reduce(masks) if which == "and_group" else np.logical_or.reduce(masks)
    if which == "not_expression":
        return ~parameter_mask(expr.not_expression, prep, rows)
    if which in ("funnel_parameter_filter", "segment_parameter_filter"):
        pf = getattr(expr, which)
        if which == "segment_parameter_filter" and pf.filter_scoping.HasField("in_any_n_day_period"):
            raise unimplemented("inAnyNDayPeriod is not supported by the emulator.")
        name = pf.event_parameter_name or pf.item_parameter_name
        col = parameter_column(prep.frame, pf.event_parameter_name) if pf.event_parameter_name else None
        if col is None:  # a parameter the events do not carry (or an item parameter) never matches
            return np.zeros(len(rows), dtype=bool)
        series = prep.frame[col]
        if not isinstance(series.dtype, pd.CategoricalDtype):  # numbers: value, engagement_time_msec, ...
            return leaf_hits(pf, series.to_numpy()[rows], "parameter", name)
        cat = series.array
        codes = cat.codes.astype(np.int64)[rows]
        labels = np.asarray(cat.categories, dtype=object)
        hits = leaf_hits(pf, labels, "parameter", name)
        present = labels != ""
        return np.where(codes >= 0, (hits & present)[np.maximum(codes, 0)], False)
    raise invalid("A parameter filter expression is empty.")

"""Chains, goal summary and flags of one pull in one pass: what an analysis shows, with nothing computed
twice. The frames are coded once (:mod:`ga4kit.tidy`), the current and previous period put on their grids
once and compared once, and the flags read the same users as the chains; called one by one,
:func:`ga4kit.chains.compute_chains`, :func:`ga4kit.chains.goal_summary` and :func:`ga4kit.flags.flags`
would each code the frames again. The result frames are theirs (columns: those modules' docstrings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ga4kit import chains as C
from ga4kit import flags as F
from ga4kit.tidy import encode, frame_pair


@dataclass
class Tables:
    chains: pd.DataFrame  # as from ga4kit.chains.compute_chains
    goals: pd.DataFrame  # as from ga4kit.chains.goal_summary
    flags: pd.DataFrame  # as from ga4kit.flags.flags


def tables(events: pd.DataFrame, baseline: pd.DataFrame, config, segments: Sequence[str], *,
           previous: Any = None, history: Any = None, today: Mapping[str, Any] | dt.date | None = None,
           data_start: Mapping[str, Any] | None = None, metadata: Mapping | None = None,
           properties: Sequence[str] | None = None, min_history: int = 3, min_fire_share: float = 0.5,
           min_expected: float = 20.0) -> Tables:
    """``compute_chains`` and ``goal_summary`` (with ``previous``, ``today``, ``data_start``) and ``flags``
    (with ``history``, ``metadata``, ``properties`` and the thresholds) of the same frames, as if each
    had been called with these arguments."""
    segments = list(segments)
    frames = [(baseline, "baseline"), (events, "events")]
    if previous is not None:
        pev, pbl = frame_pair(previous, "previous")
        frames += [(pbl, "previous baseline"), (pev, "previous events")]
    hev, hbl = frame_pair(history, "history")
    frames += [(hbl, "history baseline"), (hev, "history events")]
    labels, coded = encode(frames, segments)
    names = [*[s for c in config.chains for s in c.steps], *[g.event for g in config.goals]]
    p = C._Pass(labels, coded[:-2], names)
    # Flags first: the history's codes can go before the two big frames are made.
    flags = F._flags(labels, coded[0], coded[1], coded[-2], coded[-1], config, segments,
                     history_given=hev is not None, metadata=metadata, properties=properties,
                     min_history=min_history, min_fire_share=min_fire_share, min_expected=min_expected,
                     measures=p.cur)
    del coded
    return Tables(chains=C._chains(p, config, segments, today=today, data_start=data_start),
                  goals=C._goals(p, config, segments, today=today, data_start=data_start), flags=flags)

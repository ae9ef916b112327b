"""Merging new rows into the tables a destination holds: keys, replace windows and the rules that keep a
merge from deleting or duplicating rows.

A row's key names the columns that identify it; for a pull (:func:`pull_keys`) that is the full key:
property, period, every segment column and (events tables) event. Existing rows with the key of a new row
are replaced, never duplicated. The existing table must have the same columns (the new rows may add
columns): a table with other segment columns is refused, because matching on fewer keys would delete rows.

A replace window first drops the existing rows of the re-pulled properties whose period
(``period_start``..``period_end``) overlaps the window, so rows GA4 has since revised or removed do not
linger and a period is never kept beside a re-pulled part of itself. Windows are per property (each
property resolves relative dates in its own time zone), and a week or month window must cover whole
periods: ``ga4kit.reporting.pull.pull(whole_periods=True)`` widens it, and :func:`check_whole_periods`
refuses a result that was not widened. :func:`pull_merge` computes all of this from a ``PullResult``, so a
library caller of pull merges exactly as ``ga4kit pull --merge`` does.

Pure pandas: reading and writing the tables is the destination's job (:mod:`ga4kit.destinations`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.errors import OutputError

Window = tuple[Any, Any]
WindowSpec = Window | Mapping[str, Window] | None


@dataclass
class MergeSpec:
    """How to merge each table: ``keys`` ({table: key columns}, or one list for every table) and
    ``windows`` ({table: window}; ``window`` for the tables not named). A window is ``(start, end)`` for
    every property in the new rows, or ``{property: (start, end)}``."""

    keys: Sequence[str] | Mapping[str, Sequence[str]]
    window: WindowSpec = None
    windows: Mapping[str, WindowSpec] = field(default_factory=dict)

    def keys_for(self, table: str) -> list[str]:
        return list(self.keys.get(table, []) if isinstance(self.keys, Mapping) else self.keys)

    def window_for(self, table: str) -> WindowSpec:
        return self.windows.get(table, self.window)


# ----------------------------------------------------------------------------------------- one table

def _coerce_like(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Give existing columns the new frame's dtypes (a CSV reads ids like "123" as text, dates as text)."""
    out = existing.copy()
    for c in out.columns.intersection(new.columns):
        target = new[c].dtype
        try:
            if pd.api.types.is_datetime64_any_dtype(target):
                out[c] = pd.to_datetime(out[c]).astype(target)
            elif pd.api.types.is_bool_dtype(target):
                out[c] = out[c].map({"True": True, "False": False, True: True, False: False})
            elif pd.api.types.is_numeric_dtype(target):
                num = pd.to_numeric(out[c])
                try:
                    out[c] = num.astype(target)
                except (TypeError, ValueError):
                    out[c] = num  # e.g. int64 target with NaN in old rows
            else:
                out[c] = out[c].map(lambda v: v if v is None or (isinstance(v, float) and math.isnan(v))
                                    else str(v)).astype(target)
        except (TypeError, ValueError) as exc:
            raise OutputError(f"Cannot merge: column {c!r} of the existing file does not hold {target} "
                              f"values ({exc}).",
                              "The existing file was written with different columns; write to a new file "
                              "or move the old one aside.") from exc
    return out


def _window(window: Window) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = window
    return pd.Timestamp(start).tz_localize(None), pd.Timestamp(end).tz_localize(None)


def _naive(col: pd.Series) -> pd.Series:
    out = pd.to_datetime(col)
    return out.dt.tz_localize(None) if getattr(out.dt, "tz", None) is not None else out


def stale_rows(old: pd.DataFrame, new: pd.DataFrame, window: WindowSpec) -> np.ndarray:
    """Existing rows the re-pull replaces: of a re-pulled property, with a period overlapping its window.

    ``window``: ``(start, end)`` for every property in ``new`` (for every row when there is no property
    column), or ``{property: (start, end)}`` (a property re-pulled without rows still loses its stale rows).
    """
    none = np.zeros(len(old), dtype=bool)
    if window is None or "period_start" not in old.columns or not len(old):
        return none
    first = _naive(old["period_start"])
    last = _naive(old["period_end"]).fillna(first) if "period_end" in old.columns else first
    if isinstance(window, Mapping):
        if "property" not in old.columns:
            raise OutputError("Cannot merge: windows per property need a property column in the existing file.",
                              "Write to a new file or move the old one aside.")
        props = old["property"].astype(str)
        stale = none
        for pid, w in window.items():
            lo, hi = _window(w)
            stale = stale | ((props == str(pid)) & (first <= hi) & (last >= lo)).to_numpy()
        return stale
    lo, hi = _window(window)
    stale = ((first <= hi) & (last >= lo)).to_numpy()
    # Only the properties being re-pulled: a window for property A must not erase property B.
    if "property" in old.columns and "property" in new.columns:
        stale = stale & old["property"].astype(str).isin(new["property"].astype(str).unique()).to_numpy()
    return stale


def check_merge_columns(existing: Sequence[str], new: Sequence[str], keys: Sequence[str], *,
                        what: str = "the existing file") -> None:
    """Raise OutputError unless rows with columns ``new`` can be merged into a table with ``existing``.

    Every key must be in both. The existing table must not have columns the new rows lack: a segment
    column the new rows do not have would make rows that differ only in it collide on the shorter key
    (and a merge would delete them). New columns are fine: older rows get empty cells.
    """
    missing_new = [k for k in keys if k not in new]
    if missing_new:
        raise OutputError(f"Cannot merge: the merge_on column(s) {', '.join(missing_new)} are not in the new "
                          f"rows (they have {', '.join(map(str, new))}).",
                          "Pass merge_on with the columns that identify a row, e.g. property, period, the "
                          "segment columns and event.")
    missing_old = [k for k in keys if k not in existing]
    if missing_old:
        raise OutputError(f"Cannot merge into {what}: it lacks the key column(s) {', '.join(missing_old)}.",
                          "It was written with other columns (other segments?); pull with the file's segments, "
                          "or write to a new file or move this one aside.")
    extra = [str(c) for c in existing if c not in set(new)]
    if extra:
        raise OutputError(
            f"Cannot merge into {what}: it has column(s) {', '.join(extra)} that the new rows do not have, "
            "so rows could not be matched on their full key and a merge would delete rows.",
            "Pull with the same segments as the file (e.g. -s " + extra[0] + "), or write to a new file or "
            "move this one aside.")


def merge_frame(existing: pd.DataFrame | None, new: pd.DataFrame, keys: Sequence[str], *,
                replace_window: WindowSpec = None, what: str = "the existing file") -> pd.DataFrame:
    """``new`` merged into ``existing``: same key → new row; rows of the re-pulled properties whose period
    overlaps the window dropped; sorted by key. See :func:`check_merge_columns` for the columns allowed."""
    keys = list(keys)
    if not keys or not any(k in new.columns for k in keys):
        raise OutputError("Cannot merge: none of the merge_on columns is in the frame "
                          f"(it has {', '.join(map(str, new.columns))}).",
                          "Pass merge_on with the columns that identify a row, e.g. property, period, the "
                          "segment columns and event.")
    if existing is None or (existing.empty and not len(existing.columns)):
        check_merge_columns(list(new.columns), list(new.columns), keys, what=what)
        merged = new.copy()
    else:
        check_merge_columns(list(existing.columns), list(new.columns), keys, what=what)
        old = _coerce_like(existing, new)
        old = old[~stale_rows(old, new, replace_window)]
        frames = [f for f in (old, new) if len(f)] or [new]
        merged = pd.concat(frames, ignore_index=True).reindex(columns=list(new.columns))
        merged = merged.drop_duplicates(subset=keys, keep="last")
    # A stable order makes re-runs byte-identical whatever order rows arrived in.
    return merged.sort_values(keys, kind="stable", na_position="first").reset_index(drop=True)


# ----------------------------------------------------------------------------------------- several tables

def merge_tables(existing: Mapping[str, pd.DataFrame], frames: Mapping[str, pd.DataFrame], spec: MergeSpec,
                 what: Callable[[str], str]) -> dict[str, pd.DataFrame]:
    """Every table of ``frames`` merged into the same table of ``existing`` (:func:`merge_frame`);
    tables the destination holds but this write does not touch stay as they are (e.g. a sheet of another
    job). ``what(table)`` names a table in messages."""
    merged = {name: merge_frame(existing.get(name), frame, spec.keys_for(name),
                                replace_window=spec.window_for(name), what=what(name))
              for name, frame in frames.items()}
    for name, frame in existing.items():
        merged.setdefault(name, frame)
    return merged


# ----------------------------------------------------------------------------------------- pulls

def pull_tables(compare_previous: bool) -> list[str]:
    """The tables a pull writes."""
    return ["events", "baseline"] + (["previous_events", "previous_baseline"] if compare_previous else [])


def pull_keys(segments: Sequence[str], tables: Sequence[str]) -> dict[str, list[str]]:
    """The full key of every pulled table: property, period, every segment column, and event."""
    keys = ["property", "period", *segments]
    return {n: keys + (["event"] if n.endswith("events") else []) for n in tables}


def pull_columns(segments: Sequence[str], table: str) -> list[str]:
    """The columns a pull writes to ``table``."""
    from ga4kit.reporting.pull import baseline_columns, event_columns

    return event_columns(segments) if table.endswith("events") else baseline_columns(segments)


def check_pull_columns(existing: Mapping[str, Sequence[str]], segments: Sequence[str], *,
                       compare_previous: bool = False, what: Callable[[str], str] = str) -> None:
    """Raise OutputError unless a pull with ``segments`` can merge into tables with the ``existing``
    columns ({table: columns}); lets a merge be refused before any API call."""
    keys = pull_keys(segments, pull_tables(compare_previous))
    for name, columns in existing.items():
        if name in keys:
            check_merge_columns(columns, pull_columns(segments, name), keys[name], what=what(name))


def check_whole_periods(result) -> None:
    """Raise OutputError if a week or month pull does not start on its period's first day: merging it would
    replace whole periods of the destination with a part of them (pull with ``whole_periods=True``)."""
    if result.grain not in ("week", "month"):
        return
    for pid, (start, _end) in result.windows().items():
        first = start.weekday() == 0 if result.grain == "week" else start.day == 1
        if not first:
            raise OutputError(
                f"Cannot merge the {result.grain} pull of property {pid}: its window starts on {start}, in the "
                f"middle of a {result.grain}, so the merge would replace a whole {result.grain} with part of it.",
                "Pull with whole_periods=True (what ga4kit pull --merge does), which widens the window to "
                "whole periods.")


def pull_merge(result) -> MergeSpec:
    """The merge of a ``PullResult``: the full key of every table, each property's own window for the
    current tables and its previous window for the ``previous_*`` tables."""
    tables = pull_tables(result.previous_events is not None)
    previous = result.windows(previous=True)
    return MergeSpec(keys=pull_keys(result.segments, tables), window=result.windows(),
                     windows={n: previous for n in tables if n.startswith("previous_")})

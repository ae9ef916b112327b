"""Writing tables and pulls to any destination: the one read-merge-write path, for the CLI and for Python.

:func:`write_pull` is what ``ga4kit pull`` does with a ``PullResult``: the tables, the merge (full key,
each property's own window, whole periods) and the incremental state all come from the result, so a
library caller gets the same file as the CLI. :func:`check_pull` is the matching check before any API
call. :func:`write_frames` writes any frames, merging with the keys and windows given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ga4kit import merge as M
from ga4kit.destinations.base import DEFAULT_TABLE, Destination, Note
from ga4kit.destinations.registry import open_destination
from ga4kit.destinations.state import DestinationState
from ga4kit.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

Target = str | os.PathLike | Destination


def check_output(target: Target, names: Sequence[str] = (DEFAULT_TABLE,)) -> list[Any]:
    """Raise OutputError now if the tables ``names`` could not be written to ``target``: lets a command fail
    before it spends API quota. Returns what would be written (files)."""
    return open_destination(target).check(list(names))


def read_frames(target: Target, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """The tables ``target`` holds: {name: frame}; missing tables give no entry. Text comes back as stored
    (CSV without the formula quote, an XLSX formula as its text); CSV cells as text, dates as ISO text
    (a merge coerces them to the new rows' types). ``names`` locates one-table-per-file siblings."""
    return open_destination(target).read(names)


def read_columns(target: Target, names: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The columns of each table ``target`` holds ({name: columns}), read cheaply where the format allows."""
    return open_destination(target).read_columns(names)


def write(destination: Target, frames: Mapping[str, pd.DataFrame], *, merge: M.MergeSpec | None = None,
          state: Callable[[DestinationState | None], DestinationState] | None = None,
          note: Note | None = None) -> list[Any]:
    """Write ``frames`` to ``destination``, merged into what it holds when ``merge`` is given; returns what
    was written.

    A merge holds the destination's lock while it reads, merges and writes, so concurrent merges queue.
    ``state(old)`` gives the incremental state to store with the data (``old``: the stored one, read under
    the lock, for a merge; None otherwise). ``note(text)`` is told when the write waits for another run or
    removes a stale temporary file. Raises OutputError (the destination then stays as it was).
    """
    dest = open_destination(destination)
    frames = dict(frames)
    if not frames:
        raise OutputError(f"Cannot write {dest.description}: there is nothing to write (no frames).",
                          "Pass at least one DataFrame.")
    dest.check(list(frames))  # before the lock: its file must not create a missing directory
    lock = dest.lock(note) if merge is not None else contextlib.nullcontext()
    with lock:
        old = None
        if merge is not None:
            one = len(frames) == 1
            frames = M.merge_tables(dest.read(list(frames)), frames, merge,
                                    lambda n: dest.description if one else f"the {n} table of {dest.description}")
            old = dest.state() if state else None
        return dest.write(frames, state=state(old) if state else None, note=note)


def write_frames(target: Target, frames: pd.DataFrame | Mapping[str, pd.DataFrame], *,
                 merge_on: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
                 replace_window: M.WindowSpec = None,
                 frame_windows: Mapping[str, M.WindowSpec] | None = None,
                 note: Note | None = None) -> list[Any]:
    """Write ``frames`` ({name: DataFrame}, or one DataFrame) to ``target``; returns the files written.

    ``merge_on``: key columns (a list for every frame, or {name: keys}); rows of an existing table with the
    same key are replaced and the rest kept. ``replace_window``: in merge mode, first drop existing rows of
    the re-pulled properties whose period overlaps the window: ``(start, end)`` for the properties in the
    new frame, or ``{property: (start, end)}``; ``frame_windows`` gives other windows for named frames
    (e.g. a previous-period table). See :mod:`ga4kit.merge` and :func:`write`. Raises OutputError for an
    unknown extension, an unwritable path, a missing pyarrow for Parquet, columns that cannot be merged,
    or a failed write; the previous file is then left unchanged.
    """
    import pandas as pd

    if isinstance(frames, pd.DataFrame):
        frames = {DEFAULT_TABLE: frames}
    merging = merge_on is not None or replace_window is not None or frame_windows is not None
    if merging and merge_on is None:
        raise OutputError("replace_window needs merge_on.",
                          "Pass merge_on with the key columns, e.g. property, period, segments, event.")
    spec = M.MergeSpec(merge_on, replace_window, frame_windows or {}) if merging else None
    return write(target, frames, merge=spec, note=note)


# ----------------------------------------------------------------------------------------- pulls

def property_table(table: str, pid: str) -> str:
    """The name of one property's own table (``--table-per-property``): ``events.123456789``: a sheet of
    that name in XLSX and Google Sheets, a file ``NAME.events.123456789.csv`` beside a CSV."""
    return f"{table}.{pid}"


def property_tables(pid: str, compare_previous: bool = False) -> list[str]:
    """The tables of one property in the ``table_per_property`` layout."""
    return [property_table(t, pid) for t in M.pull_tables(compare_previous)]


def pull_frames(result, *, table_per_property: bool = False) -> dict[str, pd.DataFrame]:
    """The tables of a ``PullResult``: events and baseline, and the previous period's when it has them;
    with ``table_per_property`` one of each per property that answered (``events.<id>``), holding its
    rows (none when it had none: the table is still written, so stale rows go)."""
    frames = {"events": result.events, "baseline": result.baseline}
    if result.previous_events is not None:
        frames.update(previous_events=result.previous_events, previous_baseline=result.previous_baseline)
    if not table_per_property:
        return frames
    out = {}
    for table, frame in frames.items():
        props = frame["property"].astype(str)
        for pid in result.metadata:
            out[property_table(table, pid)] = frame[props == str(pid)].reset_index(drop=True)
    return out


def _pull_tables(compare_previous: bool, pids: Sequence[str] | None, table_per_property: bool) -> dict[str, str]:
    """{table name: the pull table it holds (events, baseline, ...)} for a pull's layout."""
    tables = M.pull_tables(compare_previous)
    if not table_per_property:
        return {t: t for t in tables}
    return {property_table(t, pid): t for pid in (pids or []) for t in tables}


def check_pull(target: Target, config, *, segments: Sequence[str] | None = None,
               compare_previous: bool = False, merge: bool = False, properties: Sequence[str] | None = None,
               table_per_property: bool = False) -> list[Any]:
    """Raise OutputError now if a pull with these options could not be written to ``target`` (before any
    API call): a bad path, or for ``merge`` a destination whose tables have other columns (other
    segments), which the merge would refuse after the pull. ``config`` and ``segments`` as for
    :func:`ga4kit.reporting.pull.pull` (None: the goals file's); ``properties`` (the ids to pull) name the
    tables of ``table_per_property``. Returns what would be written."""
    dest = open_destination(target)
    layout = _pull_tables(compare_previous, properties, table_per_property)
    written = dest.check(list(layout) or M.pull_tables(compare_previous))
    if merge:
        segs = tuple(config.report.segments if segments is None else segments)
        keys = M.pull_keys(segs, M.pull_tables(compare_previous))
        for name, columns in dest.read_columns(list(layout)).items():
            base = layout.get(name)
            if base is not None:
                M.check_merge_columns(columns, M.pull_columns(segs, base), keys[base],
                                      what=f"the {name} table of {dest.description}")
    return written


def pull_merge(result, *, table_per_property: bool = False) -> M.MergeSpec:
    """The merge of a ``PullResult`` in either layout (:func:`ga4kit.merge.pull_merge` for the shared one)."""
    if not table_per_property:
        return M.pull_merge(result)
    layout = _pull_tables(result.previous_events is not None, list(result.metadata), True)
    keys = M.pull_keys(result.segments, sorted(set(layout.values())))
    previous = result.windows(previous=True)
    return M.MergeSpec(keys={n: keys[base] for n, base in layout.items()}, window=result.windows(),
                       windows={n: previous for n, base in layout.items() if base.startswith("previous_")})


def write_pull(result, target: Target, *, merge: bool = False, note: Note | None = None,
               now: dt.datetime | None = None, table_per_property: bool = False) -> list[Any]:
    """Write a ``PullResult`` to ``target`` as ``ga4kit pull`` does; returns what was written ([] when no
    property answered: the destination is left alone).

    ``merge``: merge into what the destination holds (:func:`ga4kit.merge.pull_merge`: rows matched on
    the full key, each property's rows in its own window replaced, the previous-period tables in their
    windows); a week or month pull must have been made with ``whole_periods=True``. The incremental state
    (each property's window, grain, segments, refresh time ``now``, and GA4's flags and quota of the pull)
    is stored with the data. ``table_per_property``: each property's rows in tables of its own
    (:func:`property_table`), still with the property column; tables of other properties are left as
    they are.
    """
    if not result.metadata:
        return []
    spec = None
    if merge:
        M.check_whole_periods(result)
        spec = pull_merge(result, table_per_property=table_per_property)
    when = now or dt.datetime.now(dt.timezone.utc)
    frames = pull_frames(result, table_per_property=table_per_property)
    own = None
    if table_per_property:
        own = {pid: property_tables(pid, result.previous_events is not None) for pid in result.metadata}

    details = {pid: pull_details(meta) for pid, meta in result.metadata.items()}

    def state(old: DestinationState | None) -> DestinationState:
        return (old or DestinationState()).after_pull(result.windows(), grain=result.grain,
                                                      segments=result.segments, merge=merge, now=when,
                                                      tables=own, details=details)

    return write(target, frames, merge=spec, state=state, note=note)


def pull_details(meta) -> dict:
    """What GA4 said about one property's pull (a ``PropertyMeta``): the flags of its answers, the API calls
    and the quota of the last answer; kept in the state as ``last_pull``."""
    return {"thresholded": bool(getattr(meta, "subject_to_thresholding", False)),
            "other_row": bool(getattr(meta, "data_loss_from_other_row", False)),
            "sampled": bool(getattr(meta, "sampled", False)),
            "api_calls": int(getattr(meta, "api_calls", 0) or 0),
            "quota": dict(getattr(meta, "quota", None) or {})}

"""Incremental pulls: each scheduled run pulls only what a destination lacks, plus the days GA4 still revises.

Per property, from the state the destination holds (:mod:`ga4kit.destinations.state`, stored in the
destination itself, because a scheduled container starts with an empty disk):

- a property the state knows (same grain, segments and tables) starts at the last day held minus the
  lookback (3 days by default: GA4 keeps changing the last 24-72 hours), moved back to its period's first
  day for week and month grains, so whole periods are replaced;
- a property the state does not know, or knows at another grain, with other segments or in other tables,
  and every property when there is no state (or one that does not match the data) pulls the configured
  range (``start``, else the goals file's ``report.range``);
- every property ends at the configured end (yesterday by default) in its own time zone.

The start comes from the state, never from "N days ago", so runs that were missed leave no gap: the next
run starts where the data ends. The pull then merges as ``pull --merge`` does (rows keyed by property,
period, every segment and event; each property's window replaced and nothing else), and the state is
written with the data, in the same atomic write. Two runs (shards) writing one destination queue on its
lock and each replaces only its own properties' rows.

The state is read through the :class:`~ga4kit.destinations.base.Destination` interface only (``state()``,
and ``write(state=...)`` via :func:`ga4kit.destinations.write_pull`), so any destination works the same.

:func:`pull_incremental` is one scheduled run; :func:`summarize` gives the facts of any pull run and
:meth:`RunSummary.line` the one log line a scheduler keeps.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ga4kit.config.model import GoalsConfig
from ga4kit.destinations.state import DestinationState, HeldWindow
from ga4kit.errors import Ga4kitError
from ga4kit.executor import DEFAULT_CONCURRENCY
from ga4kit.reporting.quota_share import QuotaShareReached, check_share

DEFAULT_LOOKBACK = 3
GRAINS = ("day", "week", "month")  # a "range" period moves with every run, so it cannot be merged by key

# Why a property starts where it does (Start.source).
FROM_STATE = "state"
NOT_HELD = "not held"  # the state does not know the property
CHANGED = "changed"  # the state knows it at another grain, with other segments or in other tables
NO_STATE = "no state"  # no state, or one that does not describe the data held


@dataclass(frozen=True)
class Start:
    """Where one property's incremental pull starts: ``start`` (None: the configured range) and why."""

    property: str
    start: dt.date | None
    source: str
    held: HeldWindow | None = None

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat() if self.start else None, "from": self.source,
                "held_last": self.held.last.isoformat() if self.held and self.held.last else None}


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of ``day``'s period: its Monday for weeks, its 1st for months, itself for days."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def resume_from(held: HeldWindow, lookback: int, grain: str) -> dt.date:
    """Where a property the destination holds starts: its last day held minus ``lookback`` days, moved back
    to its period's first day (week, month)."""
    return period_start(held.last - dt.timedelta(days=lookback), grain)


def plan(state: DestinationState | None, pids: Sequence[str], *, grain: str, segments: Sequence[str],
         lookback: int = DEFAULT_LOOKBACK, tables: Mapping[str, Sequence[str]] | None = None) -> dict[str, Start]:
    """{property: Start} for an incremental pull of ``pids`` into a destination holding ``state``.
    ``tables``: {property: its own tables} when each property goes to tables of its own."""
    out: dict[str, Start] = {}
    for pid in pids:
        held = state.properties.get(pid) if state is not None else None
        own = tuple((tables or {}).get(pid, ()))
        if state is None:
            out[pid] = Start(pid, None, NO_STATE)
        elif held is None or held.last is None:
            out[pid] = Start(pid, None, NOT_HELD)
        elif held.grain != grain or held.segments != tuple(segments) or held.tables != own:
            out[pid] = Start(pid, None, CHANGED, held)
        else:
            out[pid] = Start(pid, resume_from(held, lookback, grain), FROM_STATE, held)
    return out


def check_options(grain: str, *, compare_previous: bool = False, lookback: int = DEFAULT_LOOKBACK) -> None:
    """Raise Ga4kitError, before any API call, for an incremental pull that cannot work."""
    if grain not in GRAINS:
        raise Ga4kitError(
            f"An incremental pull needs a day, week or month grain; the grain is {grain!r}.",
            "A 'range' period changes with every run, so a run could not replace it by its key: pass -g day (or "
            "week, month), or set report.grain in the goals file.")
    if compare_previous:
        raise Ga4kitError("An incremental pull cannot also pull the previous period (--compare previous).",
                          "Pull the days incrementally and compare periods in the spreadsheet, or run a separate "
                          "pull with --compare previous into another destination.")
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 0:
        raise Ga4kitError(f"The lookback must be a whole number of days, 0 or more (got {lookback!r}).",
                          "GA4 keeps changing the last 24-72 hours: 3 (the default) re-pulls them.")


@dataclass
class Run:
    """One incremental run: where each property started, the pull and what was written."""

    result: Any  # PullResult
    written: list
    starts: dict[str, Start]
    lookback: int
    target: str
    table_per_property: bool = False


def pull_incremental(config: GoalsConfig, clients, target, *, properties: Sequence[str] | None = None,
                     lookback: int = DEFAULT_LOOKBACK, start: str | dt.date | None = None,
                     end: str | dt.date | None = None, segments: Sequence[str] | None = None,
                     grain: str | None = None, table_per_property: bool = False,
                     max_quota_share: float | None = None, now: dt.datetime | None = None,
                     progress: Callable[[str], None] | None = None, note: Callable[[str], None] | None = None,
                     concurrency: int = DEFAULT_CONCURRENCY) -> Run:
    """One scheduled run into ``target`` (a path, a URL or a Destination): each property from the state the
    destination holds (see the module docstring), merged in, the state written with the data.

    ``start``/``end``: the configured range (default: the goals file's; its end, yesterday by default, ends
    every property). ``now``: the moment the run happens (default: the clock; sets each property's today
    and the state's refresh time). Raises Ga4kitError before any API call for options that cannot work or
    a destination that could not take the rows; a property that fails is in ``run.result.errors``.
    """
    from ga4kit import destinations
    from ga4kit.properties import property_ids
    from ga4kit.reporting.pull import pull, spec_for

    spec = spec_for(config, start=start, end=end, segments=segments, grain=grain)
    check_options(spec.grain, lookback=lookback)
    if max_quota_share is not None:
        check_share(max_quota_share)
    pids = property_ids(config, properties)
    if not pids:
        raise Ga4kitError("No property to pull.", "List properties in the goals file or pass -p PROPERTY_ID.")
    dest = destinations.open_destination(target)
    destinations.check_pull(dest, config, segments=spec.segments, merge=True, properties=pids,
                            table_per_property=table_per_property)
    own = {pid: destinations.property_tables(pid) for pid in pids} if table_per_property else None
    starts = plan(dest.state(), pids, grain=spec.grain, segments=spec.segments, lookback=lookback, tables=own)
    result = pull(config, clients, properties=pids, start=spec.start, end=spec.end, segments=spec.segments,
                  grain=spec.grain, progress=progress, whole_periods=True, now=now, concurrency=concurrency,
                  starts={pid: s.start for pid, s in starts.items() if s.start is not None},
                  max_quota_share=max_quota_share)
    written = destinations.write_pull(result, dest, merge=True, note=note, now=now,
                                      table_per_property=table_per_property)
    return Run(result, written, starts, lookback, dest.description, table_per_property)


# ----------------------------------------------------------------------------------------- the log line

@dataclass
class RunSummary:
    """The facts of one pull run, for its log line and its JSON."""

    properties: int  # properties this run was to pull
    ok: list[str]
    failed: list[str]
    skipped_for_quota: list[str]
    start: dt.date | None  # the earliest start and latest end of the properties written
    end: dt.date | None
    rows: int  # rows written (every table)
    target: str
    written: bool
    tokens_used: int
    tokens_left: int | None  # the lowest property's hourly tokens left
    lookback: int | None = None  # incremental runs
    configured: list[str] = field(default_factory=list)  # incremental: properties pulled over the configured range
    shard: str | None = None
    of: int | None = None  # a shard's run: the properties of every shard

    @property
    def exit_status(self) -> str:
        if not self.written and self.properties:
            return "failed"
        return "partial" if self.failed or self.skipped_for_quota else "ok"

    def line(self) -> str:
        """``ga4kit pull: 12 properties, 2026-11-19..2026-11-22 (lookback 3), 4,210 rows written to
        goals.xlsx, 11 ok, 1 failed, quota 1,234 tokens used, 38,766 left (lowest property)``."""
        n = self.properties
        parts = [f"shard {self.shard}" if self.shard else None,
                 f"{n}{f' of {self.of}' if self.of is not None else ''} propert{'y' if (self.of or n) == 1 else 'ies'}"]
        window = f"{self.start}..{self.end}" if self.start else "no window"
        if self.lookback is not None:
            extra = f", {len(self.configured)} from the configured range" if self.configured else ""
            window += f" (lookback {self.lookback}{extra})"
        parts.append(window)
        parts.append(f"{self.rows:,} rows written to {self.target}" if self.written
                     else f"nothing written to {self.target}")
        counts = f"{len(self.ok)} ok, {len(self.failed)} failed"
        if self.skipped_for_quota:
            counts += f", {len(self.skipped_for_quota)} skipped for quota"
        parts.append(counts)
        left = f", {self.tokens_left:,} left (lowest property)" if self.tokens_left is not None else ""
        parts.append(f"quota {self.tokens_used:,} tokens used{left}")
        return "ga4kit pull: " + ", ".join(p for p in parts if p)

    def as_dict(self) -> dict:
        return {"properties": self.properties, "ok": self.ok, "failed": self.failed,
                "skipped_for_quota": self.skipped_for_quota,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None, "rows": self.rows, "target": self.target,
                "written": self.written, "tokens_used": self.tokens_used, "tokens_left": self.tokens_left,
                "lookback": self.lookback, "configured": self.configured, "shard": self.shard, "of": self.of,
                "status": self.exit_status, "line": self.line()}


def summarize(result, written: Sequence[Any], *, target: str | os.PathLike, properties: int | None = None,
              frames: Mapping[str, Any] | None = None, starts: Mapping[str, Start] | None = None,
              lookback: int | None = None, shard: Any = None, of: int | None = None) -> RunSummary:
    """The facts of a pull run: ``result`` (a PullResult) written to ``target`` (``written``: what the write
    returned; ``frames``: the tables written, default the result's)."""
    from ga4kit.destinations import pull_frames

    skipped = [pid for pid, err in result.errors.items() if isinstance(err, QuotaShareReached)]
    failed = [pid for pid in result.errors if pid not in skipped]
    windows = result.windows()
    frames = pull_frames(result) if frames is None else frames
    lefts = [m.tokens_left for m in result.metadata.values() if m.tokens_left is not None]
    lefts += [e.tokens_left for e in result.errors.values() if getattr(e, "tokens_left", None) is not None]
    used = sum(m.tokens_used for m in result.metadata.values())
    used += sum(getattr(err, "tokens_used", 0) for err in result.errors.values())
    return RunSummary(
        properties=len(result.metadata) + len(result.errors) if properties is None else properties,
        ok=list(result.metadata), failed=failed, skipped_for_quota=skipped,
        start=min((w[0] for w in windows.values()), default=None) if written else None,
        end=max((w[1] for w in windows.values()), default=None) if written else None,
        rows=sum(int(len(f)) for f in frames.values() if f is not None) if written else 0,
        target=os.fspath(target), written=bool(written), tokens_used=used,
        tokens_left=min(lefts) if lefts else None, lookback=lookback,
        configured=[pid for pid, s in (starts or {}).items() if s.start is None and pid in result.metadata],
        shard=str(shard) if shard is not None else None, of=of)

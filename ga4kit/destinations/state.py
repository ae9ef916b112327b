"""Incremental state: which window of each property a destination holds, stored in the destination itself.

A scheduled container starts with an empty disk, so the state cannot live on the machine that pulls: a
file destination keeps it in a JSON sidecar beside the file (``.<name>.ga4kit-state.json``), a
spreadsheet would keep it in a metadata sheet. It is written together with the data on every pull write
(:func:`ga4kit.destinations.write_pull`) and read back with ``Destination.state()``. An incremental pull
(:mod:`ga4kit.reporting.incremental`) starts each property from it: the last day held minus a lookback.

The record, one per destination::

    {"ga4kit_state": 1, "written_at": "2026-11-22T06:00:00Z",
     "properties": {"123456789": {"ranges": [["2026-10-01", "2026-11-21"]], "grain": "day",
                                  "segments": ["sessionDefaultChannelGroup"],
                                  "refreshed_at": "2026-11-22T06:00:00Z",
                                  "last_pull": {"thresholded": false, "other_row": false, "sampled": false,
                                                "api_calls": 2, "quota": {"tokens_per_day": {...}}}}},
     "files": {"report.events.csv": "sha256:..."}}

``ranges``: the days held, as sorted, disjoint first/last pairs (a back-fill that left a gap shows it).
``tables`` (only when the property's rows are in tables of their own, ``--table-per-property``): their
names, e.g. ``["events.123456789", "baseline.123456789"]``.
``refreshed_at``: when the property was last pulled into this destination (UTC). A merge adds the new
window to the ranges held; a write without merge replaces the destination, so the state then holds this
pull only. A property pulled again at another grain or with other segments starts a new record (the rows
of the old grain stay in the data, the state describes the latest). ``last_pull`` (optional, for people
and the spreadsheet's metadata tab): what GA4 said about the property's last pull: its flags (thresholded,
data lost into an "(other)" row, sampled), the API calls and the quota of the last answer; it is no part of
what is held, so states compare equal without it. ``files`` (file destinations): the
SHA-256 of every data file the state describes; a state whose files do not match (a run killed between
moving the data and the state into place, or a file edited by hand) is not trusted: ``state()`` is None.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STATE_VERSION = 1


def _utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def coalesce(ranges: Sequence[tuple[dt.date, dt.date]]) -> tuple[tuple[dt.date, dt.date], ...]:
    """Sorted, disjoint ranges: overlapping or adjacent ones joined, empty ones (start after end) dropped."""
    out: list[tuple[dt.date, dt.date]] = []
    for start, end in sorted(r for r in ranges if r[0] <= r[1]):
        if out and start <= out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


@dataclass(frozen=True)
class HeldWindow:
    """What a destination holds of one property."""

    ranges: tuple[tuple[dt.date, dt.date], ...]
    grain: str
    segments: tuple[str, ...]
    refreshed_at: dt.datetime
    last_pull: Mapping[str, Any] = field(default_factory=dict, compare=False)
    tables: tuple[str, ...] = ()  # the tables holding its rows when they are its own; () = the shared ones

    @property
    def first(self) -> dt.date | None:
        return self.ranges[0][0] if self.ranges else None

    @property
    def last(self) -> dt.date | None:
        return self.ranges[-1][1] if self.ranges else None

    def as_dict(self) -> dict:
        data = {"ranges": [[str(s), str(e)] for s, e in self.ranges], "grain": self.grain,
                "segments": list(self.segments), "refreshed_at": _utc_text(self.refreshed_at)}
        if self.tables:
            data["tables"] = list(self.tables)
        if self.last_pull:
            data["last_pull"] = dict(self.last_pull)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> HeldWindow:
        last = data.get("last_pull")
        return cls(ranges=tuple((dt.date.fromisoformat(s), dt.date.fromisoformat(e)) for s, e in data["ranges"]),
                   grain=str(data["grain"]), segments=tuple(map(str, data["segments"])),
                   refreshed_at=_utc(data["refreshed_at"]), tables=tuple(map(str, data.get("tables") or ())),
                   last_pull=dict(last) if isinstance(last, Mapping) else {})


@dataclass(frozen=True)
class DestinationState:
    """The incremental state of one destination (see the module docstring)."""

    properties: Mapping[str, HeldWindow] = field(default_factory=dict)
    written_at: dt.datetime | None = None

    def to_json(self, files: Mapping[str, str] | None = None) -> str:
        """The record as JSON text (``files``: {file name: "sha256:..."} for a file destination)."""
        data: dict = {"ga4kit_state": STATE_VERSION,
                      "written_at": _utc_text(self.written_at) if self.written_at else None,
                      "properties": {pid: w.as_dict() for pid, w in sorted(self.properties.items())}}
        if files is not None:
            data["files"] = dict(sorted(files.items()))
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> tuple[DestinationState, dict[str, str]] | None:
        """The state and its ``files`` from :meth:`to_json`'s text; None when the text is no state this
        version of ga4kit understands (damaged, or written by a newer one)."""
        try:
            data = json.loads(text)
            if data.get("ga4kit_state") != STATE_VERSION:
                return None
            written = _utc(data["written_at"]) if data.get("written_at") else None
            props = {str(pid): HeldWindow.from_dict(w) for pid, w in data["properties"].items()}
            files = {str(k): str(v) for k, v in (data.get("files") or {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        return cls(properties=props, written_at=written), files

    def after_pull(self, windows: Mapping[str, tuple[dt.date, dt.date]], *, grain: str,
                   segments: Sequence[str], merge: bool, now: dt.datetime,
                   tables: Mapping[str, Sequence[str]] | None = None,
                   details: Mapping[str, Mapping[str, Any]] | None = None) -> DestinationState:
        """The state once a pull of ``windows`` ({property: (start, end)}) was written: added to what is
        held for a merge, instead of it otherwise. ``tables``: {property: its own tables} when each
        property was written to tables of its own (a tab per property); a property written to other
        tables than before starts a new record, as one of another grain does. ``details``: {property:
        last_pull} (see the module docstring)."""
        segments = tuple(segments)
        held = dict(self.properties) if merge else {}
        for pid, (start, end) in windows.items():
            old = held.get(pid)
            own = tuple((tables or {}).get(pid, ()))
            ranges = [(start, end)]
            if old is not None and old.grain == grain and old.segments == segments and old.tables == own:
                ranges += list(old.ranges)
            held[pid] = HeldWindow(coalesce(ranges), grain, segments, now, tables=own,
                                   last_pull=dict((details or {}).get(pid) or {}))
        return DestinationState(properties=held, written_at=now)

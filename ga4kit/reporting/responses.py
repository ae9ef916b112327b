"""Read Data API report responses into column tables, at protobuf speed.

The client library hands out proto-plus wrappers, whose every field access goes through a marshal layer
(about 15x slower than the message underneath). A pull reads hundreds of thousands of values, so rows are
read from the raw protobuf message (``type(msg).pb(msg)``), row by row in one flat pass, and split into
columns by position. Values stay the strings GA4 sent; :mod:`ga4kit.reporting.tidy` converts them once
for every property.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

QUOTA_NAMES = ("tokens_per_day", "tokens_per_hour", "concurrent_requests", "server_errors_per_project_per_hour",
               "potentially_thresholded_requests_per_hour", "tokens_per_project_per_hour")


@dataclass(frozen=True)
class Notes:
    """What a response says about its data beside the rows."""

    subject_to_thresholding: bool = False
    sampled: bool = False
    data_loss_from_other_row: bool = False
    currency: str | None = None
    time_zone: str | None = None
    quota: dict = field(default_factory=dict)  # name -> {"consumed": n, "remaining": n}


@dataclass(frozen=True)
class Table:
    """One report's rows, column by column: dimension and metric name -> the values as GA4 sent them."""

    columns: dict[str, list[str]]
    rows: int
    row_count: int  # GA4's total over every page
    notes: Notes


def raw(message: Any) -> Any:
    """The protobuf message under a proto-plus wrapper (the message itself when it is one already)."""
    pb = getattr(type(message), "pb", None)
    return pb(message) if callable(pb) and hasattr(message, "_pb") else message


def read_report(message: Any) -> Table:
    """A RunReportResponse (proto-plus or raw) as a :class:`Table`."""
    pb = raw(message)
    dims = [h.name for h in pb.dimension_headers]
    mets = [h.name for h in pb.metric_headers]
    rows = pb.rows
    columns: dict[str, list[str]] = {}
    if dims:
        flat = [v.value for r in rows for v in r.dimension_values]
        columns.update({name: flat[i::len(dims)] for i, name in enumerate(dims)})
    if mets:
        flat = [v.value for r in rows for v in r.metric_values]
        columns.update({name: flat[i::len(mets)] for i, name in enumerate(mets)})
    return Table(columns, len(rows), int(pb.row_count), read_notes(pb))


def read_notes(pb: Any) -> Notes:
    md = pb.metadata
    quota = {}
    if pb.HasField("property_quota"):
        q = pb.property_quota
        for name in QUOTA_NAMES:
            status = getattr(q, name)
            if status.consumed or status.remaining:
                quota[name] = {"consumed": int(status.consumed), "remaining": int(status.remaining)}
    return Notes(subject_to_thresholding=bool(md.subject_to_thresholding),
                 sampled=bool(len(md.sampling_metadatas)),
                 data_loss_from_other_row=bool(md.data_loss_from_other_row),
                 currency=md.currency_code or None, time_zone=md.time_zone or None, quota=quota)


def join_pages(pages: list[Table]) -> Table:
    """The pages of one report as one table (the notes of the last page)."""
    first = pages[0]
    columns = {name: [v for p in pages for v in p.columns[name]] for name in first.columns}
    return Table(columns, sum(p.rows for p in pages), first.row_count, pages[-1].notes)


def fold_notes(notes: list[Notes]) -> Notes:
    """One property's notes from all its responses: a flag set by any, the last currency and time zone
    reported, and each quota as the last response that reported it said."""
    out = Notes()
    for n in notes:
        out = Notes(subject_to_thresholding=out.subject_to_thresholding or n.subject_to_thresholding,
                    sampled=out.sampled or n.sampled,
                    data_loss_from_other_row=out.data_loss_from_other_row or n.data_loss_from_other_row,
                    currency=n.currency or out.currency, time_zone=n.time_zone or out.time_zone,
                    quota={**out.quota, **n.quota})
    return out

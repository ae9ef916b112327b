"""Destinations: where ga4kit writes tables (CSV, XLSX, JSON, NDJSON, Parquet files; Google Sheets).

    from ga4kit.destinations import check_pull, write_pull
    check_pull("report.xlsx", config, merge=True)          # before any API call
    result = pull(config, clients, whole_periods=True)
    write_pull(result, "report.xlsx", merge=True)          # what `ga4kit pull --merge` does

A target is a file name, whose extension picks the format, or a URL whose scheme picks the destination
(:mod:`.registry`). Each kind is a small :class:`~.base.Destination` class (:mod:`.csv`, :mod:`.xlsx`,
:mod:`.json`, :mod:`.parquet`, sharing :mod:`.files`; :mod:`.sheets` for ``sheets://ID/TAB``); writes are
atomic (:mod:`ga4kit.atomic`; a spreadsheet's by one batchUpdate), merges follow :mod:`ga4kit.merge`, and
every pull write stores the destination's incremental state with the data (:mod:`.state`).
"""

from ga4kit.destinations.api import (check_output, check_pull, property_table, property_tables, pull_frames,
                                     read_columns, read_frames, write, write_frames, write_pull)
from ga4kit.destinations.base import DEFAULT_TABLE, Destination
from ga4kit.destinations.registry import open_destination, register, unregister
from ga4kit.destinations.state import DestinationState, HeldWindow

__all__ = ["DEFAULT_TABLE", "Destination", "DestinationState", "HeldWindow", "check_output", "check_pull",
           "open_destination", "property_table", "property_tables", "pull_frames", "read_columns", "read_frames", "register", "unregister", "write",
           "write_frames", "write_pull"]

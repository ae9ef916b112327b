"""JSON and NDJSON destinations: data formats, so text is written as it is (no formula quoting).

JSON is one document: a list of records for one table, ``{name: [records]}`` for several. NDJSON (also
``.jsonl``) is one JSON object per row and line, one table per file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ga4kit.atomic import AtomicFiles
from ga4kit.destinations.files import FileDestination, table_names
from ga4kit.serialize import frame_to_json, frame_to_ndjson


class JsonDestination(FileDestination):
    """``.json``: every table in one document."""

    def write_files(self, out: AtomicFiles, frames: dict[str, pd.DataFrame],
                    targets: dict[str, Path]) -> dict[Path, Path]:
        payload = next(iter(frames.values())) if len(frames) == 1 else frames
        data = frame_to_json(payload).encode("utf-8")
        return {self.path: out.add(self.path, lambda tmp: tmp.write_bytes(data))}

    def read(self, tables: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        try:
            if not self.path.exists():
                return {}
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, list):
                return {table_names(tables)[0]: pd.DataFrame.from_records(data)}
            return {k: pd.DataFrame.from_records(v) for k, v in data.items()}
        except Exception as exc:
            raise self._unreadable(exc) from exc

    def read_columns(self, tables: Sequence[str] | None = None) -> dict[str, list[str]]:
        return {k: list(v.columns) for k, v in self.read(tables).items()}


class NdjsonDestination(FileDestination):
    """``.ndjson`` / ``.jsonl``: one JSON object per row and line (nothing for no rows)."""

    one_table_per_file = True

    def write_table(self, tmp: Path, frame: pd.DataFrame) -> None:
        tmp.write_bytes(frame_to_ndjson(frame).encode("utf-8"))

    def read_table(self, path: Path) -> pd.DataFrame:
        with open(path, encoding="utf-8") as fh:
            return pd.DataFrame.from_records([json.loads(line) for line in fh if line.strip()])

    def read_header(self, path: Path) -> list[str]:
        with open(path, "rb") as fh:
            first = fh.readline().decode("utf-8")
        return list(json.loads(first)) if first.strip() else []

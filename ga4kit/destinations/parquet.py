"""Parquet destination (needs pyarrow: ``pip install 'ga4kit[parquet]'``): one table per file, types kept."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ga4kit.destinations.files import FileDestination
from ga4kit.errors import OutputError


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise OutputError("Cannot write Parquet: the pyarrow package is not installed.",
                          "Install it with: pip install 'ga4kit[parquet]' (or pip install pyarrow), or write "
                          ".csv, .xlsx or .json instead.") from exc


class ParquetDestination(FileDestination):
    """``.parquet`` / ``.pq``: ``NAME.<table>.parquet`` per table when there are several."""

    one_table_per_file = True

    def require(self) -> None:
        require_pyarrow()

    def write_table(self, tmp: Path, frame: pd.DataFrame) -> None:
        frame.to_parquet(tmp, index=False, engine="pyarrow")

    def read_table(self, path: Path) -> pd.DataFrame:
        return pd.read_parquet(path, engine="pyarrow")

    def read_header(self, path: Path) -> list[str]:
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)

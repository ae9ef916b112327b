"""CSV destination: one table per file, formula-safe text (see :mod:`ga4kit.serialize`), read back exactly."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ga4kit.destinations.files import FileDestination
from ga4kit.serialize import frame_to_csv, unescape_formulas


class CsvDestination(FileDestination):
    """``.csv``: a header, ISO dates, "\\n" line ends; ``NAME.<table>.csv`` per table when there are several."""

    one_table_per_file = True

    def write_table(self, tmp: Path, frame: pd.DataFrame) -> None:
        tmp.write_bytes(frame_to_csv(frame).encode("utf-8"))

    def read_table(self, path: Path) -> pd.DataFrame:
        # Every cell as the stored text (ids stay "0123"), the formula quote removed again.
        return unescape_formulas(pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]))

    def read_header(self, path: Path) -> list[str]:
        with open(path, "rb") as fh:
            first = fh.readline().decode("utf-8")
        return next(csv.reader([first]), [])

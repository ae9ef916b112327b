"""XLSX destination: one sheet per table, streamed row by row, text cells that never run as formulas.

Every text value is a text cell: a ``sessionSource`` of ``=HYPERLINK(...)`` (anyone can set utm_source)
shows as that text, and cells starting with = + - @, a tab or a carriage return (or an error code such as
``#N/A``) also get Excel's quote prefix, so editing them does not turn them into formulas. Reading back
gives every cell as stored: a formula of a file written by another tool comes back as its text.

openpyxl's write-only workbook streams each row to disk: pandas' writer built every cell in memory and, on
Ctrl-C, its ``with`` block still saved the whole workbook before the interrupt could act (30 s for a big
pull); here an interrupt stops the loop at the next row.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ga4kit.atomic import AtomicFiles, check_interrupt, keep_fresh
from ga4kit.destinations.files import FileDestination, table_names
from ga4kit.errors import OutputError
from ga4kit.serialize import looks_like_formula

EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included
TOUCH_EVERY = 20_000  # rows between refreshes of a live temp file's mtime


def sheet_names(names: Sequence[str]) -> dict[str, str]:
    """Excel sheet names: at most 31 characters, none of []:*?/\\ , unique (case-insensitive)."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for n in names:
        base = re.sub(r"[\[\]:*?/\\]", "_", str(n)).strip("'")[:31] or "Sheet"
        name, i = base, 2
        while name.lower() in seen:
            suffix = f"_{i}"
            name, i = base[: 31 - len(suffix)] + suffix, i + 1
        seen.add(name.lower())
        out[n] = name
    return out


def _text_cell(ws, value: str):
    """A cell that holds ``value`` as text even when it starts with "=" (openpyxl would write a formula) or
    is an error code like "#N/A"; the quote prefix keeps Excel from running it once the cell is edited."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _safe_text(ws, value: str, error_codes: Sequence[str]):
    return _text_cell(ws, value) if looks_like_formula(value) or value in error_codes else value


def _excel_values(col: pd.Series, ws) -> list:
    """One column as the Python values an XLSX cell takes: None for missing, dates as dates, text as text
    cells (see :func:`_text_cell`)."""
    from openpyxl.cell.cell import ERROR_CODES

    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        if getattr(col.dt, "tz", None) is not None:
            col = col.dt.tz_localize(None)  # Excel has no time zones
        non_null = col.dropna()
        midnight = bool((non_null == non_null.dt.normalize()).all()) if len(non_null) else True
        return [None if pd.isna(ts) else (ts.date() if midnight else ts.to_pydatetime()) for ts in col.tolist()]
    if pd.api.types.is_bool_dtype(col.dtype) and col.dtype != object:
        return [None if v is pd.NA else bool(v) for v in col.astype(object)]
    if pd.api.types.is_numeric_dtype(col.dtype):
        out = col.astype(object).where(col.notna(), None).tolist()
        if pd.api.types.is_float_dtype(col.dtype):
            # Excel has no infinity; write it as text, as pandas' writer did.
            out = [("inf" if v > 0 else "-inf") if isinstance(v, float) and math.isinf(v) else v for v in out]
        return out
    out = []
    for v in col.astype(object).tolist():
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        else:
            out.append(_safe_text(ws, v, ERROR_CODES) if isinstance(v, str) else v)
    return out


def _write_workbook(tmp: Path, frames: Mapping[str, pd.DataFrame]) -> None:
    """Stream the frames into a write-only workbook, row by row, stopping at once on an interrupt (the
    caller then removes the temporary file and the old file stays)."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    try:
        for name, sheet in sheet_names(list(frames)).items():
            frame = frames[name]
            ws = wb.create_sheet(sheet)
            ws.freeze_panes = "A2"  # keep the header visible when scrolling
            for i, col in enumerate(frame.columns, start=1):
                ws.column_dimensions[get_column_letter(i)].width = min(max(len(str(col)) + 2, 10), 40)
            ws.append([_safe_text(ws, str(c), ERROR_CODES) for c in frame.columns])
            columns = [_excel_values(frame[c], ws) for c in frame.columns]
            check_interrupt()
            for i, row in enumerate(zip(*columns), start=1):
                ws.append(row)
                check_interrupt()
                if i % TOUCH_EVERY == 0:
                    keep_fresh(tmp)  # a live write: keep its temp file from looking stale
        wb.save(tmp)
    except BaseException:
        _discard_sheet_files(wb)
        raise


def _discard_sheet_files(wb) -> None:
    """Close and remove the per-sheet files a write-only workbook streams to (openpyxl would delete them
    only when the process exits)."""
    for ws in getattr(wb, "_sheets", []):
        writer = getattr(ws, "_writer", None)
        out = getattr(writer, "out", None)
        for close in (getattr(ws, "_rows", None), writer):
            with contextlib.suppress(Exception):
                if close is not None:
                    close.close()
        if isinstance(out, str):
            with contextlib.suppress(OSError):
                os.remove(out)


def _read_workbook(path: Path, header_only: bool = False) -> dict[str, pd.DataFrame]:
    """Every sheet as a frame (first row: the header), cells as stored: a formula as its text."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        out = {}
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = list(next(rows, None) or [])
            while header and header[-1] is None:
                header.pop()
            width = len(header)
            body = [] if header_only else [r[:width] for r in rows if any(v is not None for v in r[:width])]
            out[ws.title] = pd.DataFrame.from_records(body, columns=[str(h) for h in header])
        return out
    finally:
        wb.close()


class XlsxDestination(FileDestination):
    """``.xlsx``: one workbook, a sheet per table (names cut to Excel's rules), the header row frozen."""

    def check_frames(self, frames: Mapping[str, pd.DataFrame]) -> None:
        for name, frame in frames.items():
            if len(frame) + 1 > EXCEL_MAX_ROWS:
                raise OutputError(
                    f"Cannot write {self.path}: frame {name!r} has {len(frame):,} rows, more than an Excel sheet "
                    f"holds ({EXCEL_MAX_ROWS - 1:,} plus the header).",
                    "Write .csv or .parquet instead, or reduce the rows (fewer segments, a coarser grain, "
                    "fewer properties per file).")

    def write_files(self, out: AtomicFiles, frames: dict[str, pd.DataFrame],
                    targets: dict[str, Path]) -> dict[Path, Path]:
        return {self.path: out.add(self.path, lambda tmp: _write_workbook(tmp, frames))}

    def _sheets(self, tables: Sequence[str] | None, header_only: bool) -> dict[str, pd.DataFrame]:
        try:
            if not self.path.exists():
                return {}
            by_sheet = {v: k for k, v in sheet_names(table_names(tables)).items()}
            return {by_sheet.get(s, s): df for s, df in _read_workbook(self.path, header_only).items()}
        except Exception as exc:
            raise self._unreadable(exc) from exc

    def read(self, tables: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        return self._sheets(tables, header_only=False)

    def read_columns(self, tables: Sequence[str] | None = None) -> dict[str, list[str]]:
        return {name: list(df.columns) for name, df in self._sheets(tables, header_only=True).items()}

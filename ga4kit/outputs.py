"""Writing result frames to CSV, XLSX, JSON, NDJSON or Parquet: atomic, repeatable, mergeable, safe to open.

The format follows the file extension (.csv, .xlsx, .json, .ndjson/.jsonl, .parquet/.pq). Every write goes to
a temporary file in the target's directory (``.<name>.<8 random characters>.tmp``) and is moved into place
with ``os.replace``, so a failure or Ctrl-C leaves the old file untouched and never a half-written one;
XLSX is streamed row by row and a Ctrl-C stops it at the next row, even one Python would have swallowed. A
temporary file that a killed run (kill -9, power loss) left behind is removed by the next write to the same
target once it is :data:`STALE_TEMP_SECONDS` old; only files of exactly that naming are touched, and a live
writer keeps its own temporary file fresh. The same frames always give byte-identical CSV, JSON and NDJSON
(fixed column order, ISO dates, ``repr`` floats, "\\n" line ends), so scheduled re-runs do not churn files.

Several frames: XLSX gets one sheet per frame, JSON one object ``{name: [records]}``; CSV, NDJSON (one JSON
object per line) and Parquet hold one table per file, so each frame goes to ``<stem>.<name><ext>`` beside
the path (all files are prepared first, then moved into place together). A single frame is written to
``path`` itself (JSON: a list).

Text is data, never a formula. In XLSX every text value is a text cell: a ``sessionSource`` of
``=HYPERLINK(...)`` (anyone can set utm_source) shows as that text, and cells starting with = + - @, a tab
or a carriage return also get Excel's quote prefix, so editing them does not turn them into formulas. In
CSV, following OWASP's CSV-injection guidance, a text cell starting with = + - @, a tab or a carriage
return is written with a leading single quote (``'=HYPERLINK(...)``); so that reading reverses it exactly,
a text cell made of quotes followed by one of those gets one more quote. Numbers (numeric columns) are
never changed. :func:`read_frames` removes the quote again, so merge keys compare the stored text. JSON,
NDJSON and Parquet hold text as it is: they are data formats, not spreadsheets.

Merge mode (scheduled pulls): ``merge_on`` names the key columns (property, period, every segment column,
event); existing rows with the same key are replaced, never duplicated. The existing table must have the
same columns (the new rows may add columns): a file with other segment columns is refused, because matching
on fewer keys would delete rows. ``replace_window`` first drops the existing rows of the re-pulled
properties whose period (``period_start``..``period_end``) overlaps the window, so rows GA4 has since revised
or removed do not linger and a period is never kept beside a re-pulled part of itself; pass whole periods
(``ga4kit.reporting.pull`` widens a merge pull's window to them). The read-merge-write holds the
destination's lock (:func:`ga4kit.locking.destination_lock_path`: a ``.<name>.ga4kit.lock`` file that stays
beside the output), so concurrent merges into one file queue instead of losing each other's rows.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.errors import OutputError

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson",
          ".parquet": "parquet", ".pq": "parquet"}
SINGLE_TABLE = {"csv", "ndjson", "parquet"}
STALE_TEMP_SECONDS = 15 * 60  # a temporary file untouched this long belongs to a run that died
_TOUCH_EVERY = 20_000  # rows between refreshes of a live XLSX temp file's mtime
DEFAULT_NAME = "data"

Frames = Mapping[str, pd.DataFrame]


# ----------------------------------------------------------------------------------------- serialization

def _iso(col: pd.Series) -> pd.Series:
    """Datetimes as ISO text: a date when every value is at midnight, else date and time."""
    values = col
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    non_null = values.dropna()
    midnight = bool((non_null == non_null.dt.normalize()).all()) if len(non_null) else True
    text = values.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S")
    return text.astype(object).where(values.notna(), None)


def _textual(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with datetime columns (and date objects) as ISO strings; other columns untouched."""
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[c] = _iso(col)
        elif col.dtype == object and isinstance(next(iter(col.dropna()), None), (date, datetime)):
            # (Judged by the first value: a column of dates is all dates; scanning 1M objects is slow.)
            out[c] = col.map(lambda v: v.isoformat() if isinstance(v, (date, datetime)) else v)
    return out


# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_QUOTED_FORMULA = re.compile(r"'+[=+\-@\t\r]")


def _is_text(col: pd.Series) -> bool:
    return (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)
            or isinstance(col.dtype, pd.CategoricalDtype))


def _text_mask(col: pd.Series, pattern: re.Pattern) -> np.ndarray:
    """Which cells are text matching ``pattern`` at their start."""
    try:
        return col.str.match(pattern.pattern, na=False).to_numpy(dtype=bool)
    except AttributeError:  # no text at all in an object column (e.g. only None)
        return np.zeros(len(col), dtype=bool)


def _escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, with a leading single quote (see module doc)."""
    out = frame
    for c in frame.columns:
        col = frame[c]
        if not _is_text(col):
            continue
        mask = _text_mask(col, _FORMULA_START)
        if mask.any():
            if out is frame:
                out = frame.copy()
            fixed = col.astype(object).copy()
            fixed[mask] = ["'" + v for v in col[mask]]
            out[c] = fixed
    return out


def _unescape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`_escape_formulas` (CSV read back)."""
    for c in frame.columns:
        col = frame[c]
        if not _is_text(col):
            continue
        mask = _text_mask(col, _QUOTED_FORMULA)
        if mask.any():
            fixed = col.astype(object).copy()
            fixed[mask] = [v[1:] for v in col[mask]]
            frame[c] = fixed
    return frame


def frame_to_csv(frame: pd.DataFrame) -> str:
    """CSV text: header, ISO dates, empty cells for missing values, "\\n" line ends, text that would run as
    a formula quoted with a leading ``'`` (see the module docstring). Deterministic."""
    return _escape_formulas(_textual(frame)).to_csv(index=False, lineterminator="\n")


def _json_ready(frame: pd.DataFrame) -> pd.DataFrame:
    text = _textual(frame)
    text.columns = [str(c) for c in text.columns]
    for c in text.columns:
        if pd.api.types.is_float_dtype(text[c].dtype):
            text[c] = text[c].mask(np.isinf(text[c].to_numpy(dtype="float64", na_value=np.nan)))
    return text


def _records_text(frame: pd.DataFrame, *, lines: bool = False) -> str:
    """A compact JSON array of records (``lines``: one record per line, NDJSON).

    pandas' C encoder does the work (a Python loop took ~40 s for a million rows); floats keep 15
    significant digits, missing values are null, dates are ISO text (converted beforehand).
    """
    text = _json_ready(frame)
    if len(text) == 0:
        return "" if lines else "[]"
    out = text.to_json(orient="records", force_ascii=False, double_precision=15, default_handler=str,
                       lines=lines)
    if lines and not out.endswith("\n"):
        out += "\n"
    # The encoder escapes "/" as "\\/"; every "/" it writes is escaped that way, so undoing it is safe.
    return out.replace("\\/", "/")


def frame_to_ndjson(frame: pd.DataFrame) -> str:
    """NDJSON text: one JSON object per row and line (nothing for no rows). Deterministic."""
    return _records_text(frame, lines=True)


def frame_to_json(frames: pd.DataFrame | Frames) -> str:
    """JSON text: an array of records for one frame, ``{name: records}`` for several. Deterministic."""
    if isinstance(frames, pd.DataFrame):
        return _records_text(frames) + "\n"
    parts = [f"{json.dumps(str(name), ensure_ascii=False)}: {_records_text(df)}" for name, df in frames.items()]
    return "{\n" + ",\n".join(parts) + "\n}\n"


# ----------------------------------------------------------------------------------------- paths & errors

def _format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        kinds = ", ".join(sorted(FORMATS))
        raise OutputError(
            f"Cannot write {path}: unknown output type {path.suffix or '(no extension)'!r}.",
            f"Name the file with one of {kinds} (e.g. report.csv or report.xlsx); the extension picks the "
            "format.")
    return fmt


def _check_target(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: it is a directory.",
                          f"Give a file name inside it, e.g. {path / 'report.csv'}.")
    if not parent.is_dir():
        raise OutputError(f"Cannot write {path}: the directory {parent} does not exist.",
                          f"Create it first (mkdir -p {parent}) or choose another output path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write {path}: no permission to create files in {parent}.",
                          "Choose a directory you can write to, or fix its permissions.")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"Cannot write {path}: the existing file is read-only.",
                          "Make it writable (chmod u+w) or choose another output path.")


def check_writable(path: str | os.PathLike) -> None:
    """Raise OutputError now if ``path`` could not be created or replaced (any format)."""
    _check_target(Path(path))


def check_output(path: str | os.PathLike, names: Sequence[str] = (DEFAULT_NAME,)) -> list[Path]:
    """Raise OutputError now if :func:`write_frames` could not write ``names`` to ``path``: lets a command
    fail before it spends API quota. Returns the files that would be written."""
    path = Path(path)
    fmt = _format(path)
    if fmt == "parquet":
        _require_pyarrow()
    targets = list(dict.fromkeys(_targets(path, fmt, list(names)).values()))
    for t in targets:
        _check_target(t)
    return targets


def _targets(path: Path, fmt: str, names: Sequence[str]) -> dict[str, Path]:
    """Which file each frame goes to."""
    if fmt in SINGLE_TABLE and len(names) > 1:
        return {n: path.with_name(f"{path.stem}.{_safe_name(n)}{path.suffix}") for n in names}
    return {n: path for n in names}


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._") or DEFAULT_NAME


def _sheet_names(names: Sequence[str]) -> dict[str, str]:
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


# ----------------------------------------------------------------------------------------- writers

def _write_csv(tmp: Path, frame: pd.DataFrame) -> None:
    tmp.write_bytes(frame_to_csv(frame).encode("utf-8"))


def _write_json(tmp: Path, frames: pd.DataFrame | Frames) -> None:
    tmp.write_bytes(frame_to_json(frames).encode("utf-8"))


def _require_pyarrow():
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise OutputError("Cannot write Parquet: the pyarrow package is not installed.",
                          "Install it with: pip install 'ga4kit[parquet]' (or pip install pyarrow), or write "
                          ".csv, .xlsx or .json instead.") from exc


def _write_parquet(tmp: Path, frame: pd.DataFrame) -> None:
    _require_pyarrow()
    frame.to_parquet(tmp, index=False, engine="pyarrow")


EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included


def _check_excel_size(path: Path, frames: Frames) -> None:
    for name, frame in frames.items():
        if len(frame) + 1 > EXCEL_MAX_ROWS:
            raise OutputError(
                f"Cannot write {path}: frame {name!r} has {len(frame):,} rows, more than an Excel sheet holds "
                f"({EXCEL_MAX_ROWS - 1:,} plus the header).",
                "Write .csv or .parquet instead, or reduce the rows (fewer segments, a coarser grain, "
                "fewer properties per file).")


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


def _safe_text(ws, value: str, error_codes: Sequence[str]):
    return _text_cell(ws, value) if _FORMULA_START.match(value) or value in error_codes else value


def _text_cell(ws, value: str):
    """A cell that holds ``value`` as text even when it starts with "=" (openpyxl would write a formula) or
    is an error code like "#N/A"; the quote prefix keeps Excel from running it once the cell is edited."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _write_xlsx(tmp: Path, frames: Frames) -> None:
    """Stream the frames into a write-only workbook, row by row.

    pandas' writer built every cell in memory and, on Ctrl-C, its ``with`` block still saved the whole
    workbook before the interrupt could act (30 s for a big pull). Here an interrupt stops the loop at
    once; the temporary file is then removed by the caller and the old file stays.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    try:
        for name, sheet in _sheet_names(list(frames)).items():
            frame = frames[name]
            ws = wb.create_sheet(sheet)
            ws.freeze_panes = "A2"  # keep the header visible when scrolling
            for i, col in enumerate(frame.columns, start=1):
                ws.column_dimensions[get_column_letter(i)].width = min(max(len(str(col)) + 2, 10), 40)
            ws.append([_safe_text(ws, str(c), ERROR_CODES) for c in frame.columns])
            columns = [_excel_values(frame[c], ws) for c in frame.columns]
            _check_interrupt()
            for i, row in enumerate(zip(*columns), start=1):
                ws.append(row)
                _check_interrupt()
                if i % _TOUCH_EVERY == 0:
                    os.utime(tmp)  # a live write: keep its temp file from looking stale
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


def _write_ndjson(tmp: Path, frame: pd.DataFrame) -> None:
    tmp.write_bytes(frame_to_ndjson(frame).encode("utf-8"))


_SIGNALS_SEEN: contextvars.ContextVar[list | None] = contextvars.ContextVar("ga4kit_signals_seen", default=None)


@contextlib.contextmanager
def _interruptible():
    """While files are written, remember a Ctrl-C (or a SIGTERM whose Python handler raises).

    Python raises KeyboardInterrupt wherever the main thread happens to be, and when that is a finalizer
    (``__del__``, a generator's cleanup) it only prints "Exception ignored" and carries on: the write would
    finish and replace the old file after all. The handlers installed here note the signal, then call the
    original handler; :func:`_check_interrupt` raises again where a write can stop.
    """
    seen: list[int] = []
    token = _SIGNALS_SEEN.set(seen)
    saved = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            original = signal.getsignal(sig) if sig is not None else None
            if callable(original):
                def handler(signum, frame, _original=original):
                    seen.append(signum)
                    _original(signum, frame)

                signal.signal(sig, handler)
                saved[sig] = original
    try:
        yield
    finally:
        for sig, original in saved.items():
            signal.signal(sig, original)
        _SIGNALS_SEEN.reset(token)


def _check_interrupt() -> None:
    if _SIGNALS_SEEN.get():
        raise KeyboardInterrupt


def _atomic_many(jobs: list[tuple[Path, Callable[[Path], None]]]) -> list[Path]:
    """Write every job to a temp file beside its target, then move them all into place.

    Nothing is replaced until every file was written; on any failure or interrupt the temp files are
    removed and the existing files stay as they were.
    """
    temps: list[tuple[Path, Path]] = []
    try:
        with _interruptible():
            for target, write in jobs:
                fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
                os.close(fd)
                tmp = Path(name)
                temps.append((tmp, target))
                write(tmp)
                _check_interrupt()
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
                if target.exists():
                    # Keep the permission bits of the file being replaced (mkstemp creates 0600).
                    os.chmod(tmp, target.stat().st_mode & 0o777)
                else:
                    umask = os.umask(0)
                    os.umask(umask)
                    os.chmod(tmp, 0o666 & ~umask)
            _check_interrupt()
            for tmp, target in temps:
                os.replace(tmp, target)
            temps = []
    except OutputError:
        raise
    except OSError as exc:
        target = temps[-1][1] if temps else jobs[0][0]
        raise OutputError(f"Cannot write {target}: {exc.strerror or exc}.",
                          "Check that the disk has space and the directory is writable, or choose another "
                          "path; the previous file, if any, was left unchanged.") from exc
    except Exception as exc:
        target = temps[-1][1] if temps else jobs[0][0]
        raise OutputError(f"Cannot write {target}: serializing the data failed ({type(exc).__name__}: {exc}).",
                          "Nothing was written and the previous file, if any, was left unchanged; check the "
                          "frame's values (every column must be text, numbers or dates).") from exc
    finally:
        for tmp, _ in temps:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
    return [t for t, _ in jobs]


def _temp_name(target: Path) -> re.Pattern:
    """The names :func:`_atomic_many` gives ``target``'s temporary files (``tempfile.mkstemp``'s 8 characters)."""
    return re.compile(r"\." + re.escape(target.name) + r"\.[a-z0-9_]{8}\.tmp")


def clean_stale_temps(targets: Sequence[str | os.PathLike], *, older_than: float = STALE_TEMP_SECONDS,
                      note: Callable[[str], None] | None = None) -> list[Path]:
    """Remove the temporary files of ``targets`` that a killed run left behind; returns what was removed.

    Only files named as ga4kit names them, beside their target, and not modified for ``older_than``
    seconds: a live run's temporary file is younger (its writer refreshes it), and a merge removes them
    while it holds the destination's lock, so no other ga4kit merge is writing them.
    """
    removed = []
    now = time.time()
    for target in dict.fromkeys(Path(t) for t in targets):
        parent = target.parent if str(target.parent) else Path(".")
        pattern = _temp_name(target)
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            if not pattern.fullmatch(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False) or now - entry.stat().st_mtime < older_than:
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
            if note is not None:
                note(f"Removed {entry.path}: a temporary file an interrupted run left behind.")
    return removed


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically (e.g. an HTML report); OutputError when the path cannot be written."""
    path = Path(path)
    _check_target(path)
    clean_stale_temps([path])
    data = text.encode("utf-8")
    _atomic_many([(path, lambda tmp: tmp.write_bytes(data))])
    return path


# ----------------------------------------------------------------------------------------- reading

def read_frames(path: str | os.PathLike, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read what :func:`write_frames` wrote: {name: frame}. Missing files give no entry.

    Text comes back as the stored text: CSV without the formula quote, XLSX formulas of files written by
    other tools as their text ("=..."), not as a computed value. CSV and JSON come back with text as ``str``
    and numbers parsed; dates stay ISO text (callers that need types coerce, as merge mode does).
    ``names`` locates the per-frame CSV/NDJSON/Parquet siblings.
    """
    path = Path(path)
    fmt = _format(path)
    names = list(names) if names else [DEFAULT_NAME]
    try:
        if fmt == "xlsx":
            if not path.exists():
                return {}
            by_sheet = {v: k for k, v in _sheet_names(names).items()}
            return {by_sheet.get(s, s): df for s, df in _read_xlsx(path).items()}
        if fmt == "json":
            if not path.exists():
                return {}
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, list):
                return {names[0]: pd.DataFrame.from_records(data)}
            return {k: pd.DataFrame.from_records(v) for k, v in data.items()}
        out = {}
        for name, target in _targets(path, fmt, names).items():
            if not target.exists():
                continue
            if fmt == "csv":
                out[name] = _unescape_formulas(pd.read_csv(target, dtype=str, keep_default_na=False,
                                                           na_values=[""]))
            elif fmt == "ndjson":
                with open(target, encoding="utf-8") as fh:
                    out[name] = pd.DataFrame.from_records([json.loads(line) for line in fh if line.strip()])
            else:
                _require_pyarrow()
                out[name] = pd.read_parquet(target, engine="pyarrow")
        return out
    except OutputError:
        raise
    except Exception as exc:
        raise OutputError(f"Cannot merge into {path}: the existing file could not be read ({exc}).",
                          "Move it aside or write to a new file; ga4kit will not overwrite a file it cannot "
                          "read in merge mode.") from exc


def _read_xlsx(path: Path, header_only: bool = False) -> dict[str, pd.DataFrame]:
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


def read_columns(path: str | os.PathLike, names: Sequence[str] | None = None) -> dict[str, list[str]]:
    """The columns of each table an existing output holds ({name: columns}; missing files give no entry),
    read cheaply (a header, a schema) where the format allows."""
    path = Path(path)
    fmt = _format(path)
    names = list(names) if names else [DEFAULT_NAME]
    try:
        if fmt == "xlsx":
            if not path.exists():
                return {}
            by_sheet = {v: k for k, v in _sheet_names(names).items()}
            return {by_sheet.get(s, s): list(df.columns) for s, df in _read_xlsx(path, header_only=True).items()}
        if fmt == "json":
            return {k: list(v.columns) for k, v in read_frames(path, names).items()}
        out = {}
        for name, target in _targets(path, fmt, names).items():
            if not target.exists():
                continue
            with open(target, "rb") as fh:
                first = fh.readline().decode("utf-8")
            if fmt == "csv":
                import csv

                out[name] = next(csv.reader([first]), [])
            elif fmt == "ndjson":
                out[name] = list(json.loads(first)) if first.strip() else []
            else:
                _require_pyarrow()
                import pyarrow.parquet as pq

                out[name] = list(pq.read_schema(target).names)
        return out
    except OutputError:
        raise
    except Exception as exc:
        raise OutputError(f"Cannot merge into {path}: the existing file could not be read ({exc}).",
                          "Move it aside or write to a new file; ga4kit will not overwrite a file it cannot "
                          "read in merge mode.") from exc


# ----------------------------------------------------------------------------------------- merging

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


Window = tuple[Any, Any]
WindowSpec = Window | Mapping[str, Window] | None


def _window(window: Window) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, end = window
    return pd.Timestamp(start).tz_localize(None), pd.Timestamp(end).tz_localize(None)


def _naive(col: pd.Series) -> pd.Series:
    out = pd.to_datetime(col)
    return out.dt.tz_localize(None) if getattr(out.dt, "tz", None) is not None else out


def _stale_rows(old: pd.DataFrame, new: pd.DataFrame, window: WindowSpec) -> np.ndarray:
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
        old = old[~_stale_rows(old, new, replace_window)]
        frames = [f for f in (old, new) if len(f)] or [new]
        merged = pd.concat(frames, ignore_index=True).reindex(columns=list(new.columns))
        merged = merged.drop_duplicates(subset=keys, keep="last")
    # A stable order makes re-runs byte-identical whatever order rows arrived in.
    return merged.sort_values(keys, kind="stable", na_position="first").reset_index(drop=True)


# ----------------------------------------------------------------------------------------- public

def write_frames(path: str | os.PathLike, frames: pd.DataFrame | Frames, *,
                 merge_on: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
                 replace_window: WindowSpec = None,
                 frame_windows: Mapping[str, WindowSpec] | None = None,
                 note: Callable[[str], None] | None = None) -> list[Path]:
    """Write ``frames`` ({name: DataFrame}, or one DataFrame) to ``path``; returns the files written.

    ``merge_on``: key columns (a list for every frame, or {name: keys}); rows of an existing file with the
    same key are replaced and the rest kept. ``replace_window``: in merge mode, first drop existing rows of
    the re-pulled properties whose period overlaps the window: ``(start, end)`` for the properties in the
    new frame, or ``{property: (start, end)}``; ``frame_windows`` gives other windows for named frames
    (e.g. a previous-period table). A merge holds the destination's lock while it reads, merges and
    writes; ``note(text)`` is told when it waits for another run or removes a stale temporary file.
    Raises :class:`~ga4kit.errors.OutputError` for an unknown extension, an unwritable path, a missing
    pyarrow for Parquet, columns that cannot be merged, or a failed write; the previous file is then left
    unchanged.
    """
    path = Path(path)
    fmt = _format(path)
    if isinstance(frames, pd.DataFrame):
        frames = {DEFAULT_NAME: frames}
    frames = dict(frames)
    if not frames:
        raise OutputError(f"Cannot write {path}: there is nothing to write (no frames).",
                          "Pass at least one DataFrame.")
    if fmt == "parquet":
        _require_pyarrow()
    if fmt == "xlsx":
        _check_excel_size(path, frames)
    targets = _targets(path, fmt, list(frames))
    for t in dict.fromkeys(targets.values()):
        _check_target(t)
    merging = merge_on is not None or replace_window is not None or frame_windows is not None
    if merging and merge_on is None:
        raise OutputError("replace_window needs merge_on.",
                          "Pass merge_on with the key columns, e.g. property, period, segments, event.")

    lock = contextlib.nullcontext()
    if merging:
        from ga4kit.locking import FileLock, destination_lock_path

        lock = FileLock(destination_lock_path(path), on_wait=note, what=str(path))
    with lock:
        clean_stale_temps(list(targets.values()), note=note)
        if merging:
            frames = _merged(path, fmt, frames, merge_on, replace_window, frame_windows or {})
        if fmt == "xlsx":
            if merging:
                _check_excel_size(path, frames)
            jobs = [(path, lambda tmp: _write_xlsx(tmp, frames))]
        elif fmt == "json":
            payload = next(iter(frames.values())) if len(frames) == 1 else frames
            jobs = [(path, lambda tmp: _write_json(tmp, payload))]
        else:
            writer = {"csv": _write_csv, "ndjson": _write_ndjson, "parquet": _write_parquet}[fmt]
            jobs = [(targets[name], (lambda f: lambda tmp: writer(tmp, f))(frame))
                    for name, frame in frames.items()]
        return _atomic_many(jobs)


def _merged(path: Path, fmt: str, frames: dict, merge_on, replace_window, frame_windows) -> dict:
    existing = read_frames(path, list(frames))
    merged = {}
    for name, frame in frames.items():
        keys = merge_on.get(name, []) if isinstance(merge_on, Mapping) else merge_on
        window = frame_windows.get(name, replace_window)
        what = f"{path}" if len(frames) == 1 else f"the {name} table of {path}"
        merged[name] = merge_frame(existing.get(name), frame, list(keys), replace_window=window, what=what)
    # Frames already in the file but not in this run stay (e.g. a sheet from another job).
    for name, frame in existing.items():
        if name not in merged and fmt in ("xlsx", "json"):
            merged[name] = frame
    return merged

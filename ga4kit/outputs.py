"""Writing result frames to CSV, XLSX, JSON or Parquet: atomic, repeatable, and mergeable into a file.

The format follows the file extension (.csv, .xlsx, .json, .parquet/.pq). Every write goes to a temporary
file in the target's directory and is moved into place with ``os.replace``, so a failure leaves the old
file untouched and never a half-written one. The same frames always give byte-identical CSV and JSON
(fixed column order, ISO dates, ``repr`` floats, "\\n" line ends), so scheduled re-runs do not churn files.

Several frames: XLSX gets one sheet per frame, JSON one object ``{name: [records]}``; CSV and Parquet hold
one table per file, so each frame goes to ``<stem>.<name><ext>`` beside the path (all files are prepared
first, then moved into place together). A single frame is written to ``path`` itself (JSON: a list).

Merge mode (scheduled pulls): ``merge_on`` names the key columns; existing rows with the same key are
replaced, never duplicated, and ``replace_window=(start, end)`` first drops the existing rows of the
re-pulled properties whose ``period_start`` falls in the window, so rows GA4 has since revised or removed
do not linger.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.errors import OutputError

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
SINGLE_TABLE = {"csv", "parquet"}
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


def frame_to_csv(frame: pd.DataFrame) -> str:
    """CSV text: header, ISO dates, empty cells for missing values, "\\n" line ends. Deterministic."""
    return _textual(frame).to_csv(index=False, lineterminator="\n")


def _records_text(frame: pd.DataFrame) -> str:
    """A compact JSON array of records.

    pandas' C encoder does the work (a Python loop took ~40 s for a million rows, and pandas' own
    one-record-per-line mode ~4 s more); floats keep 15 significant digits, missing values are null,
    dates are ISO text (converted beforehand).
    """
    text = _textual(frame)
    text.columns = [str(c) for c in text.columns]
    for c in text.columns:
        if pd.api.types.is_float_dtype(text[c].dtype):
            text[c] = text[c].mask(np.isinf(text[c].to_numpy(dtype="float64", na_value=np.nan)))
    if len(text) == 0:
        return "[]"
    out = text.to_json(orient="records", force_ascii=False, double_precision=15, default_handler=str)
    # The encoder escapes "/" as "\\/"; every "/" it writes is escaped that way, so undoing it is safe.
    return out.replace("\\/", "/")


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


def _excel_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c].dtype) and getattr(out[c].dt, "tz", None) is not None:
            out[c] = out[c].dt.tz_localize(None)  # Excel has no time zones
    return out


EXCEL_MAX_ROWS = 1_048_576  # per sheet, header included


def _check_excel_size(path: Path, frames: Frames) -> None:
    for name, frame in frames.items():
        if len(frame) + 1 > EXCEL_MAX_ROWS:
            raise OutputError(
                f"Cannot write {path}: frame {name!r} has {len(frame):,} rows, more than an Excel sheet holds "
                f"({EXCEL_MAX_ROWS - 1:,} plus the header).",
                "Write .csv or .parquet instead, or reduce the rows (fewer segments, a coarser grain, "
                "fewer properties per file).")


def _write_xlsx(tmp: Path, frames: Frames) -> None:
    from openpyxl.utils import get_column_letter

    sheets = _sheet_names(list(frames))
    with pd.ExcelWriter(tmp, engine="openpyxl", datetime_format="YYYY-MM-DD", date_format="YYYY-MM-DD") as xw:
        for name, frame in frames.items():
            _excel_ready(frame).to_excel(xw, sheet_name=sheets[name], index=False)
            ws = xw.sheets[sheets[name]]
            ws.freeze_panes = "A2"  # keep the header visible when scrolling
            for i, col in enumerate(frame.columns, start=1):
                ws.column_dimensions[get_column_letter(i)].width = min(max(len(str(col)) + 2, 10), 40)


def _atomic_many(jobs: list[tuple[Path, Callable[[Path], None]]]) -> list[Path]:
    """Write every job to a temp file beside its target, then move them all into place.

    Nothing is replaced until every file was written; on any failure the temp files are removed and
    the existing files stay as they were.
    """
    temps: list[tuple[Path, Path]] = []
    try:
        for target, write in jobs:
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(fd)
            tmp = Path(name)
            temps.append((tmp, target))
            write(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            if target.exists():
                # Keep the permission bits of the file being replaced (mkstemp creates 0600).
                os.chmod(tmp, target.stat().st_mode & 0o777)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
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


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically (e.g. an HTML report); OutputError when the path cannot be written."""
    path = Path(path)
    _check_target(path)
    data = text.encode("utf-8")
    _atomic_many([(path, lambda tmp: tmp.write_bytes(data))])
    return path


# ----------------------------------------------------------------------------------------- reading

def read_frames(path: str | os.PathLike, names: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Read what :func:`write_frames` wrote: {name: frame}. Missing files give no entry.

    CSV and JSON come back with text as ``str`` and numbers parsed; dates stay ISO text (callers that
    need types coerce, as merge mode does). ``names`` locates the per-frame CSV/Parquet siblings.
    """
    path = Path(path)
    fmt = _format(path)
    names = list(names) if names else [DEFAULT_NAME]
    try:
        if fmt == "xlsx":
            if not path.exists():
                return {}
            sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
            wanted = _sheet_names(names)
            by_sheet = {v: k for k, v in wanted.items()}
            return {by_sheet.get(s, s): df for s, df in sheets.items()}
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
                out[name] = pd.read_csv(target, dtype=str, keep_default_na=False, na_values=[""])
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


def _window(replace_window) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    if replace_window is None:
        return None
    start, end = replace_window
    return pd.Timestamp(start).tz_localize(None), pd.Timestamp(end).tz_localize(None)


def merge_frame(existing: pd.DataFrame | None, new: pd.DataFrame, keys: Sequence[str], *,
                replace_window=None) -> pd.DataFrame:
    """``new`` merged into ``existing``: same key → new row; stale rows in the window dropped; sorted by key."""
    keys = [k for k in keys if k in new.columns]
    if not keys:
        raise OutputError("Cannot merge: none of the merge_on columns is in the frame "
                          f"(it has {', '.join(map(str, new.columns))}).",
                          "Pass merge_on with the columns that identify a row, e.g. property, period, the "
                          "segment columns and event.")
    if existing is None or existing.empty:
        merged = new.copy()
    else:
        missing = [k for k in keys if k not in existing.columns]
        if missing:
            raise OutputError(f"Cannot merge: the existing file lacks key column(s) {', '.join(missing)}.",
                              "It was written with different columns; write to a new file or move it aside.")
        old = _coerce_like(existing, new)
        win = _window(replace_window)
        if win is not None and "period_start" in old.columns:
            ps = pd.to_datetime(old["period_start"])
            if getattr(ps.dt, "tz", None) is not None:
                ps = ps.dt.tz_localize(None)
            stale = (ps >= win[0]) & (ps <= win[1])
            # Only the properties being re-pulled: a window for property A must not erase property B.
            if "property" in old.columns and "property" in new.columns:
                stale &= old["property"].astype(str).isin(new["property"].astype(str).unique())
            old = old[~stale.to_numpy()]
        cols = list(new.columns) + [c for c in old.columns if c not in new.columns]
        merged = pd.concat([old, new], ignore_index=True)[cols]
        merged = merged.drop_duplicates(subset=keys, keep="last")
    # A stable order makes re-runs byte-identical whatever order rows arrived in.
    return merged.sort_values(keys, kind="stable", na_position="first").reset_index(drop=True)


# ----------------------------------------------------------------------------------------- public

def write_frames(path: str | os.PathLike, frames: pd.DataFrame | Frames, *,
                 merge_on: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
                 replace_window: tuple[Any, Any] | None = None) -> list[Path]:
    """Write ``frames`` ({name: DataFrame}, or one DataFrame) to ``path``; returns the files written.

    ``merge_on``: key columns (a list for every frame, or {name: keys}); rows of an existing file with the
    same key are replaced and the rest kept. ``replace_window=(start, end)``: in merge mode, first drop
    existing rows (of the properties in the new frame) whose period_start is within [start, end].
    Raises :class:`~ga4kit.errors.OutputError` for an unknown extension, an unwritable path, a missing
    pyarrow for Parquet, or a failed write; the previous file is then left unchanged.
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

    if merge_on is not None or replace_window is not None:
        if merge_on is None:
            raise OutputError("replace_window needs merge_on.",
                              "Pass merge_on with the key columns, e.g. property, period, segments, event.")
        existing = read_frames(path, list(frames))
        merged = {}
        for name, frame in frames.items():
            keys = merge_on.get(name, []) if isinstance(merge_on, Mapping) else merge_on
            merged[name] = merge_frame(existing.get(name), frame, list(keys), replace_window=replace_window)
        # Frames already in the file but not in this run stay (e.g. a sheet from another job).
        for name, frame in existing.items():
            if name not in merged and fmt in ("xlsx", "json"):
                merged[name] = frame
        frames = merged

    if fmt == "xlsx":
        jobs = [(path, lambda tmp: _write_xlsx(tmp, frames))]
    elif fmt == "json":
        payload = next(iter(frames.values())) if len(frames) == 1 else frames
        jobs = [(path, lambda tmp: _write_json(tmp, payload))]
    else:
        writer = _write_csv if fmt == "csv" else _write_parquet
        jobs = [(targets[name], (lambda f: lambda tmp: writer(tmp, f))(frame)) for name, frame in frames.items()]
    return _atomic_many(jobs)

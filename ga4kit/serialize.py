"""Frames as text: CSV, JSON and NDJSON, deterministic, with ISO dates and text that never runs as a formula.

What the terminal renderers, the CLI's ``--json`` and the file destinations share. The same frame always
gives the same bytes (fixed column order, ISO dates, 15 significant digits for floats, "\\n" line ends), so
scheduled re-runs do not churn files.

Text is data, never a formula. Following OWASP's CSV-injection guidance, a CSV text cell starting with
= + - @, a tab or a carriage return is written with a leading single quote (``'=HYPERLINK(...)``); so that
reading reverses it exactly, a text cell made of quotes followed by one of those gets one more quote.
Numbers (numeric columns) are never changed. :func:`unescape_formulas` undoes it for CSV read back, so merge
keys compare the stored text. JSON and NDJSON hold text as it is: they are data formats, not spreadsheets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime

import numpy as np
import pandas as pd

Frames = Mapping[str, pd.DataFrame]

# A spreadsheet runs a cell starting with one of these as a formula (OWASP CSV injection).
FORMULA_START = re.compile(r"'*[=+\-@\t\r]")
_QUOTED_FORMULA = re.compile(r"'+[=+\-@\t\r]")


def looks_like_formula(value: str) -> bool:
    """Whether a spreadsheet could take ``value`` for a formula (also after a user strips a quote)."""
    return FORMULA_START.match(value) is not None


def _iso(col: pd.Series) -> pd.Series:
    """Datetimes as ISO text: a date when every value is at midnight, else date and time."""
    values = col
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    non_null = values.dropna()
    midnight = bool((non_null == non_null.dt.normalize()).all()) if len(non_null) else True
    text = values.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S")
    return text.astype(object).where(values.notna(), None)


def textual(frame: pd.DataFrame) -> pd.DataFrame:
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


def _is_text(col: pd.Series) -> bool:
    return (col.dtype == object or pd.api.types.is_string_dtype(col.dtype)
            or isinstance(col.dtype, pd.CategoricalDtype))


def _text_mask(col: pd.Series, pattern: re.Pattern) -> np.ndarray:
    """Which cells are text matching ``pattern`` at their start."""
    try:
        return col.str.match(pattern.pattern, na=False).to_numpy(dtype=bool)
    except AttributeError:  # no text at all in an object column (e.g. only None)
        return np.zeros(len(col), dtype=bool)


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, with a leading single quote (see module doc)."""
    out = frame
    for c in frame.columns:
        col = frame[c]
        if not _is_text(col):
            continue
        mask = _text_mask(col, FORMULA_START)
        if mask.any():
            if out is frame:
                out = frame.copy()
            fixed = col.astype(object).copy()
            fixed[mask] = ["'" + v for v in col[mask]]
            out[c] = fixed
    return out


def unescape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`escape_formulas` in place (CSV read back); returns ``frame``."""
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
    return escape_formulas(textual(frame)).to_csv(index=False, lineterminator="\n")


def _json_ready(frame: pd.DataFrame) -> pd.DataFrame:
    text = textual(frame)
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

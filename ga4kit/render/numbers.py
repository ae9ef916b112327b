"""Numbers for people and for files, in one place.

``format_value`` is the one cell formatter of the terminal table, Markdown and the HTML report: counts
with thousands separators ("1,174"), ratios as percentages with one decimal ("41.5%", changes signed
"+8.2%"), money with the currency's minor unit ("11,635.39"), missing values as "–".

``round_frame`` tidies the float noise of machine output (CSV, JSON, NDJSON): money to the currency's
minor unit (``ga4kit.money``), ratios to ``RATE_DIGITS`` decimals, whole-number floats (counts that are
float only because of a missing value) left as they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MISSING = "–"
RATE_DIGITS = 6  # 0.416667: a ten-thousandth of a percent, far below what GA4's counts can tell apart

# Columns that count users, events or sessions (float in a frame only when a value is missing).
COUNT_COLUMNS = frozenset({"users", "events", "event_count", "sessions", "key_events", "drop_off", "all_users",
                           "users_prev", "change_abs", "users_exact", "macro_users"})
MONEY_COLUMNS = frozenset({"value"})
SIGNED_RATES = frozenset({"change_pct"})


def is_rate(column: Any) -> bool:
    """Columns holding a ratio (shown as a percentage)."""
    c = str(column)
    return (c.startswith("rate") or c.endswith("_rate") or c in SIGNED_RATES
            or c in ("macro_per_step_user", "macro_share_exact"))


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover (pandas is a dependency)
        pass
    return isinstance(value, float) and math.isnan(value)


def fmt_count(value: Any) -> str:
    if _missing(value):
        return MISSING
    try:
        return f"{int(round(float(value))):,}"
    except (TypeError, ValueError):
        return str(value)


def fmt_rate(value: Any, *, signed: bool = False) -> str:
    if _missing(value):
        return MISSING
    v = float(value)
    if math.isnan(v):
        return MISSING
    return f"{v:+.1%}" if signed else f"{v:.1%}"


def fmt_money(value: Any, currency: str | None = None) -> str:
    from ga4kit.money import minor_units

    if _missing(value):
        return MISSING
    return f"{float(value):,.{minor_units(currency)}f}"


def fmt_number(value: Any) -> str:
    """Any other number: whole numbers with separators, else up to two decimals."""
    if _missing(value):
        return MISSING
    v = float(value)
    if v.is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def format_value(column: Any, value: Any, currency: str | None = None) -> str:
    """One cell for people: the format follows the column (see the module docstring)."""
    if _missing(value):
        return MISSING
    c = str(column)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if is_rate(c):
        return fmt_rate(value, signed=c in SIGNED_RATES)
    if c in MONEY_COLUMNS:
        return fmt_money(value, currency)
    if hasattr(value, "strftime"):
        text = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return text[:10] if text.endswith("T00:00:00") or len(text) == 10 else text
    if c in COUNT_COLUMNS:
        return fmt_count(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return f"{int(value):,}"
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "f"):
        return fmt_number(value)
    return str(value)


def round_frame(frame, currencies: Mapping[str, str | None] | str | None = None):
    """A copy of ``frame`` with money rounded to its currency's minor unit and ratios to RATE_DIGITS.

    ``currencies``: {property id: ISO 4217 code} (rows matched on the ``property`` column), one code for
    every row, or None (2 decimals).
    """
    import pandas as pd

    from ga4kit.money import round_money_column

    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_float_dtype(out[c].dtype):
            continue
        if c in MONEY_COLUMNS:
            if isinstance(currencies, Mapping) and "property" in out:
                codes = out["property"].astype(str).map(lambda p: currencies.get(p))
                out[c] = round_money_column(out[c], codes)
            else:
                out[c] = round_money_column(out[c], currencies if isinstance(currencies, str) else None)
        elif is_rate(c):
            out[c] = out[c].round(RATE_DIGITS)
    return out

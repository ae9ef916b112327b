"""Money values rounded to their currency's minor unit (ISO 4217): 2 decimals for EUR, 0 for JPY, 3 for KWD.

GA4 answers ``eventValue`` and revenue as float text ("11635.389999999994"); a report shows the amount a
person would write. Rounding is half-to-even on the decimal value (what ``round`` does on the float is
close enough for display and files; no arithmetic is done on rounded values).
"""

from __future__ import annotations

from typing import Any

# Currencies whose minor unit is not 2 decimals (ISO 4217 list, 2024).
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                     "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
DEFAULT_MINOR_UNITS = 2


def minor_units(currency: str | None) -> int:
    """Decimals of ``currency`` (2 when unknown or None)."""
    if not currency:
        return DEFAULT_MINOR_UNITS
    return _MINOR_UNITS.get(str(currency).strip().upper(), DEFAULT_MINOR_UNITS)


def round_money(value: float, currency: str | None) -> float:
    return round(float(value), minor_units(currency))


def round_money_column(values: Any, currencies: Any = None) -> Any:
    """A pandas Series of amounts rounded per row to the minor unit of ``currencies`` (a Series aligned
    with ``values``, a single code, or None for 2 decimals)."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(values, errors="coerce").astype("float64")
    if currencies is None or isinstance(currencies, str):
        return values.round(minor_units(currencies))
    cur = pd.Series(currencies, index=values.index).astype("string").fillna("").str.upper()
    out = values.copy()
    for code in cur.unique():
        mask = (cur == code).to_numpy()
        out[mask] = np.round(values[mask].to_numpy(), minor_units(code or None))
    return out

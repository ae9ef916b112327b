"""Reports in another currency: a request's ``currency_code`` converts the report's currency metrics.

GA4 converts amounts with the day's exchange rates; the emulator uses one fixed table (``RATES``, units
of each currency per US dollar, rounded reference values, not market data) so reports are reproducible.
A currency code that is not ISO 4217 is refused (INVALID_ARGUMENT); a valid code the table lacks is
UNIMPLEMENTED rather than answered with unconverted amounts under a new label.
"""

from __future__ import annotations

from .errors import invalid, unimplemented
from .validation import CURRENCIES

# Units per 1 USD. Fixed on purpose: tests compute the same conversion by hand.
RATES: dict[str, float] = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CHF": 0.88, "JPY": 150.0, "CAD": 1.36, "AUD": 1.52, "NZD": 1.65,
    "SEK": 10.5, "NOK": 10.7, "DKK": 6.87, "PLN": 3.95, "CZK": 23.0, "HUF": 360.0, "INR": 83.0, "CNY": 7.2,
    "HKD": 7.8, "SGD": 1.35, "BRL": 5.0, "MXN": 17.0, "ZAR": 18.5, "TRY": 32.0, "AED": 3.6725, "KRW": 1350.0,
}


def check_code(code: str) -> None:
    """A request's currency code: ISO 4217 and one the emulator can convert to."""
    if code not in CURRENCIES:
        raise invalid(f"currency_code '{code}' is not a valid ISO 4217 currency code, such as USD, EUR or JPY.")
    if code not in RATES:
        raise unimplemented(f"The emulator cannot convert amounts to {code}; it converts between "
                            f"{', '.join(sorted(RATES))} only.")


def factor(from_code: str, to_code: str) -> float:
    """Multiply an amount in ``from_code`` by this to get it in ``to_code``."""
    if not to_code or to_code == from_code:
        return 1.0
    check_code(to_code)
    if from_code not in RATES:
        raise unimplemented(f"The emulator cannot convert amounts from the property's currency {from_code}; "
                            f"it converts between {', '.join(sorted(RATES))} only.")
    return RATES[to_code] / RATES[from_code]


def rescale_metric_filter(expr, currency_metrics: set[str], by: float) -> None:
    """Divide the thresholds of filters on ``currency_metrics`` by ``by`` (in place, raw pb), so a metric
    filter written in the requested currency compares against amounts in the property's currency."""
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        for e in getattr(expr, which).expressions:
            rescale_metric_filter(e, currency_metrics, by)
    elif which == "not_expression":
        rescale_metric_filter(expr.not_expression, currency_metrics, by)
    elif which == "filter" and expr.filter.field_name in currency_metrics:
        flt = expr.filter
        kind = flt.WhichOneof("one_filter")
        if kind == "numeric_filter":
            _divide(flt.numeric_filter.value, by)
        elif kind == "between_filter":
            _divide(flt.between_filter.from_value, by)
            _divide(flt.between_filter.to_value, by)


def _divide(num, by: float) -> None:
    which = num.WhichOneof("one_value")
    value = float(getattr(num, which)) if which else 0.0
    num.double_value = value / by

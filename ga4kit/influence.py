"""Micro-goal influence on a macro goal: rates, lift and their 95% intervals from user counts. Pure: numbers
and DataFrames in, DataFrames out, no I/O (the counts come from :mod:`ga4kit.reporting.influence`, the Data
API's funnels, or :mod:`ga4kit.export`, the BigQuery export).

For one micro goal, one macro goal, a segment and a period, the counts are

- ``all_users`` (N): users in the period and segment;
- ``micro_users`` (M): users who did the micro goal;
- ``macro_users`` (K): users who did the macro goal (in any order);
- ``in_order_users`` (B): users who did the micro goal and the macro goal *afterwards* (within the
  window when one is set): the closed funnel [micro, macro];
- ``other_macro_users``: users who did the macro goal but not the micro goal. Exact from the export; from
  the Data API it is estimated as K - B (see :func:`influence_table`).

and the table says

- ``rate_after_micro`` = B / M: the share of micro users who reached the macro goal afterwards;
- ``rate_without_micro`` = other_macro_users / (N - M): the macro rate of users who did not do the micro goal;
- ``lift`` = rate_after_micro / rate_without_micro (the relative rate: 2 = twice as likely), with a 95%
  interval by the log method (Katz); ``rate_difference`` = the two rates' difference with Newcombe's
  hybrid score interval (built from the two Wilson intervals);
- ``too_few_users``: either group has fewer than ``min_users`` users; its intervals are wide and its lift
  is not worth ranking.

Why these intervals: Wilson's score interval keeps its 95% coverage for small groups and rates near 0 or 1
(conversion rates are small), where the textbook normal interval collapses to zero width; Katz's log
interval is the standard one for a ratio of two independent proportions and is asymmetric as a ratio's
uncertainty is; Newcombe's method gives the difference an interval consistent with the two Wilson
intervals. With no converter in a group (a zero cell), Katz's variance is undefined: 0.5 is then added to
each count (Haldane-Anscombe) for the interval only.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: two-sided 95%
MIN_USERS = 30  # default "too few users" threshold, for each of the two groups

COUNT_COLUMNS = ("all_users", "micro_users", "macro_users", "in_order_users", "other_users", "other_macro_users")
RESULT_COLUMNS = ("rate_after_micro", "rate_after_micro_low", "rate_after_micro_high", "rate_without_micro",
                  "rate_without_micro_low", "rate_without_micro_high", "lift", "lift_low", "lift_high",
                  "rate_difference", "rate_difference_low", "rate_difference_high", "too_few_users", "estimated")


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for k successes out of n (NaN, NaN when n is 0)."""
    if not n or n <= 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio_interval(k1: float, n1: float, k0: float, n0: float, z: float = Z95) -> tuple[float, float, float]:
    """(k1/n1) / (k0/n0) and its log-method (Katz) interval; NaN where a rate is undefined or the
    reference rate is 0 (the interval is still given from the corrected counts)."""
    if not n1 or not n0 or n1 <= 0 or n0 <= 0:
        return math.nan, math.nan, math.nan
    p1, p0 = k1 / n1, k0 / n0
    ratio = p1 / p0 if p0 > 0 else math.nan
    a, b, c, d = k1, n1, k0, n0
    if a == 0 or c == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    log_ratio = math.log((a / b) / (c / d))
    se = math.sqrt(max(1 / a - 1 / b + 1 / c - 1 / d, 0.0))
    return ratio, math.exp(log_ratio - z * se), math.exp(log_ratio + z * se)


def difference_interval(k1: float, n1: float, k0: float, n0: float, z: float = Z95) -> tuple[float, float, float]:
    """k1/n1 - k0/n0 and Newcombe's hybrid score interval (his method 10)."""
    if not n1 or not n0 or n1 <= 0 or n0 <= 0:
        return math.nan, math.nan, math.nan
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1, z)
    l0, u0 = wilson(k0, n0, z)
    d = p1 - p0
    return d, d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def influence_table(counts, *, min_users: int = MIN_USERS, z: float = Z95):
    """The counts frame (see the module docstring; any key columns such as property, period, segments,
    micro, macro are kept in front) with ``other_users``, the rates, lift, difference and their intervals.

    Without an ``other_macro_users`` column it is estimated as ``macro_users - in_order_users`` and
    ``estimated`` is True: a user who did the macro goal only *before* the micro goal is then counted as a
    macro user without the micro goal, so ``rate_without_micro`` can be too high and the lift too low (a
    conservative error). Counts that are missing (NA) give NA results.
    """
    import numpy as np
    import pandas as pd

    out = counts.copy()
    estimated = "other_macro_users" not in out
    if estimated:
        out["other_macro_users"] = (out["macro_users"] - out["in_order_users"]).clip(lower=0)
    out["other_users"] = out["all_users"] - out["micro_users"]
    n1 = out["micro_users"].to_numpy(dtype="float64", na_value=np.nan)
    k1 = out["in_order_users"].to_numpy(dtype="float64", na_value=np.nan)
    n0 = out["other_users"].to_numpy(dtype="float64", na_value=np.nan)
    k0 = out["other_macro_users"].to_numpy(dtype="float64", na_value=np.nan)
    # A group can only convert as many users as it has (GA4's counts come from different reports).
    k0 = np.minimum(k0, np.where(np.isnan(n0), k0, np.maximum(n0, 0)))
    rows = [_one(a, b, c, d, z) for a, b, c, d in zip(k1, n1, k0, n0)]
    names = RESULT_COLUMNS[:12]
    values = np.array(rows, dtype="float64").reshape(len(rows), len(names))
    for i, name in enumerate(names):
        out[name] = values[:, i]
    few = (np.nan_to_num(n1, nan=0) < min_users) | (np.nan_to_num(n0, nan=0) < min_users)
    out["too_few_users"] = few
    out["estimated"] = estimated
    for col in COUNT_COLUMNS:
        if col in out and not out[col].isna().any():
            out[col] = out[col].astype("int64")
        elif col in out:
            out[col] = out[col].astype("Int64")
    return out.reset_index(drop=True) if isinstance(out, pd.DataFrame) else out


def _one(k1: float, n1: float, k0: float, n0: float, z: float) -> list[float]:
    nan3 = [math.nan] * 3
    if any(math.isnan(x) for x in (k1, n1, k0, n0)):
        return nan3 * 4
    p1 = [k1 / n1, *wilson(k1, n1, z)] if n1 > 0 else nan3
    p0 = [k0 / n0, *wilson(k0, n0, z)] if n0 > 0 else nan3
    return p1 + p0 + list(ratio_interval(k1, n1, k0, n0, z)) + list(difference_interval(k1, n1, k0, n0, z))


def ranked(table, keys: list[str] | tuple[str, ...] = ()):
    """Rows ordered for reading: per ``keys`` (e.g. property, period, segment, macro), the micro goals by
    lift, largest first (a lift without bound, where nobody reached the macro goal without the micro goal,
    first of all); rows with too few users after the others, undefined lifts last."""
    import numpy as np

    t = table.copy()
    t["_few"] = t["too_few_users"].astype(bool)
    unbounded = t["lift"].isna() & (t["rate_after_micro"] > 0) & (t["rate_without_micro"] == 0)
    t["_lift"] = -t["lift"].mask(unbounded, np.inf).fillna(-np.inf)
    order = [*keys, "_few", "_lift", "micro"]
    return t.sort_values(order, kind="stable").drop(columns=["_few", "_lift"]).reset_index(drop=True)


_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_within(text: str | int | None) -> int | None:
    """A window as seconds: "7d", "24h", "30m", "90s", or a number of days ("7"). None/"" = no limit."""
    if text is None or text == "":
        return None
    if isinstance(text, int):
        return text * _UNITS["d"]
    value = str(text).strip().lower()
    unit = value[-1] if value and value[-1] in _UNITS else "d"
    number = value[:-1] if value and value[-1] in _UNITS else value
    try:
        amount = float(number)
    except ValueError:
        amount = -1.0
    seconds = int(round(amount * _UNITS[unit]))
    if seconds <= 0:
        from ga4kit.errors import Ga4kitError

        raise Ga4kitError(f"{text!r} is not a window.", "Write it as 7d, 24h, 30m or 90s (a number alone is days).")
    return seconds

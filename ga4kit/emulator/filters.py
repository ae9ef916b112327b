"""Filter expressions of the Data API (FilterExpression, and the funnel's field and parameter filters).

A leaf filter is evaluated over the few distinct values of its field (labels, or metric values of the
report's rows), and the result is spread to the events (or rows) through their codes: predicates never
run once per event. Messages are raw protobuf (``Type.pb()``), v1beta or v1alpha: the fields they use
have the same names in both.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .errors import invalid


def leaf_hits(flt, values: np.ndarray, kind: str, field: str | None = None) -> np.ndarray:
    """Evaluate one Filter (raw pb; v1beta or v1alpha, incl. funnel field/parameter filters) over an
    array of values (labels or metric values)."""
    field = field or flt.field_name
    which = flt.WhichOneof("one_filter")
    if which == "string_filter":
        sf = flt.string_filter
        if kind == "metric":
            raise invalid(f"A string filter cannot be applied to metric {field}.")
        s = pd.Series(values, dtype=object).astype(str)
        target = sf.value
        mt = sf.match_type or 1  # unspecified -> EXACT
        flags = 0 if sf.case_sensitive else re.IGNORECASE
        if mt in (5, 6):
            try:
                rx = re.compile(target, flags)
            except re.error as e:
                raise invalid(f"Invalid regular expression '{target}' in the filter on {field}: {e}.")
            test = rx.fullmatch if mt == 5 else rx.search
            return np.array([bool(test(v)) for v in s], dtype=bool)
        if not sf.case_sensitive:
            s, target = s.str.lower(), target.lower()
        if mt == 1:
            return (s == target).to_numpy()
        if mt == 2:
            return s.str.startswith(target).to_numpy()
        if mt == 3:
            return s.str.endswith(target).to_numpy()
        if mt == 4:
            return s.str.contains(target, regex=False).to_numpy()
        raise invalid(f"Unsupported string match type {mt}.")
    if which == "in_list_filter":
        lf = flt.in_list_filter
        if not lf.values:
            raise invalid(f"The in-list filter on {field} needs at least one value.")
        s = pd.Series(values, dtype=object).astype(str)
        vals = list(lf.values)
        if not lf.case_sensitive:
            s, vals = s.str.lower(), [v.lower() for v in vals]
        return s.isin(vals).to_numpy()
    if which in ("numeric_filter", "between_filter"):
        nums = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)

        def num(v):
            return float(getattr(v, v.WhichOneof("one_value"))) if v.WhichOneof("one_value") else 0.0
        with np.errstate(invalid="ignore"):
            if which == "between_filter":
                bf = flt.between_filter
                return (nums >= num(bf.from_value)) & (nums <= num(bf.to_value))
            nf = flt.numeric_filter
            v = num(nf.value)
            ops = {1: np.equal, 2: np.less, 3: np.less_equal, 4: np.greater, 5: np.greater_equal}
            if nf.operation not in ops:
                raise invalid(f"The numeric filter on {field} needs an operation.")
            return ops[nf.operation](nums, v)
    if which == "empty_filter":
        return np.array([v in ("", "(not set)") for v in values], dtype=bool)
    raise invalid(f"The filter on {field} has no condition.")


def eval_filter(expr, resolve, kind: str) -> np.ndarray:
    """Evaluate a FilterExpression (raw pb). ``resolve(field)`` -> (codes, values) and the mask is
    ``hits[codes]``: predicates run over the few distinct values, not over every event."""
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        exprs = list(getattr(expr, which).expressions)
        if not exprs:
            raise invalid(f"An {which} filter needs at least one expression.")
        masks = [eval_filter(e, resolve, kind) for e in exprs]
        return np.logical_and.reduce(masks) if which == "and_group" else np.logical_or.reduce(masks)
    if which == "not_expression":
        return ~eval_filter(expr.not_expression, resolve, kind)
    if which == "filter":
        flt = expr.filter
        if not flt.field_name:
            raise invalid("A filter needs a field_name.")
        codes, values = resolve(flt.field_name)
        return leaf_hits(flt, values, kind)[codes]
    raise invalid("A filter expression is empty.")


def filter_fields(expr) -> list[str]:
    which = expr.WhichOneof("expr")
    if which in ("and_group", "or_group"):
        return [f for e in getattr(expr, which).expressions for f in filter_fields(e)]
    if which == "not_expression":
        return filter_fields(expr.not_expression)
    if which == "filter":
        return [expr.filter.field_name]
    return []

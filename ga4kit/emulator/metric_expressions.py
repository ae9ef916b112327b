"""Metric expressions (``Metric.expression``): arithmetic over other metrics, e.g.
``cohortActiveUsers/cohortTotalUsers`` (Google's cohort snippet) or ``eventCount/totalUsers``.

Grammar: numbers, metric names, ``+ - * /``, unary minus and parentheses. A division by zero gives 0, as
GA4 shows it. The result is TYPE_FLOAT.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from .errors import invalid

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z][A-Za-z0-9_:]*)|(.))")


class Expression:
    """A parsed expression: ``names`` it reads, ``evaluate(columns) -> array``."""

    def __init__(self, text: str, is_metric: Callable[[str], bool]):
        self.text = text
        self._tokens = self._tokenize(text)
        self._pos = 0
        self.names: list[str] = []
        self._fn = self._sum()
        if self._pos != len(self._tokens):
            raise self._error()
        for n in self.names:
            if not is_metric(n):
                raise invalid(f"Metric expression '{text}' refers to {n}, which is not a valid metric.")

    def evaluate(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self._fn(columns), dtype=float)

    # ---- parsing --------------------------------------------------------------------------
    def _error(self):
        return invalid(f"Metric expression '{self.text}' is not valid: use metric names, numbers, + - * / "
                       "and parentheses.")

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise self._error()
            num, name, op = m.groups()
            if num is not None:
                out.append(("num", num))
            elif name is not None:
                out.append(("name", name))
            elif op in "+-*/()":
                out.append(("op", op))
            elif not op.isspace():
                raise self._error()
            pos = m.end()
        if not out:
            raise self._error()
        return out

    def _peek(self):
        return self._tokens[self._pos] if self._pos < len(self._tokens) else (None, None)

    def _sum(self):
        fn = self._product()
        while self._peek() in (("op", "+"), ("op", "-")):
            op = self._tokens[self._pos][1]
            self._pos += 1
            left, right = fn, self._product()
            fn = (lambda a, b: lambda c: a(c) + b(c))(left, right) if op == "+" else \
                (lambda a, b: lambda c: a(c) - b(c))(left, right)
        return fn

    def _product(self):
        fn = self._unary()
        while self._peek() in (("op", "*"), ("op", "/")):
            op = self._tokens[self._pos][1]
            self._pos += 1
            left, right = fn, self._unary()
            fn = (lambda a, b: lambda c: a(c) * b(c))(left, right) if op == "*" else \
                (lambda a, b: lambda c: _divide(a(c), b(c)))(left, right)
        return fn

    def _unary(self):
        if self._peek() == ("op", "-"):
            self._pos += 1
            inner = self._unary()
            return lambda c: -inner(c)
        return self._atom()

    def _atom(self):
        kind, value = self._peek()
        if kind is None:
            raise self._error()
        self._pos += 1
        if kind == "num":
            v = float(value)
            return lambda c: v
        if kind == "name":
            if value not in self.names:
                self.names.append(value)
            return lambda c: np.asarray(c[value], dtype=float)
        if value == "(":
            fn = self._sum()
            if self._peek() != ("op", ")"):
                raise self._error()
            self._pos += 1
            return fn
        raise self._error()


def _divide(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)

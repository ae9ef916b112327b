"""The checks an audit runs: each one a function registered with :func:`check`, in a module of
:mod:`ga4kit.audit.checks` (one module per family). A new check is one decorated function in a new (or an
existing) module there; nothing else changes.

    @check("no_bigquery_link", family="links", severity="info", title="No BigQuery export",
           reads="ListBigQueryLinks (v1alpha)", fix="Admin > Product links > BigQuery links > Link.")
    def no_bigquery_link(ctx):
        if not ctx.facts.bigquery_links():
            yield ctx.finding("info", "The property exports nothing to BigQuery ...", {"links": 0})

A check function takes a :class:`CheckContext` and returns (or yields) its findings, none when all is
well. It raises :class:`NotApplicable` when there is nothing to check; reading a fact that GA4 would not
give (``ctx.facts``) raises :class:`Unavailable` on its own, so a check never passes by accident.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

from ga4kit.audit.model import SEVERITIES, Finding


class Unavailable(Exception):
    """The check cannot run: a call was refused or failed, a method is not offered, the data cannot tell."""

    def __init__(self, reason: str, status: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class NotApplicable(Exception):
    """Nothing to check on this property (no web stream, no purchases, no goals file ...)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Check:
    id: str
    family: str
    title: str
    severity: str  # the most severe finding it can report (for the docs and the report's list)
    reads: str  # the API calls and fields it reads
    fix: str  # where in GA4's interface the fix is (the default of its findings)
    run: Callable[["CheckContext"], Iterable[Finding] | None]

    def describe(self) -> dict:
        out = asdict(self)
        out.pop("run")
        return out


_CHECKS: dict[str, Check] = {}
_LOADED = False


def check(id: str, *, family: str, title: str, severity: str, reads: str, fix: str) -> Callable:
    """Register the decorated function as the check ``id`` (ids are unique across families)."""
    if severity not in SEVERITIES:
        raise ValueError(f"check {id}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")

    def register(fn: Callable) -> Callable:
        if id in _CHECKS and _CHECKS[id].run is not fn:
            raise ValueError(f"two checks are called {id!r}")
        _CHECKS[id] = Check(id, family, title, severity, reads, fix, fn)
        return fn

    return register


def checks(only: Iterable[str] | None = None, skip: Iterable[str] | None = None) -> list[Check]:
    """Every registered check in registration order (modules of ga4kit.audit.checks in name order),
    or those in ``only``, without those in ``skip``. An unknown id is a ValueError naming the known ones."""
    _load()
    wanted, unwanted = list(only or []), set(skip or [])
    unknown = [c for c in [*wanted, *unwanted] if c not in _CHECKS and not any(k.family == c for k in _CHECKS.values())]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(_CHECKS)}")
    out = [c for c in _CHECKS.values() if not wanted or c.id in wanted or c.family in wanted]
    return [c for c in out if c.id not in unwanted and c.family not in unwanted]


def _load() -> None:
    """Import every module of ga4kit.audit.checks once: importing registers its checks."""
    global _LOADED
    if _LOADED:
        return
    package = importlib.import_module("ga4kit.audit.checks")
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _LOADED = True


class CheckContext:
    """What a check sees: the property's facts (read on first use, shared by the checks of the property)
    and a way to make findings that carry the check's id and fix."""

    def __init__(self, facts: Any, check: Check):
        self.facts = facts
        self.check = check

    @property
    def property(self) -> str:
        return self.facts.pid

    def finding(self, severity: str, message: str, evidence: dict | None = None, fix: str | None = None) -> Finding:
        if severity not in SEVERITIES:
            raise ValueError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
        return Finding(property=self.facts.pid, check=self.check.id, severity=severity, message=message,
                       evidence=dict(evidence or {}), fix=fix or self.check.fix)

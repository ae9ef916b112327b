"""What an audit produces: findings, each check's outcome per property, a property's audit and the report.

Severities, worst first: ``critical``, ``high``, ``medium``, ``low``, ``info``. ``--fail-on`` maps them
for CI: ``error`` = critical or high, ``warning`` = medium or worse (a severity name works as well: that
severity or worse). Low and info findings never fail a run unless asked by name.

A check's outcome (:class:`CheckResult`) is one of:

- ``ok``: it ran and found nothing;
- ``found``: it ran and found something (its findings);
- ``unavailable``: it could not run (permission denied, a method GA4 does not offer, quota, thresholded
  data it cannot judge absence from, the property in the trash): never counted as passed;
- ``not_applicable``: nothing to check (no web stream for enhanced measurement, no purchases for the
  ecommerce checks, no goals file for the goal checks).

Findings are plain data: ``evidence`` holds numbers and short texts (personal data masked), ``fix`` says
where in GA4's interface to change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ga4kit.errors import Ga4kitError

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
# --fail-on value -> the least severe severity that fails the run
FAIL_ON = {"error": "high", "warning": "medium", **{s: s for s in SEVERITIES}}

OK, FOUND, UNAVAILABLE, NOT_APPLICABLE = "ok", "found", "unavailable", "not_applicable"
STATUSES = (OK, FOUND, UNAVAILABLE, NOT_APPLICABLE)
# Statuses of a failed call that say "try again later": a check unavailable for one of them makes the run partial.
RETRYABLE = frozenset({"RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "ABORTED", "UNKNOWN"})


def fails(severity: str, fail_on: str | None) -> bool:
    """Whether a finding of ``severity`` fails a run with ``--fail-on fail_on`` (None: never)."""
    if not fail_on:
        return False
    return SEVERITY_RANK[severity] <= SEVERITY_RANK[FAIL_ON[fail_on]]


@dataclass(frozen=True)
class Finding:
    """One problem on one property."""

    property: str
    check: str
    severity: str
    message: str
    evidence: dict = field(default_factory=dict)  # name -> number or short text (personal data masked)
    fix: str = ""  # where in GA4's interface to change it
    property_name: str = ""

    def as_row(self) -> dict:
        """The flat row of CSV and JSON outputs (``evidence`` stays a mapping; CSV writes it as JSON)."""
        return {"property": self.property, "property_name": self.property_name, "check": self.check,
                "severity": self.severity, "message": self.message, "evidence": dict(self.evidence),
                "fix": self.fix}


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome on one property (see the module docstring for ``status``)."""

    check: str
    status: str
    findings: tuple[Finding, ...] = ()
    reason: str | None = None  # why unavailable or not applicable
    error_status: str | None = None  # the gRPC status when a failed call made it unavailable

    def as_dict(self) -> dict:
        return {"check": self.check, "status": self.status, "reason": self.reason, "error_status": self.error_status,
                "findings": len(self.findings)}


@dataclass
class PropertyAudit:
    """The audit of one property: every check's outcome, or the error that stopped it."""

    property: str
    name: str = ""
    account: str | None = None
    results: list[CheckResult] = field(default_factory=list)
    error: Ga4kitError | None = None  # the property could not be read at all
    score: int | None = None
    grade: str | None = None
    calls: dict = field(default_factory=dict)  # {"admin": n, "data": n}
    tokens: int | None = None  # Data API tokens the audit cost (from the property quota GA4 returned)
    facts: dict = field(default_factory=dict)  # time zone, currency, service level, streams, ... for the report

    @property
    def findings(self) -> list[Finding]:
        out = [f for r in self.results for f in r.findings]
        return sorted(out, key=lambda f: (SEVERITY_RANK[f.severity], f.check))

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in SEVERITIES}
        for f in self.findings:
            out[f.severity] += 1
        return out

    @property
    def worst(self) -> str | None:
        found = self.findings
        return found[0].severity if found else None

    def status_counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for r in self.results:
            out[r.status] += 1
        return out

    @property
    def partial(self) -> bool:
        """Some check could not run because a call failed in a way that may pass (quota, a server error)."""
        return any(r.status == UNAVAILABLE and r.error_status in RETRYABLE for r in self.results)

    def rank_key(self) -> tuple:
        """Worst first: failed properties, then by score, then by the most severe findings."""
        counts = self.counts()
        return (0 if self.error else 1, self.score if self.score is not None else -1,
                *(-counts[s] for s in SEVERITIES), self.property)

    def as_dict(self) -> dict:
        return {
            "property": self.property, "property_name": self.name, "account": self.account,
            "score": self.score, "grade": self.grade, "counts": self.counts(), "statuses": self.status_counts(),
            "partial": self.partial, "calls": dict(self.calls), "tokens": self.tokens, "facts": dict(self.facts),
            "error": None if self.error is None else {
                "status": getattr(self.error, "status", None) or type(self.error).__name__,
                "message": self.error.message, "hint": self.error.hint},
            "checks": [r.as_dict() for r in self.results],
            "findings": [f.as_row() for f in self.findings],
        }


@dataclass(frozen=True)
class ManualCheck:
    """Something the APIs cannot see: listed in the report for a person to check, never guessed."""

    id: str
    title: str
    why: str
    where: str  # where to look in GA4's interface


@dataclass
class AuditReport:
    """Every property's audit, in the order audited; :meth:`ranked` gives worst first."""

    properties: list[PropertyAudit]
    checks: list[dict]  # every check that ran: id, family, title, severity, reads, fix
    manual: list[ManualCheck]
    started: str = ""
    finished: str = ""
    goals_files: list[str] = field(default_factory=list)

    def ranked(self) -> list[PropertyAudit]:
        return sorted(self.properties, key=PropertyAudit.rank_key)

    @property
    def findings(self) -> list[Finding]:
        return [f for p in self.ranked() for f in p.findings]

    @property
    def failed(self) -> list[PropertyAudit]:
        return [p for p in self.properties if p.error is not None]

    @property
    def partial(self) -> bool:
        """Some property failed, or some check could not run for a reason that may pass."""
        return bool(self.failed) or any(p.partial for p in self.properties)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in SEVERITIES}
        for p in self.properties:
            for s, n in p.counts().items():
                out[s] += n
        return out

    def fails(self, fail_on: str | None) -> bool:
        """Whether a finding at or above ``fail_on`` was found (see :data:`FAIL_ON`)."""
        return any(fails(f.severity, fail_on) for f in self.findings)

    def rows(self) -> list[dict]:
        """One row per finding, worst property first (the CSV and JSON outputs)."""
        return [f.as_row() for f in self.findings]

    def as_dict(self) -> dict:
        """Everything the renderers need, as plain JSON-ready data."""
        ranked = self.ranked()
        return {
            "started": self.started, "finished": self.finished, "goals_files": list(self.goals_files),
            "counts": self.counts(), "partial": self.partial,
            "properties": [p.as_dict() for p in ranked],
            "checks": list(self.checks),
            "manual_checks": [{"id": m.id, "title": m.title, "why": m.why, "where": m.where} for m in self.manual],
            "severities": list(SEVERITIES),
        }

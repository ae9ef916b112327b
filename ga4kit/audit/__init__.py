"""The audit: one run that tells an agency what is wrong in each client property (read-only).

    from ga4kit.audit import run_audit, targets
    with make_clients() as clients:                       # analytics.readonly is enough
        report = run_audit(clients, targets.from_all(clients))
    for p in report.ranked():                             # worst first
        print(p.property, p.score, p.counts())

- :mod:`~ga4kit.audit.targets`: which properties (goals files, ids, list files, an account, everything).
- :mod:`~ga4kit.audit.checks`: the checks, one module per family, registered in :mod:`~ga4kit.audit.registry`.
- :mod:`~ga4kit.audit.facts` / :mod:`~ga4kit.audit.data`: what the checks read (Admin API, one Data API batch).
- :mod:`~ga4kit.audit.runner`: :func:`run_audit`, many properties at once within GA4's limits.
- :mod:`~ga4kit.audit.model` / :mod:`~ga4kit.audit.scoring` / :mod:`~ga4kit.audit.manual`: the report,
  the score per property, the checks the APIs cannot see.
"""

from ga4kit.audit.facts import Target
from ga4kit.audit.model import (
    FAIL_ON, SEVERITIES, AuditReport, CheckResult, Finding, ManualCheck, PropertyAudit, fails,
)
from ga4kit.audit.runner import audit_property, run_audit

AuditResult = AuditReport  # the name the issue uses

__all__ = ["run_audit", "audit_property", "Target", "AuditReport", "AuditResult", "PropertyAudit", "CheckResult",
           "Finding", "ManualCheck", "SEVERITIES", "FAIL_ON", "fails"]

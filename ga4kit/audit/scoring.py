"""A property's score: 100 minus points per finding, so properties can be ranked and followed over time.

    score = max(0, 100 - 30 x critical - 12 x high - 5 x medium - 1 x low)   (info findings cost nothing)

and at most 49 while any critical finding is open: a property in the trash or leaking personal data is
never "fair", however clean the rest. Checks that could not run cost nothing but are listed beside the
score (a score over few checks says less). A property that could not be audited has no score.

Grades: good (90 or more), fair (70-89), poor (50-69), critical (below 50).
"""

from __future__ import annotations

from ga4kit.audit.model import PropertyAudit

WEIGHTS = {"critical": 30, "high": 12, "medium": 5, "low": 1, "info": 0}
CRITICAL_CAP = 49


def score(audit: PropertyAudit) -> int | None:
    if audit.error is not None:
        return None
    counts = audit.counts()
    value = max(0, 100 - sum(WEIGHTS[s] * n for s, n in counts.items()))
    return min(value, CRITICAL_CAP) if counts["critical"] else value


def grade(value: int | None) -> str | None:
    if value is None:
        return None
    return "good" if value >= 90 else "fair" if value >= 70 else "poor" if value >= 50 else "critical"

"""Run the audit: every check on every target property, many properties at once within GA4's limits.

Per property the facts are read first, in three rounds of calls sent together (the property; then its
settings, lists and the Data API batch; then each web stream's settings), so a property costs about three
round trips whatever the number of checks (two when an account listing gave the property: ``--account``,
``--all``); the checks then read the facts from memory. GetProperty goes first on its own so that a property
the credentials cannot read costs one refused call, not ten. Across properties
:func:`ga4kit.executor.run_per_property` keeps ``concurrency`` properties in flight, and the clients are
guarded (:func:`ga4kit.executor.guard`): at most 10 Data API requests in flight per property, Admin API
requests within the per-user rate.

A property that cannot be read at all (GetProperty refused, deleted for good, quota) is reported with its
error and the others go on; a check whose fact GA4 refused is *unavailable*, never passed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from ga4kit.audit.facts import Facts, Target
from ga4kit.audit.manual import MANUAL_CHECKS
from ga4kit.audit.model import FOUND, NOT_APPLICABLE, OK, UNAVAILABLE, AuditReport, CheckResult, PropertyAudit
from ga4kit.audit.registry import Check, CheckContext, NotApplicable, Unavailable, checks as registered
from ga4kit.audit.scoring import grade, score
from ga4kit.errors import ApiError, Ga4kitError
from ga4kit.executor import ADMIN_REQUESTS_PER_MINUTE, DEFAULT_CONCURRENCY, Limits, guard, run_per_property

CHECK_FAILED = "CHECK_FAILED"  # error_status of a check that raised (a bug): reported, never a pass
# Calls sent together for one property (its Admin reads and its one Data API batch).
PREFETCH_THREADS = 10


def run_audit(clients: Any, targets: Iterable[Target | str], goals: Any = None, *, only: Iterable[str] | None = None,
              skip: Iterable[str] | None = None, concurrency: int = DEFAULT_CONCURRENCY,
              progress: Callable[[Any], None] | None = None, today: dt.date | None = None,
              now: dt.datetime | None = None, limits: Limits | None = None,
              stop: threading.Event | None = None) -> AuditReport:
    """Audit ``targets`` (Targets or property ids) and return the :class:`AuditReport`.

    ``goals``: a GoalsConfig for the targets that carry none (the goal checks compare against it).
    ``only`` / ``skip``: check ids or families. ``progress(done)`` is called once per finished property.
    ``today`` fixes "today" for every property (default: today in each property's time zone).
    ``limits``: the caps shared by every thread (default: one set per clients object).
    """
    selected = registered(only, skip)
    items = [_target(t, goals) for t in targets]
    guarded = guard(clients, limits)
    started = _stamp()

    def one(target: Target) -> PropertyAudit:
        return audit_property(guarded, target, selected, today=today, now=now)

    done = run_per_property(items, one, max_workers=concurrency, on_done=progress, stop=stop)
    audits = []
    for target, d in zip(items, done):
        if d is None:
            continue
        audits.append(d.value if d.ok else _failed(target, d.error))
    files = sorted({str(t.goals.source) for t in items if t.goals is not None and getattr(t.goals, "source", None)})
    return AuditReport(properties=audits, checks=[c.describe() for c in selected], manual=list(MANUAL_CHECKS),
                       started=started, finished=_stamp(), goals_files=files)


def admin_wait_note(targets: list[Target], per_minute: int = ADMIN_REQUESTS_PER_MINUTE) -> str | None:
    """What a user waiting for a large audit must know: the Admin API's per-user rate sets its least duration
    (about 11 reads per property, 10 when a listing gave its settings). None when it fits in one minute."""
    reads = sum(10 if t.info is not None else 11 for t in targets)
    minutes = (reads - 1) // per_minute if reads else 0
    if not minutes:
        return None
    return (f"Note: {len(targets):,} properties need about {reads:,} Admin API reads; GA4 allows 600 a minute per "
            f"user (ga4kit keeps to {per_minute}), so this audit takes at least {minutes} minute"
            f"{'s' if minutes > 1 else ''}. Split it with --shard over several credentials to go faster.")


def _target(t: Target | str, goals: Any) -> Target:
    if not isinstance(t, Target):
        from ga4kit.ids import property_id

        t = Target(property_id(t))
    if goals is not None and t.goals is None:
        t = dataclasses.replace(t, goals=goals)
    return t


def _stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _failed(target: Target, error: Ga4kitError) -> PropertyAudit:
    return PropertyAudit(property=target.id, name=target.label or "", account=target.account, error=error)


def audit_property(clients: Any, target: Target, selected: list[Check], *, today: dt.date | None = None,
                   now: dt.datetime | None = None) -> PropertyAudit:
    """Every check of ``selected`` on one property. Raises Ga4kitError when the property cannot be read."""
    facts = Facts(clients, target, today=today, now=now)
    info = facts.info()  # ApiError: the whole property fails
    _prefetch(facts, selected)
    audit = PropertyAudit(property=target.id, name=info.display_name or target.label or "",
                          account=target.account or _account(info.parent))
    for c in selected:
        audit.results.append(run_check(c, facts, audit.name))
    audit.score = score(audit)
    audit.grade = grade(audit.score)
    audit.calls = dict(facts.calls)
    audit.tokens = facts.tokens
    audit.facts = _facts_summary(facts)
    return audit


def _account(parent: str | None) -> str | None:
    parent = str(parent or "")
    return parent.removeprefix("accounts/") if parent.startswith("accounts/") else None


def run_check(c: Check, facts: Facts, property_name: str = "") -> CheckResult:
    """One check's outcome: found / ok / unavailable / not applicable (see ga4kit.audit.model)."""
    try:
        found = [dataclasses.replace(f, property_name=property_name) for f in (c.run(CheckContext(facts, c)) or [])]
    except Unavailable as exc:
        return CheckResult(c.id, UNAVAILABLE, reason=exc.reason, error_status=exc.status)
    except NotApplicable as exc:
        return CheckResult(c.id, NOT_APPLICABLE, reason=exc.reason)
    except ApiError as exc:  # a fact read outside Facts._fact: still never a pass
        status = getattr(exc, "status", None)
        return CheckResult(c.id, UNAVAILABLE, reason=exc.message, error_status=status)
    except Exception as exc:  # a bug in one check must not cost the audit of the other checks and properties
        return CheckResult(c.id, UNAVAILABLE, reason=f"the check failed: {type(exc).__name__}: {exc}",
                           error_status=CHECK_FAILED)
    return CheckResult(c.id, FOUND, tuple(found)) if found else CheckResult(c.id, OK)


# The facts each family reads (the rest are read on first use by the checks).
_ROUND_TWO = {
    "retention": ("property",), "signals": ("signals",), "streams": ("streams", "links", "traffic"),
    "key_events": ("key_events",), "custom_dimensions": ("definitions",), "custom_metrics": ("definitions",),
    "ads_links": ("links",), "bigquery_links": ("links",),
    "data": ("streams", "key_events", "traffic", "privacy", "ecommerce", "continuity", "signals", "links"),
}


def _prefetch(facts: Facts, selected: list[Check]) -> None:
    """Read the facts the selected checks need, independent ones together (see the module docstring).
    A refused read is remembered as Unavailable by Facts; nothing here raises."""
    families = {c.family for c in selected}
    first = [name for name, fams in _ROUND_TWO.items() if families & set(fams)]
    if facts.target.goals is not None and "key_events" in families:
        first.append("goal_rates")
    _together(facts, [getattr(facts, name) for name in first])
    if families & {"streams"}:
        try:
            web = facts.web_streams()
        except (Unavailable, Ga4kitError):
            return
        _together(facts, [(lambda s=s: facts.enhanced(s)) for s in web] + [(lambda s=s: facts.redaction(s))
                                                                            for s in web])


def _together(facts: Facts, calls: list[Callable[[], Any]]) -> None:
    def safe(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except (Unavailable, NotApplicable, Ga4kitError):
            pass  # remembered by Facts (or raised again to the check that reads it)

    if len(calls) <= 1:
        for fn in calls:
            safe(fn)
        return
    with ThreadPoolExecutor(max_workers=min(PREFETCH_THREADS, len(calls)),
                            thread_name_prefix=f"ga4kit-audit-{facts.pid}") as pool:
        list(pool.map(safe, calls))


def _facts_summary(facts: Facts) -> dict:
    info = facts.info()
    out = {"time_zone": info.time_zone, "currency": info.currency, "service_level": facts.service_level,
           "industry_category": info.industry_category, "in_trash": info.in_trash}
    if facts.has("streams"):  # never a call of its own: only what the checks read
        try:
            out["streams"] = len(facts.streams())
            out["sites"] = facts.site_domains()
        except Unavailable:
            out["streams"] = None
    return out

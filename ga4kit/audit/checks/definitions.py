"""Custom dimensions and metrics: near their limits, and names that look like personal data."""

from __future__ import annotations

import math
import re

from ga4kit.audit.registry import check
from ga4kit.properties.read import enum_name

NEAR = 0.8
# (standard, 360) per scope; archived definitions do not count.
DIMENSION_LIMITS = {"EVENT": (50, 125), "USER": (25, 100), "ITEM": (10, 25)}
METRIC_LIMITS = (50, 125)
DEFINITIONS_FIX = "Admin > Data display > Custom definitions: archive the definitions no report uses."

# Words (after splitting snake_case, kebab-case, camelCase and spaces) that name personal data, and pairs.
_PII_WORDS = {"email", "emails", "phone", "telephone", "tel", "firstname", "lastname",
              "fullname", "surname", "forename", "address", "street", "zipcode", "postcode", "postalcode",
              "birthday", "birthdate", "dob", "ssn", "passport", "iban", "creditcard", "ip", "ipaddress"}
_PII_PAIRS = {("first", "name"), ("last", "name"), ("full", "name"), ("customer", "name"), ("user", "name"),
              ("contact", "name"), ("e", "mail"), ("date", "birth"), ("credit", "card"), ("phone", "number"),
              ("ip", "address"), ("mobile", "number"), ("postal", "code"), ("zip", "code"), ("social", "security")}


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def looks_personal(name: str) -> bool:
    """Whether a parameter or display name reads like personal data (user_email, customerName, Phone)."""
    words = _words(name)
    if any(w in _PII_WORDS for w in words):
        return True
    pairs = set(zip(words, words[1:]))
    return bool(pairs & _PII_PAIRS) or any(a + b in _PII_WORDS for a, b in pairs)


def _limit(ctx, limits: tuple[int, int]) -> int:
    return limits[1] if ctx.facts.service_level == "360" else limits[0]


def _near(n: int, limit: int) -> str | None:
    if n >= limit:
        return "high"
    if n >= math.ceil(limit * NEAR):
        return "medium"
    return None


@check("custom_dimensions_near_limit", family="definitions", severity="high",
       title="Custom dimensions near their limit",
       reads="ListCustomDimensions -> scope; GetProperty -> service_level", fix=DEFINITIONS_FIX)
def custom_dimensions_near_limit(ctx):
    dims = ctx.facts.custom_dimensions()
    for scope, limits in DIMENSION_LIMITS.items():
        n = sum(1 for d in dims if enum_name(d.scope) == scope)
        limit = _limit(ctx, limits)
        severity = _near(n, limit)
        if severity:
            yield ctx.finding(severity, f"{n} of {limit} {scope.lower()}-scoped custom dimensions are used"
                              + (": no new one can be registered." if n >= limit else ": little room left."),
                              {"scope": scope.lower(), "custom_dimensions": n, "limit": limit, "share": n / limit})


@check("custom_metrics_near_limit", family="definitions", severity="high", title="Custom metrics near their limit",
       reads="ListCustomMetrics; GetProperty -> service_level", fix=DEFINITIONS_FIX)
def custom_metrics_near_limit(ctx):
    n = len(ctx.facts.custom_metrics())
    limit = _limit(ctx, METRIC_LIMITS)
    severity = _near(n, limit)
    if severity:
        yield ctx.finding(severity, f"{n} of {limit} custom metrics are used"
                          + (": no new one can be registered." if n >= limit else ": little room left."),
                          {"custom_metrics": n, "limit": limit, "share": n / limit})


@check("pii_custom_dimension", family="definitions", severity="high",
       title="Custom dimensions named like personal data",
       reads="ListCustomDimensions -> parameter_name, display_name",
       fix="Stop sending the parameter (GA4's terms forbid personal data), then archive the dimension in Admin > "
           "Data display > Custom definitions; Admin > Data deletion requests removes what was collected.")
def pii_custom_dimension(ctx):
    hits = [d for d in ctx.facts.custom_dimensions()
            if looks_personal(d.parameter_name) or looks_personal(d.display_name)]
    if hits:
        names = [f"{d.parameter_name} ({d.display_name})" for d in hits]
        many = len(hits) > 1
        yield ctx.finding("high", f"{len(hits)} custom dimension{'s' if many else ''} look{'' if many else 's'} "
                          f"like personal data: {', '.join(names)}. GA4's terms forbid sending personal data.",
                          {"custom_dimensions": len(hits), "names": names})

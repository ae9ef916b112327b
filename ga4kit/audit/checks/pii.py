"""Personal data in page URLs: e-mail addresses anywhere in the path or query, phone numbers in query
parameters. Critical on any hit (GA4's terms forbid sending personal data); the evidence is masked.

GA4 returns only candidate paths (a regular expression in the report's filter,
:data:`ga4kit.audit.data.PII_CANDIDATE`); each is decoded and checked here precisely, so utm parameters,
order numbers and timestamps are not mistaken for phone numbers: a phone number is a parameter named like
one (phone, tel, mobile, ...) holding 7 or more digits, or any parameter value in international format
(a leading "+" and 8 to 15 digits).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from ga4kit.audit.registry import check

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PHONE_NAME = re.compile(r"(phone|tel|telephone|mobile|handy|cell|fax|whatsapp)", re.I)
_PHONE_VALUE = re.compile(r"^\+?[0-9][0-9 ()./\-]{5,}[0-9]$")
_INTERNATIONAL = re.compile(r"^\+[0-9][0-9 ()./\-]{6,}[0-9]$")


def mask_email(text: str) -> str:
    """``jane.doe@example.com`` -> ``j***@e***.com``."""
    local, _, domain = text.partition("@")
    head, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{head[:1]}***.{tld}"


def mask_phone(text: str) -> str:
    """Every digit but the last two replaced: ``+49 170 1234567`` -> ``+** *** *****67``."""
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    keep = set(digits[-2:])
    return "".join("*" if ch.isdigit() and i not in keep else ch for i, ch in enumerate(text))


def _digits(value: str) -> int:
    return sum(ch.isdigit() for ch in value)


def _phones(path: str) -> list[str]:
    query = urlsplit(path).query
    out = []
    for name, value in parse_qsl(query, keep_blank_values=False):
        v = value.strip()
        if _PHONE_NAME.search(name) and _PHONE_VALUE.match(v) and 7 <= _digits(v) <= 15:
            out.append(v)
        elif _INTERNATIONAL.match(v) and 8 <= _digits(v) <= 15:
            out.append(v)
    return out


def scan(path: str) -> tuple[list[str], list[str], str]:
    """(e-mail addresses, phone numbers, the decoded path with both masked) of one page path."""
    decoded = unquote_plus(path)
    emails = EMAIL.findall(decoded)
    phones = _phones(path)
    masked = decoded
    for e in emails:
        masked = masked.replace(e, mask_email(e))
    for p in phones:
        masked = masked.replace(p, mask_phone(p))
    return emails, phones, masked


@check("pii_in_urls", family="privacy", severity="critical", title="Personal data in page URLs",
       reads="runReport pagePathPlusQueryString -> eventCount, filtered to paths with '@' or phone-like "
             "parameters (28 days)",
       fix="Stop putting personal data in URLs (forms should POST, not GET); turn on data redaction for e-mails "
           "and the query parameters concerned (Admin > Data streams > the web stream > Redact data); remove "
           "what was collected with Admin > Data deletion requests.")
def pii_in_urls(ctx):
    rep = ctx.facts.report("pii_pages")
    pages = emails = phones = events = 0
    examples: list[str] = []
    for path, count in zip(rep.frame["pagePathPlusQueryString"], rep.frame["eventCount"]):
        found_e, found_p, masked = scan(str(path))
        if not (found_e or found_p):
            continue
        pages += 1
        emails += len(found_e)
        phones += len(found_p)
        events += int(count)
        if len(examples) < 3:
            examples.append(masked)
    if pages:
        kinds = " and ".join(k for k, n in (("e-mail addresses", emails), ("phone numbers", phones)) if n)
        yield ctx.finding("critical", f"{pages:,} page URL{'s' if pages > 1 else ''} with {kinds} reached GA4 "
                          f"({events:,} events in the last 28 days): GA4's terms forbid personal data, and "
                          "everyone with access to the property can read it.",
                          {"pages": pages, "events": events, "email_addresses": emails, "phone_numbers": phones,
                           "examples": examples} | ({"more_pages_possible": 1} if rep.truncated else {}))

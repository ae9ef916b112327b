"""Turn google.api_core exceptions into ga4kit's ApiError tree, each with a hint that says what to do."""

from __future__ import annotations

import re

from ga4kit import errors

SCOPE_HINT = (
    "The credentials lack the scope this command needs: reading and reporting need "
    "https://www.googleapis.com/auth/analytics.readonly, writing (apply) needs "
    "https://www.googleapis.com/auth/analytics.edit. With Application Default Credentials run "
    "`gcloud auth application-default login --scopes=https://www.googleapis.com/auth/analytics.edit,"
    "https://www.googleapis.com/auth/cloud-platform`; a service-account key gets the scope ga4kit asks for."
)

ACCESS_HINT = (
    "Give {who} access to the property: in GA4 open Admin > Property access management, add {whose} "
    "with the Viewer role for plan/pull/chains or the Editor role for apply (and check the property id: "
    "`ga4kit properties` lists the properties these credentials can see). Then run the command again."
)

TOO_LARGE_HINT = (
    "This is not a GA4 quota and waiting will not help: ask for less per request: a shorter date range "
    "(e.g. --start/--end over a few months at a time), a coarser grain (week or month instead of day), or "
    "fewer segments."
)

NETWORK_HINT = (
    "ga4kit cannot reach Google: check the network connection, VPN or proxy (HTTPS_PROXY) and firewall, then "
    "run the command again. (Not retried: a name that does not resolve or a refused connection does not "
    "go away in seconds.)"
)

# Texts gRPC (C-core), google-auth and urllib3 use when nothing can be reached. Lower case.
_DNS_FAILURE = ("dns resolution failed", "errors resolving", "hostname lookup error", "domain name not found",
                "name or service not known", "nodename nor servname", "temporary failure in name resolution",
                "no address associated with hostname", "could not resolve", "nameresolutionerror",
                "failed to resolve", "getaddrinfo failed")
_REFUSED = ("connection refused", "network is unreachable", "no route to host",
            "failed to establish a new connection")
_TOO_LARGE = re.compile(r"received message larger than max \((\d+) vs\. (\d+)\)", re.I)


def access_hint(principal: str | None = None) -> str:
    """The PERMISSION_DENIED hint, naming who called GA4: an e-mail, or a description such as "your
    Application Default Credentials account" (see :func:`ga4kit.connect.principal_label`)."""
    if principal and "@" in principal:
        return "ga4kit called GA4 as " + principal + ". " + ACCESS_HINT.format(who="that account",
                                                                               whose="that e-mail")
    if principal:
        return "ga4kit called GA4 as " + principal + ". " + ACCESS_HINT.format(who="that account",
                                                                               whose="its e-mail")
    return ACCESS_HINT.format(who="the account ga4kit called GA4 as (a key file's client_email, or your own "
                              "Google account with Application Default Credentials)", whose="its e-mail")


def network_failure(text: str) -> str | None:
    """"dns" or "refused" when an error text says the server cannot be reached at all, else None."""
    low = str(text).lower()
    if any(p in low for p in _DNS_FAILURE):
        return "dns"
    if any(p in low for p in _REFUSED):
        return "refused"
    return None


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:,.1f} MB"
    return f"{n / 1000:,.1f} KB" if n >= 1000 else f"{n} bytes"


_HINTS = {
    "NOT_FOUND": "Check the property id (a number, from GA4 Admin > Property details) and that the property "
    "is not in the trash.",
    "INVALID_ARGUMENT": "GA4 refused the request as written; the message above says which field.",
    "ALREADY_EXISTS": "It exists already; run `ga4kit plan` to see the property's current state.",
    "UNAUTHENTICATED": "The credentials were refused (expired, revoked or for another project). Create a new "
    "key or run `gcloud auth application-default login` again.",
    "UNAVAILABLE": "GA4 did not answer after several retries. Try again in a few minutes.",
    "DEADLINE_EXCEEDED": "GA4 did not answer in time after several retries. Try again in a few minutes, or "
    "ask for a shorter date range.",
    "INTERNAL": "GA4 had an internal error after several retries. Try again in a few minutes.",
    "FAILED_PRECONDITION": "The property is not in a state that allows this call.",
}

_CLASSES = {
    "PERMISSION_DENIED": errors.PermissionDeniedError,
    "NOT_FOUND": errors.NotFoundError,
    "INVALID_ARGUMENT": errors.InvalidArgumentError,
    "ALREADY_EXISTS": errors.AlreadyExistsError,
    "RESOURCE_EXHAUSTED": errors.QuotaExhaustedError,
    "UNAVAILABLE": errors.UnavailableError,
    "DEADLINE_EXCEEDED": errors.UnavailableError,
    "INTERNAL": errors.UnavailableError,
}

# (phrases GA4 uses in RESOURCE_EXHAUSTED messages, quota name, when it refills). Most specific first.
_QUOTA_REFILL = (
    (("tokens per project per hour", "tokensperprojectperhour"), "tokens per project per hour",
     "it refills within the hour"),
    (("tokens per day", "tokensperday"), "tokens per day", "it refills at midnight Pacific time"),
    (("tokens per hour", "tokensperhour"), "tokens per hour", "it refills within the hour"),
    (("concurrent requests", "concurrentrequests"), "concurrent requests",
     "it frees as soon as a running request finishes: run fewer pulls in parallel"),
    (("server errors", "servererrors"), "server errors per project per hour", "it refills within the hour"),
    (("thresholded requests", "thresholdedrequests"), "potentially thresholded requests per hour",
     "it refills within the hour"),
)


def status_name(exc: BaseException) -> str:
    code = getattr(exc, "grpc_status_code", None)
    if code is not None:
        return code.name
    code = getattr(exc, "code", None)
    name = getattr(code, "name", None)
    return name or "UNKNOWN"


def quota_hint(message: str) -> str:
    text = message.lower()
    for phrases, name, refill in _QUOTA_REFILL:
        if any(p in text or p in text.replace(" ", "") for p in phrases):
            return (f"The GA4 quota exhausted is: {name}; {refill}. ga4kit stopped instead of retrying; run the "
                    "same command again then: apply carries on where it stopped, and a pull with --merge or "
                    "--incremental keeps the rows already written and duplicates nothing.")
    return ("A GA4 quota is exhausted: Data API property quotas refill hourly and daily (midnight Pacific "
            "time), Admin API quotas per minute. Run the same command again later.")


def translate(exc: BaseException, *, method: str | None = None, resource: str | None = None,
              principal: str | None = None) -> errors.ApiError:
    """An :class:`errors.ApiError` for any exception raised by a Google client call.

    ``principal`` (the e-mail ga4kit called GA4 as, when known) is named in PERMISSION_DENIED hints.
    """
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.RetryError):
        cause = exc.cause if exc.cause is not None else exc
        inner = translate(cause, method=method, resource=resource, principal=principal) if cause is not exc else None
        if inner is not None:
            inner.message = f"{inner.message} (gave up after retrying)"
            return inner
        return errors.UnavailableError(f"{method or 'GA4 call'} kept failing: {exc}.",
                                       _HINTS["UNAVAILABLE"], status="UNAVAILABLE", method=method)
    status = status_name(exc)
    raw = getattr(exc, "message", None) or str(exc)
    raw = re.sub(r"\s+", " ", str(raw)).strip()
    what = f"{method} failed" if method else "GA4 call failed"
    if resource:
        what += f" for {resource}"
    message = f"{what}: {status}: {raw}"
    too_large = _TOO_LARGE.search(raw) if status == "RESOURCE_EXHAUSTED" else None
    if too_large:
        # gRPC's own receive limit on this side, not a GA4 quota (GA4 never says "larger than max").
        got, limit = int(too_large.group(1)), int(too_large.group(2))
        return errors.ResponseTooLargeError(
            f"{what}: the response is too large: GA4's answer is {_size(got)}, more than the {_size(limit)} this "
            f"client accepts ({status}: {raw})", TOO_LARGE_HINT, status="RESPONSE_TOO_LARGE", method=method,
            resource=resource)
    unreachable = network_failure(raw) if status in ("UNAVAILABLE", "UNKNOWN") else None
    if unreachable:
        why = "the host name does not resolve" if unreachable == "dns" else "the connection was refused"
        return errors.NetworkError(f"{what}: cannot reach the server: {why} ({status}: {raw})", NETWORK_HINT,
                                   status="UNAVAILABLE", method=method, resource=resource)
    if status == "PERMISSION_DENIED":
        hint = SCOPE_HINT if "scope" in raw.lower() else access_hint(principal)
    elif status == "RESOURCE_EXHAUSTED":
        hint = quota_hint(raw)
    else:
        hint = _HINTS.get(status)
    cls = _CLASSES.get(status, errors.ApiError)
    return cls(message, hint, status=status, method=method, resource=resource)

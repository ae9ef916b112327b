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
    "Give the account access to the property: in GA4 open Admin > Property access management, add the "
    "e-mail of the service account (the client_email in its key file) or of your user, with the Viewer role "
    "for plan/pull/chains or the Editor role for apply. Then run the command again."
)

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
                    "same command again then (with --merge, rows already written are kept and nothing is "
                    "duplicated).")
    return ("A GA4 quota is exhausted: Data API property quotas refill hourly and daily (midnight Pacific "
            "time), Admin API quotas per minute. Run the same command again later.")


def translate(exc: BaseException, *, method: str | None = None, resource: str | None = None) -> errors.ApiError:
    """An :class:`errors.ApiError` for any exception raised by a Google client call."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.RetryError):
        cause = exc.cause if exc.cause is not None else exc
        inner = translate(cause, method=method, resource=resource) if cause is not exc else None
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
    if status == "PERMISSION_DENIED":
        hint = SCOPE_HINT if "scope" in raw.lower() else ACCESS_HINT
    elif status == "RESOURCE_EXHAUSTED":
        hint = quota_hint(raw)
    else:
        hint = _HINTS.get(status)
    cls = _CLASSES.get(status, errors.ApiError)
    return cls(message, hint, status=status, method=method, resource=resource)

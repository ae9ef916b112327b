"""ga4kit's exceptions: one root, so callers can catch everything ga4kit raises on purpose.

    Ga4kitError                 anything ga4kit reports to a user (CLI: "Error: ..." and exit 1)
    ├── ConfigError             the goals file is wrong; .problems lists every problem with file and line
    ├── IdentifierError         a property id that is not one (G-..., UA-..., text)
    ├── CredentialsError        no credentials, an unreadable key file, a wrong scope
    ├── OutputError             an output file that cannot be written (nothing half-written is left)
    ├── PlanError               a plan that must not be applied (e.g. the key event cap)
    │   └── CapExceededError
    └── ApiError                a GA4 call failed; .status (gRPC code name), .hint says what to do
        ├── PermissionDeniedError
        ├── NotFoundError
        ├── InvalidArgumentError
        ├── AlreadyExistsError
        ├── QuotaExhaustedError
        ├── ResponseTooLargeError  an answer larger than the client accepts (not a GA4 quota)
        └── UnavailableError    transient errors that outlived the retries
            └── NetworkError    nothing reachable: the host name does not resolve or the connection is refused

Every message is one paragraph meant for a person: what went wrong and what to do next.
"""

from __future__ import annotations

from dataclasses import dataclass


class Ga4kitError(Exception):
    """Root of ga4kit's errors. ``hint`` is the "what to do next" part, kept apart for rendering."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} {self.hint}"
        return self.message


@dataclass(frozen=True)
class Problem:
    """One problem in a goals file: where it is and what to write instead."""

    file: str
    line: int | None
    path: str  # e.g. "goals[2].event"
    message: str
    fix: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.severity}: {self.path}: {self.message}" if self.path else (
            f"{where}: {self.severity}: {self.message}"
        )
        if text and text[-1] not in ".!?":
            text += "."
        if self.fix:
            text += f" Fix: {self.fix}" + ("" if self.fix[-1] in ".!?" else ".")
        return text


class ConfigError(Ga4kitError):
    """The goals file cannot be used. ``problems`` holds every error found, not just the first."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = list(problems)
        self.warnings = list(warnings or [])
        n = len(self.problems)
        first = self.problems[0].file if self.problems else "goals file"
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(
            f"{first}: {n} problem{'s' if n != 1 else ''} in the goals file:\n{lines}",
            None,
        )


class IdentifierError(Ga4kitError):
    """A value that should be a GA4 property id is not one."""


class CredentialsError(Ga4kitError):
    """Credentials are missing, unreadable or lack the scope a command needs."""


class OutputError(Ga4kitError):
    """An output file could not be written."""


class PlanError(Ga4kitError):
    """A plan cannot be applied as it stands."""


class CapExceededError(PlanError):
    """Applying the plan would exceed the property's custom key event cap."""


class ApiError(Ga4kitError):
    """A GA4 API call failed. ``status`` is the gRPC status name (e.g. ``PERMISSION_DENIED``)."""

    def __init__(self, message: str, hint: str | None = None, *, status: str = "UNKNOWN",
                 method: str | None = None, resource: str | None = None):
        super().__init__(message, hint)
        self.status = status
        self.method = method
        self.resource = resource


class PermissionDeniedError(ApiError):
    pass


class NotFoundError(ApiError):
    pass


class InvalidArgumentError(ApiError):
    pass


class AlreadyExistsError(ApiError):
    pass


class QuotaExhaustedError(ApiError):
    pass


class UnavailableError(ApiError):
    pass


class ResponseTooLargeError(ApiError):
    """GA4's answer was larger than the client's gRPC receive limit. Waiting does not help; asking for less does."""


class NetworkError(UnavailableError):
    """GA4 (or the emulator) cannot be reached at all: the host name does not resolve or the connection is
    refused. Not retried: it does not go away in seconds."""

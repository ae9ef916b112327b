"""A small client for the Google Sheets v4 REST API, on google-auth's AuthorizedSession.

Only what the ``sheets://`` destination needs: ``spreadsheets.get``, ``spreadsheets.batchUpdate``,
``spreadsheets.values.batchGet`` and ``spreadsheets.values.batchUpdate``, each a JSON request. What it
adds to a bare session:

- Sheets' rate limits: writes are paced to :data:`WRITES_PER_MINUTE` in a sliding minute (the per-user
  quota), and a 429 (or a 500/502/503/504, a timeout, a dropped connection) is retried with exponential
  backoff and jitter (:class:`Backoff`) until a deadline; a connection refused is not retried.
- errors as :class:`SheetsError` (an :class:`~ga4kit.errors.OutputError` with Google's ``status``) whose
  message says what to do: a sheet not shared with the account names the account's e-mail and says to
  share the sheet with it; a missing scope, a disabled API or a wrong ID say so.
- :class:`SheetsStats`: requests, writes, retries, the largest request, the time spent waiting.

The session comes from :func:`ga4kit.connect.sheets_access` (Google, or the emulator's stand-in).
"""

from __future__ import annotations

import json
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ga4kit.errors import OutputError

CELL_LIMIT = 10_000_000  # cells per spreadsheet, every cell of every grid
CHARS_PER_CELL = 50_000
MAX_REQUEST_BYTES = 2_000_000  # Google's recommended ceiling for one request's body
WRITES_PER_MINUTE = 60  # write requests per minute per user
TRANSIENT = (429, 500, 502, 503, 504)


class SheetsError(OutputError):
    """A Sheets call failed. ``status`` is Google's status name (PERMISSION_DENIED, RESOURCE_EXHAUSTED, ...),
    ``http_status`` the HTTP code (0: no answer)."""

    def __init__(self, message: str, hint: str | None = None, *, status: str = "UNKNOWN", http_status: int = 0):
        super().__init__(message, hint)
        self.status = status
        self.http_status = http_status


@dataclass(frozen=True)
class Backoff:
    """Truncated exponential backoff with jitter: the n-th wait is min(maximum, initial * multiplier**n)
    times a random factor in [0.5, 1.5), so clients that failed together do not retry together; after
    ``deadline`` seconds of waiting the error is raised."""

    initial: float = 1.0
    multiplier: float = 2.0
    maximum: float = 64.0
    deadline: float = 600.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        return min(self.maximum, self.initial * self.multiplier ** attempt) * (0.5 + rng())


@dataclass
class SheetsStats:
    """What a client sent: for benchmarks, tests and ``--verbose``."""

    requests: int = 0  # every HTTP request, retries included
    writes: int = 0  # write requests, retries included
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    bytes_sent: int = 0
    largest_request: int = 0
    waited: float = 0.0  # seconds slept in backoff and pacing
    waits: list = field(default_factory=list)  # each backoff sleep, in seconds
    methods: list = field(default_factory=list)  # method names, in order (retries included)


class _Pacer:
    """At most ``limit`` writes in any 60 seconds from this client."""

    def __init__(self, limit: int | None, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.limit, self.clock, self.sleep = limit, clock, sleep
        self._times: deque = deque()

    def wait(self, note: Callable[[str], None] | None) -> float:
        if not self.limit:
            return 0.0
        now = self.clock()
        while self._times and self._times[0] <= now - 60.0:
            self._times.popleft()
        waited = 0.0
        if len(self._times) >= self.limit:
            waited = self._times[0] + 60.0 - now
            if note and waited >= 1:
                note(f"Google Sheets allows {self.limit} writes a minute; waiting {waited:.0f} s.")
            self.sleep(waited)
            self._times.popleft()
        self._times.append(self.clock())
        return waited


class SheetsClient:
    """Calls to one Sheets endpoint through ``access`` (:class:`ga4kit.connect.SheetsAccess`)."""

    def __init__(self, access: Any, *, backoff: Backoff | None = None,
                 writes_per_minute: int | None = WRITES_PER_MINUTE, timeout: float = 120.0,
                 note: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random):
        self.access = access
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.note = note
        self.sleep = sleep
        self.rng = rng
        self.stats = SheetsStats()
        self._pacer = _Pacer(writes_per_minute, clock, self._sleep)

    @property
    def endpoint(self) -> str:
        return self.access.endpoint

    def close(self) -> None:
        self.access.close()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited += seconds
            self.sleep(seconds)

    # ------------------------------------------------------------------------------ the methods
    def get(self, spreadsheet_id: str, *, fields: str | None = None, ranges: Sequence[str] = (),
            include_grid_data: bool = False) -> dict:
        params: dict = {}
        if fields:
            params["fields"] = fields
        if ranges:
            params["ranges"] = list(ranges)
        if include_grid_data:
            params["includeGridData"] = "true"
        return self.call("spreadsheets.get", "GET", spreadsheet_id, "", params=params)

    def batch_update(self, spreadsheet_id: str, requests: list[dict], *, retry: bool = True) -> dict:
        return self.call("spreadsheets.batchUpdate", "POST", spreadsheet_id, ":batchUpdate",
                         body={"requests": requests}, write=True, retry=retry)

    def values_batch_get(self, spreadsheet_id: str, ranges: Sequence[str], *,
                         value_render: str = "UNFORMATTED_VALUE",
                         datetime_render: str = "SERIAL_NUMBER") -> list[dict]:
        if not ranges:
            return []
        answer = self.call("spreadsheets.values.batchGet", "GET", spreadsheet_id, "/values:batchGet",
                           params={"ranges": list(ranges), "valueRenderOption": value_render,
                                   "dateTimeRenderOption": datetime_render, "majorDimension": "ROWS"})
        return list(answer.get("valueRanges") or [])

    def values_batch_update(self, spreadsheet_id: str, data: list[dict], *, value_input: str = "RAW",
                            body_bytes: bytes | None = None) -> dict:
        body = {"valueInputOption": value_input, "data": data}
        return self.call("spreadsheets.values.batchUpdate", "POST", spreadsheet_id, "/values:batchUpdate",
                         body=body, write=True, body_bytes=body_bytes)

    # ------------------------------------------------------------------------------ one call
    def call(self, method: str, http_method: str, spreadsheet_id: str, tail: str, *, params: dict | None = None,
             body: Any = None, write: bool = False, body_bytes: bytes | None = None, retry: bool = True) -> dict:
        """One request, retried on 429 / 5xx / a lost connection until the backoff's deadline (``retry``)."""
        import requests

        url = f"{self.endpoint}/v4/spreadsheets/{quote(spreadsheet_id, safe='')}{tail}"
        data = body_bytes if body_bytes is not None else (
            None if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        attempt, waited = 0, 0.0
        while True:
            if write:
                self._pacer.wait(self.note)
            self._count(method, write, data)
            try:
                resp = self.access.session.request(http_method, url, params=params, data=data, headers=headers,
                                                   timeout=self.timeout)
            except requests.exceptions.ConnectionError as exc:
                if _refused(exc):
                    raise self._unreachable(exc) from None
                status, error = 0, {"message": f"the connection was lost ({type(exc).__name__})"}
            except requests.exceptions.Timeout:
                status, error = 0, {"message": f"no answer within {self.timeout:.0f} s"}
            else:
                if resp.status_code < 300:
                    return resp.json() if resp.content else {}
                status, error = resp.status_code, _error_body(resp)
                if status == 429:
                    self.stats.rate_limited += 1
            if retry and (status in TRANSIENT or status == 0) and waited < self.backoff.deadline:
                delay = min(self.backoff.delay(attempt, self.rng), max(0.0, self.backoff.deadline - waited) + 0.001)
                if self.note and (status == 429 and attempt == 0 or delay >= 5):
                    self.note(f"Google Sheets answered {status or 'nothing'} ({_short(error)}); retrying in "
                              f"{delay:.1f} s.")
                self.stats.retries += 1
                self.stats.waits.append(delay)
                self._sleep(delay)
                waited += delay
                attempt += 1
                continue
            raise self._error(method, spreadsheet_id, status, error, write, waited)

    def _count(self, method: str, write: bool, data: bytes | None) -> None:
        st = self.stats
        st.requests += 1
        st.writes += int(write)
        st.methods.append(method)
        size = len(data or b"")
        st.bytes_sent += size
        st.largest_request = max(st.largest_request, size)

    # ------------------------------------------------------------------------------ errors
    def _unreachable(self, exc: Exception) -> SheetsError:
        if self.access.stand_in:
            return SheetsError(f"Nothing answers at {self.endpoint} (the emulator's Google Sheets stand-in).",
                               "Start the emulator with `ga4kit emulator start` and use the addresses it prints, "
                               "or unset GA4KIT_SHEETS_ENDPOINT.", status="UNAVAILABLE")
        return SheetsError(f"Google Sheets cannot be reached at {self.endpoint} ({type(exc).__name__}).",
                           "Check the network connection and any proxy settings, then run again.",
                           status="UNAVAILABLE")

    def _error(self, method: str, spreadsheet_id: str, status: int, error: dict, write: bool,
               waited: float) -> SheetsError:
        message = str(error.get("message") or "").strip().rstrip(".")
        name = str(error.get("status") or "")
        who = self.access.principal_label
        email = self.access.principal
        reasons = {str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict)}
        doc = f"spreadsheet {spreadsheet_id}"
        if status in (429,) or name == "RESOURCE_EXHAUSTED":
            return SheetsError(f"Google Sheets kept refusing requests for quota after {waited:.0f} s of retries "
                               f"({message}).",
                               f"Sheets allows {WRITES_PER_MINUTE} write requests per minute per user and 300 per "
                               "project; wait a few minutes and run again, or raise the quota in Google Cloud.",
                               status="RESOURCE_EXHAUSTED", http_status=status)
        if status == 0 or status >= 500:
            return SheetsError(f"Google Sheets did not answer {method} for {doc} ({message or status}) after "
                               f"{waited:.0f} s of retries.", "Run again in a few minutes; nothing was changed "
                               "that a re-run does not repair.", status=name or "UNAVAILABLE", http_status=status)
        if status == 401:
            return SheetsError(f"Google refused the credentials for Google Sheets ({message}).",
                               "Check the key file (--credentials or GOOGLE_APPLICATION_CREDENTIALS) or run "
                               "`gcloud auth application-default login` again.", status=name or "UNAUTHENTICATED",
                               http_status=status)
        if status == 403 and ("ACCESS_TOKEN_SCOPE_INSUFFICIENT" in reasons or "scope" in message.lower()):
            return SheetsError(f"The credentials ga4kit uses for Google Sheets lack the spreadsheets scope "
                               f"({message}).",
                               "A service-account key gets it by itself. For your own account, log in again "
                               "with it: gcloud auth application-default login --scopes=https://www.googleapis.com/"
                               "auth/analytics.readonly,https://www.googleapis.com/auth/spreadsheets,"
                               "https://www.googleapis.com/auth/cloud-platform", status=name or "PERMISSION_DENIED",
                               http_status=status)
        if status == 403 and ("SERVICE_DISABLED" in reasons or "has not been used in project" in message):
            return SheetsError(f"The Google Sheets API is not enabled for the credentials' Google Cloud project "
                               f"({message}).", "Enable \"Google Sheets API\" in Google Cloud > APIs & Services for "
                               "that project, wait a minute, and run again.", status=name or "PERMISSION_DENIED",
                               http_status=status)
        if status == 403:
            action = "edit" if write else "open"
            share = (f"Share the spreadsheet with {email} as Editor (Share > add {email}), then run again."
                     if email else "Share the spreadsheet as Editor with the Google account ga4kit calls as (the "
                     "client_email of a service-account key), then run again.")
            return SheetsError(f"{who} may not {action} {doc} ({message or 'PERMISSION_DENIED'}).", share,
                               status=name or "PERMISSION_DENIED", http_status=status)
        if status == 404:
            return SheetsError(f"The {doc} does not exist ({message or 'NOT_FOUND'}).",
                               "Copy the ID from the spreadsheet's address: https://docs.google.com/spreadsheets/"
                               "d/ID/edit, and write -o sheets://ID/TAB (or give the whole address).",
                               status=name or "NOT_FOUND", http_status=status)
        return SheetsError(f"Google Sheets refused {method} on {doc}: {message or status}.",
                           "This is likely a bug in ga4kit or a limit of Sheets; the spreadsheet was left as it was.",
                           status=name or "INVALID_ARGUMENT", http_status=status)


def _error_body(resp: Any) -> dict:
    try:
        data = resp.json()
    except ValueError:
        return {"message": (resp.text or "")[:300] or f"HTTP {resp.status_code}"}
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return error
    return {"message": str(error or data)[:300]}


def _short(error: dict) -> str:
    text = str(error.get("status") or error.get("message") or "")
    return text[:120]


def _refused(exc: Exception) -> bool:
    text = repr(exc)
    return any(marker in text for marker in ("Connection refused", "ConnectionRefusedError", "Name or service not "
                                             "known", "nodename nor servname", "getaddrinfo failed",
                                             "Failed to resolve", "NameResolutionError"))

"""A Sheets v4 stand-in over HTTP on loopback, beside the GA4 emulator: what ga4kit's Google Sheets
destination talks to in tests and demos, with Sheets' JSON shapes, errors and limits.

    stand_in = SheetsStandIn().start()           # or Emulator(...).sheets, started with the emulator
    sid = stand_in.create("Report", owner="me@example.com", writers=["robot@p.iam.gserviceaccount.com"])
    stand_in.endpoint                            # http://127.0.0.1:PORT, what GA4KIT_SHEETS_ENDPOINT holds

Methods (REST paths of sheets.googleapis.com): spreadsheets.create, get (ranges, includeGridData, fields)
and batchUpdate (:mod:`.sheets_requests`: addSheet, deleteSheet, updateSheetProperties, duplicateSheet,
updateCells, appendCells, repeatCell, copyPaste, append/insert/deleteDimension); spreadsheets.values.get,
batchGet, update, batchUpdate, append, clear and batchClear. Sharing is Drive's business at Google; the
stand-in takes ``POST /drive/v3/files/{id}/permissions`` ({"role": "writer"|"reader", "type": "user",
"emailAddress": ...}) from the owner, or :meth:`SheetsStandIn.share`.

Who calls: the ``x-ga4kit-principal`` header (else the emulator's default principal, the owner of the
demo spreadsheet), with ``x-ga4kit-scope`` when sent (a scope without "spreadsheets" gets 403
"Request had insufficient authentication scopes."). A spreadsheet has an owner, writers and readers; anyone
else gets 403 "The caller does not have permission", an unknown one 404 "Requested entity was not found.".

Faults for tests: :meth:`SheetsStandIn.fail` answers the next calls of a method with an error, before or
after carrying them out (a write applied whose answer is lost).

Limits, as Sheets': 60 write requests per minute per user and 300 per project, 300 reads per minute per user
and per project, in sliding one-minute windows on a clock tests can speed up (429 RESOURCE_EXHAUSTED with
Google's body and ErrorInfo; refused calls do not count); 10 million cells per spreadsheet (every cell of
every grid) and 50,000 characters per cell (400 INVALID_ARGUMENT). Settable smaller with
:class:`SheetsLimits`. ``latency`` ({method or "*": seconds}) slows calls down; ``calls`` logs each answered
call (method, status, bytes), ``arrivals`` each call as it arrives.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from .admin_store import DEFAULT_PRINCIPAL
from .sheets_model import (CELL_LIMIT, Sheet, SheetsError, Spreadsheet, apply_mask, bad, parse_mask)
from .sheets_requests import Batch, append_values, clear_values, write_values

log = logging.getLogger("ga4kit.emulator")

PRINCIPAL_HEADER = "x-ga4kit-principal"
SCOPE_HEADER = "x-ga4kit-scope"
CONSUMER = "project_number:ga4kit-emulator"
STATE_FILE = "sheets.json"
HANDLERS = {"spreadsheets.get": "_get", "spreadsheets.batchUpdate": "_batchUpdate",
            "spreadsheets.values.get": "_get_values", "spreadsheets.values.batchGet": "_batchGet",
            "spreadsheets.values.update": "_update", "spreadsheets.values.batchUpdate": "_batchUpdateValues",
            "spreadsheets.values.append": "_append", "spreadsheets.values.clear": "_clear",
            "spreadsheets.values.batchClear": "_batchClear", "drive.permissions.create": "_create_permission"}
WRITES = {"spreadsheets.create", "spreadsheets.batchUpdate", "spreadsheets.values.update",
          "spreadsheets.values.batchUpdate", "spreadsheets.values.append", "spreadsheets.values.clear",
          "spreadsheets.values.batchClear", "drive.permissions.create"}


@dataclass(frozen=True)
class SheetsLimits:
    """Sheets API limits (per minute; the stand-in is one project)."""

    write_requests_per_minute_per_user: int = 60
    write_requests_per_minute: int = 300
    read_requests_per_minute_per_user: int = 300
    read_requests_per_minute: int = 300
    cells_per_spreadsheet: int = CELL_LIMIT


@dataclass(frozen=True)
class SheetsCall:
    """One call the stand-in answered: ``status`` is the HTTP status code."""

    method: str
    http_method: str
    spreadsheet_id: str | None
    principal: str
    status: int
    write: bool
    request_bytes: int
    response_bytes: int


class SheetsQuota:
    """Sliding one-minute windows over reads and writes, per project and per user (``clock``: seconds)."""

    _NAMES = {  # (write, per user) -> (metric, limit name, ErrorInfo quota_limit, quota_metric)
        (True, True): ("Write requests", "Write requests per minute per user", "WriteRequestsPerMinutePerUser",
                       "sheets.googleapis.com/write_requests"),
        (True, False): ("Write requests", "Write requests per minute", "WriteRequestsPerMinutePerProject",
                        "sheets.googleapis.com/write_requests"),
        (False, True): ("Read requests", "Read requests per minute per user", "ReadRequestsPerMinutePerUser",
                        "sheets.googleapis.com/read_requests"),
        (False, False): ("Read requests", "Read requests per minute", "ReadRequestsPerMinutePerProject",
                         "sheets.googleapis.com/read_requests"),
    }

    def __init__(self, limits: SheetsLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._project = {True: deque(), False: deque()}
        self._users: dict = defaultdict(deque)

    def check(self, principal: str, write: bool) -> None:
        lim = self.limits
        with self._lock:
            now = self.clock()
            windows = [(self._project[write], lim.write_requests_per_minute if write else lim.read_requests_per_minute,
                        False),
                       (self._users[(principal, write)], lim.write_requests_per_minute_per_user if write
                        else lim.read_requests_per_minute_per_user, True)]
            for window, limit, per_user in windows:
                while window and window[0] <= now - 60.0:
                    window.popleft()
                if len(window) >= limit:
                    metric, name, quota_limit, quota_metric = self._NAMES[(write, per_user)]
                    raise SheetsError(429, "RESOURCE_EXHAUSTED",
                                      f"Quota exceeded for quota metric '{metric}' and limit '{name}' of service "
                                      f"'sheets.googleapis.com' for consumer '{CONSUMER}'.",
                                      [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                        "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                                        "metadata": {"quota_limit": quota_limit, "quota_metric": quota_metric,
                                                     "quota_limit_value": str(limit),
                                                     "consumer": "projects/ga4kit-emulator",
                                                     "service": "sheets.googleapis.com"}}])
            for window, _, _ in windows:
                window.append(now)

    def reset(self) -> None:
        with self._lock:
            for w in self._project.values():
                w.clear()
            self._users.clear()


class SheetsStandIn:
    """The spreadsheets, the HTTP server that serves them, its quota and call log. See the module docstring."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, limits: SheetsLimits | dict | None = None,
                 clock: Callable[[], float] = time.monotonic, state_dir: str | os.PathLike | None = None,
                 seed: int = 42, latency: dict[str, float] | None = None):
        if isinstance(limits, dict):
            unknown = set(limits) - {f.name for f in fields(SheetsLimits)}
            if unknown:
                raise ValueError(f"unknown Sheets limits: {', '.join(sorted(unknown))}")
            limits = replace(SheetsLimits(), **limits)
        self.limits = limits or SheetsLimits()
        self.quota = SheetsQuota(self.limits, clock)
        self.host, self._requested_port = host, int(port)
        self.port: int | None = None
        self.latency: dict[str, float] = dict(latency or {})
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self._rng = random.Random(f"sheets-{seed}")
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._calls: list[SheetsCall] = []
        self._arrivals: list[tuple[str, str | None]] = []
        self._faults: dict[str, list] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.state_dir = os.fspath(state_dir) if state_dir is not None else None
        if self.state_dir and os.path.exists(os.path.join(self.state_dir, STATE_FILE)):
            self._load()

    # ----------------------------------------------------------------- set-up for tests and demos
    def create(self, title: str = "Untitled spreadsheet", *, owner: str = DEFAULT_PRINCIPAL,
               writers: list[str] | tuple = (), readers: list[str] | tuple = (),
               spreadsheet_id: str | None = None, sheets: list[str] | tuple = ("Sheet1",)) -> str:
        """A new spreadsheet (as spreadsheets.create makes it: one 1000 x 26 sheet); returns its id."""
        with self._lock:
            sid = spreadsheet_id or self._new_id()
            ss = Spreadsheet(sid, title, owner, writers=set(writers), readers=set(readers))
            for i, name in enumerate(sheets):
                ss.sheets.append(Sheet(0 if i == 0 else self._sheet_id(), name, index=i))
            self.spreadsheets[sid] = ss
            return sid

    def share(self, spreadsheet_id: str, email: str, role: str = "writer") -> None:
        """Let ``email`` edit ("writer") or read ("reader") the spreadsheet."""
        with self._lock:
            ss = self.spreadsheets[spreadsheet_id]
            (ss.writers if role == "writer" else ss.readers).add(email)

    def unshare(self, spreadsheet_id: str, email: str) -> None:
        with self._lock:
            ss = self.spreadsheets[spreadsheet_id]
            ss.writers.discard(email)
            ss.readers.discard(email)

    def _new_id(self) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        while True:
            sid = "1" + "".join(self._rng.choice(alphabet) for _ in range(43))
            if sid not in self.spreadsheets:
                return sid

    def _sheet_id(self) -> int:
        return self._rng.randrange(1, 2 ** 31 - 1)

    def fail(self, method: str, code: int = 503, *, times: int = 1, after: bool = False, skip: int = 0) -> None:
        """Answer ``times`` calls of ``method`` ("spreadsheets.batchUpdate", "*"), after the next ``skip``,
        with HTTP ``code`` (429, 500, 503 ...); ``after``: carry the call out first and lose its answer, as
        when Sheets applied a write but the reply never arrived."""
        with self._log_lock:
            self._faults[method] = [int(code), int(times), bool(after), int(skip)]

    def _fault(self, method: str) -> tuple[int, bool] | None:
        with self._log_lock:
            for key in (method, "*"):
                rule = self._faults.get(key)
                if rule and rule[3] > 0:
                    rule[3] -= 1
                    return None
                if rule and rule[1] > 0:
                    rule[1] -= 1
                    return rule[0], rule[2]
        return None

    # ----------------------------------------------------------------- call log
    @property
    def calls(self) -> list[SheetsCall]:
        with self._log_lock:
            return list(self._calls)

    @property
    def arrivals(self) -> list[tuple[str, str | None]]:
        """(method, spreadsheet id) of every call as it arrived, before any latency or check."""
        with self._log_lock:
            return list(self._arrivals)

    def reset_calls(self) -> None:
        with self._log_lock:
            self._calls.clear()
            self._arrivals.clear()

    # ----------------------------------------------------------------- lifecycle
    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("the Sheets stand-in is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> SheetsStandIn:
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"stand_in": self})
        server = _Server((self.host, self._requested_port), handler)
        server.daemon_threads = True
        self._server, self.port = server, server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ga4kit-sheets", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        self.save()

    def __enter__(self) -> SheetsStandIn:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def save(self) -> None:
        if not self.state_dir:
            return
        with self._lock:
            data = {"spreadsheets": [ss.dump() for ss in self.spreadsheets.values()]}
        path = os.path.join(self.state_dir, STATE_FILE)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)

    def _load(self) -> None:
        with open(os.path.join(self.state_dir, STATE_FILE), encoding="utf-8") as fh:
            data = json.load(fh)
        for item in data.get("spreadsheets", []):
            ss = Spreadsheet.load(item)
            self.spreadsheets[ss.spreadsheet_id] = ss

    # ----------------------------------------------------------------- serving one call
    def handle(self, http_method: str, raw_path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, JSON answer) of one request."""
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        principal = headers.get(PRINCIPAL_HEADER) or DEFAULT_PRINCIPAL
        method, sid, args = "unknown", None, {}
        status, answer = 200, {}
        try:
            method, sid, args = _route(http_method, parts.path)
            with self._log_lock:
                self._arrivals.append((method, sid))
            delay = self.latency.get(method, self.latency.get("*", 0.0))
            if delay:
                time.sleep(delay)
            fault = self._fault(method)
            if fault and not fault[1]:
                raise _injected(fault[0])
            answer = self._dispatch(method, sid, args, query, principal, headers, body)
            if fault:
                raise _injected(fault[0])
            if "fields" in query and query["fields"][0]:
                answer = apply_mask(answer, parse_mask(query["fields"][0]))
        except SheetsError as exc:
            status, answer = exc.code, exc.body()
        except (ValueError, TypeError, KeyError, json.JSONDecodeError) as exc:
            status, answer = 400, bad(f"Invalid JSON payload received. {type(exc).__name__}: {exc}").body()
        except Exception:  # never take the server down; say so as Google would
            log.exception("sheets stand-in: %s %s failed", http_method, raw_path)
            status, answer = 500, SheetsError(500, "INTERNAL", "Internal error encountered.").body()
        out = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        with self._log_lock:
            self._calls.append(SheetsCall(method, http_method, sid, principal, status, method in WRITES, len(body),
                                          len(out)))
        return status, out

    def _dispatch(self, method: str, sid: str | None, args: dict, query: dict, principal: str, headers: dict,
                  body: bytes) -> dict:
        write = method in WRITES
        scope = headers.get(SCOPE_HEADER)
        if scope is not None and "spreadsheets" not in scope and method != "drive.permissions.create":
            raise SheetsError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
                              [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                                "metadata": {"service": "sheets.googleapis.com", "method": method}}])
        if write and scope is not None and scope.rstrip("/").endswith("spreadsheets.readonly"):
            raise SheetsError(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
        self.quota.check(principal, write)
        payload = json.loads(body.decode("utf-8")) if body.strip() else {}
        with self._lock:
            if method == "spreadsheets.create":
                return self._create(payload, principal)
            ss = self.spreadsheets.get(sid or "")
            if ss is None:
                raise SheetsError(404, "NOT_FOUND", "Requested entity was not found.")
            if not (ss.can_write(principal) if write else ss.can_read(principal)) or (
                    method == "drive.permissions.create" and principal != ss.owner):
                raise SheetsError(403, "PERMISSION_DENIED", "The caller does not have permission")
            return getattr(self, HANDLERS[method])(ss, args, query, payload)

    # ----------------------------------------------------------------- methods
    def _create(self, payload: dict, principal: str) -> dict:
        props = payload.get("properties", {})
        names = [s.get("properties", {}).get("title") or f"Sheet{i + 1}"
                 for i, s in enumerate(payload.get("sheets") or [{}])]
        sid = self.create(props.get("title") or "Untitled spreadsheet", owner=principal, sheets=names)
        ss = self.spreadsheets[sid]
        for sheet, item in zip(ss.sheets, payload.get("sheets") or []):
            grid = item.get("properties", {}).get("gridProperties", {})
            sheet.resize(int(grid.get("rowCount", sheet.rows)), int(grid.get("columnCount", sheet.cols)))
            sheet.hidden = bool(item.get("properties", {}).get("hidden", False))
        if ss.cells > self.limits.cells_per_spreadsheet:
            del self.spreadsheets[sid]
            raise bad(f"This action would increase the number of cells in the workbook above the limit of "
                      f"{self.limits.cells_per_spreadsheet} cells.")
        return ss.json()

    def _get(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        ranges = query.get("ranges", [])
        grid = _truthy(query.get("includeGridData"))
        blocks = [ss.resolve(r) for r in ranges]
        if grid and not blocks:
            blocks = [(s, 0, s.rows, 0, s.cols) for s in ss.sheets]
        answer = ss.json(grid=blocks if grid else None)
        if ranges:
            keep = {id(b[0]) for b in blocks}
            answer["sheets"] = [item for item, s in zip(answer["sheets"], ss.sheets) if id(s) in keep]
        return answer

    def _batchUpdate(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        batch = Batch(ss, cell_limit=self.limits.cells_per_spreadsheet, new_sheet_id=self._sheet_id)
        replies = batch.apply(payload.get("requests"))
        answer: dict = {"spreadsheetId": ss.spreadsheet_id, "replies": replies}
        if payload.get("includeSpreadsheetInResponse"):
            answer["updatedSpreadsheet"] = ss.json()
        return answer

    def _render(self, query: dict) -> tuple[str, str, bool]:
        value = query.get("valueRenderOption", ["FORMATTED_VALUE"])[0]
        moment = query.get("dateTimeRenderOption", ["SERIAL_NUMBER"])[0]
        major = query.get("majorDimension", ["ROWS"])[0]
        if value not in ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"):
            raise bad(f"Invalid valueRenderOption: {value}")
        if moment not in ("SERIAL_NUMBER", "FORMATTED_STRING"):
            raise bad(f"Invalid dateTimeRenderOption: {moment}")
        if major not in ("ROWS", "COLUMNS"):
            raise bad(f"Invalid majorDimension: {major}")
        return value, moment, major == "COLUMNS"

    def _value_range(self, ss: Spreadsheet, text: str, query: dict) -> dict:
        from .sheets_model import a1

        value, moment, by_columns = self._render(query)
        sheet, r0, r1, c0, c1 = ss.resolve(text)
        rows = sheet.values(r0, r1, c0, c1, value, moment, by_columns=by_columns)
        answer: dict = {"range": a1(sheet.title, r0, r1, c0, c1), "majorDimension": "COLUMNS" if by_columns
                        else "ROWS"}
        if rows:
            answer["values"] = rows
        return answer

    def _get_values(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        return self._value_range(ss, args["range"], query)

    def _batchGet(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        return {"spreadsheetId": ss.spreadsheet_id,
                "valueRanges": [self._value_range(ss, r, query) for r in query.get("ranges", [])]}

    def _update(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        work = ss.working_copy()
        answer = write_values(work, payload, query.get("valueInputOption", [None])[0], args["range"])
        self._check_cells(work)
        ss.commit(work)
        return answer

    def _batchUpdateValues(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        work = ss.working_copy()
        option = payload.get("valueInputOption")
        responses = [write_values(work, vr, option) for vr in payload.get("data") or []]
        self._check_cells(work)
        ss.commit(work)
        touched = {r["updatedRange"].rpartition("!")[0] for r in responses if r.get("updatedCells")}
        return {"spreadsheetId": ss.spreadsheet_id,
                "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
                "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
                "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
                "totalUpdatedSheets": len(touched), "responses": responses}

    def _append(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        work = ss.working_copy()
        answer = append_values(work, args["range"], payload, query.get("valueInputOption", [None])[0],
                               query.get("insertDataOption", ["OVERWRITE"])[0], self.limits.cells_per_spreadsheet)
        ss.commit(work)
        return answer

    def _clear(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        work = ss.working_copy()
        cleared = clear_values(work, args["range"])
        ss.commit(work)
        return {"spreadsheetId": ss.spreadsheet_id, "clearedRange": cleared}

    def _batchClear(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        work = ss.working_copy()
        cleared = [clear_values(work, r) for r in payload.get("ranges") or []]
        ss.commit(work)
        return {"spreadsheetId": ss.spreadsheet_id, "clearedRanges": cleared}

    def _create_permission(self, ss: Spreadsheet, args: dict, query: dict, payload: dict) -> dict:
        role, email = payload.get("role"), payload.get("emailAddress")
        if payload.get("type", "user") != "user" or role not in ("writer", "reader", "commenter") or not email:
            raise bad("The permission needs type \"user\", a role (writer or reader) and an emailAddress.")
        (ss.writers if role == "writer" else ss.readers).add(email)
        return {"kind": "drive#permission", "id": str(abs(hash(email)) % 10 ** 20), "type": "user",
                "role": role, "emailAddress": email}

    def _check_cells(self, work: Spreadsheet) -> None:
        if work.cells > self.limits.cells_per_spreadsheet:
            raise bad(f"This action would increase the number of cells in the workbook above the limit of "
                      f"{self.limits.cells_per_spreadsheet} cells.")


def _injected(code: int) -> SheetsError:
    names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
             504: "DEADLINE_EXCEEDED"}
    messages = {429: f"Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per "
                     f"user' of service 'sheets.googleapis.com' for consumer '{CONSUMER}'.",
                503: "The service is currently unavailable."}
    return SheetsError(code, names.get(code, "UNKNOWN"), messages.get(code, "Internal error encountered."))


def _truthy(values: list | None) -> bool:
    return bool(values) and values[0].lower() in ("true", "1")


_VALUE_VERBS = {("GET", ""): "get", ("PUT", ""): "update", ("POST", "append"): "append",
                ("POST", "clear"): "clear"}


def _route(http_method: str, path: str) -> tuple[str, str | None, dict]:
    """(method name, spreadsheet id, {range}) of a request path; 404 for a path Sheets does not serve."""
    not_found = SheetsError(404, "NOT_FOUND", f"Method not found: {http_method} {path}")
    if path.startswith("/drive/v3/files/") and path.endswith("/permissions") and http_method == "POST":
        return "drive.permissions.create", unquote(path[len("/drive/v3/files/"):-len("/permissions")]), {}
    prefix = "/v4/spreadsheets"
    if not path.startswith(prefix):
        raise not_found
    rest = path[len(prefix):]
    if rest in ("", "/"):
        if http_method != "POST":
            raise not_found
        return "spreadsheets.create", None, {}
    rest = rest[1:]
    cut = min((i for i in (rest.find("/"), rest.find(":")) if i >= 0), default=len(rest))
    sid, tail = unquote(rest[:cut]), rest[cut:]
    simple = {("GET", ""): "spreadsheets.get", ("POST", ":batchUpdate"): "spreadsheets.batchUpdate",
              ("GET", "/values:batchGet"): "spreadsheets.values.batchGet",
              ("POST", "/values:batchUpdate"): "spreadsheets.values.batchUpdate",
              ("POST", "/values:batchClear"): "spreadsheets.values.batchClear"}
    if (http_method, tail) in simple:
        return simple[(http_method, tail)], sid, {}
    if tail.startswith("/values/"):
        text = tail[len("/values/"):]
        verb = ""
        head, colon, last = text.rpartition(":")
        if colon and last in ("append", "clear"):
            text, verb = head, last
        name = _VALUE_VERBS.get((http_method, verb))
        if name:
            method = f"spreadsheets.values.{name}"
            return method, sid, {"range": unquote(text)}
    raise not_found


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (killed mid-request) is no error of the stand-in's.
        log.debug("sheets stand-in: a client at %s went away", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, JSON in and out."""

    protocol_version = "HTTP/1.1"
    stand_in: SheetsStandIn
    server_version = "ga4kit-sheets-stand-in"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, data = self.stand_in.handle(self.command, self.path, headers, body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        log.debug("sheets stand-in: " + format, *args)


__all__ = ["SheetsStandIn", "SheetsLimits", "SheetsCall", "SheetsQuota", "WRITES"]

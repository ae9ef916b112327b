"""A local stand-in for the BigQuery REST endpoints google-cloud-bigquery calls to run a query.

    POST /bigquery/v2/projects/P/queries           jobs.query
    GET  /bigquery/v2/projects/P/queries/JOB_ID    jobs.getQueryResults (rows, paged with pageToken)
    GET  /bigquery/v2/projects/P/jobs/JOB_ID       jobs.get

It executes the SQL it receives on DuckDB after transpiling it with sqlglot (BigQuery -> DuckDB), over GA4
export files registered as datasets (``add_dataset("proj", "analytics_1", path)`` makes
``proj.analytics_1.events_*`` with ``_TABLE_SUFFIX``), and answers in BigQuery's JSON: a schema and rows as
``{"f": [{"v": "..."}]}`` with every scalar as a string. ``complete_after`` makes jobs.query answer
``jobComplete: false`` and the first N getQueryResults calls too, so the client's polling path runs;
``page_rows`` pages the rows. Every request is logged (``requests``) and every query text kept
(``queries``), so a test can check what the real client sent.

Like the GA4 emulator, it imports nothing of ga4kit: it must not share ga4kit's mistakes.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

_QUERY = re.compile(r"^/bigquery/v2/projects/([^/]+)/queries$")
_RESULTS = re.compile(r"^/bigquery/v2/projects/([^/]+)/queries/([^/]+)$")
_JOB = re.compile(r"^/bigquery/v2/projects/([^/]+)/jobs/([^/]+)$")
_TABLE = re.compile(r'"([^"]+)"\."([^"]+)"\."events_\*"')


class BigQueryStandIn:
    def __init__(self, *, complete_after: int = 0, page_rows: int | None = None, location: str = "US"):
        import duckdb

        self.complete_after = complete_after
        self.page_rows = page_rows
        self.location = location
        self.requests: list[tuple[str, str, dict | None]] = []
        self.queries: list[str] = []
        self._jobs: dict[str, dict] = {}
        self._datasets: set[tuple[str, str]] = set()
        self._con = duckdb.connect()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ---- setup ------------------------------------------------------------------------------------
    def add_dataset(self, project: str, dataset: str, path: str | Path) -> None:
        """Serve the export file ``path`` (Parquet or NDJSON) as ``project.dataset.events_*``."""
        path = str(path)
        reader = (f"read_parquet('{path}')" if path.endswith(".parquet")
                  else f"read_json('{path}', format = 'newline_delimited')")
        with self._lock:
            if project not in {p for p, _ in self._datasets}:
                self._con.execute(f'ATTACH \':memory:\' AS "{project}"')
            self._con.execute(f'CREATE SCHEMA IF NOT EXISTS "{project}"."{dataset}"')
            self._con.execute(f'CREATE OR REPLACE VIEW "{project}"."{dataset}"."events_*" AS '
                              f"SELECT *, event_date AS _TABLE_SUFFIX FROM {reader}")
            self._datasets.add((project, dataset))

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "BigQueryStandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._con.close()

    # ---- the API ----------------------------------------------------------------------------------
    def _query(self, project: str, body: dict) -> tuple[int, dict]:
        sql = body.get("query", "")
        self.queries.append(sql)
        if body.get("useLegacySql", True):
            return _error(400, "invalidQuery", "Legacy SQL is not supported by this stand-in.")
        import sqlglot

        try:
            text = sqlglot.transpile(sql, read="bigquery", write="duckdb")[0]
        except sqlglot.errors.ParseError as exc:
            return _error(400, "invalidQuery", f"Syntax error: {exc}")
        for proj, ds in _TABLE.findall(text):
            if (proj, ds) not in self._datasets:
                return _error(404, "notFound", f"Not found: Dataset {proj}:{ds} was not found in location "
                                               f"{self.location}")
        import duckdb

        try:
            with self._lock:
                frame = self._con.execute(text).df()
        except duckdb.Error as exc:
            return _error(400, "invalidQuery", str(exc).splitlines()[0])
        job_id = "job_" + uuid.uuid4().hex[:20]
        self._jobs[job_id] = {"project": project, "sql": sql, "frame": frame, "polls": 0}
        answer = self._results(job_id, {"maxResults": [str(body["maxResults"])]} if "maxResults" in body else {})
        answer["kind"] = "bigquery#queryResponse"
        return 200, answer

    def _results(self, job_id: str, params: dict) -> dict:
        job = self._jobs[job_id]
        ref = {"projectId": job["project"], "jobId": job_id, "location": self.location}
        if job["polls"] < self.complete_after:
            job["polls"] += 1
            return {"kind": "bigquery#getQueryResultsResponse", "jobReference": ref, "jobComplete": False}
        frame = job["frame"]
        start = int(params.get("pageToken", ["0"])[0] or 0) if "pageToken" in params else \
            int(params.get("startIndex", ["0"])[0] or 0)
        size = len(frame)
        if "maxResults" in params:
            size = int(params["maxResults"][0])
        if self.page_rows is not None:
            size = min(size, self.page_rows)
        rows = frame.iloc[start:start + size]
        answer = {"kind": "bigquery#getQueryResultsResponse", "jobReference": ref, "jobComplete": True,
                  "schema": {"fields": [{"name": str(c), "type": _bq_type(frame[c].dtype), "mode": "NULLABLE"}
                                        for c in frame.columns]},
                  "totalRows": str(len(frame)), "totalBytesProcessed": "0", "cacheHit": False,
                  "rows": [{"f": [{"v": _cell(v)} for v in rec]} for rec in rows.itertuples(index=False)]}
        if start + len(rows) < len(frame):
            answer["pageToken"] = str(start + len(rows))
        return answer

    def _job(self, job_id: str) -> dict:
        job = self._jobs[job_id]
        done = job["polls"] >= self.complete_after
        stats = {"creationTime": "0", "startTime": "0",
                 "query": {"totalBytesProcessed": "0", "statementType": "SELECT"}}
        if done:
            stats["endTime"] = "1"
        return {"kind": "bigquery#job", "id": f"{job['project']}:{self.location}.{job_id}",
                "jobReference": {"projectId": job["project"], "jobId": job_id, "location": self.location},
                "configuration": {"jobType": "QUERY", "query": {"query": job["sql"], "useLegacySql": False}},
                "status": {"state": "DONE" if done else "RUNNING"}, "statistics": stats}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, code: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                url = urlparse(self.path)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                standin.requests.append(("POST", url.path, body))
                m = _QUERY.match(url.path)
                if not m:
                    return self._send(*_error(404, "notFound", f"No stand-in for POST {url.path}"))
                self._send(*standin._query(m.group(1), body))

            def do_GET(self):
                url = urlparse(self.path)
                params = parse_qs(url.query)
                standin.requests.append(("GET", url.path, None))
                m = _RESULTS.match(url.path) or _JOB.match(url.path)
                if not m or m.group(2) not in standin._jobs:
                    return self._send(*_error(404, "notFound", f"Not found: Job {url.path}"))
                if _RESULTS.match(url.path):
                    return self._send(200, standin._results(m.group(2), params))
                self._send(200, standin._job(m.group(2)))

        return Handler


def _bq_type(dtype) -> str:
    kind = getattr(dtype, "kind", "O")
    if kind in "iu":
        return "INTEGER"
    if kind == "f":
        return "FLOAT"
    if kind == "b":
        return "BOOLEAN"
    return "STRING"


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else repr(value)
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error(code: int, reason: str, message: str) -> tuple[int, dict]:
    status = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(code, "UNKNOWN")
    return code, {"error": {"code": code, "message": message, "status": status,
                            "errors": [{"reason": reason, "message": message, "domain": "global"}]}}

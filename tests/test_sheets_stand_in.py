"""The emulator's Google Sheets v4 stand-in, over HTTP with plain urllib: the REST paths and JSON shapes of
spreadsheets.create/get/batchUpdate and spreadsheets.values.get/batchGet/update/batchUpdate/append/clear/
batchClear, Google's error bodies (403, 404, 400, 429), sharing, the cell and character limits, the
per-user write quota on a clock the test speeds up, atomic batches, and how the emulator announces it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from ga4kit.emulator import Emulator
from ga4kit.emulator.sheets import SheetsStandIn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWNER = "owner@ga4kit.local"


class Http:
    """JSON over HTTP to the stand-in, as a person with curl would call it."""

    def __init__(self, endpoint: str, principal: str | None = None):
        self.endpoint, self.principal = endpoint, principal

    def __call__(self, method: str, path: str, body=None, **params) -> tuple[int, dict]:
        query = urllib.parse.urlencode([(k, v) for k, vs in params.items()
                                        for v in (vs if isinstance(vs, list) else [vs])])
        req = urllib.request.Request(self.endpoint + path + (f"?{query}" if query else ""), method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if self.principal:
            req.add_header("x-ga4kit-principal", self.principal)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def ok(self, method: str, path: str, body=None, **params) -> dict:
        status, answer = self(method, path, body, **params)
        assert status == 200, answer
        return answer


@pytest.fixture(scope="module")
def stand_in():
    s = SheetsStandIn().start()
    yield s
    s.stop()


@pytest.fixture
def http(stand_in):
    return Http(stand_in.endpoint)


def values(http, sid, rng, **params):
    return http.ok("GET", f"/v4/spreadsheets/{sid}/values/{urllib.parse.quote(rng, safe='')}", **params)


def test_create_and_get_answer_sheets_shapes(http):
    created = http.ok("POST", "/v4/spreadsheets", {"properties": {"title": "Report"}})
    sid = created["spreadsheetId"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{44}", sid)
    assert created["spreadsheetUrl"] == f"https://docs.google.com/spreadsheets/d/{sid}/edit"
    assert created["properties"]["title"] == "Report" and created["properties"]["locale"] == "en_US"
    assert created["sheets"] == [{"properties": {"sheetId": 0, "title": "Sheet1", "index": 0, "sheetType": "GRID",
                                                 "gridProperties": {"rowCount": 1000, "columnCount": 26}}}]
    # A field mask keeps only what was asked for, with parentheses or dots.
    assert http.ok("GET", f"/v4/spreadsheets/{sid}", fields="sheets(properties(sheetId,title))") == {
        "sheets": [{"properties": {"sheetId": 0, "title": "Sheet1"}}]}
    assert http.ok("GET", f"/v4/spreadsheets/{sid}", fields="spreadsheetId,sheets.properties.gridProperties") == {
        "spreadsheetId": sid, "sheets": [{"properties": {"gridProperties": {"rowCount": 1000, "columnCount": 26}}}]}


def test_values_round_trip_raw_and_user_entered(http, stand_in):
    sid = stand_in.create("v")
    answer = http.ok("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", {
        "valueInputOption": "RAW",
        "data": [{"range": "Sheet1!A1", "majorDimension": "ROWS",
                  "values": [["text", "=HYPERLINK(\"http://x\")", 3.0, True], [1.5, None, "0123"]]}]})
    assert answer["totalUpdatedCells"] == 6 and answer["totalUpdatedSheets"] == 1
    assert answer["responses"] == [{"spreadsheetId": sid, "updatedRange": "Sheet1!A1:D2", "updatedRows": 2,
                                    "updatedColumns": 4, "updatedCells": 6}]
    got = values(http, sid, "Sheet1", valueRenderOption="UNFORMATTED_VALUE")
    assert got == {"range": "Sheet1!A1:Z1000", "majorDimension": "ROWS",
                   "values": [["text", "=HYPERLINK(\"http://x\")", 3, True], [1.5, "", "0123"]]}
    assert values(http, sid, "Sheet1!A1:D2")["values"] == [["text", "=HYPERLINK(\"http://x\")", "3", "TRUE"],
                                                           ["1.5", "", "0123"]]
    # RAW keeps the "=" text a string; USER_ENTERED makes a formula and parses numbers and ISO dates.
    http.ok("PUT", f"/v4/spreadsheets/{sid}/values/{urllib.parse.quote('Sheet1!A3')}",
            {"values": [["=1+1", "12", "2026-11-05", "'=text"]]}, valueInputOption="USER_ENTERED")
    grid = http.ok("GET", f"/v4/spreadsheets/{sid}", ranges="Sheet1!A1:D3", includeGridData="true",
                   fields="sheets.data.rowData.values(userEnteredValue,userEnteredFormat)")
    rows = grid["sheets"][0]["data"][0]["rowData"]
    assert rows[0]["values"][1] == {"userEnteredValue": {"stringValue": "=HYPERLINK(\"http://x\")"}}
    assert rows[2]["values"] == [{"userEnteredValue": {"formulaValue": "=1+1"}},
                                 {"userEnteredValue": {"numberValue": 12}},
                                 {"userEnteredValue": {"numberValue": 46331},
                                  "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}},
                                 {"userEnteredValue": {"stringValue": "=text"}}]
    assert values(http, sid, "Sheet1!C3", valueRenderOption="UNFORMATTED_VALUE")["values"] == [[46331]]
    assert values(http, sid, "Sheet1!C3", valueRenderOption="UNFORMATTED_VALUE",
                  dateTimeRenderOption="FORMATTED_STRING")["values"] == [["2026-11-05"]]
    assert values(http, sid, "Sheet1!A:A", majorDimension="COLUMNS")["values"] == [["text", "1.5", "=1+1"]]


def test_batch_get_append_clear_and_batch_clear(http, stand_in):
    sid = stand_in.create("a", sheets=("Data", "My 'tab'"))
    base = f"/v4/spreadsheets/{sid}"
    http.ok("POST", f"{base}/values:batchUpdate", {"valueInputOption": "RAW", "data": [
        {"range": "Data!A1:B2", "values": [["h1", "h2"], [1, 2]]},
        {"range": "'My ''tab'''!B2", "values": [["x"]]}]})
    appended = http.ok("POST", f"{base}/values/{urllib.parse.quote('Data!A1')}:append",
                       {"values": [[3, 4], [5, 6]]}, valueInputOption="RAW", insertDataOption="INSERT_ROWS")
    assert appended == {"spreadsheetId": sid, "tableRange": "Data!A1:B2",
                        "updates": {"spreadsheetId": sid, "updatedRange": "Data!A3:B4", "updatedRows": 2,
                                    "updatedColumns": 2, "updatedCells": 4}}
    got = http.ok("GET", f"{base}/values:batchGet", ranges=["Data", "'My ''tab'''!A1:C3"],
                  valueRenderOption="UNFORMATTED_VALUE")
    assert got == {"spreadsheetId": sid, "valueRanges": [
        {"range": "Data!A1:Z1002", "majorDimension": "ROWS", "values": [["h1", "h2"], [1, 2], [3, 4], [5, 6]]},
        {"range": "'My ''tab'''!A1:C3", "majorDimension": "ROWS", "values": [[], ["", "x"]]}]}
    assert http.ok("POST", f"{base}/values:batchClear", {"ranges": ["Data!A2:B3"]}) == {
        "spreadsheetId": sid, "clearedRanges": ["Data!A2:B3"]}
    assert http.ok("POST", f"{base}/values/Data!B1:clear") == {"spreadsheetId": sid, "clearedRange": "Data!B1"}
    assert values(http, sid, "Data", valueRenderOption="UNFORMATTED_VALUE")["values"] == [["h1"], [], [], [5, 6]]


def test_batch_update_requests_and_their_replies(http, stand_in):
    sid = stand_in.create("b")
    base = f"/v4/spreadsheets/{sid}"
    http.ok("POST", f"{base}/values:batchUpdate", {"valueInputOption": "RAW", "data": [
        {"range": "Sheet1!A1:B3", "values": [["d", "n"], [46331, 1], [46332, 2]]}]})
    reply = http.ok("POST", f"{base}:batchUpdate", {"requests": [
        {"addSheet": {"properties": {"sheetId": 77, "title": "stage", "hidden": True,
                                     "gridProperties": {"rowCount": 3, "columnCount": 2}}}},
        {"copyPaste": {"source": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 3, "startColumnIndex": 0,
                                  "endColumnIndex": 2},
                       "destination": {"sheetId": 77, "startRowIndex": 0, "startColumnIndex": 0},
                       "pasteType": "PASTE_VALUES"}},
        {"repeatCell": {"range": {"sheetId": 77, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 0,
                                  "endColumnIndex": 1},
                        "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "dd.mm.yyyy"}}},
                        "fields": "userEnteredFormat.numberFormat"}},
        {"updateCells": {"start": {"sheetId": 77, "rowIndex": 0, "columnIndex": 1},
                         "rows": [{"values": [{"userEnteredValue": {"stringValue": "count"}}]}],
                         "fields": "userEnteredValue"}},
        {"appendCells": {"sheetId": 77, "rows": [{"values": [{"userEnteredValue": {"numberValue": 46333}},
                                                            {"userEnteredValue": {"boolValue": False}}]}],
                         "fields": "userEnteredValue"}},
        {"duplicateSheet": {"sourceSheetId": 77, "newSheetId": 78, "newSheetName": "copy"}},
        {"updateSheetProperties": {"properties": {"sheetId": 77, "title": "final", "hidden": False},
                                   "fields": "title,hidden"}},
        {"deleteSheet": {"sheetId": 0}},
        {"deleteDimension": {"range": {"sheetId": 78, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}},
    ]})
    assert reply["spreadsheetId"] == sid and len(reply["replies"]) == 9
    assert reply["replies"][0] == {"addSheet": {"properties": {
        "sheetId": 77, "title": "stage", "index": 1, "sheetType": "GRID", "hidden": True,
        "gridProperties": {"rowCount": 3, "columnCount": 2}}}}
    assert reply["replies"][5]["duplicateSheet"]["properties"]["title"] == "copy"
    assert all(r == {} for i, r in enumerate(reply["replies"]) if i not in (0, 5))
    sheets = http.ok("GET", base, fields="sheets.properties(sheetId,title,index,hidden,gridProperties)")["sheets"]
    assert [s["properties"] for s in sheets] == [
        {"sheetId": 77, "title": "final", "index": 0, "gridProperties": {"rowCount": 4, "columnCount": 2}},
        {"sheetId": 78, "title": "copy", "index": 1, "hidden": True,
         "gridProperties": {"rowCount": 3, "columnCount": 2}}]
    assert values(http, sid, "final")["values"] == [["d", "count"], ["05.11.2026", "1"], ["06.11.2026", "2"],
                                                   ["46333", "FALSE"]]
    assert values(http, sid, "copy", valueRenderOption="UNFORMATTED_VALUE",
                  dateTimeRenderOption="FORMATTED_STRING")["values"] == [["d", "count"], ["06.11.2026", 2],
                                                                         [46333, False]]


def test_a_batch_with_one_bad_request_changes_nothing(http, stand_in):
    sid = stand_in.create("atomic")
    base = f"/v4/spreadsheets/{sid}"
    before = http.ok("GET", base)
    status, answer = http("POST", f"{base}:batchUpdate", {"requests": [
        {"addSheet": {"properties": {"title": "new"}}},
        {"updateCells": {"start": {"sheetId": 0}, "rows": [{"values": [{"userEnteredValue": {"numberValue": 1}}]}],
                         "fields": "userEnteredValue"}},
        {"deleteSheet": {"sheetId": 12345}}]})
    assert status == 400
    assert answer == {"error": {"code": 400, "message": "Invalid requests[2].deleteSheet: No grid with id: 12345",
                                "status": "INVALID_ARGUMENT"}}
    assert http.ok("GET", base) == before
    assert "values" not in values(http, sid, "Sheet1")
    status, answer = http("POST", f"{base}:batchUpdate", {"requests": [{"addChart": {}}]})
    assert status == 501 and answer["error"]["status"] == "UNIMPLEMENTED"


def test_errors_as_google_answers_them(http, stand_in):
    sid = stand_in.create("private", owner="someone@example.com")
    robot = Http(http.endpoint, "robot@project.iam.gserviceaccount.com")
    assert robot("GET", f"/v4/spreadsheets/{sid}") == (403, {"error": {
        "code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}})
    assert robot("GET", "/v4/spreadsheets/1nosuchspreadsheetatall") == (404, {"error": {
        "code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}})
    # Shared as reader: reads pass, writes do not. Shared as writer (Drive's permissions call): both.
    stand_in.share(sid, robot.principal, "reader")
    assert robot("GET", f"/v4/spreadsheets/{sid}")[0] == 200
    assert robot("POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [{"addSheet": {}}]})[0] == 403
    owner = Http(http.endpoint, "someone@example.com")
    owner.ok("POST", f"/drive/v3/files/{sid}/permissions", {"role": "writer", "type": "user",
                                                            "emailAddress": robot.principal})
    assert robot("POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [{"addSheet": {}}]})[0] == 200
    status, answer = owner("GET", f"/v4/spreadsheets/{sid}/values/{urllib.parse.quote('Nope!A1')}")
    assert (status, answer["error"]["message"]) == (400, "Unable to parse range: Nope!A1")
    status, answer = owner("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate",
                           {"data": [{"range": "Sheet1!A1", "values": [[1]]}]})
    assert (status, answer["error"]["message"]) == (400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
    status, answer = owner("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate",
                           {"valueInputOption": "RAW", "data": [{"range": "Sheet1!A1001", "values": [[1]]}]})
    assert (status, answer["error"]["message"]) == (400, "Range (Sheet1!A1001) exceeds grid limits. Max rows: 1000, "
                                                         "max columns: 26")
    status, answer = owner("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate",
                           {"valueInputOption": "RAW", "data": [{"range": "Sheet1!A1", "values": [["x" * 50_001]]}]})
    assert (status, answer["error"]["message"]) == (400, "Your input contains more than the maximum of 50000 "
                                                         "characters in a single cell.")
    # A token without the spreadsheets scope (the emulator's clients send their scope in a header).
    req = urllib.request.Request(f"{http.endpoint}/v4/spreadsheets/{sid}",
                                 headers={"x-ga4kit-scope": "https://www.googleapis.com/auth/analytics.readonly",
                                          "x-ga4kit-principal": "someone@example.com"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 403
    assert json.loads(exc.value.read())["error"]["message"] == "Request had insufficient authentication scopes."


def test_the_cell_limit_counts_every_cell_of_every_grid():
    with SheetsStandIn(limits={"cells_per_spreadsheet": 30_000}) as s:
        http = Http(s.endpoint)
        sid = s.create("small")  # one 1000 x 26 sheet: 26,000 cells
        status, answer = http("POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [
            {"addSheet": {"properties": {"title": "ok", "gridProperties": {"rowCount": 100, "columnCount": 40}}}},
            {"addSheet": {"properties": {"title": "too much", "gridProperties": {"rowCount": 10, "columnCount": 2}}}}]})
        assert status == 400 and answer["error"] == {
            "code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid requests[1].addSheet: This action would increase the number of cells in the workbook "
                       "above the limit of 30000 cells."}
        assert [t["properties"]["title"] for t in http.ok("GET", f"/v4/spreadsheets/{sid}")["sheets"]] == ["Sheet1"]
        # Shrinking one tab makes room for another, in the same batch.
        http.ok("POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [
            {"updateSheetProperties": {"properties": {"sheetId": 0, "gridProperties": {"rowCount": 100}},
                                       "fields": "gridProperties.rowCount"}},
            {"addSheet": {"properties": {"title": "fits", "gridProperties": {"rowCount": 1000, "columnCount": 27}}}}]})
        assert s.spreadsheets[sid].cells == 2_600 + 27_000


def test_writes_per_minute_per_user_answer_429_until_the_minute_has_passed():
    clock = [1000.0]
    with SheetsStandIn(limits={"write_requests_per_minute_per_user": 3}, clock=lambda: clock[0]) as s:
        sid = s.create("q", writers=["b@example.com"])
        a, b = Http(s.endpoint), Http(s.endpoint, "b@example.com")
        body = {"valueInputOption": "RAW", "data": [{"range": "Sheet1!A1", "values": [[1]]}]}
        path = f"/v4/spreadsheets/{sid}/values:batchUpdate"
        assert [a(("POST"), path, body)[0] for _ in range(3)] == [200, 200, 200]
        status, answer = a("POST", path, body)
        assert status == 429
        assert answer["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert answer["error"]["message"] == (
            "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user' of "
            "service 'sheets.googleapis.com' for consumer 'project_number:ga4kit-emulator'.")
        info = answer["error"]["details"][0]
        assert info["reason"] == "RATE_LIMIT_EXCEEDED" and info["metadata"]["quota_limit"] == \
            "WriteRequestsPerMinutePerUser"
        assert a("GET", f"/v4/spreadsheets/{sid}")[0] == 200  # reads have their own quota
        assert b("POST", path, body)[0] == 200  # another user has his own minute
        clock[0] += 59.9
        assert a("POST", path, body)[0] == 429
        clock[0] += 0.2
        assert a("POST", path, body)[0] == 200
        refused = [c for c in s.calls if c.status == 429]
        assert len(refused) == 2 and all(c.write and c.principal == OWNER for c in refused)


def test_faults_answer_before_or_after_carrying_the_call_out():
    with SheetsStandIn() as s:
        sid = s.create("f")
        http = Http(s.endpoint)
        add = {"requests": [{"addSheet": {"properties": {"title": "once"}}}]}
        s.fail("spreadsheets.batchUpdate", 503, after=True)
        status, answer = http("POST", f"/v4/spreadsheets/{sid}:batchUpdate", add)
        assert status == 503 and answer["error"]["status"] == "UNAVAILABLE"
        assert [t.title for t in s.spreadsheets[sid].sheets] == ["Sheet1", "once"]  # done, answer lost
        s.fail("spreadsheets.batchUpdate", 500, skip=1)
        assert http("POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [{"addSheet": {}}]})[0] == 200
        assert http("POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [{"addSheet": {}}]})[0] == 500
        assert len(s.spreadsheets[sid].sheets) == 3


def test_state_dir_keeps_spreadsheets_across_restarts(tmp_path):
    with SheetsStandIn(state_dir=tmp_path) as s:
        sid = s.create("kept", writers=["w@example.com"])
        Http(s.endpoint).ok("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", {
            "valueInputOption": "USER_ENTERED", "data": [{"range": "Sheet1!A1", "values": [["=A2", "2026-01-02"]]}]})
    with SheetsStandIn(state_dir=tmp_path) as s:
        assert s.spreadsheets[sid].writers == {"w@example.com"}
        assert values(Http(s.endpoint), sid, "Sheet1", valueRenderOption="FORMULA")["values"] == [["=A2", 46024]]


def test_the_emulator_serves_the_stand_in_and_tells_its_address_over_grpc():
    import grpc

    with Emulator(demo=False) as emu:
        assert emu.sheets_endpoint == f"http://127.0.0.1:{emu.sheets.port}" and emu.sheets.port != emu.port
        with grpc.insecure_channel(emu.address) as channel:
            answer = channel.unary_unary("/ga4kit.emulator.v1.Emulator/GetEndpoints")(b"", timeout=10)
        assert json.loads(answer) == {"sheets": emu.sheets_endpoint}
        sid = emu.sheets.create("e")
        assert Http(emu.sheets_endpoint).ok("GET", f"/v4/spreadsheets/{sid}")["spreadsheetId"] == sid
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{emu.sheets_endpoint}/v4/spreadsheets/{sid}", timeout=5)


def test_emulator_start_prints_the_sheets_endpoint_and_a_demo_spreadsheet():
    proc = subprocess.Popen([sys.executable, "-m", "ga4kit", "emulator", "start", "--days", "2", "--users", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO))
    try:
        lines = []
        while not lines or not lines[-1].startswith("Use it with"):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        [endpoint] = [re.fullmatch(r"GA4KIT_SHEETS_ENDPOINT=(http://127\.0\.0\.1:\d+)\n", ln).group(1)
                      for ln in lines if ln.startswith("GA4KIT_SHEETS_ENDPOINT=")]
        [sid] = re.findall(r"spreadsheet (\S+): ga4kit demo \(owner owner@ga4kit.local\): -o sheets://\1/ga4",
                           "".join(lines))
        assert Http(endpoint).ok("GET", f"/v4/spreadsheets/{sid}")["properties"]["title"] == "ga4kit demo"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

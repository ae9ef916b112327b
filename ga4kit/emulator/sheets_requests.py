"""The Sheets stand-in's writes: the ``spreadsheets.batchUpdate`` requests and the values methods that
write (update, batchUpdate, append, clear, batchClear), applied to a working copy of a spreadsheet.

A batchUpdate applies its requests in order to one working copy and commits only when all succeeded, as
Sheets does ("if any request is not valid, the entire request fails and nothing is applied"); after each
request the spreadsheet's cell count is checked against the limit, so the error names the request that
passed it ("Invalid requests[2].addSheet: This action would increase the number of cells in the workbook
above the limit of 10000000 cells.").
"""

from __future__ import annotations

from typing import Callable

from .sheets_model import (DEFAULT_COLS, DEFAULT_ROWS, Sheet, SheetsError, Spreadsheet, a1, bad, check_chars,
                           column_letters, from_extended, mask_paths, typed, user_entered)

IMPLEMENTED = ("addSheet", "deleteSheet", "updateSheetProperties", "duplicateSheet", "updateCells", "appendCells",
               "repeatCell", "copyPaste", "appendDimension", "insertDimension", "deleteDimension")


def _limit_error(where: str, limit: int) -> SheetsError:
    return bad(f"{where}This action would increase the number of cells in the workbook above the limit of "
               f"{limit} cells.")


def _grid_error(sheet: Sheet, row: int, col: int) -> SheetsError:
    """Sheets names the first cell beyond the grid (0-based ``row``, ``col``)."""
    return bad(f"Range ({a1(sheet.title, row, row + 1, col, col + 1)}) exceeds grid limits. "
               f"Max rows: {sheet.rows}, max columns: {sheet.cols}")


def _fits(sheet: Sheet, r1: int, c1: int, r0: int = 0, c0: int = 0) -> None:
    """Raise when the block r0..r1 x c0..c1 (half-open) passes the grid."""
    if r1 > sheet.rows:
        raise _grid_error(sheet, sheet.rows, c0)
    if c1 > sheet.cols:
        raise _grid_error(sheet, r0, sheet.cols)


def _grid_range(work: Spreadsheet, rng: dict, where: str) -> tuple[Sheet, int, int, int, int]:
    sheet = work.sheet(int(rng.get("sheetId", 0)), where)
    r0, r1 = int(rng.get("startRowIndex", 0)), int(rng.get("endRowIndex", sheet.rows))
    c0, c1 = int(rng.get("startColumnIndex", 0)), int(rng.get("endColumnIndex", sheet.cols))
    if r0 < 0 or c0 < 0 or r1 < r0 or c1 < c0:
        raise bad(f"{where}Invalid range: {rng}")
    _fits(sheet, r1, c1, r0, c0)
    return sheet, r0, r1, c0, c1


class Batch:
    """One batchUpdate: ``apply(requests)`` returns the replies; raises SheetsError and changes nothing when
    a request is invalid."""

    def __init__(self, spreadsheet: Spreadsheet, *, cell_limit: int, new_sheet_id: Callable[[], int]):
        self.original = spreadsheet
        self.work = spreadsheet.working_copy()
        self.cell_limit = cell_limit
        self.new_sheet_id = new_sheet_id

    def apply(self, requests: list) -> list:
        if not isinstance(requests, list) or not requests:
            raise bad("Must specify at least one request.")
        replies = []
        for i, request in enumerate(requests):
            if not isinstance(request, dict) or len(request) != 1:
                raise bad(f"Invalid requests[{i}]: exactly one kind of request must be set.")
            (kind, body), = request.items()
            where = f"Invalid requests[{i}].{kind}: "
            handler = getattr(self, f"_{kind}", None) if kind in IMPLEMENTED else None
            if handler is None:
                raise SheetsError(501, "UNIMPLEMENTED",
                                  f"requests[{i}].{kind} is not implemented by ga4kit's Sheets stand-in "
                                  f"(it implements {', '.join(IMPLEMENTED)}).")
            before = self.work.cells
            reply = handler(body or {}, where)
            if self.work.cells > self.cell_limit and self.work.cells > before:
                raise _limit_error(where, self.cell_limit)
            replies.append(reply or {})
        self.work.reindex()
        self.original.commit(self.work)
        return replies

    # ---- sheets
    def _sheet_props(self, sheet: Sheet, props: dict, paths: set[str], where: str) -> None:
        def wanted(path: str) -> bool:
            return "*" in paths or path in paths or path.split(".")[0] in paths

        grid = props.get("gridProperties", {})
        if wanted("title") and "title" in props:
            title = str(props["title"])
            other = self.work.by_title(title)
            if not title.strip():
                raise bad(f"{where}The sheet name cannot be empty.")
            if other is not None and other is not sheet:
                raise bad(f'{where}A sheet with the name "{title}" already exists. Please enter another name.')
            sheet.title = title
        if wanted("hidden"):
            sheet.hidden = bool(props.get("hidden", False))
        rows = grid.get("rowCount", sheet.rows) if wanted("gridProperties.rowCount") else sheet.rows
        cols = grid.get("columnCount", sheet.cols) if wanted("gridProperties.columnCount") else sheet.cols
        if (rows, cols) != (sheet.rows, sheet.cols):
            # Sheets sets the row count first and checks the limit in between (a taller grid with the old
            # width can pass it even when the final size would not).
            sheet.resize(int(rows), sheet.cols)
            if self.work.cells > self.cell_limit:
                raise _limit_error(where, self.cell_limit)
            sheet.resize(int(rows), int(cols))
        if wanted("gridProperties.frozenRowCount"):
            sheet.frozen_rows = int(grid.get("frozenRowCount", 0))
        if wanted("gridProperties.frozenColumnCount"):
            sheet.frozen_cols = int(grid.get("frozenColumnCount", 0))
        if wanted("index") and "index" in props:
            self.work.sheets = [s for s in self.work.sheets if s is not sheet]
            self.work.sheets.insert(max(0, min(int(props["index"]), len(self.work.sheets))), sheet)
        if all(s.hidden for s in self.work.sheets):
            raise bad(f"{where}You can't hide all the sheets in a document.")

    def _addSheet(self, body: dict, where: str) -> dict:
        props = dict(body.get("properties", {}))
        sheet_id = int(props["sheetId"]) if "sheetId" in props else self.new_sheet_id()
        if sheet_id < 0 or any(s.sheet_id == sheet_id for s in self.work.sheets):
            raise bad(f"{where}Sheet with id {sheet_id} already exists.")
        n = len(self.work.sheets) + 1
        while self.work.by_title(f"Sheet{n}") is not None:
            n += 1
        props.setdefault("title", f"Sheet{n}")
        grid = props.get("gridProperties", {})
        sheet = Sheet(sheet_id, "", rows=int(grid.get("rowCount", DEFAULT_ROWS)),
                      cols=int(grid.get("columnCount", DEFAULT_COLS)))
        if sheet.rows < 1 or sheet.cols < 1:
            raise bad(f"{where}The grid must have at least one row and one column.")
        index = int(props.get("index", len(self.work.sheets)))
        self.work.sheets.insert(max(0, min(index, len(self.work.sheets))), self.work.own(sheet))
        rest = {k: v for k, v in props.items() if k != "index"}
        rest["gridProperties"] = {k: v for k, v in grid.items() if k not in ("rowCount", "columnCount")}
        self._sheet_props(sheet, rest, {"*"}, where)
        self.work.reindex()
        return {"addSheet": {"properties": sheet.properties()}}

    def _deleteSheet(self, body: dict, where: str) -> dict:
        sheet = self.work.sheet(int(body.get("sheetId", 0)), where)
        if len(self.work.sheets) == 1:
            raise bad(f"{where}You can't remove all the sheets in a document.")
        self.work.sheets = [s for s in self.work.sheets if s is not sheet]
        if all(s.hidden for s in self.work.sheets):
            raise bad(f"{where}You can't remove all the visible sheets in a document.")
        return {}

    def _updateSheetProperties(self, body: dict, where: str) -> dict:
        props = body.get("properties", {})
        paths = mask_paths(body.get("fields", ""))
        if not paths:
            raise bad(f"{where}At least one field must be updated. Use '*' to update all fields.")
        sheet = self.work.mutable(self.work.sheet(int(props.get("sheetId", 0)), where))
        self._sheet_props(sheet, props, paths, where)
        return {}

    def _duplicateSheet(self, body: dict, where: str) -> dict:
        source = self.work.sheet(int(body.get("sourceSheetId", 0)), where)
        dup = source.copy()
        dup.sheet_id = int(body["newSheetId"]) if "newSheetId" in body else self.new_sheet_id()
        if any(s.sheet_id == dup.sheet_id for s in self.work.sheets):
            raise bad(f"{where}Sheet with id {dup.sheet_id} already exists.")
        name = body.get("newSheetName") or f"Copy of {source.title}"
        if self.work.by_title(name) is not None:
            raise bad(f'{where}A sheet with the name "{name}" already exists. Please enter another name.')
        dup.title = name
        index = int(body.get("insertSheetIndex", self.work.sheets.index(source) + 1))
        self.work.sheets.insert(max(0, min(index, len(self.work.sheets))), self.work.own(dup))
        self.work.reindex()
        return {"duplicateSheet": {"properties": dup.properties()}}

    # ---- cells
    def _cells(self, sheet: Sheet, r0: int, c0: int, rows: list, paths: set[str], where: str,
               bounds: tuple[int, int] | None = None) -> None:
        values = "*" in paths or "userEnteredValue" in paths
        formats = "*" in paths or "userEnteredFormat" in paths or "userEnteredFormat.numberFormat" in paths
        for i, row in enumerate(rows):
            cells = (row or {}).get("values", [])
            if bounds is not None and (r0 + i >= bounds[0] or c0 + len(cells) > bounds[1]):
                raise bad(f"{where}The data does not fit in the range given.")
            _fits(sheet, r0 + i + 1, c0 + len(cells), r0 + i, c0)
            for j, cell in enumerate(cells):
                cell = cell or {}
                if values:
                    sheet.set(r0 + i, c0 + j, from_extended(cell.get("userEnteredValue"), where))
                if formats:
                    fmt = (cell.get("userEnteredFormat") or {}).get("numberFormat")
                    sheet.set_format(r0 + i, r0 + i + 1, c0 + j, c0 + j + 1, fmt)

    def _updateCells(self, body: dict, where: str) -> dict:
        paths = mask_paths(body.get("fields", ""))
        if not paths:
            raise bad(f"{where}At least one field must be updated. Use '*' to update all fields.")
        rows = body.get("rows", [])
        if "range" in body:
            sheet, r0, r1, c0, c1 = _grid_range(self.work, body["range"], where)
            sheet = self.work.mutable(sheet)
            # Fields listed but not given are cleared over the whole range.
            if "*" in paths or "userEnteredValue" in paths:
                sheet.clear(r0, r1, c0, c1)
            if "*" in paths or "userEnteredFormat" in paths or "userEnteredFormat.numberFormat" in paths:
                sheet.set_format(r0, r1, c0, c1, None)
            self._cells(sheet, r0, c0, rows, paths, where, bounds=(r1, c1))
        else:
            start = body.get("start", {})
            sheet = self.work.mutable(self.work.sheet(int(start.get("sheetId", 0)), where))
            self._cells(sheet, int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0)), rows, paths,
                        where)
        return {}

    def _appendCells(self, body: dict, where: str) -> dict:
        sheet = self.work.mutable(self.work.sheet(int(body.get("sheetId", 0)), where))
        rows = body.get("rows", [])
        start = sheet.extent()[0]
        width = max((len((r or {}).get("values", [])) for r in rows), default=0)
        if start + len(rows) > sheet.rows:
            sheet.rows = start + len(rows)
        if width > sheet.cols:
            sheet.cols = width
        self._cells(sheet, start, 0, rows, mask_paths(body.get("fields", "*")), where)
        return {}

    def _repeatCell(self, body: dict, where: str) -> dict:
        sheet, r0, r1, c0, c1 = _grid_range(self.work, body.get("range", {}), where)
        sheet = self.work.mutable(sheet)
        paths = mask_paths(body.get("fields", ""))
        if not paths:
            raise bad(f"{where}At least one field must be updated. Use '*' to update all fields.")
        cell = body.get("cell", {}) or {}
        if "*" in paths or "userEnteredValue" in paths:
            value = from_extended(cell.get("userEnteredValue"), where)
            for r in range(r0, r1):
                sheet.put_row(r, c0, [value] * (c1 - c0), skip_none=False)
        if "*" in paths or "userEnteredFormat" in paths or "userEnteredFormat.numberFormat" in paths:
            sheet.set_format(r0, r1, c0, c1, (cell.get("userEnteredFormat") or {}).get("numberFormat"))
        return {}

    def _copyPaste(self, body: dict, where: str) -> dict:
        src, sr0, sr1, sc0, sc1 = _grid_range(self.work, body.get("source", {}), where)
        dest_rng = body.get("destination", {})
        dst = self.work.sheet(int(dest_rng.get("sheetId", 0)), where)
        kind = body.get("pasteType", "PASTE_NORMAL")
        if body.get("pasteOrientation", "NORMAL") != "NORMAL" or kind not in ("PASTE_NORMAL", "PASTE_VALUES",
                                                                               "PASTE_FORMAT"):
            raise SheetsError(501, "UNIMPLEMENTED", f"{where}ga4kit's Sheets stand-in pastes NORMAL orientation "
                                                    "with PASTE_NORMAL, PASTE_VALUES or PASTE_FORMAT only.")
        h, w = sr1 - sr0, sc1 - sc0
        dr0, dc0 = int(dest_rng.get("startRowIndex", 0)), int(dest_rng.get("startColumnIndex", 0))
        dr1 = int(dest_rng.get("endRowIndex", dr0 + h))
        dc1 = int(dest_rng.get("endColumnIndex", dc0 + w))
        # A destination that is a multiple of the source repeats it; a smaller one still gets it all.
        reps_r = (dr1 - dr0) // h if (dr1 - dr0) >= h and (dr1 - dr0) % h == 0 else 1
        reps_c = (dc1 - dc0) // w if (dc1 - dc0) >= w and (dc1 - dc0) % w == 0 else 1
        _fits(dst, dr0 + h * reps_r, dc0 + w * reps_c, dr0, dc0)
        block = [[src.get(r, c) for c in range(sc0, sc1)] for r in range(sr0, sr1)]
        fmts = src.formats_in(sr0, sr1, sc0, sc1)
        dst = self.work.mutable(dst)
        for i in range(reps_r):
            for j in range(reps_c):
                top, left = dr0 + i * h, dc0 + j * w
                if kind != "PASTE_FORMAT":
                    for k, row in enumerate(block):
                        dst.put_row(top + k, left, list(row), skip_none=False)
                if kind != "PASTE_VALUES":
                    dst.set_format(top, top + h, left, left + w, None)
                    for r0, r1, c0, c1, fmt in fmts:
                        dst.set_format(top + r0 - sr0, top + r1 - sr0, left + c0 - sc0, left + c1 - sc0, fmt)
        return {}

    def _appendDimension(self, body: dict, where: str) -> dict:
        sheet = self.work.mutable(self.work.sheet(int(body.get("sheetId", 0)), where))
        length = int(body.get("length", 0))
        if length < 1:
            raise bad(f"{where}length must be at least 1.")
        sheet.insert(body.get("dimension", "ROWS"), sheet.rows if body.get("dimension", "ROWS") == "ROWS"
                     else sheet.cols, length)
        return {}

    def _dimension(self, body: dict, where: str) -> tuple[Sheet, str, int, int]:
        rng = body.get("range", {})
        sheet = self.work.mutable(self.work.sheet(int(rng.get("sheetId", 0)), where))
        dim = rng.get("dimension", "ROWS")
        if dim not in ("ROWS", "COLUMNS"):
            raise bad(f"{where}dimension must be ROWS or COLUMNS.")
        size = sheet.rows if dim == "ROWS" else sheet.cols
        start, end = int(rng.get("startIndex", 0)), int(rng.get("endIndex", size))
        if not 0 <= start < end:
            raise bad(f"{where}Invalid dimension range {start}..{end}.")
        return sheet, dim, start, end

    def _insertDimension(self, body: dict, where: str) -> dict:
        sheet, dim, start, end = self._dimension(body, where)
        sheet.insert(dim, start, end - start)
        return {}

    def _deleteDimension(self, body: dict, where: str) -> dict:
        sheet, dim, start, end = self._dimension(body, where)
        size = sheet.rows if dim == "ROWS" else sheet.cols
        if end > size:
            raise _grid_error(sheet, size if dim == "ROWS" else 0, size if dim == "COLUMNS" else 0)
        if end - start >= size:
            raise bad(f"{where}You can't delete all the {'rows' if dim == 'ROWS' else 'columns'} on the sheet.")
        sheet.delete(dim, start, end)
        return {}


# ----------------------------------------------------------------------------------------- values writes

def _input(value_input: str | None) -> str:
    if value_input not in ("RAW", "USER_ENTERED"):
        raise bad(f"Invalid valueInputOption: {value_input or 'INPUT_VALUE_OPTION_UNSPECIFIED'}")
    return value_input


def _rows_of(vr: dict) -> list[list]:
    values = vr.get("values") or []
    if vr.get("majorDimension", "ROWS") == "COLUMNS":
        height = max((len(c) for c in values), default=0)
        values = [[(col[r] if r < len(col) else None) for col in values] for r in range(height)]
    return values


def _stored(values: list[list], value_input: str) -> tuple[list[list], list]:
    """The rows as stored, and the date formats USER_ENTERED sets: [(row, col, format)]."""
    out, formats = [], []
    for i, row in enumerate(values):
        stored = []
        for j, v in enumerate(row):
            if isinstance(v, (dict, list)):
                raise bad("Invalid values: a cell value must be a string, a number or a boolean.")
            check_chars(v)
            if value_input == "USER_ENTERED":
                v, fmt = user_entered(v)
                if fmt is not None:
                    formats.append((i, j, fmt))
            stored.append(typed(v))
        out.append(stored)
    return out, formats


def write_values(work: Spreadsheet, vr: dict, value_input: str, range_text: str | None = None) -> dict:
    """values.update / one entry of values.batchUpdate on ``work``; returns the UpdateValuesResponse."""
    _input(value_input)
    text = range_text or vr.get("range")
    if not text:
        raise bad("A range is required.")
    if range_text and vr.get("range") and work.resolve(vr["range"]) != work.resolve(range_text):
        raise bad(f"Requested writing within range [{range_text}], but tried writing to [{vr['range']}].")
    sheet, r0, r1, c0, c1 = work.resolve(text)
    rows, formats = _stored(_rows_of(vr), value_input)
    height = len(rows)
    width = max((len(r) for r in rows), default=0)
    single = ":" not in text.rpartition("!")[2] and text.rpartition("!")[2] != ""
    if not single and (height > r1 - r0 or width > c1 - c0):
        raise bad(f"Requested writing within range [{text}], but tried writing to "
                  f"{'row [' + str(r0 + height) + ']' if height > r1 - r0 else 'column [' + _col(c0 + width) + ']'}")
    _fits(sheet, r0 + height, c0 + width, r0, c0)
    sheet = work.mutable(sheet)
    for i, row in enumerate(rows):
        if row:
            sheet.put_row(r0 + i, c0, row, skip_none=True)
    for i, j, fmt in formats:
        sheet.set_format(r0 + i, r0 + i + 1, c0 + j, c0 + j + 1, fmt)
    answer = {"spreadsheetId": work.spreadsheet_id, "updatedRange": a1(sheet.title, r0, r0 + max(height, 1), c0,
                                                                          c0 + max(width, 1))}
    cells = sum(sum(v is not None for v in r) for r in rows)
    if cells:
        answer.update(updatedRows=sum(1 for r in rows if any(v is not None for v in r)),
                      updatedColumns=len({j for r in rows for j, v in enumerate(r) if v is not None}),
                      updatedCells=cells)
    return answer


def _col(index: int) -> str:
    return column_letters(index - 1)


def append_values(work: Spreadsheet, range_text: str, vr: dict, value_input: str, insert: str,
                  cell_limit: int) -> dict:
    """values.append: the rows go below the table found from the range (see below); the grid grows when
    they do not fit (INSERT_ROWS inserts rows there)."""
    _input(value_input)
    if insert not in ("OVERWRITE", "INSERT_ROWS"):
        raise bad(f"Invalid insertDataOption: {insert}")
    sheet, r0, r1, c0, c1 = work.resolve(range_text)
    sheet = work.mutable(sheet)
    rows, formats = _stored(_rows_of(vr), value_input)
    # The table is searched from the range's first row down (a one-cell range such as A1 names where the
    # table starts); its end is the last row with a value in the range's columns (all, from a narrow range).
    right = c1 if c1 - c0 > 1 else sheet.cols
    table_end = None
    for r in range(r0, len(sheet.data)):
        if any(v is not None for v in sheet.data[r][c0:right]):
            table_end = r + 1
    start = table_end if table_end is not None else r0
    width = max((len(r) for r in rows), default=0)
    before = work.cells
    if insert == "INSERT_ROWS" and start < sheet.rows:
        sheet.insert("ROWS", start, len(rows))
    elif start + len(rows) > sheet.rows:
        sheet.rows = start + len(rows)
    if c0 + width > sheet.cols:
        sheet.cols = c0 + width
    if work.cells > cell_limit and work.cells > before:
        raise _limit_error("", cell_limit)
    for i, row in enumerate(rows):
        sheet.put_row(start + i, c0, row, skip_none=True)
    for i, j, fmt in formats:
        sheet.set_format(start + i, start + i + 1, c0 + j, c0 + j + 1, fmt)
    cells = sum(sum(v is not None for v in r) for r in rows)
    answer: dict = {"spreadsheetId": work.spreadsheet_id,
                    "updates": {"spreadsheetId": work.spreadsheet_id,
                                "updatedRange": a1(sheet.title, start, start + max(len(rows), 1), c0,
                                                   c0 + max(width, 1)),
                                "updatedRows": len(rows), "updatedColumns": width, "updatedCells": cells}}
    if table_end is not None:
        answer["tableRange"] = a1(sheet.title, r0, table_end, c0, max(c1, c0 + width))
    return answer


def clear_values(work: Spreadsheet, range_text: str) -> str:
    """values.clear: the values go, the formats stay; returns the cleared range."""
    sheet, r0, r1, c0, c1 = work.resolve(range_text)
    work.mutable(sheet).clear(r0, r1, c0, c1)
    return a1(sheet.title, r0, r1, c0, c1)

"""The Sheets stand-in's spreadsheets: grids of typed cells, A1 ranges, value input and rendering, the
``spreadsheets.batchUpdate`` requests, and the JSON shapes Sheets v4 answers with.

What it models, as Sheets v4 does: a grid has a size (rowCount x columnCount, 1000 x 26 for a new sheet) and
every cell of every grid counts towards the spreadsheet's cell limit, filled or not; a cell holds a number,
a string, a boolean or a formula, and a number format (a date is a number with a DATE format); values
written with RAW stay what they are (a string starting with "=" is a string), USER_ENTERED parses them
as the UI would. What it leaves out: formulas are stored, never computed (they read back as their text),
and of a cell's format only the number format is kept.

Everything here raises :class:`SheetsError` with the HTTP code, status and message Google answers with.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

EPOCH = dt.datetime(1899, 12, 30)
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26
CELL_LIMIT = 10_000_000
CHARS_PER_CELL = 50_000
DATE_TYPES = ("DATE", "TIME", "DATE_TIME")
DEFAULT_PATTERNS = {"DATE": "M/d/yyyy", "TIME": "h:mm:ss am/pm", "DATE_TIME": "M/d/yyyy H:mm:ss"}


class SheetsError(Exception):
    """An error answer: HTTP ``code``, Google's ``status`` name, ``message`` and optional ``details``."""

    def __init__(self, code: int, status: str, message: str, details: list | None = None):
        super().__init__(message)
        self.code, self.status, self.message, self.details = code, status, message, details

    def body(self) -> dict:
        error: dict = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad(message: str) -> SheetsError:
    return SheetsError(400, "INVALID_ARGUMENT", message)


class Formula(str):
    """A formula entered with USER_ENTERED ("=SUM(A1:A3)"); kept as text, never computed."""


# ----------------------------------------------------------------------------------------- A1 notation

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")
_PLAIN_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def quote_title(title: str) -> str:
    """A sheet title as A1 notation writes it: quoted ('it''s') unless it is a plain word."""
    if _PLAIN_TITLE.match(title) and not re.match(r"^[A-Za-z]{1,3}\d+$", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def a1(title: str, r0: int, r1: int, c0: int, c1: int) -> str:
    """The A1 text of the half-open block rows r0..r1, columns c0..c1 (0-based)."""
    start = f"{column_letters(c0)}{r0 + 1}"
    end = f"{column_letters(max(c1 - 1, c0))}{max(r1, r0 + 1)}"
    return f"{quote_title(title)}!{start}" + ("" if start == end else f":{end}")


def split_range(text: str) -> tuple[str | None, str]:
    """("title" or None, "A1:B2" or "") of an A1 range text."""
    text = text.strip()
    if text.startswith("'"):
        i, title = 1, []
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title.append("'")
                    i += 2
                    continue
                break
            title.append(text[i])
            i += 1
        rest = text[i + 1:]
        if rest and not rest.startswith("!"):
            raise bad(f"Unable to parse range: {text}")
        return "".join(title), rest[1:]
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


def _bound(part: str, text: str) -> tuple[int | None, int | None]:
    m = _CELL.match(part)
    if not m or (not m.group(1) and not m.group(2)):
        raise bad(f"Unable to parse range: {text}")
    col = column_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise bad(f"Unable to parse range: {text}")
    return row, col


# ----------------------------------------------------------------------------------------- values

def serial(moment: dt.date | dt.datetime) -> float:
    """Days since 1899-12-30 (the fraction is the time of day), as Sheets stores dates."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day)
    return (moment.replace(tzinfo=None) - EPOCH).total_seconds() / 86400


def from_serial(value: float) -> dt.datetime:
    return EPOCH + dt.timedelta(days=float(value))


def number(value: Any) -> int | float:
    """A JSON number as Sheets answers it: whole numbers without a fraction."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    return value


_PATTERN = re.compile(r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|a/p|\"[^\"]*\"|.", re.IGNORECASE)


def format_date(value: float, pattern: str) -> str:
    """``value`` (a serial number) in a Sheets date pattern (yyyy-mm-dd, M/d/yyyy H:mm:ss, dd.mm.yyyy ...):
    m is the month except right after an hour or before seconds, where it is the minute."""
    moment = from_serial(value)
    moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
    tokens = _PATTERN.findall(pattern)
    twelve = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    out = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        prev = next((t.lower() for t in reversed(tokens[:i]) if t.strip(" :.-/")), "")
        nxt = next((t.lower() for t in tokens[i + 1:] if t.strip(" :.-/")), "")
        minute = low in ("m", "mm") and (prev.startswith("h") or nxt.startswith("s"))
        hour = moment.hour % 12 or 12 if twelve else moment.hour
        text = {
            "yyyy": f"{moment.year:04d}", "yy": f"{moment.year % 100:02d}",
            "mmmm": moment.strftime("%B"), "mmm": moment.strftime("%b"),
            "mm": f"{moment.minute:02d}" if minute else f"{moment.month:02d}",
            "m": str(moment.minute) if minute else str(moment.month),
            "dddd": moment.strftime("%A"), "ddd": moment.strftime("%a"),
            "dd": f"{moment.day:02d}", "d": str(moment.day), "hh": f"{hour:02d}", "h": str(hour),
            "ss": f"{moment.second:02d}", "s": str(moment.second),
            "am/pm": "AM" if moment.hour < 12 else "PM", "a/p": "A" if moment.hour < 12 else "P",
        }.get(low)
        out.append(text if text is not None else tok.strip('"'))
    return "".join(out)


def format_number(value: float) -> str:
    """A number in the automatic format: up to 15 significant digits, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return "#NUM!"
    text = format(value, ".15g")
    return text.replace("e+", "E+").replace("e-", "E-")


def formatted(value: Any, fmt: dict | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        kind = (fmt or {}).get("type")
        if kind in DATE_TYPES:
            return format_date(value, (fmt or {}).get("pattern") or DEFAULT_PATTERNS[kind])
        return format_number(value)
    return str(value)


def render(value: Any, fmt: dict | None, value_render: str, datetime_render: str) -> Any:
    """A stored value as values.get answers it for these render options."""
    if value is None:
        return ""
    if value_render == "FORMATTED_VALUE":
        return formatted(value, fmt)
    if isinstance(value, Formula):
        return str(value)
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if datetime_render == "FORMATTED_STRING" and fmt and fmt.get("type") in DATE_TYPES:
        return formatted(value, fmt)
    return value


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def user_entered(value: Any) -> tuple[Any, dict | None]:
    """(stored value, number format to set or None) of a value typed in with USER_ENTERED."""
    if not isinstance(value, str):
        return value, None
    if value.startswith("'"):
        return value[1:], None
    if value.startswith("=") and len(value) > 1:
        return Formula(value), None
    text = value.strip()
    if _NUMBER.match(text.replace(",", "")):
        return number(float(text.replace(",", ""))), None
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE", None
    m = _ISO_DATE.match(text)
    if m:
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return value, None
        return number(serial(day)), {"type": "DATE", "pattern": "yyyy-mm-dd"}
    return value, None


def check_chars(value: Any, where: str = "") -> None:
    if isinstance(value, str) and len(value) > CHARS_PER_CELL:
        raise bad(f"{where}Your input contains more than the maximum of {CHARS_PER_CELL} characters in a single "
                  "cell.")


def typed(value: Any) -> Any:
    """A RAW value as stored: a number, a string, a boolean, or nothing."""
    if isinstance(value, float):
        return number(value)
    return value


def extended(value: Any) -> dict:
    """The ExtendedValue of a stored value (userEnteredValue / effectiveValue)."""
    if isinstance(value, Formula):
        return {"formulaValue": str(value)}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": value}
    return {"stringValue": value}


def from_extended(data: dict | None, where: str) -> Any:
    if not data:
        return None
    if "formulaValue" in data:
        return Formula(data["formulaValue"])
    if "numberValue" in data:
        return number(float(data["numberValue"]))
    if "boolValue" in data:
        return bool(data["boolValue"])
    if "stringValue" in data:
        check_chars(data["stringValue"], where)
        return str(data["stringValue"])
    if "errorValue" in data:
        return None
    raise bad(f"{where}Invalid value: {json.dumps(data)[:100]}")


# ----------------------------------------------------------------------------------------- one sheet

@dataclass(eq=False)
class Sheet:
    """One tab: its properties, its values (``data[row][col]``) and its number formats (rectangles, the
    later one winning: (r0, r1, c0, c1, numberFormat or None))."""

    sheet_id: int
    title: str
    index: int = 0
    rows: int = DEFAULT_ROWS
    cols: int = DEFAULT_COLS
    hidden: bool = False
    frozen_rows: int = 0
    frozen_cols: int = 0
    data: list = field(default_factory=list)
    formats: list = field(default_factory=list)

    def copy(self) -> Sheet:
        return Sheet(self.sheet_id, self.title, self.index, self.rows, self.cols, self.hidden, self.frozen_rows,
                     self.frozen_cols, [list(r) for r in self.data], list(self.formats))

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    def properties(self) -> dict:
        grid: dict = {"rowCount": self.rows, "columnCount": self.cols}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        if self.frozen_cols:
            grid["frozenColumnCount"] = self.frozen_cols
        props = {"sheetId": self.sheet_id, "title": self.title, "index": self.index, "sheetType": "GRID",
                 "gridProperties": grid}
        if self.hidden:
            props["hidden"] = True
        return props

    # ---- values
    def get(self, r: int, c: int) -> Any:
        if r < len(self.data):
            row = self.data[r]
            if c < len(row):
                return row[c]
        return None

    def _row(self, r: int, width: int) -> list:
        if len(self.data) <= r:
            self.data.extend([] for _ in range(r + 1 - len(self.data)))
        row = self.data[r]
        if len(row) < width:
            row.extend([None] * (width - len(row)))
        return row

    def set(self, r: int, c: int, value: Any) -> None:
        self._row(r, c + 1)[c] = value

    def put_row(self, r: int, c0: int, values: list, *, skip_none: bool) -> None:
        """Write ``values`` from column c0 of row r; with ``skip_none`` a None leaves the cell as it is."""
        row = self._row(r, c0 + len(values))
        if not skip_none or None not in values:
            row[c0:c0 + len(values)] = values
            return
        for i, v in enumerate(values):
            if v is not None:
                row[c0 + i] = v

    def clear(self, r0: int, r1: int, c0: int, c1: int) -> None:
        for r in range(r0, min(r1, len(self.data))):
            row = self.data[r]
            end = min(c1, len(row))
            if c0 < end:
                row[c0:end] = [None] * (end - c0)

    def extent(self) -> tuple[int, int]:
        """(rows, columns) up to the last filled cell."""
        rows = cols = 0
        for r, row in enumerate(self.data):
            last = len(row)
            while last and row[last - 1] is None:
                last -= 1
            if last:
                rows, cols = r + 1, max(cols, last)
        return rows, cols

    # ---- number formats
    def number_format(self, r: int, c: int) -> dict | None:
        for r0, r1, c0, c1, fmt in reversed(self.formats):
            if r0 <= r < r1 and c0 <= c < c1:
                return fmt
        return None

    def set_format(self, r0: int, r1: int, c0: int, c1: int, fmt: dict | None) -> None:
        if r0 >= r1 or c0 >= c1:
            return
        kept = [f for f in self.formats if not (r0 <= f[0] and f[1] <= r1 and c0 <= f[2] and f[3] <= c1)]
        if fmt is not None or kept:
            kept.append((r0, r1, c0, c1, copy.deepcopy(fmt) if fmt else None))
        self.formats = kept

    def formats_in(self, r0: int, r1: int, c0: int, c1: int) -> list:
        """The format rectangles clipped to a block, in order."""
        out = []
        for fr0, fr1, fc0, fc1, fmt in self.formats:
            a, b, c, d = max(fr0, r0), min(fr1, r1), max(fc0, c0), min(fc1, c1)
            if a < b and c < d:
                out.append((a, b, c, d, fmt))
        return out

    # ---- the grid
    def resize(self, rows: int, cols: int) -> None:
        if rows < 1 or cols < 1:
            raise bad("The grid must have at least one row and one column.")
        del self.data[rows:]
        for row in self.data:
            del row[cols:]
        self.formats = [(r0, min(r1, rows), c0, min(c1, cols), f) for r0, r1, c0, c1, f in self.formats
                        if r0 < rows and c0 < cols]
        self.rows, self.cols = rows, cols
        self.frozen_rows, self.frozen_cols = min(self.frozen_rows, rows), min(self.frozen_cols, cols)

    def insert(self, dimension: str, start: int, count: int) -> None:
        if dimension == "ROWS":
            if start < len(self.data):
                self.data[start:start] = [[] for _ in range(count)]
            self.formats = [(r0 + count if r0 >= start else r0, r1 + count if r1 > start else r1, c0, c1, f)
                            for r0, r1, c0, c1, f in self.formats]
            self.rows += count
        else:
            for row in self.data:
                if start < len(row):
                    row[start:start] = [None] * count
            self.formats = [(r0, r1, c0 + count if c0 >= start else c0, c1 + count if c1 > start else c1, f)
                            for r0, r1, c0, c1, f in self.formats]
            self.cols += count

    def delete(self, dimension: str, start: int, end: int) -> None:
        count = end - start

        def shift(a: int, b: int) -> tuple[int, int]:
            def one(x: int) -> int:
                return x if x <= start else max(start, x - count)
            return one(a), one(b)

        if dimension == "ROWS":
            del self.data[start:end]
            moved = [(*shift(r0, r1), c0, c1, f) for r0, r1, c0, c1, f in self.formats]
            self.rows -= count
        else:
            for row in self.data:
                del row[start:end]
            moved = [(r0, r1, *shift(c0, c1), f) for r0, r1, c0, c1, f in self.formats]
            self.cols -= count
        self.formats = [m for m in moved if m[0] < m[1] and m[2] < m[3]]

    # ---- reading
    def values(self, r0: int, r1: int, c0: int, c1: int, value_render: str, datetime_render: str,
               by_columns: bool = False) -> list[list]:
        """values.get's ``values``: empty cells inside a row are "", trailing empty cells and rows dropped."""
        fmts = self.formats_in(r0, r1, c0, c1)
        plain = value_render == "UNFORMATTED_VALUE" and datetime_render == "SERIAL_NUMBER"
        out: list[list] = []
        for r in range(r0, min(r1, len(self.data))):
            row = self.data[r][c0:c1]
            while row and row[-1] is None:
                row.pop()
            if not fmts and plain:
                cells = [("" if v is None else str(v) if isinstance(v, Formula) else v) for v in row]
            else:
                cells = [render(v, self._fmt(fmts, r, c0 + i), value_render, datetime_render)
                         for i, v in enumerate(row)]
            out.append(cells)
        while out and not out[-1]:
            out.pop()
        if by_columns:
            width = max((len(r) for r in out), default=0)
            cols = [[(row[c] if c < len(row) else "") for row in out] for c in range(width)]
            for col in cols:
                while col and col[-1] == "":
                    col.pop()
            return cols
        return out

    @staticmethod
    def _fmt(fmts: list, r: int, c: int) -> dict | None:
        for r0, r1, c0, c1, fmt in reversed(fmts):
            if r0 <= r < r1 and c0 <= c < c1:
                return fmt
        return None

    def grid_data(self, r0: int, r1: int, c0: int, c1: int) -> dict:
        """A GridData of a block: every cell's userEnteredValue, effectiveValue, formattedValue and
        userEnteredFormat (number format only)."""
        rows = []
        last_row = min(r1, max(len(self.data), max((f[1] for f in self.formats), default=0)))
        for r in range(r0, last_row):
            cells = []
            for c in range(c0, c1):
                value, fmt = self.get(r, c), self.number_format(r, c)
                cell: dict = {}
                if value is not None:
                    cell["userEnteredValue"] = extended(value)
                    if not isinstance(value, Formula):
                        cell["effectiveValue"] = extended(value)
                    cell["formattedValue"] = formatted(value, fmt)
                if fmt:
                    cell["userEnteredFormat"] = {"numberFormat": copy.deepcopy(fmt)}
                cells.append(cell)
            while cells and not cells[-1]:
                cells.pop()
            rows.append({"values": cells} if cells else {})
        while rows and not rows[-1]:
            rows.pop()
        data: dict = {}
        if r0:
            data["startRow"] = r0
        if c0:
            data["startColumn"] = c0
        if rows:
            data["rowData"] = rows
        return data

    # ---- persistence
    def dump(self) -> dict:
        def enc(v):
            return {"f": str(v)} if isinstance(v, Formula) else v
        return {"properties": self.properties(), "data": [[enc(v) for v in row] for row in self.data],
                "formats": [list(f) for f in self.formats]}

    @classmethod
    def load(cls, item: dict) -> Sheet:
        p = item["properties"]
        g = p.get("gridProperties", {})

        def dec(v):
            return Formula(v["f"]) if isinstance(v, dict) else v
        return cls(p["sheetId"], p["title"], p.get("index", 0), g.get("rowCount", DEFAULT_ROWS),
                   g.get("columnCount", DEFAULT_COLS), bool(p.get("hidden")), g.get("frozenRowCount", 0),
                   g.get("frozenColumnCount", 0), [[dec(v) for v in row] for row in item.get("data", [])],
                   [tuple(f) for f in item.get("formats", [])])


# ----------------------------------------------------------------------------------------- a spreadsheet

@dataclass(eq=False)
class Spreadsheet:
    """A spreadsheet: its sheets, its owner and who it is shared with (writers may edit, readers read)."""

    spreadsheet_id: str
    title: str
    owner: str
    sheets: list[Sheet] = field(default_factory=list)
    writers: set = field(default_factory=set)
    readers: set = field(default_factory=set)
    locale: str = "en_US"
    time_zone: str = "Etc/GMT"

    @property
    def url(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit"

    @property
    def cells(self) -> int:
        return sum(s.cells for s in self.sheets)

    def can_read(self, principal: str) -> bool:
        return principal == self.owner or principal in self.writers or principal in self.readers

    def can_write(self, principal: str) -> bool:
        return principal == self.owner or principal in self.writers

    def sheet(self, sheet_id: int, where: str = "") -> Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        raise bad(f"{where}No grid with id: {sheet_id}")

    def by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title.lower() == title.lower():
                return s
        return None

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.index = i

    def working_copy(self) -> Spreadsheet:
        """A copy for a batch: the sheet list is new, each sheet is copied when first changed
        (:meth:`mutable`), so a failed batch leaves the original untouched."""
        work = copy.copy(self)
        work.sheets = list(self.sheets)
        work._copied = set()
        return work

    def mutable(self, sheet: Sheet) -> Sheet:
        """The working copy's own copy of ``sheet``, to change (made on first use)."""
        copied = getattr(self, "_copied", None)
        if copied is None or id(sheet) in copied:
            return sheet
        i = next(i for i, s in enumerate(self.sheets) if s is sheet)
        fresh = sheet.copy()
        self.sheets[i] = fresh
        copied.add(id(fresh))
        return fresh

    def own(self, sheet: Sheet) -> Sheet:
        """Mark a sheet made by this batch as its own (no copy needed)."""
        copied = getattr(self, "_copied", None)
        if copied is not None:
            copied.add(id(sheet))
        return sheet

    def commit(self, work: Spreadsheet) -> None:
        self.sheets = work.sheets

    def resolve(self, text: str) -> tuple[Sheet, int, int, int, int]:
        """The sheet and block (half-open, rows r0..r1, columns c0..c1) an A1 range names: "Title!A1:C9",
        "Title!A:C", "Title!2:5", "Title!A2:C" (to the last row), "Title" (the whole grid); without a sheet
        name, a sheet of that name, else the first sheet."""
        title, cells = split_range(text)
        if title is None and self.by_title(cells) is not None:
            title, cells = cells, ""
        sheet = self.by_title(title) if title is not None else (self.sheets[0] if self.sheets else None)
        if sheet is None:
            raise bad(f"Unable to parse range: {text}")
        if not cells:
            return sheet, 0, sheet.rows, 0, sheet.cols
        first, sep, last = cells.partition(":")
        r0, c0 = _bound(first, text)
        if sep:
            r1, c1 = _bound(last, text)
        elif r0 is None or c0 is None:
            raise bad(f"Unable to parse range: {text}")
        else:
            r1, c1 = r0, c0
        if (r0 is None) != (r1 is None) and r0 is None or (c0 is None) != (c1 is None) and c0 is None:
            raise bad(f"Unable to parse range: {text}")
        rows = sorted((r0 or 0, r1 if r1 is not None else sheet.rows - 1))
        cols = sorted((c0 or 0, c1 if c1 is not None else sheet.cols - 1))
        return sheet, rows[0], rows[1] + 1, cols[0], cols[1] + 1

    def json(self, *, grid: list | None = None) -> dict:
        """The Spreadsheet resource; ``grid``: [(sheet, r0, r1, c0, c1)] whose data to include."""
        sheets = []
        for s in self.sheets:
            item: dict = {"properties": s.properties()}
            if grid is not None:
                blocks = [s.grid_data(*b) for sh, *b in grid if sh is s]
                if blocks:
                    item["data"] = blocks
            sheets.append(item)
        return {"spreadsheetId": self.spreadsheet_id,
                "properties": {"title": self.title, "locale": self.locale, "autoRecalc": "ON_CHANGE",
                               "timeZone": self.time_zone,
                               "defaultFormat": {"backgroundColor": {"red": 1, "green": 1, "blue": 1},
                                                 "verticalAlignment": "BOTTOM", "wrapStrategy": "OVERFLOW_CELL",
                                                 "textFormat": {"fontFamily": "arial", "fontSize": 10}}},
                "sheets": sheets, "spreadsheetUrl": self.url}

    def dump(self) -> dict:
        return {"spreadsheetId": self.spreadsheet_id, "title": self.title, "owner": self.owner,
                "writers": sorted(self.writers), "readers": sorted(self.readers), "locale": self.locale,
                "timeZone": self.time_zone, "sheets": [s.dump() for s in self.sheets]}

    @classmethod
    def load(cls, item: dict) -> Spreadsheet:
        return cls(item["spreadsheetId"], item["title"], item["owner"], [Sheet.load(s) for s in item["sheets"]],
                   set(item.get("writers", ())), set(item.get("readers", ())), item.get("locale", "en_US"),
                   item.get("timeZone", "Etc/GMT"))


# ----------------------------------------------------------------------------------------- field masks

def parse_mask(text: str) -> dict:
    """A partial-response field mask ("a,b.c,d(e,f)") as a tree {name: subtree}; {} = everything below."""
    pos = 0

    def parse_list() -> dict:
        nonlocal pos
        tree: dict = {}
        while pos < len(text):
            if text[pos] in ", ":
                pos += 1
                continue
            if text[pos] == ")":
                return tree
            m = re.compile(r"[A-Za-z0-9_*]+(?:[./][A-Za-z0-9_*]+)*").match(text, pos)
            if not m:
                raise bad(f"Invalid field selection {text}")
            pos = m.end()
            path = re.split(r"[./]", m.group(0))
            node = tree
            for part in path[:-1]:
                node = node.setdefault(part, {})
                if node == {"*": {}}:
                    break
            leaf = node.setdefault(path[-1], {})
            if pos < len(text) and text[pos] == "(":
                pos += 1
                leaf.update(parse_list())
                if pos >= len(text) or text[pos] != ")":
                    raise bad(f"Invalid field selection {text}")
                pos += 1
        return tree

    return parse_list()


def apply_mask(value: Any, tree: dict) -> Any:
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [apply_mask(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, sub in tree.items():
        if key in value:
            out[key] = apply_mask(value[key], sub)
    return out


def mask_paths(fields: str) -> set[str]:
    """The dotted paths of a request's ``fields`` ("userEnteredValue,userEnteredFormat.numberFormat")."""
    paths: set[str] = set()

    def walk(tree: dict, prefix: str) -> None:
        for key, sub in tree.items():
            path = f"{prefix}{key}"
            paths.add(path)
            walk(sub, path + ".")

    walk(parse_mask(fields or ""), "")
    return paths

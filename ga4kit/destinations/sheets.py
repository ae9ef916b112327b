"""Google Sheets destination: ``sheets://SPREADSHEET_ID/TAB`` (or the spreadsheet's address), one tab per
table, replaced atomically, with a metadata tab that holds the incremental state.

Tabs: a single table goes to TAB; several (a pull's ``events`` and ``baseline``) to ``TAB.events``,
``TAB.baseline``; without a TAB to ``events``, ``baseline``. The metadata tab ``TAB.ga4kit`` (``ga4kit``)
lists per property the window held, the last refresh, GA4's flags of the answers (thresholded, data lost
into an "(other)" row, sampled) and the quota, and keeps the state as JSON in its last row.

Values keep their types: numbers are numbers, dates are serial numbers with a date format (``yyyy-mm-dd``,
or ``yyyy-mm-dd hh:mm:ss`` with a time), text is written with valueInputOption RAW, so "=HYPERLINK(...)"
stays text and never runs as a formula.

A write never leaves half a window. Sheets takes about 2 MB per request, so a table may need many
requests, while only one ``spreadsheets.batchUpdate`` is atomic. So every write:

1. checks the whole spreadsheet against Sheets' 10 million cells (the new tables are staged beside the
   old ones, so it needs room for both) and every text against 50,000 characters per cell, and refuses
   with the numbers before any write request;
2. one batchUpdate: removes the staging tabs a killed run left behind, adds a hidden staging tab per table;
3. fills the staging tabs with values.batchUpdate requests of at most 2 MB each (idempotent: a retry
   rewrites the same cells);
4. one batchUpdate swaps them in: each data tab keeps its identity (its gid, links and charts on it, the
   formulas of other tabs that read it, its column widths and colours): it is resized, its values cleared,
   the staging values pasted in (copyPaste PASTE_VALUES), its number formats set, the staging tab deleted;
   a new tab is the staging tab renamed and shown. The metadata tab is rewritten in the same request.

A kill before step 4 leaves the old tabs and state untouched (and a hidden staging tab the next run
removes); step 4 is all or nothing. An answer lost after step 4 is recognised by looking at the
spreadsheet (the staging tabs are gone). Writes are paced and backed off by :mod:`ga4kit.sheets_api`.

The lock (:meth:`lock`) is an OS lock on this machine, per spreadsheet: two machines writing one
spreadsheet at the same time are not serialised.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote

from ga4kit.destinations.base import DEFAULT_TABLE, Destination, Note
from ga4kit.destinations.state import DestinationState
from ga4kit.errors import OutputError
from ga4kit.sheets_api import CELL_LIMIT, CHARS_PER_CELL, MAX_REQUEST_BYTES, WRITES_PER_MINUTE, SheetsError

if TYPE_CHECKING:
    import pandas as pd

    from ga4kit.sheets_api import Backoff, SheetsClient

STAGING = "ga4kit-staging"  # title prefix of the hidden tabs a write fills before its swap
META_NAME = "ga4kit"
STATE_MARK = "ga4kit_state"  # first cell of the metadata row that holds the state's JSON
STATE_CHUNK = 40_000  # characters of state JSON per cell (Sheets holds 50,000)
MAX_TITLE = 100
READ_CELLS = 500_000  # cells per range when reading a table back
DATE_PATTERN, DATETIME_PATTERN = "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
EPOCH = dt.datetime(1899, 12, 30)
_ID = re.compile(r"^[A-Za-z0-9_-]{10,}$")
_URL = re.compile(r"^https://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]+)([^#]*)(?:#(.*))?$")
META_HEADER = ["property", "first_day", "last_day", "days_held", "grain", "segments", "last_refresh_utc",
               "thresholded", "other_row", "sampled", "api_calls", "tokens_consumed", "tokens_per_day_remaining",
               "tokens_per_hour_remaining"]


def parse_target(text: str) -> tuple[str, str | None, int | None]:
    """(spreadsheet id, tab or None, gid or None) of ``sheets://ID[/TAB]`` or a spreadsheet's address
    (``https://docs.google.com/spreadsheets/d/ID/edit#gid=N``: the tab is the one with that gid)."""
    if text.lower().startswith("sheets://"):
        rest = text[len("sheets://"):]
        sid, _, tab = rest.partition("/")
        tab = unquote(tab).strip() or None
    else:
        m = _URL.match(text.strip())
        if not m:
            raise OutputError(f"Cannot write {text}: it is neither a file name nor a Google Sheets address.",
                              "Write to a spreadsheet with -o sheets://SPREADSHEET_ID/TAB or its address "
                              "https://docs.google.com/spreadsheets/d/SPREADSHEET_ID/edit, or give a file name "
                              "ending in .csv, .xlsx, .json, .ndjson or .parquet.")
        sid, tab = m.group(1), None
        gid = re.search(r"(?:^|&)gid=(\d+)", m.group(3) or "") or re.search(r"[?&]gid=(\d+)", m.group(2) or "")
        if gid:
            return sid, None, int(gid.group(1))
    if not _ID.match(sid):
        raise OutputError(f"Cannot write {text}: {sid!r} is not a spreadsheet ID.",
                          "Copy the ID from the spreadsheet's address (https://docs.google.com/spreadsheets/d/ID/"
                          "edit), e.g. -o sheets://1AbC.../ga4.")
    return sid, tab, None


# ----------------------------------------------------------------------------------------- frames to cells

@dataclass
class Table:
    """A frame as Sheets cells: the header and JSON-ready rows, and the columns holding dates."""

    name: str
    title: str
    header: list[str]
    rows: list[list]
    dates: dict[int, str] = field(default_factory=dict)  # column index -> "DATE" or "DATE_TIME"
    staging_id: int = 0

    @property
    def height(self) -> int:
        return grid_height(len(self.rows))

    @property
    def width(self) -> int:
        return max(1, len(self.header))


def grid_height(rows: int) -> int:
    """Rows of a table's tab: the header and the rows, and never the header alone (Sheets refuses to
    freeze every row of a tab, and the header row is frozen)."""
    return max(2, rows + 1)


def _serials(col: pd.Series) -> tuple[list, str]:
    """A datetime column as serial numbers (days since 1899-12-30), and DATE or DATE_TIME."""
    import pandas as pd

    if getattr(col.dt, "tz", None) is not None:
        col = col.dt.tz_localize(None)  # Sheets has no time zones: keep the wall time, as the XLSX writer does
    days = (col - pd.Timestamp(EPOCH)) / pd.Timedelta(days=1)
    non_null = col.dropna()
    kind = "DATE" if not len(non_null) or bool((non_null == non_null.dt.normalize()).all()) else "DATE_TIME"
    return [None if pd.isna(v) else _num(float(v)) for v in days.tolist()], kind


def _num(v: float) -> float | int:
    return int(v) if v.is_integer() and abs(v) < 2 ** 53 else v


def _cell(v: Any) -> tuple[Any, bool]:
    """(JSON value, is a date) of one value of a text or mixed column."""
    import pandas as pd

    if v is None or v is pd.NA or v is pd.NaT:
        return None, False
    if isinstance(v, bool):
        return v, False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, float) and math.isnan(v):
            return None, False
        if isinstance(v, float) and math.isinf(v):
            return ("inf" if v > 0 else "-inf"), False
        return _num(float(v)) if isinstance(v, float) else int(v), False
    if isinstance(v, (dt.date, dt.datetime, pd.Timestamp)):
        moment = pd.Timestamp(v)
        if moment.tzinfo is not None:
            moment = moment.tz_localize(None)
        return _num((moment - pd.Timestamp(EPOCH)) / pd.Timedelta(days=1)), True
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars
        return _cell(v.item())
    return str(v), False


def _column(col: pd.Series) -> tuple[list, str | None]:
    """One column as JSON-ready cell values, and its date kind (None for no dates)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return _serials(col)
    if pd.api.types.is_bool_dtype(col.dtype) and col.dtype != object:
        return [None if v is pd.NA else bool(v) for v in col.astype(object)], None
    if pd.api.types.is_integer_dtype(col.dtype) and not col.isna().any():
        return [int(v) for v in col.tolist()], None
    if pd.api.types.is_numeric_dtype(col.dtype):
        return [_cell(v)[0] for v in col.astype(object).tolist()], None
    values, dates, others = [], 0, 0
    for v in col.astype(object).tolist():
        if type(v) is str:  # the common case, without the checks below
            values.append(v)
            others += 1
            continue
        out, is_date = _cell(v)
        values.append(out)
        if out is not None:
            dates += is_date
            others += not is_date
    if dates and others:  # a column mixing dates and other values: dates as ISO text, like the CSV writer
        values = [_cell(v)[0] if not isinstance(v, (dt.date, pd.Timestamp)) else pd.Timestamp(v).isoformat()
                  for v in col.astype(object).tolist()]
        return values, None
    return values, ("DATE" if dates else None)


def encode(name: str, title: str, frame: pd.DataFrame, where: str) -> Table:
    """The frame as a :class:`Table`; raises OutputError for a text longer than a cell holds."""
    header = [str(c) for c in frame.columns]
    columns, dates = [], {}
    for i, c in enumerate(frame.columns):
        values, kind = _column(frame.iloc[:, i])
        columns.append(values)
        if kind:
            dates[i] = kind
    for i, text in enumerate([header, *columns]):
        if max((len(v) for v in text if type(v) is str), default=0) <= CHARS_PER_CELL:
            continue
        long = next((j for j, v in enumerate(text) if isinstance(v, str) and len(v) > CHARS_PER_CELL), None)
        if long is not None:
            column = header[i - 1] if i else "(header)"
            row = long + 2 if i else 1
            raise OutputError(
                f"Cannot write {where}: column {column!r} of table {name!r} holds a text of "
                f"{len(text[long]):,} characters in row {row:,}; a Google Sheets cell holds at most "
                f"{CHARS_PER_CELL:,}.", "Write that table to a file (.csv or .parquet) instead, or shorten the "
                "values before writing.")
    rows = [list(r) for r in zip(*columns)] if columns else [[] for _ in range(len(frame))]
    return Table(name, title, header, rows, dates)


# ----------------------------------------------------------------------------------------- the destination

@dataclass
class _Tab:
    sheet_id: int
    title: str
    rows: int
    cols: int
    hidden: bool
    index: int

    @property
    def cells(self) -> int:
        return self.rows * self.cols


class SheetsDestination(Destination):
    """``sheets://SPREADSHEET_ID/TAB`` or ``https://docs.google.com/spreadsheets/d/ID/...``.

    ``credentials_file`` / ``emulator``: how to connect, as for :func:`ga4kit.connect.make_clients`
    (default: the environment). The rest is for tests and benchmarks: ``client`` (a
    :class:`~ga4kit.sheets_api.SheetsClient`), ``cell_limit``, ``max_request_bytes``, ``backoff``,
    ``writes_per_minute``.
    """

    connects: ClassVar[bool] = True

    def __init__(self, target: str | os.PathLike, *, credentials_file: str | None = None,
                 emulator: str | None = None, client: SheetsClient | None = None, cell_limit: int = CELL_LIMIT,
                 max_request_bytes: int = MAX_REQUEST_BYTES, backoff: Backoff | None = None,
                 writes_per_minute: int | None = WRITES_PER_MINUTE):
        text = os.fspath(target)
        self.spreadsheet_id, self.tab, self._gid = parse_target(text)
        super().__init__(text)
        self.credentials_file, self.emulator = credentials_file, emulator
        self.cell_limit, self.max_request_bytes = cell_limit, max_request_bytes
        self._backoff, self._writes_per_minute = backoff, writes_per_minute
        self._client = client
        self._url: str | None = None

    @property
    def description(self) -> str:
        return f"sheets://{self.spreadsheet_id}" + (f"/{self.tab}" if self.tab else "")

    def lock(self, note: Note | None = None) -> AbstractContextManager:
        """An OS lock per spreadsheet on this machine (every tab of it shares the cell limit)."""
        from ga4kit.locking import FileLock, destination_lock_path

        return FileLock(destination_lock_path(f"sheets://{self.spreadsheet_id}"), on_wait=note,
                        what=self.description)

    # ------------------------------------------------------------------------------ connection
    def client(self, note: Note | None = None) -> SheetsClient:
        if self._client is None:
            from ga4kit.connect import sheets_access
            from ga4kit.sheets_api import SheetsClient

            self._client = SheetsClient(sheets_access(credentials_file=self.credentials_file,
                                                      emulator=self.emulator),
                                        backoff=self._backoff, writes_per_minute=self._writes_per_minute)
        if note is not None:
            self._client.note = note
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _tabs(self) -> dict[str, _Tab]:
        """The spreadsheet's tabs by lower-cased title (one read); resolves a gid given in the address."""
        answer = self.client().get(self.spreadsheet_id, fields="spreadsheetUrl,sheets.properties(sheetId,title,"
                                   "index,hidden,gridProperties(rowCount,columnCount))")
        self._url = answer.get("spreadsheetUrl") or f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit"
        tabs = {}
        for item in answer.get("sheets", []):
            p = item.get("properties", {})
            g = p.get("gridProperties", {})
            tab = _Tab(int(p.get("sheetId", 0)), str(p.get("title", "")), int(g.get("rowCount", 0)),
                       int(g.get("columnCount", 0)), bool(p.get("hidden", False)), int(p.get("index", 0)))
            tabs[tab.title.lower()] = tab
        if self._gid is not None and self.tab is None:
            match = next((t for t in tabs.values() if t.sheet_id == self._gid), None)
            if match is None:
                raise OutputError(f"Cannot write {self.target}: the spreadsheet has no tab with gid {self._gid}.",
                                  f"Use -o sheets://{self.spreadsheet_id}/TAB to name the tab to write.")
            self.tab = match.title
        return tabs

    # ------------------------------------------------------------------------------ names
    def titles(self, tables: Sequence[str]) -> dict[str, str]:
        """The tab of each table (see the module docstring)."""
        names = list(tables) or [DEFAULT_TABLE]
        if len(names) == 1 and names[0] == DEFAULT_TABLE:
            return {DEFAULT_TABLE: self.tab or DEFAULT_TABLE}
        return {n: f"{self.tab}.{n}" if self.tab else str(n) for n in names}

    @property
    def meta_title(self) -> str:
        return f"{self.tab}.{META_NAME}" if self.tab else META_NAME

    def _check_titles(self, titles: Mapping[str, str]) -> None:
        for title in [*titles.values(), self.meta_title]:
            if len(title) > MAX_TITLE or title.startswith(STAGING) or not title.strip():
                raise OutputError(f"Cannot write {self.description}: the tab name {title!r} is not allowed "
                                  f"(at most {MAX_TITLE} characters, not starting with {STAGING!r}).",
                                  "Use a shorter tab name: -o sheets://ID/TAB.")
        taken = [t for t in titles.values() if t.lower() == self.meta_title.lower()]
        if taken:
            raise OutputError(f"Cannot write {self.description}: a table would go to the metadata tab {taken[0]!r}.",
                              "Rename the table.")

    def _link(self, tab: _Tab | int) -> str:
        gid = tab if isinstance(tab, int) else tab.sheet_id
        return f"{self._url}#gid={gid}"

    # ------------------------------------------------------------------------------ Destination
    def check(self, tables: Sequence[str] = (DEFAULT_TABLE,)) -> list[str]:
        """Reads the spreadsheet once: a wrong ID, a sheet not shared with the account, missing credentials
        or scope are reported now, before GA4 is asked for anything."""
        self._tabs()
        titles = self.titles(list(tables))
        self._check_titles(titles)
        return [f"sheets://{self.spreadsheet_id}/{t}" for t in titles.values()]

    def read(self, tables: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        import pandas as pd

        tabs = self._tabs()
        titles = {n: t for n, t in self.titles(list(tables or [DEFAULT_TABLE])).items() if t.lower() in tabs}
        out = {}
        for name, title in titles.items():
            tab = tabs[title.lower()]
            rows = self._read_rows(tab)
            if not rows or not any(v not in ("", None) for v in rows[0]):
                out[name] = pd.DataFrame()
                continue
            header = [str(h) for h in rows[0]]
            while header and header[-1] == "":
                header.pop()
            width = len(header)
            body = [[(None if v == "" else v) for v in (r[:width] + [""] * (width - len(r)))] for r in rows[1:]]
            frame = pd.DataFrame(body, columns=header, dtype=object)
            for col in self._date_columns(tab, width) if len(frame) else []:
                seen: dict = {}  # a date column holds few distinct days
                frame.iloc[:, col] = [seen[v] if v in seen else seen.setdefault(v, _iso(v))
                                      for v in frame.iloc[:, col]]
            out[name] = frame
        return out

    def _date_columns(self, tab: _Tab, width: int) -> list[int]:
        """The columns whose first data cell is formatted as a date or date-time (whatever its pattern):
        their serial numbers are read back as ISO text, as a CSV holds them."""
        answer = self.client().get(self.spreadsheet_id, ranges=[f"{_quote(tab.title)}!A2:{_col(width - 1)}2"],
                                   include_grid_data=True,
                                   fields="sheets.data.rowData.values.userEnteredFormat.numberFormat.type")
        try:
            cells = answer["sheets"][0]["data"][0]["rowData"][0]["values"]
        except (KeyError, IndexError):
            return []
        return [i for i, cell in enumerate(cells)
                if ((cell or {}).get("userEnteredFormat") or {}).get("numberFormat", {}).get("type")
                in ("DATE", "DATE_TIME")]

    def read_columns(self, tables: Sequence[str] | None = None) -> dict[str, list[str]]:
        tabs = self._tabs()
        titles = {n: t for n, t in self.titles(list(tables or [DEFAULT_TABLE])).items() if t.lower() in tabs}
        ranges = [f"{_quote(tabs[t.lower()].title)}!1:1" for t in titles.values()]
        found = self.client().values_batch_get(self.spreadsheet_id, ranges)
        out = {}
        for name, vr in zip(titles, found):
            header = [str(v) for v in (vr.get("values") or [[]])[0]]
            while header and header[-1] == "":
                header.pop()
            out[name] = header
        return out

    def _read_rows(self, tab: _Tab) -> list[list]:
        """Every row of a tab (blocks of at most READ_CELLS cells, 20 ranges per batchGet); Sheets leaves out
        empty rows at the end of a range, so each block is padded back to its height."""
        step = max(1, READ_CELLS // max(tab.cols, 1))
        starts = list(range(0, max(tab.rows, 1), step))
        rows: list[list] = []
        for i in range(0, len(starts), 20):
            chunk = starts[i:i + 20]
            ranges = [f"{_quote(tab.title)}!A{r + 1}:{_col(tab.cols - 1)}{min(r + step, tab.rows)}" for r in chunk]
            for r, vr in zip(chunk, self.client().values_batch_get(self.spreadsheet_id, ranges,
                                                                    datetime_render="SERIAL_NUMBER")):
                block = vr.get("values") or []
                rows.extend(block)
                rows.extend([] for _ in range(min(r + step, tab.rows) - r - len(block)))
        while rows and not any(v not in ("", None) for v in rows[-1]):
            rows.pop()
        return rows

    def state(self) -> DestinationState | None:
        tabs = self._tabs()
        meta = tabs.get(self.meta_title.lower())
        if meta is None:
            return None
        [vr] = self.client().values_batch_get(self.spreadsheet_id, [_quote(meta.title)])
        row = next((r for r in vr.get("values") or [] if r and r[0] == STATE_MARK), None)
        if row is None:
            return None
        parsed = DestinationState.from_json("".join(str(v) for v in row[1:]))
        if parsed is None:
            return None
        state, described = parsed
        for title, shape in described.items():  # the tabs it describes must be there, as written
            tab = tabs.get(title.lower())
            if tab is None or _shape(tab.rows, tab.cols) != shape:
                return None
        return state

    # ------------------------------------------------------------------------------ writing
    def write(self, frames: Mapping[str, pd.DataFrame], *, state: DestinationState | None = None,
              note: Note | None = None) -> list[str]:
        frames = dict(frames)
        if not frames:
            raise OutputError(f"Cannot write {self.description}: there is nothing to write (no frames).",
                              "Pass at least one DataFrame.")
        client = self.client(note)
        tabs = self._tabs()
        titles = self.titles(list(frames))
        self._check_titles(titles)
        shapes = {titles[n]: (grid_height(len(f)), max(1, len(f.columns))) for n, f in frames.items()}
        meta_rows = _meta_rows(state, {t: _shape(*shape) for t, shape in shapes.items()}) if state else None
        leftovers = [t for t in tabs.values() if t.title.startswith(STAGING)]
        self._check_cells(tabs, shapes, leftovers, meta_rows)
        tables = [encode(n, titles[n], f, self.description) for n, f in frames.items()]
        run = secrets.token_hex(4)
        used = {t.sheet_id for t in tabs.values()}
        for table in tables:
            table.staging_id = _new_id(used)
        try:  # from here a failure may leave staging tabs: remove them
            self._batch(client, [
                *({"deleteSheet": {"sheetId": t.sheet_id}} for t in leftovers),
                *({"addSheet": {"properties": {
                    "sheetId": t.staging_id, "title": f"{STAGING} {run} {i + 1}", "hidden": True,
                    "gridProperties": {"rowCount": t.height, "columnCount": t.width}}}}
                  for i, t in enumerate(tables))],
                landed=lambda now: all(f"{STAGING} {run} {i + 1}".lower() in now for i in range(len(tables))))
            if leftovers and note:
                note(f"Removed {len(leftovers)} staging tab{'s' if len(leftovers) > 1 else ''} of an interrupted "
                     f"write from {self.description}.")
            self._fill(client, tables, run)
            self._batch(client, self._swap_requests(tables, tabs, meta_rows, used),
                        landed=lambda now: all(t.title.lower() in now for t in tables) and not any(
                            t.startswith(f"{STAGING} {run} ") for t in now))
        except BaseException:
            self._drop_staging(client, run)
            raise
        return [self._link(tabs[t.title.lower()] if t.title.lower() in tabs else t.staging_id) for t in tables]

    def _check_cells(self, tabs: Mapping[str, _Tab], shapes: Mapping[str, tuple[int, int]], leftovers: list,
                     meta_rows: list | None) -> None:
        """Refuse, before any write, a write that would take the spreadsheet past the cell limit at any
        moment: the staging copies exist beside the old tabs until the swap."""
        now = sum(t.cells for t in tabs.values()) - sum(t.cells for t in leftovers)
        new = sum(r * c for r, c in shapes.values())
        # A table whose tab exists is pasted into it while its staging copy still exists; a new tab is
        # its staging tab renamed.
        replaced = sum(r * c for t, (r, c) in shapes.items() if t.lower() in tabs)
        old = sum(tabs[t.lower()].cells for t in shapes if t.lower() in tabs)
        meta_old = tabs[self.meta_title.lower()].cells if self.meta_title.lower() in tabs else 0
        meta_new = _meta_size(meta_rows) if meta_rows is not None else meta_old
        peak = now + new + max(0, replaced - old) + max(0, meta_new - meta_old)
        final = now - old + new - meta_old + meta_new
        if peak <= self.cell_limit:
            return
        table_text = ", ".join(f"{t} {r:,} rows x {c:,} columns" for t, (r, c) in shapes.items())
        if final > self.cell_limit:
            why = (f"the spreadsheet would hold {final:,} cells ({now - old:,} in its other tabs, {new:,} for the "
                   f"new tables: {table_text})")
        else:
            why = (f"ga4kit writes the new tables ({new:,} cells: {table_text}) beside the old ones before it "
                   f"swaps them in atomically, so it needs room for {peak:,} cells (the spreadsheet holds "
                   f"{now:,} now)")
        raise OutputError(f"Cannot write {self.description}: {why}, and a Google spreadsheet holds at most "
                          f"{self.cell_limit:,} cells (empty cells of every tab count). Nothing was written.",
                          "Write fewer rows (a coarser --grain, fewer segments or properties), delete unused tabs, "
                          "rows or columns of the spreadsheet, or write to another spreadsheet or to a file.")

    def _fill(self, client: SheetsClient, tables: list[Table], run: str) -> None:
        """Fill the staging tabs with values.batchUpdate requests of at most ``max_request_bytes`` each (every
        row is encoded once; a request holds a block of rows per tab)."""
        head, tail = b'{"valueInputOption":"RAW","data":[', b"]}"
        blocks: list[tuple[bytes, list[bytes]]] = []  # (the ValueRange's opening, its encoded rows)
        size = len(head) + len(tail)

        def send() -> None:
            nonlocal blocks, size
            if blocks:
                body = head + b",".join(start + b",".join(rows) + b"]}" for start, rows in blocks) + tail
                client.values_batch_update(self.spreadsheet_id, [], body_bytes=body)
            blocks, size = [], len(head) + len(tail)

        for i, table in enumerate(tables):
            title = _quote(f"{STAGING} {run} {i + 1}")
            block = None
            for r, row in enumerate([table.header, *table.rows]):
                line = json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
                opening = f'{{"range":"{title}!A{r + 1}","majorDimension":"ROWS","values":['.encode("utf-8")
                extra = len(line) + 1 + (len(opening) + 3 if block is None else 0)
                if blocks and size + extra > self.max_request_bytes:
                    send()
                    block, extra = None, len(line) + 1 + len(opening) + 3
                if block is None:
                    block = (opening, [])
                    blocks.append(block)
                block[1].append(line)
                size += extra
        send()

    def _swap_requests(self, tables: list[Table], tabs: Mapping[str, _Tab], meta_rows: list | None,
                       used: set[int]) -> list[dict]:
        requests: list[dict] = []
        for table in tables:
            old = tabs.get(table.title.lower())
            if old is None:
                requests.append({"updateSheetProperties": {
                    "properties": {"sheetId": table.staging_id, "title": table.title, "hidden": False,
                                   "gridProperties": {"frozenRowCount": 1}},
                    "fields": "title,hidden,gridProperties.frozenRowCount"}})
                target = table.staging_id
            else:
                target = old.sheet_id
                requests += _resize(old, table.height, table.width)
                requests.append({"updateCells": {"range": {"sheetId": target}, "fields": "userEnteredValue"}})
                requests.append({"copyPaste": {
                    "source": _grid(table.staging_id, 0, table.height, 0, table.width),
                    "destination": _grid(target, 0, table.height, 0, table.width),
                    "pasteType": "PASTE_VALUES", "pasteOrientation": "NORMAL"}})
                requests.append({"deleteSheet": {"sheetId": table.staging_id}})
                requests.append({"repeatCell": {"range": _grid(target, 0, table.height, 0, table.width),
                                                "cell": {}, "fields": "userEnteredFormat.numberFormat"}})
            for col, kind in table.dates.items():
                if table.height > 1:
                    pattern = DATE_PATTERN if kind == "DATE" else DATETIME_PATTERN
                    requests.append({"repeatCell": {
                        "range": _grid(target, 1, table.height, col, col + 1),
                        "cell": {"userEnteredFormat": {"numberFormat": {"type": kind, "pattern": pattern}}},
                        "fields": "userEnteredFormat.numberFormat"}})
        if meta_rows is not None:
            requests += self._meta_requests(tabs, meta_rows, used)
        return requests

    def _meta_requests(self, tabs: Mapping[str, _Tab], rows: list[list], used: set[int]) -> list[dict]:
        height, width = len(rows), max(len(r) for r in rows)
        meta = tabs.get(self.meta_title.lower())
        requests: list[dict] = []
        if meta is None:
            sheet_id = _new_id(used)
            requests.append({"addSheet": {"properties": {
                "sheetId": sheet_id, "title": self.meta_title,
                "gridProperties": {"rowCount": height, "columnCount": width, "frozenRowCount": 1}}}})
        else:
            sheet_id = meta.sheet_id
            requests += _resize(meta, height, width)
            requests.append({"updateCells": {"range": {"sheetId": sheet_id},
                                             "fields": "userEnteredValue,userEnteredFormat.numberFormat"}})
        requests.append({"updateCells": {"start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                                         "rows": [{"values": [_cell_data(v) for v in r]} for r in rows],
                                         "fields": "userEnteredValue,userEnteredFormat.numberFormat"}})
        return requests

    def _batch(self, client: SheetsClient, requests: list[dict], *, landed) -> None:
        """One batchUpdate. When it fails after a retry, its first attempt may have been applied with the
        answer lost (the retry then fails, its tabs being there or gone already): look at the spreadsheet,
        and ``landed({lower-cased title})`` says whether the batch is in."""
        retries = client.stats.retries
        try:
            client.batch_update(self.spreadsheet_id, requests)
        except SheetsError:
            if client.stats.retries == retries:
                raise
            try:
                now = set(self._tabs())
            except SheetsError:
                now = set()
            if not landed(now):
                raise

    def _drop_staging(self, client: SheetsClient, run: str) -> None:
        """Best effort after a failed or interrupted write: remove this write's staging tabs (the next write
        removes them otherwise). Only tabs still named as staging: a swap that landed renamed some."""
        try:
            gone = [{"deleteSheet": {"sheetId": t.sheet_id}} for t in self._tabs().values()
                    if t.title.startswith(f"{STAGING} {run} ")]
            if gone:
                client.batch_update(self.spreadsheet_id, gone, retry=False)
        except (Exception, KeyboardInterrupt):  # a cleanup must never hide the real failure
            pass


# ----------------------------------------------------------------------------------------- helpers

def _iso(value: Any) -> Any:
    """A serial number as ISO text (a date, or a date and time); anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    moment = EPOCH + dt.timedelta(days=float(value))
    moment = moment.replace(microsecond=0) + dt.timedelta(seconds=round(moment.microsecond / 1e6))
    return moment.date().isoformat() if moment.time() == dt.time() else moment.isoformat()


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _col(index: int) -> str:
    out, index = "", index + 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _grid(sheet_id: int, r0: int, r1: int, c0: int, c1: int) -> dict:
    return {"sheetId": sheet_id, "startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0,
            "endColumnIndex": c1}


def _resize(tab: _Tab, rows: int, cols: int) -> list[dict]:
    """updateSheetProperties requests giving ``tab`` this size; the shrinking dimension first, as Sheets
    checks the cell limit after each."""
    def one(field: str, value: int) -> dict:
        return {"updateSheetProperties": {"properties": {"sheetId": tab.sheet_id, "gridProperties": {field: value}},
                                          "fields": f"gridProperties.{field}"}}
    out = []
    if cols < tab.cols:
        out.append(one("columnCount", cols))
    if rows != tab.rows:
        out.append(one("rowCount", rows))
    if cols > tab.cols:
        out.append(one("columnCount", cols))
    return out


def _new_id(used: set[int]) -> int:
    while True:
        sheet_id = secrets.randbelow(2 ** 31 - 2) + 1
        if sheet_id not in used:
            used.add(sheet_id)
            return sheet_id


def _shape(rows: int, cols: int) -> str:
    return f"rows={rows},columns={cols}"


def _cell_data(value: Any) -> dict:
    """A metadata cell: text, a number, a flag, or a date / date-time (a serial number with its format)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, dt.datetime):
        serial = (value.astimezone(dt.timezone.utc).replace(tzinfo=None) - EPOCH) / dt.timedelta(days=1)
        return {"userEnteredValue": {"numberValue": serial},
                "userEnteredFormat": {"numberFormat": {"type": "DATE_TIME", "pattern": DATETIME_PATTERN}}}
    if isinstance(value, dt.date):
        serial = (dt.datetime(value.year, value.month, value.day) - EPOCH).days
        return {"userEnteredValue": {"numberValue": serial},
                "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": DATE_PATTERN}}}
    if isinstance(value, (int, float)):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def _meta_rows(state: DestinationState, described: Mapping[str, str]) -> list[list]:
    """The metadata tab: a row per property, then the time of the write and the state as JSON (in cells of
    at most :data:`STATE_CHUNK` characters)."""
    rows: list[list] = [list(META_HEADER)]
    for pid, held in sorted(state.properties.items()):
        last = dict(held.last_pull or {})
        quota = last.get("quota") or {}

        def q(name: str, key: str) -> int | None:
            value = (quota.get(name) or {}).get(key)
            return int(value) if isinstance(value, (int, float)) else None

        rows.append([str(pid), held.first, held.last, ", ".join(f"{s}..{e}" for s, e in held.ranges), held.grain,
                     ", ".join(held.segments), held.refreshed_at, last.get("thresholded"), last.get("other_row"),
                     last.get("sampled"), last.get("api_calls"), q("tokens_per_day", "consumed"),
                     q("tokens_per_day", "remaining"), q("tokens_per_hour", "remaining")])
    text = json.dumps(json.loads(state.to_json(dict(described))), separators=(",", ":"), ensure_ascii=False)
    chunks = [text[i:i + STATE_CHUNK] for i in range(0, len(text), STATE_CHUNK)]
    rows += [[], ["written_at", state.written_at or dt.datetime.now(dt.timezone.utc)],
             ["note", "Written by ga4kit with its tables; edits to this tab are replaced on the next write."],
             [STATE_MARK, *chunks]]
    return rows


def _meta_size(rows: list[list]) -> int:
    return len(rows) * max(len(r) for r in rows)

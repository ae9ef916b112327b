"""Import and export GA4 BigQuery-export-shaped event files (NDJSON, CSV, Parquet).

Fields read per event (BigQuery export names): ``event_timestamp`` (µs; or ``event_date`` alone, as
midnight in the property's time zone), ``event_date`` (YYYYMMDD in the property's time zone), ``event_name``,
``user_pseudo_id``, ``platform`` (WEB / ANDROID / IOS), ``event_params`` (repeated ``{key, value:
{string_value | int_value | double_value | float_value}}``; CSV may carry it as a JSON string),
``device.category / operating_system / web_info.browser``, ``geo.country / region / city``, the user's first
touch ``traffic_source.source / medium / name``, and for the session's source / medium / campaign the first
found of ``session_traffic_source_last_click.manual_campaign`` (``cross_channel_campaign.default_channel_group``
gives the channel), ``collected_traffic_source.manual_*``, the ``source`` / ``medium`` / ``campaign`` event
parameters, the first touch, else ``(direct) / (none)``; ``ecommerce.transaction_id`` and ``items``
(item_id, item_name, item_brand, item_category, price, quantity). Parameters used: ``ga_session_id``
(session key with user_pseudo_id; without it, sessions are cut after 30 minutes of inactivity),
``ga_session_number``, ``page_location``, ``page_title``, ``page_referrer``, ``engagement_time_msec``,
``session_engaged``, ``value``, ``currency``, ``transaction_id``; any other parameter is kept as a
``param:<key>`` column (the first 50 keys). CSV files are flat: nested fields as dotted column names
(``device.category``), parameters as their own columns, ``items`` as a JSON string.

Session fields are made session scoped (the first non-empty value in the session wins), first-touch fields
user scoped, and channel groups are derived from source / medium / campaign with ``default_channel_group``:
GA4's default channel grouping, simplified (no Google Ads rules, short site lists).

Time zones: ``event_date`` is the day in the property's time zone. Given a time zone, the import checks the
file's dates against it and warns (``EventFileWarning``) when they disagree; without one, it infers the zone
whose days match every event (``infer_time_zone``), else UTC.

Bad files raise ``EventFileError`` (a ValueError) naming the file, the line or row, and the fix.

Writing (``write_events`` / ``export_records`` / ``export_table``) is the inverse, column-wise: strings are
encoded once per category, never once per event.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pandas as pd

from .events import PARAM_PREFIX, attach_items, items_of, normalize, normalize_items, param_columns

SUPPORTED = (".ndjson", ".jsonl", ".json", ".csv", ".parquet")
MAX_EXTRA_PARAMS = 50
DAY_US = 86_400_000_000


class EventFileError(ValueError):
    """An events file that cannot be imported; the message says where and what to change."""


class EventFileWarning(UserWarning):
    """Something in an events file the import had to guess or that disagrees with the options given."""


# ---- default channel grouping (simplified) --------------------------------------------------

_SEARCH = re.compile(r"(^|\.)(google|bing|yahoo|duckduckgo|baidu|yandex|ecosia|naver|ask|aol|qwant|startpage|"
                     r"seznam)(\.|$)")
_SOCIAL = re.compile(r"(facebook|instagram|linkedin|lnkd\.in|twitter|^t\.co$|^x\.com$|pinterest|reddit|tiktok|"
                     r"snapchat|xing|quora|tumblr|threads|mastodon|^vk\.com$|whatsapp)")
_VIDEO = re.compile(r"(youtube|vimeo|twitch|dailymotion)")
_SHOPPING = re.compile(r"(shopping|amazon|ebay|etsy|idealo)")
_PAID = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
_EMAIL = {"email", "e-mail", "e_mail", "e mail"}


def default_channel_group(source: str, medium: str, campaign: str = "") -> str:
    """GA4's default channel group for a session's source / medium (simplified, see module doc)."""
    s, m, c = (source or "").lower().strip(), (medium or "").lower().strip(), (campaign or "").lower()
    if s in ("(direct)", "") and m in ("(none)", "(not set)", ""):
        return "Direct"
    if "cross-network" in c:
        return "Cross-network"
    paid = bool(_PAID.match(m))
    if paid and (_SHOPPING.search(s) or re.search(r"^(.*(([^a-df-z]|^)shop|shopping).*)$", c)):
        return "Paid Shopping"
    if paid and _SEARCH.search(s):
        return "Paid Search"
    if paid and _SOCIAL.search(s):
        return "Paid Social"
    if paid and _VIDEO.search(s):
        return "Paid Video"
    if m in ("display", "banner", "expandable", "interstitial", "cpm"):
        return "Display"
    if paid:
        return "Paid Other"
    if _SHOPPING.search(s):
        return "Organic Shopping"
    if _SOCIAL.search(s) or m in ("social", "social-network", "social-media", "sm", "social network",
                                  "social media"):
        return "Organic Social"
    if _VIDEO.search(s) or "video" in m:
        return "Organic Video"
    if _SEARCH.search(s) or m == "organic":
        return "Organic Search"
    if m in ("referral", "app", "link"):
        return "Referral"
    if s in _EMAIL or m in _EMAIL:
        return "Email"
    if m == "affiliate":
        return "Affiliates"
    if m == "audio":
        return "Audio"
    if s == "sms" or m == "sms":
        return "SMS"
    if m.endswith("push") or "mobile" in m or "notification" in m:
        return "Mobile Push Notifications"
    return "Unassigned"


def campaign_placeholder(source: str, medium: str) -> str:
    """GA4's campaign name for traffic without one: (direct), (organic), (referral) or (not set)."""
    if source == "(direct)" and medium in ("(none)", "(not set)"):
        return "(direct)"
    if medium == "organic":
        return "(organic)"
    if medium == "referral":
        return "(referral)"
    return "(not set)"


# ---- the fields: export path -> raw column -----------------------------------------------------

# raw column -> dotted export paths, first found wins (strings)
_STRING_FIELDS = {
    "event_date": ["event_date"],
    "platform": ["platform"],
    "device_category": ["device.category"],
    "operating_system": ["device.operating_system"],
    "browser": ["device.web_info.browser", "device.browser"],
    "country": ["geo.country"],
    "region": ["geo.region"],
    "city": ["geo.city"],
    "user_src": ["traffic_source.source"],
    "user_med": ["traffic_source.medium"],
    "user_camp": ["traffic_source.name"],
    "channel": ["session_traffic_source_last_click.cross_channel_campaign.default_channel_group"],
    "transaction_id": ["ecommerce.transaction_id"],
}
# session source fields: export paths, then the event parameter
_SESSION_FIELDS = {
    "src": (["session_traffic_source_last_click.manual_campaign.source", "collected_traffic_source.manual_source"],
            "source"),
    "med": (["session_traffic_source_last_click.manual_campaign.medium", "collected_traffic_source.manual_medium"],
            "medium"),
    "camp": (["session_traffic_source_last_click.manual_campaign.campaign_name",
              "collected_traffic_source.manual_campaign_name"], "campaign"),
}
# event parameters with their own columns: key -> (raw column, kind)
_PARAMS = {
    "ga_session_id": ("session_id", "int"), "ga_session_number": ("session_number", "int"),
    "page_location": ("page_location", "str"), "page_title": ("page_title", "str"),
    "page_referrer": ("page_referrer", "str"), "engagement_time_msec": ("engagement_time_msec", "int"),
    "session_engaged": ("session_engaged", "int"), "value": ("value", "num"), "currency": ("currency", "str"),
    "transaction_id": ("transaction_id_param", "str"),
    "source": ("src_param", "str"), "medium": ("med_param", "str"), "campaign": ("camp_param", "str"),
}
_ITEM_FIELDS = ("item_id", "item_name", "item_brand", "item_category", "price", "quantity")
_PLATFORMS = {"WEB": "web", "ANDROID": "Android", "IOS": "iOS"}


# ---- reading --------------------------------------------------------------------------------

@dataclass
class Coded:
    """A string column as integer codes into distinct labels; code -1 = absent (null or "")."""

    codes: np.ndarray
    labels: np.ndarray

    @classmethod
    def empty(cls, n: int) -> "Coded":
        return cls(np.full(n, -1, dtype=np.int64), np.zeros(0, dtype=object))

    @classmethod
    def from_values(cls, values) -> "Coded":
        codes, labels = pd.factorize(pd.Series(np.asarray(values, dtype=object)).fillna(""))
        return cls._drop_empty(codes.astype(np.int64), np.asarray(labels, dtype=object))

    @classmethod
    def _drop_empty(cls, codes: np.ndarray, labels: np.ndarray) -> "Coded":
        labels = np.array(["" if v is None else str(v) for v in labels], dtype=object)
        empty = np.flatnonzero(labels == "")
        if len(empty):
            codes = np.where(np.isin(codes, empty), -1, codes)
        return cls(codes, labels)

    def take(self, idx: np.ndarray) -> "Coded":
        return Coded(self.codes[idx], self.labels)

    def map_labels(self, fn) -> "Coded":
        """Apply ``fn`` to each label (not each row); absent stays absent."""
        return Coded._merge(self.codes, np.array([fn(v) for v in self.labels], dtype=object))

    @classmethod
    def _merge(cls, codes: np.ndarray, labels: np.ndarray) -> "Coded":
        """Codes into labels that may repeat or be "": made distinct."""
        if not len(labels):
            return cls(codes, labels)
        inv, uniq = pd.factorize(pd.Series(labels, dtype=object))
        new = np.where(codes >= 0, inv[np.maximum(codes, 0)], -1).astype(np.int64)
        return cls._drop_empty(new, np.asarray(uniq, dtype=object))

    def categorical(self, absent: str = "") -> pd.Categorical:
        labels = np.append(self.labels, absent)
        inv, uniq = pd.factorize(pd.Series(labels, dtype=object))
        return pd.Categorical.from_codes(inv[np.where(self.codes >= 0, self.codes, len(labels) - 1)],
                                         categories=list(uniq))


def _first_coded(choices: list[Coded | None], n: int) -> Coded:
    """Per row, the first choice that is present."""
    out = np.full(n, -1, dtype=np.int64)
    labels: list = []
    for c in choices:
        if c is None:
            continue
        out = np.where((out < 0) & (c.codes >= 0), c.codes + len(labels), out)
        labels.extend(c.labels)
    return Coded._merge(out, np.array(labels, dtype=object))


@dataclass
class RawEvents:
    """Columns read from a file before sessions and scopes are worked out: ``ts`` (int64, -1 = from
    event_date), numeric parameters (float, NaN = absent) and strings as ``Coded``."""

    cols: dict[str, Any]
    params: dict[str, Coded]          # further parameters by key
    items: pd.DataFrame               # item rows: "row" = event position in the file, plus _ITEM_FIELDS

    @property
    def n(self) -> int:
        return len(self.cols["ts"])


_NUMERIC_RAW = {c for c, kind in _PARAMS.values() if kind != "str"}


def _param_value(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    for k in ("string_value", "int_value", "double_value", "float_value"):
        x = v.get(k)
        if x is not None and not (isinstance(x, float) and np.isnan(x)):
            return x
    return None


def _params(raw: Any, where: str) -> dict[str, Any]:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return {}
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise EventFileError(f"{where}: event_params is not valid JSON ({e.msg}); write it as a JSON "
                                 'list like [{"key": "ga_session_id", "value": {"int_value": 1}}].') from None
    if isinstance(raw, dict):  # {"key": value} shorthand
        return {k: _param_value(v) for k, v in raw.items()}
    out = {}
    try:
        for p in raw:
            out[p["key"]] = _param_value(p.get("value"))
    except (TypeError, KeyError):
        raise EventFileError(f"{where}: event_params must be a list of {{key, value}} records.") from None
    return out


def _get(rec: dict, dotted: str) -> Any:
    if dotted in rec:  # flat (CSV) form
        return rec[dotted]
    cur: Any = rec
    for part in dotted.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip())


def _records(path: Path) -> Iterable[tuple[str, dict]]:
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl", ".json"):
        with path.open(encoding="utf-8") as fh:
            text_start = fh.read(1)
            fh.seek(0)
            if suffix == ".json" and text_start == "[":  # a JSON array of events
                try:
                    items = json.load(fh)
                except json.JSONDecodeError as e:
                    raise EventFileError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}).") from None
                for i, rec in enumerate(items, 1):
                    yield f"{path}: event {i}", rec
                return
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise EventFileError(f"{path}:{n}: not valid JSON ({e.msg}); NDJSON needs one JSON object "
                                         "per line.") from None
                if not isinstance(rec, dict):
                    raise EventFileError(f"{path}:{n}: expected a JSON object per line.")
                yield f"{path}:{n}", rec
    elif suffix == ".csv":
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise EventFileError(f"{path}: not a readable CSV file ({e}).") from None
        for n, rec in enumerate(df.to_dict("records"), 2):  # row 1 is the header
            yield f"{path}:{n}", rec
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
            table = pq.read_table(path)
        except Exception as e:  # pyarrow raises several types for a bad file
            raise EventFileError(f"{path}: not a readable Parquet file ({e}).") from None
        for i, rec in enumerate(table.to_pylist(), 1):
            yield f"{path}: row {i}", rec
    else:
        raise EventFileError(f"{path}: unsupported file type '{suffix or '(none)'}'; use one of "
                             f"{', '.join(SUPPORTED)}.")


def _int(v: Any, where: str, name: str) -> int:
    try:
        return int(float(v)) if isinstance(v, str) and ("." in v or "e" in v.lower()) else int(v)
    except (TypeError, ValueError):
        raise EventFileError(f"{where}: {name} must be an integer, got {v!r}.") from None


def read_events(path: str | Path, time_zone: str | None = None) -> pd.DataFrame:
    """Read an export file into an EventStore frame (sorted by time) with its items attached
    (``events.items_of``). ``time_zone``: the property's, for ``event_date``-only events (default: inferred
    from the file, else UTC)."""
    frame, items, _ = read_events_with_zone(path, time_zone)
    return attach_items(frame, items)


def read_events_with_zone(path: str | Path, time_zone: str | None = None
                          ) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(frame, items, time zone) of an export file; the zone is ``time_zone`` when given (warning when the
    file's event_date disagrees), else the one inferred from event_date against event_timestamp, else UTC.

    Parquet, NDJSON and CSV are read column-wise with pyarrow, strings as dictionary codes (a million
    events in seconds); a file that does not fit that fast path (odd types, missing fields) is read record
    by record, which also gives the precise error messages."""
    path = Path(path)
    if not path.exists():
        raise EventFileError(f"{path}: no such file.")
    raw = None
    if path.suffix.lower() in (".parquet", ".ndjson", ".jsonl", ".csv"):
        try:
            raw = _arrow_raw(path)
        except Exception:  # any surprise: the record path reads it or says what is wrong
            raw = None
    if raw is None:
        raw = _record_raw(path)
    zone = _resolve_zone(raw, path, time_zone)
    frame, items = _finish(raw, path, zone)
    return frame, items, zone


# ---- the column-wise reader -----------------------------------------------------------------------

def _read_table(path: Path):
    import pyarrow as pa
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq
        return pq.read_table(path)
    if suffix == ".csv":
        import pyarrow.csv as pc_csv
        with open(path, encoding="utf-8") as fh:
            header = fh.readline().rstrip("\r\n").split(",")
        return pc_csv.read_csv(path, convert_options=pc_csv.ConvertOptions(
            column_types={c.strip('"'): pa.string() for c in header}, strings_can_be_null=False))
    import pyarrow.json as pj
    return pj.read_json(path, read_options=pj.ReadOptions(block_size=64 << 20))


def _coded_arrow(arr, n: int, rows: np.ndarray | None = None) -> Coded:
    """A pyarrow column (or the values at ``rows`` of n events) as codes, via dictionary encoding."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr is None:
        return Coded.empty(n)
    if not pa.types.is_dictionary(arr.type):
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.string())
        arr = pc.dictionary_encode(arr)
    idx = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    labels = np.asarray(arr.dictionary.to_pylist(), dtype=object)
    if rows is not None:
        full = np.full(n, -1, dtype=np.int64)
        full[rows] = idx
        idx = full
    return Coded._drop_empty(idx, labels)


def _arrow_raw(path: Path) -> RawEvents | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    table = _read_table(path)
    n = table.num_rows
    if n == 0:
        return None
    flat = path.suffix.lower() == ".csv"

    columns: dict[str, Any] = {}

    def top(name: str):
        if name not in columns:  # each top-level column is combined once (nested ones are large)
            columns[name] = table.column(name).combine_chunks()
        return columns[name]

    def col(dotted: str):
        if dotted in table.column_names:
            return top(dotted)
        head, *rest = dotted.split(".")
        if flat or head not in table.column_names:
            return None
        arr = top(head)
        for part in rest:
            if not pa.types.is_struct(arr.type) or arr.type.get_field_index(part) < 0:
                return None
            arr = pc.struct_field(arr, part)
        return arr

    def coded(dotted: str):
        arr = col(dotted)
        return None if arr is None else _coded_arrow(arr, n)

    def numbers(arr) -> np.ndarray:
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
        return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype(float)

    name, user, ts = col("event_name"), col("user_pseudo_id"), col("event_timestamp")
    if name is None or user is None or ts is None or name.null_count or user.null_count:
        return None
    names, users = _coded_arrow(name, n), _coded_arrow(user, n)
    if (names.codes < 0).any() or (users.codes < 0).any():
        return None
    if pa.types.is_string(ts.type):
        if pc.any(pc.equal(ts, "")).as_py():
            return None
    elif ts.null_count:
        return None
    ts = pc.cast(ts, pa.int64()).to_numpy()
    if not ((ts > 10**14) & (ts < 10**17)).all():
        return None

    params: dict[str, tuple] = {}  # key -> (row indices, value structs)
    ep = col("event_params")
    extra_keys: list[str] = []
    kinds: list[str] = []
    if ep is not None:
        if not pa.types.is_list(ep.type):
            return None
        flat_ep = pc.list_flatten(ep)
        parents = pc.list_parent_indices(ep).to_numpy()
        keys = _coded_arrow(pc.struct_field(flat_ep, "key"), len(flat_ep))
        value = pc.struct_field(flat_ep, "value")
        kinds = [f.name for f in value.type if f.name in ("string_value", "int_value", "double_value", "float_value")]
        present = [k for k in keys.labels if k]
        extra_keys = [k for k in present if k not in _PARAMS][:MAX_EXTRA_PARAMS]
        for k in [k for k in present if k in _PARAMS] + extra_keys:
            code = int(np.flatnonzero(keys.labels == k)[0])
            mask = keys.codes == code
            params[k] = (parents[mask], value.filter(pa.array(mask)))
    elif flat:
        extra_keys = [c for c in table.column_names if c not in _CSV_KNOWN and "." not in c][:MAX_EXTRA_PARAMS]

    def param(k: str, kind: str):
        """A parameter: Coded strings or float numbers (NaN absent); None when no event has it."""
        if flat:
            arr = col(k)
            if arr is None:
                return None
            return _coded_arrow(arr, n) if kind == "str" else numbers(arr)
        if k not in params:
            return None
        rows, sub = params[k]
        target = pa.string() if kind == "str" else pa.float64()
        casts = []
        for f in kinds:
            field = pc.struct_field(sub, f)
            if pa.types.is_dictionary(field.type):
                field = field.cast(field.type.value_type)
            if kind != "str" and pa.types.is_string(field.type):
                field = pc.if_else(pc.equal(field, ""), pa.scalar(None, field.type), field)
            casts.append(pc.cast(field, target))
        # GA4 puts a parameter's value in one of the typed fields: take the first one set.
        vals = pc.coalesce(*casts) if casts else None
        if kind == "str":
            return _coded_arrow(vals, n, rows) if vals is not None else Coded.empty(n)
        out = np.full(n, np.nan)
        if vals is not None:
            out[rows] = vals.to_numpy(zero_copy_only=False).astype(float)
        return out

    cols: dict[str, Any] = {"ts": ts, "event_name": names, "user_id": users}
    for raw_col, paths in _STRING_FIELDS.items():
        cols[raw_col] = _first_coded([coded(p) for p in paths], n)
    for raw_col, (paths, key) in _SESSION_FIELDS.items():
        cols[raw_col] = _first_coded([coded(p) for p in paths] + [param(key, "str")], n)
    for key, (raw_col, kind) in _PARAMS.items():
        if raw_col.endswith("_param") and raw_col[:-6] in _SESSION_FIELDS:
            continue
        v = param(key, "str" if kind == "str" else "num")
        cols[raw_col] = v if v is not None else (Coded.empty(n) if kind == "str" else np.full(n, np.nan))
    extra = {k: param(k, "str") for k in extra_keys}
    items = _arrow_items(col("items"), n, flat)
    return RawEvents(cols, {k: v for k, v in extra.items() if v is not None}, items)


_CSV_KNOWN = ({"event_date", "event_timestamp", "event_name", "user_pseudo_id", "platform", "event_params", "items"}
              | set(_PARAMS))


def _arrow_items(arr, n: int, flat: bool) -> pd.DataFrame:
    """Item rows of the events: "row" (event position) plus the item fields."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr is None:
        return pd.DataFrame({"row": np.zeros(0, dtype=np.int64)})
    if flat or pa.types.is_string(arr.type):  # CSV: a JSON string per event
        texts = pc.fill_null(pc.cast(arr, pa.string()), "").to_numpy(zero_copy_only=False)
        rows = np.flatnonzero(texts != "")
        recs = []
        for r in rows:
            for it in json.loads(texts[r]):
                recs.append(dict(it, row=int(r)))
        return pd.DataFrame(recs) if recs else pd.DataFrame({"row": np.zeros(0, dtype=np.int64)})
    if not pa.types.is_list(arr.type):
        raise ValueError("items is not a list")
    flat_items = pc.list_flatten(arr)
    out: dict[str, Any] = {"row": pc.list_parent_indices(arr).to_numpy()}
    for f in _ITEM_FIELDS:
        if pa.types.is_struct(flat_items.type) and flat_items.type.get_field_index(f) >= 0:
            v = pc.struct_field(flat_items, f)
            if f in ("price", "quantity"):
                out[f] = v.to_numpy(zero_copy_only=False)
            else:
                out[f] = _coded_arrow(v, len(v)).categorical()
    return pd.DataFrame(out)


# ---- the record-by-record reader ------------------------------------------------------------------

def _record_raw(path: Path) -> RawEvents:
    flat = path.suffix.lower() == ".csv"
    names = (["event_name", "user_id"] + list(_STRING_FIELDS) + list(_SESSION_FIELDS)
             + [c for c, _ in _PARAMS.values() if not (c.endswith("_param") and c[:-6] in _SESSION_FIELDS)])
    cols: dict[str, list] = {k: [] for k in names}
    stamps: list[int] = []
    extra: dict[str, list] = {}
    item_recs: list[dict] = []
    n = 0
    for where, rec in _records(path):
        name = rec.get("event_name")
        user = rec.get("user_pseudo_id")
        if _blank(name):
            raise EventFileError(f"{where}: event_name is missing.")
        if _blank(user):
            raise EventFileError(f"{where}: user_pseudo_id is missing.")
        ts = rec.get("event_timestamp")
        d = rec.get("event_date")
        if _blank(ts):
            if _blank(d) or not re.fullmatch(r"\d{8}", str(d)):
                raise EventFileError(f"{where}: event_timestamp (microseconds since 1970) is missing.")
            ts = -1  # midnight of event_date in the property's time zone, once that is known
        else:
            ts = _int(ts, where, "event_timestamp")
            if not 10**14 < ts < 10**17:
                raise EventFileError(f"{where}: event_timestamp {ts} does not look like microseconds since 1970 "
                                     "(GA4 exports use µs, e.g. 1700000000000000).")
        params = _params(rec.get("event_params"), where)
        if flat:  # flat CSV parameters: known ones and any other plain column
            for k in list(_PARAMS) + [k for k in rec if k not in _CSV_KNOWN and "." not in k]:
                if k in rec and not _blank(rec[k]) and k not in params:
                    params[k] = rec[k]
        stamps.append(ts)
        cols["event_name"].append(str(name))
        cols["user_id"].append(str(user))
        for raw_col, paths in _STRING_FIELDS.items():
            v = next((x for x in (_get(rec, p) for p in paths) if not _blank(x)), "")
            cols[raw_col].append(str(v))
        for raw_col, (paths, key) in _SESSION_FIELDS.items():
            v = next((x for x in [_get(rec, p) for p in paths] + [params.get(key)] if not _blank(x)), "")
            cols[raw_col].append(str(v))
        for key, (raw_col, kind) in _PARAMS.items():
            if raw_col not in cols:
                continue
            v = params.get(key)
            if kind == "str":
                cols[raw_col].append("" if _blank(v) else str(v))
            else:
                try:
                    cols[raw_col].append(np.nan if _blank(v) else float(v))
                except (TypeError, ValueError):
                    label = "the value parameter" if key == "value" else f"the {key} parameter"
                    raise EventFileError(f"{where}: {label} must be a number, got {v!r}.") from None
        for k, v in params.items():
            if k in _PARAMS:
                continue
            if k not in extra:
                if len(extra) >= MAX_EXTRA_PARAMS:
                    continue
                extra[k] = [""] * n
            extra[k].append("" if _blank(v) else _param_text(v))
        for k in extra:
            if len(extra[k]) < n + 1:
                extra[k].append("")
        items = rec.get("items")
        if isinstance(items, str) and items.strip():
            try:
                items = json.loads(items)
            except json.JSONDecodeError as e:
                raise EventFileError(f"{where}: items is not valid JSON ({e.msg}).") from None
        if isinstance(items, list):
            for it in items:
                if isinstance(it, dict):
                    item_recs.append(dict({f: it.get(f) for f in _ITEM_FIELDS}, row=n))
        n += 1
    if not n:
        raise EventFileError(f"{path}: the file has no events.")
    arrays: dict[str, Any] = {"ts": np.asarray(stamps, dtype=np.int64)}
    for k, v in cols.items():
        arrays[k] = np.asarray(v, dtype=float) if k in _NUMERIC_RAW else Coded.from_values(v)
    items_df = pd.DataFrame(item_recs) if item_recs else pd.DataFrame({"row": np.zeros(0, dtype=np.int64)})
    return RawEvents(arrays, {k: Coded.from_values(v) for k, v in extra.items()}, items_df)


def _param_text(v: Any) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


# ---- time zones ------------------------------------------------------------------------------------

_PREFERRED_ZONES = ["UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Amsterdam",
                    "Europe/Zurich", "Europe/Vienna", "Europe/Stockholm", "Europe/Helsinki", "Europe/Moscow",
                    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                    "America/Los_Angeles", "America/Anchorage", "America/Sao_Paulo", "America/Mexico_City",
                    "America/Toronto", "America/Vancouver", "Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai",
                    "Asia/Hong_Kong", "Asia/Singapore", "Asia/Kolkata", "Asia/Dubai", "Australia/Sydney",
                    "Australia/Perth", "Pacific/Auckland", "Africa/Johannesburg"]


def _local_dates(ts: np.ndarray, zone: str) -> np.ndarray:
    from .dimensions import local_micros
    return local_micros(ts, zone) // DAY_US


def _date_days(event_date) -> np.ndarray:
    """YYYYMMDD strings (or a Coded column of them) -> days since 1970 (-1 where absent or malformed)."""
    coded = event_date if isinstance(event_date, Coded) else Coded.from_values(event_date)
    days = np.full(len(coded.labels) + 1, -1, dtype=np.int64)
    for i, v in enumerate(coded.labels):
        if re.fullmatch(r"\d{8}", v):
            try:
                days[i] = (np.datetime64(f"{v[:4]}-{v[4:6]}-{v[6:]}", "D") - np.datetime64("1970-01-01", "D")
                           ).astype(np.int64)
            except ValueError:
                pass
    return days[np.where(coded.codes >= 0, coded.codes, len(coded.labels))]


def infer_time_zone(ts: np.ndarray, event_date, sample: int = 5000) -> tuple[str | None, int]:
    """The time zone whose local day of each event_timestamp is its event_date: (zone, events that
    disagree); (None, -1) when the file has no usable event_date.

    A zone is accepted only when every event agrees. Events away from midnight fit several zones; then the
    one where the fewest events fall between 1 and 6 in the morning wins (people sleep), ties going to the
    more common zone."""
    from .dimensions import local_micros

    days = _date_days(event_date)
    known = np.flatnonzero((days >= 0) & (ts > 0))
    if not len(known):
        return None, -1
    step = max(1, len(known) // sample)
    probe = known[::step]
    fits = []
    for rank, zone in enumerate(_PREFERRED_ZONES + sorted(available_timezones() - set(_PREFERRED_ZONES))):
        try:
            local = local_micros(ts[probe], zone)
        except Exception:  # a zone zoneinfo cannot load here
            continue
        if (local // DAY_US != days[probe]).any():
            continue
        hours = (local % DAY_US) // 3_600_000_000
        fits.append((int(((hours >= 1) & (hours < 6)).sum()), rank, zone))
    for _, _, zone in sorted(fits):
        if not (_local_dates(ts[known], zone) != days[known]).any():
            return zone, 0
    return None, len(known)


def _resolve_zone(raw: RawEvents, path: Path, time_zone: str | None) -> str:
    ts, dates = raw.cols["ts"], raw.cols.get("event_date", Coded.empty(raw.n))
    if time_zone:
        ZoneInfo(time_zone)  # unknown zone: a clear error before anything is imported
        days = _date_days(dates)
        known = (days >= 0) & (ts > 0)
        wrong = int((_local_dates(ts[known], time_zone) != days[known]).sum()) if known.any() else 0
        if wrong:
            inferred, _ = infer_time_zone(ts, dates)
            hint = f"; they match {inferred}" if inferred else ""
            warnings.warn(f"{path}: event_date disagrees with event_timestamp in {time_zone} for {wrong:,} of "
                          f"{int(known.sum()):,} events{hint}. Reports use {time_zone} as asked; pass the "
                          "property's time zone of the export if that was not it.", EventFileWarning, stacklevel=3)
        return time_zone
    inferred, wrong = infer_time_zone(ts, dates)
    if inferred:
        return inferred
    if wrong > 0:
        warnings.warn(f"{path}: no time zone fits event_date for every event; the property uses UTC. Pass the "
                      "property's time zone of the export.", EventFileWarning, stacklevel=3)
    return "UTC"


# ---- sessions, scopes, channels -----------------------------------------------------------------

def _group_first(group: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per row, the first present code of its group (rows in time order within groups); -1 if none."""
    if not len(group):
        return codes
    first = np.full(int(group.max()) + 1, -1, dtype=np.int64)
    ok = np.flatnonzero(codes >= 0)
    first[group[ok][::-1]] = codes[ok][::-1]  # the earliest present row writes last, so it wins
    return first[group]


def _scoped(group: np.ndarray, column: Coded, fallback: Coded | None = None) -> Coded:
    """The column made group scoped: the group's first present value, else the fallback's."""
    codes = _group_first(group, column.codes)
    if fallback is None:
        return Coded(codes, column.labels)
    fb = _group_first(group, fallback.codes)
    merged = np.where(codes >= 0, codes, np.where(fb >= 0, fb + len(column.labels), -1))
    return Coded._merge(merged, np.concatenate([column.labels, fallback.labels]))


def _per_combo(fn, *columns: Coded) -> Coded:
    """A column from ``fn`` over the label tuples ("" = absent) of several columns, evaluated once per
    distinct combination."""
    n = len(columns[0].codes)
    key = np.zeros(n, dtype=np.int64)
    for c in columns:
        key = key * (len(c.labels) + 1) + (c.codes + 1)
    inv, _ = pd.factorize(key)
    rep = np.zeros(int(inv.max()) + 1 if n else 0, dtype=np.int64)
    rep[inv[::-1]] = np.arange(n)[::-1]
    out = []
    for r in rep.tolist():
        out.append(fn(*[c.labels[c.codes[r]] if c.codes[r] >= 0 else "" for c in columns]))
    return Coded._merge(inv.astype(np.int64), np.array(out, dtype=object))


def _finish(raw: RawEvents, path: Path, zone: str = "UTC") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sessions, session and user scope and channel groups over the raw columns; works on integer codes
    (a million events in about a second)."""
    cols = raw.cols
    ts = np.asarray(cols["ts"], dtype=np.int64).copy()
    missing_ts = ts < 0
    if missing_ts.any():  # event_date only: midnight in the property's time zone
        from .dimensions import local_micros
        mid = _date_days(cols["event_date"])[missing_ts] * DAY_US
        ts[missing_ts] = mid - (local_micros(mid, zone) - mid)
    user = cols["user_id"].codes
    order = np.lexsort((ts, user))  # by user, then time
    ts_o, user_o = ts[order], user[order]
    sid = np.nan_to_num(np.asarray(cols["session_id"], dtype=float), nan=-1).astype(np.int64)[order]

    # Events without ga_session_id: a new session after 30 minutes without events (per user).
    missing = np.flatnonzero(sid < 0)
    if len(missing):
        t, u = ts_o[missing], user_o[missing]
        new = np.ones(len(missing), dtype=bool)
        new[1:] = (u[1:] != u[:-1]) | (np.diff(t) > 30 * 60 * 1_000_000)
        starts = np.flatnonzero(new)
        sid[missing] = (t[starts] // 1_000_000)[np.cumsum(new) - 1]
    session = pd.factorize(user_o * (1 << 40) + sid % (1 << 40))[0]

    def c(name: str) -> Coded:
        return cols[name].take(order)

    # Session scope: the first value in the session (time order), else the user's first touch.
    src = _scoped(session, c("src"), c("user_src"))
    med = _scoped(session, c("med"), c("user_med"))
    camp = _scoped(session, c("camp"))
    chan = _scoped(session, c("channel"))
    src, med = (_per_combo(lambda s, m: "(direct)" if not s and not m else (s or "(not set)"), src, med),
                _per_combo(lambda s, m: "(none)" if not s and not m else (m or "(not set)"), src, med))
    camp = _per_combo(lambda s, m, k: k or campaign_placeholder(s, m), src, med, camp)
    chan = _per_combo(lambda s, m, k, ch: ch or default_channel_group(s, m, k), src, med, camp, chan)
    usrc, umed, ucamp = _scoped(user_o, c("user_src")), _scoped(user_o, c("user_med")), _scoped(user_o, c("user_camp"))
    usrc, umed = (_per_combo(lambda s, m: "(direct)" if not s and not m else (s or "(not set)"), usrc, umed),
                  _per_combo(lambda s, m: "(none)" if not s and not m else (m or "(not set)"), usrc, umed))
    ucamp = _per_combo(lambda s, m, k: k or campaign_placeholder(s, m), usrc, umed, ucamp)
    uchan = _per_combo(default_channel_group, usrc, umed, ucamp)

    by_time = np.argsort(ts_o, kind="stable")
    final = order[by_time]  # file position of each output row

    def num(name: str, dtype) -> np.ndarray:
        return np.nan_to_num(np.asarray(cols[name], dtype=float)[final], nan=0.0).astype(dtype)

    def cat(name: str, absent: str = "") -> pd.Categorical:
        return cols[name].take(final).categorical(absent)

    def scoped(coded: Coded) -> pd.Categorical:
        return coded.take(by_time).categorical()

    platform = cols["platform"].map_labels(lambda p: _PLATFORMS.get(str(p).upper(), p))
    tx = _first_coded([cols["transaction_id"], cols["transaction_id_param"]], raw.n)
    frame = pd.DataFrame({
        "ts": ts_o[by_time],
        "event_name": cat("event_name"),
        "user_id": cat("user_id"),
        "session_id": sid[by_time],
        "session_number": num("session_number", np.int32),
        "channel_group": scoped(chan), "source": scoped(src), "medium": scoped(med), "campaign": scoped(camp),
        "first_channel_group": scoped(uchan), "first_source": scoped(usrc), "first_medium": scoped(umed),
        "first_campaign": scoped(ucamp),
        "platform": platform.take(final).categorical("web"),
        "device_category": cat("device_category", "(not set)"),
        "operating_system": cat("operating_system", "(not set)"),
        "browser": cat("browser"),
        "country": cat("country", "(not set)"),
        "region": cat("region"),
        "city": cat("city"),
        "page_location": cat("page_location"),
        "page_title": cat("page_title"),
        "page_referrer": cat("page_referrer"),
        "engagement_time_msec": num("engagement_time_msec", np.int64).clip(0, 2**31 - 1).astype(np.int32),
        "session_engaged": (num("session_engaged", np.int64) > 0).astype(np.int8),
        "transaction_id": tx.take(final).categorical(),
        "value": num("value", np.float64),
        "currency": cat("currency"),
        **{PARAM_PREFIX + k: v.take(final).categorical() for k, v in raw.params.items()},
    })
    frame = normalize(frame)
    # items: file position -> output position
    items = raw.items
    if len(items):
        pos = np.empty(len(final), dtype=np.int64)
        pos[final] = np.arange(len(final))
        items = items.assign(row=pos[items["row"].to_numpy().astype(np.int64)])
        items = items.sort_values("row", kind="stable").reset_index(drop=True)
    return frame, normalize_items(items if len(items) else None)


# ---- importing into the emulator ----------------------------------------------------------------------

def import_file(admin, store, path: str | Path, property_id: str | None = None, *,
                display_name: str | None = None, time_zone: str | None = None,
                currency: str | None = None) -> str:
    """Import ``path`` into ``property_id`` (appending), or into a new property of a new account
    "Imported Events" when no property is given. Returns the property id.

    ``time_zone``: the time zone of the property the file was exported from. Without it, the zone is
    inferred from the file (``event_date`` against ``event_timestamp``), else UTC. A new property gets that
    zone; an existing one is updated to a zone given here, and warned about when the file's dates disagree
    with its zone."""
    frame, items, zone = read_events_with_zone(path, time_zone)
    if property_id is None:
        if currency is None:
            cur = frame["currency"].astype(str)
            cur = cur[cur != ""]
            currency = cur.mode().iloc[0] if len(cur) else "EUR"
        account = admin.create_account("Imported Events")
        name = (display_name or Path(path).stem)[:96]  # GA4 allows 100 characters; leaves room for " web"
        property_id = admin.create_property(account, name, time_zone=zone, currency=currency)
        admin.create_web_stream(property_id, f"{name} web", _first_host(frame) or "https://www.example.com")
    else:
        current = admin.property_info(property_id).time_zone
        if time_zone and time_zone != current:
            admin.update_property(property_id, time_zone=time_zone)
        elif not time_zone and zone != current:
            warnings.warn(f"{path}: the file's event_date values fit {zone}, the property is in {current}; "
                          "reports use the property's time zone.", EventFileWarning, stacklevel=2)
    store.append(property_id, frame, items)
    return str(property_id)


def _first_host(frame: pd.DataFrame) -> str | None:
    """The scheme and host of the first page URL (looked up among the distinct URLs, not every event)."""
    rx = re.compile(r"^(https?://[A-Za-z0-9.-]+(?::\d+)?)")
    for url in frame["page_location"].array.categories:
        m = rx.match(str(url))
        if m:
            return m.group(1)
    return None


# ---- writing (the inverse, for round trips and for handing demo data to other tools) ---------

# event parameter -> (column, kind); written when present (non-empty / non-zero)
_WRITE_PARAMS = [("ga_session_id", "session_id", "int"), ("ga_session_number", "session_number", "int"),
                 ("page_location", "page_location", "string"), ("page_title", "page_title", "string"),
                 ("page_referrer", "page_referrer", "string"),
                 ("engagement_time_msec", "engagement_time_msec", "int"),
                 ("session_engaged", "session_engaged", "flag"), ("value", "value", "double"),
                 ("currency", "currency", "string"), ("transaction_id", "transaction_id", "string")]
# nested field path -> column
_WRITE_FIELDS = [
    ("device.category", "device_category"), ("device.operating_system", "operating_system"),
    ("device.web_info.browser", "browser"), ("geo.country", "country"), ("geo.region", "region"),
    ("geo.city", "city"), ("traffic_source.source", "first_source"), ("traffic_source.medium", "first_medium"),
    ("traffic_source.name", "first_campaign"),
    ("session_traffic_source_last_click.manual_campaign.source", "source"),
    ("session_traffic_source_last_click.manual_campaign.medium", "medium"),
    ("session_traffic_source_last_click.manual_campaign.campaign_name", "campaign"),
    ("session_traffic_source_last_click.cross_channel_campaign.default_channel_group", "channel_group"),
    ("ecommerce.transaction_id", "transaction_id"),
]
_PLATFORM_OUT = {"web": "WEB", "Android": "ANDROID", "iOS": "IOS"}


def _present(frame: pd.DataFrame, column: str, kind: str) -> np.ndarray:
    s = frame[column]
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = np.asarray(s.array.categories, dtype=object)
        ok = np.append(cats != "", False)
        return ok[np.where(s.array.codes >= 0, s.array.codes, len(cats))]
    v = s.to_numpy()
    return np.ones(len(v), dtype=bool) if column == "session_id" else v != 0


def _event_dates(frame: pd.DataFrame, time_zone: str) -> pd.Categorical:
    from .dates import date_labels
    from .dimensions import local_micros
    days = local_micros(frame["ts"].to_numpy(), time_zone) // DAY_US
    uniq, inv = np.unique(days, return_inverse=True)
    return pd.Categorical.from_codes(inv, categories=list(date_labels("date", uniq)))


def _labels(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes with -1 -> the extra "" label, labels + [""]) of a categorical column."""
    cat = s.array
    labels = np.append(np.asarray(cat.categories, dtype=object), "")
    return np.where(cat.codes >= 0, cat.codes, len(labels) - 1).astype(np.int64), labels


def ndjson_lines(frame: pd.DataFrame, time_zone: str = "UTC", items: pd.DataFrame | None = None,
                 chunk: int = 250_000) -> Iterable[str]:
    """The export as NDJSON text, in chunks of ``chunk`` events (see ``ndjson_chunks``)."""
    for arr in ndjson_chunks(frame, time_zone, items, chunk):
        yield bytes(_utf8(arr)).decode("utf-8")


def _utf8(arr) -> bytes | memoryview:
    """The concatenated text of a string array (its data buffer, no per-row Python objects)."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    return memoryview(arr.buffers()[2])[offsets[0]:offsets[-1]]


def ndjson_chunks(frame: pd.DataFrame, time_zone: str = "UTC", items: pd.DataFrame | None = None,
                  chunk: int = 250_000):
    """The export as pyarrow string arrays of NDJSON lines (newline included), ``chunk`` events each. Every
    piece of a line is a column of JSON text taken from per-category (or per-distinct-value) texts, and
    the pieces are joined in pyarrow: no Python object is made per event."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(frame)
    items = items if items is not None else items_of(frame)
    specs = [(k, c, kind) for k, c, kind in _WRITE_PARAMS] + [(c[len(PARAM_PREFIX):], c, "string")
                                                               for c in param_columns(frame)]

    def by_codes(texts, codes) -> "pa.Array":
        return pc.take(pa.array(list(texts), type=pa.string()), pa.array(np.asarray(codes, dtype=np.int64)))

    def cat_piece(col: str, fmt):
        codes, labels = _labels(frame[col])
        return by_codes([fmt(json.dumps(str(v))) for v in labels], codes)

    def num_piece(values: np.ndarray, fmt):
        uniq, inv = np.unique(values, return_inverse=True)
        return by_codes([fmt(v) for v in uniq.tolist()], inv)

    dates = _event_dates(frame, time_zone)
    p_codes, p_labels = _labels(frame["platform"])
    pieces = [
        by_codes(['{"event_date":"' + d + '","event_timestamp":' for d in dates.categories], dates.codes),
        pc.cast(pa.array(frame["ts"].to_numpy()), pa.string()),
        cat_piece("event_name", lambda j: ',"event_name":' + j),
        cat_piece("user_id", lambda j: ',"user_pseudo_id":' + j),
        by_codes([',"platform":' + json.dumps(_PLATFORM_OUT.get(str(p), str(p) or "WEB")) for p in p_labels], p_codes),
        None,  # event_params
        by_codes(*_nested_pieces(frame)),
        pa.array(_items_json(items, n), type=pa.string()),
    ]
    params = []
    for key, col, kind in specs:
        head = f'{{"key":"{key}","value":'
        sep = "" if key == "ga_session_id" else ","
        present = _present(frame, col, kind)
        if kind == "string":
            piece = cat_piece(col, lambda j, h=sep + head: h + '{"string_value":' + j + "}}")
        elif kind == "flag":
            piece = pa.array(np.full(n, sep + head + '{"string_value":"1"}}', dtype=object), type=pa.string())
        elif kind == "int":
            v = pc.cast(pa.array(frame[col].to_numpy().astype(np.int64)), pa.string())
            piece = pc.binary_join_element_wise(sep + head + '{"int_value":', v, "}}", "")
        else:
            piece = num_piece(frame[col].to_numpy(), lambda x, h=sep + head: h + '{"double_value":' + repr(float(x))
                              + "}}")
        params.append(piece if present.all() else pc.if_else(pa.array(present), piece, ""))
    pieces[5] = pc.binary_join_element_wise(',"event_params":[', *params, "]", "")
    for lo in range(0, n, chunk):
        parts = [p.slice(lo, min(chunk, n - lo)) for p in pieces]
        yield pc.binary_join_element_wise(*parts, "}\n", "")


def _nested_pieces(frame: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The device, geo, traffic source and ecommerce objects of each event as (JSON texts, code per event):
    one text per distinct combination of their columns."""
    fields = _WRITE_FIELDS
    per_col = [_labels(frame[c]) for _, c in fields]
    key = np.zeros(len(frame), dtype=np.int64)
    for codes, labels in per_col:
        if (int(key.max(initial=0)) + 1) * len(labels) > 2**40:
            key = pd.factorize(key)[0].astype(np.int64)
        key = key * len(labels) + codes
    inv, uniq_rows = pd.factorize(key)
    rep = np.zeros(len(uniq_rows), dtype=np.int64)
    rep[inv[::-1]] = np.arange(len(frame))[::-1]
    texts = []
    for r in rep.tolist():
        rec: dict = {}
        for (path, _), (codes, labels) in zip(fields, per_col):
            value = labels[codes[r]]
            if value != "":
                _put(rec, path, str(value))
        texts.append("," + json.dumps(rec, separators=(",", ":"))[1:-1] if rec else "")
    return texts, inv.astype(np.int64)


def _put(rec: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    for p in parts[:-1]:
        rec = rec.setdefault(p, {})
    rec[parts[-1]] = value


def _items_json(items: pd.DataFrame, n: int) -> np.ndarray:
    """',"items":[...]' for the events with items, "" for the others (strings built per category)."""
    out = np.full(n, "", dtype=object)
    if items is None or not len(items):
        return out
    rows = items["row"].to_numpy()
    text = np.full(len(items), "{", dtype=object)
    for f in ("item_id", "item_name", "item_brand", "item_category"):
        codes, labels = _labels(items[f])
        piece = np.array(["" if v == "" else json.dumps(f) + ":" + json.dumps(str(v)) + "," for v in labels],
                         dtype=object)
        text = text + piece[codes]
    prices = items["price"].to_numpy()
    up, pinv = np.unique(prices, return_inverse=True)
    text = text + np.array(['"price":' + repr(float(p)) for p in up], dtype=object)[pinv]
    text = text + ',"quantity":' + items["quantity"].to_numpy().astype(str).astype(object) + "}"
    start = np.r_[0, np.flatnonzero(rows[1:] != rows[:-1]) + 1]
    end = np.r_[start[1:], len(rows)]
    texts = text.tolist()
    for a, b in zip(start.tolist(), end.tolist()):
        out[rows[a]] = ',"items":[' + ",".join(texts[a:b]) + "]"
    return out


def export_table(frame: pd.DataFrame, time_zone: str = "UTC", items: pd.DataFrame | None = None):
    """The events as a pyarrow Table in the BigQuery export's nested shape (strings dictionary-encoded,
    built from the category tables; nothing is converted per event in Python)."""
    import pyarrow as pa

    n = len(frame)
    items = items if items is not None else items_of(frame)

    def dict_array(col: str, codes=None):
        c, labels = _labels(frame[col])
        c = c if codes is None else codes
        return pa.DictionaryArray.from_arrays(pa.array(c.astype(np.int32)), pa.array(labels.astype(str)))

    dates = _event_dates(frame, time_zone)
    cols = {
        "event_date": pa.DictionaryArray.from_arrays(pa.array(dates.codes.astype(np.int32)),
                                                     pa.array(list(dates.categories), type=pa.string())),
        "event_timestamp": pa.array(frame["ts"].to_numpy(), type=pa.int64()),
        "event_name": dict_array("event_name"),
        "user_pseudo_id": dict_array("user_id"),
    }
    pc_codes, p_labels = _labels(frame["platform"])
    cols["platform"] = pa.DictionaryArray.from_arrays(
        pa.array(pc_codes.astype(np.int32)), pa.array([_PLATFORM_OUT.get(str(p), str(p)) or "WEB" for p in p_labels]))
    cols["event_params"] = _params_array(frame)
    for top in ("device", "geo", "traffic_source", "session_traffic_source_last_click", "ecommerce"):
        cols[top] = _struct_of(frame, top, dict_array)
    cols["items"] = _items_array(items, n)
    return pa.table(cols)


def _struct_of(frame, top: str, dict_array):
    import pyarrow as pa

    tree: dict = {}
    for path, col in _WRITE_FIELDS:
        if path.startswith(top + "."):
            _put(tree, path[len(top) + 1:], col)

    def build(node):
        names, arrays = [], []
        for k, v in node.items():
            names.append(k)
            arrays.append(build(v) if isinstance(v, dict) else _nullable(dict_array(v), frame[v]))
        return pa.StructArray.from_arrays(arrays, names=names)
    return build(tree)


def _nullable(arr, s: pd.Series):
    """Empty strings become nulls, as in BigQuery."""
    import pyarrow as pa
    import pyarrow.compute as pc
    codes, labels = _labels(s)
    mask = labels[codes] == ""
    if not mask.any():
        return arr
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


def _params_array(frame: pd.DataFrame):
    """event_params as list<struct<key, value<string_value, int_value, float_value, double_value>>>."""
    import pyarrow as pa

    n = len(frame)
    specs = [(k, c, kind) for k, c, kind in _WRITE_PARAMS] + [(c[len(PARAM_PREFIX):], c, "string")
                                                               for c in param_columns(frame)]
    present = np.stack([_present(frame, c, kind) for _, c, kind in specs], axis=1) if n else np.zeros((0, len(specs)), bool)
    flat_idx = np.flatnonzero(present.ravel())
    rows, which = flat_idx // len(specs), flat_idx % len(specs)
    offsets = np.r_[0, np.cumsum(present.sum(axis=1))].astype(np.int32)
    m = len(flat_idx)
    key_arr = pa.DictionaryArray.from_arrays(pa.array(which.astype(np.int32)), pa.array([s[0] for s in specs]))
    str_codes = np.full(m, -1, dtype=np.int64)
    str_labels: list[str] = []
    ints = np.zeros(m, dtype=np.int64)
    int_ok = np.zeros(m, dtype=bool)
    dbl = np.zeros(m, dtype=np.float64)
    dbl_ok = np.zeros(m, dtype=bool)
    for j, (key, col, kind) in enumerate(specs):
        sel = which == j
        if not sel.any():
            continue
        r = rows[sel]
        if kind == "string":
            codes, labels = _labels(frame[col])
            str_codes[sel] = codes[r] + len(str_labels)
            str_labels.extend(str(x) for x in labels)
        elif kind == "flag":
            str_codes[sel] = len(str_labels)
            str_labels.append("1")
        elif kind == "int":
            ints[sel] = frame[col].to_numpy()[r].astype(np.int64)
            int_ok[sel] = True
        else:
            dbl[sel] = frame[col].to_numpy()[r]
            dbl_ok[sel] = True
    string_value = pa.DictionaryArray.from_arrays(
        pa.array(np.maximum(str_codes, 0).astype(np.int32), mask=str_codes < 0),
        pa.array(str_labels or [""], type=pa.string()))
    value = pa.StructArray.from_arrays(
        [string_value, pa.array(ints, mask=~int_ok), pa.array(np.zeros(m), mask=np.ones(m, dtype=bool)),
         pa.array(dbl, mask=~dbl_ok)], names=["string_value", "int_value", "float_value", "double_value"])
    entries = pa.StructArray.from_arrays([key_arr, value], names=["key", "value"])
    return pa.ListArray.from_arrays(pa.array(offsets), entries)


def _items_array(items: pd.DataFrame, n: int):
    import pyarrow as pa

    if items is None or not len(items):
        item_type = pa.struct([(f, pa.string()) for f in _ITEM_FIELDS[:4]] + [("price", pa.float64()),
                                                                              ("quantity", pa.int64())])
        return pa.array([[] for _ in range(n)], type=pa.list_(item_type)) if n < 1000 else \
            pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], type=item_type))
    rows = items["row"].to_numpy()
    counts = np.bincount(rows, minlength=n)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
    arrays = []
    for f in _ITEM_FIELDS[:4]:
        cat = items[f].array
        labels = np.asarray(cat.categories, dtype=object)
        codes = np.where(cat.codes >= 0, cat.codes, 0)
        empty = (cat.codes < 0) | (labels[codes] == "")
        arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32), mask=empty),
                                                     pa.array(labels.astype(str))))
    arrays.append(pa.array(items["price"].to_numpy(), type=pa.float64()))
    arrays.append(pa.array(items["quantity"].to_numpy(), type=pa.int64()))
    entries = pa.StructArray.from_arrays(arrays, names=list(_ITEM_FIELDS))
    return pa.ListArray.from_arrays(pa.array(offsets), entries)


def export_records(frame: pd.DataFrame, time_zone: str = "UTC", items: pd.DataFrame | None = None) -> list[dict]:
    """EventStore rows as BigQuery-export-shaped nested records (empty fields left out)."""
    return [json.loads(line) for text in ndjson_lines(frame, time_zone, items) for line in text.splitlines()]


def _flat_table(frame: pd.DataFrame, time_zone: str, items: pd.DataFrame):
    """The CSV form as a pyarrow Table: one column per parameter and nested field (dotted), items as a
    JSON string."""
    import pyarrow as pa

    def text(s: pd.Series):
        return pa.array(s.array).cast(pa.string()) if isinstance(s.dtype, pd.CategoricalDtype) else pa.array(s)

    out = {"event_date": pa.array(_event_dates(frame, time_zone)).cast(pa.string()),
           "event_timestamp": pa.array(frame["ts"].to_numpy()),
           "event_name": text(frame["event_name"]), "user_pseudo_id": text(frame["user_id"]),
           "platform": text(frame["platform"].cat.rename_categories(
               lambda p: _PLATFORM_OUT.get(str(p), str(p))))}
    for key, col, kind in _WRITE_PARAMS:
        present = _present(frame, col, kind)
        if kind == "string":
            out[key] = text(frame[col])
        elif kind == "flag":
            out[key] = pa.array(np.where(present, "1", ""))
        elif kind == "int":
            out[key] = pa.array(np.where(present, frame[col].to_numpy().astype(np.int64).astype(str), ""))
        else:
            v = np.full(len(frame), "", dtype=object)
            where = np.flatnonzero(present)
            v[where] = [repr(float(x)) for x in frame[col].to_numpy()[where]]
            out[key] = pa.array(v, type=pa.string())
    for c in param_columns(frame):
        out[c[len(PARAM_PREFIX):]] = text(frame[c])
    for path, col in _WRITE_FIELDS:
        if path != "ecommerce.transaction_id":
            out[path] = text(frame[col])
    js = _items_json(items, len(frame))
    has = js != ""
    js[has] = [t[len(',"items":'):] for t in js[has]]
    out["items"] = pa.array(js, type=pa.string())
    return pa.table(out)


def write_events(frame: pd.DataFrame, path: str | Path, time_zone: str = "UTC",
                 items: pd.DataFrame | None = None) -> Path:
    """Write EventStore rows (and their items: attached to ``frame`` unless given) as an export file of a
    property in ``time_zone`` (``event_date`` is the day there); the format follows the suffix (see
    SUPPORTED). CSV is flat: dotted columns, one column per parameter, items as JSON. Writes go to a
    temporary file first, so a failed write leaves no half file."""
    path = Path(path)
    suffix = path.suffix.lower()
    items = items if items is not None else items_of(frame)
    if suffix not in (".ndjson", ".jsonl", ".parquet", ".csv"):
        raise EventFileError(f"{path}: unsupported file type '{suffix}'; use .ndjson, .csv or .parquet.")
    tmp = path.with_name(f".{path.name}.tmp")
    if suffix in (".ndjson", ".jsonl"):
        with tmp.open("wb") as fh:
            for arr in ndjson_chunks(frame, time_zone, items):
                fh.write(_utf8(arr))
    elif suffix == ".parquet":
        import pyarrow.parquet as pq
        pq.write_table(export_table(frame, time_zone, items), tmp)
    else:
        import pyarrow.csv as pc_csv
        pc_csv.write_csv(_flat_table(frame, time_zone, items), tmp)
    tmp.replace(path)
    return path


"""Import GA4 BigQuery-export-shaped event files (NDJSON, CSV, Parquet) into an EventStore.

Fields read per event (BigQuery export names): ``event_timestamp`` (µs; or ``event_date`` alone,
as midnight UTC), ``event_name``, ``user_pseudo_id``, ``event_params`` (repeated
``{key, value: {string_value | int_value | double_value | float_value}}``; CSV may carry it as a
JSON string), ``device.category``, ``geo.country``, and for the session's source / medium, the
first found of ``session_traffic_source_last_click.manual_campaign``, ``collected_traffic_source
.manual_source/manual_medium``, the ``source``/``medium`` event parameters, ``traffic_source``
(first user touch), else ``(direct) / (none)``. Parameters used: ``ga_session_id`` (session key
with user_pseudo_id; without it, sessions are cut after 30 minutes of inactivity),
``page_location``, ``value``, ``currency``. CSV files are flat: nested fields as dotted column
names (``device.category``) and parameters as their own columns (``ga_session_id``).

Session fields are made session scoped (the first non-empty value in the session wins), and the
channel group is derived from source / medium with ``default_channel_group``: GA4's default
channel grouping, simplified (no campaign-name or Google Ads rules, and short site lists).

Bad files raise ``EventFileError`` (a ValueError) naming the file, the line or row, and the fix.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .events import normalize

SUPPORTED = (".ndjson", ".jsonl", ".json", ".csv", ".parquet")


class EventFileError(ValueError):
    """An events file that cannot be imported; the message says where and what to change."""


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


# ---- reading --------------------------------------------------------------------------------

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


def read_events(path: str | Path) -> pd.DataFrame:
    """Read an export file into an EventStore frame (sorted by time).

    Parquet and NDJSON are read column-wise with pyarrow (about a million events in seconds);
    a file that does not fit that fast path (odd types, missing fields) is read record by record,
    which also gives the precise error messages."""
    path = Path(path)
    if not path.exists():
        raise EventFileError(f"{path}: no such file.")
    cols = None
    if path.suffix.lower() in (".parquet", ".ndjson", ".jsonl"):
        try:
            cols = _arrow_columns(path)
        except Exception:  # any surprise: the record path reads it or says what is wrong
            cols = None
    if cols is None:
        cols = _record_columns(path)
    return _finish(cols, path)


_WANTED_PARAMS = ("ga_session_id", "page_location", "value", "currency", "source", "medium", "campaign")


def _arrow_columns(path: Path) -> dict[str, np.ndarray] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq
        table = pq.read_table(path)
    else:
        import pyarrow.json as pj
        table = pj.read_json(path)
    n = table.num_rows
    if n == 0:
        return None

    def col(dotted: str):
        if dotted in table.column_names:
            return table.column(dotted).combine_chunks()
        head, *rest = dotted.split(".")
        if head not in table.column_names:
            return None
        arr = table.column(head).combine_chunks()
        for part in rest:
            if not pa.types.is_struct(arr.type) or arr.type.get_field_index(part) < 0:
                return None
            arr = pc.struct_field(arr, part)
        return arr

    def strings(arr) -> np.ndarray:
        """Object array of str with "" for null / missing."""
        if arr is None:
            return np.full(n, "", dtype=object)
        out = pc.fill_null(pc.cast(arr, pa.string()), "").to_numpy(zero_copy_only=False)
        return out.astype(object)

    name, user, ts = col("event_name"), col("user_pseudo_id"), col("event_timestamp")
    if name is None or user is None or ts is None or name.null_count or user.null_count or ts.null_count:
        return None
    ts = pc.cast(ts, pa.int64()).to_numpy()
    if not ((ts > 10**14) & (ts < 10**17)).all():
        return None
    names, users = strings(name), strings(user)
    if (names == "").any() or (users == "").any():
        return None

    params: dict[str, tuple] = {}  # key -> (row indices, value structs)
    ep = col("event_params")
    if ep is not None:
        if not pa.types.is_list(ep.type):
            return None
        flat = pc.list_flatten(ep)
        parents = pc.list_parent_indices(ep).to_numpy()
        keys = pc.struct_field(flat, "key")
        value = pc.struct_field(flat, "value")
        kinds = [f.name for f in value.type if f.name in ("string_value", "int_value", "double_value", "float_value")]
        for k in _WANTED_PARAMS:
            mask = pc.fill_null(pc.equal(keys, k), False)
            if pc.any(mask).as_py():
                params[k] = (parents[mask.to_numpy(zero_copy_only=False)], pc.filter(value, mask))

    def param(k: str, kind: str):
        if k not in params:
            return None
        rows, sub = params[k]
        target = pa.string() if kind == "str" else pa.float64()
        # GA4 puts a parameter's value in one of the typed fields: take the first one set.
        vals = pc.coalesce(*[pc.cast(pc.struct_field(sub, f), target) for f in kinds]) if kinds else None
        if kind == "str":
            out = np.full(n, "", dtype=object)
            if vals is not None:
                out[rows] = pc.fill_null(vals, "").to_numpy(zero_copy_only=False)
        else:
            out = np.full(n, np.nan)
            if vals is not None:
                out[rows] = vals.to_numpy(zero_copy_only=False).astype(float)
        return out

    def first(*choices) -> np.ndarray:
        out = np.full(n, "", dtype=object)
        for c in choices:
            if c is None:
                continue
            out = np.where(out == "", c, out)
        return out

    sid = param("ga_session_id", "num")
    value = param("value", "num")
    pl, cur = param("page_location", "str"), param("currency", "str")
    dev, geo = strings(col("device.category")), strings(col("geo.country"))
    return {
        "ts": ts,
        "event_name": names,
        "user_id": users,
        "session_id": np.full(n, -1, dtype=np.int64) if sid is None
        else np.where(np.isnan(sid), -1, np.nan_to_num(sid)).astype(np.int64),
        "src": first(strings(col("session_traffic_source_last_click.manual_campaign.source")),
                     strings(col("collected_traffic_source.manual_source")), param("source", "str")),
        "med": first(strings(col("session_traffic_source_last_click.manual_campaign.medium")),
                     strings(col("collected_traffic_source.manual_medium")), param("medium", "str")),
        "camp": first(strings(col("session_traffic_source_last_click.manual_campaign.campaign_name")),
                      strings(col("collected_traffic_source.manual_campaign_name")), param("campaign", "str")),
        "user_src": strings(col("traffic_source.source")),
        "user_med": strings(col("traffic_source.medium")),
        "device_category": np.where(dev == "", "(not set)", dev),
        "country": np.where(geo == "", "(not set)", geo),
        "page_location": pl if pl is not None else np.full(n, "", dtype=object),
        "value": np.zeros(n) if value is None else np.nan_to_num(value),
        "currency": cur if cur is not None else np.full(n, "", dtype=object),
    }


def _record_columns(path: Path) -> dict[str, list]:
    cols: dict[str, list] = {k: [] for k in ("ts", "event_name", "user_id", "session_id", "src", "med", "camp",
                                             "user_src", "user_med", "device_category", "country",
                                             "page_location", "value", "currency")}
    for where, rec in _records(path):
        name = rec.get("event_name")
        user = rec.get("user_pseudo_id")
        if _blank(name):
            raise EventFileError(f"{where}: event_name is missing.")
        if _blank(user):
            raise EventFileError(f"{where}: user_pseudo_id is missing.")
        ts = rec.get("event_timestamp")
        if _blank(ts):
            d = rec.get("event_date")
            if _blank(d) or not re.fullmatch(r"\d{8}", str(d)):
                raise EventFileError(f"{where}: event_timestamp (microseconds since 1970) is missing.")
            ts = int(pd.Timestamp(str(d), tz="UTC").value // 1000)
        ts = _int(ts, where, "event_timestamp")
        if not 10**14 < ts < 10**17:
            raise EventFileError(f"{where}: event_timestamp {ts} does not look like microseconds since 1970 "
                                 "(GA4 exports use µs, e.g. 1700000000000000).")
        params = _params(rec.get("event_params"), where)
        for k in ("ga_session_id", "page_location", "value", "currency", "source", "medium", "campaign"):
            if k in rec and not _blank(rec[k]) and k not in params:  # flat CSV parameters
                params[k] = rec[k]
        sid = params.get("ga_session_id")
        src = (_get(rec, "session_traffic_source_last_click.manual_campaign.source")
               or _get(rec, "collected_traffic_source.manual_source") or params.get("source"))
        med = (_get(rec, "session_traffic_source_last_click.manual_campaign.medium")
               or _get(rec, "collected_traffic_source.manual_medium") or params.get("medium"))
        camp = (_get(rec, "session_traffic_source_last_click.manual_campaign.campaign_name")
                or _get(rec, "collected_traffic_source.manual_campaign_name") or params.get("campaign") or "")
        cols["ts"].append(ts)
        cols["event_name"].append(str(name))
        cols["user_id"].append(str(user))
        cols["session_id"].append(-1 if _blank(sid) else _int(sid, where, "ga_session_id"))
        cols["src"].append("" if _blank(src) else str(src))
        cols["med"].append("" if _blank(med) else str(med))
        cols["camp"].append("" if _blank(camp) else str(camp))
        # traffic_source is the user's first touch: a fallback when the session has nothing.
        cols["user_src"].append(str(_get(rec, "traffic_source.source") or ""))
        cols["user_med"].append(str(_get(rec, "traffic_source.medium") or ""))
        dev, geo = _get(rec, "device.category"), _get(rec, "geo.country")
        cols["device_category"].append("(not set)" if _blank(dev) else str(dev))
        cols["country"].append("(not set)" if _blank(geo) else str(geo))
        pl = params.get("page_location")
        cols["page_location"].append("" if _blank(pl) else str(pl))
        v = params.get("value")
        try:
            cols["value"].append(0.0 if _blank(v) else float(v))
        except (TypeError, ValueError):
            raise EventFileError(f"{where}: the value parameter must be a number, got {v!r}.") from None
        cur = params.get("currency")
        cols["currency"].append("" if _blank(cur) else str(cur))
    if not cols["ts"]:
        raise EventFileError(f"{path}: the file has no events.")
    return cols


def _codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels) of a string column, with code -1 for "" (absent)."""
    codes, labels = pd.factorize(np.asarray(values, dtype=object))
    labels = np.asarray(labels, dtype=object)
    empty = np.flatnonzero(labels == "")
    if len(empty):
        codes = np.where(codes == empty[0], -1, codes)
    return codes.astype(np.int64), labels


def _finish(cols: dict, path: Path) -> pd.DataFrame:
    """Sessions, session scope and channel groups over the raw columns; works on integer codes
    (a million events in about a second)."""
    ts = np.asarray(cols["ts"], dtype=np.int64)
    user, user_labels = _codes(cols["user_id"])
    order = np.lexsort((ts, user))  # by user, then time
    ts, user = ts[order], user[order]
    sid = np.asarray(cols["session_id"], dtype=np.int64)[order]

    # Events without ga_session_id: a new session after 30 minutes without events (per user).
    missing = np.flatnonzero(sid < 0)
    if len(missing):
        t, u = ts[missing], user[missing]
        new = np.ones(len(missing), dtype=bool)
        new[1:] = (u[1:] != u[:-1]) | (np.diff(t) > 30 * 60 * 1_000_000)
        starts = np.flatnonzero(new)
        sid[missing] = (t[starts] // 1_000_000)[np.cumsum(new) - 1]
    session = pd.factorize(user * (1 << 40) + sid % (1 << 40))[0]

    # Session scope: the first non-empty value in the session (time order), else the user's first touch.
    def session_first(name: str, fallback: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        codes, labels = _codes(np.asarray(cols[name], dtype=object)[order])
        first = pd.Series(np.where(codes >= 0, codes, np.nan)).groupby(session).transform("first").to_numpy()
        if fallback is not None:
            fc, fl = _codes(np.asarray(cols[fallback], dtype=object)[order])
            ffirst = pd.Series(np.where(fc >= 0, fc, np.nan)).groupby(session).transform("first").to_numpy()
            # move fallback codes into this column's label space
            labels = np.concatenate([labels, fl])
            first = np.where(np.isnan(first), ffirst + (len(labels) - len(fl)), first)
        labels = np.append(labels, "")
        return np.where(np.isnan(first), len(labels) - 1, first).astype(np.int64), labels

    sc, sl = session_first("src", "user_src")
    mc, ml = session_first("med", "user_med")
    cc, cl = session_first("camp")
    src, med, camp = sl[sc], ml[mc], cl[cc]
    direct = (src == "") & (med == "")
    src = np.where(direct, "(direct)", np.where(src == "", "(not set)", src))
    med = np.where(direct, "(none)", np.where(med == "", "(not set)", med))
    # Channel groups for the few distinct (source, medium, campaign) triples, then spread.
    triple = pd.factorize((sc * len(ml) + mc) * len(cl) + cc)[0]
    rep = np.zeros(triple.max() + 1, dtype=np.int64)
    rep[triple[::-1]] = np.arange(len(triple))[::-1]  # one event per triple
    groups = np.array([default_channel_group(src[i], med[i], camp[i]) for i in rep], dtype=object)

    def col(name: str) -> np.ndarray:
        return np.asarray(cols[name], dtype=object)[order]

    df = pd.DataFrame({
        "ts": ts,
        "event_name": pd.Categorical(col("event_name")),
        "user_id": pd.Categorical.from_codes(user, categories=list(user_labels)),
        "session_id": sid,
        "channel_group": pd.Categorical(groups[triple]),
        "source": pd.Categorical(src),
        "medium": pd.Categorical(med),
        "device_category": pd.Categorical(col("device_category")),
        "country": pd.Categorical(col("country")),
        "page_location": pd.Categorical(col("page_location")),
        "value": np.asarray(cols["value"], dtype=float)[order],
        "currency": pd.Categorical(col("currency")),
    })
    return normalize(df.iloc[np.argsort(ts, kind="stable")].reset_index(drop=True))


def import_file(admin, store, path: str | Path, property_id: str | None = None, *,
                display_name: str | None = None, time_zone: str = "Europe/Berlin",
                currency: str | None = None) -> str:
    """Import ``path`` into ``property_id`` (appending), or into a new property of a new account
    "Imported Events" when no property is given. Returns the property id."""
    frame = read_events(path)
    if property_id is None:
        if currency is None:
            cur = frame["currency"].astype(str)
            cur = cur[cur != ""]
            currency = cur.mode().iloc[0] if len(cur) else "EUR"
        account = admin.create_account("Imported Events")
        name = (display_name or Path(path).stem)[:96]  # GA4 allows 100 characters; leaves room for " web"
        property_id = admin.create_property(account, name, time_zone=time_zone, currency=currency)
        hosts = frame["page_location"].astype(str).str.extract(r"^(https?://[A-Za-z0-9.-]+(?::\d+)?)")[0].dropna()
        admin.create_web_stream(property_id, f"{name} web", hosts.iloc[0] if len(hosts) else "https://www.example.com")
    store.append(property_id, frame)
    return str(property_id)


# ---- writing (the inverse, for round trips and for handing demo data to other tools) ---------

def export_records(frame: pd.DataFrame) -> list[dict]:
    """EventStore rows as BigQuery-export-shaped nested records."""
    out = []
    tz_days = pd.to_datetime(frame["ts"].to_numpy(), unit="us", utc=True).strftime("%Y%m%d")
    for i, r in enumerate(frame.itertuples(index=False)):
        params = [{"key": "ga_session_id", "value": {"int_value": int(r.session_id)}}]
        if r.page_location:
            params.append({"key": "page_location", "value": {"string_value": str(r.page_location)}})
        if r.value:
            params.append({"key": "value", "value": {"double_value": float(r.value)}})
        if r.currency:
            params.append({"key": "currency", "value": {"string_value": str(r.currency)}})
        out.append({
            "event_date": tz_days[i], "event_timestamp": int(r.ts), "event_name": str(r.event_name),
            "user_pseudo_id": str(r.user_id), "event_params": params,
            "session_traffic_source_last_click": {"manual_campaign": {"source": str(r.source),
                                                                      "medium": str(r.medium)}},
            "device": {"category": str(r.device_category)}, "geo": {"country": str(r.country)},
        })
    return out


def write_events(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write EventStore rows as an export file; the format follows the suffix (see SUPPORTED).
    CSV is flat: dotted columns and one column per parameter."""
    path = Path(path)
    suffix = path.suffix.lower()
    recs = export_records(frame)
    if suffix in (".ndjson", ".jsonl"):
        with path.open("w", encoding="utf-8") as fh:
            for rec in recs:
                fh.write(json.dumps(rec) + "\n")
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq
        pq.write_table(pa.Table.from_pylist(recs), path)
    elif suffix == ".csv":
        flat = pd.DataFrame({
            "event_date": [r["event_date"] for r in recs], "event_timestamp": frame["ts"].to_numpy(),
            "event_name": frame["event_name"].astype(str), "user_pseudo_id": frame["user_id"].astype(str),
            "ga_session_id": frame["session_id"].to_numpy(), "page_location": frame["page_location"].astype(str),
            "value": frame["value"].to_numpy(), "currency": frame["currency"].astype(str),
            "session_traffic_source_last_click.manual_campaign.source": frame["source"].astype(str),
            "session_traffic_source_last_click.manual_campaign.medium": frame["medium"].astype(str),
            "device.category": frame["device_category"].astype(str), "geo.country": frame["country"].astype(str),
        })
        flat.to_csv(path, index=False)
    else:
        raise EventFileError(f"{path}: unsupported file type '{suffix}'; use .ndjson, .csv or .parquet.")
    return path

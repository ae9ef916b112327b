"""The emulator's Admin state: accounts, properties, web streams, key events, create-event rules, data
retention, enhanced measurement, custom dimensions and Google Ads links, with GA4's per-property limits
(the field rules live in ``validation.py``).

Plain Python data (dicts) behind one lock, saved as JSON (``admin.json`` in the state directory, written
atomically: a temporary file then ``os.replace``) after every change and loaded again on the next start.
Without a state directory everything lives in memory. Methods raise :class:`EmulatorError` with GA4-style
messages; ``admin_service`` turns requests into calls here and results into Google's messages.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from ga4kit.emulator.errors import exists, failed_precondition, invalid, not_found
from ga4kit.emulator.validation import (CUSTOM_DIMENSION_CAP, CUSTOM_KEY_EVENT_CAP, DEFAULT_KEY_EVENTS, RETENTION_360,
                                        RETENTION_STANDARD, check_ads_customer_id, check_counting_method,
                                        check_currency, check_custom_dimension, check_default_value,
                                        check_event_name, check_rule, check_service_level, check_time_zone)

STATE_FILE = "admin.json"
DEFAULT_PRINCIPAL = "owner@ga4kit.local"
ENHANCED_DEFAULTS = {
    "stream_enabled": True, "scrolls_enabled": True, "outbound_clicks_enabled": True, "site_search_enabled": True,
    "video_engagement_enabled": True, "file_downloads_enabled": True, "page_changes_enabled": True,
    "form_interactions_enabled": True, "search_query_parameter": "q,s,search,query,keyword",
    "uri_query_parameter": "",
}
TRASH_DAYS = 35
_KEEP = object()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass
class RuleInfo:
    stream_id: str
    destination_event: str
    conditions: list[tuple[str, str, str, bool]]  # (field, comparison type name, value, negated)
    source_copy_parameters: bool
    parameter_mutations: list[tuple[str, str]]  # (parameter, value)
    create_time: datetime  # UTC, aware
    rule_id: str = ""


@dataclass
class PropertyInfo:
    property_id: str
    time_zone: str
    currency: str
    service_level: str  # "STANDARD" | "PREMIUM"
    key_events: dict[str, str]  # event name -> "ONCE_PER_EVENT" | "ONCE_PER_SESSION"
    rules: list[RuleInfo]
    display_name: str = ""
    account_id: str = ""
    delete_time: datetime | None = None
    key_event_values: dict[str, tuple[float, str]] = field(default_factory=dict)  # default values
    stream_ids: list[str] = field(default_factory=list)


class AdminState:
    """Every Admin-side fact of the emulated GA4, persisted as JSON when ``state_dir`` is given."""

    def __init__(self, state_dir: str | os.PathLike | None = None, *,
                 clock: Callable[[], datetime] | None = None):
        self.state_dir = os.fspath(state_dir) if state_dir is not None else None
        self.clock = clock or utcnow
        self._lock = threading.RLock()
        self._deferred = 0
        self._dirty = False
        self._data: dict[str, Any] = self._empty()
        self.loaded = False  # True when state came from an existing file
        if self.state_dir:
            path = os.path.join(self.state_dir, STATE_FILE)
            if os.path.exists(path):
                try:
                    with open(path, encoding="utf-8") as fh:
                        data = json.load(fh)
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise ValueError(f"{path} is not an emulator state file (not valid JSON: {exc})") from None
                if not isinstance(data, dict) or data.get("version") != 1:
                    raise ValueError(f"{path} is not an emulator state file (version 1)")
                self._data = data
                self.loaded = True

    @staticmethod
    def _empty() -> dict:
        return {"version": 1,
                "next_id": {"account": 1000001, "property": 400000001, "stream": 7000000001,
                            "key_event": 10000000001, "rule": 20000000001, "dimension": 30000000001,
                            "link": 40000000001},
                "accounts": {}, "properties": {}}

    # ----------------------------------------------------------------- persistence
    def save(self) -> None:
        """Write the state atomically (no-op without a state directory)."""
        if not self.state_dir:
            return
        with self._lock:
            os.makedirs(self.state_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".admin-", suffix=".json.tmp", dir=self.state_dir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(self._data, fh, indent=1)
                os.replace(tmp, os.path.join(self.state_dir, STATE_FILE))
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise

    def _changed(self) -> None:
        if self._deferred:
            self._dirty = True
        else:
            self.save()

    @contextlib.contextmanager
    def batch(self):
        """Hold the lock and write the file once at the end (for building many objects at once)."""
        with self._lock:
            self._deferred += 1
            try:
                yield self
            finally:
                self._deferred -= 1
                if not self._deferred and self._dirty:
                    self._dirty = False
                    self.save()

    def _next(self, kind: str) -> str:
        n = self._data["next_id"][kind]
        self._data["next_id"][kind] = n + 1
        return str(n)

    def _now(self) -> datetime:
        now = self.clock()
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    # ----------------------------------------------------------------- lookups
    def _prop(self, property_id: str) -> dict:
        prop = self._data["properties"].get(str(property_id))
        if prop is None:
            raise not_found(f"Property properties/{property_id} was not found.")
        return prop

    def _stream(self, property_id: str, stream_id: str) -> dict:
        stream = self._prop(property_id)["streams"].get(str(stream_id))
        if stream is None:
            raise not_found(f"Data stream properties/{property_id}/dataStreams/{stream_id} was not found.")
        return stream

    def has_property(self, property_id: str) -> bool:
        with self._lock:
            return str(property_id) in self._data["properties"]

    def is_deleted(self, property_id: str) -> bool:
        with self._lock:
            prop = self._data["properties"].get(str(property_id))
            return bool(prop and prop.get("delete_time"))

    def can_access(self, property_id: str, principal: str | None) -> bool:
        with self._lock:
            prop = self._data["properties"].get(str(property_id))
            if prop is None:
                return False
            access = prop.get("access")
            return access is None or (principal or DEFAULT_PRINCIPAL) in access

    def property_ids(self) -> list[str]:
        with self._lock:
            return list(self._data["properties"])

    def account_ids(self) -> list[str]:
        with self._lock:
            return list(self._data["accounts"])

    # ----------------------------------------------------------------- accounts and properties
    def create_account(self, display_name: str, *, region_code: str = "DE") -> str:
        with self._lock:
            aid = self._next("account")
            self._data["accounts"][aid] = {"display_name": display_name, "region_code": region_code,
                                           "create_time": _iso(self._now())}
            self._changed()
            return aid

    def get_account(self, account_id: str) -> dict:
        with self._lock:
            acc = self._data["accounts"].get(str(account_id))
            if acc is None:
                raise not_found(f"Account accounts/{account_id} was not found.")
            return dict(acc, id=str(account_id))

    def create_property(self, account_id: str, display_name: str, *, time_zone: str = "Europe/Berlin",
                        currency: str = "EUR", service_level: str = "STANDARD",
                        property_id: str | None = None, industry: str = "OTHER") -> str:
        """A GA4 property with its default key event ``purchase`` (not deletable, not custom)."""
        level = check_service_level(service_level)
        check_currency(currency)
        check_time_zone(time_zone)
        with self._lock:
            if str(account_id) not in self._data["accounts"]:
                raise not_found(f"Account accounts/{account_id} was not found.")
            if property_id is not None:
                pid = str(property_id)
                if not pid.isdigit():
                    raise invalid(f"Property id {pid!r} must be numeric.")
                if pid in self._data["properties"]:
                    raise exists(f"Property properties/{pid} already exists.")
            else:
                pid = self._next("property")
                while pid in self._data["properties"]:
                    pid = self._next("property")
            now = _iso(self._now())
            self._data["properties"][pid] = {
                "account": str(account_id), "display_name": display_name, "time_zone": time_zone,
                "currency": currency, "service_level": level, "industry": industry,
                "create_time": now, "update_time": now, "delete_time": None, "access": None,
                "streams": {}, "key_events": {},
                "retention": {"event_data_retention": "TWO_MONTHS", "user_data_retention": "TWO_MONTHS",
                              "reset_user_data_on_new_activity": True},
                "custom_dimensions": {}, "ads_links": {},
            }
            kid = self._next("key_event")
            self._data["properties"][pid]["key_events"][kid] = {
                "event_name": "purchase", "counting_method": "ONCE_PER_EVENT", "default_value": None,
                "create_time": now, "deletable": False, "custom": False,
            }
            self._changed()
            return pid

    def set_access(self, property_id: str, principals: Iterable[str] | None) -> None:
        """Who may use the property: None = every principal, else only those listed."""
        with self._lock:
            self._prop(property_id)["access"] = None if principals is None else sorted(set(principals))
            self._changed()

    def trash_property(self, property_id: str) -> dict:
        """Move the property to the trash (sets delete_time and expire_time), like DeleteProperty."""
        with self._lock:
            prop = self._prop(property_id)
            if not prop.get("delete_time"):
                now = self._now()
                prop["delete_time"] = _iso(now)
                prop["expire_time"] = _iso(now + timedelta(days=TRASH_DAYS))
                self._changed()
            return self.get_property(property_id)

    def get_property(self, property_id: str) -> dict:
        with self._lock:
            prop = self._prop(property_id)
            out = {k: copy.deepcopy(v) for k, v in prop.items()
                   if k in ("account", "display_name", "time_zone", "currency", "service_level", "industry",
                            "create_time", "update_time", "delete_time", "expire_time")}
            out["id"] = str(property_id)
            return out

    def list_properties(self, account_id: str, principal: str | None, *, show_deleted: bool = False) -> list[dict]:
        with self._lock:
            return [self.get_property(pid) for pid, p in self._data["properties"].items()
                    if p["account"] == str(account_id) and self.can_access(pid, principal)
                    and (show_deleted or not p.get("delete_time"))]

    def account_summaries(self, principal: str | None) -> list[dict]:
        """Accounts with at least one property the principal can see, with those properties."""
        with self._lock:
            out = []
            for aid, acc in self._data["accounts"].items():
                props = [{"id": pid, "display_name": p["display_name"]}
                         for pid, p in self._data["properties"].items()
                         if p["account"] == aid and not p.get("delete_time") and self.can_access(pid, principal)]
                if props:
                    out.append({"id": aid, "display_name": acc["display_name"], "properties": props})
            return out

    def property_info(self, property_id: str) -> PropertyInfo:
        with self._lock:
            prop = self._prop(property_id)
            rules = []
            for sid, stream in prop["streams"].items():
                for rid, rule in stream.get("rules", {}).items():
                    rules.append(RuleInfo(
                        stream_id=sid, destination_event=rule["destination_event"],
                        conditions=[(c["field"], c["comparison_type"], c["value"], bool(c["negated"]))
                                    for c in rule["event_conditions"]],
                        source_copy_parameters=bool(rule["source_copy_parameters"]),
                        parameter_mutations=[(m["parameter"], m["parameter_value"])
                                             for m in rule["parameter_mutations"]],
                        create_time=parse_time(rule["create_time"]), rule_id=rid))
            return PropertyInfo(
                property_id=str(property_id), time_zone=prop["time_zone"], currency=prop["currency"],
                service_level=prop["service_level"],
                key_events={k["event_name"]: k["counting_method"] for k in prop["key_events"].values()},
                rules=rules, display_name=prop["display_name"], account_id=prop["account"],
                delete_time=parse_time(prop.get("delete_time")),
                key_event_values={k["event_name"]: tuple(k["default_value"]) for k in prop["key_events"].values()
                                  if k.get("default_value")},
                stream_ids=list(prop["streams"]))

    # ----------------------------------------------------------------- data streams
    def create_web_stream(self, property_id: str, display_name: str, uri: str) -> str:
        with self._lock:
            prop = self._prop(property_id)
            sid = self._next("stream")
            now = _iso(self._now())
            digits = re.sub(r"\D", "", sid)
            prop["streams"][sid] = {
                "display_name": display_name, "uri": uri,
                "measurement_id": "G-" + format(int(digits) * 7919 % 36 ** 10, "X").rjust(10, "0")[:10],
                "create_time": now, "update_time": now, "enhanced": dict(ENHANCED_DEFAULTS), "rules": {},
            }
            self._changed()
            return sid

    def _stream_out(self, property_id: str, sid: str, s: dict) -> dict:
        return {"id": sid, "property": str(property_id), "display_name": s["display_name"], "uri": s["uri"],
                "measurement_id": s["measurement_id"], "create_time": s["create_time"],
                "update_time": s["update_time"]}

    def list_streams(self, property_id: str) -> list[dict]:
        with self._lock:
            return [self._stream_out(property_id, sid, s) for sid, s in self._prop(property_id)["streams"].items()]

    def get_stream(self, property_id: str, stream_id: str) -> dict:
        with self._lock:
            return self._stream_out(property_id, str(stream_id), self._stream(property_id, stream_id))

    # ----------------------------------------------------------------- key events
    def _key_event(self, property_id: str, key_event_id: str) -> dict:
        ke = self._prop(property_id)["key_events"].get(str(key_event_id))
        if ke is None:
            raise not_found(f"Key event properties/{property_id}/keyEvents/{key_event_id} was not found.")
        return ke

    def create_key_event(self, property_id: str, event_name: str, counting_method: str | None = "ONCE_PER_EVENT",
                         default_value: tuple[float, str] | None = None) -> dict:
        """Mark ``event_name`` as a key event; GA4's checks (name, counting method, value, cap, duplicate)."""
        check_event_name(event_name, "key_event.event_name")
        counting = check_counting_method(counting_method)
        value = check_default_value(default_value)
        with self._lock:
            prop = self._prop(property_id)
            for ke in prop["key_events"].values():
                if ke["event_name"] == event_name:
                    raise exists(f"A key event with event_name '{event_name}' already exists on property "
                                 f"properties/{property_id}.")
            custom = event_name not in DEFAULT_KEY_EVENTS
            if custom:
                cap = CUSTOM_KEY_EVENT_CAP[prop["service_level"]]
                used = sum(1 for ke in prop["key_events"].values() if ke["custom"])
                if used >= cap:
                    kind = "a Google Analytics 360" if prop["service_level"] == "PREMIUM" else "a standard"
                    raise failed_precondition(
                        f"Cannot create key event '{event_name}': properties/{property_id} already has "
                        f"{used} custom key events, the maximum for {kind} property is {cap}.")
            kid = self._next("key_event")
            prop["key_events"][kid] = {"event_name": event_name, "counting_method": counting,
                                       "default_value": value, "create_time": _iso(self._now()),
                                       "deletable": True, "custom": custom}
            self._changed()
            return dict(copy.deepcopy(prop["key_events"][kid]), id=kid, property=str(property_id))

    def get_key_event(self, property_id: str, key_event_id: str) -> dict:
        with self._lock:
            return dict(copy.deepcopy(self._key_event(property_id, key_event_id)), id=str(key_event_id),
                        property=str(property_id))

    def list_key_events(self, property_id: str) -> list[dict]:
        with self._lock:
            return [dict(copy.deepcopy(ke), id=kid, property=str(property_id))
                    for kid, ke in self._prop(property_id)["key_events"].items()]

    def update_key_event(self, property_id: str, key_event_id: str, *, counting_method: Any = _KEEP,
                         default_value: Any = _KEEP) -> dict:
        counting = check_counting_method(counting_method) if counting_method is not _KEEP else None
        value = check_default_value(default_value) if default_value is not _KEEP else None
        with self._lock:
            ke = self._key_event(property_id, key_event_id)
            if counting_method is not _KEEP:
                ke["counting_method"] = counting
            if default_value is not _KEEP:
                ke["default_value"] = value
            self._changed()
            return self.get_key_event(property_id, key_event_id)

    def delete_key_event(self, property_id: str, key_event_id: str) -> None:
        with self._lock:
            ke = self._key_event(property_id, key_event_id)
            if not ke["deletable"]:
                raise failed_precondition(
                    f"Key event '{ke['event_name']}' (properties/{property_id}/keyEvents/{key_event_id}) is a "
                    "default key event and cannot be deleted.")
            del self._prop(property_id)["key_events"][str(key_event_id)]
            self._changed()

    # ----------------------------------------------------------------- event create rules
    def _rule(self, property_id: str, stream_id: str, rule_id: str) -> dict:
        rule = self._stream(property_id, stream_id)["rules"].get(str(rule_id))
        if rule is None:
            raise not_found(f"Event create rule properties/{property_id}/dataStreams/{stream_id}/eventCreateRules/"
                            f"{rule_id} was not found.")
        return rule

    def _rule_out(self, property_id: str, stream_id: str, rid: str, rule: dict) -> dict:
        return dict(copy.deepcopy(rule), id=rid, property=str(property_id), stream=str(stream_id))

    def create_event_create_rule(self, property_id: str, stream_id: str, destination_event: str,
                                 conditions: list[dict] | list[tuple], *, source_copy_parameters: bool = False,
                                 parameter_mutations: list[dict] | list[tuple] = (),
                                 create_time: datetime | None = None) -> dict:
        """A create-event rule on a web stream. ``conditions``: dicts with field, comparison_type (name), value,
        negated, or tuples in that order; ``parameter_mutations``: dicts (parameter, parameter_value) or
        tuples. ``create_time`` backdates the rule (for seeding history)."""
        conds = [_condition(c) for c in conditions]
        muts = [_mutation(m) for m in parameter_mutations]
        check_rule(destination_event, conds, muts)
        with self._lock:
            stream = self._stream(property_id, stream_id)
            rid = self._next("rule")
            when = create_time or self._now()
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            stream["rules"][rid] = {"destination_event": destination_event, "event_conditions": conds,
                                    "source_copy_parameters": bool(source_copy_parameters),
                                    "parameter_mutations": muts, "create_time": _iso(when)}
            self._changed()
            return self._rule_out(property_id, stream_id, rid, stream["rules"][rid])

    def get_event_create_rule(self, property_id: str, stream_id: str, rule_id: str) -> dict:
        with self._lock:
            return self._rule_out(property_id, stream_id, str(rule_id), self._rule(property_id, stream_id, rule_id))

    def list_event_create_rules(self, property_id: str, stream_id: str) -> list[dict]:
        with self._lock:
            return [self._rule_out(property_id, stream_id, rid, r)
                    for rid, r in self._stream(property_id, stream_id)["rules"].items()]

    def update_event_create_rule(self, property_id: str, stream_id: str, rule_id: str, **changes: Any) -> dict:
        """Change any of destination_event, event_conditions, source_copy_parameters, parameter_mutations."""
        with self._lock:
            rule = self._rule(property_id, stream_id, rule_id)
            merged = copy.deepcopy(rule)
            for key, value in changes.items():
                if key == "event_conditions":
                    merged[key] = [_condition(c) for c in value]
                elif key == "parameter_mutations":
                    merged[key] = [_mutation(m) for m in value]
                elif key == "source_copy_parameters":
                    merged[key] = bool(value)
                elif key == "destination_event":
                    merged[key] = value
                else:
                    raise invalid(f"Field {key} cannot be updated.")
            check_rule(merged["destination_event"], merged["event_conditions"], merged["parameter_mutations"])
            rule.update(merged)
            self._changed()
            return self._rule_out(property_id, stream_id, str(rule_id), rule)

    def delete_event_create_rule(self, property_id: str, stream_id: str, rule_id: str) -> None:
        with self._lock:
            self._rule(property_id, stream_id, rule_id)
            del self._stream(property_id, stream_id)["rules"][str(rule_id)]
            self._changed()

    # ----------------------------------------------------------------- data retention
    def get_retention(self, property_id: str) -> dict:
        with self._lock:
            return dict(self._prop(property_id)["retention"])

    def update_retention(self, property_id: str, **changes: Any) -> dict:
        with self._lock:
            prop = self._prop(property_id)
            allowed = RETENTION_360 if prop["service_level"] == "PREMIUM" else RETENTION_STANDARD
            new = dict(prop["retention"])
            for key, value in changes.items():
                if key in ("event_data_retention", "user_data_retention"):
                    if not value or value == "RETENTION_DURATION_UNSPECIFIED":
                        raise invalid(f"Field {key} is required.")
                    if value not in allowed:
                        raise invalid(f"Field {key} {value} is not available on this property; allowed: "
                                      f"{', '.join(allowed)}.")
                    new[key] = value
                elif key == "reset_user_data_on_new_activity":
                    new[key] = bool(value)
                else:
                    raise invalid(f"Field {key} cannot be updated.")
            prop["retention"] = new
            self._changed()
            return dict(new)

    # ----------------------------------------------------------------- enhanced measurement
    def get_enhanced(self, property_id: str, stream_id: str) -> dict:
        with self._lock:
            return dict(self._stream(property_id, stream_id)["enhanced"])

    def update_enhanced(self, property_id: str, stream_id: str, **changes: Any) -> dict:
        with self._lock:
            stream = self._stream(property_id, stream_id)
            new = dict(stream["enhanced"])
            for key, value in changes.items():
                if key not in ENHANCED_DEFAULTS:
                    raise invalid(f"Field {key} cannot be updated.")
                if key.endswith("_parameter"):
                    if len(value) > 1024:
                        raise invalid(f"Field {key} must be at most 1024 characters.")
                    new[key] = str(value)
                else:
                    new[key] = bool(value)
            if new["site_search_enabled"] and not new["search_query_parameter"]:
                raise invalid("Field search_query_parameter is required while site search is enabled.")
            stream["enhanced"] = new
            self._changed()
            return dict(new)

    # ----------------------------------------------------------------- custom dimensions
    def create_custom_dimension(self, property_id: str, parameter_name: str, display_name: str, scope: str,
                                description: str = "", disallow_ads_personalization: bool = False) -> dict:
        check_custom_dimension(parameter_name, display_name, scope, description, disallow_ads_personalization)
        with self._lock:
            prop = self._prop(property_id)
            dims = prop["custom_dimensions"]
            for d in dims.values():
                if d["parameter_name"] == parameter_name and d["scope"] == scope:
                    raise exists(f"A custom dimension with parameter_name '{parameter_name}' and scope {scope} "
                                 "already exists.")
            cap = CUSTOM_DIMENSION_CAP[scope][prop["service_level"]]
            if sum(1 for d in dims.values() if d["scope"] == scope) >= cap:
                raise failed_precondition(f"The property already has the maximum of {cap} {scope.lower()}-scoped "
                                          "custom dimensions.")
            did = self._next("dimension")
            dims[did] = {"parameter_name": parameter_name, "display_name": display_name, "description": description,
                         "scope": scope, "disallow_ads_personalization": bool(disallow_ads_personalization)}
            self._changed()
            return dict(dims[did], id=did, property=str(property_id))

    def get_custom_dimension(self, property_id: str, dimension_id: str) -> dict:
        with self._lock:
            d = self._prop(property_id)["custom_dimensions"].get(str(dimension_id))
            if d is None:
                raise not_found(f"Custom dimension properties/{property_id}/customDimensions/{dimension_id} was "
                                "not found.")
            return dict(d, id=str(dimension_id), property=str(property_id))

    def list_custom_dimensions(self, property_id: str) -> list[dict]:
        with self._lock:
            return [dict(d, id=did, property=str(property_id))
                    for did, d in self._prop(property_id)["custom_dimensions"].items()]

    # ----------------------------------------------------------------- Google Ads links
    def create_google_ads_link(self, property_id: str, customer_id: str, *, ads_personalization_enabled: bool = True,
                               creator: str | None = None) -> dict:
        check_ads_customer_id(customer_id)
        with self._lock:
            links = self._prop(property_id)["ads_links"]
            for link in links.values():
                if link["customer_id"] == customer_id:
                    raise exists(f"A Google Ads link to customer {customer_id} already exists.")
            lid = self._next("link")
            now = _iso(self._now())
            links[lid] = {"customer_id": customer_id, "can_manage_clients": False,
                          "ads_personalization_enabled": bool(ads_personalization_enabled),
                          "create_time": now, "update_time": now,
                          "creator_email_address": creator or DEFAULT_PRINCIPAL}
            self._changed()
            return dict(links[lid], id=lid, property=str(property_id))

    def list_google_ads_links(self, property_id: str) -> list[dict]:
        with self._lock:
            return [dict(link, id=lid, property=str(property_id))
                    for lid, link in self._prop(property_id)["ads_links"].items()]


def _condition(c: Any) -> dict:
    if isinstance(c, dict):
        return {"field": str(c.get("field", "")), "comparison_type": str(c.get("comparison_type", "")),
                "value": str(c.get("value", "")), "negated": bool(c.get("negated", False))}
    field_, ctype, value, *rest = c
    return {"field": str(field_), "comparison_type": str(ctype), "value": str(value),
            "negated": bool(rest[0]) if rest else False}


def _mutation(m: Any) -> dict:
    if isinstance(m, dict):
        return {"parameter": str(m.get("parameter", "")), "parameter_value": str(m.get("parameter_value", ""))}
    param, value = m
    return {"parameter": str(param), "parameter_value": str(value)}

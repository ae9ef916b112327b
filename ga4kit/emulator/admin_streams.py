"""Data streams and what hangs under them: enhanced measurement and data redaction (web streams only),
Measurement Protocol secrets and create-event rules.

A property has at most 50 streams, of which 30 app streams; an app (package name or bundle id) has one
stream per property. Deleting a stream deletes everything under it, so its create-event rules stop
producing derived events.
"""

from __future__ import annotations

import copy
import re
import secrets
from datetime import datetime, timezone
from typing import Any

from ga4kit.emulator.admin_store import AdminStore, iso
from ga4kit.emulator.errors import exists, failed_precondition, invalid, not_found
from ga4kit.emulator.validation import (MAX_APP_STREAMS, MAX_STREAMS, STREAM_TYPES, check_bundle_id, check_choice,
                                        check_display_name, check_package_name, check_redaction, check_rule,
                                        check_search_parameters, check_web_uri)

WEB = "WEB_DATA_STREAM"
ENHANCED_DEFAULTS = {
    "stream_enabled": True, "scrolls_enabled": True, "outbound_clicks_enabled": True, "site_search_enabled": True,
    "video_engagement_enabled": True, "file_downloads_enabled": True, "page_changes_enabled": True,
    "form_interactions_enabled": True, "search_query_parameter": "q,s,search,query,keyword",
    "uri_query_parameter": "",
}
REDACTION_DEFAULTS = {"email_redaction_enabled": True, "query_parameter_redaction_enabled": False,
                      "query_parameter_keys": []}


class StreamAdmin(AdminStore):
    """Data streams, their settings, secrets and create-event rules."""

    def _complete_stream(self, stream: dict) -> None:
        super()._complete_stream(stream)
        stream.setdefault("type", WEB)
        stream.setdefault("secrets", {})
        stream.setdefault("rules", {})
        if stream["type"] == WEB:
            stream.setdefault("enhanced", dict(ENHANCED_DEFAULTS))
            stream.setdefault("redaction", copy.deepcopy(REDACTION_DEFAULTS))

    def _stream_out(self, property_id: str, sid: str, s: dict) -> dict:
        out = {"id": sid, "property": str(property_id), "type": s["type"], "display_name": s["display_name"],
               "create_time": s["create_time"], "update_time": s["update_time"]}
        for key in ("uri", "measurement_id", "package_name", "bundle_id"):
            if key in s:
                out[key] = s[key]
        return out

    def _record_stream(self, resource_type: str, resource: str, action: str, property_id: str,
                       before: dict | None = None, after: dict | None = None) -> None:
        self._record(resource_type, resource, action, account=self._prop(property_id)["account"],
                     property_id=property_id, before=before, after=after)

    # ----------------------------------------------------------------- data streams
    def create_web_stream(self, property_id: str, display_name: str, uri: str) -> str:
        return self.create_data_stream(property_id, WEB, display_name, uri=uri)["id"]

    def create_data_stream(self, property_id: str, stream_type: str, display_name: str = "", *, uri: str = "",
                           package_name: str = "", bundle_id: str = "") -> dict:
        """A web, Android or iOS stream with GA4's checks (type's own field required, limits, one stream per
        app)."""
        check_choice("type", stream_type, STREAM_TYPES)
        check_display_name(display_name, 255, required=stream_type == WEB)
        if stream_type == WEB:
            check_web_uri(uri)
        elif stream_type == "ANDROID_APP_DATA_STREAM":
            check_package_name(package_name)
        else:
            check_bundle_id(bundle_id)
        with self._lock:
            streams = self._prop(property_id)["streams"]
            if len(streams) >= MAX_STREAMS:
                raise failed_precondition(f"Property properties/{property_id} already has the maximum of "
                                          f"{MAX_STREAMS} data streams.")
            apps = [s for s in streams.values() if s["type"] != WEB]
            if stream_type != WEB and len(apps) >= MAX_APP_STREAMS:
                raise failed_precondition(f"Property properties/{property_id} already has the maximum of "
                                          f"{MAX_APP_STREAMS} app data streams.")
            key, app_id = ("package_name", package_name) if package_name else ("bundle_id", bundle_id)
            if stream_type != WEB and any(s["type"] == stream_type and s.get(key) == app_id for s in apps):
                raise exists(f"A data stream for the app '{app_id}' already exists on property "
                             f"properties/{property_id}.")
            sid = self._next("stream")
            now = iso(self._now())
            stream = {"type": stream_type, "display_name": display_name, "create_time": now, "update_time": now}
            if stream_type == WEB:
                digits = re.sub(r"\D", "", sid)
                stream["uri"] = uri
                stream["measurement_id"] = "G-" + format(int(digits) * 7919 % 36 ** 10, "X").rjust(10, "0")[:10]
            elif package_name:
                stream["package_name"] = package_name
            else:
                stream["bundle_id"] = bundle_id
            self._complete_stream(stream)
            streams[sid] = stream
            out = self._stream_out(property_id, sid, stream)
            self._record_stream("DATA_STREAM", f"properties/{property_id}/dataStreams/{sid}", "CREATED",
                                property_id, after=out)
            self._changed()
            return out

    def list_streams(self, property_id: str) -> list[dict]:
        with self._lock:
            return [self._stream_out(property_id, sid, s) for sid, s in self._prop(property_id)["streams"].items()]

    def get_stream(self, property_id: str, stream_id: str) -> dict:
        with self._lock:
            return self._stream_out(property_id, str(stream_id), self._stream(property_id, stream_id))

    def update_data_stream(self, property_id: str, stream_id: str, **changes: Any) -> dict:
        """Change display_name and/or (web streams) default_uri."""
        with self._lock:
            stream = self._stream(property_id, stream_id)
            for key, value in changes.items():
                if key == "display_name":
                    check_display_name(value, 255, required=stream["type"] == WEB)
                elif key == "default_uri" and stream["type"] == WEB:
                    check_web_uri(value)
                else:
                    raise invalid(f"Field {key} cannot be updated on a {stream['type']}.")
            before = self._stream_out(property_id, str(stream_id), stream)
            for key, value in changes.items():
                stream["uri" if key == "default_uri" else key] = value
            stream["update_time"] = iso(self._now())
            after = self._stream_out(property_id, str(stream_id), stream)
            self._record_stream("DATA_STREAM", f"properties/{property_id}/dataStreams/{stream_id}", "UPDATED",
                                property_id, before=before, after=after)
            self._changed()
            return after

    def delete_data_stream(self, property_id: str, stream_id: str) -> None:
        with self._lock:
            before = self.get_stream(property_id, stream_id)
            del self._prop(property_id)["streams"][str(stream_id)]
            self._record_stream("DATA_STREAM", f"properties/{property_id}/dataStreams/{stream_id}", "DELETED",
                                property_id, before=before)
            self._changed()

    # ----------------------------------------------------------------- web stream settings
    def _web_settings(self, property_id: str, stream_id: str, suffix: str) -> dict:
        stream = self._stream(property_id, stream_id)
        if stream["type"] != WEB:  # a singleton that only web streams have
            raise not_found(f"properties/{property_id}/dataStreams/{stream_id}/{suffix} was not found: only web "
                            "data streams have it.")
        return stream

    def _stream_settings_out(self, property_id: str, stream_id: str, key: str, suffix: str) -> dict:
        stream = self._web_settings(property_id, stream_id, suffix)
        return dict(copy.deepcopy(stream[key]), property=str(property_id), stream=str(stream_id))

    def _update_stream_settings(self, property_id: str, stream_id: str, key: str, suffix: str, resource_type: str,
                             new: dict) -> dict:
        stream = self._web_settings(property_id, stream_id, suffix)
        before = self._stream_settings_out(property_id, stream_id, key, suffix)
        stream[key] = new
        after = self._stream_settings_out(property_id, stream_id, key, suffix)
        self._record_stream(resource_type, f"properties/{property_id}/dataStreams/{stream_id}/{suffix}", "UPDATED",
                            property_id, before=before, after=after)
        self._changed()
        return after

    def get_enhanced(self, property_id: str, stream_id: str) -> dict:
        with self._lock:
            return self._stream_settings_out(property_id, stream_id, "enhanced", "enhancedMeasurementSettings")

    def update_enhanced(self, property_id: str, stream_id: str, **changes: Any) -> dict:
        with self._lock:
            stream = self._web_settings(property_id, stream_id, "enhancedMeasurementSettings")
            new = dict(stream["enhanced"])
            for key, value in changes.items():
                if key not in ENHANCED_DEFAULTS:
                    raise invalid(f"Field {key} cannot be updated.")
                if key.endswith("_parameter"):
                    check_search_parameters(value, key, required=key == "search_query_parameter")
                    new[key] = str(value)
                else:
                    new[key] = bool(value)
            return self._update_stream_settings(property_id, stream_id, "enhanced", "enhancedMeasurementSettings",
                                             "ENHANCED_MEASUREMENT_SETTINGS", new)

    def get_redaction(self, property_id: str, stream_id: str) -> dict:
        with self._lock:
            return self._stream_settings_out(property_id, stream_id, "redaction", "dataRedactionSettings")

    def update_redaction(self, property_id: str, stream_id: str, **changes: Any) -> dict:
        with self._lock:
            stream = self._web_settings(property_id, stream_id, "dataRedactionSettings")
            new = copy.deepcopy(stream["redaction"])
            for key, value in changes.items():
                if key not in REDACTION_DEFAULTS:
                    raise invalid(f"Field {key} cannot be updated.")
                new[key] = [str(k) for k in value] if key == "query_parameter_keys" else bool(value)
            check_redaction(new["query_parameter_redaction_enabled"], new["query_parameter_keys"])
            return self._update_stream_settings(property_id, stream_id, "redaction", "dataRedactionSettings",
                                             "DATA_REDACTION_SETTINGS", new)

    # ----------------------------------------------------------------- Measurement Protocol secrets
    def _secret(self, property_id: str, stream_id: str, secret_id: str) -> dict:
        secret = self._stream(property_id, stream_id)["secrets"].get(str(secret_id))
        if secret is None:
            raise not_found(f"Measurement protocol secret properties/{property_id}/dataStreams/{stream_id}/"
                            f"measurementProtocolSecrets/{secret_id} was not found.")
        return secret

    @staticmethod
    def _secret_out(property_id: str, stream_id: str, sid: str, s: dict) -> dict:
        return dict(s, id=sid, property=str(property_id), stream=str(stream_id))

    @staticmethod
    def _secret_name(property_id: str, stream_id: str, secret_id: str) -> str:
        return f"properties/{property_id}/dataStreams/{stream_id}/measurementProtocolSecrets/{secret_id}"

    def create_secret(self, property_id: str, stream_id: str, display_name: str) -> dict:
        check_display_name(display_name, 255)
        with self._lock:
            stream = self._stream(property_id, stream_id)
            # GA4's secret ids are opaque strings, its values 22 URL-safe characters.
            sid = secrets.token_hex(6) + self._next("secret")
            stream["secrets"][sid] = {"display_name": display_name, "secret_value": secrets.token_urlsafe(16)}
            out = self._secret_out(property_id, stream_id, sid, stream["secrets"][sid])
            self._record_stream("MEASUREMENT_PROTOCOL_SECRET", self._secret_name(property_id, stream_id, sid),
                                "CREATED", property_id, after=out)
            self._changed()
            return out

    def get_secret(self, property_id: str, stream_id: str, secret_id: str) -> dict:
        with self._lock:
            return self._secret_out(property_id, stream_id, str(secret_id),
                                    self._secret(property_id, stream_id, secret_id))

    def list_secrets(self, property_id: str, stream_id: str) -> list[dict]:
        with self._lock:
            return [self._secret_out(property_id, stream_id, sid, s)
                    for sid, s in self._stream(property_id, stream_id)["secrets"].items()]

    def update_secret(self, property_id: str, stream_id: str, secret_id: str, *, display_name: str) -> dict:
        check_display_name(display_name, 255)
        with self._lock:
            secret = self._secret(property_id, stream_id, secret_id)
            before = self.get_secret(property_id, stream_id, secret_id)
            secret["display_name"] = display_name
            after = self.get_secret(property_id, stream_id, secret_id)
            self._record_stream("MEASUREMENT_PROTOCOL_SECRET", self._secret_name(property_id, stream_id, secret_id),
                                "UPDATED", property_id, before=before, after=after)
            self._changed()
            return after

    def delete_secret(self, property_id: str, stream_id: str, secret_id: str) -> None:
        with self._lock:
            before = self.get_secret(property_id, stream_id, secret_id)
            del self._stream(property_id, stream_id)["secrets"][str(secret_id)]
            self._record_stream("MEASUREMENT_PROTOCOL_SECRET", self._secret_name(property_id, stream_id, secret_id),
                                "DELETED", property_id, before=before)
            self._changed()

    # ----------------------------------------------------------------- event create rules
    def _rule(self, property_id: str, stream_id: str, rule_id: str) -> dict:
        rule = self._stream(property_id, stream_id)["rules"].get(str(rule_id))
        if rule is None:
            raise not_found(f"Event create rule properties/{property_id}/dataStreams/{stream_id}/eventCreateRules/"
                            f"{rule_id} was not found.")
        return rule

    @staticmethod
    def _rule_out(property_id: str, stream_id: str, rid: str, rule: dict) -> dict:
        return dict(copy.deepcopy(rule), id=rid, property=str(property_id), stream=str(stream_id))

    @staticmethod
    def _rule_name(property_id: str, stream_id: str, rule_id: str) -> str:
        return f"properties/{property_id}/dataStreams/{stream_id}/eventCreateRules/{rule_id}"

    def create_event_create_rule(self, property_id: str, stream_id: str, destination_event: str,
                                 conditions: list[dict] | list[tuple], *, source_copy_parameters: bool = False,
                                 parameter_mutations: list[dict] | list[tuple] = (),
                                 create_time: datetime | None = None) -> dict:
        """A create-event rule on a stream. ``conditions``: dicts with field, comparison_type (name), value,
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
                                    "parameter_mutations": muts, "create_time": iso(when)}
            out = self._rule_out(property_id, stream_id, rid, stream["rules"][rid])
            self._record_stream("EVENT_CREATE_RULE", self._rule_name(property_id, stream_id, rid), "CREATED",
                                property_id, after=out)
            self._changed()
            return out

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
            before = self._rule_out(property_id, stream_id, str(rule_id), rule)
            rule.update(merged)
            after = self._rule_out(property_id, stream_id, str(rule_id), rule)
            self._record_stream("EVENT_CREATE_RULE", self._rule_name(property_id, stream_id, rule_id), "UPDATED",
                                property_id, before=before, after=after)
            self._changed()
            return after

    def delete_event_create_rule(self, property_id: str, stream_id: str, rule_id: str) -> None:
        with self._lock:
            before = self.get_event_create_rule(property_id, stream_id, rule_id)
            del self._stream(property_id, stream_id)["rules"][str(rule_id)]
            self._record_stream("EVENT_CREATE_RULE", self._rule_name(property_id, stream_id, rule_id), "DELETED",
                                property_id, before=before)
            self._changed()


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

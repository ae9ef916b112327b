"""GA4 Admin API (v1beta and v1alpha) RPC handlers over :class:`AdminState`.

``admin_methods(module)`` returns ``{rpc name: Method}`` for ``google.analytics.admin_v1beta`` or
``admin_v1alpha``; both versions share one state and one implementation (their messages have the same
fields), v1alpha adds the event-create rules and enhanced measurement settings. A handler takes the
request message and the call context (``.principal``) and returns the response message or raises
:class:`EmulatorError`. Access to the property named in a request is checked by the server beforehand.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from google.protobuf import empty_pb2

from ga4kit.emulator.admin_state import ENHANCED_DEFAULTS, AdminState, parse_time
from ga4kit.emulator.errors import denied, invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

_PROPERTY = re.compile(r"^properties/(\d+)$")
_ACCOUNT = re.compile(r"^accounts/(\d+)$")
_KEY_EVENT = re.compile(r"^properties/(\d+)/keyEvents/(\d+)$")
_STREAM = re.compile(r"^properties/(\d+)/dataStreams/(\d+)$")
_RULE = re.compile(r"^properties/(\d+)/dataStreams/(\d+)/eventCreateRules/(\d+)$")
_RETENTION = re.compile(r"^properties/(\d+)/dataRetentionSettings$")
_ENHANCED = re.compile(r"^properties/(\d+)/dataStreams/(\d+)/enhancedMeasurementSettings$")
_DIMENSION = re.compile(r"^properties/(\d+)/customDimensions/(\d+)$")
_FILTER = re.compile(r"^\s*(parent|ancestor)\s*:\s*(accounts|properties)/(\d+)\s*$")


@dataclass(frozen=True)
class Method:
    request: Any  # proto-plus request class (has .deserialize)
    handler: Callable[[Any, Any], Any]  # (request, context) -> response message
    write: bool


def serialize(message: Any) -> bytes:
    """Bytes of a proto-plus message or of a raw protobuf message (google.protobuf.Empty)."""
    cls = type(message)
    if hasattr(cls, "pb") and hasattr(cls, "serialize"):
        return cls.serialize(message)
    return message.SerializeToString()


def parse(pattern: re.Pattern, name: str, expected: str, field: str = "name") -> tuple[str, ...]:
    m = pattern.match(name or "")
    if not m:
        if not name:
            raise invalid(f"Field {field} is required (format {expected}).")
        raise invalid(f"Invalid resource name '{name}' in field {field}: expected {expected}.")
    return m.groups()


def _snake(path: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), path)


def mask_paths(request: Any, allowed: tuple[str, ...], immutable: tuple[str, ...] = ()) -> list[str]:
    """The update mask's paths, checked: required, only mutable fields; "*" = every allowed path."""
    paths = [_snake(p) for p in (request.update_mask.paths if "update_mask" in request else [])]
    if not paths:
        raise invalid("Field update_mask is required and must list the fields to update.")
    if "*" in paths:
        return list(allowed)
    for p in paths:
        if p in immutable:
            raise invalid(f"Field {p} is immutable and cannot be updated.")
        if p not in allowed:
            raise invalid(f"Field {p} in update_mask cannot be updated; updatable fields: {', '.join(allowed)}.")
    return paths


def page(items: list, request: Any, key: str) -> tuple[list, str]:
    """One page of ``items`` for a List request (page_size default 50, max 200) and the next page token."""
    size = request.page_size
    if size < 0:
        raise invalid("Field page_size must not be negative.")
    size = DEFAULT_PAGE_SIZE if size == 0 else min(size, MAX_PAGE_SIZE)
    offset = 0
    if request.page_token:
        try:
            raw = base64.urlsafe_b64decode(request.page_token.encode("ascii") + b"==")
            data = json.loads(raw.decode("utf-8"))
            offset = int(data["o"])
            same = data["k"] == key
        except (ValueError, KeyError, TypeError, UnicodeError):
            raise invalid(f"Invalid page token '{request.page_token}'.") from None
        if not same or offset < 0:
            raise invalid("The page token does not match the request: when paging, every other parameter must "
                          "match the call that returned the token.")
    chunk = items[offset:offset + size]
    token = ""
    if offset + size < len(items):
        token = base64.urlsafe_b64encode(json.dumps({"o": offset + size, "k": key}).encode()).decode().rstrip("=")
    return chunk, token


def _set(msg: Any, **fields: Any) -> Any:
    """Set only the fields the message type has (v1alpha and v1beta differ slightly)."""
    names = type(msg).pb(msg).DESCRIPTOR.fields_by_name
    for k, v in fields.items():
        if v is None:
            continue
        if k.rstrip("_") in names or k in names:
            setattr(msg, k, v)
    return msg


class AdminService:
    """The Admin RPCs of one API version (``m`` = admin_v1beta or admin_v1alpha) over a shared state."""

    def __init__(self, state: AdminState, m: Any):
        self.state = state
        self.m = m

    # ----------------------------------------------------------------- message builders
    def account_msg(self, d: dict) -> Any:
        return _set(self.m.Account(), name=f"accounts/{d['id']}", display_name=d["display_name"],
                    region_code=d.get("region_code"), create_time=parse_time(d["create_time"]),
                    update_time=parse_time(d["create_time"]))

    def property_msg(self, d: dict) -> Any:
        m = self.m
        level = "GOOGLE_ANALYTICS_360" if d["service_level"] == "PREMIUM" else "GOOGLE_ANALYTICS_STANDARD"
        try:
            industry = m.IndustryCategory[d.get("industry") or "OTHER"]
        except KeyError:
            industry = m.IndustryCategory.OTHER
        return _set(m.Property(), name=f"properties/{d['id']}", property_type=m.PropertyType.PROPERTY_TYPE_ORDINARY,
                    parent=f"accounts/{d['account']}", account=f"accounts/{d['account']}",
                    display_name=d["display_name"], industry_category=industry, time_zone=d["time_zone"],
                    currency_code=d["currency"], service_level=m.ServiceLevel[level],
                    create_time=parse_time(d["create_time"]), update_time=parse_time(d["update_time"]),
                    delete_time=parse_time(d.get("delete_time")), expire_time=parse_time(d.get("expire_time")))

    def stream_msg(self, d: dict) -> Any:
        m = self.m
        return m.DataStream(
            name=f"properties/{d['property']}/dataStreams/{d['id']}", type_=m.DataStream.DataStreamType.WEB_DATA_STREAM,
            display_name=d["display_name"], create_time=parse_time(d["create_time"]),
            update_time=parse_time(d["update_time"]),
            web_stream_data=m.DataStream.WebStreamData(measurement_id=d["measurement_id"], default_uri=d["uri"]))

    def key_event_msg(self, d: dict) -> Any:
        m = self.m
        msg = m.KeyEvent(name=f"properties/{d['property']}/keyEvents/{d['id']}", event_name=d["event_name"],
                         create_time=parse_time(d["create_time"]), deletable=d["deletable"], custom=d["custom"],
                         counting_method=m.KeyEvent.CountingMethod[d["counting_method"]])
        if d.get("default_value"):
            value, currency = d["default_value"]
            msg.default_value = m.KeyEvent.DefaultValue(numeric_value=value, currency_code=currency)
        return msg

    def rule_msg(self, d: dict) -> Any:
        m = self.m
        return m.EventCreateRule(
            name=f"properties/{d['property']}/dataStreams/{d['stream']}/eventCreateRules/{d['id']}",
            destination_event=d["destination_event"],
            event_conditions=[m.MatchingCondition(field=c["field"],
                                                  comparison_type=m.MatchingCondition.ComparisonType[c["comparison_type"]],
                                                  value=c["value"], negated=c["negated"])
                              for c in d["event_conditions"]],
            source_copy_parameters=d["source_copy_parameters"],
            parameter_mutations=[m.ParameterMutation(parameter=p["parameter"], parameter_value=p["parameter_value"])
                                 for p in d["parameter_mutations"]])

    def retention_msg(self, pid: str, d: dict) -> Any:
        m = self.m
        rd = m.DataRetentionSettings.RetentionDuration
        return _set(m.DataRetentionSettings(), name=f"properties/{pid}/dataRetentionSettings",
                    event_data_retention=rd[d["event_data_retention"]],
                    user_data_retention=rd[d["user_data_retention"]],
                    reset_user_data_on_new_activity=d["reset_user_data_on_new_activity"])

    def enhanced_msg(self, pid: str, sid: str, d: dict) -> Any:
        return self.m.EnhancedMeasurementSettings(
            name=f"properties/{pid}/dataStreams/{sid}/enhancedMeasurementSettings", **d)

    def dimension_msg(self, d: dict) -> Any:
        m = self.m
        return m.CustomDimension(name=f"properties/{d['property']}/customDimensions/{d['id']}",
                                 parameter_name=d["parameter_name"], display_name=d["display_name"],
                                 description=d["description"], scope=m.CustomDimension.DimensionScope[d["scope"]],
                                 disallow_ads_personalization=d["disallow_ads_personalization"])

    def ads_link_msg(self, d: dict) -> Any:
        return self.m.GoogleAdsLink(
            name=f"properties/{d['property']}/googleAdsLinks/{d['id']}", customer_id=d["customer_id"],
            can_manage_clients=d["can_manage_clients"], ads_personalization_enabled=d["ads_personalization_enabled"],
            create_time=parse_time(d["create_time"]), update_time=parse_time(d["update_time"]),
            creator_email_address=d["creator_email_address"])

    # ----------------------------------------------------------------- accounts and properties
    def list_account_summaries(self, request, ctx):
        m = self.m
        summaries = []
        for acc in self.state.account_summaries(ctx.principal):
            summaries.append(m.AccountSummary(
                name=f"accountSummaries/{acc['id']}", account=f"accounts/{acc['id']}",
                display_name=acc["display_name"],
                property_summaries=[_set(m.PropertySummary(), property=f"properties/{p['id']}",
                                         display_name=p["display_name"],
                                         property_type=m.PropertyType.PROPERTY_TYPE_ORDINARY,
                                         parent=f"accounts/{acc['id']}")
                                    for p in acc["properties"]]))
        chunk, token = page(summaries, request, "ListAccountSummaries")
        return m.ListAccountSummariesResponse(account_summaries=chunk, next_page_token=token)

    def _visible_accounts(self, principal) -> set[str]:
        return {a["id"] for a in self.state.account_summaries(principal)}

    def get_account(self, request, ctx):
        (aid,) = parse(_ACCOUNT, request.name, "accounts/{account}")
        if aid not in self._visible_accounts(ctx.principal):
            if aid in self.state.account_ids():
                raise denied(f"User does not have sufficient permissions for this account: accounts/{aid}.")
        return self.account_msg(self.state.get_account(aid))

    def list_accounts(self, request, ctx):
        visible = self._visible_accounts(ctx.principal)
        accounts = [self.account_msg(self.state.get_account(a)) for a in self.state.account_ids() if a in visible]
        chunk, token = page(accounts, request, "ListAccounts")
        return self.m.ListAccountsResponse(accounts=chunk, next_page_token=token)

    def get_property(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.name, "properties/{property}")
        return self.property_msg(self.state.get_property(pid))

    def list_properties(self, request, ctx):
        fm = _FILTER.match(request.filter or "")
        if not fm:
            if not request.filter:
                raise invalid("Field filter is required, e.g. filter=\"parent:accounts/123\".")
            raise invalid(f"Invalid filter '{request.filter}': use parent:accounts/{{account}} or "
                          "ancestor:accounts/{account}.")
        kind, aid = fm.group(2), fm.group(3)
        if kind == "properties" and fm.group(1) == "ancestor":
            raise invalid(f"Invalid filter '{request.filter}': ancestor: takes an account, e.g. ancestor:accounts/123.")
        props = [] if kind == "properties" else [  # parent:properties/N lists subproperties: the emulator has none
            self.property_msg(p)
            for p in self.state.list_properties(aid, ctx.principal, show_deleted=request.show_deleted)]
        chunk, token = page(props, request, f"ListProperties:{aid}:{request.show_deleted}")
        return self.m.ListPropertiesResponse(properties=chunk, next_page_token=token)

    def delete_property(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.name, "properties/{property}")
        return self.property_msg(self.state.trash_property(pid))

    # ----------------------------------------------------------------- data streams
    def list_data_streams(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.parent, "properties/{property}", "parent")
        streams = [self.stream_msg(s) for s in self.state.list_streams(pid)]
        chunk, token = page(streams, request, f"ListDataStreams:{pid}")
        return self.m.ListDataStreamsResponse(data_streams=chunk, next_page_token=token)

    def get_data_stream(self, request, ctx):
        pid, sid = parse(_STREAM, request.name, "properties/{property}/dataStreams/{dataStream}")
        return self.stream_msg(self.state.get_stream(pid, sid))

    # ----------------------------------------------------------------- key events
    def _default_value(self, key_event) -> tuple[float, str] | None:
        if "default_value" not in key_event:
            return None
        dv = key_event.default_value
        return (dv.numeric_value, dv.currency_code)

    def create_key_event(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.parent, "properties/{property}", "parent")
        if "key_event" not in request:
            raise invalid("Field key_event is required.")
        ke = request.key_event
        d = self.state.create_key_event(pid, ke.event_name, ke.counting_method.name, self._default_value(ke))
        return self.key_event_msg(d)

    def get_key_event(self, request, ctx):
        pid, kid = parse(_KEY_EVENT, request.name, "properties/{property}/keyEvents/{keyEvent}")
        return self.key_event_msg(self.state.get_key_event(pid, kid))

    def list_key_events(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.parent, "properties/{property}", "parent")
        items = [self.key_event_msg(d) for d in self.state.list_key_events(pid)]
        chunk, token = page(items, request, f"ListKeyEvents:{pid}")
        return self.m.ListKeyEventsResponse(key_events=chunk, next_page_token=token)

    def update_key_event(self, request, ctx):
        ke = request.key_event
        pid, kid = parse(_KEY_EVENT, ke.name, "properties/{property}/keyEvents/{keyEvent}", "key_event.name")
        paths = mask_paths(request, ("counting_method", "default_value"),
                           immutable=("event_name", "name", "create_time", "deletable", "custom"))
        changes: dict[str, Any] = {}
        if "counting_method" in paths:
            changes["counting_method"] = ke.counting_method.name
        if "default_value" in paths:
            changes["default_value"] = self._default_value(ke)
        return self.key_event_msg(self.state.update_key_event(pid, kid, **changes))

    def delete_key_event(self, request, ctx):
        pid, kid = parse(_KEY_EVENT, request.name, "properties/{property}/keyEvents/{keyEvent}")
        self.state.delete_key_event(pid, kid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- event create rules (v1alpha)
    @staticmethod
    def _rule_fields(rule) -> dict:
        return {
            "destination_event": rule.destination_event,
            "event_conditions": [{"field": c.field, "comparison_type": c.comparison_type.name, "value": c.value,
                                  "negated": c.negated} for c in rule.event_conditions],
            "source_copy_parameters": rule.source_copy_parameters,
            "parameter_mutations": [{"parameter": p.parameter, "parameter_value": p.parameter_value}
                                    for p in rule.parameter_mutations],
        }

    def create_event_create_rule(self, request, ctx):
        pid, sid = parse(_STREAM, request.parent, "properties/{property}/dataStreams/{dataStream}", "parent")
        f = self._rule_fields(request.event_create_rule)
        d = self.state.create_event_create_rule(pid, sid, f["destination_event"], f["event_conditions"],
                                                source_copy_parameters=f["source_copy_parameters"],
                                                parameter_mutations=f["parameter_mutations"])
        return self.rule_msg(d)

    def get_event_create_rule(self, request, ctx):
        pid, sid, rid = parse(_RULE, request.name,
                              "properties/{property}/dataStreams/{dataStream}/eventCreateRules/{eventCreateRule}")
        return self.rule_msg(self.state.get_event_create_rule(pid, sid, rid))

    def list_event_create_rules(self, request, ctx):
        pid, sid = parse(_STREAM, request.parent, "properties/{property}/dataStreams/{dataStream}", "parent")
        items = [self.rule_msg(d) for d in self.state.list_event_create_rules(pid, sid)]
        chunk, token = page(items, request, f"ListEventCreateRules:{pid}:{sid}")
        return self.m.ListEventCreateRulesResponse(event_create_rules=chunk, next_page_token=token)

    def update_event_create_rule(self, request, ctx):
        rule = request.event_create_rule
        pid, sid, rid = parse(_RULE, rule.name,
                              "properties/{property}/dataStreams/{dataStream}/eventCreateRules/{eventCreateRule}",
                              "event_create_rule.name")
        allowed = ("destination_event", "event_conditions", "source_copy_parameters", "parameter_mutations")
        paths = mask_paths(request, allowed, immutable=("name",))
        f = self._rule_fields(rule)
        return self.rule_msg(self.state.update_event_create_rule(pid, sid, rid, **{p: f[p] for p in paths}))

    def delete_event_create_rule(self, request, ctx):
        pid, sid, rid = parse(_RULE, request.name,
                              "properties/{property}/dataStreams/{dataStream}/eventCreateRules/{eventCreateRule}")
        self.state.delete_event_create_rule(pid, sid, rid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- data retention
    def get_data_retention_settings(self, request, ctx):
        (pid,) = parse(_RETENTION, request.name, "properties/{property}/dataRetentionSettings")
        return self.retention_msg(pid, self.state.get_retention(pid))

    def update_data_retention_settings(self, request, ctx):
        s = request.data_retention_settings
        (pid,) = parse(_RETENTION, s.name, "properties/{property}/dataRetentionSettings",
                       "data_retention_settings.name")
        allowed = tuple(f for f in ("event_data_retention", "user_data_retention", "reset_user_data_on_new_activity")
                        if f in type(s).pb(s).DESCRIPTOR.fields_by_name)
        paths = mask_paths(request, allowed, immutable=("name",))
        changes = {}
        for p in paths:
            value = getattr(s, p)
            changes[p] = value.name if hasattr(value, "name") else value
        return self.retention_msg(pid, self.state.update_retention(pid, **changes))

    # ----------------------------------------------------------------- enhanced measurement (v1alpha)
    def get_enhanced_measurement_settings(self, request, ctx):
        pid, sid = parse(_ENHANCED, request.name,
                         "properties/{property}/dataStreams/{dataStream}/enhancedMeasurementSettings")
        return self.enhanced_msg(pid, sid, self.state.get_enhanced(pid, sid))

    def update_enhanced_measurement_settings(self, request, ctx):
        s = request.enhanced_measurement_settings
        pid, sid = parse(_ENHANCED, s.name,
                         "properties/{property}/dataStreams/{dataStream}/enhancedMeasurementSettings",
                         "enhanced_measurement_settings.name")
        paths = mask_paths(request, tuple(ENHANCED_DEFAULTS), immutable=("name",))
        return self.enhanced_msg(pid, sid, self.state.update_enhanced(pid, sid, **{p: getattr(s, p) for p in paths}))

    # ----------------------------------------------------------------- custom dimensions
    def list_custom_dimensions(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.parent, "properties/{property}", "parent")
        items = [self.dimension_msg(d) for d in self.state.list_custom_dimensions(pid)]
        chunk, token = page(items, request, f"ListCustomDimensions:{pid}")
        return self.m.ListCustomDimensionsResponse(custom_dimensions=chunk, next_page_token=token)

    def create_custom_dimension(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.parent, "properties/{property}", "parent")
        cd = request.custom_dimension
        return self.dimension_msg(self.state.create_custom_dimension(
            pid, cd.parameter_name, cd.display_name, cd.scope.name, cd.description, cd.disallow_ads_personalization))

    def get_custom_dimension(self, request, ctx):
        pid, did = parse(_DIMENSION, request.name, "properties/{property}/customDimensions/{customDimension}")
        return self.dimension_msg(self.state.get_custom_dimension(pid, did))

    # ----------------------------------------------------------------- Google Ads links
    def list_google_ads_links(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.parent, "properties/{property}", "parent")
        items = [self.ads_link_msg(d) for d in self.state.list_google_ads_links(pid)]
        chunk, token = page(items, request, f"ListGoogleAdsLinks:{pid}")
        return self.m.ListGoogleAdsLinksResponse(google_ads_links=chunk, next_page_token=token)

    def create_google_ads_link(self, request, ctx):
        (pid,) = parse(_PROPERTY, request.parent, "properties/{property}", "parent")
        link = request.google_ads_link
        enabled = link.ads_personalization_enabled
        return self.ads_link_msg(self.state.create_google_ads_link(
            pid, link.customer_id, ads_personalization_enabled=True if enabled is None else bool(enabled),
            creator=ctx.principal))


# RPC name -> handler attribute; v1alpha-only methods are listed separately.
SHARED = (
    "ListAccountSummaries", "GetAccount", "ListAccounts", "GetProperty", "ListProperties", "DeleteProperty",
    "ListDataStreams", "GetDataStream",
    "CreateKeyEvent", "GetKeyEvent", "ListKeyEvents", "UpdateKeyEvent", "DeleteKeyEvent",
    "GetDataRetentionSettings", "UpdateDataRetentionSettings",
    "ListCustomDimensions", "CreateCustomDimension", "GetCustomDimension",
    "ListGoogleAdsLinks", "CreateGoogleAdsLink",
)
ALPHA_ONLY = (
    "CreateEventCreateRule", "GetEventCreateRule", "ListEventCreateRules", "UpdateEventCreateRule",
    "DeleteEventCreateRule", "GetEnhancedMeasurementSettings", "UpdateEnhancedMeasurementSettings",
)
WRITE_PREFIXES = ("Create", "Update", "Delete", "Archive", "Provision", "Acknowledge", "Approve", "Cancel")


def is_write(method: str) -> bool:
    return method.startswith(WRITE_PREFIXES)


def _handler_name(rpc: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", rpc).lower()


def admin_methods(state: AdminState, m: Any) -> dict[str, Method]:
    """{RPC name: Method} for one Admin API version module (admin_v1beta or admin_v1alpha)."""
    service = AdminService(state, m)
    names = SHARED + (ALPHA_ONLY if m.__name__.endswith("v1alpha") else ())
    out = {}
    for rpc in names:
        request_cls = getattr(m, f"{rpc}Request")
        out[rpc] = Method(request=request_cls, handler=getattr(service, _handler_name(rpc)), write=is_write(rpc))
    return out

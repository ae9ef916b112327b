"""GA4 Admin API (v1beta and v1alpha) RPC handlers over :class:`AdminState`.

``admin_methods(state, module)`` returns ``{rpc name: Method}`` for ``google.analytics.admin_v1beta`` or
``admin_v1alpha``. Both versions share one state and one implementation; each serves only the methods
Google serves in that version (``SHARED`` in both, ``ALPHA_ONLY`` in v1alpha: create-event rules, enhanced
measurement, Google signals, attribution, BigQuery links, data redaction). A handler takes the request
message and the call context (``.principal``), checks names and update masks, calls the state (as the
caller, for the change history) and returns Google's message, or raises :class:`EmulatorError`. Access
to the property named in a request is checked by the server beforehand.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import empty_pb2

from ga4kit.emulator import admin_messages as msgs
from ga4kit.emulator.admin_links import BIGQUERY_UPDATABLE
from ga4kit.emulator.admin_rpc import (ACCOUNT, ADS_LINK, ATTRIBUTION, BIGQUERY_LINK, DIMENSION, ENHANCED, KEY_EVENT,
                                       METRIC, PROPERTY, REDACTION, RETENTION, RULE, SECRET, SECRETS_PARENT, SIGNALS,
                                       STREAM, Method, enum_name, mask_paths, page, parse)
from ga4kit.emulator.admin_state import AdminState
from ga4kit.emulator.admin_streams import ENHANCED_DEFAULTS, REDACTION_DEFAULTS
from ga4kit.emulator.errors import denied, invalid
from ga4kit.emulator.validation import ATTRIBUTION_CHOICES

_FILTER = re.compile(r"^\s*(parent|ancestor)\s*:\s*(accounts|properties)/(\d+)\s*$")
_P = "properties/{property}"
_S = "properties/{property}/dataStreams/{dataStream}"


class AdminService:
    """The Admin RPCs of one API version (``m`` = admin_v1beta or admin_v1alpha) over a shared state."""

    def __init__(self, state: AdminState, m: Any):
        self.state = state
        self.m = m

    def _account_access(self, account_id: str, principal: str) -> None:
        self.state.get_account(account_id)  # NOT_FOUND first
        if not self.state.can_access_account(account_id, principal):
            raise denied(f"User does not have sufficient permissions for this account: accounts/{account_id}.")

    @staticmethod
    def _required(request: Any, field: str) -> Any:
        if field not in request:
            raise invalid(f"Field {field} is required.")
        return getattr(request, field)

    # ----------------------------------------------------------------- accounts and properties
    def list_account_summaries(self, request, ctx):
        m = self.m
        summaries = []
        for acc in self.state.account_summaries(ctx.principal):
            summaries.append(m.AccountSummary(
                name=f"accountSummaries/{acc['id']}", account=f"accounts/{acc['id']}",
                display_name=acc["display_name"],
                property_summaries=[msgs._set(m.PropertySummary(), property=f"properties/{p['id']}",
                                              display_name=p["display_name"],
                                              property_type=m.PropertyType.PROPERTY_TYPE_ORDINARY,
                                              parent=f"accounts/{acc['id']}")
                                    for p in acc["properties"]]))
        chunk, token = page(summaries, request, "ListAccountSummaries")
        return m.ListAccountSummariesResponse(account_summaries=chunk, next_page_token=token)

    def get_account(self, request, ctx):
        (aid,) = parse(ACCOUNT, request.name, "accounts/{account}")
        self._account_access(aid, ctx.principal)
        return msgs.account_msg(self.m, self.state.get_account(aid))

    def list_accounts(self, request, ctx):
        accounts = [msgs.account_msg(self.m, self.state.get_account(a)) for a in self.state.account_ids()
                    if self.state.can_access_account(a, ctx.principal)]
        chunk, token = page(accounts, request, "ListAccounts")
        return self.m.ListAccountsResponse(accounts=chunk, next_page_token=token)

    def get_property(self, request, ctx):
        (pid,) = parse(PROPERTY, request.name, _P)
        return msgs.property_msg(self.m, self.state.get_property(pid))

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
            msgs.property_msg(self.m, p)
            for p in self.state.list_properties(aid, ctx.principal, show_deleted=request.show_deleted)]
        chunk, token = page(props, request, f"ListProperties:{aid}:{request.show_deleted}")
        return self.m.ListPropertiesResponse(properties=chunk, next_page_token=token)

    def create_property(self, request, ctx):
        p = self._required(request, "property")
        (aid,) = parse(ACCOUNT, p.parent, "accounts/{account}", "property.parent")
        self._account_access(aid, ctx.principal)
        if enum_name(p.property_type) not in ("PROPERTY_TYPE_UNSPECIFIED", "PROPERTY_TYPE_ORDINARY"):
            raise invalid(f"Field property.property_type {enum_name(p.property_type)}: only ordinary properties "
                          "can be created with CreateProperty.")
        pid = self.state.create_property(aid, p.display_name, time_zone=p.time_zone,
                                         currency=p.currency_code or "USD",
                                         industry=enum_name(p.industry_category))
        return msgs.property_msg(self.m, self.state.get_property(pid))

    def update_property(self, request, ctx):
        p = self._required(request, "property")
        (pid,) = parse(PROPERTY, p.name, _P, "property.name")
        paths = mask_paths(request, ("display_name", "industry_category", "time_zone", "currency_code"),
                           immutable=("name", "parent", "account", "property_type"), message_field="property")
        changes = {f: enum_name(p.industry_category) if f == "industry_category" else getattr(p, f) for f in paths}
        return msgs.property_msg(self.m, self.state.update_property(pid, **changes))

    def delete_property(self, request, ctx):
        (pid,) = parse(PROPERTY, request.name, _P)
        return msgs.property_msg(self.m, self.state.trash_property(pid))

    # ----------------------------------------------------------------- data streams
    def list_data_streams(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        streams = [msgs.stream_msg(self.m, s) for s in self.state.list_streams(pid)]
        chunk, token = page(streams, request, f"ListDataStreams:{pid}")
        return self.m.ListDataStreamsResponse(data_streams=chunk, next_page_token=token)

    def get_data_stream(self, request, ctx):
        pid, sid = parse(STREAM, request.name, _S)
        return msgs.stream_msg(self.m, self.state.get_stream(pid, sid))

    def create_data_stream(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        ds = self._required(request, "data_stream")
        stream_type = enum_name(ds.type_)
        data = type(ds).pb(ds).WhichOneof("stream_data")
        expected = {"WEB_DATA_STREAM": "web_stream_data", "ANDROID_APP_DATA_STREAM": "android_app_stream_data",
                    "IOS_APP_DATA_STREAM": "ios_app_stream_data"}.get(stream_type)
        if data is not None and expected is not None and data != expected:
            raise invalid(f"Field data_stream.{data} does not match the stream type {stream_type}: set {expected}.")
        out = self.state.create_data_stream(
            pid, stream_type, ds.display_name, uri=ds.web_stream_data.default_uri,
            package_name=ds.android_app_stream_data.package_name, bundle_id=ds.ios_app_stream_data.bundle_id)
        return msgs.stream_msg(self.m, out)

    def update_data_stream(self, request, ctx):
        ds = self._required(request, "data_stream")
        pid, sid = parse(STREAM, ds.name, _S, "data_stream.name")
        paths = mask_paths(request, ("display_name", "web_stream_data.default_uri", "web_stream_data"),
                           immutable=("name", "type", "android_app_stream_data", "ios_app_stream_data"),
                           message_field="data_stream")
        changes: dict[str, Any] = {}
        if "display_name" in paths:
            changes["display_name"] = ds.display_name
        star = list(request.update_mask.paths) == ["*"]
        if any(p.startswith("web_stream_data") for p in paths) and (not star or "web_stream_data" in ds):
            changes["default_uri"] = ds.web_stream_data.default_uri  # "*" touches the URI only if one is given
        return msgs.stream_msg(self.m, self.state.update_data_stream(pid, sid, **changes))

    def delete_data_stream(self, request, ctx):
        pid, sid = parse(STREAM, request.name, _S)
        self.state.delete_data_stream(pid, sid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- key events
    @staticmethod
    def _default_value(key_event) -> tuple[float, str] | None:
        if "default_value" not in key_event:
            return None
        dv = key_event.default_value
        return (dv.numeric_value, dv.currency_code)

    def create_key_event(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        ke = self._required(request, "key_event")
        d = self.state.create_key_event(pid, ke.event_name, enum_name(ke.counting_method), self._default_value(ke))
        return msgs.key_event_msg(self.m, d)

    def get_key_event(self, request, ctx):
        pid, kid = parse(KEY_EVENT, request.name, "properties/{property}/keyEvents/{keyEvent}")
        return msgs.key_event_msg(self.m, self.state.get_key_event(pid, kid))

    def list_key_events(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        items = [msgs.key_event_msg(self.m, d) for d in self.state.list_key_events(pid)]
        chunk, token = page(items, request, f"ListKeyEvents:{pid}")
        return self.m.ListKeyEventsResponse(key_events=chunk, next_page_token=token)

    def update_key_event(self, request, ctx):
        ke = request.key_event
        pid, kid = parse(KEY_EVENT, ke.name, "properties/{property}/keyEvents/{keyEvent}", "key_event.name")
        paths = mask_paths(request, ("counting_method", "default_value"),
                           immutable=("event_name", "name", "create_time", "deletable", "custom"),
                           message_field="key_event")
        changes: dict[str, Any] = {}
        if "counting_method" in paths:
            changes["counting_method"] = enum_name(ke.counting_method)
        if "default_value" in paths:
            changes["default_value"] = self._default_value(ke)
        return msgs.key_event_msg(self.m, self.state.update_key_event(pid, kid, **changes))

    def delete_key_event(self, request, ctx):
        pid, kid = parse(KEY_EVENT, request.name, "properties/{property}/keyEvents/{keyEvent}")
        self.state.delete_key_event(pid, kid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- event create rules (v1alpha)
    @staticmethod
    def _rule_fields(rule) -> dict:
        return {
            "destination_event": rule.destination_event,
            "event_conditions": [{"field": c.field, "comparison_type": enum_name(c.comparison_type),
                                  "value": c.value, "negated": c.negated} for c in rule.event_conditions],
            "source_copy_parameters": rule.source_copy_parameters,
            "parameter_mutations": [{"parameter": p.parameter, "parameter_value": p.parameter_value}
                                    for p in rule.parameter_mutations],
        }

    _RULE_NAME = "properties/{property}/dataStreams/{dataStream}/eventCreateRules/{eventCreateRule}"

    def create_event_create_rule(self, request, ctx):
        pid, sid = parse(STREAM, request.parent, _S, "parent")
        f = self._rule_fields(request.event_create_rule)
        d = self.state.create_event_create_rule(pid, sid, f["destination_event"], f["event_conditions"],
                                                source_copy_parameters=f["source_copy_parameters"],
                                                parameter_mutations=f["parameter_mutations"])
        return msgs.rule_msg(self.m, d)

    def get_event_create_rule(self, request, ctx):
        pid, sid, rid = parse(RULE, request.name, self._RULE_NAME)
        return msgs.rule_msg(self.m, self.state.get_event_create_rule(pid, sid, rid))

    def list_event_create_rules(self, request, ctx):
        pid, sid = parse(STREAM, request.parent, _S, "parent")
        items = [msgs.rule_msg(self.m, d) for d in self.state.list_event_create_rules(pid, sid)]
        chunk, token = page(items, request, f"ListEventCreateRules:{pid}:{sid}")
        return self.m.ListEventCreateRulesResponse(event_create_rules=chunk, next_page_token=token)

    def update_event_create_rule(self, request, ctx):
        rule = request.event_create_rule
        pid, sid, rid = parse(RULE, rule.name, self._RULE_NAME, "event_create_rule.name")
        allowed = ("destination_event", "event_conditions", "source_copy_parameters", "parameter_mutations")
        paths = mask_paths(request, allowed, immutable=("name",), message_field="event_create_rule")
        f = self._rule_fields(rule)
        return msgs.rule_msg(self.m, self.state.update_event_create_rule(pid, sid, rid, **{p: f[p] for p in paths}))

    def delete_event_create_rule(self, request, ctx):
        pid, sid, rid = parse(RULE, request.name, self._RULE_NAME)
        self.state.delete_event_create_rule(pid, sid, rid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- property settings
    def get_data_retention_settings(self, request, ctx):
        (pid,) = parse(RETENTION, request.name, f"{_P}/dataRetentionSettings")
        return msgs.retention_msg(self.m, self.state.get_retention(pid))

    def update_data_retention_settings(self, request, ctx):
        s = self._required(request, "data_retention_settings")
        (pid,) = parse(RETENTION, s.name, f"{_P}/dataRetentionSettings", "data_retention_settings.name")
        allowed = tuple(f for f in ("event_data_retention", "user_data_retention", "reset_user_data_on_new_activity")
                        if f in type(s).pb(s).DESCRIPTOR.fields_by_name)
        paths = mask_paths(request, allowed, immutable=("name",), message_field="data_retention_settings")
        changes = {p: getattr(s, p) if p == "reset_user_data_on_new_activity" else enum_name(getattr(s, p))
                   for p in paths}
        return msgs.retention_msg(self.m, self.state.update_retention(pid, **changes))

    def get_google_signals_settings(self, request, ctx):
        (pid,) = parse(SIGNALS, request.name, f"{_P}/googleSignalsSettings")
        return msgs.signals_msg(self.m, self.state.get_google_signals(pid))

    def update_google_signals_settings(self, request, ctx):
        s = self._required(request, "google_signals_settings")
        (pid,) = parse(SIGNALS, s.name, f"{_P}/googleSignalsSettings", "google_signals_settings.name")
        mask_paths(request, ("state",), immutable=("name",), message_field="google_signals_settings")
        return msgs.signals_msg(self.m, self.state.update_google_signals(pid, state=enum_name(s.state)))

    def get_attribution_settings(self, request, ctx):
        (pid,) = parse(ATTRIBUTION, request.name, f"{_P}/attributionSettings")
        return msgs.attribution_msg(self.m, self.state.get_attribution(pid))

    def update_attribution_settings(self, request, ctx):
        s = self._required(request, "attribution_settings")
        (pid,) = parse(ATTRIBUTION, s.name, f"{_P}/attributionSettings", "attribution_settings.name")
        paths = mask_paths(request, tuple(ATTRIBUTION_CHOICES), immutable=("name",),
                           message_field="attribution_settings")
        changes = {p: enum_name(getattr(s, p)) for p in paths}
        return msgs.attribution_msg(self.m, self.state.update_attribution(pid, **changes))

    # ----------------------------------------------------------------- web stream settings (v1alpha)
    def get_enhanced_measurement_settings(self, request, ctx):
        pid, sid = parse(ENHANCED, request.name, f"{_S}/enhancedMeasurementSettings")
        return msgs.enhanced_msg(self.m, self.state.get_enhanced(pid, sid))

    def update_enhanced_measurement_settings(self, request, ctx):
        s = self._required(request, "enhanced_measurement_settings")
        pid, sid = parse(ENHANCED, s.name, f"{_S}/enhancedMeasurementSettings", "enhanced_measurement_settings.name")
        paths = mask_paths(request, tuple(ENHANCED_DEFAULTS), immutable=("name",),
                           message_field="enhanced_measurement_settings")
        return msgs.enhanced_msg(self.m, self.state.update_enhanced(pid, sid, **{p: getattr(s, p) for p in paths}))

    def get_data_redaction_settings(self, request, ctx):
        pid, sid = parse(REDACTION, request.name, f"{_S}/dataRedactionSettings")
        return msgs.redaction_msg(self.m, self.state.get_redaction(pid, sid))

    def update_data_redaction_settings(self, request, ctx):
        s = self._required(request, "data_redaction_settings")
        pid, sid = parse(REDACTION, s.name, f"{_S}/dataRedactionSettings", "data_redaction_settings.name")
        paths = mask_paths(request, tuple(REDACTION_DEFAULTS), immutable=("name",),
                           message_field="data_redaction_settings")
        changes = {p: list(getattr(s, p)) if p == "query_parameter_keys" else getattr(s, p) for p in paths}
        return msgs.redaction_msg(self.m, self.state.update_redaction(pid, sid, **changes))

    # ----------------------------------------------------------------- Measurement Protocol secrets
    _SECRET_NAME = f"{_S}/measurementProtocolSecrets/{{measurementProtocolSecret}}"

    def create_measurement_protocol_secret(self, request, ctx):
        pid, sid = parse(STREAM, request.parent, _S, "parent")
        secret = self._required(request, "measurement_protocol_secret")
        return msgs.secret_msg(self.m, self.state.create_secret(pid, sid, secret.display_name))

    def get_measurement_protocol_secret(self, request, ctx):
        pid, sid, xid = parse(SECRET, request.name, self._SECRET_NAME)
        return msgs.secret_msg(self.m, self.state.get_secret(pid, sid, xid))

    def list_measurement_protocol_secrets(self, request, ctx):
        pid, sid = parse(SECRETS_PARENT, request.parent, _S, "parent")
        items = [msgs.secret_msg(self.m, d) for d in self.state.list_secrets(pid, sid)]
        chunk, token = page(items, request, f"ListMeasurementProtocolSecrets:{pid}:{sid}", default_size=10,
                            max_size=10)
        return self.m.ListMeasurementProtocolSecretsResponse(measurement_protocol_secrets=chunk,
                                                             next_page_token=token)

    def update_measurement_protocol_secret(self, request, ctx):
        secret = self._required(request, "measurement_protocol_secret")
        pid, sid, xid = parse(SECRET, secret.name, self._SECRET_NAME, "measurement_protocol_secret.name")
        mask_paths(request, ("display_name",), immutable=("name",), message_field="measurement_protocol_secret")
        return msgs.secret_msg(self.m, self.state.update_secret(pid, sid, xid, display_name=secret.display_name))

    def delete_measurement_protocol_secret(self, request, ctx):
        pid, sid, xid = parse(SECRET, request.name, self._SECRET_NAME)
        self.state.delete_secret(pid, sid, xid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- custom dimensions and metrics
    def list_custom_dimensions(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        items = [msgs.dimension_msg(self.m, d) for d in self.state.list_custom_dimensions(pid)]
        chunk, token = page(items, request, f"ListCustomDimensions:{pid}")
        return self.m.ListCustomDimensionsResponse(custom_dimensions=chunk, next_page_token=token)

    def create_custom_dimension(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        cd = self._required(request, "custom_dimension")
        return msgs.dimension_msg(self.m, self.state.create_custom_dimension(
            pid, cd.parameter_name, cd.display_name, enum_name(cd.scope), cd.description,
            cd.disallow_ads_personalization))

    def get_custom_dimension(self, request, ctx):
        pid, did = parse(DIMENSION, request.name, f"{_P}/customDimensions/{{customDimension}}")
        return msgs.dimension_msg(self.m, self.state.get_custom_dimension(pid, did))

    def update_custom_dimension(self, request, ctx):
        cd = self._required(request, "custom_dimension")
        pid, did = parse(DIMENSION, cd.name, f"{_P}/customDimensions/{{customDimension}}", "custom_dimension.name")
        paths = mask_paths(request, ("display_name", "description", "disallow_ads_personalization"),
                           immutable=("name", "parameter_name", "scope"), message_field="custom_dimension")
        return msgs.dimension_msg(self.m, self.state.update_custom_dimension(
            pid, did, **{p: getattr(cd, p) for p in paths}))

    def archive_custom_dimension(self, request, ctx):
        pid, did = parse(DIMENSION, request.name, f"{_P}/customDimensions/{{customDimension}}")
        self.state.archive_custom_dimension(pid, did)
        return empty_pb2.Empty()

    def list_custom_metrics(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        items = [msgs.metric_msg(self.m, d) for d in self.state.list_custom_metrics(pid)]
        chunk, token = page(items, request, f"ListCustomMetrics:{pid}")
        return self.m.ListCustomMetricsResponse(custom_metrics=chunk, next_page_token=token)

    @staticmethod
    def _restricted(cm) -> list[str]:
        return [enum_name(t) for t in cm.restricted_metric_type]

    def create_custom_metric(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        cm = self._required(request, "custom_metric")
        return msgs.metric_msg(self.m, self.state.create_custom_metric(
            pid, cm.parameter_name, cm.display_name, enum_name(cm.measurement_unit), enum_name(cm.scope),
            cm.description, self._restricted(cm)))

    def get_custom_metric(self, request, ctx):
        pid, mid = parse(METRIC, request.name, f"{_P}/customMetrics/{{customMetric}}")
        return msgs.metric_msg(self.m, self.state.get_custom_metric(pid, mid))

    def update_custom_metric(self, request, ctx):
        cm = self._required(request, "custom_metric")
        pid, mid = parse(METRIC, cm.name, f"{_P}/customMetrics/{{customMetric}}", "custom_metric.name")
        paths = mask_paths(request, ("display_name", "description", "measurement_unit", "restricted_metric_type"),
                           immutable=("name", "parameter_name", "scope"), message_field="custom_metric")
        values = {"display_name": cm.display_name, "description": cm.description,
                  "measurement_unit": enum_name(cm.measurement_unit), "restricted_metric_type": self._restricted(cm)}
        return msgs.metric_msg(self.m, self.state.update_custom_metric(pid, mid, **{p: values[p] for p in paths}))

    def archive_custom_metric(self, request, ctx):
        pid, mid = parse(METRIC, request.name, f"{_P}/customMetrics/{{customMetric}}")
        self.state.archive_custom_metric(pid, mid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- Google Ads links
    def list_google_ads_links(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        items = [msgs.ads_link_msg(self.m, d) for d in self.state.list_google_ads_links(pid)]
        chunk, token = page(items, request, f"ListGoogleAdsLinks:{pid}")
        return self.m.ListGoogleAdsLinksResponse(google_ads_links=chunk, next_page_token=token)

    def create_google_ads_link(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        link = self._required(request, "google_ads_link")
        enabled = link.ads_personalization_enabled  # unset = true, says the proto
        return msgs.ads_link_msg(self.m, self.state.create_google_ads_link(
            pid, link.customer_id, ads_personalization_enabled=True if enabled is None else bool(enabled),
            creator=ctx.principal))

    def update_google_ads_link(self, request, ctx):
        link = self._required(request, "google_ads_link")
        pid, lid = parse(ADS_LINK, link.name, f"{_P}/googleAdsLinks/{{googleAdsLink}}", "google_ads_link.name")
        mask_paths(request, ("ads_personalization_enabled",), immutable=("name", "customer_id"),
                   message_field="google_ads_link")
        enabled = link.ads_personalization_enabled
        return msgs.ads_link_msg(self.m, self.state.update_google_ads_link(
            pid, lid, ads_personalization_enabled=True if enabled is None else bool(enabled)))

    def delete_google_ads_link(self, request, ctx):
        pid, lid = parse(ADS_LINK, request.name, f"{_P}/googleAdsLinks/{{googleAdsLink}}")
        self.state.delete_google_ads_link(pid, lid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- BigQuery links (v1alpha)
    @staticmethod
    def _bigquery_options(link, fields) -> dict:
        return {f: list(getattr(link, f)) if f in ("export_streams", "excluded_events") else getattr(link, f)
                for f in fields}

    def create_big_query_link(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        link = self._required(request, "bigquery_link")
        options = self._bigquery_options(link, BIGQUERY_UPDATABLE)
        options = {k: v for k, v in options.items() if v}  # unset = off / none
        return msgs.bigquery_link_msg(self.m, self.state.create_bigquery_link(pid, link.project,
                                                                             link.dataset_location, **options))

    def get_big_query_link(self, request, ctx):
        pid, lid = parse(BIGQUERY_LINK, request.name, f"{_P}/bigQueryLinks/{{bigQueryLink}}")
        return msgs.bigquery_link_msg(self.m, self.state.get_bigquery_link(pid, lid))

    def list_big_query_links(self, request, ctx):
        (pid,) = parse(PROPERTY, request.parent, _P, "parent")
        items = [msgs.bigquery_link_msg(self.m, d) for d in self.state.list_bigquery_links(pid)]
        chunk, token = page(items, request, f"ListBigQueryLinks:{pid}")
        return self.m.ListBigQueryLinksResponse(bigquery_links=chunk, next_page_token=token)

    def update_big_query_link(self, request, ctx):
        link = self._required(request, "bigquery_link")
        pid, lid = parse(BIGQUERY_LINK, link.name, f"{_P}/bigQueryLinks/{{bigQueryLink}}", "bigquery_link.name")
        paths = mask_paths(request, BIGQUERY_UPDATABLE, immutable=("name", "project", "dataset_location"),
                           message_field="bigquery_link")
        return msgs.bigquery_link_msg(self.m, self.state.update_bigquery_link(
            pid, lid, **self._bigquery_options(link, paths)))

    def delete_big_query_link(self, request, ctx):
        pid, lid = parse(BIGQUERY_LINK, request.name, f"{_P}/bigQueryLinks/{{bigQueryLink}}")
        self.state.delete_bigquery_link(pid, lid)
        return empty_pb2.Empty()

    # ----------------------------------------------------------------- change history
    def search_change_history_events(self, request, ctx):
        (aid,) = parse(ACCOUNT, request.account, "accounts/{account}", "account")
        self._account_access(aid, ctx.principal)
        pid = parse(PROPERTY, request.property, _P, "property")[0] if request.property else None
        types = tuple(enum_name(t) for t in request.resource_type)
        actions = tuple(enum_name(a) for a in request.action)
        actors = tuple(request.actor_email)
        earliest = request.earliest_change_time if "earliest_change_time" in request else None
        latest = request.latest_change_time if "latest_change_time" in request else None
        events = self.state.search_change_history(aid, ctx.principal, property_id=pid, resource_types=types,
                                                  actions=actions, actor_emails=actors, earliest=earliest,
                                                  latest=latest)
        key = f"Search:{aid}:{pid}:{types}:{actions}:{actors}:{earliest}:{latest}"
        chunk, token = page(events, request, key)
        return self.m.SearchChangeHistoryEventsResponse(
            change_history_events=[msgs.change_event_msg(self.m, e) for e in chunk], next_page_token=token)


# RPC name -> handler attribute; v1alpha-only methods are listed separately.
SHARED = (
    "ListAccountSummaries", "GetAccount", "ListAccounts",
    "GetProperty", "ListProperties", "CreateProperty", "UpdateProperty", "DeleteProperty",
    "ListDataStreams", "GetDataStream", "CreateDataStream", "UpdateDataStream", "DeleteDataStream",
    "CreateKeyEvent", "GetKeyEvent", "ListKeyEvents", "UpdateKeyEvent", "DeleteKeyEvent",
    "GetDataRetentionSettings", "UpdateDataRetentionSettings",
    "ListCustomDimensions", "CreateCustomDimension", "GetCustomDimension", "UpdateCustomDimension",
    "ArchiveCustomDimension",
    "ListCustomMetrics", "CreateCustomMetric", "GetCustomMetric", "UpdateCustomMetric", "ArchiveCustomMetric",
    "ListGoogleAdsLinks", "CreateGoogleAdsLink", "UpdateGoogleAdsLink", "DeleteGoogleAdsLink",
    "GetMeasurementProtocolSecret", "ListMeasurementProtocolSecrets", "CreateMeasurementProtocolSecret",
    "UpdateMeasurementProtocolSecret", "DeleteMeasurementProtocolSecret",
    "SearchChangeHistoryEvents",
)
ALPHA_ONLY = (
    "CreateEventCreateRule", "GetEventCreateRule", "ListEventCreateRules", "UpdateEventCreateRule",
    "DeleteEventCreateRule", "GetEnhancedMeasurementSettings", "UpdateEnhancedMeasurementSettings",
    "GetGoogleSignalsSettings", "UpdateGoogleSignalsSettings", "GetAttributionSettings",
    "UpdateAttributionSettings", "CreateBigQueryLink", "GetBigQueryLink", "ListBigQueryLinks",
    "UpdateBigQueryLink", "DeleteBigQueryLink", "GetDataRedactionSettings", "UpdateDataRedactionSettings",
)
WRITE_PREFIXES = ("Create", "Update", "Delete", "Archive", "Provision", "Acknowledge", "Approve", "Cancel")


def is_write(method: str) -> bool:
    return method.startswith(WRITE_PREFIXES)


def _handler_name(rpc: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", rpc).lower()


def _as_caller(state: AdminState, fn):
    """Run ``fn`` with the caller as the actor of the writes it makes (for the change history)."""
    def handler(request, ctx):
        with state.acting_as(ctx.principal):
            return fn(request, ctx)
    return handler


def admin_methods(state: AdminState, m: Any) -> dict[str, Method]:
    """{RPC name: Method} for one Admin API version module (admin_v1beta or admin_v1alpha)."""
    service = AdminService(state, m)
    names = SHARED + (ALPHA_ONLY if m.__name__.endswith("v1alpha") else ())
    out = {}
    for rpc in names:
        request_cls = getattr(m, f"{rpc}Request")
        out[rpc] = Method(request=request_cls, handler=_as_caller(state, getattr(service, _handler_name(rpc))),
                          write=is_write(rpc))
    return out

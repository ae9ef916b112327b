"""Google's Admin messages from the state's dicts, for v1beta and v1alpha alike (``m`` is the version's
module): one builder per resource, and change-history events with their resource snapshots.

v1beta lacks some resources (create-event rules, Google signals, BigQuery links, ...) and some fields;
``_set`` only sets the fields the version's message has, and a snapshot is only attached where the
version's ``ChangeHistoryResource`` has a field for it.
"""

from __future__ import annotations

from typing import Any, Callable

from ga4kit.emulator.admin_store import parse_time


def _set(msg: Any, **fields: Any) -> Any:
    """Set only the fields the message type has (v1alpha and v1beta differ slightly); None = leave unset."""
    names = type(msg).pb(msg).DESCRIPTOR.fields_by_name
    for k, v in fields.items():
        if v is not None and (k.rstrip("_") in names or k in names):
            setattr(msg, k, v)
    return msg


def _enum(enum_type: Any, name: str | None, default: str) -> Any:
    try:
        return enum_type[name or default]
    except KeyError:
        return enum_type[default]


def account_msg(m: Any, d: dict) -> Any:
    return _set(m.Account(), name=f"accounts/{d['id']}", display_name=d["display_name"],
                region_code=d.get("region_code"), create_time=parse_time(d["create_time"]),
                update_time=parse_time(d["create_time"]))


def property_msg(m: Any, d: dict) -> Any:
    level = "GOOGLE_ANALYTICS_360" if d["service_level"] == "PREMIUM" else "GOOGLE_ANALYTICS_STANDARD"
    return _set(m.Property(), name=f"properties/{d['id']}", property_type=m.PropertyType.PROPERTY_TYPE_ORDINARY,
                parent=f"accounts/{d['account']}", account=f"accounts/{d['account']}",
                display_name=d["display_name"],
                industry_category=_enum(m.IndustryCategory, d.get("industry"), "OTHER"),
                time_zone=d["time_zone"], currency_code=d["currency"], service_level=m.ServiceLevel[level],
                create_time=parse_time(d["create_time"]), update_time=parse_time(d["update_time"]),
                delete_time=parse_time(d.get("delete_time")), expire_time=parse_time(d.get("expire_time")))


def stream_msg(m: Any, d: dict) -> Any:
    ds = m.DataStream
    msg = ds(name=f"properties/{d['property']}/dataStreams/{d['id']}", type_=ds.DataStreamType[d["type"]],
             display_name=d["display_name"], create_time=parse_time(d["create_time"]),
             update_time=parse_time(d["update_time"]))
    if d["type"] == "WEB_DATA_STREAM":
        msg.web_stream_data = ds.WebStreamData(measurement_id=d["measurement_id"], default_uri=d.get("uri", ""))
    elif d["type"] == "ANDROID_APP_DATA_STREAM":
        msg.android_app_stream_data = ds.AndroidAppStreamData(package_name=d["package_name"])
    else:
        msg.ios_app_stream_data = ds.IosAppStreamData(bundle_id=d["bundle_id"])
    return msg


def key_event_msg(m: Any, d: dict) -> Any:
    msg = m.KeyEvent(name=f"properties/{d['property']}/keyEvents/{d['id']}", event_name=d["event_name"],
                     create_time=parse_time(d["create_time"]), deletable=d["deletable"], custom=d["custom"],
                     counting_method=m.KeyEvent.CountingMethod[d["counting_method"]])
    if d.get("default_value"):
        value, currency = d["default_value"]
        msg.default_value = m.KeyEvent.DefaultValue(numeric_value=value, currency_code=currency)
    return msg


def rule_msg(m: Any, d: dict) -> Any:
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


def retention_msg(m: Any, d: dict) -> Any:
    rd = m.DataRetentionSettings.RetentionDuration
    return _set(m.DataRetentionSettings(), name=f"properties/{d['property']}/dataRetentionSettings",
                event_data_retention=rd[d["event_data_retention"]], user_data_retention=rd[d["user_data_retention"]],
                reset_user_data_on_new_activity=d["reset_user_data_on_new_activity"])


def signals_msg(m: Any, d: dict) -> Any:
    return m.GoogleSignalsSettings(name=f"properties/{d['property']}/googleSignalsSettings",
                                   state=m.GoogleSignalsState[d["state"]],
                                   consent=m.GoogleSignalsConsent[d["consent"]])


def attribution_msg(m: Any, d: dict) -> Any:
    a = m.AttributionSettings
    return a(name=f"properties/{d['property']}/attributionSettings",
             acquisition_conversion_event_lookback_window=a.AcquisitionConversionEventLookbackWindow[
                 d["acquisition_conversion_event_lookback_window"]],
             other_conversion_event_lookback_window=a.OtherConversionEventLookbackWindow[
                 d["other_conversion_event_lookback_window"]],
             reporting_attribution_model=a.ReportingAttributionModel[d["reporting_attribution_model"]],
             ads_web_conversion_data_export_scope=a.AdsWebConversionDataExportScope[
                 d["ads_web_conversion_data_export_scope"]])


def enhanced_msg(m: Any, d: dict) -> Any:
    fields = {k: v for k, v in d.items() if k not in ("property", "stream")}
    return m.EnhancedMeasurementSettings(
        name=f"properties/{d['property']}/dataStreams/{d['stream']}/enhancedMeasurementSettings", **fields)


def redaction_msg(m: Any, d: dict) -> Any:
    return m.DataRedactionSettings(
        name=f"properties/{d['property']}/dataStreams/{d['stream']}/dataRedactionSettings",
        email_redaction_enabled=d["email_redaction_enabled"],
        query_parameter_redaction_enabled=d["query_parameter_redaction_enabled"],
        query_parameter_keys=list(d["query_parameter_keys"]))


def secret_msg(m: Any, d: dict) -> Any:
    return m.MeasurementProtocolSecret(
        name=f"properties/{d['property']}/dataStreams/{d['stream']}/measurementProtocolSecrets/{d['id']}",
        display_name=d["display_name"], secret_value=d["secret_value"])


def dimension_msg(m: Any, d: dict) -> Any:
    return m.CustomDimension(name=f"properties/{d['property']}/customDimensions/{d['id']}",
                             parameter_name=d["parameter_name"], display_name=d["display_name"],
                             description=d["description"], scope=m.CustomDimension.DimensionScope[d["scope"]],
                             disallow_ads_personalization=d["disallow_ads_personalization"])


def metric_msg(m: Any, d: dict) -> Any:
    cm = m.CustomMetric
    return cm(name=f"properties/{d['property']}/customMetrics/{d['id']}", parameter_name=d["parameter_name"],
              display_name=d["display_name"], description=d["description"],
              measurement_unit=cm.MeasurementUnit[d["measurement_unit"]], scope=cm.MetricScope[d["scope"]],
              restricted_metric_type=[cm.RestrictedMetricType[t] for t in d["restricted_metric_type"]])


def ads_link_msg(m: Any, d: dict) -> Any:
    return m.GoogleAdsLink(
        name=f"properties/{d['property']}/googleAdsLinks/{d['id']}", customer_id=d["customer_id"],
        can_manage_clients=d["can_manage_clients"], ads_personalization_enabled=d["ads_personalization_enabled"],
        create_time=parse_time(d["create_time"]), update_time=parse_time(d["update_time"]),
        creator_email_address=d["creator_email_address"])


def bigquery_link_msg(m: Any, d: dict) -> Any:
    return _set(m.BigQueryLink(), name=f"properties/{d['property']}/bigQueryLinks/{d['id']}", project=d["project"],
                create_time=parse_time(d["create_time"]), daily_export_enabled=d["daily_export_enabled"],
                streaming_export_enabled=d["streaming_export_enabled"],
                fresh_daily_export_enabled=d["fresh_daily_export_enabled"],
                include_advertising_id=d["include_advertising_id"], export_streams=list(d["export_streams"]),
                excluded_events=list(d["excluded_events"]), dataset_location=d["dataset_location"])


# change-history resource type -> (field of ChangeHistoryResource, builder)
SNAPSHOTS: dict[str, tuple[str, Callable[[Any, dict], Any]]] = {
    "ACCOUNT": ("account", account_msg),
    "PROPERTY": ("property", property_msg),
    "DATA_STREAM": ("data_stream", stream_msg),
    "KEY_EVENT": ("key_event", key_event_msg),
    "EVENT_CREATE_RULE": ("event_create_rule", rule_msg),
    "DATA_RETENTION_SETTINGS": ("data_retention_settings", retention_msg),
    "GOOGLE_SIGNALS_SETTINGS": ("google_signals_settings", signals_msg),
    "ATTRIBUTION_SETTINGS": ("attribution_settings", attribution_msg),
    "ENHANCED_MEASUREMENT_SETTINGS": ("enhanced_measurement_settings", enhanced_msg),
    "DATA_REDACTION_SETTINGS": ("data_redaction_settings", redaction_msg),
    "MEASUREMENT_PROTOCOL_SECRET": ("measurement_protocol_secret", secret_msg),
    "CUSTOM_DIMENSION": ("custom_dimension", dimension_msg),
    "CUSTOM_METRIC": ("custom_metric", metric_msg),
    "GOOGLE_ADS_LINK": ("google_ads_link", ads_link_msg),
    "BIGQUERY_LINK": ("bigquery_link", bigquery_link_msg),
}


def _snapshot(m: Any, resource_type: str, d: dict | None) -> Any:
    resource = m.ChangeHistoryChange.ChangeHistoryResource
    field, builder = SNAPSHOTS[resource_type]
    if d is None or field not in resource.pb().DESCRIPTOR.fields_by_name:
        return None
    return resource(**{field: builder(m, d)})


def change_event_msg(m: Any, event: dict) -> Any:
    changes = []
    for c in event["changes"]:
        change = m.ChangeHistoryChange(resource=c["resource"], action=m.ActionType[c["action"]])
        for field, d in (("resource_before_change", c["before"]), ("resource_after_change", c["after"])):
            snap = _snapshot(m, c["type"], d)
            if snap is not None:
                setattr(change, field, snap)
        changes.append(change)
    actor = event["actor"]
    return m.ChangeHistoryEvent(id=event["id"], change_time=parse_time(event["time"]),
                                actor_type=m.ActorType.USER if actor else m.ActorType.SYSTEM,
                                user_actor_email=actor or "", changes_filtered=event["changes_filtered"],
                                changes=changes)

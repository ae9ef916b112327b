"""Administering properties through Google's real Admin clients: create, update, delete to the trash,
account summaries, and the property-level settings (data retention; Google signals and attribution, which
Google serves in v1alpha only)."""

from __future__ import annotations

import re
from datetime import timedelta

import grpc
import pytest
from google.analytics import admin_v1alpha, admin_v1beta, data_v1beta
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport
from google.api_core import exceptions as gexc

from emulator_admin_support import VERSIONS, as_user, mask, start_world, stop_world


@pytest.fixture(scope="module")
def world():
    w = start_world()
    yield w
    stop_world(w)


def _new(m, **fields):
    base = dict(parent="", display_name="New Shop", time_zone="America/New_York")
    base.update(fields)
    return m.Property(**base)


# ----------------------------------------------------------------------------- create
@pytest.mark.parametrize("m", VERSIONS)
def test_create_property_as_an_admin_would(world, m):
    api = world.client(m)
    p = api.create_property(property=_new(m, parent=f"accounts/{world.account}", currency_code="USD",
                                          industry_category=m.IndustryCategory.SHOPPING))
    assert p.name.startswith("properties/") and p.parent == f"accounts/{world.account}"
    assert (p.display_name, p.time_zone, p.currency_code) == ("New Shop", "America/New_York", "USD")
    assert p.industry_category == m.IndustryCategory.SHOPPING
    assert p.service_level == m.ServiceLevel.GOOGLE_ANALYTICS_STANDARD
    assert p.property_type == m.PropertyType.PROPERTY_TYPE_ORDINARY and p.create_time and not p.delete_time
    assert api.get_property(name=p.name) == p
    keys = [k.event_name for k in api.list_key_events(parent=p.name)]
    assert keys == ["purchase"]  # every GA4 property starts with its default key event
    summaries = list(api.list_account_summaries())
    assert p.name in [ps.property for s in summaries for ps in s.property_summaries]


def test_create_property_defaults_currency_to_usd(world):
    p = world.beta.create_property(property=_new(admin_v1beta, parent=f"accounts/{world.account}"))
    assert p.currency_code == "USD"


@pytest.mark.parametrize("fields,error,fragment", [
    ({"parent": ""}, gexc.InvalidArgument, "property.parent"),
    ({"parent": "properties/1"}, gexc.InvalidArgument, "accounts/"),
    ({"parent": "accounts/999"}, gexc.NotFound, "accounts/999"),
    ({"display_name": ""}, gexc.InvalidArgument, "display_name is required"),
    ({"display_name": "x" * 101}, gexc.InvalidArgument, "at most 100"),
    ({"time_zone": ""}, gexc.InvalidArgument, "time_zone is required"),
    ({"time_zone": "Mars/Olympus"}, gexc.InvalidArgument, "IANA"),
    ({"currency_code": "EURO"}, gexc.InvalidArgument, "ISO 4217"),
    ({"property_type": admin_v1beta.PropertyType.PROPERTY_TYPE_ROLLUP}, gexc.InvalidArgument, "ordinary"),
])
def test_create_property_is_validated(world, fields, error, fragment):
    fields = dict({"parent": f"accounts/{world.account}"}, **fields)
    with pytest.raises(error, match=fragment):
        world.beta.create_property(property=_new(admin_v1beta, **fields))


def test_create_property_needs_access_to_the_account(world):
    account = world.emu.admin.create_account("Other agency")
    theirs = world.emu.admin.create_property(account, "Theirs")
    world.emu.admin.set_access(theirs, ["boss@agency.example"])
    with pytest.raises(gexc.PermissionDenied, match=f"accounts/{account}"):
        world.beta.create_property(property=_new(admin_v1beta, parent=f"accounts/{account}"),
                                   metadata=as_user("intern@agency.example"))
    world.beta.create_property(property=_new(admin_v1beta, parent=f"accounts/{account}"),
                               metadata=as_user("boss@agency.example"))


@pytest.mark.parametrize("m", VERSIONS)
def test_accounts_are_visible_to_those_who_may_use_one_of_their_properties(world, m):
    api = world.client(m)
    account = world.emu.admin.create_account("Client")
    assert api.get_account(name=f"accounts/{account}").display_name == "Client"  # no properties yet
    pid = world.emu.admin.create_property(account, "Client shop")
    world.emu.admin.set_access(pid, ["boss@agency.example"])
    assert api.get_account(name=f"accounts/{account}", metadata=as_user("boss@agency.example")).name
    with pytest.raises(gexc.PermissionDenied, match=f"accounts/{account}"):
        api.get_account(name=f"accounts/{account}", metadata=as_user("intern@agency.example"))
    visible = [a.name for a in api.list_accounts(metadata=as_user("intern@agency.example"))]
    assert f"accounts/{account}" not in visible and f"accounts/{world.account}" in visible
    with pytest.raises(gexc.NotFound):
        api.get_account(name="accounts/7")


# ----------------------------------------------------------------------------- update
@pytest.mark.parametrize("m", VERSIONS)
def test_update_property_changes_only_the_masked_fields(world, m):
    api = world.client(m)
    name = f"properties/{world.new_property()}"
    before = api.get_property(name=name)
    changed = api.update_property(
        property=m.Property(name=name, display_name="Renamed", time_zone="Asia/Tokyo", currency_code="JPY",
                            industry_category=m.IndustryCategory.TRAVEL),
        update_mask=mask("display_name", "currency_code"))
    assert (changed.display_name, changed.currency_code) == ("Renamed", "JPY")
    assert changed.time_zone == before.time_zone and changed.industry_category == before.industry_category
    assert changed.update_time >= before.update_time and changed.create_time == before.create_time
    everything = api.update_property(
        property=m.Property(name=name, display_name="All", time_zone="Asia/Tokyo", currency_code="JPY",
                            industry_category=m.IndustryCategory.TRAVEL), update_mask=mask("*"))
    assert (everything.time_zone, everything.industry_category) == ("Asia/Tokyo", m.IndustryCategory.TRAVEL)
    assert world.emu.admin.property_info(name.split("/")[1]).time_zone == "Asia/Tokyo"  # the Data side sees it


@pytest.mark.parametrize("path,value,fragment", [
    (None, {}, "update_mask is required"),
    ("account", {"account": "accounts/1"}, "immutable"),
    ("parent", {"parent": "accounts/1"}, "immutable"),
    ("property_type", {"property_type": 2}, "immutable"),
    ("service_level", {}, "output only"),
    ("create_time", {}, "output only"),
    ("no_such_field", {}, "updatable fields"),
    ("display_name", {"display_name": ""}, "display_name is required"),
    ("time_zone", {"time_zone": "Nowhere/Land"}, "IANA"),
    ("currency_code", {"currency_code": "XYZ"}, "ISO 4217"),
])
def test_update_property_is_validated(world, path, value, fragment):
    name = f"properties/{world.new_property()}"
    kwargs = {"update_mask": mask(path)} if path else {}
    with pytest.raises(gexc.InvalidArgument, match=fragment):
        world.beta.update_property(property=admin_v1beta.Property(name=name, **value), **kwargs)
    assert world.beta.get_property(name=name).display_name == "Shop"


def test_update_of_an_unknown_property_is_not_found(world):
    with pytest.raises(gexc.NotFound):
        world.beta.update_property(property=admin_v1beta.Property(name="properties/1", display_name="x"),
                                   update_mask=mask("display_name"))


# ----------------------------------------------------------------------------- delete (to the trash)
def test_deleted_property_is_in_the_trash_until_it_expires(world):
    pid = world.new_property("Old shop")
    name = f"properties/{pid}"
    trashed = world.beta.delete_property(name=name)
    assert trashed.expire_time - trashed.delete_time == timedelta(days=35)
    assert world.alpha.get_property(name=name).delete_time == trashed.delete_time  # Admin still reads it
    listed = [p.name for p in world.beta.list_properties(request={"filter": f"parent:accounts/{world.account}"})]
    assert name not in listed
    shown = world.beta.list_properties(request={"filter": f"parent:accounts/{world.account}", "show_deleted": True})
    assert name in [p.name for p in shown]
    assert name not in [ps.property for s in world.beta.list_account_summaries() for ps in s.property_summaries]
    data = data_v1beta.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=world.channel))
    with pytest.raises(gexc.NotFound, match="trash"):
        data.run_report(request={"property": name, "metrics": [{"name": "eventCount"}],
                                 "date_ranges": [{"start_date": "7daysAgo", "end_date": "today"}]})

    world.emu.admin.restore_property(pid)  # GA4's Trash Can UI
    assert not world.beta.get_property(name=name).delete_time
    world.beta.delete_property(name=name)
    clock = world.emu.admin.clock
    world.emu.admin.clock = lambda: clock() + timedelta(days=36)
    try:
        with pytest.raises(gexc.NotFound):
            world.beta.get_property(name=name)
    finally:
        world.emu.admin.clock = clock
    assert pid not in world.emu.admin.property_ids()  # purged for good


# ----------------------------------------------------------------------------- data retention
@pytest.mark.parametrize("m", VERSIONS)
def test_data_retention_settings(world, m):
    api = world.client(m)
    name = f"properties/{world.new_property()}/dataRetentionSettings"
    rd = m.DataRetentionSettings.RetentionDuration
    current = api.get_data_retention_settings(name=name)
    assert (current.event_data_retention, current.user_data_retention) == (rd.TWO_MONTHS, rd.TWO_MONTHS)
    updated = api.update_data_retention_settings(
        data_retention_settings=m.DataRetentionSettings(name=name, event_data_retention=rd.FOURTEEN_MONTHS,
                                                        user_data_retention=rd.FOURTEEN_MONTHS),
        update_mask=mask("user_data_retention"))
    assert (updated.event_data_retention, updated.user_data_retention) == (rd.TWO_MONTHS, rd.FOURTEEN_MONTHS)
    for value, fragment in ((rd.TWENTY_SIX_MONTHS, "not available"), (rd.RETENTION_DURATION_UNSPECIFIED, "required")):
        with pytest.raises(gexc.InvalidArgument, match=fragment):
            api.update_data_retention_settings(
                data_retention_settings=m.DataRetentionSettings(name=name, event_data_retention=value),
                update_mask=mask("event_data_retention"))
    with pytest.raises(gexc.InvalidArgument, match="immutable"):
        api.update_data_retention_settings(data_retention_settings=m.DataRetentionSettings(name=name),
                                           update_mask=mask("name"))


def test_360_properties_keep_data_up_to_fifty_months(world):
    name = f"properties/{world.new_property('Big', service_level='PREMIUM')}/dataRetentionSettings"
    rd = admin_v1beta.DataRetentionSettings.RetentionDuration
    for value in (rd.TWENTY_SIX_MONTHS, rd.THIRTY_EIGHT_MONTHS, rd.FIFTY_MONTHS):
        got = world.beta.update_data_retention_settings(
            data_retention_settings=admin_v1beta.DataRetentionSettings(name=name, event_data_retention=value),
            update_mask=mask("event_data_retention"))
        assert got.event_data_retention == value


# ----------------------------------------------------------------------------- Google signals (v1alpha)
def test_google_signals_settings(world):
    m = admin_v1alpha
    name = f"properties/{world.new_property()}/googleSignalsSettings"
    current = world.alpha.get_google_signals_settings(name=name)
    assert current.state == m.GoogleSignalsState.GOOGLE_SIGNALS_STATE_UNSPECIFIED
    assert current.consent == m.GoogleSignalsConsent.GOOGLE_SIGNALS_CONSENT_NOT_CONSENTED
    on = world.alpha.update_google_signals_settings(
        google_signals_settings=m.GoogleSignalsSettings(name=name, state=m.GoogleSignalsState.GOOGLE_SIGNALS_ENABLED),
        update_mask=mask("state"))
    assert on.state == m.GoogleSignalsState.GOOGLE_SIGNALS_ENABLED
    assert world.alpha.get_google_signals_settings(name=name).state == m.GoogleSignalsState.GOOGLE_SIGNALS_ENABLED
    with pytest.raises(gexc.InvalidArgument, match="state is required"):
        world.alpha.update_google_signals_settings(google_signals_settings=m.GoogleSignalsSettings(name=name),
                                                   update_mask=mask("state"))
    with pytest.raises(gexc.InvalidArgument, match="output only"):
        world.alpha.update_google_signals_settings(
            google_signals_settings=m.GoogleSignalsSettings(
                name=name, consent=m.GoogleSignalsConsent.GOOGLE_SIGNALS_CONSENT_CONSENTED),
            update_mask=mask("consent"))
    with pytest.raises(gexc.InvalidArgument, match="googleSignalsSettings"):
        world.alpha.get_google_signals_settings(name=name.replace("googleSignalsSettings", "signals"))


# ----------------------------------------------------------------------------- attribution (v1alpha)
def test_attribution_settings(world):
    a = admin_v1alpha.AttributionSettings
    name = f"properties/{world.new_property()}/attributionSettings"
    current = world.alpha.get_attribution_settings(name=name)
    assert current.acquisition_conversion_event_lookback_window == \
        a.AcquisitionConversionEventLookbackWindow.ACQUISITION_CONVERSION_EVENT_LOOKBACK_WINDOW_30_DAYS
    assert current.other_conversion_event_lookback_window == \
        a.OtherConversionEventLookbackWindow.OTHER_CONVERSION_EVENT_LOOKBACK_WINDOW_90_DAYS
    assert current.reporting_attribution_model == a.ReportingAttributionModel.PAID_AND_ORGANIC_CHANNELS_DATA_DRIVEN
    changed = world.alpha.update_attribution_settings(
        attribution_settings=a(name=name,
                               reporting_attribution_model=a.ReportingAttributionModel.GOOGLE_PAID_CHANNELS_LAST_CLICK,
                               other_conversion_event_lookback_window=a.OtherConversionEventLookbackWindow
                               .OTHER_CONVERSION_EVENT_LOOKBACK_WINDOW_30_DAYS),
        update_mask=mask("reporting_attribution_model"))
    assert changed.reporting_attribution_model == a.ReportingAttributionModel.GOOGLE_PAID_CHANNELS_LAST_CLICK
    assert changed.other_conversion_event_lookback_window == current.other_conversion_event_lookback_window
    with pytest.raises(gexc.InvalidArgument, match="lookback_window is required"):
        world.alpha.update_attribution_settings(attribution_settings=a(name=name), update_mask=mask("*"))
    with pytest.raises(gexc.InvalidArgument, match="NOT_SELECTED_YET"):
        world.alpha.update_attribution_settings(
            attribution_settings=a(name=name, ads_web_conversion_data_export_scope=a.AdsWebConversionDataExportScope
                                   .NOT_SELECTED_YET),
            update_mask=mask("ads_web_conversion_data_export_scope"))


@pytest.mark.parametrize("rpc,request_type", [
    ("GetGoogleSignalsSettings", admin_v1alpha.GetGoogleSignalsSettingsRequest),
    ("GetAttributionSettings", admin_v1alpha.GetAttributionSettingsRequest),
    ("ListBigQueryLinks", admin_v1alpha.ListBigQueryLinksRequest),
    ("GetDataRedactionSettings", admin_v1alpha.GetDataRedactionSettingsRequest),
    ("GetEnhancedMeasurementSettings", admin_v1alpha.GetEnhancedMeasurementSettingsRequest),
])
def test_v1alpha_only_methods_are_not_served_in_v1beta(world, rpc, request_type):
    """Google serves these in v1alpha only; asked of the v1beta service they answer UNIMPLEMENTED."""
    call = world.channel.unary_unary(f"/google.analytics.admin.v1beta.AnalyticsAdminService/{rpc}",
                                     request_serializer=request_type.serialize,
                                     response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as err:
        call(request_type())
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert not hasattr(world.beta, re.sub(r"(?<!^)([A-Z])", r"_\1", rpc).lower())


def test_the_read_only_scope_may_search_and_read_but_not_administer(world):
    readonly = [("x-ga4kit-scope", "https://www.googleapis.com/auth/analytics.readonly")]
    pid = world.new_property()
    name = f"properties/{pid}"
    world.alpha.get_attribution_settings(name=f"{name}/attributionSettings", metadata=readonly)
    list(world.alpha.search_change_history_events(request={"account": f"accounts/{world.account}"},
                                                   metadata=readonly))
    cd = world.emu.admin.create_custom_dimension(pid, "plan", "Plan", "EVENT")
    writes = [
        lambda: world.beta.create_property(property=_new(admin_v1beta, parent=f"accounts/{world.account}"),
                                           metadata=readonly),
        lambda: world.beta.archive_custom_dimension(name=f"{name}/customDimensions/{cd['id']}", metadata=readonly),
        lambda: world.alpha.update_google_signals_settings(
            google_signals_settings={"name": f"{name}/googleSignalsSettings", "state": "GOOGLE_SIGNALS_ENABLED"},
            update_mask=mask("state"), metadata=readonly),
    ]
    for write in writes:
        with pytest.raises(gexc.PermissionDenied, match="insufficient authentication scopes"):
            write()

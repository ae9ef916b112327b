"""Data streams and what hangs under them, through Google's real Admin clients: streams (web, Android,
iOS: create, update, delete, limits), Measurement Protocol secrets, and the web-stream settings Google
serves in v1alpha (enhanced measurement, data redaction)."""

from __future__ import annotations

import pytest
from google.analytics import admin_v1alpha, admin_v1beta
from google.api_core import exceptions as gexc

from emulator_admin_support import VERSIONS, mask, start_world, stop_world


@pytest.fixture(scope="module")
def world():
    w = start_world()
    yield w
    stop_world(w)


def _web(m, name="Blog", uri="https://blog.example.com"):
    ds = m.DataStream
    return ds(type_=ds.DataStreamType.WEB_DATA_STREAM, display_name=name,
              web_stream_data=ds.WebStreamData(default_uri=uri))


def _android(m, package="com.example.shop", name="Android app"):
    ds = m.DataStream
    return ds(type_=ds.DataStreamType.ANDROID_APP_DATA_STREAM, display_name=name,
              android_app_stream_data=ds.AndroidAppStreamData(package_name=package))


def _ios(m, bundle="com.example.shop", name="iOS app"):
    ds = m.DataStream
    return ds(type_=ds.DataStreamType.IOS_APP_DATA_STREAM, display_name=name,
              ios_app_stream_data=ds.IosAppStreamData(bundle_id=bundle))


# ----------------------------------------------------------------------------- data streams
@pytest.mark.parametrize("m", VERSIONS)
def test_stream_lifecycle_web_android_ios(world, m):
    api = world.client(m)
    parent = f"properties/{world.new_property()}"
    web = api.create_data_stream(parent=parent, data_stream=_web(m))
    assert web.name.startswith(parent + "/dataStreams/") and web.type_ == m.DataStream.DataStreamType.WEB_DATA_STREAM
    assert web.web_stream_data.default_uri == "https://blog.example.com"
    assert web.web_stream_data.measurement_id.startswith("G-")
    android = api.create_data_stream(parent=parent, data_stream=_android(m))
    assert android.android_app_stream_data.package_name == "com.example.shop"
    ios = api.create_data_stream(parent=parent, data_stream=_ios(m))
    assert ios.ios_app_stream_data.bundle_id == "com.example.shop"
    assert len(list(api.list_data_streams(parent=parent))) == 4  # with the property's first web stream

    renamed = api.update_data_stream(data_stream=m.DataStream(name=web.name, display_name="Journal"),
                                     update_mask=mask("display_name"))
    assert renamed.display_name == "Journal" and renamed.web_stream_data.default_uri == "https://blog.example.com"
    moved = api.update_data_stream(
        data_stream=m.DataStream(name=web.name, web_stream_data={"default_uri": "https://journal.example.com"}),
        update_mask=mask("web_stream_data.default_uri"))
    assert moved.web_stream_data.default_uri == "https://journal.example.com" and moved.display_name == "Journal"

    api.delete_data_stream(name=android.name)
    with pytest.raises(gexc.NotFound):
        api.get_data_stream(name=android.name)
    assert android.name not in [s.name for s in api.list_data_streams(parent=parent)]
    with pytest.raises(gexc.NotFound):
        api.delete_data_stream(name=android.name)


@pytest.mark.parametrize("stream,fragment", [
    (admin_v1beta.DataStream(display_name="No type"), "type is required"),
    (_web(admin_v1beta, name=""), "display_name is required"),
    (_web(admin_v1beta, uri="not a url"), "default_uri"),
    (_android(admin_v1beta, package=""), "package_name is required"),
    (_android(admin_v1beta, package="shop"), "package_name 'shop' is invalid"),
    (_ios(admin_v1beta, bundle=""), "bundle_id is required"),
    (admin_v1beta.DataStream(type_="WEB_DATA_STREAM", display_name="Mixed",
                             android_app_stream_data={"package_name": "com.example.x"}), "does not match"),
])
def test_create_stream_is_validated(world, stream, fragment):
    with pytest.raises(gexc.InvalidArgument, match=fragment):
        world.beta.create_data_stream(parent=f"properties/{world.new_property()}", data_stream=stream)


def test_an_app_has_one_stream_and_a_property_has_at_most_fifty(world):
    parent = f"properties/{world.new_property()}"
    world.beta.create_data_stream(parent=parent, data_stream=_android(admin_v1beta, "com.example.one"))
    with pytest.raises(gexc.AlreadyExists, match="com.example.one"):
        world.beta.create_data_stream(parent=parent, data_stream=_android(admin_v1beta, "com.example.one"))
    pid = parent.split("/")[1]
    for i in range(48):  # 1 web + 1 app + 48 = 50
        world.emu.admin.create_web_stream(pid, f"Site {i}", f"https://s{i}.example.com")
    with pytest.raises(gexc.FailedPrecondition, match="maximum of 50 data streams"):
        world.beta.create_data_stream(parent=parent, data_stream=_web(admin_v1beta))


def test_at_most_thirty_app_streams(world):
    pid = world.new_property()
    for i in range(30):
        world.emu.admin.create_data_stream(pid, "IOS_APP_DATA_STREAM", f"App {i}", bundle_id=f"com.example.app{i}")
    with pytest.raises(gexc.FailedPrecondition, match="30 app data streams"):
        world.beta.create_data_stream(parent=f"properties/{pid}", data_stream=_ios(admin_v1beta))


@pytest.mark.parametrize("path,fragment", [
    ("type", "immutable"), ("android_app_stream_data.package_name", "immutable"), ("create_time", "output only"),
    ("web_stream_data.measurement_id", "output only"), ("colour", "updatable fields"),
])
def test_update_stream_refuses_fields_that_cannot_change(world, path, fragment):
    pid = world.new_property()
    name = f"properties/{pid}/dataStreams/{world.stream_of(pid)}"
    with pytest.raises(gexc.InvalidArgument, match=fragment):
        world.beta.update_data_stream(data_stream=admin_v1beta.DataStream(name=name, display_name="x"),
                                      update_mask=mask(path))


def test_app_stream_has_no_uri_and_update_needs_a_mask(world):
    parent = f"properties/{world.new_property()}"
    app = world.beta.create_data_stream(parent=parent, data_stream=_android(admin_v1beta))
    with pytest.raises(gexc.InvalidArgument, match="cannot be updated"):
        world.beta.update_data_stream(
            data_stream=admin_v1beta.DataStream(name=app.name, web_stream_data={"default_uri": "https://x.com"}),
            update_mask=mask("web_stream_data.default_uri"))
    with pytest.raises(gexc.InvalidArgument, match="update_mask"):
        world.beta.update_data_stream(data_stream=admin_v1beta.DataStream(name=app.name, display_name="x"))
    renamed = world.beta.update_data_stream(data_stream=admin_v1beta.DataStream(name=app.name, display_name="App"),
                                            update_mask=mask("*"))
    assert renamed.display_name == "App" and renamed.android_app_stream_data.package_name == "com.example.shop"


def test_deleting_a_stream_removes_its_rules_from_the_data_side(world):
    pid = world.new_property()
    sid = world.stream_of(pid)
    world.emu.admin.create_event_create_rule(pid, sid, "saw_pricing", [("page_location", "CONTAINS", "/pricing")])
    assert len(world.emu.admin.property_info(pid).rules) == 1
    world.alpha.delete_data_stream(name=f"properties/{pid}/dataStreams/{sid}")
    assert world.emu.admin.property_info(pid).rules == []


# ----------------------------------------------------------------------------- Measurement Protocol secrets
@pytest.mark.parametrize("m", VERSIONS)
def test_measurement_protocol_secrets(world, m):
    api = world.client(m)
    pid = world.new_property()
    stream = f"properties/{pid}/dataStreams/{world.stream_of(pid)}"
    secret = api.create_measurement_protocol_secret(
        parent=stream, measurement_protocol_secret=m.MeasurementProtocolSecret(display_name="Server events"))
    assert secret.name.startswith(stream + "/measurementProtocolSecrets/")
    assert len(secret.secret_value) == 22
    assert api.get_measurement_protocol_secret(name=secret.name) == secret
    renamed = api.update_measurement_protocol_secret(
        measurement_protocol_secret=m.MeasurementProtocolSecret(name=secret.name, display_name="Backend"),
        update_mask=mask("display_name"))
    assert renamed.display_name == "Backend" and renamed.secret_value == secret.secret_value
    with pytest.raises(gexc.InvalidArgument, match="output only"):
        api.update_measurement_protocol_secret(
            measurement_protocol_secret=m.MeasurementProtocolSecret(name=secret.name, secret_value="mine"),
            update_mask=mask("secret_value"))
    with pytest.raises(gexc.InvalidArgument, match="display_name is required"):
        api.create_measurement_protocol_secret(parent=stream,
                                               measurement_protocol_secret=m.MeasurementProtocolSecret())
    for i in range(11):
        api.create_measurement_protocol_secret(
            parent=stream, measurement_protocol_secret=m.MeasurementProtocolSecret(display_name=f"S{i}"))
    pager = api.list_measurement_protocol_secrets(parent=stream)
    assert len(next(iter(pager.pages)).measurement_protocol_secrets) == 10  # at most 10 per page
    assert len(list(pager)) == 12
    api.delete_measurement_protocol_secret(name=secret.name)
    with pytest.raises(gexc.NotFound):
        api.get_measurement_protocol_secret(name=secret.name)
    with pytest.raises(gexc.NotFound):
        api.delete_measurement_protocol_secret(name=secret.name)
    with pytest.raises(gexc.NotFound):
        api.create_measurement_protocol_secret(
            parent=f"properties/{pid}/dataStreams/1", measurement_protocol_secret={"display_name": "x"})


# ----------------------------------------------------------------------------- web stream settings (v1alpha)
def test_enhanced_measurement_settings(world):
    m = admin_v1alpha
    pid = world.new_property()
    name = f"properties/{pid}/dataStreams/{world.stream_of(pid)}/enhancedMeasurementSettings"
    current = world.alpha.get_enhanced_measurement_settings(name=name)
    assert current.stream_enabled and current.search_query_parameter == "q,s,search,query,keyword"
    changed = world.alpha.update_enhanced_measurement_settings(
        enhanced_measurement_settings=m.EnhancedMeasurementSettings(name=name, form_interactions_enabled=False,
                                                                    uri_query_parameter="ref"),
        update_mask=mask("form_interactions_enabled", "uri_query_parameter"))
    assert changed.form_interactions_enabled is False and changed.uri_query_parameter == "ref"
    with pytest.raises(gexc.InvalidArgument, match="search_query_parameter is required"):
        world.alpha.update_enhanced_measurement_settings(
            enhanced_measurement_settings=m.EnhancedMeasurementSettings(name=name),
            update_mask=mask("search_query_parameter"))
    with pytest.raises(gexc.InvalidArgument, match="1024"):
        world.alpha.update_enhanced_measurement_settings(
            enhanced_measurement_settings=m.EnhancedMeasurementSettings(name=name, uri_query_parameter="x" * 1025),
            update_mask=mask("uri_query_parameter"))
    app = world.alpha.create_data_stream(parent=f"properties/{pid}", data_stream=_android(m))
    with pytest.raises(gexc.NotFound, match="web data streams"):
        world.alpha.get_enhanced_measurement_settings(name=f"{app.name}/enhancedMeasurementSettings")


def test_data_redaction_settings(world):
    m = admin_v1alpha
    pid = world.new_property()
    name = f"properties/{pid}/dataStreams/{world.stream_of(pid)}/dataRedactionSettings"
    current = world.alpha.get_data_redaction_settings(name=name)
    assert current.email_redaction_enabled is True and current.query_parameter_redaction_enabled is False
    changed = world.alpha.update_data_redaction_settings(
        data_redaction_settings=m.DataRedactionSettings(name=name, query_parameter_redaction_enabled=True,
                                                        query_parameter_keys=["email", "phone"]),
        update_mask=mask("query_parameter_redaction_enabled", "query_parameter_keys"))
    assert changed.query_parameter_redaction_enabled and list(changed.query_parameter_keys) == ["email", "phone"]
    assert changed.email_redaction_enabled is True
    with pytest.raises(gexc.InvalidArgument, match="at least one key"):
        world.alpha.update_data_redaction_settings(
            data_redaction_settings=m.DataRedactionSettings(name=name, query_parameter_keys=[]),
            update_mask=mask("query_parameter_keys"))
    with pytest.raises(gexc.InvalidArgument, match="commas"):
        world.alpha.update_data_redaction_settings(
            data_redaction_settings=m.DataRedactionSettings(name=name, query_parameter_keys=["a,b"]),
            update_mask=mask("query_parameter_keys"))
    assert list(world.alpha.get_data_redaction_settings(name=name).query_parameter_keys) == ["email", "phone"]

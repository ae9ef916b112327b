"""The change history (SearchChangeHistoryEvents) through Google's real Admin clients: every write is
recorded with its actor, time, resource and the resource before and after; the search filters by
property, resource type, action, actor and time, pages, and hides what the caller may not see."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from google.analytics import admin, admin_v1alpha, admin_v1beta
from google.api_core import exceptions as gexc
from google.protobuf.timestamp_pb2 import Timestamp

from emulator_admin_support import as_user, mask, start_world, stop_world
from ga4kit.emulator import Emulator

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def world():
    w = start_world()
    now = [START]

    def clock():
        now[0] += timedelta(minutes=1)  # every write one minute after the one before
        return now[0]

    w.emu.admin.clock = clock
    yield w
    stop_world(w)


def _search(world, m=admin_v1alpha, **fields):
    request = m.SearchChangeHistoryEventsRequest(account=f"accounts/{world.account}", **fields)
    return list(world.client(m).search_change_history_events(request=request))


def _changes(events):
    return [(c.resource, c.action.name) for e in events for c in e.changes]


def test_writes_are_recorded_with_actor_resource_and_snapshots(world):
    pid = world.new_property("Shop")  # set up from Python: the system's doing
    name = f"properties/{pid}"
    world.alpha.update_property(property=admin_v1alpha.Property(name=name, display_name="Shop EU"),
                                update_mask=mask("display_name"), metadata=as_user("ana@agency.example"))
    ke = world.alpha.create_key_event(parent=name, key_event={"event_name": "sign_up", "counting_method": 1},
                                      metadata=as_user("ben@agency.example"))
    events = _search(world, property=name)
    assert _changes(events)[:3] == [(ke.name, "CREATED"), (name, "UPDATED"),
                                    (f"{name}/dataStreams/{world.stream_of(pid)}", "CREATED")]
    newest, update = events[0], events[1]
    assert (newest.actor_type, newest.user_actor_email) == (admin_v1alpha.ActorType.USER, "ben@agency.example")
    assert newest.changes[0].resource_after_change.key_event.event_name == "sign_up"
    assert "resource_before_change" not in newest.changes[0]  # created: nothing before
    before, after = update.changes[0].resource_before_change, update.changes[0].resource_after_change
    assert (before.property.display_name, after.property.display_name) == ("Shop", "Shop EU")
    assert update.user_actor_email == "ana@agency.example" and update.change_time > events[2].change_time
    created = events[-1]
    assert created.actor_type == admin_v1alpha.ActorType.SYSTEM and not created.user_actor_email
    assert _changes([created]) == [(name, "CREATED")]
    assert len({e.id for e in events}) == len(events)


def test_filters_by_type_action_actor_and_time(world):
    pid = world.new_property()
    name = f"properties/{pid}"
    world.alpha.update_data_retention_settings(
        data_retention_settings={"name": f"{name}/dataRetentionSettings", "event_data_retention": "FOURTEEN_MONTHS"},
        update_mask=mask("event_data_retention"), metadata=as_user("ana@agency.example"))
    middle = Timestamp()
    middle.FromDatetime(world.emu.admin.clock())  # a minute after the retention change, before the next
    cd = world.alpha.create_custom_dimension(parent=name, custom_dimension={
        "parameter_name": "plan", "display_name": "Plan", "scope": "EVENT"}, metadata=as_user("ben@agency.example"))
    world.alpha.archive_custom_dimension(name=cd.name, metadata=as_user("ben@agency.example"))

    assert _changes(_search(world, property=name, resource_type=["CUSTOM_DIMENSION"])) == [
        (cd.name, "DELETED"), (cd.name, "CREATED")]
    assert _changes(_search(world, property=name, action=["UPDATED"])) == [(f"{name}/dataRetentionSettings",
                                                                            "UPDATED")]
    assert {e.user_actor_email for e in _search(world, property=name, actor_email=["ben@agency.example"])} == {
        "ben@agency.example"}
    later = _search(world, property=name, earliest_change_time=middle)
    assert _changes(later) == [(cd.name, "DELETED"), (cd.name, "CREATED")]
    earlier = _search(world, property=name, latest_change_time=middle)
    assert (f"{name}/dataRetentionSettings", "UPDATED") in _changes(earlier)
    assert cd.name not in [r for r, _ in _changes(earlier)]
    retention = _search(world, property=name, resource_type=["DATA_RETENTION_SETTINGS"])[0].changes[0]
    assert retention.resource_before_change.data_retention_settings.event_data_retention.name == "TWO_MONTHS"
    assert retention.resource_after_change.data_retention_settings.event_data_retention.name == "FOURTEEN_MONTHS"


def test_the_search_as_googles_sample_runs_it(world):
    """The calls of Google's Admin sample accounts_search_change_history_events.py (google.analytics.admin,
    action CREATED/UPDATED, the last 7 days; the resource told apart by its oneof field)."""
    pid = world.new_property("Sample")
    world.alpha.create_google_ads_link(parent=f"properties/{pid}", google_ads_link={"customer_id": "1112223334"})
    earliest = Timestamp()
    earliest.FromDatetime(START - timedelta(days=7))
    results = world.alpha.search_change_history_events(admin.SearchChangeHistoryEventsRequest(
        account=f"accounts/{world.account}", property=f"properties/{pid}", action=["CREATED", "UPDATED"],
        earliest_change_time=earliest))
    kinds = []
    for event in results:
        assert event.id and event.change_time
        for change in event.changes:
            assert admin.ActionType(change.action).name in ("CREATED", "UPDATED")
            resource = change.resource_after_change
            kinds.append("google_ads_link" if resource.google_ads_link else "data_stream" if resource.data_stream
                         else "property" if resource.property else "other")
    assert kinds == ["google_ads_link", "data_stream", "property"]


def test_v1beta_search_has_its_own_resource_set(world):
    """v1beta's ChangeHistoryResource has no key event: the change is listed, without a snapshot."""
    pid = world.new_property()
    name = f"properties/{pid}"
    ke = world.beta.create_key_event(parent=name, key_event={"event_name": "lead", "counting_method": 1})
    events = _search(world, admin_v1beta, property=name)
    assert _changes(events)[0] == (ke.name, "CREATED")
    assert "resource_after_change" not in events[0].changes[0]
    prop = _search(world, admin_v1beta, property=name, resource_type=["PROPERTY"])[0].changes[0]
    assert prop.resource_after_change.property.name == name


def test_search_is_validated_and_paged(world):
    pid = world.new_property()
    with pytest.raises(gexc.InvalidArgument, match="account"):
        list(world.alpha.search_change_history_events(request={"account": ""}))
    with pytest.raises(gexc.NotFound):
        list(world.alpha.search_change_history_events(request={"account": "accounts/42"}))
    late, early = Timestamp(), Timestamp()
    late.FromDatetime(START + timedelta(days=2))
    early.FromDatetime(START)
    with pytest.raises(gexc.InvalidArgument, match="earliest_change_time"):
        _search(world, earliest_change_time=late, latest_change_time=early)
    other = world.emu.admin.create_account("Other")
    theirs = world.emu.admin.create_property(other, "Theirs")
    with pytest.raises(gexc.InvalidArgument, match="does not belong"):
        _search(world, property=f"properties/{theirs}")
    for i in range(5):
        world.emu.admin.create_custom_metric(pid, f"m{i}", f"M {i}", "STANDARD")
    request = {"account": f"accounts/{world.account}", "property": f"properties/{pid}", "page_size": 2}
    pages = list(world.alpha.search_change_history_events(request=request).pages)
    assert [len(p.change_history_events) for p in pages] == [2, 2, 2, 1]  # property, stream, 5 metrics


def test_changes_to_properties_the_caller_cannot_see_are_hidden(world):
    open_pid, closed_pid = world.new_property("Open"), world.new_property("Closed")
    world.emu.admin.set_access(closed_pid, ["boss@agency.example"])
    seen = {c.resource for e in world.alpha.search_change_history_events(
        request={"account": f"accounts/{world.account}"}, metadata=as_user("intern@agency.example"))
        for c in e.changes}
    assert f"properties/{open_pid}" in seen and f"properties/{closed_pid}" not in seen
    with pytest.raises(gexc.PermissionDenied):
        list(world.alpha.search_change_history_events(
            request={"account": f"accounts/{world.account}", "property": f"properties/{closed_pid}"},
            metadata=as_user("intern@agency.example")))


def test_new_resources_and_history_survive_a_restart(tmp_path):
    with Emulator(state_dir=tmp_path, demo=False) as emu:
        account = emu.admin.create_account("A")
        pid = emu.admin.create_property(account, "P")
        sid = emu.admin.create_web_stream(pid, "Web", "https://p.example.com")
        metric = emu.admin.create_custom_metric(pid, "basket", "Basket", "STANDARD")
        link = emu.admin.create_bigquery_link(pid, "projects/123456", "EU")
        secret = emu.admin.create_secret(pid, sid, "Server")
        emu.admin.update_google_signals(pid, state="GOOGLE_SIGNALS_ENABLED")
        emu.admin.update_redaction(pid, sid, query_parameter_redaction_enabled=True, query_parameter_keys=["email"])
        emu.admin.trash_property(pid)
    with Emulator(state_dir=tmp_path, demo=False) as emu:
        assert emu.admin.get_custom_metric(pid, metric["id"])["parameter_name"] == "basket"
        assert emu.admin.get_bigquery_link(pid, link["id"])["dataset_location"] == "EU"
        assert emu.admin.get_secret(pid, sid, secret["id"])["secret_value"] == secret["secret_value"]
        assert emu.admin.get_google_signals(pid)["state"] == "GOOGLE_SIGNALS_ENABLED"
        assert emu.admin.get_redaction(pid, sid)["query_parameter_keys"] == ["email"]
        assert emu.admin.get_property(pid)["expire_time"]
        history = emu.admin.search_change_history(account, None)
        assert [c["action"] for e in history for c in e["changes"]][0] == "DELETED"
        assert len(history) == 9  # account, property, stream, metric, link, secret, signals, redaction, trash


def test_a_state_file_from_an_earlier_emulator_is_completed(tmp_path):
    """State written before these resources existed loads with GA4's defaults for them."""
    import json

    with Emulator(state_dir=tmp_path, demo=False) as emu:
        pid = emu.admin.create_property(emu.admin.create_account("A"), "P")
        sid = emu.admin.create_web_stream(pid, "Web", "https://p.example.com")
    path = tmp_path / "admin.json"
    data = json.loads(path.read_text())
    del data["history"], data["next_id"]["metric"]
    prop = data["properties"][pid]
    for key in ("signals", "attribution", "custom_metrics", "bigquery_links", "expire_time"):
        del prop[key]
    for key in ("type", "secrets", "redaction"):
        del prop["streams"][sid][key]
    path.write_text(json.dumps(data))
    with Emulator(state_dir=tmp_path, demo=False) as emu:
        assert emu.admin.get_stream(pid, sid)["type"] == "WEB_DATA_STREAM"
        assert emu.admin.get_redaction(pid, sid)["email_redaction_enabled"] is True
        assert emu.admin.get_attribution(pid)["reporting_attribution_model"] == "PAID_AND_ORGANIC_CHANNELS_DATA_DRIVEN"
        assert emu.admin.list_custom_metrics(pid) == [] and emu.admin.list_secrets(pid, sid) == []
        emu.admin.create_custom_metric(pid, "basket", "Basket", "STANDARD")

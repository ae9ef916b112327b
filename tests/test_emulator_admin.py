"""The emulator's Admin API, driven through Google's real client libraries over gRPC (v1beta and v1alpha)."""

from __future__ import annotations

import json
import os

import pytest
from google.analytics import admin_v1alpha, admin_v1beta
from google.protobuf import field_mask_pb2

from ga4kit import errors
from ga4kit.connect import make_clients
from ga4kit.emulator import Emulator

VERSIONS = [("admin", admin_v1beta), ("admin_alpha", admin_v1alpha)]


def _api(clients, attr):
    return getattr(clients, attr)


def _mask(*paths):
    return field_mask_pb2.FieldMask(paths=list(paths))


# ----------------------------------------------------------------------------- accounts and properties
@pytest.mark.parametrize("attr,m", VERSIONS)
def test_account_summaries_list_visible_properties(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    hidden = emulator.admin.create_property(emulator.test_account, "Private", currency="USD",
                                            time_zone="America/New_York")
    emulator.admin.set_access(hidden, ["someone-else@example.com"])
    summaries = list(api.list_account_summaries())
    assert [s.account for s in summaries] == [f"accounts/{emulator.test_account}"]
    assert summaries[0].name == f"accountSummaries/{emulator.test_account}"
    assert summaries[0].display_name == "Test Account"
    props = summaries[0].property_summaries
    assert [(p.property, p.display_name, p.parent) for p in props] == [
        (f"properties/{emulator.test_property}", "Test Shop", f"accounts/{emulator.test_account}")]

    other = api.raw.list_account_summaries(metadata=[("x-ga4kit-principal", "someone-else@example.com")])
    assert [p.property for s in other for p in s.property_summaries] == [
        f"properties/{emulator.test_property}", f"properties/{hidden}"]


@pytest.mark.parametrize("attr,m", VERSIONS)
def test_get_and_list_properties(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    premium = emulator.admin.create_property(emulator.test_account, "Big Shop", time_zone="America/New_York",
                                             currency="USD", service_level="PREMIUM")
    p = api.get_property(name=f"properties/{emulator.test_property}")
    assert (p.display_name, p.time_zone, p.currency_code) == ("Test Shop", "Europe/Berlin", "EUR")
    assert p.service_level == m.ServiceLevel.GOOGLE_ANALYTICS_STANDARD
    assert p.parent == f"accounts/{emulator.test_account}"
    assert p.property_type == m.PropertyType.PROPERTY_TYPE_ORDINARY
    assert not p.delete_time
    big = api.get_property(name=f"properties/{premium}")
    assert big.service_level == m.ServiceLevel.GOOGLE_ANALYTICS_360
    assert big.currency_code == "USD"

    listed = list(api.list_properties(request={"filter": f"parent:accounts/{emulator.test_account}"}))
    assert [x.name for x in listed] == [f"properties/{emulator.test_property}", f"properties/{premium}"]
    assert list(api.list_properties(request={"filter": "parent:accounts/999"})) == []
    ancestor = api.list_properties(request={"filter": f"ancestor:accounts/{emulator.test_account}"})
    assert len(list(ancestor)) == 2
    assert list(api.list_properties(request={"filter": f"parent:properties/{premium}"})) == []  # no subproperties
    with pytest.raises(errors.InvalidArgumentError, match="filter"):
        list(api.list_properties(request={}))
    with pytest.raises(errors.InvalidArgumentError, match="filter"):
        list(api.list_properties(request={"filter": "name:foo"}))


def test_deleted_property_goes_to_trash(emulator, emulator_clients):
    api = emulator_clients.admin
    pid = emulator.admin.create_property(emulator.test_account, "Old")
    trashed = api.delete_property(name=f"properties/{pid}")
    assert trashed.delete_time and trashed.expire_time > trashed.delete_time
    assert api.get_property(name=f"properties/{pid}").delete_time
    flt = f"parent:accounts/{emulator.test_account}"
    assert f"properties/{pid}" not in [p.name for p in api.list_properties(request={"filter": flt})]
    shown = api.list_properties(request={"filter": flt, "show_deleted": True})
    assert f"properties/{pid}" in [p.name for p in shown]
    summaries = list(api.list_account_summaries())
    assert f"properties/{pid}" not in [p.property for s in summaries for p in s.property_summaries]


def test_unknown_property_and_bad_names(emulator, emulator_clients):
    api = emulator_clients.admin
    with pytest.raises(errors.NotFoundError):
        api.get_property(name="properties/123")
    with pytest.raises(errors.NotFoundError):
        list(api.list_key_events(parent="properties/123"))
    with pytest.raises(errors.InvalidArgumentError, match="properties/"):
        api.get_key_event(name=f"properties/{emulator.test_property}/keyEvent/2")


def test_accounts(emulator, emulator_clients):
    api = emulator_clients.admin_alpha
    acc = api.get_account(name=f"accounts/{emulator.test_account}")
    assert acc.display_name == "Test Account"
    assert [a.name for a in api.list_accounts()] == [f"accounts/{emulator.test_account}"]


# ----------------------------------------------------------------------------- data streams
@pytest.mark.parametrize("attr,m", VERSIONS)
def test_data_streams(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    streams = list(api.list_data_streams(parent=f"properties/{emulator.test_property}"))
    name = f"properties/{emulator.test_property}/dataStreams/{emulator.test_stream}"
    assert [s.name for s in streams] == [name]
    s = api.get_data_stream(name=name)
    assert s.type_ == m.DataStream.DataStreamType.WEB_DATA_STREAM
    assert s.web_stream_data.default_uri == "https://shop.example.com"
    assert s.web_stream_data.measurement_id.startswith("G-")
    assert s.display_name == "Test Shop web"
    with pytest.raises(errors.NotFoundError):
        api.get_data_stream(name=f"properties/{emulator.test_property}/dataStreams/1")


# ----------------------------------------------------------------------------- key events
@pytest.mark.parametrize("attr,m", VERSIONS)
def test_purchase_is_a_default_key_event(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    events = list(api.list_key_events(parent=f"properties/{emulator.test_property}"))
    assert [e.event_name for e in events] == ["purchase"]
    purchase = events[0]
    assert purchase.deletable is False and purchase.custom is False
    assert purchase.counting_method == m.KeyEvent.CountingMethod.ONCE_PER_EVENT
    assert purchase.name.startswith(f"properties/{emulator.test_property}/keyEvents/")
    with pytest.raises(errors.ApiError) as err:
        api.delete_key_event(name=purchase.name)
    assert err.value.status == "FAILED_PRECONDITION"
    assert "cannot be deleted" in err.value.message


@pytest.mark.parametrize("attr,m", VERSIONS)
def test_key_event_lifecycle(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    parent = f"properties/{emulator.test_property}"
    created = api.create_key_event(parent=parent, key_event=m.KeyEvent(
        event_name="sign_up", counting_method=m.KeyEvent.CountingMethod.ONCE_PER_SESSION,
        default_value=m.KeyEvent.DefaultValue(numeric_value=2.5, currency_code="EUR")))
    assert created.name.startswith(parent + "/keyEvents/")
    assert created.event_name == "sign_up"
    assert created.custom is True and created.deletable is True
    assert created.create_time
    assert created.default_value.numeric_value == 2.5 and created.default_value.currency_code == "EUR"

    got = api.get_key_event(name=created.name)
    assert got.counting_method == m.KeyEvent.CountingMethod.ONCE_PER_SESSION
    assert [e.event_name for e in api.list_key_events(parent=parent)] == ["purchase", "sign_up"]

    updated = api.update_key_event(
        key_event=m.KeyEvent(name=created.name, counting_method=m.KeyEvent.CountingMethod.ONCE_PER_EVENT,
                             default_value=m.KeyEvent.DefaultValue(numeric_value=4, currency_code="USD")),
        update_mask=_mask("counting_method", "default_value"))
    assert updated.counting_method == m.KeyEvent.CountingMethod.ONCE_PER_EVENT
    assert updated.default_value.currency_code == "USD" and updated.default_value.numeric_value == 4
    # Only the fields in the mask change.
    only_counting = api.update_key_event(
        key_event=m.KeyEvent(name=created.name, counting_method=m.KeyEvent.CountingMethod.ONCE_PER_SESSION),
        update_mask=_mask("counting_method"))
    assert only_counting.default_value.currency_code == "USD"
    # Clearing the default value.
    cleared = api.update_key_event(key_event=m.KeyEvent(name=created.name), update_mask=_mask("default_value"))
    assert "default_value" not in cleared

    api.delete_key_event(name=created.name)
    with pytest.raises(errors.NotFoundError):
        api.get_key_event(name=created.name)
    assert [e.event_name for e in api.list_key_events(parent=parent)] == ["purchase"]


@pytest.mark.parametrize("attr,m", VERSIONS)
def test_key_event_update_rules(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    ke = api.create_key_event(parent=f"properties/{emulator.test_property}",
                              key_event=m.KeyEvent(event_name="lead", counting_method="ONCE_PER_EVENT"))
    with pytest.raises(errors.InvalidArgumentError, match="immutable"):
        api.update_key_event(key_event=m.KeyEvent(name=ke.name, event_name="other"), update_mask=_mask("event_name"))
    with pytest.raises(errors.InvalidArgumentError, match="update_mask"):
        api.update_key_event(key_event=m.KeyEvent(name=ke.name, counting_method="ONCE_PER_SESSION"))
    with pytest.raises(errors.InvalidArgumentError, match="counting_method"):
        api.update_key_event(key_event=m.KeyEvent(name=ke.name), update_mask=_mask("counting_method"))
    with pytest.raises(errors.InvalidArgumentError, match="currency"):
        api.update_key_event(key_event=m.KeyEvent(name=ke.name, default_value={"numeric_value": 1}),
                             update_mask=_mask("default_value"))
    assert api.get_key_event(name=ke.name).counting_method == m.KeyEvent.CountingMethod.ONCE_PER_EVENT


@pytest.mark.parametrize("attr,m", VERSIONS)
def test_key_event_create_is_validated(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    parent = f"properties/{emulator.test_property}"

    def create(**fields):
        fields.setdefault("counting_method", "ONCE_PER_EVENT")
        return api.create_key_event(parent=parent, key_event=m.KeyEvent(**fields))

    with pytest.raises(errors.InvalidArgumentError, match="counting_method"):
        create(event_name="lead", counting_method="COUNTING_METHOD_UNSPECIFIED")
    with pytest.raises(errors.InvalidArgumentError, match="currency_code"):
        create(event_name="lead", default_value={"numeric_value": 3})
    with pytest.raises(errors.InvalidArgumentError, match="ISO 4217"):
        create(event_name="lead", default_value={"numeric_value": 3, "currency_code": "EURO"})
    with pytest.raises(errors.AlreadyExistsError, match="purchase"):
        create(event_name="purchase")
    create(event_name="lead")
    with pytest.raises(errors.AlreadyExistsError):
        create(event_name="lead", counting_method="ONCE_PER_SESSION")
    # Event names are case-sensitive: "Lead" is another event.
    assert create(event_name="Lead").event_name == "Lead"


@pytest.mark.parametrize("name,fragment", [
    ("", "required"),
    ("1st_visit", "start with a letter"),
    ("sign-up", "letters, digits and underscores"),
    ("sign up", "letters, digits and underscores"),
    ("a" * 41, "at most 40"),
    ("_private", "reserved prefix '_'"),
    ("firebase_thing", "reserved prefix 'firebase_'"),
    ("ga_thing", "reserved prefix 'ga_'"),
    ("google_thing", "reserved prefix 'google_'"),
    ("gtag.thing", "reserved prefix 'gtag.'"),
])
def test_key_event_names_follow_ga4_rules(emulator, emulator_clients, name, fragment):
    with pytest.raises(errors.InvalidArgumentError) as err:
        emulator_clients.admin.create_key_event(
            parent=f"properties/{emulator.test_property}",
            key_event=admin_v1beta.KeyEvent(event_name=name, counting_method="ONCE_PER_EVENT"))
    assert fragment in err.value.message


def test_forty_character_name_is_fine_and_page_view_may_be_a_key_event(emulator, emulator_clients):
    parent = f"properties/{emulator.test_property}"
    for name in ("a" * 40, "page_view", "first_visit"):
        ke = emulator_clients.admin.create_key_event(
            parent=parent, key_event=admin_v1beta.KeyEvent(event_name=name, counting_method="ONCE_PER_EVENT"))
        assert ke.event_name == name


@pytest.mark.parametrize("level,cap", [("STANDARD", 30), ("PREMIUM", 50)])
def test_custom_key_event_cap(emulator, emulator_clients, level, cap):
    pid = emulator.admin.create_property(emulator.test_account, f"Cap {level}", service_level=level)
    for i in range(cap - 1):
        emulator.admin.create_key_event(pid, f"goal_{i}", "ONCE_PER_EVENT")
    api = emulator_clients.admin

    def create(name):
        return api.create_key_event(parent=f"properties/{pid}",
                                    key_event=admin_v1beta.KeyEvent(event_name=name, counting_method="ONCE_PER_EVENT"))

    create("last_one")  # the cap-th custom key event; purchase does not count
    with pytest.raises(errors.ApiError) as err:
        create("one_too_many")
    assert err.value.status == "FAILED_PRECONDITION"
    assert str(cap) in err.value.message
    # A default (non-custom) key event is not capped.
    assert create("first_open").custom is False
    # Deleting a custom one frees a slot.
    victim = next(k for k in api.list_key_events(parent=f"properties/{pid}") if k.event_name == "goal_0")
    api.delete_key_event(name=victim.name)
    assert create("one_too_many").custom is True


# ----------------------------------------------------------------------------- paging
def test_paging_defaults_max_and_bad_tokens(emulator, emulator_clients):
    pid = emulator.admin.create_property(emulator.test_account, "Many", service_level="PREMIUM")
    for i in range(50):
        emulator.admin.create_key_event(pid, f"goal_{i:02d}", "ONCE_PER_EVENT")
    raw = emulator_clients.admin.raw
    parent = f"properties/{pid}"

    first = raw.list_key_events(request={"parent": parent})
    assert len(first.key_events) == 50 and first.next_page_token  # default page size 50
    assert len(list(first)) == 51  # the pager follows the token

    big = raw.list_key_events(request={"parent": parent, "page_size": 1000})
    assert len(big.key_events) == 51 and not big.next_page_token  # 1000 is coerced to 200

    names, token, pages = [], "", 0
    while True:
        resp = raw.list_key_events(request={"parent": parent, "page_size": 20, "page_token": token})
        names += [k.event_name for k in resp.key_events]
        pages += 1
        token = resp.next_page_token
        if not token:
            break
    assert pages == 3 and len(names) == 51 and len(set(names)) == 51

    api = emulator_clients.admin
    with pytest.raises(errors.InvalidArgumentError, match="page token"):
        list(api.list_key_events(request={"parent": parent, "page_token": "not-a-token"}))
    # A token from another list call does not fit.
    other_token = raw.list_key_events(request={"parent": parent, "page_size": 1}).next_page_token
    with pytest.raises(errors.InvalidArgumentError, match="page token"):
        list(api.list_data_streams(request={"parent": parent, "page_token": other_token}))


# ----------------------------------------------------------------------------- event create rules (v1alpha)
def _rule(m=admin_v1alpha, destination="view_pricing", conditions=None, mutations=(), copy=True):
    conditions = conditions if conditions is not None else [
        m.MatchingCondition(field="event_name", comparison_type="EQUALS", value="page_view"),
        m.MatchingCondition(field="page_location", comparison_type="CONTAINS", value="/pricing"),
    ]
    return m.EventCreateRule(destination_event=destination, event_conditions=conditions,
                             source_copy_parameters=copy,
                             parameter_mutations=[m.ParameterMutation(parameter=p, parameter_value=v)
                                                  for p, v in mutations])


def test_event_create_rule_lifecycle(emulator, emulator_clients):
    api = emulator_clients.admin_alpha
    parent = f"properties/{emulator.test_property}/dataStreams/{emulator.test_stream}"
    created = api.create_event_create_rule(parent=parent, event_create_rule=_rule(mutations=[("plan", "pro")]))
    assert created.name.startswith(parent + "/eventCreateRules/")
    assert created.destination_event == "view_pricing"
    assert [(c.field, c.comparison_type.name, c.value) for c in created.event_conditions] == [
        ("event_name", "EQUALS", "page_view"), ("page_location", "CONTAINS", "/pricing")]
    assert created.source_copy_parameters is True
    assert [(p.parameter, p.parameter_value) for p in created.parameter_mutations] == [("plan", "pro")]

    assert api.get_event_create_rule(name=created.name).destination_event == "view_pricing"
    assert [r.name for r in api.list_event_create_rules(parent=parent)] == [created.name]

    # The rule reaches the data side with its creation time.
    info = emulator.admin.property_info(emulator.test_property)
    assert [(r.stream_id, r.destination_event) for r in info.rules] == [(emulator.test_stream, "view_pricing")]
    assert info.rules[0].conditions[1] == ("page_location", "CONTAINS", "/pricing", False)
    assert info.rules[0].create_time.tzinfo is not None

    changed = api.update_event_create_rule(
        event_create_rule=admin_v1alpha.EventCreateRule(
            name=created.name, destination_event="view_plans",
            event_conditions=[admin_v1alpha.MatchingCondition(field="page_location", comparison_type="ENDS_WITH",
                                                              value="/plans", negated=True)]),
        update_mask=_mask("destination_event", "event_conditions"))
    assert changed.destination_event == "view_plans"
    assert changed.event_conditions[0].negated is True
    assert changed.source_copy_parameters is True  # not in the mask: unchanged
    with pytest.raises(errors.InvalidArgumentError, match="update_mask"):
        api.update_event_create_rule(event_create_rule=admin_v1alpha.EventCreateRule(name=created.name))
    with pytest.raises(errors.InvalidArgumentError, match="automatically"):
        api.update_event_create_rule(
            event_create_rule=admin_v1alpha.EventCreateRule(name=created.name, destination_event="scroll"),
            update_mask=_mask("destination_event"))

    api.delete_event_create_rule(name=created.name)
    with pytest.raises(errors.NotFoundError):
        api.get_event_create_rule(name=created.name)
    assert list(api.list_event_create_rules(parent=parent)) == []


def _cond(i=0):
    return admin_v1alpha.MatchingCondition(field="event_name", comparison_type="EQUALS", value=f"e{i}")


@pytest.mark.parametrize("rule,fragment", [
    (_rule(destination="page_view"), "automatically"),
    (_rule(destination="view_search_results"), "automatically"),
    (_rule(destination="form_submit"), "automatically"),
    (_rule(destination="a" * 40), "less than 40"),
    (_rule(destination="9lives"), "start with a letter"),
    (_rule(destination="view-pricing"), "letters, digits and underscores"),
    (_rule(destination="ga_pricing"), "reserved prefix"),
    (_rule(destination=""), "required"),
    (_rule(conditions=[]), "at least one condition"),
    (_rule(conditions=[_cond(i) for i in range(11)]), "at most 10"),
    (_rule(mutations=[(f"p{i}", "x") for i in range(21)]), "at most 20"),
    (_rule(mutations=[("p", "x"), ("p", "y")]), "more than one mutation"),
    (_rule(conditions=[admin_v1alpha.MatchingCondition(field="page_location", comparison_type="REGULAR_EXPRESSION",
                                                       value="(unclosed")]), "regular expression"),
    (_rule(conditions=[admin_v1alpha.MatchingCondition(field="value", comparison_type="GREATER_THAN",
                                                       value="lots")]), "must be a number"),
    (_rule(conditions=[admin_v1alpha.MatchingCondition(field="event_name", value="x")]), "comparison_type"),
    (_rule(conditions=[admin_v1alpha.MatchingCondition(field="page location", comparison_type="CONTAINS",
                                                       value="x")]), "spaces"),
    (_rule(conditions=[admin_v1alpha.MatchingCondition(field="event_name", comparison_type="EQUALS")]),
     "value is required"),
    (_rule(mutations=[("p" * 40, "x")]), "less than 40"),
    (_rule(mutations=[("plan", "x" * 100)]), "less than 100"),
    (_rule(mutations=[("plan", "")]), "parameter_value is required"),
])
def test_event_create_rules_are_validated(emulator, emulator_clients, rule, fragment):
    parent = f"properties/{emulator.test_property}/dataStreams/{emulator.test_stream}"
    with pytest.raises(errors.InvalidArgumentError) as err:
        emulator_clients.admin_alpha.create_event_create_rule(parent=parent, event_create_rule=rule)
    assert fragment in err.value.message
    assert emulator.admin.property_info(emulator.test_property).rules == []


def test_event_create_rule_limits_that_pass(emulator, emulator_clients):
    parent = f"properties/{emulator.test_property}/dataStreams/{emulator.test_stream}"
    rule = _rule(destination="a" * 39, conditions=[_cond(i) for i in range(10)],
                 mutations=[(f"p{i}", "x") for i in range(20)])
    created = emulator_clients.admin_alpha.create_event_create_rule(parent=parent, event_create_rule=rule)
    assert len(created.event_conditions) == 10 and len(created.parameter_mutations) == 20


def test_event_create_rule_needs_an_existing_stream(emulator, emulator_clients):
    with pytest.raises(errors.NotFoundError):
        emulator_clients.admin_alpha.create_event_create_rule(
            parent=f"properties/{emulator.test_property}/dataStreams/42", event_create_rule=_rule())


# ----------------------------------------------------------------------------- retention, enhanced measurement
@pytest.mark.parametrize("attr,m", VERSIONS)
def test_data_retention(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    name = f"properties/{emulator.test_property}/dataRetentionSettings"
    rd = m.DataRetentionSettings.RetentionDuration
    current = api.get_data_retention_settings(name=name)
    assert current.event_data_retention == rd.TWO_MONTHS
    assert current.reset_user_data_on_new_activity is True
    updated = api.update_data_retention_settings(
        data_retention_settings=m.DataRetentionSettings(name=name, event_data_retention=rd.FOURTEEN_MONTHS,
                                                        reset_user_data_on_new_activity=False),
        update_mask=_mask("event_data_retention", "reset_user_data_on_new_activity"))
    assert updated.event_data_retention == rd.FOURTEEN_MONTHS
    assert updated.reset_user_data_on_new_activity is False
    assert api.get_data_retention_settings(name=name).event_data_retention == rd.FOURTEEN_MONTHS
    with pytest.raises(errors.InvalidArgumentError, match="FOURTEEN_MONTHS"):
        api.update_data_retention_settings(
            data_retention_settings=m.DataRetentionSettings(name=name, event_data_retention=rd.FIFTY_MONTHS),
            update_mask=_mask("event_data_retention"))


def test_longer_retention_on_360(emulator, emulator_clients):
    pid = emulator.admin.create_property(emulator.test_account, "Big", service_level="PREMIUM")
    name = f"properties/{pid}/dataRetentionSettings"
    rd = admin_v1beta.DataRetentionSettings.RetentionDuration
    updated = emulator_clients.admin.update_data_retention_settings(
        data_retention_settings=admin_v1beta.DataRetentionSettings(name=name, event_data_retention=rd.FIFTY_MONTHS),
        update_mask=_mask("event_data_retention"))
    assert updated.event_data_retention == rd.FIFTY_MONTHS


def test_enhanced_measurement(emulator, emulator_clients):
    api = emulator_clients.admin_alpha
    name = f"properties/{emulator.test_property}/dataStreams/{emulator.test_stream}/enhancedMeasurementSettings"
    current = api.get_enhanced_measurement_settings(name=name)
    assert current.stream_enabled and current.scrolls_enabled and current.file_downloads_enabled
    assert current.search_query_parameter
    updated = api.update_enhanced_measurement_settings(
        enhanced_measurement_settings=admin_v1alpha.EnhancedMeasurementSettings(name=name, scrolls_enabled=False),
        update_mask=_mask("scrolls_enabled"))
    assert updated.scrolls_enabled is False and updated.file_downloads_enabled is True
    assert api.get_enhanced_measurement_settings(name=name).scrolls_enabled is False
    with pytest.raises(errors.InvalidArgumentError):
        api.update_enhanced_measurement_settings(
            enhanced_measurement_settings=admin_v1alpha.EnhancedMeasurementSettings(name=name),
            update_mask=_mask("no_such_field"))


# ----------------------------------------------------------------------------- custom dimensions, Ads links
@pytest.mark.parametrize("attr,m", VERSIONS)
def test_custom_dimensions(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    parent = f"properties/{emulator.test_property}"
    cd = api.create_custom_dimension(parent=parent, custom_dimension=m.CustomDimension(
        parameter_name="plan_type", display_name="Plan type", scope=m.CustomDimension.DimensionScope.EVENT))
    assert cd.name.startswith(parent + "/customDimensions/")
    assert api.get_custom_dimension(name=cd.name).parameter_name == "plan_type"
    assert [d.display_name for d in api.list_custom_dimensions(parent=parent)] == ["Plan type"]
    with pytest.raises(errors.AlreadyExistsError):
        api.create_custom_dimension(parent=parent, custom_dimension=m.CustomDimension(
            parameter_name="plan_type", display_name="Plan again", scope=m.CustomDimension.DimensionScope.EVENT))
    with pytest.raises(errors.InvalidArgumentError, match="scope"):
        api.create_custom_dimension(parent=parent, custom_dimension=m.CustomDimension(
            parameter_name="tier", display_name="Tier"))
    with pytest.raises(errors.InvalidArgumentError, match="parameter_name"):
        api.create_custom_dimension(parent=parent, custom_dimension=m.CustomDimension(
            parameter_name="bad-name", display_name="Bad", scope=m.CustomDimension.DimensionScope.EVENT))
    with pytest.raises(errors.InvalidArgumentError, match="at most 24"):
        api.create_custom_dimension(parent=parent, custom_dimension=m.CustomDimension(
            parameter_name="u" * 25, display_name="Long user", scope=m.CustomDimension.DimensionScope.USER))
    with pytest.raises(errors.InvalidArgumentError, match="user-scoped"):
        api.create_custom_dimension(parent=parent, custom_dimension=m.CustomDimension(
            parameter_name="npa", display_name="NPA", scope=m.CustomDimension.DimensionScope.EVENT,
            disallow_ads_personalization=True))
    user = api.create_custom_dimension(parent=parent, custom_dimension=m.CustomDimension(
        parameter_name="plan_type", display_name="Plan type user", scope=m.CustomDimension.DimensionScope.USER,
        disallow_ads_personalization=True))
    assert user.scope == m.CustomDimension.DimensionScope.USER and user.disallow_ads_personalization


def test_event_scoped_custom_dimension_cap(emulator, emulator_clients):
    for i in range(50):
        emulator.admin.create_custom_dimension(emulator.test_property, f"p{i}", f"P {i}", "EVENT")
    with pytest.raises(errors.ApiError) as err:
        emulator_clients.admin.create_custom_dimension(
            parent=f"properties/{emulator.test_property}",
            custom_dimension=admin_v1beta.CustomDimension(parameter_name="one_more", display_name="One more",
                                                          scope=admin_v1beta.CustomDimension.DimensionScope.EVENT))
    assert err.value.status == "FAILED_PRECONDITION" and "50" in err.value.message


@pytest.mark.parametrize("attr,m", VERSIONS)
def test_google_ads_links(emulator, emulator_clients, attr, m):
    api = _api(emulator_clients, attr)
    parent = f"properties/{emulator.test_property}"
    assert list(api.list_google_ads_links(parent=parent)) == []
    link = api.create_google_ads_link(parent=parent, google_ads_link=m.GoogleAdsLink(customer_id="1234567890"))
    assert link.name.startswith(parent + "/googleAdsLinks/")
    assert link.ads_personalization_enabled is True
    assert link.creator_email_address == "owner@ga4kit.local"
    assert [x.customer_id for x in api.list_google_ads_links(parent=parent)] == ["1234567890"]
    with pytest.raises(errors.AlreadyExistsError):
        api.create_google_ads_link(parent=parent, google_ads_link=m.GoogleAdsLink(customer_id="1234567890"))
    with pytest.raises(errors.InvalidArgumentError, match="10 digits"):
        api.create_google_ads_link(parent=parent, google_ads_link=m.GoogleAdsLink(customer_id="123-456-7890"))


# ----------------------------------------------------------------------------- access and scopes
def test_access_is_checked_per_property(emulator, tmp_path):
    pid = emulator.test_property
    emulator.admin.set_access(pid, ["reader@agency.example"])
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "reader@agency.example"}))

    with make_clients(emulator=emulator.address) as owner:
        with pytest.raises(errors.PermissionDeniedError) as err:
            owner.admin.get_property(name=f"properties/{pid}")
        assert "sufficient permissions" in err.value.message
        with pytest.raises(errors.PermissionDeniedError):
            list(owner.admin.list_key_events(parent=f"properties/{pid}"))
        assert list(owner.admin.list_account_summaries()) == []

    with make_clients(emulator=emulator.address, credentials_file=str(key)) as reader:
        assert reader.principal == "reader@agency.example"
        assert reader.admin.get_property(name=f"properties/{pid}").display_name == "Test Shop"
    assert [c.principal for c in emulator.calls][-1] == "reader@agency.example"


def test_writes_need_the_edit_scope(emulator):
    parent = f"properties/{emulator.test_property}"
    with make_clients(emulator=emulator.address, write=False) as readonly:
        assert [k.event_name for k in readonly.admin.list_key_events(parent=parent)] == ["purchase"]
        with pytest.raises(errors.PermissionDeniedError) as err:
            readonly.admin.create_key_event(parent=parent, key_event=admin_v1beta.KeyEvent(
                event_name="lead", counting_method="ONCE_PER_EVENT"))
        assert "insufficient authentication scopes" in err.value.message
        with pytest.raises(errors.PermissionDeniedError):
            readonly.admin_alpha.create_event_create_rule(
                parent=f"{parent}/dataStreams/{emulator.test_stream}", event_create_rule=_rule())
    assert [k["event_name"] for k in emulator.admin.list_key_events(emulator.test_property)] == ["purchase"]


# ----------------------------------------------------------------------------- persistence
def test_state_persists_across_restarts(tmp_path):
    state = tmp_path / "state"
    with Emulator(state_dir=state, demo=False) as emu:
        acc = emu.admin.create_account("Persisted")
        pid = emu.admin.create_property(acc, "Shop", currency="USD", time_zone="America/New_York")
        sid = emu.admin.create_web_stream(pid, "web", "https://p.example")
        with make_clients(emulator=emu.address, write=True) as c:
            ke = c.admin.create_key_event(parent=f"properties/{pid}", key_event=admin_v1beta.KeyEvent(
                event_name="lead", counting_method="ONCE_PER_SESSION",
                default_value={"numeric_value": 5, "currency_code": "USD"}))
            rule = c.admin_alpha.create_event_create_rule(parent=f"properties/{pid}/dataStreams/{sid}",
                                                          event_create_rule=_rule())
    assert (state / "admin.json").exists()
    assert not [p for p in os.listdir(state) if p.endswith(".tmp")]

    with Emulator(state_dir=state, demo=True) as again:  # existing state: no demo is generated
        assert again.admin.property_ids() == [pid]
        with make_clients(emulator=again.address, write=True) as c:
            got = c.admin.get_key_event(name=ke.name)
            assert got.event_name == "lead" and got.default_value.numeric_value == 5
            assert got.create_time == ke.create_time
            assert c.admin_alpha.get_event_create_rule(name=rule.name).destination_event == "view_pricing"
            assert c.admin.get_property(name=f"properties/{pid}").currency_code == "USD"
            # New ids never reuse old ones.
            new = c.admin.create_key_event(parent=f"properties/{pid}", key_event=admin_v1beta.KeyEvent(
                event_name="lead2", counting_method="ONCE_PER_EVENT"))
            assert new.name != ke.name
    info = again.admin.property_info(pid)
    assert info.key_events == {"purchase": "ONCE_PER_EVENT", "lead": "ONCE_PER_SESSION", "lead2": "ONCE_PER_EVENT"}
    assert info.rules[0].create_time == rule_create_time(state, rule.name)


def rule_create_time(state, name):
    from datetime import datetime

    data = json.loads((state / "admin.json").read_text())
    pid, sid, rid = name.split("/")[1], name.split("/")[3], name.split("/")[5]
    return datetime.fromisoformat(data["properties"][pid]["streams"][sid]["rules"][rid]["create_time"])


def test_without_state_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Emulator(demo=False) as emu:
        acc = emu.admin.create_account("Memory")
        emu.admin.create_property(acc, "Shop")
    assert os.listdir(tmp_path) == []


def test_demo_events_and_admin_state_reload_from_the_state_dir(tmp_path):
    state = tmp_path / "state"
    first = Emulator(state_dir=state, days=2, users=30, seed=5)
    pid = first.demo_property_ids[0]
    count = first.store.count(pid)
    assert count > 0 and (state / "admin.json").exists()
    first.admin.create_key_event(pid, "lead", "ONCE_PER_EVENT")
    again = Emulator(state_dir=state, days=9, users=999, seed=6)  # options for a new demo are ignored
    assert again.admin.property_ids() == first.admin.property_ids()
    assert again.store.count(pid) == count
    assert "lead" in again.admin.property_info(pid).key_events


@pytest.mark.parametrize("content", ['{"version": 99}', "{half", "[]"])
def test_damaged_state_file_is_refused(tmp_path, content):
    (tmp_path / "admin.json").write_text(content)
    with pytest.raises(ValueError, match="not an emulator state file"):
        Emulator(state_dir=tmp_path, demo=False)


def test_concurrent_writes_are_consistent(emulator, emulator_clients):
    import threading

    pid = emulator.admin.create_property(emulator.test_account, "Busy", service_level="PREMIUM")
    results, lock = [], threading.Lock()

    def work(i):
        for name in (f"goal_{i}_a", f"goal_{i}_b", "contested"):
            try:
                emulator_clients.admin.create_key_event(parent=f"properties/{pid}", key_event=admin_v1beta.KeyEvent(
                    event_name=name, counting_method="ONCE_PER_EVENT"))
                outcome = "ok"
            except errors.AlreadyExistsError:
                outcome = "exists"
            with lock:
                results.append((name, outcome))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    contested = [o for n, o in results if n == "contested"]
    assert contested.count("ok") == 1 and contested.count("exists") == 7
    listed = list(emulator_clients.admin.list_key_events(parent=f"properties/{pid}"))
    assert len(listed) == 1 + 16 + 1
    assert len({k.name for k in listed}) == len(listed)

"""Custom dimensions and custom metrics through Google's real Admin clients: create, update, archive, list,
with GA4's field rules and per-property limits (archived definitions free their slot)."""

from __future__ import annotations

import pytest
from google.analytics import admin_v1beta
from google.api_core import exceptions as gexc

from emulator_admin_support import VERSIONS, mask, start_world, stop_world

EVENT = admin_v1beta.CustomDimension.DimensionScope.EVENT
USER = admin_v1beta.CustomDimension.DimensionScope.USER
ITEM = admin_v1beta.CustomDimension.DimensionScope.ITEM


@pytest.fixture(scope="module")
def world():
    w = start_world()
    yield w
    stop_world(w)


def _dim(m, param="plan", name="Plan", scope=EVENT, **kw):
    return m.CustomDimension(parameter_name=param, display_name=name, scope=scope, **kw)


def _metric(m, param="basket_size", name="Basket size", unit="STANDARD", **kw):
    return m.CustomMetric(parameter_name=param, display_name=name, measurement_unit=unit, scope="EVENT", **kw)


# ----------------------------------------------------------------------------- custom dimensions
@pytest.mark.parametrize("m", VERSIONS)
def test_custom_dimension_update_and_archive(world, m):
    api = world.client(m)
    parent = f"properties/{world.new_property()}"
    cd = api.create_custom_dimension(parent=parent, custom_dimension=_dim(m, description="Pricing plan"))
    changed = api.update_custom_dimension(
        custom_dimension=m.CustomDimension(name=cd.name, display_name="Plan name", description="Chosen plan"),
        update_mask=mask("display_name", "description"))
    assert (changed.display_name, changed.description, changed.parameter_name) == ("Plan name", "Chosen plan", "plan")
    assert api.get_custom_dimension(name=cd.name) == changed
    api.archive_custom_dimension(name=cd.name)
    with pytest.raises(gexc.NotFound):
        api.get_custom_dimension(name=cd.name)
    assert list(api.list_custom_dimensions(parent=parent)) == []
    with pytest.raises(gexc.NotFound):
        api.archive_custom_dimension(name=cd.name)
    again = api.create_custom_dimension(parent=parent, custom_dimension=_dim(m))  # the parameter is free again
    assert again.name != cd.name


@pytest.mark.parametrize("path,fields,fragment", [
    ("parameter_name", {"parameter_name": "other"}, "immutable"),
    ("scope", {"scope": USER}, "immutable"),
    ("display_name", {"display_name": "1 bad start"}, "display_name"),
    ("display_name", {"display_name": "Has [brackets]"}, "display_name"),
    ("description", {"description": "x" * 151}, "150"),
    ("disallow_ads_personalization", {"disallow_ads_personalization": True}, "user-scoped"),
    ("name", {}, "immutable"),
    (None, {}, "update_mask"),
])
def test_custom_dimension_update_is_validated(world, path, fields, fragment):
    parent = f"properties/{world.new_property()}"
    cd = world.beta.create_custom_dimension(parent=parent, custom_dimension=_dim(admin_v1beta))
    kwargs = {"update_mask": mask(path)} if path else {}
    with pytest.raises(gexc.InvalidArgument, match=fragment):
        world.beta.update_custom_dimension(custom_dimension=admin_v1beta.CustomDimension(name=cd.name, **fields),
                                           **kwargs)
    assert world.beta.get_custom_dimension(name=cd.name).display_name == "Plan"


@pytest.mark.parametrize("scope,cap", [(EVENT, 50), (USER, 25), (ITEM, 10)])
def test_custom_dimension_limits_per_scope_and_archiving_frees_a_slot(world, scope, cap):
    pid = world.new_property()
    parent = f"properties/{pid}"
    for i in range(cap):
        world.emu.admin.create_custom_dimension(pid, f"p{i}", f"P {i}", scope.name)
    with pytest.raises(gexc.FailedPrecondition, match=f"maximum of {cap} {scope.name.lower()}-scoped"):
        world.beta.create_custom_dimension(parent=parent, custom_dimension=_dim(admin_v1beta, "one_more",
                                                                                 scope=scope))
    other = USER if scope != USER else EVENT  # other scopes have their own limit
    world.beta.create_custom_dimension(parent=parent, custom_dimension=_dim(admin_v1beta, "other", scope=other))
    first = next(iter(world.beta.list_custom_dimensions(parent=parent)))
    world.beta.archive_custom_dimension(name=first.name)
    world.beta.create_custom_dimension(parent=parent, custom_dimension=_dim(admin_v1beta, "one_more", scope=scope))


def test_360_properties_have_larger_dimension_limits(world):
    pid = world.new_property("Big", service_level="PREMIUM")
    for i in range(100):
        world.emu.admin.create_custom_dimension(pid, f"u{i}", f"U {i}", "USER")
    with pytest.raises(gexc.FailedPrecondition, match="maximum of 100 user-scoped"):
        world.beta.create_custom_dimension(parent=f"properties/{pid}",
                                           custom_dimension=_dim(admin_v1beta, "one_more", scope=USER))


def test_list_custom_dimensions_pages(world):
    pid = world.new_property()
    for i in range(7):
        world.emu.admin.create_custom_dimension(pid, f"p{i}", f"P {i}", "EVENT")
    pager = world.alpha.list_custom_dimensions(request={"parent": f"properties/{pid}", "page_size": 3})
    assert [len(p.custom_dimensions) for p in pager.pages] == [3, 3, 1]


# ----------------------------------------------------------------------------- custom metrics
@pytest.mark.parametrize("m", VERSIONS)
def test_custom_metric_lifecycle(world, m):
    api = world.client(m)
    parent = f"properties/{world.new_property()}"
    cm = api.create_custom_metric(parent=parent, custom_metric=_metric(m, description="Items per order"))
    assert cm.name.startswith(parent + "/customMetrics/")
    assert cm.measurement_unit == m.CustomMetric.MeasurementUnit.STANDARD
    assert cm.scope == m.CustomMetric.MetricScope.EVENT
    assert api.get_custom_metric(name=cm.name) == cm
    assert [x.parameter_name for x in api.list_custom_metrics(parent=parent)] == ["basket_size"]
    money = api.update_custom_metric(
        custom_metric=m.CustomMetric(name=cm.name, measurement_unit="CURRENCY", restricted_metric_type=["REVENUE_DATA"]),
        update_mask=mask("measurement_unit", "restricted_metric_type"))
    assert money.measurement_unit == m.CustomMetric.MeasurementUnit.CURRENCY
    assert list(money.restricted_metric_type) == [m.CustomMetric.RestrictedMetricType.REVENUE_DATA]
    assert money.display_name == "Basket size"
    with pytest.raises(gexc.AlreadyExists):
        api.create_custom_metric(parent=parent, custom_metric=_metric(m, name="Again"))
    api.archive_custom_metric(name=cm.name)
    assert list(api.list_custom_metrics(parent=parent)) == []
    with pytest.raises(gexc.NotFound):
        api.get_custom_metric(name=cm.name)


@pytest.mark.parametrize("fields,fragment", [
    ({"scope": "METRIC_SCOPE_UNSPECIFIED"}, "scope is required"),
    ({"measurement_unit": "MEASUREMENT_UNIT_UNSPECIFIED"}, "measurement_unit is required"),
    ({"parameter_name": ""}, "parameter_name is required"),
    ({"parameter_name": "p" * 41}, "at most 40"),
    ({"parameter_name": "9lives"}, "parameter_name"),
    ({"display_name": ""}, "display_name is required"),
    ({"measurement_unit": "CURRENCY"}, "restricted_metric_type is required"),
    ({"restricted_metric_type": ["COST_DATA"]}, "must be empty"),
])
def test_custom_metric_create_is_validated(world, fields, fragment):
    base = dict(parameter_name="basket_size", display_name="Basket size", measurement_unit="STANDARD", scope="EVENT")
    base.update(fields)
    with pytest.raises(gexc.InvalidArgument, match=fragment):
        world.beta.create_custom_metric(parent=f"properties/{world.new_property()}",
                                        custom_metric=admin_v1beta.CustomMetric(**base))


@pytest.mark.parametrize("path,fragment", [("parameter_name", "immutable"), ("scope", "immutable"),
                                           ("no_field", "updatable fields")])
def test_custom_metric_update_refuses_immutable_fields(world, path, fragment):
    cm = world.beta.create_custom_metric(parent=f"properties/{world.new_property()}",
                                         custom_metric=_metric(admin_v1beta))
    with pytest.raises(gexc.InvalidArgument, match=fragment):
        world.beta.update_custom_metric(custom_metric=admin_v1beta.CustomMetric(name=cm.name, parameter_name="x"),
                                        update_mask=mask(path))


@pytest.mark.parametrize("level,cap", [("STANDARD", 50), ("PREMIUM", 125)])
def test_custom_metric_limit(world, level, cap):
    pid = world.new_property(service_level=level)
    for i in range(cap):
        world.emu.admin.create_custom_metric(pid, f"m{i}", f"M {i}", "STANDARD")
    with pytest.raises(gexc.FailedPrecondition, match=f"maximum of {cap} custom metrics"):
        world.beta.create_custom_metric(parent=f"properties/{pid}", custom_metric=_metric(admin_v1beta))
    first = next(iter(world.beta.list_custom_metrics(parent=f"properties/{pid}")))
    world.beta.archive_custom_metric(name=first.name)
    world.beta.create_custom_metric(parent=f"properties/{pid}", custom_metric=_metric(admin_v1beta))

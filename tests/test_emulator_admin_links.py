"""Links from a property to other Google products, through Google's real Admin clients: Google Ads links
(update, delete) and BigQuery links (v1alpha only: create, get, list, update, delete)."""

from __future__ import annotations

import pytest
from google.analytics import admin_v1alpha
from google.api_core import exceptions as gexc

from emulator_admin_support import VERSIONS, mask, start_world, stop_world

BQ = admin_v1alpha.BigQueryLink


@pytest.fixture(scope="module")
def world():
    w = start_world()
    yield w
    stop_world(w)


# ----------------------------------------------------------------------------- Google Ads links
@pytest.mark.parametrize("m", VERSIONS)
def test_google_ads_link_update_and_delete(world, m):
    api = world.client(m)
    parent = f"properties/{world.new_property()}"
    link = api.create_google_ads_link(parent=parent, google_ads_link=m.GoogleAdsLink(
        customer_id="1234567890", ads_personalization_enabled=False))
    assert link.ads_personalization_enabled is False
    on = api.update_google_ads_link(google_ads_link=m.GoogleAdsLink(name=link.name, ads_personalization_enabled=True),
                                    update_mask=mask("ads_personalization_enabled"))
    assert on.ads_personalization_enabled is True and on.update_time >= link.update_time
    with pytest.raises(gexc.InvalidArgument, match="immutable"):
        api.update_google_ads_link(google_ads_link=m.GoogleAdsLink(name=link.name, customer_id="0987654321"),
                                   update_mask=mask("customer_id"))
    with pytest.raises(gexc.InvalidArgument, match="output only"):
        api.update_google_ads_link(google_ads_link=m.GoogleAdsLink(name=link.name, can_manage_clients=True),
                                   update_mask=mask("can_manage_clients"))
    api.delete_google_ads_link(name=link.name)
    assert list(api.list_google_ads_links(parent=parent)) == []
    with pytest.raises(gexc.NotFound):
        api.delete_google_ads_link(name=link.name)
    api.create_google_ads_link(parent=parent, google_ads_link=m.GoogleAdsLink(customer_id="1234567890"))


# ----------------------------------------------------------------------------- BigQuery links (v1alpha)
def test_bigquery_link_lifecycle(world):
    api = world.alpha
    pid = world.new_property()
    parent = f"properties/{pid}"
    stream = f"{parent}/dataStreams/{world.stream_of(pid)}"
    link = api.create_big_query_link(parent=parent, bigquery_link=BQ(
        project="projects/my-analytics", dataset_location="europe-west3", daily_export_enabled=True,
        export_streams=[stream], excluded_events=["scroll"]))
    assert link.name.startswith(parent + "/bigQueryLinks/")
    assert link.project.startswith("projects/") and link.project.split("/")[1].isdigit()  # id -> number
    assert (link.daily_export_enabled, link.streaming_export_enabled) == (True, False)
    assert list(link.export_streams) == [stream] and list(link.excluded_events) == ["scroll"]
    assert link.create_time
    assert api.get_big_query_link(name=link.name) == link
    assert [x.name for x in api.list_big_query_links(parent=parent)] == [link.name]
    with pytest.raises(gexc.AlreadyExists, match="already linked"):
        api.create_big_query_link(parent=parent, bigquery_link=BQ(project="projects/123456",
                                                                  dataset_location="US"))

    changed = api.update_big_query_link(bigquery_link=BQ(name=link.name, streaming_export_enabled=True,
                                                         excluded_events=[]),
                                        update_mask=mask("streaming_export_enabled", "excluded_events"))
    assert changed.streaming_export_enabled and list(changed.excluded_events) == []
    assert changed.daily_export_enabled and changed.project == link.project
    for path in ("project", "dataset_location"):
        with pytest.raises(gexc.InvalidArgument, match="immutable"):
            api.update_big_query_link(bigquery_link=BQ(name=link.name, dataset_location="US"),
                                      update_mask=mask(path))
    with pytest.raises(gexc.FailedPrecondition, match="360"):
        api.update_big_query_link(bigquery_link=BQ(name=link.name, fresh_daily_export_enabled=True),
                                  update_mask=mask("fresh_daily_export_enabled"))
    api.delete_big_query_link(name=link.name)
    with pytest.raises(gexc.NotFound):
        api.get_big_query_link(name=link.name)
    with pytest.raises(gexc.NotFound):
        api.delete_big_query_link(name=link.name)
    assert list(api.list_big_query_links(parent=parent)) == []


@pytest.mark.parametrize("fields,fragment", [
    ({"project": ""}, "project is required"),
    ({"project": "my-project"}, "projects/"),
    ({"dataset_location": ""}, "dataset_location is required"),
    ({"dataset_location": "Moon"}, "not a BigQuery location"),
    ({"export_streams": ["properties/1/dataStreams/2"]}, "not a data stream"),
    ({"excluded_events": ["bad-name"]}, "excluded_events"),
])
def test_bigquery_link_create_is_validated(world, fields, fragment):
    base = dict(project="projects/123456", dataset_location="EU")
    base.update(fields)
    with pytest.raises(gexc.InvalidArgument, match=fragment):
        world.alpha.create_big_query_link(parent=f"properties/{world.new_property()}", bigquery_link=BQ(**base))


def test_fresh_daily_export_on_360(world):
    pid = world.new_property("Big", service_level="PREMIUM")
    link = world.alpha.create_big_query_link(parent=f"properties/{pid}", bigquery_link=BQ(
        project="projects/123456", dataset_location="US", fresh_daily_export_enabled=True))
    assert link.fresh_daily_export_enabled

"""The BigQuery path: Google's real google-cloud-bigquery client against a local stand-in of the REST endpoints
it calls for a query (jobs.query, jobs.getQueryResults, jobs.get), which runs the received SQL on DuckDB
after transpiling it. The text BigQuery would receive is the text the local path runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from bigquery_standin import BigQueryStandIn
from export_support import goals_yaml, planted_events, write_export
from ga4kit.cli import cli
from ga4kit.config import load
from ga4kit.errors import Ga4kitError
from ga4kit.export import export_chains
from ga4kit.export.bigquery import BigQueryRunner

PROJECT, DATASET = "shop-analytics", "analytics_400000001"
START, END = "2024-03-04", "2024-03-17"


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    root = tmp_path_factory.mktemp("bq")
    path = write_export(planted_events(1500, seed=3), root / "events.parquet")
    goals = root / "goals.yaml"
    goals.write_text(goals_yaml("400000001", START, END))
    return path, goals


@pytest.mark.parametrize("polls, page", [(0, None), (2, 7)])
def test_bigquery_results_equal_the_local_run_and_the_sent_text_is_the_tested_text(export, polls, page):
    path, goals = export
    config = load(goals)
    local = export_chains(config, path)
    with BigQueryStandIn(complete_after=polls, page_rows=page) as bq:
        bq.add_dataset(PROJECT, DATASET, path)
        runner = BigQueryRunner(f"bq://{PROJECT}.{DATASET}", endpoint=bq.endpoint)
        remote = export_chains(config, f"bq://{PROJECT}.{DATASET}", runner=runner)
        methods = [(m, "jobs" if "/jobs/" in p else "queries") for m, p, _ in bq.requests]
    # The same query text, but for the table it names, ran in both places.
    table = f"`{PROJECT}.{DATASET}.events_*`"
    assert bq.queries == [remote.sql["chains"], remote.sql["influence"]]
    assert [q.replace(table, "`ga4kit_local.export.events_*`") for q in bq.queries] == \
        [local.sql["chains"], local.sql["influence"]]
    assert all(body.get("useLegacySql") is False for m, _, body in bq.requests if m == "POST")
    pd.testing.assert_frame_equal(remote.chains, local.chains, check_dtype=False)
    pd.testing.assert_frame_equal(remote.influence, local.influence, check_dtype=False)
    assert remote.property == "400000001"
    if polls:  # the client polled the job and paged through the rows
        assert ("GET", "jobs") in methods and methods.count(("GET", "queries")) > 2
    else:
        assert methods == [("POST", "queries")] * 2


def test_an_unknown_dataset_says_where_to_look(export):
    path, goals = export
    with BigQueryStandIn() as bq:
        runner = BigQueryRunner(f"bq://{PROJECT}.analytics_999", endpoint=bq.endpoint)
        with pytest.raises(Ga4kitError, match="was not found") as info:
            export_chains(load(goals), f"bq://{PROJECT}.analytics_999", runner=runner)
    assert "analytics_<property id>" in info.value.hint


@pytest.mark.parametrize("url", ["bq://nodataset", "bq://UPPER_CASE.ds", "bq://proj-ect.bad-name"])
def test_bad_urls_are_refused_before_any_call(url):
    with pytest.raises(Ga4kitError, match="project id|dataset"):
        BigQueryRunner(url)


def test_chains_from_export_on_bigquery_from_the_command_line(export, monkeypatch, tmp_path):
    path, goals = export
    with BigQueryStandIn() as bq:
        bq.add_dataset(PROJECT, DATASET, path)
        monkeypatch.setenv("GA4KIT_BIGQUERY_ENDPOINT", bq.endpoint)
        res = CliRunner().invoke(cli, ["-v", "chains", str(goals), "--from-export", f"bq://{PROJECT}.{DATASET}",
                                       "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] and doc["command"] == "chains"
    assert {r["step"] for r in doc["data"]["chains"]} == {"view_item", "add_to_cart", "purchase"}
    assert doc["data"]["meta"]["source"] == f"bq://{PROJECT}.{DATASET}"
    assert "2 export queries" in res.stderr
    assert len(bq.queries) == 2

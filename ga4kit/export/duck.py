"""Run the export queries on local export files with DuckDB, in-process.

The files (NDJSON, optionally gzipped, or Parquet, in the GA4 BigQuery export schema) become a view named
like the wildcard table the query reads (``ga4kit_local.export."events_*"``, with ``_TABLE_SUFFIX`` =
``event_date``), and the BigQuery text is transpiled by sqlglot (``read="bigquery", write="duckdb"``) and run
unchanged otherwise, but for one rewrite of the same tree: GA4's parameter lookup subquery becomes a list
operation (:func:`_parameter_lookup`), which DuckDB runs far faster. NDJSON is read with the export's types declared (BigQuery writes INT64 as JSON strings
in its exports; DuckDB then casts them), so a file with only some of the nested fields still reads.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ga4kit.errors import Ga4kitError

PROJECT, DATASET = "ga4kit_local", "export"
TABLE = f"`{PROJECT}.{DATASET}.events_*`"
PARQUET = (".parquet", ".pq")
JSON = (".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz", ".json.gz")

_S = "VARCHAR"
# The parts of the GA4 export schema the queries may read (segments included); other fields are skipped.
JSON_COLUMNS = {
    "event_date": _S,
    "event_timestamp": "BIGINT",
    "event_name": _S,
    "user_pseudo_id": _S,
    "user_id": _S,
    "platform": _S,
    "event_params": "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, "
                    "float_value DOUBLE, double_value DOUBLE))[]",
    "device": "STRUCT(category VARCHAR, operating_system VARCHAR, mobile_brand_name VARCHAR, language VARCHAR, "
              "web_info STRUCT(browser VARCHAR, hostname VARCHAR))",
    "geo": "STRUCT(continent VARCHAR, sub_continent VARCHAR, country VARCHAR, region VARCHAR, city VARCHAR, "
           "metro VARCHAR)",
    "traffic_source": "STRUCT(name VARCHAR, medium VARCHAR, source VARCHAR)",
    "session_traffic_source_last_click": (
        "STRUCT(manual_campaign STRUCT(campaign_id VARCHAR, campaign_name VARCHAR, source VARCHAR, medium VARCHAR, "
        "term VARCHAR, content VARCHAR), cross_channel_campaign STRUCT(campaign_id VARCHAR, campaign_name VARCHAR, "
        "source VARCHAR, medium VARCHAR, default_channel_group VARCHAR, primary_channel_group VARCHAR))"),
}


def export_files(source: str | os.PathLike) -> tuple[list[Path], str]:
    """The files a local SOURCE names (a file, a directory of export files, or a glob) and their kind
    ("parquet" or "json"). Raises Ga4kitError with what to pass instead."""
    text = os.fspath(source)
    if any(ch in text for ch in "*?["):
        paths = sorted(Path(p) for p in glob.glob(text))
    elif Path(text).is_dir():
        paths = sorted(p for p in Path(text).iterdir() if p.is_file() and _kind(p))
    else:
        paths = [Path(text)]
    if not paths:
        raise Ga4kitError(f"No export files in {text}.", "Pass a file, a directory or a pattern of GA4 export "
                          "files (.parquet, .ndjson, .jsonl, .json, optionally .gz).")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise Ga4kitError(f"The export file {missing[0]} does not exist.",
                          "Pass an existing file, a directory or a pattern such as 'export/events_*.parquet'.")
    kinds = {_kind(p) for p in paths}
    if None in kinds:
        bad = next(p for p in paths if _kind(p) is None)
        raise Ga4kitError(f"{bad} is not an export file ga4kit can read (its type is not Parquet or NDJSON).",
                          "Export the GA4 tables as Parquet or newline-delimited JSON; CSV cannot hold the "
                          "nested event_params.")
    if len(kinds) > 1:
        raise Ga4kitError(f"{text} mixes Parquet and JSON files.", "Point it at files of one kind.")
    return paths, kinds.pop()


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(PARQUET):
        return "parquet"
    if name.endswith(JSON):
        return "json"
    return None


class DuckDBRunner:
    """Runs BigQuery-dialect queries over local export files. ``table`` is the name the queries use."""

    table = TABLE

    def __init__(self, source: str | os.PathLike, *, threads: int | None = None, memory_limit: str | None = None):
        self.paths, self.kind = export_files(source)
        self.description = os.fspath(source)
        self.statements: list[str] = []  # the DuckDB text of every query run (after transpiling)
        self._threads, self._memory = threads, memory_limit
        self._con = None

    def _connect(self):
        import duckdb

        con = duckdb.connect()
        if self._threads:
            con.execute(f"SET threads = {int(self._threads)}")
        if self._memory:
            con.execute(f"SET memory_limit = '{self._memory}'")
        con.execute(f"ATTACH ':memory:' AS {PROJECT}")
        con.execute(f"CREATE SCHEMA {PROJECT}.{DATASET}")
        files = "[" + ", ".join(_quote(str(p)) for p in self.paths) + "]"
        if self.kind == "parquet":
            reader = f"read_parquet({files}, union_by_name = true)"
        else:
            columns = "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in JSON_COLUMNS.items()) + "}"
            reader = f"read_json({files}, format = 'auto', columns = {columns})"
        con.execute(f'CREATE VIEW {PROJECT}.{DATASET}."events_*" AS '
                    f"SELECT *, event_date AS _TABLE_SUFFIX FROM {reader}")
        # JSON with none of the export's fields reads as rows of nulls: refuse it instead of counting nothing.
        bad, = con.execute(f'SELECT count(*) FROM (SELECT * FROM {PROJECT}.{DATASET}."events_*" LIMIT 1000) '
                           "WHERE event_date IS NULL OR event_timestamp IS NULL OR event_name IS NULL "
                           "OR user_pseudo_id IS NULL").fetchone()
        if bad:
            raise duckdb.Error("rows without event_date, event_timestamp, event_name or user_pseudo_id")
        return con

    def run(self, sql: str):
        """The query's rows as a DataFrame. Raises Ga4kitError when the files cannot be read as an export."""
        import duckdb

        text = transpile(sql)
        self.statements.append(text)
        try:
            if self._con is None:
                self._con = self._connect()
            return self._con.execute(text).df()
        except duckdb.Error as exc:
            raise Ga4kitError(f"The export files in {self.description} could not be queried: "
                              f"{str(exc).splitlines()[0]}",
                              "Check that they are GA4 BigQuery export tables (event_date, event_timestamp, "
                              "event_name, user_pseudo_id, event_params, ...), as Parquet or NDJSON.") from None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def transpile(sql: str) -> str:
    """BigQuery text as DuckDB text: sqlglot's transpiler, with GA4's parameter lookup made vectorised (see
    :func:`_parameter_lookup`)."""
    import sqlglot

    tree = sqlglot.parse_one(sql, read="bigquery")
    return tree.transform(_parameter_lookup).sql(dialect="duckdb")


def _parameter_lookup(node):
    """GA4's idiom ``(SELECT p.value.F FROM UNNEST(e.event_params) AS p WHERE p.key = 'K')`` as DuckDB's
    ``list_filter(e.event_params, lambda p: p.key = 'K')[1].value.F``: the same value (the first parameter
    with that key; GA4 writes each key once), but one vectorised list operation instead of a correlated
    subquery per event, which DuckDB runs about 40 times slower. Anything else is left as it is."""
    from sqlglot import exp, parse_one

    if not isinstance(node, exp.Subquery) or not isinstance(node.this, exp.Select):
        return node
    sel = node.this
    source = sel.args.get("from_") or sel.args.get("from")
    unnest = source.this if isinstance(source, exp.From) else None
    where = sel.args.get("where")
    extra = [k for k, v in sel.args.items() if v and k not in ("expressions", "from_", "from", "where")]
    if extra or not isinstance(unnest, exp.Unnest) or len(unnest.expressions) != 1 or len(sel.expressions) != 1:
        return node
    alias = unnest.args.get("alias")
    names = [c.name for c in alias.columns] if alias is not None else []
    if len(names) != 1 or where is None or not isinstance(where.this, exp.EQ):
        return node
    name, value, cond = names[0], sel.expressions[0], where.this
    parts = [p.name for p in value.parts] if isinstance(value, exp.Column) else []
    key_parts = [p.name for p in cond.this.parts] if isinstance(cond.this, exp.Column) else []
    if (len(parts) != 3 or parts[:2] != [name, "value"] or key_parts != [name, "key"]
            or not isinstance(cond.expression, exp.Literal) or not cond.expression.is_string):
        return node
    array = unnest.expressions[0].sql(dialect="duckdb")
    key = cond.expression.sql(dialect="duckdb")
    return parse_one(f"list_filter({array}, lambda {name}: {name}.key = {key})[1].value.{parts[2]}", read="duckdb")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

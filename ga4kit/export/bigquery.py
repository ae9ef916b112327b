"""Run the export queries in BigQuery, GA4's own export engine, through google-cloud-bigquery.

``bq://PROJECT.DATASET`` names the export dataset (GA4 calls it ``analytics_<property id>``); the query
reads ``PROJECT.DATASET.events_*`` and runs (and is billed) in PROJECT. Credentials: ``--credentials`` (a
service-account or authorized-user key), else Application Default Credentials, with the BigQuery scope;
the caller needs BigQuery Job User on the project and Data Viewer on the dataset.

``GA4KIT_BIGQUERY_ENDPOINT=http://HOST:PORT`` points the client at a local stand-in of the BigQuery REST
API with anonymous credentials (the tests do).
"""

from __future__ import annotations

import json
import os

from ga4kit.errors import CredentialsError, Ga4kitError
from ga4kit.export.sql import table_name

ENDPOINT_ENV = "GA4KIT_BIGQUERY_ENDPOINT"
SCOPE = "https://www.googleapis.com/auth/bigquery"


def parse_url(url: str) -> tuple[str, str]:
    """(project, dataset) of ``bq://PROJECT.DATASET``."""
    rest = url[len("bq://"):] if url.startswith("bq://") else url
    project, _, dataset = rest.strip("/").rpartition(".")
    if not project or not dataset:
        raise Ga4kitError(f"{url!r} does not name a BigQuery dataset.",
                          "Use bq://PROJECT.DATASET, e.g. bq://my-project.analytics_123456789.")
    table_name(project, dataset)  # checks both names
    return project, dataset


class BigQueryRunner:
    """Runs queries in BigQuery and returns their rows as DataFrames. ``table`` is the name the queries use."""

    def __init__(self, url: str, *, credentials_file: str | None = None, endpoint: str | None = None,
                 location: str | None = None, client=None):
        self.project, self.dataset = parse_url(url)
        self.table = table_name(self.project, self.dataset)
        self.description = f"bq://{self.project}.{self.dataset}"
        self.location = location
        self.bytes_processed = 0
        self.jobs: list[str] = []
        self._client = client
        self._credentials_file = credentials_file
        self._endpoint = endpoint or os.environ.get(ENDPOINT_ENV) or None

    def _make_client(self):
        try:
            from google.cloud import bigquery
        except ImportError:  # pragma: no cover (the extra is installed in tests)
            raise Ga4kitError("Reading the BigQuery export needs google-cloud-bigquery.",
                              'Install the extra: pip install "ga4kit[export]".') from None
        if self._endpoint:
            from google.auth.credentials import AnonymousCredentials

            return bigquery.Client(project=self.project, credentials=AnonymousCredentials(),
                                   client_options={"api_endpoint": self._endpoint})
        return bigquery.Client(project=self.project, credentials=_credentials(self._credentials_file),
                               location=self.location)

    def run(self, sql: str):
        """The query's rows as a DataFrame (columns from the result's schema)."""
        import pandas as pd
        from google.api_core import exceptions as gexc

        if self._client is None:
            self._client = self._make_client()
        try:
            rows = self._client.query_and_wait(sql, location=self.location)
            columns = [f.name for f in rows.schema]
            records = [tuple(r.values()) for r in rows]
        except gexc.NotFound as exc:
            raise Ga4kitError(f"BigQuery: {_reason(exc)}",
                              f"Check {self.description}: GA4 names its export dataset analytics_<property id>, "
                              "and the days must be exported (events_YYYYMMDD tables).") from None
        except gexc.Forbidden as exc:
            raise Ga4kitError(f"BigQuery refused the query: {_reason(exc)}",
                              f"Grant the caller BigQuery Job User on {self.project} and BigQuery Data Viewer on "
                              f"the dataset {self.dataset}.") from None
        except gexc.GoogleAPICallError as exc:
            raise Ga4kitError(f"BigQuery: {_reason(exc)}", None) from None
        self.jobs.append(getattr(rows, "job_id", None) or "")
        self.bytes_processed += int(getattr(rows, "total_bytes_processed", None) or 0)
        return pd.DataFrame.from_records(records, columns=columns)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _reason(exc) -> str:
    return str(getattr(exc, "message", None) or exc).splitlines()[0]


def _credentials(path: str | None):
    """Credentials with the BigQuery scope from a key file, else Application Default Credentials."""
    import google.auth
    from google.auth import exceptions as gauth_exc

    if path:
        try:
            with open(path, "rb") as fh:
                info = json.loads(fh.read(1_000_000))
        except (OSError, ValueError):
            raise CredentialsError(f"The credentials file {path} cannot be read as a JSON key.",
                                   "Check the path, or download a new key from Google Cloud > IAM.") from None
        kind = info.get("type") if isinstance(info, dict) else None
        try:
            if kind == "service_account":
                from google.oauth2 import service_account

                return service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
            if kind == "authorized_user":
                from google.oauth2 import credentials as user_credentials

                return user_credentials.Credentials.from_authorized_user_info(info, scopes=[SCOPE])
        except (gauth_exc.GoogleAuthError, ValueError, KeyError):
            pass
        raise CredentialsError(f"The credentials file {path} is not a usable service-account or user key.",
                               "Download a new key from Google Cloud > IAM > Service accounts > Keys.")
    try:
        creds, _ = google.auth.default(scopes=[SCOPE])
    except gauth_exc.DefaultCredentialsError:
        raise CredentialsError("No Google credentials were found for BigQuery.",
                               "Pass --credentials KEY.json, set GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud "
                               "auth application-default login`.") from None
    return creds

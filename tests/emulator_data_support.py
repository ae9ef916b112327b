"""Helpers for the Data API tests: Google's real clients on a channel to an emulator, and the raw events of a
property as plain pandas (the independent reference every expected number is counted from)."""

from __future__ import annotations

from datetime import date

import grpc
import pandas as pd
from google.analytics import data_v1alpha as a
from google.analytics import data_v1beta as d
from google.analytics.data_v1alpha.services.alpha_analytics_data.transports import AlphaAnalyticsDataGrpcTransport
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport

from emulator_reference import raw_events  # noqa: F401  (one definition of the raw events for every test)


def clients(emu):
    """(v1beta client, v1alpha client) talking to ``emu`` over one insecure channel."""
    ch = grpc.insecure_channel(emu.address)
    return (d.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=ch)),
            a.AlphaAnalyticsDataClient(transport=AlphaAnalyticsDataGrpcTransport(channel=ch)))


def between(df: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    return df[(df["day"] >= start) & (df["day"] <= end)]


def table(resp) -> pd.DataFrame:
    """A report's rows as a frame: dimension columns as strings, metric columns as floats."""
    dims = [h.name for h in resp.dimension_headers]
    mets = [h.name for h in resp.metric_headers]
    rows = [[v.value for v in r.dimension_values] + [float(v.value) for v in r.metric_values] for r in resp.rows]
    return pd.DataFrame(rows, columns=dims + mets)


def sessions(df: pd.DataFrame) -> int:
    """Distinct sessions: (user, session id) pairs."""
    return len(set(zip(df["user_id"], df["session_id"])))

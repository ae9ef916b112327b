"""Helpers shared by the pull tests that run ga4kit on a schedule or as processes: the shop goals file for
emulator properties, and padding rows that make a destination slow enough to interrupt mid-write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ga4kit.reporting.pull import baseline_columns, event_columns

ROOT = Path(__file__).resolve().parents[1]
SEG = "sessionDefaultChannelGroup"
PAD = "999999999"  # a property that only the padding rows belong to


def shop_goals(tmp_path: Path, pids) -> Path:
    """configs/shop.yaml with its placeholder property replaced by ``pids``."""
    path = tmp_path / "shop.yaml"
    text = (ROOT / "configs" / "shop.yaml").read_text()
    path.write_text(text.replace('  - id: "123456789"', "\n".join(f'  - id: "{p}"' for p in pids)))
    return path


def padding(rows: int) -> dict[str, pd.DataFrame]:
    """Rows of another property (PAD) in the pull's shape, so that reading and writing a file takes a while."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2025-01-01", periods=rows // 40 + 1, freq="D")
    start = np.repeat(days, 40)[:rows]
    events = pd.DataFrame({
        "property": PAD, "property_name": "Padding", "period": start.strftime("%Y-%m-%d"),
        "period_start": start, "period_end": start,
        SEG: np.tile([f"Channel {i}" for i in range(8)], rows // 8 + 1)[:rows],
        "event": np.tile(np.repeat(["view_item", "add_to_cart", "begin_checkout", "purchase", "newsletter_signup"],
                                   8), rows // 40 + 1)[:rows],
        "goal_type": "micro", "goal_kind": "milestone", "event_count": rng.integers(0, 500, rows),
        "users": rng.integers(0, 300, rows), "value": rng.integers(0, 10_000, rows) / 100, "currency": "EUR",
        "key_events": rng.integers(0, 9, rows)})
    base = events[events["event"] == "purchase"].drop(columns=["event", "goal_type", "goal_kind", "event_count",
                                                               "value", "currency", "key_events"])
    base = base.assign(sessions=base["users"] + 1)
    assert list(events.columns) == event_columns([SEG]) and list(base.columns) == baseline_columns([SEG])
    return {"events": events.reset_index(drop=True), "baseline": base.reset_index(drop=True)}

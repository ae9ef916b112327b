"""A GA4 export with a planted effect, for the influence and export tests and the export benchmark.

Users of four channels visit in 1-3 sessions over ``days`` days. A session has session_start and
page_view, often view_item and add_to_cart. A quarter of the users sign up for the newsletter (the planted
secondary action) in one of their sessions; a fifth watch a video (video_complete). Purchases are planted
so that users who signed up purchase *after* the sign-up with probability ``2 * base`` while the others
purchase with probability ``base`` (with view_item and add_to_cart before the purchase, in the same
session): newsletter_signup -> purchase has a lift of ``effect`` (2 by default).

Timestamps are whole seconds plus a random part below one second, so no two events of a user share a
timestamp. Built with numpy (10 million events in seconds), written with the emulator's exporter.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

CHANNELS = np.array(["Organic Search", "Paid Search", "Direct", "Email"])
DEVICES = np.array(["desktop", "mobile", "tablet"])
TIME_ZONE = "Europe/Berlin"
GOALS_YAML = """version: 1
properties: [{{id: "{pid}"}}]
goals:
  - {{event: view_item, type: micro, kind: milestone}}
  - {{event: add_to_cart, type: micro, kind: milestone}}
  - {{event: newsletter_signup, type: micro, kind: secondary}}
  - {{event: video_complete, type: micro, kind: secondary}}
  - {{event: purchase, type: macro}}
chains:
  - {{name: checkout, steps: [view_item, add_to_cart, purchase]}}
report:
  segments: [sessionDefaultChannelGroup]
  range: {{start: "{start}", end: "{end}"}}
  grain: range
"""


def planted_events(users: int = 4000, *, days: int = 14, start: dt.date = dt.date(2024, 3, 4), seed: int = 7,
                   base: float = 0.1, effect: float = 2.0) -> pd.DataFrame:
    """EventStore-shaped rows (ts, event_name, user_id, session_id, session_number, channel_group,
    device_category), sorted by user and time."""
    rng = np.random.default_rng(seed)
    t0 = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc).timestamp())
    user_channel = rng.choice(len(CHANNELS), users, p=[0.4, 0.25, 0.25, 0.1])
    user_device = rng.choice(len(DEVICES), users, p=[0.5, 0.4, 0.1])
    n_sess = 1 + rng.binomial(2, 0.3, users)
    s_user = np.repeat(np.arange(users), n_sess)
    # Session starts: a day and an hour (08-20 h UTC, inside one Berlin day), a few minutes apart at most.
    s_start = t0 + rng.integers(0, days, len(s_user)) * 86400 + rng.integers(8 * 3600, 20 * 3600, len(s_user))
    order = np.lexsort((s_start, s_user))
    s_user, s_start = s_user[order], s_start[order]
    first_of_user = np.r_[0, np.flatnonzero(np.diff(s_user)) + 1]
    s_number = np.arange(len(s_user)) - np.repeat(first_of_user, n_sess) + 1
    parts = []  # (session index, offset seconds, event name)

    def add(sessions, offset, name):
        parts.append((np.asarray(sessions), np.full(len(sessions), offset), name))

    all_s = np.arange(len(s_user))
    add(all_s, 0, "session_start")
    add(all_s, 1, "page_view")
    viewed = all_s[rng.random(len(all_s)) < 0.6]
    add(viewed, 30, "view_item")
    add(viewed[rng.random(len(viewed)) < 0.4], 60, "add_to_cart")
    # One random session of each user for the secondary actions.
    pick = first_of_user + (rng.random(users) * n_sess).astype(int)
    signed = rng.random(users) < 0.25
    add(pick[signed], 90, "newsletter_signup")
    video = rng.random(users) < 0.2
    add(pick[video], 120, "video_complete")
    buys_after = signed & (rng.random(users) < base * effect)
    for off, name in ((150, "view_item"), (170, "add_to_cart"), (200, "purchase")):
        add(pick[buys_after], off, name)
    other = first_of_user + (rng.random(users) * n_sess).astype(int)
    buys = ~signed & (rng.random(users) < base)
    for off, name in ((250, "view_item"), (270, "add_to_cart"), (300, "purchase")):
        add(other[buys], off, name)
    sess = np.concatenate([p[0] for p in parts])
    offset = np.concatenate([p[1] for p in parts])
    names = np.concatenate([np.full(len(p[0]), i) for i, p in enumerate(parts)])
    labels = [p[2] for p in parts]
    ts = (s_start[sess] + offset) * 1_000_000 + rng.integers(0, 999_999, len(sess))
    user = s_user[sess]
    order = np.lexsort((ts, user))
    user, sess, ts, names = user[order], sess[order], ts[order], names[order]
    event_labels = sorted(set(labels))
    code_of = np.array([event_labels.index(x) for x in labels])
    uid = pd.Categorical.from_codes(user, [f"{1000000 + i}.{1700000000 + i}" for i in range(users)])
    return pd.DataFrame({
        "ts": ts.astype("int64"),
        "event_name": pd.Categorical.from_codes(code_of[names], event_labels),
        "user_id": uid,
        "session_id": s_start[sess].astype("int64"),
        "session_number": s_number[sess].astype("int32"),
        "channel_group": pd.Categorical.from_codes(user_channel[user], list(CHANNELS)),
        "device_category": pd.Categorical.from_codes(user_device[user], list(DEVICES)),
    })


def write_export(frame: pd.DataFrame, path) -> str:
    """The rows as a GA4 export file (Parquet or NDJSON by the suffix), days in TIME_ZONE."""
    from ga4kit.emulator.events import normalize
    from ga4kit.emulator.importer import write_events

    full = normalize(frame)
    # The exporter writes the session's source/medium; give each channel one that maps back to it.
    src = {"Organic Search": ("google", "organic"), "Paid Search": ("google", "cpc"),
           "Direct": ("(direct)", "(none)"), "Email": ("newsletter", "email")}
    ch = frame["channel_group"].astype(str)
    full["source"] = pd.Categorical(ch.map(lambda c: src[c][0]))
    full["medium"] = pd.Categorical(ch.map(lambda c: src[c][1]))
    return str(write_events(full, path, time_zone=TIME_ZONE))


def goals_yaml(pid: str, start: str, end: str) -> str:
    return GOALS_YAML.format(pid=pid, start=start, end=end)

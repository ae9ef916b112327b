"""ga4kit.tidy: how the input frames are coded must not change any result. Each test feeds the pinned
varied input (chains_golden_support) in another shape and expects the pinned frames back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import chains_golden_support as G
from ga4kit import chains as C
from ga4kit import flags as F
from ga4kit import tidy
from ga4kit.tables import tables

GOLDEN = pd.read_pickle(G.GOLDEN)
KEYS = ("chains", "chains_prev", "goals_prev", "flags_full", "flags_loose")


def check(name: str, case: dict) -> None:
    got = G.outputs(case, C, F)
    for key in KEYS:
        pd.testing.assert_frame_equal(got[key], GOLDEN[f"{name}/{key}"], check_exact=True, obj=f"{name}/{key}")


def reshaped(case: dict, convert) -> dict:
    """The case with every input frame's text columns converted."""
    out = dict(case)
    for key in ("events", "baseline", "previous", "history"):
        value = case[key]
        if isinstance(value, pd.DataFrame):
            out[key] = convert(value)
        elif isinstance(value, tuple):
            out[key] = tuple(None if f is None else convert(f) for f in value)
        elif isinstance(value, dict):
            out[key] = {k: None if f is None else convert(f) for k, f in value.items()}
    return out


def text_columns(frame: pd.DataFrame, dtype) -> pd.DataFrame:
    frame = frame.copy()
    for c in frame.columns:
        if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype):
            frame[c] = frame[c].astype(dtype)
    return frame


@pytest.mark.parametrize("name", ["day", "week"])
@pytest.mark.parametrize("dtype", ["object", "category"])
def test_object_and_categorical_text_give_the_same_frames(name, dtype):
    check(name, reshaped(G.CASES[name](), lambda f: text_columns(f, dtype)))


def test_a_history_sharing_arrow_chunks_with_the_frames_is_hashed_once_and_gives_the_same_flags(monkeypatch):
    """pd.concat keeps the arrow chunks of its inputs: the history of the day case (previous + current, as
    the analysis makes it at day grain) holds their very chunks, and one pass hashes each chunk once."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.compute as pc

    case = G.CASES["day"]()
    check("day", case)  # its history is such a concatenation (of the frames before some edits)
    (pev, pbl), ev, bl = case["previous"], case["events"], case["baseline"]
    history = (pd.concat([pev, ev], ignore_index=True), pd.concat([pbl, bl], ignore_index=True))
    assert isinstance(pa.array(history[0]["event"].array), pa.ChunkedArray)
    own = tuple(text_columns(text_columns(f, object), "str") for f in history)  # chunks of its own
    assert not isinstance(pa.array(own[0]["event"].array), pa.ChunkedArray)

    hashed = []
    original = pc.dictionary_encode
    monkeypatch.setattr(pc, "dictionary_encode", lambda chunk, **kw: hashed.append(len(chunk)) or original(chunk, **kw))
    results = []
    for h in (None, history, own):
        hashed.clear()
        results.append(tables(ev, bl, G.CONFIG, case["segments"], previous=(pev, pbl), history=h))
        results[-1] = (results[-1], sum(hashed))
    (_, alone), (with_history, shared), (with_own, separate) = results
    assert shared == alone  # every chunk of the history was hashed already
    assert separate == alone + len(own[0]) * 4 + len(own[1]) * 3  # property, period, segment, event
    pd.testing.assert_frame_equal(with_history.flags, with_own.flags, check_exact=True)


def test_large_key_spaces_sorted_instead_of_tabled(monkeypatch):
    """Keys are made dense with a table up to DENSE_LIMIT and by sorting beyond it: both give the same."""
    monkeypatch.setattr(tidy, "DENSE_LIMIT", 1)
    for name in G.CASES:
        check(name, G.CASES[name]())


def test_dates_with_a_time_of_day_and_missing_ones_rank_in_order():
    ns = np.array([5, tidy.NAT, 1, 5, 3], dtype=np.int64)
    (ranks,), n = tidy.date_ranks([ns])
    assert n == 4 and list(ranks) == [2, 3, 0, 2, 1]  # NaT last


def test_join_text_without_arrow_text_is_plain_concatenation():
    a = pd.Series(["x", None, "z"], dtype=object)
    got = tidy.join_text(a, ": ", np.array(["1", "2", "3"]), "!")
    assert got.iloc[0] == "x: 1!" and pd.isna(got.iloc[1]) and got.iloc[2] == "z: 3!"


def test_one_pass_refuses_duplicates_like_the_calls_one_by_one():
    case = G.CASES["range"]()
    twice = pd.concat([case["events"], case["events"].head(1)], ignore_index=True)
    with pytest.raises(ValueError, match="not additive"):
        tables(twice, case["baseline"], G.CONFIG, [])
    pev, _ = case["previous"]
    with pytest.raises(ValueError, match="previous events has duplicate rows"):
        C.compute_chains(case["events"], case["baseline"], G.CONFIG, [],
                         previous=(pd.concat([pev, pev.head(1)], ignore_index=True), None))

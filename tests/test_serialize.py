"""ga4kit.serialize: frames as CSV, JSON and NDJSON text, deterministic, ISO dates, formula-safe CSV."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from frames_support import chains_frame, check_chains, goals_frame

from ga4kit import serialize as S

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-1+1", "@SUM(A1)", "\tTAB", "'=quoted",
            "''+twice", "'plain quote", "#N/A", "a=b", "", None]


def formula_frame() -> pd.DataFrame:
    return pd.DataFrame({"property": ["1"] * len(FORMULAS), "source": FORMULAS,
                         "n": list(range(-3, len(FORMULAS) - 3)), "x": [-1.5] * len(FORMULAS)})


def test_csv_quotes_text_that_would_run_as_a_formula_and_unescape_reverses_it():
    text = S.frame_to_csv(formula_frame())
    lines = text.split("\n")
    assert lines[1] == "1,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",-3,-1.5"  # numbers untouched
    assert lines[2:6] == ["1,'+1+1,-2,-1.5", "1,'-1+1,-1,-1.5", "1,'@SUM(A1),0,-1.5", "1,'\tTAB,1,-1.5"]
    assert lines[6:10] == ["1,''=quoted,2,-1.5", "1,'''+twice,3,-1.5", "1,'plain quote,4,-1.5", "1,#N/A,5,-1.5"]
    assert lines[10:12] == ["1,a=b,6,-1.5", "1,,7,-1.5"]
    back = S.unescape_formulas(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""]))
    assert back["source"].tolist()[:-2] == FORMULAS[:-2]  # exactly the text again
    assert S.frame_to_csv(pd.DataFrame({"s": ["\rCR"]})).startswith("s\n'\rCR")  # carriage return too
    assert S.frame_to_csv(pd.DataFrame({"c": pd.Categorical(["=1", "x"])})) == "c\n'=1\nx\n"
    assert S.looks_like_formula("'=x") and S.looks_like_formula("@a") and not S.looks_like_formula("a=b")


def test_csv_text_iso_dates_and_missing_cells():
    text = S.frame_to_csv(chains_frame())
    assert text.splitlines()[1].startswith("123456789,checkout,Organic Search,2026-11,2026-11-01,1,")
    check_chains(pd.read_csv(io.StringIO(text), dtype={"property": str}))
    stamps = pd.DataFrame({"t": pd.to_datetime(["2026-11-01 10:30:00", None]).tz_localize("Europe/Berlin"),
                           "n": [1, 2]})
    assert S.frame_to_csv(stamps) == "t,n\n2026-11-01T09:30:00,1\n,2\n"  # UTC, with the time; missing: empty


def test_json_records_iso_dates_and_several_frames():
    data = json.loads(S.frame_to_json({"chains": chains_frame(), "goals": goals_frame()}))
    assert set(data) == {"chains", "goals"}
    first = data["chains"][0]
    assert first["period_start"] == "2026-11-01" and first["rate_from_previous"] is None
    assert first["users"] == 100 and first["property"] == "123456789"
    check_chains(pd.DataFrame.from_records(data["chains"]))
    assert json.loads(S.frame_to_json(goals_frame()))[0]["event"] == "purchase"
    assert S.frame_to_json(goals_frame().head(0)) == "[]\n"


def test_json_text_survives_slashes_backslashes_and_quotes():
    tricky = ["/pricing", "a\\/b", "end\\", 'say "hi"', "tab\tline\nnext", "ü/€", ""]
    df = pd.DataFrame({"page": tricky, "x": [1.5, np.inf, -np.inf, np.nan, 0.1, 1 / 3, 2.0]})
    raw = S.frame_to_json(df)
    back = json.loads(raw)
    assert [r["page"] for r in back] == tricky
    assert [r["x"] for r in back][:4] == [1.5, None, None, None]  # inf is not JSON: null
    assert back[5]["x"] == pytest.approx(1 / 3, rel=1e-14)
    assert '"/pricing"' in raw  # not the encoder's "\\/"


def test_ndjson_one_object_per_line():
    lines = S.frame_to_ndjson(chains_frame()).split("\n")
    assert len(lines) == 4 and lines[-1] == ""
    first = json.loads(lines[0])
    assert first["period_start"] == "2026-11-01" and first["users"] == 100 and first["label"] == "Grüße, \"quoted\""
    check_chains(pd.DataFrame.from_records([json.loads(x) for x in lines[:3]]))
    assert S.frame_to_ndjson(goals_frame().head(0)) == ""


@pytest.mark.parametrize("fn", [S.frame_to_csv, S.frame_to_json, S.frame_to_ndjson])
def test_same_frame_same_bytes(fn):
    assert fn(chains_frame()) == fn(chains_frame())
    assert "\r\n" not in fn(chains_frame())

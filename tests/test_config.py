"""The goals-file loader: valid files become typed configs; every problem is reported at once with its line."""

import textwrap

import pytest

from ga4kit.config import load, load_text
from ga4kit.config.model import ONCE_PER_SESSION
from ga4kit.errors import ConfigError

GOOD = textwrap.dedent("""\
    version: 1
    properties:
      - id: "123456789"
        label: Shop DE
      - properties/987
    defaults: {counting: once_per_event, currency: EUR}
    goals:
      - {event: view_item,        type: micro, kind: milestone}
      - {event: add_to_cart,      type: micro, kind: milestone, counting: once_per_session}
      - {event: newsletter_signup, type: micro, kind: secondary, value: 2}
      - event: view_pricing
        type: micro
        kind: milestone
        derive: {from: page_view, where: [{param: page_location, contains: /pricing}]}
      - {event: begin_checkout, type: micro, kind: milestone}
      - {event: purchase, type: macro}
    chains:
      - {name: checkout, steps: [view_item, add_to_cart, begin_checkout, purchase]}
    report:
      segments: [sessionDefaultChannelGroup, deviceCategory]
      range: {start: 28daysAgo, end: yesterday}
      grain: week
    """)


def problems(text):
    with pytest.raises(ConfigError) as info:
        load_text(text, source="goals.yaml")
    return info.value.problems


def test_valid_file_becomes_a_typed_config():
    cfg = load_text(GOOD, source="goals.yaml")
    assert [p.id for p in cfg.properties] == ["123456789", "987"]
    assert cfg.properties[0].label == "Shop DE"
    assert [g.event for g in cfg.macro_goals] == ["purchase"]
    assert cfg.goal("add_to_cart").counting == ONCE_PER_SESSION
    news = cfg.goal("newsletter_signup")
    assert (news.value, news.currency, news.kind) == (2.0, "EUR", "secondary")
    assert cfg.goal("purchase").kind is None and cfg.goal("purchase").value is None
    d = cfg.goal("view_pricing").derive
    assert d.source == "page_view" and d.where[0].param == "page_location"
    assert (d.where[0].operator, d.where[0].value) == ("contains", "/pricing")
    assert cfg.chains[0].steps == ("view_item", "add_to_cart", "begin_checkout", "purchase")
    assert cfg.report.segments == ("sessionDefaultChannelGroup", "deviceCategory")
    assert cfg.report.grain == "week"
    assert cfg.warnings == ()


def test_all_problems_reported_at_once_with_lines_and_fixes():
    text = textwrap.dedent("""\
        version: 1
        properties:
          - id: G-ABC1234
          - id: UA-1234-5
        goals:
          - {event: 9lives, type: micro, kind: milestone}
          - {event: add_to_cart, type: micro, kind: milestone}
          - {event: add_to_cart, type: micro, kind: milestone}
          - {event: purchase, type: macro, value: 5, currency: EURO}
          - {event: google_thing, type: micro, kind: milestone}
          - {event: this_name_is_far_too_long_for_ga4_to_accept_it, type: micro, kind: milestone}
          - {event: cart-add, type: micro, kind: milestone}
          - {event: signup, type: micr, kind: milestone}
          - {event: video, type: micro}
          - event: page_view_pricing
            type: micro
            kind: milestone
            derive: {from: page_view, where: [{param: page_location, contanis: /pricing}]}
          - event: scroll
            type: micro
            kind: secondary
            derive: {from: page_view}
        chains:
          - {name: a, steps: [add_to_cart, begin_checkout, purchase]}
          - {name: b, steps: [purchase, add_to_cart]}
        """)
    found = problems(text)
    by_line = {}
    for p in found:
        by_line.setdefault(p.line, []).append(p.message)
    assert any("measurement id" in m for m in by_line[3])
    assert any("Universal Analytics" in m for m in by_line[4])
    assert any("start with a letter" in m for m in by_line[6])
    assert any("declared twice" in m for m in by_line[8])
    assert any("ISO 4217" in m for m in by_line[9])
    assert any("reserved prefix" in m for m in by_line[10])
    assert any("GA4 allows 40" in m for m in by_line[11])
    assert any("characters GA4 does not allow" in m for m in by_line[12])
    assert any("not micro or macro" in m for m in by_line[13])
    assert any("has no kind" in m for m in by_line[14])
    assert any("unknown key 'contanis'" in m for m in by_line[18])
    assert any("collects itself" in m for m in by_line[22])
    assert any("'begin_checkout' is not a declared goal" in m for m in by_line[24])
    assert any("ends with 'add_to_cart', a micro goal" in m for m in by_line[25])
    contanis = next(p for p in found if "contanis" in p.message)
    assert "contains" in contanis.fix
    assert all(p.file == "goals.yaml" for p in found)
    # the ISO error suggests the right code
    iso = next(p for p in found if "ISO 4217" in p.message)
    assert "EUR" in iso.fix


def test_key_event_cap_counts_custom_goals_only():
    goals = "\n".join(f"  - {{event: goal_{i}, type: micro, kind: milestone}}" for i in range(30))
    ok = f"version: 1\ngoals:\n{goals}\n  - {{event: purchase, type: macro}}\n"
    assert len(load_text(ok).goals) == 31  # purchase is GA4's default key event, not a custom one
    over = ok + "  - {event: one_more, type: micro, kind: milestone}\n"
    (p,) = problems(over)
    assert "31 custom key events" in p.message and "at most 30" in p.message
    on_360 = over.replace("version: 1\n", 'version: 1\nproperties: [{id: "1", service_level: "360"}]\n')
    assert len(load_text(on_360).goals) == 32


def test_more_than_two_macro_goals_is_a_warning_not_an_error():
    cfg = load_text("goals:\n - {event: a, type: macro}\n - {event: b, type: macro}\n - {event: c, type: macro}\n")
    texts = [w.message for w in cfg.warnings]
    assert any("3 macro goals" in t for t in texts)
    assert any("no version" in t for t in texts)


def test_value_needs_a_currency():
    (p,) = problems("version: 1\ngoals:\n  - {event: lead, type: macro, value: 10}\n")
    assert "needs a currency" in p.message and p.line == 3
    cfg = load_text("version: 1\ndefaults: {currency: usd}\ngoals:\n  - {event: lead, type: macro, value: 10}\n")
    assert cfg.goal("lead").currency == "USD"


@pytest.mark.parametrize("text,needle", [
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("- a\n- b\n", "holds a list"),
    ("just text", "holds a text"),
    ("goals: [\n", "not valid YAML"),
    ("a: 1\na: 2\n", "appears twice"),
    ("x: &a [*a]\n", "refers to itself"),
    ("version: 2\ngoals: [{event: a, type: macro}]\n", "version 2 is not supported"),
    ("version: 1\ngoals: []\n", "goals list is empty"),
    ("version: 1\n", "declares no goals"),
    ("version: 1\ngoal: []\n", "did you mean 'goals'"),
    ("version: 1\ngoals: [{event: a, type: macro}]\nreport: {grain: year}\n", "grain 'year'"),
    ("version: 1\ngoals: [{event: a, type: macro}]\nreport: {range: {start: 2026-13-01}}\n", "not a GA4 date"),
    ("version: 1\ngoals: [{event: a, type: macro}]\nreport: {range: {start: 2026-02-01, end: 2026-01-01}}\n",
     "starts (2026-02-01) after it ends"),
    ("version: 1\ngoals: [{event: a, type: macro}]\nproperties: [{id: 1}, {id: properties/1}]\n", "listed twice"),
])
def test_malformed_files_fail_cleanly(text, needle):
    found = problems(text)
    assert any(needle in str(p) for p in found), [str(p) for p in found]


def test_file_level_failures(tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\ngoals:\n  - {event: caf\xe9, type: macro}\n")
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load(binary)
    assert info.value.problems[0].line == 3
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * 2_000_000)
    with pytest.raises(ConfigError, match="at most"):
        load(huge)
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="directory"):
        load(tmp_path)


def test_alias_bomb_is_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for i in range(1, 9):
        bomb += f"{chr(97 + i)}: &{chr(97 + i)} [{', '.join(['*' + prev] * 10)}]\n"
        prev = chr(97 + i)
    with pytest.raises(ConfigError, match="too deeply"):
        load_text(bomb)

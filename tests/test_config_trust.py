"""Goals files that used to pass `validate` or break it: deep nesting, tags on lists and mappings, tabs,
unknown segment dimensions, reversed relative ranges, empty `where`, a second problem in the same goal,
problems out of line order; and the libyaml loader."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from ga4kit.cli import cli
from ga4kit.config import load_text
from ga4kit.errors import ConfigError

BASE = "version: 1\ngoals: [{event: purchase, type: macro}]\n"


def problems(text: str) -> list:
    with pytest.raises(ConfigError) as info:
        load_text(text, source="goals.yaml")
    assert all(p.file == "goals.yaml" for p in info.value.problems)
    return info.value.problems


# ------------------------------------------------------------------------------------------------ YAML
@pytest.mark.parametrize("text,lines", [
    ("goals: " + "[" * 500 + "]" * 500 + "\n", (1,)),  # 1 KB, 500 levels
    ("version: 1\n" + "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v\n", (51, 52)),
])
def test_deep_nesting_is_one_problem_with_a_line_not_a_recursion_error(text, lines):
    (p,) = problems(text)  # line 51 holds k49, the 50th level
    assert "nested more than 50 levels" in p.message and p.line in lines


@pytest.mark.parametrize("tagged,line", [
    ("goals: !!python/object:os.system {event: purchase, type: macro}\n", 2),
    ("goals: !!python/tuple [{event: purchase, type: macro}]\n", 2),
    ("goals:\n  - !!set {event: null}\n", 3),
    ("goals: !custom [{event: purchase, type: macro}]\n", 2),
    ("goals: [{event: !!python/name:os.system purchase, type: macro}]\n", 2),
    ("defaults: &d !!python/object:x {counting: once_per_event}\ngoals: [{<<: *d, event: a, type: macro}]\n", 2),
])
def test_tags_are_refused_on_lists_and_mappings_as_on_values(tagged, line):
    (p,) = problems("version: 1\n" + tagged)
    assert "is not allowed in a goals file" in p.message and p.line == line
    assert "!" in p.message


def test_plain_standard_tags_still_work():
    cfg = load_text("version: !!int 1\ngoals: [{event: !!str purchase, type: macro}]\n")
    assert cfg.goal("purchase") is not None


@pytest.mark.parametrize("text,line", [
    ("version: 1\ngoals:\n\t- {event: purchase, type: macro}\n", 3),
    ("version: 1\ngoals:\n  - event: purchase\n\t  type: macro\n", 4),
])
def test_tabs_are_explained(text, line):
    (p,) = problems(text)
    assert p.line == line and "YAML indentation takes spaces, not tabs" in p.message
    assert "cannot start any token" not in str(p)


def test_the_c_loader_is_used_when_pyyaml_has_libyaml():
    import yaml

    from ga4kit.config.loader import _loader_class

    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML without libyaml")
    from yaml.cyaml import CParser

    assert issubclass(_loader_class(), CParser)


# ------------------------------------------------------------------------------------------------ checks
@pytest.mark.parametrize("segment,needle", [
    ("sessionDefaultChanelGroup", "did you mean 'sessionDefaultChannelGroup'"),
    ("fooBar", "customEvent:NAME"),
    ("devicecategory", "did you mean 'deviceCategory'"),
    ("customSession:plan", "customEvent:PARAMETER"),
    ("eventName", "already in every report"),
])
def test_a_segment_that_is_not_a_ga4_dimension_is_an_error(segment, needle):
    (p,) = problems(BASE + f"report: {{segments: ['{segment}']}}\n")
    assert p.severity == "error" and p.line == 3 and p.path == "report.segments[0]"
    assert needle in str(p)


def test_custom_and_other_ga4_dimensions_are_accepted():
    cfg = load_text(BASE + "report: {segments: ['customEvent:plan', 'customUser:tier', pageTitle]}\n")
    assert cfg.report.segments == ("customEvent:plan", "customUser:tier", "pageTitle")
    assert [w.path for w in cfg.warnings] == ["report.segments[2]"]  # a GA4 dimension ga4kit does not check


@pytest.mark.parametrize("start,end,bad", [
    ("yesterday", "30daysAgo", True), ("today", "yesterday", True), ("7daysAgo", "28daysAgo", True),
    ("28daysAgo", "yesterday", False), ("today", "today", False), ("2026-02-01", "2026-01-01", True),
    ("2099-01-01", "yesterday", True), ("2020-01-01", "today", False),
])
def test_relative_ranges_are_compared_too(start, end, bad):
    text = BASE + f"report: {{range: {{start: {start}, end: {end}}}}}\n"
    if bad:
        (p,) = problems(text)
        assert f"starts ({start}) after it ends ({end})" in p.message and p.line == 3
    else:
        assert load_text(text).report.start == start


def test_an_empty_where_is_an_error():
    (p,) = problems("version: 1\ngoals:\n  - {event: purchase, type: macro}\n"
                    "  - {event: view_pricing, type: micro, kind: milestone, derive: {from: page_view, where: []}}\n")
    assert p.line == 4 and p.path == "goals[1].derive.where"
    assert "needs at least one condition" in p.message and "every page_view event" in p.message


def test_a_derive_without_where_is_a_warning():
    cfg = load_text("version: 1\ngoals:\n  - {event: purchase, type: macro}\n"
                    "  - {event: view_pricing, type: micro, kind: milestone, derive: {from: page_view}}\n")
    assert cfg.goal("view_pricing").derive.where == ()
    assert any("no where" in w.message for w in cfg.warnings)


def test_every_problem_of_one_goal_is_reported():
    found = problems("version: 1\ngoals:\n  - {event: purchase, type: macro}\n"
                     "  - {event: signup, type: micr, kind: milestonee}\n"
                     "  - {event: signup, type: micro, kind: milestone, counting: always}\n"
                     "  - {event: vp, type: micro, kind: milestone, derive: {from: page_view, where: "
                     "[{param: '9x', contains: /p, equals: x, negate: maybe}]}}\n")
    messages = [(p.line, p.path) for p in found]
    assert (4, "goals[1].type") in messages and (4, "goals[1].kind") in messages
    assert (5, "goals[2].counting") in messages and (5, "goals[2].event") in messages  # also a duplicate
    assert {(6, "goals[3].derive.where[0].param"), (6, "goals[3].derive.where[0].negate"),
            (6, "goals[3].derive.where[0]")} <= set(messages)


def test_problems_come_in_line_order(tmp_path):
    text = textwrap.dedent("""\
        goals:
          - {event: b, type: micro, kind: milestone, value: 1}
          - {event: purchase, type: macro}
        chains:
          - {name: c, steps: [nope, purchase]}
        report: {grain: year}
        version: 2
        """)
    found = problems(text)
    assert [p.line for p in found] == sorted(p.line for p in found)
    path = tmp_path / "goals.yaml"
    path.write_text(text)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 1
    lines = [int(line.split(":")[1]) for line in res.stderr.splitlines() if line.startswith(str(path) + ":")]
    assert lines == sorted(lines) and len(lines) == len(found)


@pytest.mark.parametrize("text,line,code", [
    ("version: 1\n\ngoals: [{event: purchase\x07, type: macro}]\n", 3, "U+0007"),
    ("version: 1\ngoals: [{event: \ud800x, type: macro}]\n", 2, "U+D800"),  # a lone surrogate (str input)
])
def test_characters_yaml_refuses_are_found_with_their_line(text, line, code):
    (p,) = problems(text)
    assert p.line == line and code in p.message

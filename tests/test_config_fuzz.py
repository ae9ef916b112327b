"""Property-based: whatever text or structure the loader is fed, it returns a config or raises ConfigError."""

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ga4kit.config import load_text
from ga4kit.config.model import GoalsConfig
from ga4kit.errors import ConfigError

KEYS = ["version", "properties", "defaults", "goals", "chains", "report", "event", "type", "kind", "counting",
        "value", "currency", "derive", "from", "where", "param", "contains", "regex", "steps", "name", "id",
        "segments", "range", "start", "end", "grain", "stream", "label", "negate", "service_level"]
WORDS = ["micro", "macro", "milestone", "secondary", "once_per_event", "purchase", "page_view", "EUR", "G-ABC123",
         "123", "properties/5", "28daysAgo", "2026-02-30", "(", "[a-", "", "scroll", "_x", "week", "360"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.sampled_from(WORDS), st.text(max_size=12))
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner,
                                            max_size=6)),
    max_leaves=40,
)


def check(text):
    try:
        cfg = load_text(text, source="fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems, "a ConfigError always lists at least one problem"
        assert all(p.file == "fuzz.yaml" for p in exc.problems)
        str(exc)  # renders
    else:
        assert isinstance(cfg, GoalsConfig)
        assert cfg.goals, "a valid config declares goals"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text):
    check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structures)
def test_arbitrary_structures(data):
    check(yaml.safe_dump(data, allow_unicode=True))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["event", "type", "kind", "counting", "value", "currency", "derive"]),
                       structures, max_size=7))
def test_arbitrary_goals_in_an_otherwise_valid_file(goal):
    data = {"version": 1, "goals": [goal, {"event": "purchase", "type": "macro"}],
            "chains": [{"name": "c", "steps": [goal.get("event"), "purchase"]}]}
    check(yaml.safe_dump(data, allow_unicode=True))

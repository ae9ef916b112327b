"""The goals file as typed, immutable objects. Built only by :mod:`ga4kit.config.loader`, which validates."""

from __future__ import annotations

from dataclasses import dataclass, field

from ga4kit.constants import MACRO, MICRO, MILESTONE, SECONDARY

ONCE_PER_EVENT = "once_per_event"
ONCE_PER_SESSION = "once_per_session"

# Operators of a derive condition -> (GA4 MatchingCondition.ComparisonType name, flips `negated`).
# GA4 has no "not equals": it is EQUALS with the condition negated.
CONDITION_OPERATORS = {
    "equals": ("EQUALS", False),
    "contains": ("CONTAINS", False),
    "starts_with": ("STARTS_WITH", False),
    "ends_with": ("ENDS_WITH", False),
    "regex": ("REGULAR_EXPRESSION", False),
    "equals_ci": ("EQUALS_CASE_INSENSITIVE", False),
    "contains_ci": ("CONTAINS_CASE_INSENSITIVE", False),
    "starts_with_ci": ("STARTS_WITH_CASE_INSENSITIVE", False),
    "ends_with_ci": ("ENDS_WITH_CASE_INSENSITIVE", False),
    "regex_ci": ("REGULAR_EXPRESSION_CASE_INSENSITIVE", False),
    "less_than": ("LESS_THAN", False),
    "less_than_or_equal": ("LESS_THAN_OR_EQUAL", False),
    "greater_than": ("GREATER_THAN", False),
    "greater_than_or_equal": ("GREATER_THAN_OR_EQUAL", False),
    "not_equals": ("EQUALS", True),
}


@dataclass(frozen=True)
class Condition:
    """One condition of a derive rule: ``param`` (or ``event_name``) compared with ``value``."""

    param: str
    operator: str  # a key of CONDITION_OPERATORS
    value: str
    negated: bool = False


@dataclass(frozen=True)
class Derive:
    """A goal made from another event: a GA4 create-event rule on a web data stream.

    The rule matches ``event_name == source`` plus every condition in ``where``; GA4 allows 10
    conditions in all, so ``where`` holds at most 9.
    """

    source: str
    where: tuple[Condition, ...] = ()
    copy_parameters: bool = True


@dataclass(frozen=True)
class Goal:
    event: str
    type: str  # MICRO or MACRO
    kind: str | None = None  # MILESTONE or SECONDARY for micro goals, None for macro goals
    counting: str = ONCE_PER_EVENT
    value: float | None = None
    currency: str | None = None  # set whenever value is set
    derive: Derive | None = None
    description: str | None = None

    @property
    def is_macro(self) -> bool:
        return self.type == MACRO


@dataclass(frozen=True)
class Chain:
    """An ordered path of goals; the last step is a macro goal."""

    name: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class PropertyRef:
    id: str  # numeric, normalised by ga4kit.ids.property_id
    label: str | None = None
    stream: str | None = None  # numeric web data stream id for create-event rules, when several exist

    @property
    def name(self) -> str:
        return f"properties/{self.id}"

    @property
    def display(self) -> str:
        return f"{self.label} ({self.id})" if self.label else self.id


@dataclass(frozen=True)
class ReportSettings:
    segments: tuple[str, ...] = ("sessionDefaultChannelGroup",)
    start: str = "28daysAgo"
    end: str = "yesterday"
    grain: str = "range"  # day | week | month | range


@dataclass(frozen=True)
class Defaults:
    counting: str = ONCE_PER_EVENT
    currency: str | None = None


@dataclass(frozen=True)
class GoalsConfig:
    version: int
    properties: tuple[PropertyRef, ...]
    goals: tuple[Goal, ...]
    chains: tuple[Chain, ...] = ()
    defaults: Defaults = field(default_factory=Defaults)
    report: ReportSettings = field(default_factory=ReportSettings)
    source: str | None = None  # the file it was loaded from
    warnings: tuple = ()  # ga4kit.errors.Problem with severity "warning"

    def goal(self, event: str) -> Goal:
        for g in self.goals:
            if g.event == event:
                return g
        raise KeyError(event)

    @property
    def macro_goals(self) -> tuple[Goal, ...]:
        return tuple(g for g in self.goals if g.type == MACRO)

    @property
    def micro_goals(self) -> tuple[Goal, ...]:
        return tuple(g for g in self.goals if g.type == MICRO)

    @property
    def derived_goals(self) -> tuple[Goal, ...]:
        return tuple(g for g in self.goals if g.derive is not None)

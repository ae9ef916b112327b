"""The goals file: load and validate (loader), typed model (model), JSON Schema (schema)."""

from ga4kit.config.loader import load, load_text
from ga4kit.config.model import Chain, Condition, Defaults, Derive, Goal, GoalsConfig, PropertyRef, ReportSettings

__all__ = ["load", "load_text", "Chain", "Condition", "Defaults", "Derive", "Goal", "GoalsConfig",
           "PropertyRef", "ReportSettings"]

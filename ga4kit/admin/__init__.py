"""Make GA4 properties match a goals file: key events (counting method, default value) and create-event
rules for derived goals. Plan first, then apply; re-running changes nothing.

    from ga4kit import admin, config, connect
    goals = config.load("goals.yaml")
    with connect.make_clients(write=True) as clients:
        p = admin.plan(goals, clients)            # read-only
        print(admin.render_plan(p))
        result = admin.apply(p, clients)          # writes; never raises for a GA4 failure
        assert result.ok

``apply`` raises :class:`ApplyInterrupted` (a KeyboardInterrupt) on Ctrl-C, carrying the outcomes so far.
"""

from ga4kit.admin.apply import ApplyInterrupted, WritePolicy, apply
from ga4kit.admin.plan import check_event_names, plan
from ga4kit.admin.formatting import plan_to_dict, render_plan, render_result, result_to_dict
from ga4kit.admin.types import (
    Action, CapCheck, Change, ErrorInfo, KeyEventSpec, Outcome, Plan, PlanWarning, PropertyPlan, PropertyResult,
    Result, RuleSpec,
)

__all__ = ["plan", "apply", "Plan", "Result", "PropertyPlan", "PropertyResult", "Action", "Outcome", "Change",
           "CapCheck", "ErrorInfo", "KeyEventSpec", "RuleSpec", "PlanWarning", "WritePolicy", "ApplyInterrupted",
           "check_event_names", "render_plan", "render_result", "plan_to_dict",
           "result_to_dict"]

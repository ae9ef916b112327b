"""checkCompatibility: which dimensions and metrics could join a request's without an error.

The request's own fields (dimensions, metrics, the fields of its filters, the inputs of metric
expressions) are checked as runReport checks them: INVALID_ARGUMENT for a name GA4 does not know,
UNIMPLEMENTED for a valid GA4 name the emulator does not model. Every dimension and metric of the
property's metadata is then answered COMPATIBLE or INCOMPATIBLE by the emulator's two rules:

- scopes (``dimensions.dimension_scope`` / ``metric_scope``): item-scoped dimensions (itemName, ...) go
  only with item-scoped metrics (itemRevenue, ...), as runReport enforces. A request with an item-scoped
  dimension makes every other metric INCOMPATIBLE; a request with a metric that is not item scoped makes
  every item-scoped dimension INCOMPATIBLE;
- cohorts: cohort fields (cohort, cohortNth*, cohortActiveUsers, cohortTotalUsers) exist only in cohort
  reports, which take no other dimensions; so a request with an ordinary dimension makes every cohort
  field INCOMPATIBLE, and a request with a cohort field makes every ordinary dimension INCOMPATIBLE
  (ordinary metrics stay compatible with both, unless the scope rule says otherwise).

``compatibility_filter`` keeps only the answers of one kind.
"""

from __future__ import annotations

from google.analytics import data_v1beta

from .cohorts import COHORT_DIMENSIONS, COHORT_METRICS, is_cohort_field
from .dimensions import NO_CUSTOM, check_dimension, check_metric, dimension_scope, is_metric, metric_scope
from .filters import filter_fields
from .metric_expressions import Expression

COMPATIBLE, INCOMPATIBLE = 1, 2


def _request_fields(req, custom) -> tuple[list[str], list[str]]:
    """The request's dimensions and metrics (filters' fields and expressions' inputs included), checked."""
    dims = [d.name for d in req.dimensions]
    if req.HasField("dimension_filter"):
        dims += filter_fields(req.dimension_filter)
    mets: list[str] = []
    for m in req.metrics:
        if m.expression:
            mets += Expression(m.expression, lambda n: n in COHORT_METRICS or is_metric(n, custom)).names
        else:
            mets.append(m.name)
    if req.HasField("metric_filter"):
        mets += filter_fields(req.metric_filter)
    for d in dims:
        if d not in COHORT_DIMENSIONS and d != "dateRange":
            check_dimension(d, custom)
    for m in mets:
        if m not in COHORT_METRICS:
            check_metric(m, custom)
    return dims, mets


def check_compatibility(req, md, custom=NO_CUSTOM) -> data_v1beta.CheckCompatibilityResponse:
    """``req``: raw CheckCompatibilityRequest; ``md``: the property's Metadata (proto-plus); ``custom``:
    the property's custom definitions."""
    dims, mets = _request_fields(req, custom)
    ordinary_dim = any(d not in COHORT_DIMENSIONS for d in dims)
    cohort_field = any(is_cohort_field(n) for n in dims + mets)
    item_dim = any(dimension_scope(d) == "item" for d in dims)
    other_metric = any(metric_scope(m) != "item" for m in mets)

    def verdict(name: str, is_dimension: bool) -> int:
        if is_cohort_field(name):
            return INCOMPATIBLE if ordinary_dim else COMPATIBLE
        if is_dimension and cohort_field:
            return INCOMPATIBLE
        if is_dimension and other_metric and dimension_scope(name) == "item":
            return INCOMPATIBLE
        if not is_dimension and item_dim and metric_scope(name) != "item":
            return INCOMPATIBLE
        return COMPATIBLE

    wanted = req.compatibility_filter
    out = data_v1beta.CheckCompatibilityResponse()
    for d in md.dimensions:
        c = verdict(d.api_name, True)
        if not wanted or wanted == c:
            out.dimension_compatibilities.append(
                data_v1beta.DimensionCompatibility(dimension_metadata=d, compatibility=c))
    for m in md.metrics:
        c = verdict(m.api_name, False)
        if not wanted or wanted == c:
            out.metric_compatibilities.append(data_v1beta.MetricCompatibility(metric_metadata=m, compatibility=c))
    return out

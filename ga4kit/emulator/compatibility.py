"""checkCompatibility: which dimensions and metrics could join a request's without an error.

The request's own fields (dimensions, metrics, the fields of its filters, the inputs of metric
expressions) must be valid names (INVALID_ARGUMENT otherwise, as runReport). Every dimension and metric
of the property's metadata is then answered COMPATIBLE or INCOMPATIBLE by the emulator's one rule:
cohort fields (cohort, cohortNth*, cohortActiveUsers, cohortTotalUsers) exist only in cohort reports,
which take no other dimensions; so a request with an ordinary dimension makes every cohort field
INCOMPATIBLE, and a request with a cohort field makes every ordinary dimension INCOMPATIBLE (ordinary
metrics stay compatible with both). ``compatibility_filter`` keeps only the answers of one kind.
"""

from __future__ import annotations

from google.analytics import data_v1beta

from .cohorts import COHORT_DIMENSIONS, is_cohort_field
from .dimensions import bad_dimension, bad_metric
from .filters import filter_fields
from .metric_expressions import Expression

COMPATIBLE, INCOMPATIBLE = 1, 2


def check_compatibility(req, md) -> data_v1beta.CheckCompatibilityResponse:
    """``req``: raw CheckCompatibilityRequest; ``md``: the property's Metadata (proto-plus)."""
    known_dims = {d.api_name for d in md.dimensions}
    known_mets = {m.api_name for m in md.metrics}
    dims = [d.name for d in req.dimensions]
    if req.HasField("dimension_filter"):
        dims += filter_fields(req.dimension_filter)
    mets: list[str] = []
    for m in req.metrics:
        mets += Expression(m.expression, known_mets.__contains__).names if m.expression else [m.name]
    if req.HasField("metric_filter"):
        mets += filter_fields(req.metric_filter)
    for d in dims:
        if d not in known_dims:
            raise bad_dimension(d)
    for m in mets:
        if m not in known_mets:
            raise bad_metric(m)
    ordinary_dim = any(d not in COHORT_DIMENSIONS for d in dims)
    cohort_field = any(is_cohort_field(n) for n in dims + mets)

    def verdict(name: str, is_dimension: bool) -> int:
        if is_cohort_field(name):
            return INCOMPATIBLE if ordinary_dim else COMPATIBLE
        if is_dimension and cohort_field:
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

"""ga4kit: provision GA4 key events from a goals file and report micro-to-macro conversion chains.

The library is the product; the CLI (``ga4kit.cli``) is a thin layer over it. Everything a command does
is one call here::

    import ga4kit

    goals = ga4kit.load("goals.yaml")                       # validates; ga4kit.ConfigError lists every problem
    with ga4kit.make_clients(write=True) as clients:        # Google, or the emulator (GA4KIT_EMULATOR_HOST)
        result = ga4kit.apply(ga4kit.plan(goals, clients), clients)
        pulled = ga4kit.pull(goals, clients, grain="day")   # tidy pandas frames (columns: ga4kit.frames)
        ga4kit.write_pull(pulled, "goals.xlsx", merge=True) # CSV, XLSX, JSON, NDJSON, Parquet; atomic
        chains = ga4kit.analyse(goals, clients).chains      # chains, goals, flags

Names load on first use, so ``import ga4kit`` costs nothing (the CLI's ``--help`` stays light); type
checkers see them through ``__init__.pyi``.
"""

# No imports here, not even typing: this runs before the CLI can handle Ctrl-C (see ga4kit.cli), so it must
# be instant. Type checkers read the names from __init__.pyi.
__version__ = "0.1.0"

# public name -> "module:attribute" (imported on first use)
_EXPORTS = {
    # goals files
    "load": "ga4kit.config:load", "load_text": "ga4kit.config:load_text",
    "GoalsConfig": "ga4kit.config:GoalsConfig", "Goal": "ga4kit.config:Goal", "Chain": "ga4kit.config:Chain",
    "PropertyRef": "ga4kit.config:PropertyRef",
    # clients
    "make_clients": "ga4kit.connect:make_clients", "Clients": "ga4kit.connect:Clients",
    "list_properties": "ga4kit.properties:list_properties", "PropertySummary": "ga4kit.properties:PropertySummary",
    # admin
    "plan": "ga4kit.admin:plan", "apply": "ga4kit.admin:apply", "Plan": "ga4kit.admin:Plan",
    "Result": "ga4kit.admin:Result", "WritePolicy": "ga4kit.admin:WritePolicy",
    "ApplyInterrupted": "ga4kit.admin:ApplyInterrupted",
    # reporting
    "pull": "ga4kit.reporting:pull", "PullResult": "ga4kit.reporting:PullResult",
    "analyse": "ga4kit.reporting.analysis:analyse", "Analysis": "ga4kit.reporting.analysis:Analysis",
    # audit
    "run_audit": "ga4kit.audit:run_audit", "AuditReport": "ga4kit.audit:AuditReport",
    # destinations
    "write_pull": "ga4kit.destinations:write_pull", "write_frames": "ga4kit.destinations:write_frames",
    "read_frames": "ga4kit.destinations:read_frames", "open_destination": "ga4kit.destinations:open_destination",
    "Destination": "ga4kit.destinations:Destination",
    # errors (the tree is drawn in ga4kit.errors)
    **{name: f"ga4kit.errors:{name}" for name in (
        "Ga4kitError", "ConfigError", "IdentifierError", "CredentialsError", "OutputError", "PlanError",
        "CapExceededError", "ApiError", "PermissionDeniedError", "NotFoundError", "InvalidArgumentError",
        "AlreadyExistsError", "QuotaExhaustedError", "ResponseTooLargeError", "UnavailableError", "NetworkError")},
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'ga4kit' has no attribute {name!r}")
    import importlib

    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


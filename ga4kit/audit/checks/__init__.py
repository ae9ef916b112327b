"""The audit's checks, one module per family; every module here is loaded by
:func:`ga4kit.audit.registry.checks` and registers its checks with :func:`ga4kit.audit.registry.check`.
Shared helpers live in modules whose name starts with an underscore (not loaded as checks)."""

"""Rendering of chain, goal and flag frames: text formats (``text``: terminal tables, CSV, JSON, Markdown),
one number formatter (``numbers``), the terminal (``terminal``: NO_COLOR, widths) and a self-contained HTML
page (``html``).

The names below load on first use: the CLI takes ``render.terminal`` without paying for pandas.
"""

_EXPORTS = {
    "FORMATS": "ga4kit.render.text", "print_frame": "ga4kit.render.text", "render": "ga4kit.render.text",
    "table": "ga4kit.render.text", "to_markdown": "ga4kit.render.text", "view": "ga4kit.render.text",
    "write_report": "ga4kit.render.html", "console": "ga4kit.render.terminal", "use_color": "ga4kit.render.terminal",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ga4kit.render' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

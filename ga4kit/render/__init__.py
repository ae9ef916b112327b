"""Rendering of chain, goal and flag frames: text formats (``text``) and a self-contained HTML page (``html``)."""

from ga4kit.render.text import FORMATS, print_frame, render, table, to_markdown, view

__all__ = ["FORMATS", "print_frame", "render", "table", "to_markdown", "view"]

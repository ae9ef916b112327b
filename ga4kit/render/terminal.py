"""The terminal as ga4kit writes to it: colour only where it belongs (NO_COLOR, TERM=dumb, pipes) and a
rich Console that never crops piped output. Used by the tables here and by the CLI."""

from __future__ import annotations

import os
import sys


def use_color(stream=None) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def console(*, stderr: bool = False):
    """A rich Console for stdout (or stderr) that honours NO_COLOR; piped output is never cropped at 80
    columns (there is no terminal width to respect)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    c = Console(file=stream, no_color=not use_color(stream), highlight=False, soft_wrap=False)
    if not c.is_terminal:
        c = Console(file=stream, no_color=True, highlight=False, width=max(c.width, 240), color_system=None)
    return c

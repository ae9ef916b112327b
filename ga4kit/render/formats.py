"""The text formats frames are rendered in (``chains -f``); apart from ``text`` so the CLI can offer them as
choices without importing pandas."""

FORMATS = ("table", "csv", "json", "ndjson", "markdown")

"""Normalise GA4 identifiers at the edge: every property id inside ga4kit is the bare number as a str."""

from __future__ import annotations

import re

from ga4kit.errors import IdentifierError

_NUMERIC = re.compile(r"^\d{1,20}$")
_MEASUREMENT = re.compile(r"^G-[A-Z0-9]{4,}$", re.IGNORECASE)
_UA = re.compile(r"^UA-\d+(-\d+)?$", re.IGNORECASE)
_GTM = re.compile(r"^GTM-[A-Z0-9]+$", re.IGNORECASE)
_STREAM = re.compile(r"^(?:properties/(\d+)/)?dataStreams/(\d+)$")

_WHERE = (
    "Find the property id in GA4 under Admin > Property details (a number such as 123456789), "
    "and use it as \"123456789\" or \"properties/123456789\"."
)


def property_id(value: object) -> str:
    """Return the numeric property id for ``123``, ``"123"`` or ``"properties/123"``.

    Measurement ids (G-...), Universal Analytics ids (UA-...) and anything else are refused
    with an :class:`IdentifierError` that says where to find the real id.
    """
    if isinstance(value, bool):
        raise IdentifierError(f"{value!r} is not a GA4 property id.", _WHERE)
    if isinstance(value, int):
        if value <= 0:
            raise IdentifierError(f"{value!r} is not a GA4 property id.", _WHERE)
        return str(value)
    if not isinstance(value, str):
        raise IdentifierError(f"{value!r} is not a GA4 property id.", _WHERE)
    text = value.strip()
    if text.startswith("properties/"):
        text = text[len("properties/"):]
    if _NUMERIC.match(text) and int(text) > 0:
        return str(int(text))
    if _MEASUREMENT.match(text):
        raise IdentifierError(
            f"{value!r} is a measurement id (a web stream's tag id), not a property id.", _WHERE
        )
    if _UA.match(text):
        raise IdentifierError(
            f"{value!r} is a Universal Analytics id; Universal Analytics was shut down and ga4kit "
            "works on GA4 properties only.", _WHERE
        )
    if _GTM.match(text):
        raise IdentifierError(f"{value!r} is a Google Tag Manager container id, not a property id.", _WHERE)
    raise IdentifierError(f"{value!r} is not a GA4 property id.", _WHERE)


def property_name(value: object) -> str:
    """``properties/123`` for any accepted form of a property id."""
    return f"properties/{property_id(value)}"


def stream_id(value: object) -> str:
    """Return the numeric data stream id for ``456``, ``dataStreams/456`` or
    ``properties/123/dataStreams/456``."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if _NUMERIC.match(text):
        return str(int(text))
    m = _STREAM.match(text)
    if m:
        return m.group(2)
    if _MEASUREMENT.match(text):
        raise IdentifierError(
            f"{value!r} is a measurement id; a data stream is named by its numeric stream id.",
            "Find it in GA4 under Admin > Data streams > (your web stream) > Stream ID.",
        )
    raise IdentifierError(
        f"{value!r} is not a data stream id.",
        "Use the numeric Stream ID shown in GA4 under Admin > Data streams.",
    )

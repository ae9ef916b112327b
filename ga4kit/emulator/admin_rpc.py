"""What every Admin RPC handler needs besides the state: resource names, update masks, paging, enum names
and the bytes of an answer.

Update masks are checked as GA4 checks them: the mask is required, ``*`` means every updatable field,
an immutable or output-only field and a field the resource does not have are INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from ga4kit.emulator.errors import invalid

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# Resource name patterns (the groups are the ids, outermost first).
PROPERTY = re.compile(r"^properties/(\d+)$")
ACCOUNT = re.compile(r"^accounts/(\d+)$")
KEY_EVENT = re.compile(r"^properties/(\d+)/keyEvents/(\d+)$")
STREAM = re.compile(r"^properties/(\d+)/dataStreams/(\d+)$")
RULE = re.compile(r"^properties/(\d+)/dataStreams/(\d+)/eventCreateRules/(\d+)$")
RETENTION = re.compile(r"^properties/(\d+)/dataRetentionSettings$")
SIGNALS = re.compile(r"^properties/(\d+)/googleSignalsSettings$")
ATTRIBUTION = re.compile(r"^properties/(\d+)/attributionSettings$")
ENHANCED = re.compile(r"^properties/(\d+)/dataStreams/(\d+)/enhancedMeasurementSettings$")
REDACTION = re.compile(r"^properties/(\d+)/dataStreams/(\d+)/dataRedactionSettings$")
SECRET = re.compile(r"^properties/(\d+)/dataStreams/(\d+)/measurementProtocolSecrets/([A-Za-z0-9_-]+)$")
SECRETS_PARENT = re.compile(r"^properties/(\d+)/dataStreams/(\d+)(?:/measurementProtocolSecrets)?$")
DIMENSION = re.compile(r"^properties/(\d+)/customDimensions/(\d+)$")
METRIC = re.compile(r"^properties/(\d+)/customMetrics/(\d+)$")
ADS_LINK = re.compile(r"^properties/(\d+)/googleAdsLinks/(\d+)$")
BIGQUERY_LINK = re.compile(r"^properties/(\d+)/bigQueryLinks/([A-Za-z0-9_-]+)$")


@dataclass(frozen=True)
class Method:
    request: Any  # proto-plus request class (has .deserialize)
    handler: Callable[[Any, Any], Any]  # (request, context) -> response message
    write: bool


def serialize(message: Any) -> bytes:
    """Bytes of a proto-plus message or of a raw protobuf message (google.protobuf.Empty)."""
    cls = type(message)
    if hasattr(cls, "pb") and hasattr(cls, "serialize"):
        return cls.serialize(message)
    return message.SerializeToString()


def parse(pattern: re.Pattern, name: str, expected: str, field: str = "name") -> tuple[str, ...]:
    """The ids in a resource name; INVALID_ARGUMENT naming the field and the expected format otherwise."""
    m = pattern.match(name or "")
    if not m:
        if not name:
            raise invalid(f"Field {field} is required (format {expected}).")
        raise invalid(f"Invalid resource name '{name}' in field {field}: expected {expected}.")
    return m.groups()


def enum_name(value: Any) -> str:
    """The name of an enum value as proto-plus hands it over (an unknown number stays a number)."""
    return getattr(value, "name", None) or str(value)


def _snake(path: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), path)


def mask_paths(request: Any, updatable: tuple[str, ...], immutable: tuple[str, ...] = (),
               message_field: str | None = None) -> list[str]:
    """The update mask's paths, checked: required, "*" alone = every updatable path; an immutable or
    output-only field (of ``message_field``'s message) or an unknown one is refused."""
    paths = [_snake(p) for p in (request.update_mask.paths if "update_mask" in request else [])]
    if not paths:
        raise invalid("Field update_mask is required and must list the fields to update.")
    if "*" in paths:
        if len(paths) > 1:
            raise invalid("Field update_mask: '*' must be the only path.")
        return list(updatable)
    known: set[str] = set()
    if message_field is not None:
        msg = getattr(request, message_field)
        known = set(type(msg).pb(msg).DESCRIPTOR.fields_by_name)
    for p in paths:
        top = p.split(".", 1)[0]
        if p in updatable:
            continue
        if p in immutable or top in immutable:
            raise invalid(f"Field {p} is immutable and cannot be updated.")
        if top in known or top in updatable:
            raise invalid(f"Field {p} in update_mask cannot be updated (output only); updatable fields: "
                          f"{', '.join(updatable)}.")
        raise invalid(f"Field {p} in update_mask cannot be updated; updatable fields: {', '.join(updatable)}.")
    return paths


def page(items: list, request: Any, key: str, *, default_size: int = DEFAULT_PAGE_SIZE,
         max_size: int = MAX_PAGE_SIZE) -> tuple[list, str]:
    """One page of ``items`` for a List request (page_size default 50, max 200) and the next page token."""
    size = request.page_size
    if size < 0:
        raise invalid("Field page_size must not be negative.")
    size = default_size if size == 0 else min(size, max_size)
    offset = 0
    if request.page_token:
        try:
            raw = base64.urlsafe_b64decode(request.page_token.encode("ascii") + b"==")
            data = json.loads(raw.decode("utf-8"))
            offset = int(data["o"])
            same = data["k"] == key
        except (ValueError, KeyError, TypeError, UnicodeError):
            raise invalid(f"Invalid page token '{request.page_token}'.") from None
        if not same or offset < 0:
            raise invalid("The page token does not match the request: when paging, every other parameter must "
                          "match the call that returned the token.")
    chunk = items[offset:offset + size]
    token = ""
    if offset + size < len(items):
        token = base64.urlsafe_b64encode(json.dumps({"o": offset + size, "k": key}).encode()).decode().rstrip("=")
    return chunk, token

"""Property and stream identifiers are normalised in one place; wrong kinds of ids are refused with a hint."""

import pytest

from ga4kit.errors import IdentifierError
from ga4kit.ids import property_id, property_name, stream_id


@pytest.mark.parametrize("value", ["123456789", 123456789, "properties/123456789", " 123456789 ",
                                   "properties/0123456789"])
def test_accepted_forms_normalise_to_the_bare_number(value):
    assert property_id(value) == "123456789"
    assert property_name(value) == "properties/123456789"


@pytest.mark.parametrize("value,needle", [
    ("G-ABCDEF1234", "measurement id"),
    ("g-abc1234", "measurement id"),
    ("UA-12345-1", "Universal Analytics"),
    ("GTM-ABC123", "Tag Manager"),
    ("shop", "not a GA4 property id"),
    ("", "not a GA4 property id"),
    (0, "not a GA4 property id"),
    (-5, "not a GA4 property id"),
    (True, "not a GA4 property id"),
    (None, "not a GA4 property id"),
    ("properties/abc", "not a GA4 property id"),
])
def test_refused_forms_say_where_the_real_id_is(value, needle):
    with pytest.raises(IdentifierError) as info:
        property_id(value)
    assert needle in info.value.message
    assert "Property details" in info.value.hint


def test_stream_ids():
    assert stream_id("456") == "456"
    assert stream_id(456) == "456"
    assert stream_id("properties/1/dataStreams/456") == "456"
    assert stream_id("dataStreams/456") == "456"
    with pytest.raises(IdentifierError, match="measurement id"):
        stream_id("G-ABC1234")
    with pytest.raises(IdentifierError):
        stream_id("web")

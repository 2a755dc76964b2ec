"""The target's quick record check never lets through a record jsonschema refuses.

The quick check (`target_plg_crm.record_check`) skips the SDK's jsonschema validation
for records that certainly match a flat schema; the rejects file must list exactly what
it listed before. Every value below is checked against every property schema with both.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import jsonschema
import pytest
from target_plg_crm.record_check import FlatRecordCheck

PROPERTY_SCHEMAS = [
    {"type": "string"},
    {"type": ["string", "null"]},
    {"type": "integer"},
    {"type": ["integer", "null"]},
    {"type": "number"},
    {"type": ["number", "null"]},
    {"type": "boolean"},
    {},
    {"type": "string", "x-options": ["a", "b"]},
    {"type": ["string", "null"], "enum": ["dormant", "customer", None]},
    {"type": "string", "title": "Name", "description": "A name"},
]
VALUES = [
    "text",
    "",
    "dormant",
    None,
    0,
    1,
    -7,
    2**70,
    1.0,
    1.5,
    float("nan"),
    Decimal("1.0"),
    Decimal("2.5"),
    True,
    False,
    [1],
    {"a": 1},
]


@pytest.mark.parametrize("property_schema", PROPERTY_SCHEMAS, ids=str)
def test_quick_yes_only_where_jsonschema_accepts(property_schema: dict) -> None:
    schema = {"type": "object", "properties": {"p": property_schema, "q": {"type": "string"}}}
    check = FlatRecordCheck.of(schema)
    assert check is not None
    validator = jsonschema.Draft7Validator(schema)
    for value, other in itertools.product(VALUES, ["x", 1, None, {"deep": 1}]):
        record = {"p": value, "extra": other}
        if check.certainly_valid(record):
            assert validator.is_valid(record), (property_schema, record)
    # The common case is quick: a value of the declared type.
    samples = {"string": "x", "integer": 3, "number": Decimal("2.5"), "boolean": True}
    kinds = property_schema.get("type", "string")
    kind = kinds if isinstance(kinds, str) else kinds[0]
    value = property_schema.get("enum", [samples[kind]])[0]
    assert check.certainly_valid({"p": value, "q": "y"})


def test_required_properties_and_schemas_it_does_not_know_are_left_to_jsonschema() -> None:
    schema = {"type": "object", "properties": {"p": {"type": "string"}}, "required": ["p"]}
    check = FlatRecordCheck.of(schema)
    assert check is not None
    assert check.certainly_valid({"p": "x"}) and not check.certainly_valid({})
    for unknown in (
        {"type": "object", "properties": {"p": {"type": "string", "maxLength": 3}}},
        {"type": "object", "properties": {"p": {"type": "object"}}},
        {"type": "object", "properties": {"p": {"anyOf": [{"type": "string"}]}}},
        {"type": "object", "properties": {}, "additionalProperties": False},
        {"type": "object", "properties": {"p": {"enum": [1, 2]}}},
    ):
        assert FlatRecordCheck.of(unknown) is None, unknown

"""A quick check that a record certainly matches a flat stream schema.

The SDK's jsonschema validation costs about a millisecond per record of the transform's
wide output streams, which was most of the target's time on a few thousand records. The
transform's schemas are flat: each property has a `type` (a name or a list of names) and
perhaps an `enum`. For such a schema a record whose every value has one of its property's
Python types, and is in the enum if there is one, is valid; this check says so without
jsonschema. It never says a record is invalid: anything it is unsure about (a float
where an integer is allowed, a nested object, a keyword it does not know) goes to the full
validation, whose message the rejects file keeps.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

# JSON type name -> the Python values that are certainly of it (bools are not numbers; the
# SDK reads JSON numbers with a fraction as Decimal).
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float, Decimal),
    "boolean": (bool,),
    "null": (type(None),),
}
# Keywords that constrain nothing (annotations, and this project's `x-` extensions).
_NOT_CONSTRAINTS = frozenset({"title", "description", "default", "examples", "$comment"})
_TOP_LEVEL = frozenset({"type", "properties", "required"}) | _NOT_CONSTRAINTS

_SCALARS = (str, int, float, Decimal, bool, type(None))

Predicate = t.Callable[[object], bool]


def _is_annotation(keyword: str) -> bool:
    return keyword in _NOT_CONSTRAINTS or keyword.startswith("x-")


def _value_check(schema: object) -> Predicate | None:
    """True for values the property's schema certainly accepts; None if unsure of it."""
    if not isinstance(schema, dict):
        return None
    if any(k not in ("type", "enum") and not _is_annotation(k) for k in schema):
        return None
    names = schema.get("type")
    if names is None:
        allowed: tuple[type, ...] | None = None  # any type
    else:
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or any(n not in _PYTHON_TYPES for n in names):
            return None
        allowed = tuple(kind for n in names for kind in _PYTHON_TYPES[n])
    enum = schema.get("enum")
    if enum is not None and (
        not isinstance(enum, list) or any(not isinstance(v, str | None) for v in enum)
    ):
        return None
    members = None if enum is None else frozenset(enum)
    bool_allowed = allowed is None or bool in allowed

    def check(value: object) -> bool:
        if allowed is not None and not isinstance(value, allowed):
            return False
        if isinstance(value, bool) and not bool_allowed:
            return False  # True is an int to Python, not an integer to JSON Schema
        if allowed is None and not isinstance(value, _SCALARS):
            return False  # nested values: left to the full validation
        return members is None or (isinstance(value, str | None) and value in members)

    return check


class FlatRecordCheck:
    """Says when a record certainly matches a flat object schema (see the module)."""

    def __init__(self, checks: dict[str, Predicate], required: tuple[str, ...]) -> None:
        self._checks = checks
        self._required = required

    @classmethod
    def of(cls, schema: t.Mapping[str, t.Any]) -> FlatRecordCheck | None:
        """The check of a stream schema, or None when the schema is not flat."""
        if schema.get("type") not in ("object", ["object"]):
            return None
        if any(k not in _TOP_LEVEL and not k.startswith("x-") for k in schema):
            return None
        properties = schema.get("properties")
        required = schema.get("required", [])
        if not isinstance(properties, dict) or not isinstance(required, list):
            return None
        checks = {}
        for name, property_schema in properties.items():
            check = _value_check(property_schema)
            if check is None:
                return None
            checks[name] = check
        return cls(checks, tuple(str(r) for r in required))

    def certainly_valid(self, record: t.Mapping[str, t.Any]) -> bool:
        """True when the record matches the schema; False when unsure (or invalid)."""
        checks = self._checks
        for name, value in record.items():
            check = checks.get(name)
            if check is not None and not check(value):
                return False
            if check is None and not isinstance(value, _SCALARS):
                return False
        return all(name in record for name in self._required)

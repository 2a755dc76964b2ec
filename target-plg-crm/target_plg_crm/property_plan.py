"""Record fields -> CRM property definitions (from the stream's SCHEMA) and value encoding.

Types come from the schema and its formats, never from the values, so a property keeps
one type whatever the first record held:

    integer, number            -> number / number
    boolean                    -> bool / booleancheckbox
    string, format date-time   -> datetime / date   (value: ISO 8601 UTC, `Z`)
    string, format date        -> date / date       (value: epoch ms at UTC midnight)
    string                     -> string / text
    lifecycle_stage (string)   -> enumeration / select   (options grow with the values)
    segments (string, `;`)     -> enumeration / checkbox (multi-valued, `;`-separated)
    object, array, mixed, none -> string / textarea (value: compact JSON)

Every value is written as a string; null writes "" which clears the property.
Property names follow HubSpot's rules (`property_name_problem`): a field whose name
would break them is not written, with a warning.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from target_plg_crm.crm.property_definitions import PropertyDefinition

#: Fields written as enumerations, with their HubSpot field type.
ENUMERATION_FIELDS = {"lifecycle_stage": "select", "segments": "checkbox"}
#: HubSpot's own property names start with it: the target never creates one.
RESERVED_NAME_PREFIX = "hs_"
#: HubSpot's internal names are shorter than this.
NAME_LENGTH_LIMIT = 100
_VALID_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: Milliseconds in a day: a date is written as the epoch ms of its UTC midnight.
_DAY_MS = 86_400_000


class InvalidValueError(ValueError):
    """A record value that does not fit its property (the record is rejected)."""

    def __init__(self, field: str, reason: str) -> None:
        """`field` is the record's field name; `reason` says what was wrong."""
        super().__init__(f"{field}: {reason}")
        self.field = field


def property_name(prefix: str, field: str) -> str:
    """`<prefix><field>` as a valid CRM internal name (lower snake case)."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", field).lower()
    name = re.sub(r"[^a-z0-9_]+", "_", name)
    name = re.sub(r"_+", "_", name).strip("_")
    if not name:
        return ""
    full = f"{prefix}{name}"
    return full if full[0].isalpha() else f"p_{full}"


def property_name_problem(name: str) -> str | None:
    """Why HubSpot would refuse `name` as a property's internal name, or None."""
    if not _VALID_NAME.match(name):
        return "it must be lower-case letters, digits and `_`, starting with a letter"
    if name.startswith(RESERVED_NAME_PREFIX):
        return f"`{RESERVED_NAME_PREFIX}` names belong to HubSpot"
    if len(name) >= NAME_LENGTH_LIMIT:
        return f"it has {len(name)} characters, HubSpot takes fewer than {NAME_LENGTH_LIMIT}"
    return None


def epoch_ms_of_date(value: date) -> str:
    """A date as HubSpot's date properties take it: epoch milliseconds of its UTC midnight."""
    return str((value - date(1970, 1, 1)).days * _DAY_MS)


def property_label(field: str) -> str:
    """A human label: `engagement_score` -> `Engagement score`."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", field).replace("_", " ").split()
    return " ".join(words).capitalize() if words else field


def _json_types(schema: Mapping[str, Any]) -> tuple[set[str], str | None]:
    """The JSON types a property schema allows (null excluded) and its string format."""
    types: set[str] = set()
    fmt = schema.get("format")
    for keyword in ("anyOf", "oneOf"):
        for option in schema.get(keyword) or []:
            option_types, option_format = _json_types(option)
            types |= option_types
            fmt = fmt or option_format
    declared = schema.get("type")
    if isinstance(declared, str):
        types.add(declared)
    elif isinstance(declared, list):
        types.update(t for t in declared if isinstance(t, str))
    types.discard("null")
    return types, fmt


def definition_for(
    field: str, schema: Mapping[str, Any], name: str, group: str
) -> PropertyDefinition:
    """The CRM property that fits a field, from its JSON schema."""
    types, fmt = _json_types(schema)
    label = property_label(field)

    def make(type_: str, field_type: str) -> PropertyDefinition:
        return PropertyDefinition(name, label, type_, field_type, group)

    if types == {"boolean"}:
        return make("bool", "booleancheckbox")
    if types and types <= {"integer", "number"}:
        return make("number", "number")
    if types == {"string"}:
        if field in ENUMERATION_FIELDS:
            return make("enumeration", ENUMERATION_FIELDS[field])
        if fmt == "date-time":
            return make("datetime", "date")
        if fmt == "date":
            return make("date", "date")
        return make("string", "text")
    return make("string", "textarea")


def _decimal_string(value: float | Decimal) -> str:
    """A number as a plain decimal string: no exponent, no trailing zeros."""
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with `Z`; fractional seconds only when not zero."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # a time without offset is UTC
    value = value.astimezone(UTC)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.isoformat(timespec=spec).replace("+00:00", "Z")


def _split_options(value: str) -> list[str]:
    return list(dict.fromkeys(part.strip() for part in value.split(";") if part.strip()))


def encode_value(definition: PropertyDefinition, value: Any) -> str:
    """`value` as the string the CRM stores for this property; raises ValueError."""
    if value is None:
        return ""
    kind = definition.type
    if kind == "number":
        # The SDK reads JSON numbers with a fraction as Decimal.
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise ValueError(f"{value!r} is not a number")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str):
            if value.strip() == "":
                return ""
            try:
                value = Decimal(value.strip())
            except ArithmeticError as error:
                raise ValueError(f"{value!r} is not a number") from error
        return _decimal_string(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{value!r} is not true or false")
        return "true" if value else "false"
    if kind == "datetime":
        if isinstance(value, str):
            if value == "":
                return ""
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise ValueError(f"{value!r} is not an ISO 8601 date-time")
        return format_datetime(value)
    if kind == "date":
        if isinstance(value, str):
            value = date.fromisoformat(value[:10]) if value else None
        if value is None:
            return ""
        if isinstance(value, datetime):
            value = value.date()
        if not isinstance(value, date):
            raise ValueError(f"{value!r} is not an ISO 8601 date")
        return epoch_ms_of_date(value)
    if kind == "enumeration":
        text = value if isinstance(value, str) else json.dumps(value)
        if definition.field_type == "checkbox":
            return ";".join(_split_options(text))
        if ";" in text:
            raise ValueError(f"{text!r} holds `;`, which no option of a single-choice field can")
        return text.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return _decimal_string(value)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default
    )


def json_default(value: Any) -> Any:
    """JSON for what the SDK's reader produces besides plain JSON (Decimal numbers)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


@dataclass
class PropertyPlan:
    """How the records of one stream become CRM properties.

    `key_field` (e.g. `email`, `account_id`) is the object's key: it is sent as the
    upsert id, and written to `key_property` when that is given (companies).
    """

    definitions: dict[str, PropertyDefinition]  # record field -> property
    key_field: str
    key_property: PropertyDefinition | None = None
    # Enumeration options the SCHEMA declares (`enum`, or `x-options` for `;`-joined sets):
    # created up front, so the CRM's picklists need no update as values first appear.
    declared_options: dict[str, set[str]] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_schema(
        cls,
        schema: Mapping[str, Any],
        *,
        prefix: str,
        group: str,
        key_field: str,
        key_property: PropertyDefinition | None,
        logger: logging.Logger,
    ) -> PropertyPlan:
        """Plan every field of `schema` except the key field."""
        definitions: dict[str, PropertyDefinition] = {}
        declared_options: dict[str, set[str]] = {}
        taken: dict[str, str] = {}
        if key_property is not None:
            taken[key_property.name] = key_field
        for field, field_schema in (schema.get("properties") or {}).items():
            if field == key_field:
                continue
            name = property_name(prefix, field)
            if not name or name in taken:
                logger.warning(
                    "Field %r is not written: its property name %r is empty or already "
                    "used by field %r",
                    field,
                    name,
                    taken.get(name),
                )
                continue
            problem = property_name_problem(name)
            if problem:
                logger.warning(
                    "Field %r is not written: HubSpot refuses its property name %r (%s)",
                    field,
                    name,
                    problem,
                )
                continue
            taken[name] = field
            definitions[field] = definition_for(field, field_schema or {}, name, group)
            if definitions[field].type == "enumeration":
                spec = field_schema or {}
                declared = [*(spec.get("enum") or []), *(spec.get("x-options") or [])]
                # HubSpot takes no empty option and no `;` inside one.
                options = {
                    v.strip() for v in declared if isinstance(v, str) and v.strip() and ";" not in v
                }
                if options:
                    declared_options[name] = options
        return cls(definitions, key_field, key_property, declared_options)

    def all_definitions(self) -> list[PropertyDefinition]:
        """Every property this stream writes, the key property first."""
        head = [self.key_property] if self.key_property else []
        return head + list(self.definitions.values())

    def encode(self, record: Mapping[str, Any]) -> dict[str, str]:
        """The CRM properties of a record (fields absent from the record are not sent)."""
        properties: dict[str, str] = {}
        for field, definition in self.definitions.items():
            if field not in record:
                continue
            try:
                properties[definition.name] = encode_value(definition, record[field])
            except (TypeError, ValueError) as error:
                raise InvalidValueError(
                    field, f"{error} (property {definition.name}, type {definition.type})"
                ) from error
        return properties

    def with_options(self, values: Mapping[str, set[str]]) -> list[PropertyDefinition]:
        """All definitions, enumerations carrying the options `values` needs."""
        return [
            replace(d, options=tuple(sorted(values.get(d.name, set()))))
            if d.type == "enumeration"
            else d
            for d in self.all_definitions()
        ]

    def enumeration_values(self, properties: Mapping[str, str]) -> dict[str, set[str]]:
        """The option values a record's enumeration properties use."""
        found: dict[str, set[str]] = {}
        for definition in self.definitions.values():
            value = properties.get(definition.name)
            if definition.type != "enumeration" or not value:
                continue
            parts = _split_options(value) if definition.field_type == "checkbox" else [value]
            found.setdefault(definition.name, set()).update(parts)
        return found

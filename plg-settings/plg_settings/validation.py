"""A plugin's config checked against its singer-sdk schema, each problem worded for a person.

The SDK's validator already knows types, bounds, enums and unknown keys; its messages
("Additional properties are not allowed ('evnets' was unexpected) in config['events']")
are written for developers. These say which setting, what is wrong and, for a typo, the
name that was probably meant, and never repeat the value of a secret setting.
"""

from __future__ import annotations

import copy
import json
import typing as t
from collections.abc import Iterator, Mapping
from decimal import Decimal

from jsonschema import ValidationError, validators
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR

from plg_settings.problems import did_you_mean, nearest, setting_path


def _fill_defaults_then_validate(
    validator: t.Any, properties: Mapping[str, t.Any], instance: t.Any, schema: t.Any
) -> Iterator[ValidationError]:
    """The SDK's defaults-filling `properties`, for objects only and with copied defaults.

    singer-sdk's `extend_validator_with_defaults` calls `setdefault` on whatever value is
    there, so a string given where an object with defaults is expected crashed with a
    traceback instead of being reported; and it hands out the schema's own default
    objects, which a later default then changes.
    """
    if isinstance(instance, dict):
        for name, subschema in properties.items():
            if isinstance(subschema, Mapping) and "default" in subschema:
                instance.setdefault(name, copy.deepcopy(subschema["default"]))
    yield from DEFAULT_JSONSCHEMA_VALIDATOR.VALIDATORS["properties"](
        validator, properties, instance, schema
    )


_Validator = validators.extend(
    DEFAULT_JSONSCHEMA_VALIDATOR, {"properties": _fill_defaults_then_validate}
)

_TYPE_WORDS = {
    "object": "an object (a mapping in meltano.yml, JSON text in an environment variable)",
    "array": "a list (in meltano.yml, or JSON text in an environment variable)",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def without_nulls(config: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The config with settings set to null dropped at every level: null means "unset",
    so the setting takes its default instead of failing its type."""
    return {
        key: without_nulls(value) if isinstance(value, Mapping) else value
        for key, value in config.items()
        if value is not None
    }


def settings_problems(schema: Mapping[str, t.Any], config: dict[str, t.Any]) -> list[str]:
    """Validate `config` in place against `schema`, filling defaults as the SDK does.

    Returns one line per problem, e.g. `` `events.evnets`: unknown setting; did you mean
    `events`? `` or `` `window_days`: must be at least 1, got 0 ``; empty when valid.
    """
    validator = _Validator(dict(schema))
    lines: list[str] = []
    for error in sorted(validator.iter_errors(config), key=_error_order):
        for line in _describe(error):
            if line not in lines:
                lines.append(line)
    return lines


def _error_order(error: ValidationError) -> tuple[int, str]:
    return (len(error.absolute_path), setting_path(error.absolute_path))


def _describe(error: ValidationError) -> Iterator[str]:
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    secret = _is_secret(error)
    keyword = error.validator
    if keyword in ("anyOf", "oneOf") and error.context:
        yield from _describe(_closest(error.context))
        return
    if keyword == "additionalProperties":
        known = list(schema.get("properties", {}))
        given = error.instance if isinstance(error.instance, Mapping) else {}
        extra = sorted(set(given) - set(known))
        for key in extra:
            yield f"`{setting_path([*path, key])}`: unknown setting{did_you_mean(key, known)}"
        return
    if keyword == "required":
        for key in _missing(error):
            yield f"`{setting_path([*path, key])}`: required, but not set"
        return
    name = f"`{setting_path(path)}`"
    shown = "a secret value" if secret else _shown(error.instance)
    if keyword == "type":
        wanted = error.validator_value
        kinds = [wanted] if isinstance(wanted, str) else [k for k in wanted if k != "null"]
        words = " or ".join(_TYPE_WORDS.get(kind, kind) for kind in kinds)
        hint = ""
        if isinstance(error.instance, str) and {"object", "array"} & set(kinds):
            hint = " (a string cannot stand for it: write the value itself, not text)"
        yield f"{name}: expected {words}, got {shown}{hint}"
    elif keyword == "enum":
        options = [str(option) for option in error.validator_value if option is not None]
        guess = nearest(str(error.instance), options) if not secret else None
        suffix = f"; did you mean `{guess}`?" if guess else ""
        yield f"{name}: {shown} is not one of {', '.join(options)}{suffix}"
    elif keyword == "const":
        yield f"{name}: must be {error.validator_value!r}, got {shown}"
    elif keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        bound = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[keyword]
        yield f"{name}: must be {bound} {error.validator_value}, got {shown}"
    elif keyword == "minItems":
        count = error.validator_value
        yield f"{name}: needs at least {count} item{'s' if count != 1 else ''}, got {shown}"
    elif keyword == "maxItems":
        yield f"{name}: at most {error.validator_value} items, got {len(error.instance)}"
    elif keyword == "minLength":
        yield (
            f"{name}: must not be empty"
            if error.validator_value == 1
            else (f"{name}: at least {error.validator_value} characters")
        )
    elif keyword == "maxLength":
        yield f"{name}: at most {error.validator_value} characters"
    elif keyword == "pattern":
        yield f"{name}: {shown} does not match the pattern {error.validator_value}"
    elif keyword == "uniqueItems":
        yield f"{name}: has duplicate items"
    elif keyword == "format":
        yield f"{name}: {shown} is not a valid {error.validator_value}"
    elif keyword == "minProperties":
        yield f"{name}: must not be empty"
    else:
        detail = "invalid value" if secret else error.message
        yield f"{name}: {detail}"


def _closest(errors: list[ValidationError]) -> ValidationError:
    """Of the branches of an anyOf/oneOf, the one the value came nearest to matching."""
    typed = [error for error in errors if error.validator != "type"]
    pool = typed or errors
    return max(pool, key=lambda error: len(error.absolute_path))


def _missing(error: ValidationError) -> list[str]:
    """Required keys not given, except one an unknown key is a typo of: the unknown key's
    own line (`wieght`: unknown setting; did you mean `weight`?) already says it."""
    if not isinstance(error.instance, Mapping):
        return []
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = list(schema.get("properties", {}))
    refused = schema.get("additionalProperties") is False  # else no line names the typo
    meant = {nearest(key, known) for key in error.instance if refused and key not in known}
    return [key for key in error.validator_value if key not in error.instance and key not in meant]


def _is_secret(error: ValidationError) -> bool:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    return _holds_secret(schema)


def _holds_secret(schema: object) -> bool:
    """True if the setting is secret or has a secret inside: a value given in place of an
    object (`events_sql` as one string) may well be that secret."""
    if isinstance(schema, Mapping):
        if schema.get("secret") or schema.get("writeOnly"):
            return True
        return any(_holds_secret(value) for value in schema.values())
    if isinstance(schema, list):
        return any(_holds_secret(value) for value in schema)
    return False


def _shown(value: object) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return json.dumps(text)
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}" if value else "an empty list"
    if isinstance(value, Decimal):  # the SDK reads a config file's decimals as Decimal
        return str(value)
    return json.dumps(value)

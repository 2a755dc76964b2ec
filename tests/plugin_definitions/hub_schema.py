"""Our own JSON schema of a Meltano Hub plugin definition, written from the Hub's rules.

Facts taken from the Hub's published schemas (meltano/hub, `schemas/plugin_definitions/
{extractors,mappers,loaders}.schema.json` and `schemas/common/*.schema.json`), not
copied from them: the required keys, the keys each plugin type may carry (nothing else),
the capabilities each type may declare, the setting keys and kinds, and the Hub metadata
enums. `structured-logging` is allowed for loaders too since the Hub added the SDK's new
capability to every plugin type (meltano/hub pull request 2114).
"""

from __future__ import annotations

from typing import Any

# Keys every plugin type may carry (common.schema.json + hub_metadata.schema.json).
COMMON_KEYS = [
    "name",
    "namespace",
    "variant",
    "label",
    "description",
    "logo_url",
    "pip_url",
    "executable",
    "repo",
    "docs",
    "python",
    "commands",
    "requires",
    "hidden",
    "settings",
    "settings_group_validation",
    "capabilities",
    "maintenance_status",
    "quality",
    "domain_url",
    "keywords",
    "definition",
    "next_steps",
    "settings_preamble",
    "usage",
    "prereq",
]
TYPE_KEYS = {
    "extractors": [
        "metadata",
        "schema",
        "select",
        "supported_python_versions",
        "log_parser",
    ],
    "mappers": ["mappings"],
    "loaders": ["dialect", "target_schema", "supported_python_versions", "log_parser"],
}
CAPABILITIES = {
    "extractors": [
        "properties",
        "catalog",
        "discover",
        "state",
        "about",
        "stream-maps",
        "schema-flattening",
        "activate-version",
        "batch",
        "test",
        "log-based",
        "structured-logging",
    ],
    "mappers": ["about", "schema-flattening", "stream-maps", "structured-logging"],
    "loaders": [
        "about",
        "stream-maps",
        "activate-version",
        "batch",
        "soft-delete",
        "hard-delete",
        "datatype-failsafe",
        "schema-flattening",
        "target-schema",
        "validate-records",
        "record-flattening",
        "structured-logging",
    ],
}
SETTING_KINDS = [
    "oauth",
    "hidden",
    "password",
    "date_iso8601",
    "file",
    "email",
    "integer",
    "options",
    "object",
    "array",
    "boolean",
    "string",
    "decimal",
]
SETTING = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "label": {"type": "string"},
        "value": {},
        "placeholder": {"type": "string"},
        "kind": {"type": "string", "enum": SETTING_KINDS},
        "description": {"type": "string"},
        "tooltip": {"type": "string"},
        "documentation": {"type": "string"},
        "env": {"type": "string"},
        "value_processor": {"enum": ["upcase_string", "nest_object", "stringify"]},
        "value_post_processor": {"enum": ["upcase_string", "nest_object", "stringify"]},
        "oauth": {"type": "object", "required": ["provider"]},
        "options": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"label": {"type": "string"}, "value": {"type": "string"}},
            },
        },
        "docs": {"type": "string"},
        "hidden": {"type": "boolean"},
        "sensitive": {"type": "boolean"},
        "protected": {"type": "boolean"},
    },
}


def hub_definition_schema(plugin_type: str) -> dict[str, Any]:
    """The JSON schema a Hub definition of this plugin type must satisfy."""
    keys = COMMON_KEYS + TYPE_KEYS[plugin_type]
    properties: dict[str, Any] = {key: {} for key in keys}
    properties.update(
        {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "variant": {"type": "string"},
            "label": {"type": "string"},
            "description": {"type": "string"},
            "logo_url": {"type": ["string", "null"]},
            "pip_url": {"type": "string"},
            "executable": {"type": "string"},
            "repo": {"type": "string"},
            "docs": {"type": "string"},
            "python": {"type": "string"},
            "commands": {"type": "object"},
            "hidden": {"type": "boolean"},
            "settings": {"type": "array", "items": SETTING},
            "settings_group_validation": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "string"}},
            },
            "capabilities": {
                "type": "array",
                "items": {"type": "string", "enum": CAPABILITIES[plugin_type]},
            },
            "maintenance_status": {
                "enum": ["active", "beta", "development", "inactive", "unknown"]
            },
            "quality": {"enum": ["gold", "silver", "bronze", "unknown"]},
            "domain_url": {"type": ["string", "null"], "format": "uri"},
            "keywords": {"type": "array", "items": {"type": "string"}},
            "supported_python_versions": {
                "type": "array",
                "items": {"type": "string", "pattern": r"^3\.\d+$"},
            },
            "mappings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "config": {"type": "object"}},
                },
            },
        }
    )
    # Only the keys this plugin type may carry, with their types where the Hub gives one.
    properties = {key: properties[key] for key in keys}
    required = ["name", "namespace", "variant", "label"]
    if plugin_type in ("extractors", "loaders"):
        required.append("quality")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }

"""Generate the Meltano plugin definitions from each plugin's `--about --format=json`.

Writes one Meltano Hub definition per plugin, `meltano-hub/<type>/<name>/<variant>.yml`
(the Hub's own `_data/meltano/<type>/<name>/<variant>.yml` layout, so a Hub pull request
copies them as they are), and the same definitions into `meltano.yml`'s `plugins:`
entries, where only `pip_url` differs (editable installs of this checkout). The rest of
meltano.yml (mappings, jobs, environments, comments) is kept as it is.

Settings come from the plugin's JSON schema: kind from the type, `value` from the
default, `sensitive` where the schema says secret (also on an object or array holding a
secret), `label` from the title. Objects with a fixed set of keys become dotted settings
(`events_sql.url`), as the Hub writes the SDK's `faker_config.seed`.
Run with `--check` to fail (exit 1) instead of writing when a file is out of date.
"""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "https://github.com/plg-crm/plg-crm-suite"
VARIANT = "plg-crm"
HUB_DIR = ROOT / "meltano-hub"


def git_requirement(directory: str) -> str:
    """A pip requirement that installs one package of this repository from GitHub."""
    return f"git+{REPOSITORY}.git#subdirectory={directory}"


# Each plugin: Meltano plugin type, the repository directory of its package, and what the
# JSON schema cannot say: which settings must be set together (settings_group_validation).
PLUGINS: dict[str, dict[str, Any]] = {
    "tap-product-events": {
        "type": "extractors",
        "directory": "tap-product-events",
        "label": "Product Events (Segment spec)",
        "keywords": ["meltano_sdk", "segment", "rudderstack", "product-analytics", "plg"],
        # At least one source.
        "groups": [
            ["events_paths"],
            ["events_sql.url"],
            ["metrics_queries"],
            ["metrics_endpoints"],
        ],
    },
    "plg-transform": {
        "type": "mappers",
        "directory": "transform",
        "label": "PLG Scores",
        "keywords": ["meltano_sdk", "duckdb", "product-led-growth", "plg", "lead-scoring"],
        "groups": [["store_path"]],
    },
    "target-plg-crm": {
        "type": "loaders",
        "directory": "target-plg-crm",
        "label": "PLG CRM (HubSpot, local SQLite CRM)",
        "keywords": ["meltano_sdk", "crm", "hubspot", "reverse-etl", "plg"],
        # The local CRM needs its file (defaulted), HubSpot a token.
        "groups": [["crm", "local_path"], ["crm", "hubspot_access_token"]],
    },
}
# Words written in capitals (or their own casing) in labels made from setting names.
WORDS = {
    "sql": "SQL",
    "url": "URL",
    "id": "ID",
    "crm": "CRM",
    "pql": "PQL",
    "pqa": "PQA",
    "hubspot": "HubSpot",
    "json": "JSON",
    "duckdb": "DuckDB",
    "of": "of",
}


@functools.cache
def about(executable: str) -> dict[str, Any]:
    """The plugin's `--about --format=json`, from the executable next to this Python."""
    exe = Path(sys.executable).parent / executable
    out = subprocess.run(
        [str(exe), "--about", "--format=json"], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def humanize(name: str) -> str:
    """`hubspot_access_token` -> `HubSpot Access Token`."""
    words = [w for w in re.split(r"[_\s]+", name) if w]
    return " ".join(WORDS.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


def one_line(text: str) -> str:
    """Descriptions as one line (the SDK's are wrapped like the source code)."""
    return " ".join(text.split())


def types_of(schema: dict[str, Any]) -> list[str]:
    """The JSON types a schema allows, `null` left out (anyOf/oneOf included)."""
    declared = schema.get("type")
    found = [declared] if isinstance(declared, str) else list(declared or [])
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(option, dict):
            found += types_of(option)
    return [t for t in dict.fromkeys(found) if t != "null"]


def holds_secret(schema: Any) -> bool:
    """Whether the schema or anything inside it is marked secret."""
    if isinstance(schema, dict):
        if schema.get("secret"):
            return True
        return any(holds_secret(v) for v in schema.values())
    if isinstance(schema, list):
        return any(holds_secret(v) for v in schema)
    return False


def kind_of(schema: dict[str, Any]) -> str:
    """The Meltano setting kind of a JSON schema."""
    types = types_of(schema)
    if schema.get("secret") and types == ["string"]:
        return "password"
    if [v for v in schema.get("enum", []) if v is not None]:
        return "options"
    if len(types) != 1:
        # A string or a list (e.g. one table or several): `string` passes YAML lists
        # through unchanged, where `array` would refuse a plain string.
        return "string"
    if types == ["string"] and schema.get("format") == "date-time":
        return "date_iso8601"
    return {"number": "decimal"}.get(types[0], types[0])


def expands(schema: dict[str, Any]) -> bool:
    """Whether an object setting is written as dotted settings, one per fixed key."""
    return (
        types_of(schema) == ["object"]
        and bool(schema.get("properties"))
        and not isinstance(schema.get("additionalProperties"), dict)
    )


def settings_of(properties: dict[str, Any], prefix: str = "", parent: str = "") -> list[dict]:
    """Meltano settings for the schema's properties, nested fixed-key objects dotted."""
    settings: list[dict] = []
    for key, schema in properties.items():
        name = f"{prefix}{key}"
        label = schema.get("title") or (f"{parent}: {humanize(key)}" if parent else humanize(key))
        if expands(schema):
            settings += settings_of(schema["properties"], f"{name}.", label)
            continue
        description = schema.get("description")
        if not description:
            raise SystemExit(f"setting `{name}` has no description in the plugin's schema")
        setting: dict[str, Any] = {
            "name": name,
            "label": label,
            "description": one_line(description),
            "kind": kind_of(schema),
        }
        if setting["kind"] == "options":
            setting["options"] = [
                {"label": humanize(str(v)), "value": v} for v in schema["enum"] if v is not None
            ]
        # Meltano passes a setting's `value` to the plugin: a default inside an optional
        # object (`events_sql.rollup`) would switch that object on, so only top-level
        # settings carry theirs (the plugin fills the others itself).
        if schema.get("default") is not None and not prefix:
            setting["value"] = schema["default"]
        if holds_secret(schema):
            setting["sensitive"] = True
        settings.append(setting)
    return settings


def definition(name: str) -> dict[str, Any]:
    """The Meltano Hub definition of one plugin."""
    plugin = PLUGINS[name]
    info = about(name)
    settings = settings_of(info["settings"]["properties"])
    names = {s["name"] for s in settings}
    for group in plugin["groups"]:
        missing = set(group) - names
        if missing:
            raise SystemExit(f"{name}: settings_group_validation names unknown {missing}")
    return {
        "name": name,
        "namespace": name.replace("-", "_"),
        "variant": VARIANT,
        "label": plugin["label"],
        "description": one_line(info["description"]),
        "repo": REPOSITORY,
        "docs": f"{REPOSITORY}/tree/main/{plugin['directory']}#readme",
        "pip_url": f"{git_requirement('plg-settings')} {git_requirement(plugin['directory'])}",
        "executable": name,
        "capabilities": list(info["capabilities"]),
        "keywords": plugin["keywords"],
        "maintenance_status": "beta",
        "quality": "unknown",
        "settings_group_validation": plugin["groups"],
        "settings": settings,
    }


def definition_path(name: str) -> Path:
    """Where a plugin's Hub definition lives in this repository."""
    return HUB_DIR / PLUGINS[name]["type"] / name / f"{VARIANT}.yml"


def definition_text(name: str) -> str:
    """A plugin's Hub definition as YAML."""
    head = (
        f"# Meltano Hub definition of {name}, generated from `{name} --about --format=json`\n"
        "# by scripts/update_plugin_definitions.py (`make docs`): do not edit by hand.\n"
    )
    return head + yaml.safe_dump(definition(name), sort_keys=False, allow_unicode=True, width=88)


# The keys of a Hub definition that meltano.yml carries too (the others are Hub-only).
PROJECT_KEYS = (
    "name",
    "namespace",
    "variant",
    "label",
    "description",
    "repo",
    "docs",
    "pip_url",
    "executable",
    "capabilities",
    "settings_group_validation",
    "settings",
)


def local_pip_url(name: str) -> str:
    """The project's pip_url: this checkout, editable (plg-settings first)."""
    return f"-e ./plg-settings -e ./{PLUGINS[name]['directory']}"


def project_entry(name: str) -> dict[str, Any]:
    """The plugin's meltano.yml entry: its Hub definition with a local pip_url."""
    hub = definition(name)
    entry = {key: hub[key] for key in PROJECT_KEYS}
    entry["pip_url"] = local_pip_url(name)
    return entry


def render_project(text: str) -> str:
    """meltano.yml's text with the three plugins' definitions regenerated."""
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 100
    rt.indent(mapping=2, sequence=2, offset=0)
    project = rt.load(text)
    for name, plugin in PLUGINS.items():
        entries = project["plugins"][plugin["type"]]
        (entry,) = [e for e in entries if e["name"] == name]
        fresh = project_entry(name)
        kept = {k: v for k, v in entry.items() if k not in PROJECT_KEYS}  # mappings, config
        entry.clear()
        entry.update(fresh)
        entry.update(kept)
    out = io.StringIO()
    rt.dump(project, out)
    return out.getvalue()


def main() -> int:
    """Write (or with --check, verify) the definitions and meltano.yml."""
    files = {definition_path(name): definition_text(name) for name in PLUGINS}
    project = ROOT / "meltano.yml"
    files[project] = render_project(project.read_text(encoding="utf-8"))
    stale = []
    for path, text in files.items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if "--check" in sys.argv[1:]:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(
            f"plugin definitions out of date: {', '.join(stale)}: run `make docs`", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

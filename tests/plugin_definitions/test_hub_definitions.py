"""The Meltano Hub definitions in meltano-hub/ are ones the Hub would accept, and true.

True means generated from the plugins' own `--about` (capabilities equal, every setting
described and labelled, secrets sensitive) and in step with meltano.yml, where only
pip_url differs (editable installs of this checkout instead of GitHub).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.plugin_definitions.hub_schema import hub_definition_schema

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "update_plugin_definitions.py"
PLUGINS = {
    "tap-product-events": ("extractors", "tap-product-events"),
    "plg-transform": ("mappers", "transform"),
    "target-plg-crm": ("loaders", "target-plg-crm"),
}
GITHUB = "git+https://github.com/plg-crm/plg-crm-suite.git#subdirectory="


def definition_file(name: str) -> Path:
    return REPO / "meltano-hub" / PLUGINS[name][0] / name / "plg-crm.yml"


def definition(name: str) -> dict[str, Any]:
    return yaml.safe_load(definition_file(name).read_text())


def about(name: str) -> dict[str, Any]:
    exe = Path(sys.executable).parent / name
    proc = subprocess.run([str(exe), "--about", "--format=json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def secret_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted names of every setting marked secret, at any depth (list items included)."""
    found = set()
    for key, sub in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        if sub.get("secret"):
            found.add(name)
        found |= secret_paths(sub, f"{name}.")
        if isinstance(sub.get("items"), dict):
            found |= secret_paths(sub["items"], f"{name}.")
    return found


def test_definitions_and_meltano_yml_are_generated_from_about() -> None:
    check = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=REPO
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("name", PLUGINS)
def test_definition_is_valid_against_the_hub_schema(name: str) -> None:
    jsonschema.validate(
        definition(name),
        hub_definition_schema(PLUGINS[name][0]),
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    )


def test_hub_schema_refuses_what_the_hub_refuses() -> None:
    schema = hub_definition_schema("loaders")
    good = definition("target-plg-crm")
    validator = jsonschema.Draft7Validator(schema)
    assert not list(validator.iter_errors(good))
    for broken in (
        {k: v for k, v in good.items() if k != "variant"},
        {**good, "capabilities": ["catalog"]},  # a tap's capability
        {**good, "settings": [{"name": "x", "kind": "float"}]},
        {**good, "settings": [{"name": "x", "junk key": "y"}]},  # the unquoted-comma bug
        {**good, "mappings": []},
    ):
        assert list(validator.iter_errors(broken)), broken


@pytest.mark.parametrize("name", PLUGINS)
def test_definition_says_what_the_plugin_says(name: str) -> None:
    hub = definition(name)
    info = about(name)
    assert hub["capabilities"] == info["capabilities"]
    assert hub["executable"] == name
    assert hub["namespace"] == name.replace("-", "_")
    directory = PLUGINS[name][1]
    # plg-settings is not on PyPI: the pip_url installs it from the repository too.
    assert hub["pip_url"].split() == [f"{GITHUB}plg-settings", f"{GITHUB}{directory}"]
    settings = {s["name"]: s for s in hub["settings"]}
    for setting in settings.values():
        assert setting.get("label") and setting.get("description") and setting.get("kind")
    # Every top-level setting is declared, directly or as dotted settings.
    for key in info["settings"]["properties"]:
        assert key in settings or any(n.startswith(f"{key}.") for n in settings), key
    # Every secret is sensitive: itself, or the list/object setting that holds it.
    for secret in secret_paths(info["settings"]):
        holders = [n for n in settings if secret == n or secret.startswith(f"{n}.")]
        if not holders:
            # A secret object declared as dotted settings (`storage_options.s3.key`...):
            # the secrets inside it are checked one by one by this same loop.
            assert any(n.startswith(f"{secret}.") for n in settings), secret
            continue
        assert settings[max(holders, key=len)].get("sensitive") is True, secret
    for group in hub["settings_group_validation"]:
        assert set(group) <= set(settings)


@pytest.mark.parametrize("name", PLUGINS)
def test_meltano_yml_uses_the_same_definition_with_a_local_pip_url(name: str) -> None:
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    (entry,) = [p for p in project["plugins"][PLUGINS[name][0]] if p["name"] == name]
    hub = definition(name)
    assert entry["pip_url"] == f"-e ./plg-settings -e ./{PLUGINS[name][1]}"
    for key, value in entry.items():
        if key not in ("pip_url", "mappings", "config"):
            assert value == hub[key], key
    for key in ("capabilities", "settings", "settings_group_validation", "label"):
        assert entry[key] == hub[key]

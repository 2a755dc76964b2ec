"""What `target-plg-crm --about` tells Meltano and a user about the settings."""

from __future__ import annotations

import json
import subprocess

from .harness import TARGET

# Settings the SDK adds on its own and describes itself (stream maps, flattening).
SDK_OWN = {
    "stream_maps",
    "stream_map_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
}


def _about() -> dict:
    done = subprocess.run(
        [str(TARGET), "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_every_setting_has_a_title_and_a_description_and_unknown_ones_are_refused() -> None:
    settings = _about()["settings"]

    assert settings["additionalProperties"] is False
    for name, spec in settings["properties"].items():
        if name not in SDK_OWN:
            assert spec.get("title") and spec.get("description"), name
    assert settings["properties"]["hubspot_access_token"]["secret"] is True


def test_inherited_settings_say_what_they_do_for_a_crm() -> None:
    properties = _about()["settings"]["properties"]

    assert properties["load_method"]["enum"] == ["upsert"]
    assert properties["load_method"]["default"] == "upsert"
    assert "Not supported" in properties["add_record_metadata"]["description"]
    assert properties["batch_size_rows"]["minimum"] == 1
    assert "rejects file" in properties["validate_records"]["description"]

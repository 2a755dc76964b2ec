"""A wrong token or a missing scope stops the target at start-up: one line, no input read.

The check runs when the target starts, before it reads stdin, so a pipeline
(`tap | transform | target`) fails at once instead of after the tap and the transform
processed everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from ..target_local.harness import TARGET, company, contact, schemas, state
from .harness import TOKEN, TOKEN_CHECK, HubSpotWorkspace, RunResult
from .hubspot_emulator import ALL_SCOPES, HubSpotEmulator

WRONG = "pat-na1-wrong000-0000-0000-0000-000000000000"
MESSAGES = [
    *schemas(),
    company("a1", is_pqa=True),
    contact("u1", "ann@acme.com", primary_account_id="a1", is_pql=True),
    state({"bookmarks": {"tracks": "2026-03-02"}}),
]


def _refused_in_one_line(workspace: HubSpotWorkspace, result: RunResult, says: str) -> str:
    """Exit 1, no traceback, no STATE, nothing written, the token nowhere; the line."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert WRONG not in result.stderr and TOKEN not in result.stderr
    assert sorted(p.name for p in workspace.folder.iterdir()) == ["config.json"]
    lines = [line for line in result.stderr.splitlines() if "`hubspot_" in line]
    assert len(lines) == 1, result.stderr
    assert says in lines[0], lines[0]
    return lines[0]


def test_a_wrong_token_is_one_line_naming_the_setting(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    result = workspace.run(MESSAGES, hubspot_access_token=WRONG)

    _refused_in_one_line(
        workspace, result, "`hubspot_access_token`: HubSpot refused the token (401)"
    )
    assert [f"{c.method} {c.path}" for c in hubspot.calls] == [TOKEN_CHECK]


def test_missing_scopes_are_named_in_one_line(tmp_path: Path) -> None:
    granted = ALL_SCOPES - {"crm.schemas.contacts.write", "crm.objects.companies.write"}
    with HubSpotEmulator(TOKEN, watchdog_seconds=60, scopes=granted) as emulator:
        workspace = HubSpotWorkspace(tmp_path, emulator=emulator)

        result = workspace.run(MESSAGES)

        line = _refused_in_one_line(workspace, result, "`hubspot_access_token`: ")
        assert "crm.objects.companies.write, crm.schemas.contacts.write" in line
        assert len(emulator.calls) == 1


def test_a_dry_run_needs_only_the_read_scopes(tmp_path: Path) -> None:
    reads = {s for s in ALL_SCOPES if s.endswith(".read")}
    with HubSpotEmulator(TOKEN, watchdog_seconds=60, scopes=reads) as emulator:
        workspace = HubSpotWorkspace(tmp_path, emulator=emulator)

        dry = workspace.run(MESSAGES, dry_run=True)
        real = workspace.run(MESSAGES)

    assert dry.returncode == 0, dry.stderr
    assert real.returncode == 1
    assert "crm.objects.contacts.write" in real.stderr


def test_without_the_token_info_endpoint_a_property_list_checks_the_token(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    hubspot.inject("400", "400", path_contains="access-token-info")

    refused = workspace.run(MESSAGES, hubspot_access_token=WRONG)
    _refused_in_one_line(workspace, refused, "HubSpot refused the token (401)")

    accepted = workspace.run(MESSAGES)
    assert accepted.returncode == 0, accepted.stderr
    assert hubspot.companies()["a1"]["plg_is_pqa"] == "true"


def test_an_unreachable_hubspot_is_one_line_naming_the_base_url(tmp_path: Path) -> None:
    emulator = HubSpotEmulator(TOKEN, watchdog_seconds=60)
    emulator.start()
    emulator.stop()  # nothing listens on its port any more
    workspace = HubSpotWorkspace(tmp_path, emulator=emulator)

    result = workspace.run(MESSAGES, hubspot_max_retries=1)

    _refused_in_one_line(workspace, result, "`hubspot_base_url`: HubSpot could not be reached")


def test_a_wrong_token_fails_before_the_input_ends(
    workspace: HubSpotWorkspace, hubspot: HubSpotEmulator
) -> None:
    """As in `tap | transform | target`: the input is still coming when the target quits."""
    config = workspace.folder / "config.json"
    config.write_text(json.dumps({**workspace.config, "hubspot_access_token": WRONG}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_PLG_CRM_")}
    started = time.monotonic()
    target = subprocess.Popen(
        [str(TARGET), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert target.stdin is not None
    target.stdin.write("".join(json.dumps(m) + "\n" for m in MESSAGES[:3]))
    target.stdin.flush()  # the upstream keeps its end open: more would follow

    try:
        returncode = target.wait(timeout=60)
    finally:
        target.kill()
    stdout, stderr = target.communicate()

    assert returncode == 1
    assert time.monotonic() - started < 60
    assert stdout == "" and "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if "`hubspot_access_token`" in line] != []
    assert [c.path for c in hubspot.calls] == ["/oauth/v2/private-apps/get/access-token-info"]

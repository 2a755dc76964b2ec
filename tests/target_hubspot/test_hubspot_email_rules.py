"""One e-mail rule: HubSpot's emulator, the local CRM and the target agree on every address.

The local CRM is a preview of HubSpot: an address it accepts must be one HubSpot takes,
and one it rejects must be one HubSpot refuses (`INVALID_EMAIL`). Hostile addresses
(accented, zero-width and full-width characters, no top-level domain) are tried on the
emulator directly and through the real target on both CRMs.
"""

from __future__ import annotations

from pathlib import Path

import requests

from ..target_local.harness import LocalCRMWorkspace, contact, schemas, state
from .harness import TOKEN, HubSpotWorkspace
from .hubspot_emulator import HubSpotEmulator

ACCEPTED = ["ann@acme.com", "o'brien+crm@mail.acme.co.uk", "x_y-z.w%1@sub-1.acme.io"]
REFUSED = [
    "jörn@acme.com",  # non-ASCII letter
    "ann@acmé.com",  # non-ASCII domain
    "ann\u200b@acme.com",  # zero-width space
    "ann@acme\u200d.com",  # zero-width joiner
    "\uff41nn@acme.com",  # full-width a
    "ann@acme\uff0ecom",  # full-width full stop
    "ann@acme",  # no top-level domain
    "ann@acme.c0m",  # digits in the top-level domain
    "ann acme@acme.com",  # a space
    "ann@@acme.com",
]


def _emulator_verdicts(emulator: HubSpotEmulator) -> dict[str, bool]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    verdicts = {}
    for email in ACCEPTED + REFUSED:
        answer = session.post(
            f"{emulator.base_url}/crm/v3/objects/contacts/batch/upsert",
            json={"inputs": [{"id": email, "idProperty": "email", "properties": {}}]},
            timeout=10,
        )
        body = answer.json()
        refused = answer.status_code == 400 and "INVALID_EMAIL" in str(body)
        assert answer.status_code == 200 or refused, (email, answer.status_code, body)
        verdicts[email] = not refused
    return verdicts


def _messages() -> list[dict]:
    return [
        *schemas(),
        *[contact(f"u{i}", email) for i, email in enumerate(ACCEPTED + REFUSED)],
        state({"bookmarks": {"run": 1}}),
    ]


def _rejected(workspace: LocalCRMWorkspace) -> dict[str, str]:
    return {r["record"]["email"]: r["code"] for r in workspace.rejects()}


def test_the_emulator_refuses_hostile_addresses(hubspot: HubSpotEmulator) -> None:
    verdicts = _emulator_verdicts(hubspot)
    assert verdicts == {e: e in ACCEPTED for e in ACCEPTED + REFUSED}


def test_the_local_crm_rejects_exactly_what_hubspot_refuses(
    tmp_path: Path, hubspot: HubSpotEmulator
) -> None:
    local = LocalCRMWorkspace(tmp_path / "local")
    local.folder.mkdir()
    on_hubspot = HubSpotWorkspace(tmp_path / "hubspot", emulator=hubspot)
    on_hubspot.folder.mkdir()

    for workspace in (local, on_hubspot):
        result = workspace.run(_messages())
        assert result.returncode == 0, result.stderr
        assert _rejected(workspace) == dict.fromkeys(REFUSED, "INVALID_EMAIL")
    assert sorted(local.query("SELECT email FROM contacts")) == sorted(
        (e.lower(),) for e in ACCEPTED
    )
    assert sorted(hubspot.contacts()) == sorted(e.lower() for e in ACCEPTED)

"""A broken `salesforce_*` setting stops the real CLI before any record is read: one line.

Each case runs `target-plg-crm --config config.json` and checks what a user sees: exit 1,
one stderr line naming the setting, no traceback, no STATE, no file written, and never
the value of a secret (the client secret, the private key).
"""

from __future__ import annotations

from typing import Any

import pytest

from ..target_local.harness import LocalCRMWorkspace, company, contact, schemas, state
from .harness import CLIENT_ID, CLIENT_SECRET, USERNAME, key_pair, private_key_body

MESSAGES = [*schemas(), company("a1"), contact("u1", "ann@acme.com"), state({"b": 1})]
BASE = {
    "crm": "salesforce",
    "salesforce_client_id": CLIENT_ID,
    "salesforce_client_secret": CLIENT_SECRET,
}
JWT = {
    "crm": "salesforce",
    "salesforce_client_id": CLIENT_ID,
    "salesforce_auth_flow": "jwt_bearer",
    "salesforce_username": USERNAME,
}
NOT_A_KEY = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n"

# (setting named by the line, the config's changes, what the line says)
REFUSALS: dict[str, tuple[str, dict[str, Any], str]] = {
    "no client id": (
        "salesforce_client_id",
        {"crm": "salesforce", "salesforce_client_secret": CLIENT_SECRET},
        "required when `crm` is `salesforce`",
    ),
    "client credentials without a secret": (
        "salesforce_client_secret",
        {"crm": "salesforce", "salesforce_client_id": CLIENT_ID},
        "required by `salesforce_auth_flow` `client_credentials`",
    ),
    "jwt without a username": (
        "salesforce_username",
        {**JWT, "salesforce_username": " ", "salesforce_private_key": key_pair()[0]},
        "required by `salesforce_auth_flow` `jwt_bearer`",
    ),
    "jwt without a key": (
        "salesforce_private_key",
        JWT,
        "required by `salesforce_auth_flow` `jwt_bearer`",
    ),
    "jwt with a key that does not parse": (
        "salesforce_private_key",
        {**JWT, "salesforce_private_key": NOT_A_KEY},
        "does not parse",
    ),
    "a misspelt flow": (
        "salesforce_auth_flow",
        {**BASE, "salesforce_auth_flow": "jwt"},
        '"jwt" is not one of client_credentials, jwt_bearer',
    ),
    "plain http to a remote login URL": (
        "salesforce_login_url",
        {**BASE, "salesforce_login_url": "http://login.salesforce.com"},
        "accepted only for loopback addresses",
    ),
    "a login URL with a path": (
        "salesforce_login_url",
        {**BASE, "salesforce_login_url": "https://login.salesforce.com/services/oauth2/token"},
        "must be the bare login or My Domain URL",
    ),
    "an API version without its minor": (
        "salesforce_api_version",
        {**BASE, "salesforce_api_version": "62"},
        "does not match the pattern",
    ),
    "an external id that is not a custom field": (
        "salesforce_contact_external_id_field",
        {**BASE, "salesforce_contact_external_id_field": "Email"},
        "does not match the pattern",
    ),
    "a daily share over the whole limit": (
        "salesforce_daily_limit_share",
        {**BASE, "salesforce_daily_limit_share": 1.5},
        "at most 1",
    ),
    "role values as text": (
        "salesforce_add_role_values",
        {**BASE, "salesforce_add_role_values": "yes"},
        'expected true or false, got "yes"',
    ),
    "a misspelt setting": (
        "salesforce_client_secrt",
        {**BASE, "salesforce_client_secrt": CLIENT_SECRET},
        "did you mean `salesforce_client_secret`?",
    ),
}


@pytest.fixture
def workspace(tmp_path: Any) -> LocalCRMWorkspace:
    """A folder in which nothing but the config may appear."""
    return LocalCRMWorkspace(tmp_path)


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_broken_salesforce_setting_is_refused_in_one_line_before_anything_is_written(
    workspace: LocalCRMWorkspace, case: str
) -> None:
    setting, changes, says = REFUSALS[case]

    result = workspace.run(MESSAGES, **changes)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    for secret in (CLIENT_SECRET, private_key_body(), "bm90IGEga2V5"):
        assert secret not in result.stderr
    assert sorted(p.name for p in workspace.folder.iterdir()) == ["config.json"]
    naming = [line for line in result.stderr.splitlines() if f"`{setting}`:" in line]
    assert len(naming) == 1, result.stderr
    assert says in naming[0]

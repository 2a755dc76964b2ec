"""Runs the real `target-plg-crm` console script against the Salesforce emulator."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..target_local.harness import LocalCRMWorkspace, RunResult
from .salesforce_emulator import SalesforceEmulator

CLIENT_ID = "3MVG9consumer.key.for.tests"
#: A consumer secret distinctive enough to grep for in any output.
CLIENT_SECRET = "5ecr3t-C0nsum3r-n3v3r-l0gg3d-7E1F"
USERNAME = "integration@example.com"


@cache
def key_pair() -> tuple[str, str]:
    """(private key PEM, public key PEM) of the connected app's certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def private_key_body() -> str:
    """The base64 middle line of the private key: must never show in any output."""
    return key_pair()[0].splitlines()[5]


def new_emulator(**options: Any) -> SalesforceEmulator:
    """An org whose connected app knows our client id, secret and certificate."""
    return SalesforceEmulator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        public_key_pem=key_pair()[1],
        **options,
    )


@dataclass
class SalesforceWorkspace(LocalCRMWorkspace):
    """The target's files in one folder, its CRM the emulator; short waits for tests."""

    emulator: SalesforceEmulator | None = None

    @property
    def config(self) -> dict[str, Any]:
        """The local workspace's paths plus the Salesforce settings pointing at the emulator."""
        assert self.emulator is not None
        return {
            **super().config,
            "crm": "salesforce",
            "salesforce_login_url": self.emulator.base_url,
            "salesforce_client_id": CLIENT_ID,
            "salesforce_client_secret": CLIENT_SECRET,
            "salesforce_metadata_path": str(self.folder / "salesforce_fields"),
            "salesforce_backoff_base_seconds": 0.02,
            "salesforce_timeout_seconds": 5,
            "salesforce_max_retries": 5,
        }

    def jwt_config(self) -> dict[str, Any]:
        """Overrides for the JWT bearer flow."""
        return {
            "salesforce_auth_flow": "jwt_bearer",
            "salesforce_client_secret": None,
            "salesforce_username": USERNAME,
            "salesforce_private_key": key_pair()[0],
        }

    def run(self, messages: list[dict[str, Any]], **overrides: Any) -> RunResult:
        """Run the console script; no secret may show in what it printed or wrote."""
        result = super().run(messages, **overrides)
        for secret in (CLIENT_SECRET, private_key_body(), *self._tokens()):
            assert secret not in result.stdout and secret not in result.stderr
            assert secret not in self.everything_written()
        return result

    def _tokens(self) -> list[str]:
        return sorted(self.emulator.sessions) if self.emulator else []

    def everything_written(self) -> str:
        """All the files the target wrote (ledger, rejects, summary, package), as text."""
        return "\n".join(
            p.read_bytes().decode("utf-8", "replace")
            for p in sorted(self.folder.rglob("*"))
            if p.name != "config.json" and p.is_file()
        )

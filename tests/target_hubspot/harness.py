"""Runs the real `target-plg-crm` console script against the HubSpot emulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..target_local.harness import LocalCRMWorkspace, RunResult
from .hubspot_emulator import TOKEN_INFO_PATH, Call, HubSpotEmulator

#: A token shaped like a private app's, distinctive enough to grep for in any output.
TOKEN = "pat-na1-5e3ret00-tok3-4ever-dead-beefcafe1234"
#: The one call every run makes before reading its input: the token and its scopes.
TOKEN_CHECK = f"POST {TOKEN_INFO_PATH}"


def crm_calls(calls: list[Call]) -> list[Call]:
    """The calls that read or write CRM data (the start-up token check left out)."""
    return [c for c in calls if c.path != TOKEN_INFO_PATH]


#: Client timeout of the tests that inject timeouts (the emulator stalls 0.8 s).
SHORT_TIMEOUT = {"hubspot_timeout_seconds": 0.5}


@dataclass
class HubSpotWorkspace(LocalCRMWorkspace):
    """The target's files in one folder, its CRM the emulator; short waits for tests."""

    emulator: HubSpotEmulator | None = None

    @property
    def config(self) -> dict[str, Any]:
        """The local workspace's paths plus the HubSpot settings pointing at the emulator."""
        assert self.emulator is not None
        return {
            **super().config,
            "crm": "hubspot",
            "hubspot_access_token": TOKEN,
            "hubspot_base_url": self.emulator.base_url,
            "hubspot_backoff_base_seconds": 0.05,
            # Long enough that a loaded test machine never times out by accident; the
            # tests of timeouts lower it below the emulator's stall.
            "hubspot_timeout_seconds": 5,
            "hubspot_max_retries": 5,
        }

    def run(self, messages: list[dict[str, Any]], **overrides: Any) -> RunResult:
        """Run the console script; the token must never show in what it printed."""
        result = super().run(messages, **overrides)
        assert TOKEN not in result.stdout and TOKEN not in result.stderr
        return result

    def everything_written(self) -> str:
        """All the files the target wrote (ledger, rejects, summary), as text."""
        return "\n".join(
            p.read_bytes().decode("utf-8", "replace")
            for p in sorted(self.folder.iterdir())
            if p.name != "config.json" and p.is_file()
        )

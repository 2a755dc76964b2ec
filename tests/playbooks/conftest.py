"""Fixtures of the playbook tests: the HubSpot emulator (as the HubSpot tests use it)."""

from ..target_hubspot.conftest import hubspot, workspace

__all__ = ["hubspot", "workspace"]

"""Fixtures of the playbook tests: the HubSpot and Salesforce emulators as their tests use them."""

from ..target_hubspot.conftest import hubspot, workspace
from ..target_salesforce.conftest import salesforce

__all__ = ["hubspot", "salesforce", "workspace"]

"""The CRM emulator and record builders the benchmarks borrow from the test suite.

The one place that knows where they live under tests/: if the tests move, fix it here.
"""

from tests.target_hubspot.harness import SHORT_TIMEOUT, TOKEN, HubSpotWorkspace
from tests.target_hubspot.hubspot_emulator import HubSpotEmulator
from tests.target_local.harness import association, company, contact, schemas, state
from tests.target_salesforce.harness import CLIENT_ID, CLIENT_SECRET, new_emulator
from tests.target_salesforce.salesforce_emulator import SalesforceEmulator

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "SHORT_TIMEOUT",
    "TOKEN",
    "HubSpotEmulator",
    "HubSpotWorkspace",
    "SalesforceEmulator",
    "association",
    "company",
    "contact",
    "new_emulator",
    "schemas",
    "state",
]

"""The start-up check: sign in to the org before any input is read.

Salesforce has no scopes to list as HubSpot does: a connected app either issues a token
for its Run-As user (client credentials) or for the JWT's subject, or refuses. A refusal
is a CRMAccessError naming the credential setting to fix (one line, no secret); an
unreachable token endpoint stays a CRMError. What the user may do (create fields, read
and write the three objects) shows on the first describe, before any write.
"""

from __future__ import annotations

from target_plg_crm.crm.errors import CRMAccessError
from target_plg_crm.crm.salesforce.client import SalesforceHTTP
from target_plg_crm.crm.salesforce.errors import SalesforceAuthError
from target_plg_crm.salesforce_settings import SalesforceSettings, credential_setting


def verify_sign_in(http: SalesforceHTTP, settings: SalesforceSettings) -> None:
    """Fetch the run's first access token; raise CRMAccessError when it is refused."""
    try:
        http.token()
    except SalesforceAuthError as error:
        raise CRMAccessError(credential_setting(settings), str(error)) from None

"""The start-up check of a HubSpot token: accepted, and holding every scope the run needs.

Run before any input is read, so that a wrong token or a missing scope costs one line
and no work: HubSpot's private app token info endpoint
(`POST /oauth/v2/private-apps/get/access-token-info` with `{"tokenKey": token}`) answers
`{userId, hubId, appId, scopes}`. Where that endpoint does not answer (a proxy or an
emulator without it), one property list, which every run reads anyway, shows whether
the token is accepted; the scopes are then checked by each call.
"""

from __future__ import annotations

import logging

from target_plg_crm.crm.errors import CRMAccessError
from target_plg_crm.crm.hubspot.client import HubSpotHTTP
from target_plg_crm.crm.hubspot.errors import (
    HubSpotAuthError,
    HubSpotUnavailableError,
    response_body,
)

TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
#: What a dry run needs: reading contacts, companies and their properties.
READ_SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.companies.read",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
)
#: What a run needs: writing contacts, companies (and their associations) and properties.
WRITE_SCOPES = (
    "crm.objects.contacts.write",
    "crm.objects.companies.write",
    "crm.schemas.contacts.write",
    "crm.schemas.companies.write",
)
TOKEN_SETTING = "hubspot_access_token"
BASE_URL_SETTING = "hubspot_base_url"


def needed_scopes(*, read_only: bool) -> tuple[str, ...]:
    """The scopes a run (or a dry run, `read_only`) needs."""
    return READ_SCOPES if read_only else READ_SCOPES + WRITE_SCOPES


def check_access(http: HubSpotHTTP, token: str, logger: logging.Logger, *, read_only: bool) -> None:
    """Raise CRMAccessError unless HubSpot accepts `token` with every scope the run needs."""
    try:
        response = http.request("POST", TOKEN_INFO_PATH, {"tokenKey": token})
        if response.status_code == 200:
            granted = response_body(response).get("scopes")
            if isinstance(granted, list):
                _check_scopes({str(s) for s in granted}, read_only=read_only)
                return
        logger.info(
            "HubSpot's token info answered %d: the token is checked with a property list",
            response.status_code,
        )
        http.request("GET", "/crm/v3/properties/contacts")
    except HubSpotAuthError as error:
        raise _refused(error) from None
    except HubSpotUnavailableError as error:
        raise CRMAccessError(BASE_URL_SETTING, f"HubSpot could not be reached: {error}") from None


def _check_scopes(granted: set[str], *, read_only: bool) -> None:
    missing = [s for s in needed_scopes(read_only=read_only) if s not in granted]
    if missing:
        run = "a dry run" if read_only else "a run"
        raise CRMAccessError(
            TOKEN_SETTING,
            f"the HubSpot private app lacks the scopes {', '.join(missing)} that {run} "
            "needs: add them to the app in HubSpot (Settings > Integrations > Private "
            "Apps > Scopes)",
        )


def _refused(error: HubSpotAuthError) -> CRMAccessError:
    if error.status == 401:
        return CRMAccessError(
            TOKEN_SETTING,
            "HubSpot refused the token (401): give the current access token of the "
            "private app (Settings > Integrations > Private Apps > Auth)",
        )
    scopes = ", ".join(error.required_scopes) or "a scope"
    return CRMAccessError(
        TOKEN_SETTING, f"the HubSpot private app lacks {scopes} (403 MISSING_SCOPES)"
    )

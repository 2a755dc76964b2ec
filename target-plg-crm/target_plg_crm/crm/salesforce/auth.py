"""OAuth 2.0 for a server integration: client credentials or a JWT bearer assertion.

Both flows `POST {login_url}/services/oauth2/token` and get back `access_token` and
`instance_url` (and `id`, the identity URL ending in the user's id), but no
`expires_in`: an expired token shows up later as 401 INVALID_SESSION_ID, after which the
client asks here for a new one. Secrets stay in the form body of this one request and are
never logged; a refusal is reported by its OAuth error code and description only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jwt
import requests

from target_plg_crm.crm.salesforce.errors import (
    SalesforceAuthError,
    SalesforceUnavailableError,
    response_json,
)
from target_plg_crm.salesforce_settings import JWT_BEARER, SalesforceSettings

TOKEN_PATH = "/services/oauth2/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Salesforce accepts an assertion that expires within 3 minutes.
ASSERTION_LIFETIME_SECONDS = 170
TOKEN_ATTEMPTS = 3


@dataclass(frozen=True)
class AccessToken:
    """A session: the token (kept out of repr), the org's instance URL and the user's id."""

    access_token: str = field(repr=False)
    instance_url: str
    user_id: str | None


def jwt_assertion(settings: SalesforceSettings, now: float | None = None) -> str:
    """The RS256 assertion: iss = client id, sub = username, aud = login URL, exp soon."""
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": settings.login_url,
        "exp": issued + ASSERTION_LIFETIME_SECONDS,
    }
    return jwt.encode(claims, settings.private_key, algorithm="RS256")


def token_form(settings: SalesforceSettings) -> dict[str, str]:
    """The form of the token request for the configured flow."""
    if settings.auth_flow == JWT_BEARER:
        return {"grant_type": JWT_GRANT, "assertion": jwt_assertion(settings)}
    return {
        "grant_type": "client_credentials",
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }


class TokenSource:
    """Asks the login URL for access tokens, as often as the client needs a new one."""

    def __init__(self, settings: SalesforceSettings) -> None:
        """No request before the first `fetch`."""
        self.settings = settings
        self.session = requests.Session()
        self.fetched = 0

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def fetch(self) -> AccessToken:
        """A new access token; raises SalesforceAuthError when the credentials are refused."""
        url = f"{self.settings.login_url}{TOKEN_PATH}"
        problem = ""
        for attempt in range(TOKEN_ATTEMPTS):
            try:
                response = self.session.post(
                    url,
                    data=token_form(self.settings),
                    headers={"Accept": "application/json"},
                    timeout=self.settings.timeout_seconds,
                )
            except requests.RequestException as error:
                problem = f"no answer ({type(error).__name__})"
            else:
                if response.status_code < 500:
                    return self._read(response)
                problem = f"{response.status_code} server error"
            time.sleep(self.settings.backoff_base_seconds * 2**attempt)
        raise SalesforceUnavailableError(
            f"Salesforce token endpoint {self.settings.login_url}{TOKEN_PATH}: {problem}"
        )

    def _read(self, response: requests.Response) -> AccessToken:
        body = response_json(response)
        body = body if isinstance(body, dict) else {}
        if response.status_code != 200 or not body.get("access_token"):
            error = str(body.get("error") or f"HTTP_{response.status_code}")
            description = str(body.get("error_description") or "no description")
            raise SalesforceAuthError(
                f"Salesforce refused the {self.settings.auth_flow} credentials at "
                f"{self.settings.login_url}: {error}: {description} (check the salesforce_* "
                "settings and the connected app's policies)"
            )
        instance_url = str(body.get("instance_url") or "").rstrip("/")
        if not instance_url.startswith(("https://", "http://")):
            raise SalesforceAuthError("Salesforce's token answer carries no instance_url")
        identity = str(body.get("id") or "")
        self.fetched += 1
        return AccessToken(
            str(body["access_token"]), instance_url, identity.rsplit("/", 1)[-1] or None
        )

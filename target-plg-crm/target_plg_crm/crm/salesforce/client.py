"""The HTTP client of one Salesforce org: its token, retries with backoff, the daily limit.

Every REST call goes through `SalesforceHTTP.request`:
- the access token is fetched on the first call; a 401 INVALID_SESSION_ID (expired or
  revoked session) fetches a new one and repeats the call once;
- 5xx, timeouts, dropped connections and a whole request refused with UNABLE_TO_LOCK_ROW
  are retried with exponential backoff and jitter;
- `Sforce-Limit-Info: api-usage=N/M` is read from every answer, and no call is sent once
  N reaches `salesforce_daily_limit_share` of M (403 REQUEST_LIMIT_EXCEEDED stops too).
Other answers (2xx, 4xx) go back to the caller. The token lives only in this object and
the Authorization header it builds; nothing here logs headers or bodies.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from target_plg_crm.crm.salesforce.auth import AccessToken, TokenSource
from target_plg_crm.crm.salesforce.errors import (
    SalesforceAuthError,
    SalesforceDailyLimitError,
    SalesforceUnavailableError,
    error_code,
    error_entries,
    response_json,
    unexpected,
)
from target_plg_crm.salesforce_settings import SalesforceSettings

#: Most records one sObject Collections call takes.
COLLECTION_SIZE = 200
#: SOQL `IN (...)` lists are kept this short so that a query URL stays well under 16 KB.
QUERY_IN_SIZE = 200
BACKOFF_MAX_SECONDS = 60.0
#: Most times one request refused with INVALID_FIELD (a field not visible yet) is sent
#: again, within `salesforce_field_visibility_timeout_seconds`.
INVISIBLE_FIELD_RETRIES = 12
_VERSION_PREFIX = re.compile(r"^/services/data/v[0-9.]+|(?<=^/services/Soap/m)/[0-9.]+")
_RECORD_ID = re.compile(r"/(?=[a-zA-Z]*[0-9])[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?(?=/|$)")
_QUERY_LOCATOR = re.compile(r"^/query/.+")
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass
class CallCounter:
    """Requests sent, retries and token fetches, for the run's log."""

    requests: int = 0
    retries: int = 0
    token_refreshes: int = 0
    #: Requests per endpoint (`METHOD /path`, ids and versions left out), for the history.
    calls: Counter[str] = field(default_factory=Counter)


@dataclass
class DailyUsage:
    """The org's API usage as the last answer reported it."""

    used: int | None = None
    limit: int | None = None

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read `Sforce-Limit-Info: api-usage=N/M`."""
        match = _LIMIT_INFO.search(headers.get("Sforce-Limit-Info") or "")
        if match:
            self.used, self.limit = int(match.group(1)), int(match.group(2))

    def reached(self, share: float) -> bool:
        """Whether one more call would go past `share` of the daily limit."""
        if self.used is None or not self.limit:
            return False
        return self.used + 1 > share * self.limit


def endpoint_name(method: str, path: str) -> str:
    """`PATCH /composite/sobjects/Contact/PLG_User_Id__c`: the path without the host, the
    API version, ids, query locators (`GET /query/{next}`: a further page) and the query
    string."""
    route = urlsplit(path).path
    route = _VERSION_PREFIX.sub("", route)
    route = _QUERY_LOCATOR.sub("/query/{next}", route)
    route = _RECORD_ID.sub("/{id}", route)
    return f"{method} {route}"


def soql_quote(value: str) -> str:
    """A SOQL string literal (quotes and backslashes escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def chunks(items: Sequence[Any], size: int = COLLECTION_SIZE) -> Iterator[Sequence[Any]]:
    """`items` in consecutive slices of at most `size` (one call each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SalesforceHTTP:
    """A requests session to one org, authenticated by `TokenSource`, with retries."""

    def __init__(
        self, settings: SalesforceSettings, tokens: TokenSource, logger: logging.Logger
    ) -> None:
        """Nothing is sent before the first request."""
        self.settings = settings
        self.tokens = tokens
        self.logger = logger
        self.counter = CallCounter()
        self.usage = DailyUsage()
        self.session = requests.Session()
        self._token: AccessToken | None = None
        self._invisible_since: float | None = None

    @property
    def data_path(self) -> str:
        """`/services/data/vXX.X` of the configured API version."""
        return f"/services/data/v{self.settings.api_version}"

    @property
    def user_id(self) -> str | None:
        """The integration user's id (from the token's identity URL)."""
        return self.token().user_id

    def token(self) -> AccessToken:
        """The current access token (fetched on first use)."""
        if self._token is None:
            self._token = self.tokens.fetch()
        return self._token

    def close(self) -> None:
        """Close the connection pools."""
        self.session.close()
        self.tokens.close()

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number `attempt` (0-based)."""
        ceiling = min(BACKOFF_MAX_SECONDS, self.settings.backoff_base_seconds * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def may_wait_for_fields(self, attempt: int) -> bool:
        """After an INVALID_FIELD refusal: whether to send again (`attempt` 0-based).

        A field created and granted moments ago stays invisible for a while; the run
        waits for it until `salesforce_field_visibility_timeout_seconds` have passed since
        the first such refusal (and at most INVISIBLE_FIELD_RETRIES times a request).
        """
        now = time.monotonic()
        if self._invisible_since is None:
            self._invisible_since = now
        limit = self.settings.field_visibility_timeout_seconds
        return attempt < INVISIBLE_FIELD_RETRIES and now - self._invisible_since < limit

    def renew_token(self) -> None:
        """Fetch a new access token (the session expired or was revoked)."""
        self.logger.info("Salesforce session expired: fetching a new access token")
        self._token = self.tokens.fetch()
        self.counter.token_refreshes += 1

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        params: Any,
        raw: tuple[bytes, str] | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self.usage.reached(self.settings.daily_limit_share):
            raise SalesforceDailyLimitError(
                f"Salesforce daily API usage is {self.usage.used}/{self.usage.limit}, at "
                f"salesforce_daily_limit_share {self.settings.daily_limit_share:g} of the "
                "limit: stopped before sending more (the rest is written on the next run)"
            )
        token = self.token()
        url = path if path.startswith("http") else f"{token.instance_url}{path}"
        self.counter.requests += 1
        self.counter.calls[endpoint_name(method, path)] += 1
        headers = {
            "Authorization": f"Bearer {token.access_token}",
            "Accept": "application/json",
            "Sforce-Call-Options": "client=target-plg-crm",
        }
        if raw is not None:
            headers["Content-Type"] = raw[1]
        headers.update(extra_headers or {})
        return self.session.request(
            method,
            url,
            json=body if raw is None else None,
            data=raw[0] if raw is not None else None,
            params=params,
            headers=headers,
            timeout=self.settings.timeout_seconds,
        )

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Any = None,
        *,
        data: bytes | None = None,
        content_type: str = "application/json",
    ) -> requests.Response:
        """Send one request (path under `data_path`, or starting `/services/`), retrying.

        Returns every answer that is not temporary (2xx, 4xx other than those below);
        raises SalesforceUnavailableError when the retries ran out, SalesforceAuthError
        when a fresh token is refused too, SalesforceDailyLimitError at the daily limit.
        """
        full = path if path.startswith("/services/") else f"{self.data_path}{path}"
        refreshed = False
        problem = ""
        attempt = 0
        while True:
            try:
                raw = (data, content_type) if data is not None else None
                response = self._send(method, full, body, params, raw)
            except requests.Timeout:
                problem = f"no answer within {self.settings.timeout_seconds:g} s"
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as error:
                problem = f"connection failed ({type(error).__name__})"
            else:
                self.usage.observe(response.headers)
                status = response.status_code
                codes = {error_code(e) for e in error_entries(response_json(response))}
                if status == 401:
                    if refreshed:
                        raise SalesforceAuthError(
                            f"Salesforce refused a fresh access token on {method} {path}: "
                            f"{', '.join(sorted(codes)) or status}"
                        )
                    self.renew_token()
                    refreshed = True
                    continue
                if status == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
                    raise SalesforceDailyLimitError(
                        "Salesforce answered REQUEST_LIMIT_EXCEEDED: the org's daily API limit "
                        "is used up; the rest is written on the next run"
                    )
                if status >= 500 or "UNABLE_TO_LOCK_ROW" in codes:
                    problem = f"{status} {', '.join(sorted(codes)) or 'server error'}"
                else:
                    return response
            if attempt >= self.settings.max_retries:
                raise SalesforceUnavailableError(
                    f"Salesforce {method} {path} failed after {attempt} retries: {problem}"
                )
            wait = self.backoff(attempt)
            attempt += 1
            self.counter.retries += 1
            self.logger.info(
                "Salesforce %s %s: %s; retry %d of %d in %.2f s",
                method,
                path,
                problem,
                attempt,
                self.settings.max_retries,
                wait,
            )
            time.sleep(wait)

    def send_once(
        self, path: str, data: bytes, content_type: str, headers: Mapping[str, str]
    ) -> requests.Response:
        """One POST of a raw body (a SOAP envelope), counted, within the daily limit; the
        caller retries (SOAP answers its faults with 500, which `request` would retry)."""
        response = self._send("POST", path, None, None, (data, content_type), headers)
        self.usage.observe(response.headers)
        return response

    def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a SOQL query (following `nextRecordsUrl`).

        A field granted moments ago may not be visible yet (INVALID_FIELD): the query is
        asked again with backoff (`may_wait_for_fields`) before that stops the run.
        """
        records: list[dict[str, Any]] = []
        response = self.request("GET", "/query", params={"q": soql})
        attempt = 0
        while True:
            codes = {error_code(e) for e in error_entries(response_json(response))}
            if response.status_code != 400 or "INVALID_FIELD" not in codes:
                break
            if not self.may_wait_for_fields(attempt):
                break
            self.logger.info("Salesforce query names a field not visible yet; asking again")
            time.sleep(self.backoff(attempt))
            attempt += 1
            response = self.request("GET", "/query", params={"q": soql})
        while True:
            if response.status_code != 200:
                raise unexpected(response, f"run the query {soql[:80]!r}")
            body = response_json(response) or {}
            records.extend(r for r in body.get("records") or [] if isinstance(r, dict))
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                return records
            response = self.request("GET", str(next_url))

"""The HTTP client of HubSpot: the token, a client-side rate limiter and retries with backoff.

HubSpot gives a private app a budget of requests per rolling 10 s and reports it on every
response (`X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`). The limiter
keeps this client under that budget so that 429s stay the exception; 429 (honouring
`Retry-After` when present), 423, 5xx, timeouts and dropped connections are retried with
backoff. Other answers (2xx, 207, 4xx) go back to the caller, who knows what they mean.
The association v4 batch and label endpoints are exempt from the ten-secondly budget and
are not paced (they still count towards the daily one).
The token lives only in the session's headers: nothing here logs headers or bodies.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from target_plg_crm.crm.hubspot.errors import (
    HubSpotAuthError,
    HubSpotUnavailableError,
    required_scopes,
    response_body,
)
from target_plg_crm.crm.usage import CRMUsage

#: Most inputs HubSpot takes in one batch call (upserts, reads, associations).
BATCH_SIZE = 100
#: What HubSpot's private apps get on the lowest tiers; the headers correct it.
DEFAULT_BUDGET = 100
DEFAULT_INTERVAL_SECONDS = 10.0
#: Requests left unused in each window, for other clients of the same portal.
BUDGET_MARGIN = 2
#: HubSpot asks to wait at least this long after a 423 Locked (with the default backoff).
LOCKED_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry (from the `hubspot_*` settings; tests shorten the waits)."""

    max_retries: int
    backoff_base_seconds: float
    timeout_seconds: float
    backoff_max_seconds: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number `attempt` (0-based)."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def locked_wait(self, attempt: int) -> float:
        """The wait after a 423: at least 2 s at the default backoff base."""
        floor = LOCKED_WAIT_SECONDS * min(1.0, self.backoff_base_seconds)
        return max(floor, self.backoff(attempt))


class RateLimiter:
    """Spaces requests to stay within the portal's rolling-window budget.

    It counts its own requests over the window and also trusts the `Remaining` header,
    which includes what other clients of the portal used.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Start with HubSpot's smallest budget until the first response tells the real one."""
        self.budget = DEFAULT_BUDGET
        self.interval = DEFAULT_INTERVAL_SECONDS
        self.remaining: int | None = None
        self.sent: deque[float] = deque()
        self.clock = clock
        self.sleep = sleep
        self.waits = 0
        self.waited_seconds = 0.0

    def _usable(self) -> int:
        margin = BUDGET_MARGIN if self.budget > 4 * BUDGET_MARGIN else 0
        return max(1, self.budget - margin)

    def acquire(self) -> None:
        """Wait until one more request fits in the window, then count it."""
        while True:
            now = self.clock()
            while self.sent and self.sent[0] <= now - self.interval:
                self.sent.popleft()
            over_own = len(self.sent) >= self._usable()
            # The header lags by our requests in flight; below the margin, wait for room.
            over_portal = self.remaining is not None and self.remaining <= BUDGET_MARGIN
            if not (over_own or over_portal):
                break
            wait = self.sent[0] + self.interval - now if self.sent else self.interval
            # After waiting the header is stale; the next response refreshes it.
            self.remaining = None
            wait = max(wait, 0.01)
            self.waits += 1
            self.waited_seconds += wait
            self.sleep(wait)
        self.sent.append(self.clock())

    def done(self) -> None:
        """Count the last request from when its answer came back.

        HubSpot counts a request when it arrives, which is after we sent it: counting it
        from the answer keeps our window at least as full as HubSpot's.
        """
        if self.sent:
            self.sent[-1] = self.clock()

    def observe(self, headers: Any) -> None:
        """Read the budget, what is left and the window from a response's headers."""
        budget = _int_header(headers, "X-HubSpot-RateLimit-Max")
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        interval = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        if budget:
            self.budget = budget
        if interval:
            self.interval = interval / 1000
        self.remaining = remaining

    def wait_out_interval(self) -> float:
        """After a 429 without Retry-After: the whole window, HubSpot's advice."""
        self.sent.clear()
        self.remaining = None
        return self.interval


def _int_header(headers: Any, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare for HubSpot, wait out the interval instead


def is_exempt_from_secondly_limit(path: str) -> bool:
    """The association v4 batch and label endpoints, outside the ten-secondly budget.

    They still count towards the daily budget (crm-contract.md): pacing them with the
    other calls would only waste time.
    """
    return bool(_SECONDLY_EXEMPT.match(path))


_SECONDLY_EXEMPT = re.compile(r"^/crm/v4/associations/[^/]+/[^/]+/(batch/[a-z/]+|labels)$")


def endpoint(method: str, path: str) -> str:
    """`METHOD /path` of a call, without its query, a property's name folded
    (`.../contacts/{name}`)."""
    path = path.split("?", 1)[0]
    if method == "PATCH" and path.startswith("/crm/v3/properties/"):
        path = path.rsplit("/", 1)[0] + "/{name}"
    return f"{method} {path}"


@dataclass
class CallCounter:
    """Requests sent (per endpoint), retries, 429s and the waits after them."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    waits_after_429: int = 0
    seconds_after_429: float = 0.0


class HubSpotHTTP:
    """A requests session to one HubSpot base URL with a token, limiter and retries."""

    def __init__(
        self,
        base_url: str,
        token: str,
        policy: RetryPolicy,
        logger: logging.Logger,
        limiter: RateLimiter | None = None,
    ) -> None:
        """Authenticate every request with `token` (kept in the session's headers only)."""
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.logger = logger
        self.limiter = limiter or RateLimiter()
        self.counter = CallCounter()
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def usage(self) -> CRMUsage:
        """Calls per endpoint, retries, and the waits the rate limits cost so far."""
        counter = self.counter
        return CRMUsage(
            calls=Counter(counter.by_endpoint),
            retries=counter.retries,
            rate_limited=counter.rate_limited,
            rate_limit_waits=self.limiter.waits + counter.waits_after_429,
            rate_limit_wait_seconds=self.limiter.waited_seconds + counter.seconds_after_429,
        )

    def request(self, method: str, path: str, body: Any = None) -> requests.Response:
        """Send one request, retrying what HubSpot says is temporary.

        Returns every answer that is not temporary (2xx, 207, 4xx) for the caller to
        read; raises HubSpotUnavailableError when the retries ran out, HubSpotAuthError
        when the token or a scope was refused (nothing else can work then).
        """
        url = f"{self.base_url}{path}"
        last_problem = ""
        paced = not is_exempt_from_secondly_limit(path)
        for attempt in range(self.policy.max_retries + 1):
            if paced:
                self.limiter.acquire()
            self.counter.requests += 1
            self.counter.by_endpoint[endpoint(method, path)] += 1
            try:
                response = self.session.request(
                    method, url, json=body, timeout=self.policy.timeout_seconds
                )
                if paced:
                    self.limiter.done()
            except requests.Timeout:
                last_problem = f"no answer within {self.policy.timeout_seconds:g} s"
                wait = self.policy.backoff(attempt)
            except requests.ConnectionError as error:
                last_problem = f"connection failed ({type(error).__name__})"
                wait = self.policy.backoff(attempt)
            else:
                self.limiter.observe(response.headers)
                status = response.status_code
                if status in (401, 403):
                    raise _auth_error(response, method, path)
                if status == 429:
                    self.counter.rate_limited += 1
                    policy_name = _json_field(response, "policyName")
                    if policy_name == "DAILY":
                        raise HubSpotUnavailableError(
                            "HubSpot's daily request limit is used up (429 DAILY): "
                            "run again tomorrow"
                        )
                    retry_after = _retry_after(response.headers)
                    wait = (
                        retry_after if retry_after is not None else self.limiter.wait_out_interval()
                    )
                    self.counter.waits_after_429 += 1
                    self.counter.seconds_after_429 += wait
                    last_problem = "429 rate limited"
                elif status == 423:
                    wait = self.policy.locked_wait(attempt)
                    last_problem = "423 locked"
                elif status >= 500:
                    wait = self.policy.backoff(attempt)
                    last_problem = f"{status} server error"
                else:
                    return response
            if attempt == self.policy.max_retries:
                break
            self.counter.retries += 1
            self.logger.info(
                "HubSpot %s %s: %s; retry %d of %d in %.2f s",
                method,
                path,
                last_problem,
                attempt + 1,
                self.policy.max_retries,
                wait,
            )
            time.sleep(wait)
        raise HubSpotUnavailableError(
            f"HubSpot {method} {path} failed after {self.policy.max_retries} retries: "
            f"{last_problem}"
        )


def _auth_error(response: requests.Response, method: str, path: str) -> HubSpotAuthError:
    """The error of a 401 (token refused) or 403 (a scope missing, named when HubSpot does)."""
    status = response.status_code
    scopes = required_scopes(response_body(response)) if status == 403 else []
    if scopes:
        why = f"the private app lacks the scope {' or '.join(scopes)}"
    elif status == 403:
        why = "the private app lacks a scope this call needs"
    else:
        why = "check hubspot_access_token"
    return HubSpotAuthError(f"HubSpot refused {method} {path} ({status}): {why}", status, scopes)


def _json_field(response: requests.Response, name: str) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get(name) if isinstance(body, dict) else None


def chunks(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    """`items` in consecutive slices of at most `size` (one batch call each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]

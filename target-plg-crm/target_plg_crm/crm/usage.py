"""What a run cost in CRM API calls: requests per endpoint, retries and rate-limit waits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CRMUsage:
    """Calls sent per endpoint (`METHOD /path`), retries, and the waits the limits cost.

    `rate_limit_waits` counts the pauses before a request (the client keeping under the
    rolling budget, and the waits after a 429), `rate_limit_wait_seconds` their length.
    """

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, endpoints sorted."""
        return {
            "total": sum(self.calls.values()),
            "by_endpoint": dict(sorted(self.calls.items())),
            "retries": self.retries,
            "answered_429": self.rate_limited,
            "rate_limit_waits": {
                "count": self.rate_limit_waits,
                "seconds": round(self.rate_limit_wait_seconds, 3),
            },
        }

"""The same Segment messages for every source: all six types, several users and days."""

from __future__ import annotations

import typing as t


def _common(mid: str, kind: str, minute: int, day: int = 1, **fields: t.Any) -> dict:
    base = {
        "type": kind,
        "messageId": mid,
        "userId": "u-1",
        "anonymousId": "anon-1",
        "timestamp": f"2026-03-{day:02d}T09:{minute:02d}:00Z",
        "originalTimestamp": f"2026-03-{day:02d}T09:{minute:02d}:00.250000Z",
        "sentAt": f"2026-03-{day:02d}T09:{minute:02d}:01Z",
        "receivedAt": f"2026-03-{day:02d}T09:{minute:02d}:02Z",
        "context": {"groupId": "acc-1", "ip": "10.0.0.1", "userAgent": "Mozilla/5.0"},
    }
    base.update(fields)
    return base


def segment_messages() -> list[dict[str, t.Any]]:
    """Messages that the warehouse keeps losslessly (flat context, snake_case keys, no nulls)."""
    return [
        _common(
            "t-1", "track", 0, event="Report Viewed", properties={"report_id": "r-9", "rows": 12}
        ),
        _common(
            "t-2", "track", 5, event="Report Viewed", properties={"report_id": "r-7", "rows": 3}
        ),
        _common(
            "t-3", "track", 7, day=2, event="Signed Up", properties={"plan": "pro", "trial": True}
        ),
        _common(
            "t-4",
            "track",
            9,
            userId=None,
            event="Signup Started",
            properties={"ratio": 0.5},
            context={"ip": "10.0.0.2"},
        ),
        _common(
            "t-5",
            "track",
            11,
            userId="u-2",
            event="API Call",
            properties={"groupId": "acc-2"},  # column group_id: back as groupId
            context={"ip": "10.0.0.3"},
        ),
        _common(
            "i-1",
            "identify",
            1,
            traits={"email": "ada@example.com", "name": "Ada", "role": "admin"},
        ),
        _common("i-2", "identify", 2, userId="u-2", traits={"email": "bob@example.com"}),
        _common(
            "g-1", "group", 3, groupId="acc-1", traits={"name": "Acme", "plan": "pro", "seats": 12}
        ),
        _common(
            "p-1",
            "page",
            4,
            name="Pricing",
            properties={"path": "/pricing", "url": "https://x.test/pricing"},
        ),
        _common("p-2", "page", 6, day=2, name="Docs", properties={"path": "/docs"}),
        _common("s-1", "screen", 8, name="Home", properties={"orientation": "portrait"}),
        _common("a-1", "alias", 10, previousId="anon-1", context={"ip": "10.0.0.1"}),
    ]

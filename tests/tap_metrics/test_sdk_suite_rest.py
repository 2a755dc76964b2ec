"""singer-sdk's standard tap tests on the REST metrics source (`metrics_endpoints`).

The endpoints are a real loopback HTTP server (rest_server.py), one per paging style.
get_tap_test_class needs the config when the class is created (at import: it discovers the
streams then), but only reads the endpoint URLs when the class's first test syncs. So the
class gets a config dict whose `metrics_endpoints` point nowhere yet; a module fixture
starts the server and fills them in before the class-scoped sync (the SDK's runner keeps
the dict it was given, and every tap it creates reads it again). The server is stopped
when the module's tests end. Discovery itself opens no connection.
"""

from __future__ import annotations

import secrets
import typing as t

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from singer_sdk.testing.runners import TapTestRunner
from tap_product_events.tap import TapProductEvents

from .rest_server import API_KEY_HEADER, CURSOR_PAGE_SIZE, MetricsApi

_API_KEY = "key-" + secrets.token_hex(8)
_USERS = [{"user_id": f"u-{i}", "logins": i * 3, "active": i % 2 == 0} for i in range(1, 8)]
_ACCOUNTS = [{"account_id": f"acc-{i}", "plan": "pro", "mrr": i * 10.5} for i in range(1, 6)]
_SEATS = [
    {"uid": f"u-{i}", "acct": f"acc-{i % 3}", "seats_used": i, "seen_at": "2026-03-01T08:00:00Z"}
    for i in range(1, 8)
]
_MESSAGE_STREAMS = ["tracks", "identifies", "groups", "pages", "screens", "aliases"]


def _endpoints(base_url: str) -> list[dict[str, t.Any]]:
    """One endpoint per paging style; user, account and membership entities."""
    common = {
        "auth_header_name": API_KEY_HEADER,
        "auth_header": _API_KEY,
        "records_path": "$.data[*]",
    }
    sized = {"size": CURSOR_PAGE_SIZE}
    return [
        {
            **common,
            "name": "user_logins",
            "url": f"{base_url}/next_link/users",
            "pagination": {"style": "next_link", "next_path": "$.next"},
            "entity": "user",
        },
        {
            **common,
            "name": "account_billing",
            "url": f"{base_url}/page/accounts",
            "pagination": {"style": "page", "size_param": "per_page", **sized},
            "entity": "account",
        },
        {
            **common,
            "name": "seat_usage",
            "url": f"{base_url}/offset/seats",
            "pagination": {"style": "offset", "size_param": "limit", **sized},
            "entity": "membership",
            "user_id_field": "uid",
            "account_id_field": "acct",
            "observed_at_field": "seen_at",
        },
        {
            **common,
            "name": "seat_usage_linked",
            "url": f"{base_url}/link_header/seats",
            "pagination": {"style": "link_header"},
            "entity": "membership",
            "user_id_field": "uid",
            "account_id_field": "acct",
            "metric_fields": ["seats_used"],
        },
    ]


# Filled in by _metrics_api before the first sync; URLs on a closed port until then.
_CONFIG: dict[str, t.Any] = {"metrics_endpoints": _endpoints("http://127.0.0.1:9")}


@pytest.fixture(scope="module", autouse=True)
def _metrics_api() -> t.Iterator[MetricsApi]:
    """The loopback API for this module's tests; the config is pointed at it."""
    api = MetricsApi({"users": _USERS, "accounts": _ACCOUNTS, "seats": _SEATS}, _API_KEY)
    _CONFIG["metrics_endpoints"] = _endpoints(api.base_url)
    try:
        yield api
    finally:
        api.stop()


_RestMetricsSuite = get_tap_test_class(
    TapProductEvents,
    config=_CONFIG,
    suite_config=SuiteConfig(ignore_no_records_for_streams=_MESSAGE_STREAMS),
)


class TestRestMetricsStandard(_RestMetricsSuite):  # type: ignore[misc,valid-type]
    """The standard suite, plus: the sync it checked read every page of every endpoint."""

    def test_sync_read_every_row_of_every_paging_style(
        self, runner: TapTestRunner, _metrics_api: MetricsApi
    ) -> None:
        """Each endpoint's rows all arrived (7 rows in pages of 3), keyed as configured."""
        records = runner.records["metrics"]

        def ids(metric: str) -> list[tuple[str | None, str | None]]:
            return sorted((r["user_id"], r["account_id"]) for r in records if r["metric"] == metric)

        assert ids("logins") == sorted((u["user_id"], None) for u in _USERS)
        assert ids("active") == sorted((u["user_id"], None) for u in _USERS)
        assert ids("mrr") == sorted((None, a["account_id"]) for a in _ACCOUNTS)
        # seat_usage (offset) and seat_usage_linked (Link header) serve the same rows.
        assert ids("seats_used") == sorted(2 * [(s["uid"], s["acct"]) for s in _SEATS])
        observed = {r["observed_at"] for r in records if r["metric"] == "seats_used"}
        assert "2026-03-01T08:00:00Z" in observed
        # The last page of each style was asked for (cursor 6 / page 3 / offset 6 of 7 rows).
        for last_page in (
            "/next_link/users?cursor=6",
            "/link_header/seats?cursor=6",
            "/page/accounts?page=2&per_page=3",
            "/offset/seats?offset=6&limit=3",
        ):
            assert last_page in _metrics_api.requested, _metrics_api.requested

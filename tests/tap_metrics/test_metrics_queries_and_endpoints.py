"""Backend metrics from SQL queries (PostgreSQL, DuckDB) and a paginated JSON endpoint."""

from __future__ import annotations

import json
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

ACCOUNTS = [{"account_id": f"acc-{i}", "seats": i, "mrr": i * 10.5} for i in range(1, 8)]


def _load_accounts(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE accounts (account_id TEXT, seats INTEGER, mrr NUMERIC(10,2), "
                "plan TEXT, checked_at TIMESTAMP)"
            )
        )
        for a in ACCOUNTS:
            connection.execute(
                sa.text(
                    "INSERT INTO accounts VALUES "
                    "(:account_id, :seats, :mrr, 'pro', '2026-03-01 08:00:00')"
                ),
                a,
            )
        connection.execute(sa.text("INSERT INTO accounts VALUES (NULL, 1, 1, 'x', NULL)"))
    engine.dispose()


@pytest.mark.parametrize("database", ["postgres", "duckdb"])
def test_metrics_queries_emit_one_record_per_entity_and_metric_and_a_failing_query_is_reported(
    database: str, request: pytest.FixtureRequest, run_tap
) -> None:
    url = request.getfixturevalue(f"{database}_url")
    _load_accounts(url)
    config = {
        "metrics_queries": [
            {
                "name": "seats",
                "url": url,
                "entity": "account",
                "sql": "SELECT account_id, seats, mrr FROM accounts",
                "metric_columns": ["seats", "mrr"],
            },
            {
                "name": "broken",
                "url": url,
                "entity": "account",
                "sql": "SELECT nope FROM missing_table",
            },
            {
                "name": "plans",
                "url": url,
                "entity": "account",
                "observed_at_column": "checked_at",
                "sql": (
                    "SELECT account_id, plan, checked_at FROM accounts WHERE account_id IS NOT NULL"
                ),
            },
        ]
    }
    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records("metrics")
    seats = {r["account_id"]: r["value"] for r in records if r["metric"] == "seats"}
    assert seats == {a["account_id"]: a["seats"] for a in ACCOUNTS}
    mrr = {r["account_id"]: r["value"] for r in records if r["metric"] == "mrr"}
    assert mrr == {a["account_id"]: a["mrr"] for a in ACCOUNTS}
    plans = [r for r in records if r["metric"] == "plan"]
    assert {r["observed_at"] for r in plans} == {"2026-03-01T08:00:00Z"}
    assert all(r["entity"] == "account" and r["user_id"] is None for r in records)
    assert "metrics query 'broken' failed" in run.stderr
    assert (
        "Skipped bad row in metrics query 'seats' (account_id=None): account_id is empty"
        in run.stderr
    )

    strict = run_tap({**config, "strict": True})
    assert strict.returncode != 0
    assert "strict mode" in strict.stderr


class _MetricsApi(BaseHTTPRequestHandler):
    users = [{"id": f"u-{i}", "acct": "acc-1", "logins": i, "active": i % 2 == 0} for i in range(7)]

    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("X-Api-Key") != "s3cret-token":
            self.send_response(401)
            self.end_headers()
            return
        query = parse_qs(urlparse(self.path).query)
        if urlparse(self.path).path == "/linked":
            start = int(query.get("cursor", ["0"])[0])
            body: dict[str, t.Any] = {"data": self.users[start : start + 3]}
            if start + 3 < len(self.users):
                body["next"] = f"/linked?cursor={start + 3}"
        else:
            page, size = int(query["page"][0]), int(query["per_page"][0])
            body = {"data": self.users[(page - 1) * size : page * size]}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: t.Any) -> None:
        return


@pytest.fixture
def metrics_api() -> t.Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MetricsApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _endpoint(base: str, path: str, pagination: dict[str, t.Any], **extra: t.Any) -> dict:
    return {
        "name": path.strip("/"),
        "url": base + path,
        "auth_header_name": "X-Api-Key",
        "auth_header": "s3cret-token",
        "records_path": "$.data[*]",
        "pagination": pagination,
        "entity": "membership",
        "user_id_field": "id",
        "account_id_field": "acct",
        **extra,
    }


def test_rest_endpoint_pages_by_next_link_and_page_number_into_metrics(
    metrics_api: str, run_tap
) -> None:
    config = {
        "metrics_endpoints": [
            _endpoint(metrics_api, "/linked", {"style": "next_link", "next_path": "$.next"}),
            _endpoint(
                metrics_api,
                "/paged",
                {"style": "page", "size_param": "per_page", "size": 2},
                metric_fields=["logins"],
            ),
        ]
    }
    run = run_tap(config)

    assert run.returncode == 0, run.stderr
    records = run.records("metrics")
    linked = {
        (r["user_id"], r["metric"]): r["value"]
        for r in records
        if r["metric"] in ("logins", "active")
    }
    assert len([r for r in records if r["metric"] == "active"]) == 7
    assert linked[("u-3", "logins")] == 3 and linked[("u-4", "active")] is True
    assert len([r for r in records if r["metric"] == "logins"]) == 14  # both endpoints
    assert {r["account_id"] for r in records} == {"acc-1"}
    assert "s3cret-token" not in run.stderr


def test_rest_endpoint_refusing_the_auth_header_is_reported_not_fatal(
    metrics_api: str, run_tap
) -> None:
    endpoint = _endpoint(metrics_api, "/linked", {"style": "next_link"}, auth_header="wrong")
    run = run_tap({"metrics_endpoints": [endpoint]})

    assert run.returncode == 0, run.stderr
    assert run.records("metrics") == []
    assert "metrics endpoint 'linked' failed" in run.stderr

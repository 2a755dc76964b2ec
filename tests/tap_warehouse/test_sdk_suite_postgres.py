"""singer-sdk's standard tap tests on the SQL events source on a real PostgreSQL server.

Raw message tables and the push-down roll-up (whose SQL is dialect-specific), both read
from Segment-shaped tables in one database of the worker's test server (conftest's
session-scoped `postgres` fixture, so no second server is started).

get_tap_test_class needs the config when the class is created (at import: it discovers the
streams then), but the tap only connects when the class's first test syncs. So each class
gets a config dict whose `events_sql.url` names a closed port; a module fixture loads the
tables and points the dicts at the database before the class-scoped sync (the SDK's
runner keeps the dict it was given and every tap it creates reads it again). Discovery
opens no connection, so nothing is started at import.
"""

from __future__ import annotations

import typing as t
import uuid

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_product_events.tap import TapProductEvents

from ..postgres_server import PostgresServer
from .message_set import segment_messages
from .segment_warehouse import load_messages

_NOT_YET = "postgresql+psycopg://postgres@127.0.0.1:9/not_loaded_yet"
# Filled in by _warehouse before the first sync.
_RAW_CONFIG: dict[str, t.Any] = {"events_sql": {"url": _NOT_YET}}
_ROLLUP_CONFIG: dict[str, t.Any] = {"events_sql": {"url": _NOT_YET, "rollup": True}}


@pytest.fixture(scope="module", autouse=True)
def _warehouse(postgres: PostgresServer) -> str:
    """A database holding the message set as Segment's warehouse tables; configs use it."""
    url = postgres.create_database("sdk_suite_" + uuid.uuid4().hex[:12])
    load_messages(url, segment_messages())
    for config in (_RAW_CONFIG, _ROLLUP_CONFIG):
        config["events_sql"] = {**config["events_sql"], "url": url}
    return url


TestPostgresEventsStandard = get_tap_test_class(TapProductEvents, config=_RAW_CONFIG)

TestPostgresRollupStandard = get_tap_test_class(
    TapProductEvents,
    config=_ROLLUP_CONFIG,
    suite_config=SuiteConfig(ignore_no_records_for_streams=["tracks", "pages", "screens"]),
)

"""singer-sdk's standard tap tests on each source (DuckDB files stand for the database).

The tables are written at import time because get_tap_test_class takes a fixed config.
Message streams a source does not fill are exempt from "returns records".
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_product_events.tap import TapProductEvents

from .message_set import segment_messages
from .segment_warehouse import load_messages, load_rows

_FOLDER = Path(tempfile.mkdtemp(prefix="tap-sql-suite-"))
_EVENTS = f"duckdb:///{_FOLDER / 'events.duckdb'}"
_METRICS = f"duckdb:///{_FOLDER / 'metrics.duckdb'}"
load_messages(_EVENTS, segment_messages())
load_rows(_METRICS, {"users": [{"user_id": "u-1", "logins": 3}, {"user_id": "u-2", "logins": 5}]})
_MESSAGE_STREAMS = ["tracks", "identifies", "groups", "pages", "screens", "aliases"]

TestSqlEventsStandard = get_tap_test_class(
    TapProductEvents, config={"events_sql": {"url": _EVENTS}}
)

TestSqlRollupStandard = get_tap_test_class(
    TapProductEvents,
    config={"events_sql": {"url": _EVENTS, "rollup": True}},
    suite_config=SuiteConfig(ignore_no_records_for_streams=["tracks", "pages", "screens"]),
)

TestMetricsQueriesStandard = get_tap_test_class(
    TapProductEvents,
    config={
        "metrics_queries": [
            {
                "name": "logins",
                "url": _METRICS,
                "entity": "user",
                "sql": "SELECT user_id, logins FROM users",
            }
        ]
    },
    suite_config=SuiteConfig(ignore_no_records_for_streams=_MESSAGE_STREAMS),
)

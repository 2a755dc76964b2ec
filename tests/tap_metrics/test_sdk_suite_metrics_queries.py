"""singer-sdk's standard tap tests on the SQL metrics source (`metrics_queries`, DuckDB).

The table is written at import time because get_tap_test_class takes a fixed config.
The message streams, which this source does not fill, are exempt from "returns records".
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_product_events.tap import TapProductEvents

from ..tap_warehouse.segment_warehouse import load_rows

_FOLDER = Path(tempfile.mkdtemp(prefix="tap-metrics-suite-"))
_METRICS = f"duckdb:///{_FOLDER / 'metrics.duckdb'}"
load_rows(_METRICS, {"users": [{"user_id": "u-1", "logins": 3}, {"user_id": "u-2", "logins": 5}]})
_MESSAGE_STREAMS = ["tracks", "identifies", "groups", "pages", "screens", "aliases"]

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

"""singer-sdk's standard tap tests on the warehouse source, raw and rolled up (DuckDB).

The tables are written at import time because get_tap_test_class takes a fixed config.
Message streams the roll-up does not fill are exempt from "returns records".
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_product_events.tap import TapProductEvents

from .message_set import segment_messages
from .segment_warehouse import load_messages

_FOLDER = Path(tempfile.mkdtemp(prefix="tap-sql-suite-"))
_EVENTS = f"duckdb:///{_FOLDER / 'events.duckdb'}"
load_messages(_EVENTS, segment_messages())

TestSqlEventsStandard = get_tap_test_class(
    TapProductEvents, config={"events_sql": {"url": _EVENTS}}
)

TestSqlRollupStandard = get_tap_test_class(
    TapProductEvents,
    config={"events_sql": {"url": _EVENTS, "rollup": True}},
    suite_config=SuiteConfig(ignore_no_records_for_streams=["tracks", "pages", "screens"]),
)

"""The singer-sdk standard tap tests, on a small archive with every message type."""

from __future__ import annotations

from pathlib import Path

from singer_sdk.testing import get_tap_test_class
from tap_product_events.tap import TapProductEvents

FIXTURE = Path(__file__).parent / "fixtures" / "segment-archive.jsonl"

TestTapProductEventsStandard = get_tap_test_class(
    TapProductEvents,
    config={"events_paths": [str(FIXTURE)]},
)

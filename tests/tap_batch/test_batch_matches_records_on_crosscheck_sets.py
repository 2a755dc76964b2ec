"""On the cross-check tests' random message sets, BATCH and RECORD give the same outputs.

Each example writes its Segment messages (numeric and missing messageIds, numeric and
empty ids, odd time formats, duplicates) to an archive with a malformed line planted at
a random place, and runs `tap-product-events | plg-transform` with the example's scoring
config twice: RECORD lines, then BATCH files (JSON lines or Parquet). Examples are few
(four processes each); PLG_BATCH_EXAMPLES=N runs more.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.crosscheck.message_sets import MessageSet, message_sets
from tests.tap_batch.pipelines import (
    assert_same_outcome,
    batch_config,
    malformed_lines,
    record_and_batch_runs,
)

EXAMPLES = int(os.environ.get("PLG_BATCH_EXAMPLES", "6"))
MALFORMED_LINE = '{"type": "track", "messageId": "cut-short", "userId": "u1", "event": "Sig'


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(message_sets(), st.data())
def test_batch_and_record_paths_give_the_same_outputs(
    message_set: MessageSet, data: st.DataObject
) -> None:
    lines = [json.dumps(m) for m in message_set.messages if m["type"] != "metric"]
    at = data.draw(st.integers(0, len(lines)), label="malformed line at")
    lines.insert(at, MALFORMED_LINE)
    fmt, compression = data.draw(
        st.sampled_from([("jsonl", "gzip"), ("jsonl", "none"), ("parquet", "none")]),
        label="encoding",
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        archive = folder / "events.jsonl"
        archive.write_text("\n".join(lines) + "\n", encoding="utf-8")

        def config(store: Path) -> dict:
            return {
                **message_set.config,
                "store_path": str(store / "store.duckdb"),
                "as_of": message_set.as_of,
            }

        record, batched = record_and_batch_runs(
            folder,
            {"events_paths": [str(archive)]},
            config,
            batch_config(folder / "batches", fmt, compression),
        )
        assert_same_outcome(record, batched)
        assert malformed_lines(batched.tap_log) == [
            f"{archive}:{at + 1}: "
            + malformed_lines(record.tap_log)[0].split(f"{archive}:{at + 1}: ", 1)[1]
        ]

"""RECORD and BATCH runs of the same archives through `tap-product-events | plg-transform`."""

from __future__ import annotations

import gzip
import re
import typing as t
from pathlib import Path

from tests.sql_pipeline.pipeline_runs import PipelineRun, run_pipeline
from tests.sql_pipeline.record_comparison import explain, output_differences

_MALFORMED = re.compile(r"Skipped malformed line at (\S+): (.*)")


def batch_config(folder: Path, fmt: str = "jsonl", compression: str = "gzip") -> dict[str, t.Any]:
    """The SDK's standard `batch_config` with a file:// root."""
    return {
        "encoding": {"format": fmt, "compression": compression},
        "storage": {"root": folder.as_uri(), "prefix": "plg-"},
    }


def malformed_lines(tap_log: str) -> list[str]:
    """The `path:line: reason` of every malformed line the tap reported, in log order."""
    return [f"{m.group(1)}: {m.group(2)}" for m in _MALFORMED.finditer(tap_log)]


def insert_line(path: Path, number: int, line: str) -> None:
    """Put a raw line at 1-based `number` in a gzip archive."""
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines(keepends=True)
    lines.insert(number - 1, line + "\n")
    path.write_bytes(gzip.compress("".join(lines).encode("utf-8")))


def record_and_batch_runs(
    folder: Path,
    tap_config: dict[str, t.Any],
    transform_config: t.Callable[[Path], dict[str, t.Any]],
    batch: dict[str, t.Any],
    state: dict[str, t.Any] | None = None,
    name: str = "",
) -> tuple[PipelineRun, PipelineRun]:
    """The same input through the RECORD path and the BATCH path, each with its own store."""
    record = run_pipeline(
        folder, f"record{name}", tap_config, transform_config(folder / f"record{name}"), state
    )
    batched = run_pipeline(
        folder,
        f"batch{name}",
        {**tap_config, "batch_config": batch},
        transform_config(folder / f"batch{name}"),
        state,
    )
    return record, batched


def assert_same_outcome(record: PipelineRun, batched: PipelineRun) -> None:
    """Same CRM records field by field, same STATE, same malformed lines reported."""
    differences = output_differences(batched.records, record.records, "batch", "record")
    assert not differences, explain(differences)
    assert batched.state is not None and record.state is not None
    # The bookmarks are the same; the transform's store id differs (one store per run).
    assert _without_store_id(batched.state) == _without_store_id(record.state)
    assert malformed_lines(batched.tap_log) == malformed_lines(record.tap_log)
    assert "BATCH file" not in record.transform_log
    assert "BATCH file" in batched.transform_log


def _without_store_id(state: dict[str, t.Any]) -> dict[str, t.Any]:
    return {key: value for key, value in state.items() if key != "plg_transform"}

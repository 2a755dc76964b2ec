"""The real mapper agrees with the reference on random message sets, in one run or k runs.

Each example costs one `plg-transform` process per run (~1 s), so examples are few.
Shrinking is off by default (each shrink step is another process); set
PLG_CROSSCHECK_SHRINK=1 to shrink a failure, PLG_CROSSCHECK_EXAMPLES=N for more examples.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ..reference.metrics_reference import compute
from .mapper_cli import delivery_order, run_mapper
from .message_sets import MessageSet, message_sets, parse_as_of
from .record_diff import explain, output_differences

PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get("PLG_CROSSCHECK_SHRINK"):
    PHASES.append(Phase.shrink)
EXAMPLES = int(os.environ.get("PLG_CROSSCHECK_EXAMPLES", "25"))
CROSSCHECK = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FAILURES = Path(tempfile.gettempdir()) / "plg-crosscheck-failures"


def mapper_config(message_set: MessageSet, workdir: Path) -> dict:
    """The scenario's settings plus a private store and the explicit as_of."""
    return {
        **message_set.config,
        "store_path": str(workdir / "store.duckdb"),
        "as_of": message_set.as_of,
    }


def assert_same(mapper: dict, delivered: list[dict], message_set: MessageSet, runs: list) -> None:
    """Fail with a field-by-field diff and a saved copy of the input."""
    expected = compute(delivered, message_set.config, parse_as_of(message_set.as_of))
    differences = output_differences(mapper, expected)
    if not differences:
        return
    case = {"as_of": message_set.as_of, "config": message_set.config, "runs": runs}
    text = json.dumps(case, indent=1, default=str)
    FAILURES.mkdir(exist_ok=True)
    path = FAILURES / (hashlib.sha256(text.encode()).hexdigest()[:12] + ".json")
    path.write_text(text)
    raise AssertionError(f"mapper != reference (input saved to {path}):\n" + explain(differences))


@CROSSCHECK
@given(message_sets())
def test_one_run_matches_the_reference(message_set: MessageSet) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        output = run_mapper(mapper_config(message_set, workdir), message_set.messages, workdir)
    assert_same(output, delivery_order(message_set.messages), message_set, [message_set.messages])


@settings(CROSSCHECK, max_examples=max(1, EXAMPLES // 2))
@given(message_sets(max_messages=24), st.data())
def test_k_runs_on_one_store_match_the_reference_on_the_union(
    message_set: MessageSet, data: st.DataObject
) -> None:
    messages = message_set.messages
    k = data.draw(st.integers(2, 3), label="runs")
    cuts = sorted(
        data.draw(
            st.lists(st.integers(0, len(messages)), min_size=k - 1, max_size=k - 1), label="cuts"
        )
    )
    bounds = [0, *cuts, len(messages)]
    runs = [list(messages[bounds[i] : bounds[i + 1]]) for i in range(k)]
    if data.draw(st.booleans(), label="links arrive in the last run"):
        for run in runs[:-1]:
            links = [m for m in run if m["type"] in ("identify", "alias")]
            for link in links:
                run.remove(link)
            runs[-1].extend(links)
    for i in range(1, k):  # re-deliveries of earlier runs' messages
        earlier = [m for run in runs[:i] for m in run if m["type"] != "metric"]
        for original in data.draw(
            st.lists(st.sampled_from(earlier), max_size=3) if earlier else st.just([]),
            label=f"redelivered in run {i + 1}",
        ):
            runs[i].append(dict(original, sentAt="2026-03-21T00:00:00Z"))

    delivered: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = mapper_config(message_set, workdir)
        for number, run in enumerate(runs, start=1):
            output = run_mapper(config, run, workdir, run=number)
            delivered.extend(delivery_order(run))
            # Every run, not only the last, equals one full run over what arrived so far.
            assert_same(output, delivered, message_set, runs[:number])

"""A broken config stops `plg-transform` before it reads a record, naming the setting.

Each case starts the real CLI (`plg-transform --config x.json`) with a tiny input on
stdin and checks what a user sees: exit code 1, one error line naming the setting (and
the name a typo probably meant), no traceback, nothing on stdout, no store created; and
the same typo in the `plg-scores` mapping of meltano.yml stops `meltano run`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import MeltanoProject, meltano_project  # noqa: F401 (fixture)

from .conftest import AS_OF, CLI, track

INPUT = track("m1", "u1", "Signed Up", "2026-02-25T10:00:00Z", "a1") + "\n"
ERROR = "| ERROR"
SUMMARY = "Config validation failed"


def _refused(tmp_path: Path, config: dict) -> list[str]:
    """Run the CLI with `config`; assert it refused it cleanly; return its error lines."""
    store = tmp_path / "store" / "store.duckdb"
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"store_path": str(store), "as_of": AS_OF, **config}))
    proc = subprocess.run(
        [CLI, "--config", str(path)], input=INPUT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stdout == ""
    assert not store.parent.exists()  # the store was never opened
    # Log lines read `time | LEVEL | logger | message`.
    return [
        line.split("|", 3)[3].strip()
        for line in proc.stderr.splitlines()
        if ERROR in line and SUMMARY not in line
    ]


CASES = {
    "top-level typo": (
        {"evnets": {"Signed Up": {"weight": 6}}},
        "`evnets`: unknown setting; did you mean `events`?",
    ),
    "typo in an event": (
        {"events": {"Signed Up": {"wieght": 6}}},
        '`events["Signed Up"].wieght`: unknown setting; did you mean `weight`?',
    ),
    "typo in a milestone": (
        {"activation": {"milestones": [{"name": "first", "evnt": "Signed Up"}]}},
        "`activation.milestones[0].evnt`: unknown setting; did you mean `event`?",
    ),
    "typo in activation": (
        {"activation": {"milestone": []}},
        "`activation.milestone`: unknown setting; did you mean `milestones`?",
    ),
    "typo in score_reference": (
        {"score_reference": {"acount": 5}},
        "`score_reference.acount`: unknown setting; did you mean `account`?",
    ),
    "typo in a lifecycle stage": (
        {"lifecycle": [{"stag": "new", "when": "true"}]},
        "`lifecycle[0].stag`: unknown setting; did you mean `stage`?",
    ),
    "unknown applies_to": (
        {
            "segments": [
                {"name": "any", "when": "true"},
                {"name": "big", "when": "total_users > 2", "applies_to": "acount"},
            ]
        },
        '`segments[1].applies_to`: "acount" is not one of user, account, membership; '
        "did you mean `account`?",
    ),
    "window_days 0": ({"window_days": 0}, "`window_days`: must be at least 1, got 0"),
    "max_record_bytes too small": (
        {"max_record_bytes": 1000},
        "`max_record_bytes`: must be at least 4194304, got 1000",
    ),
    "negative clock skew": (
        {"max_clock_skew_hours": -1},
        "`max_clock_skew_hours`: must be at least 0, got -1",
    ),
    "negative weight": (
        {"events": {"Signed Up": {"weight": -2}}},
        '`events["Signed Up"].weight`: must be at least 0, got -2',
    ),
    "daily_cap -1": ({"daily_cap": -1}, "`daily_cap`: must be at least 0, got -1"),
    "window_days 1.5": ({"window_days": 1.5}, "`window_days`: expected a whole number, got 1.5"),
    "negative decimal default_weight": (
        {"default_weight": -0.5},
        "`default_weight`: must be at least 0, got -0.5",
    ),
    "score_reference 0": (
        {"score_reference": {"user": 0}},
        "`score_reference.user`: must be more than 0, got 0",
    ),
    "milestone count 0": (
        {"activation": {"milestones": [{"name": "first", "event": "Signed Up", "count": 0}]}},
        "`activation.milestones[0].count`: must be at least 1, got 0",
    ),
    "window_days as text": (
        {"window_days": "30"},
        '`window_days`: expected a whole number, got "30"',
    ),
    "strict as text": ({"strict": "yes"}, '`strict`: expected true or false, got "yes"'),
    "negative progress interval": (
        {"progress_interval_seconds": -1},
        "`progress_interval_seconds`: must be at least 0, got -1",
    ),
    "progress interval as a word": (
        {"progress_interval_seconds": "fast"},
        '`progress_interval_seconds`: expected a number, got "fast"',
    ),
    "traits as one string": (
        {"user_traits": "plan"},
        "`user_traits`: expected a list (in meltano.yml, or JSON text in an environment "
        'variable), got "plan"',
    ),
    "events given as JSON text": (
        {"events": json.dumps({"Signed Up": {"weight": 6}})},
        "`events`: expected an object (a mapping in meltano.yml, JSON text in an environment "
        "variable), got ",
    ),
    "segment as a string": (
        {"segments": ["engagement_score > 50"]},
        "`segments[0]`: expected an object",
    ),
    "segment without a rule": (
        {"segments": [{"name": "busy"}]},
        "`segments[0].when`: required, but not set",
    ),
    "empty feature name": (
        {"events": {"Signed Up": {"weight": 1, "feature": ""}}},
        '`events["Signed Up"].feature`: must not be empty',
    ),
    "trait listed twice": (
        {"user_traits": ["plan", "plan"]},
        "`user_traits`: has duplicate items",
    ),
    "memory limit below 128MB": (
        {"store_memory_limit": "64MB"},
        "`store_memory_limit`: must be at least 128MB, got '64MB'",
    ),
    "memory limit not a size": (
        {"store_memory_limit": "80%"},
        '`store_memory_limit`: "80%" does not match the pattern',
    ),
    "as_of not a date-time": (
        {"as_of": "yesterday"},
        "`as_of`: not an ISO 8601 date-time: 'yesterday'",
    ),
    "rule that does not parse": (
        {"pql": "engagement_score >= AND 1"},
        "`pql`: does not parse: ",
    ),
    "segment rule reading an unknown field": (
        {"segments": [{"name": "x", "when": "nope = 1"}]},
        "`segments[0].when`: unknown field(s) ['nope']",
    ),
    "duplicate segment names": (
        {"segments": [{"name": "a", "when": "true"}, {"name": "a", "when": "false"}]},
        "`segments[1].name`: duplicate segment name 'a'",
    ),
    "duplicate milestone names": (
        {
            "activation": {
                "milestones": [
                    {"name": "m", "event": "Signed Up"},
                    {"name": "m", "event": "Invite Sent"},
                ]
            }
        },
        "`activation.milestones[1].name`: duplicate milestone name 'm'",
    ),
}


@pytest.mark.parametrize(("config", "expected"), list(CASES.values()), ids=list(CASES))
def test_a_broken_setting_is_refused_in_one_line_naming_it(
    tmp_path: Path, config: dict, expected: str
) -> None:
    lines = _refused(tmp_path, config)
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines


def test_every_problem_of_a_config_is_named_at_once(tmp_path: Path) -> None:
    lines = _refused(
        tmp_path,
        {
            "evnets": {},
            "window_days": 0,
            "segments": [{"name": "a", "when": "true", "applies_to": "acount"}],
        },
    )
    assert lines == [
        "`evnets`: unknown setting; did you mean `events`?",
        "`window_days`: must be at least 1, got 0",
        '`segments[0].applies_to`: "acount" is not one of user, account, membership; '
        "did you mean `account`?",
    ]


def test_the_sdks_own_settings_and_nulls_are_still_accepted(run_transform) -> None:
    out = run_transform(
        [INPUT.strip()],
        {
            "stream_maps": {},
            "flattening_enabled": False,
            "window_days": None,  # null = unset: the default applies
            "events": {"Signed Up": {"weight": 6, "feature": None}},
        },
    )
    assert out.by_key("contacts")["u1"]["engagement_score"] == 90


@pytest.mark.e2e
def test_a_typo_in_the_meltano_mapping_stops_meltano_run_naming_it(
    meltano_project: MeltanoProject,  # noqa: F811 (the fixture imported above)
) -> None:
    project_file = meltano_project.root / "meltano.yml"
    text = project_file.read_text()
    assert text.count("\n        events:\n") == 1  # the plg-scores mapping's events
    project_file.write_text(text.replace("\n        events:\n", "\n        evnets:\n"))

    run = meltano_project.run_pipeline(check=False)

    assert run.returncode == 1
    assert "plg-transform `evnets`: unknown setting; did you mean `events`?" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (meltano_project.root / "output" / "plg-store.duckdb").exists()


def test_changing_account_id_paths_on_a_built_store_is_refused_naming_the_fix(
    run_transform,
) -> None:
    lines = [track("m1", "u1", "Run", "2026-02-25T10:00:00Z", "a1")]
    run_transform(lines)

    out = run_transform(lines, {"account_id_paths": ["properties.accountId"]}, check=False)

    assert out.returncode == 1
    assert "Traceback" not in out.log
    assert out.messages == []
    assert (
        '`account_id_paths`: changed from ["context.groupId","properties.groupId"] to '
        '["properties.accountId"] since the store'
    ) in out.log
    assert "meltano run --full-refresh" in out.log

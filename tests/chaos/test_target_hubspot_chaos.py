"""Chaos on the target's HubSpot side: SIGKILLs of the target, HubSpot going away mid-run.

Two incremental inputs (the shape of the transform's output: companies, contacts,
associations, then STATE) are written to a strict HubSpot emulator. Each test breaks
the target or HubSpot at seeded random moments and re-runs as a scheduler would (the
same input until a run succeeds); the portal must end as the clean runs left it. The
matrix of writes applied but never answered is tests/target_hubspot
(test_hubspot_unknown_outcomes.py); the full-size version of these kills is
`python -m bench.chaos_runs --hubspot`.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from threading import Event, Thread
from typing import Any

import pytest

from ..target_hubspot.harness import TOKEN, HubSpotWorkspace
from ..target_hubspot.hubspot_emulator import HubSpotEmulator
from ..target_hubspot.test_hubspot_unknown_outcomes import (
    ADOPTED_DOMAIN,
    _portal,
    _run_one,
    _run_two,
)
from ..target_local.harness import TARGET

INPUTS = (_run_one, _run_two)


def new_portal() -> HubSpotEmulator:
    """A portal holding one company people made; a 2 s rate window keeps 429s short."""
    emulator = HubSpotEmulator(
        TOKEN, rate_interval_ms=2000, timeout_delay_seconds=0.8, watchdog_seconds=300
    )
    emulator.start()
    emulator.add_object("companies", {"name": "Adopt Inc", "domain": ADOPTED_DOMAIN})
    return emulator


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], list[int]]]:
    """The portal after the clean runs, and how many calls each run made."""
    emulator = new_portal()
    try:
        workspace = HubSpotWorkspace(tmp_path_factory.mktemp("clean"), emulator=emulator)
        calls = []
        for messages in INPUTS:
            before = len(emulator.calls)
            assert workspace.run(messages()).returncode == 0
            calls.append(len(emulator.calls) - before)
        yield _portal(emulator), calls
    finally:
        emulator.stop()


class AtCall(Thread):
    """Does `action` once HubSpot has answered `count` more calls (a moment inside a run);
    `cancel()` after the run, which may have needed fewer calls."""

    def __init__(self, emulator: HubSpotEmulator, count: int, action: Callable[[], None]):
        super().__init__()
        self.emulator, self.count, self.action = emulator, count, action
        self.start_count = len(emulator.calls)
        self.cancelled = Event()
        self.start()

    def run(self) -> None:
        while len(self.emulator.calls) - self.start_count < self.count:
            if self.cancelled.wait(0.005):
                return
        self.action()

    def cancel(self) -> None:
        """Give up waiting (the action is not done if it was not yet), and wait."""
        self.cancelled.set()
        self.join()


def run_killed(
    workspace: HubSpotWorkspace, messages: list[dict], emulator: HubSpotEmulator, calls: int
) -> int | None:
    """Run the target and SIGKILL it once HubSpot answered `calls` of its calls."""
    config = workspace.folder / "config.json"
    config.write_text(json.dumps(workspace.config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_PLG_CRM_")}
    proc = subprocess.Popen(
        [str(TARGET), "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    killer = AtCall(emulator, calls, lambda: proc.send_signal(signal.SIGKILL))
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.close()
    code = proc.wait(timeout=180)
    killer.cancel()
    return code


def run_until_it_succeeds(workspace: HubSpotWorkspace, messages: list[dict]) -> int:
    """The scheduler: the same input again until a run exits 0; how many it took."""
    for attempt in range(1, 4):
        result = workspace.run(messages)
        if result.returncode == 0:
            assert result.states, "a successful run emits its STATE"
            return attempt
    raise AssertionError(result.stderr)


def test_sigkills_of_the_target_at_random_moments_converge_to_the_clean_portal(
    tmp_path: Path, clean: tuple[dict[str, Any], list[int]]
) -> None:
    expected, calls = clean
    rng = random.Random(20261128)
    emulator = new_portal()
    try:
        workspace = HubSpotWorkspace(tmp_path, emulator=emulator)
        kills = []
        for messages, count in zip(INPUTS, calls, strict=True):
            at = rng.randint(1, count)
            code = run_killed(workspace, messages(), emulator, at)
            kills.append(f"killed at call {at} of {count}: exit {code}")
            run_until_it_succeeds(workspace, messages())
        print("\n".join(kills))  # noqa: T201 (the seeded kill points, for a rerun)
        assert _portal(emulator) == expected
    finally:
        emulator.stop()


def test_hubspot_down_for_a_moment_is_retried_and_a_long_outage_fails_without_state(
    tmp_path: Path, clean: tuple[dict[str, Any], list[int]]
) -> None:
    expected, calls = clean
    rng = random.Random(11)
    emulator = new_portal()
    try:
        workspace = HubSpotWorkspace(tmp_path, emulator=emulator)
        # A short outage at a random call of the first run: retried, the run succeeds.
        outage = AtCall(emulator, rng.randint(1, calls[0] - 1), lambda: emulator.restart(0.3))
        first = workspace.run(_run_one())
        outage.cancel()
        assert first.returncode == 0, first.stderr
        assert "connection failed" in first.stderr  # it did meet the outage
        # A long one after the first CRM call of the second run: the retries run out,
        # the run fails in one line and emits no STATE; the scheduler's next run finishes.
        outage = AtCall(emulator, 2, lambda: emulator.restart(4.0))
        second = workspace.run(_run_two(), hubspot_max_retries=2)
        outage.cancel()
        assert second.returncode != 0
        assert second.states == []
        assert "Traceback" not in second.stderr
        assert "failed after 2 retries: connection failed" in second.stderr
        run_until_it_succeeds(workspace, _run_two())
        assert _portal(emulator) == expected
    finally:
        emulator.stop()

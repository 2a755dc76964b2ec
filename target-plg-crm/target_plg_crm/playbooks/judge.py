"""Judging records against a playbook: which crossed its line since the last judgement.

`enter`: `when` holds now and did not before (or the record is new); `exit`: it held
and does not; `while`: it holds and the record changed since the playbook last acted on
it. A playbook's first run on a CRM records where each record stands without acting
(unless `fire_on_first_run`). Each crossing gets an id (`enter:3`: the third crossing
of that record for that playbook) that names its actions forever, so a crossing is
acted on once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from target_plg_crm.playbooks.config import Playbook
from target_plg_crm.playbooks.state import RecordState, Snapshot


@dataclass(frozen=True)
class Crossing:
    """A record that crossed a playbook's line: which one, and the crossing's id."""

    record: Snapshot
    crossing_id: str


def judge(
    playbook: Playbook,
    records: Sequence[Snapshot],
    holds: set[int],
    states: Mapping[str, RecordState],
    *,
    started: bool,
) -> tuple[dict[str, RecordState], list[Crossing]]:
    """(new state per record key, crossings to act on) for `records` (`holds`: indexes
    of the records for which `when` is true)."""
    acting = started or playbook.fire_on_first_run
    new_states: dict[str, RecordState] = {}
    crossings: list[Crossing] = []
    for index, record in enumerate(records):
        now = index in holds
        before = states.get(record.key) or RecordState(False, 0, None)
        crossed = _crossed(playbook.on, before, now, record.hash)
        count, fired = before.crossings, before.fired_hash
        if crossed:
            count += 1
            crossing_id = f"{playbook.on}:{count}"
            if playbook.on == "while":
                fired = record.hash
            if acting:
                crossings.append(Crossing(record, crossing_id))
        if not now:
            fired = None  # a later stretch of `while` acts again on the same version
        new_states[record.key] = RecordState(now, count, fired)
    return new_states, crossings


def _crossed(on: str, before: RecordState, now: bool, version: str) -> bool:
    if on == "enter":
        return now and not before.active
    if on == "exit":
        return before.active and not now
    return now and before.fired_hash != version

"""The bookmarks a store has absorbed: which pipeline STATEs its contents cover.

After each run's messages are committed to the store, the STATE the transform forwards
(the tap's bookmarks plus our marker) is recorded in the store's `absorbed_states` table
under the digest of the tap's part; the marker in that STATE carries the same digest
(`plg_transform.covers`). Meltano hands that STATE back to the tap on the next run and the
tap re-emits it, so the transform can ask its store: "have you absorbed this bookmark?"

- Yes: the store holds everything the bookmark skips (it may hold more, e.g. when a
  later run was killed after committing; re-delivered messages count once).
- No, on the same store: the store is behind the pipeline's state (restored from an
  older backup of itself) or on another branch of its history. Scoring it would use
  partial history. The run then rewinds: it scores nothing and forwards the latest
  STATE the store did absorb, so the next run re-reads what the store lacks (see
  `StoreRewind`). A store with no recorded STATE (written before this table existed)
  cannot be rewound and stops the run with the full-refresh fix instead.

The row is written after the messages it covers are committed: a crash in between
leaves a store ahead of its record, which is safe; never the reverse.
"""

from __future__ import annotations

import hashlib
import typing as t
from dataclasses import dataclass

import duckdb
import orjson

MARKER_KEY = "plg_transform"  # our key in the pipeline's STATE
COVERS_KEY = "covers"  # digest of the tap's part of the STATE this store absorbed
STATES_KEPT = 20  # full STATE values kept; digests of older runs are kept without them

_SCHEMA = """
CREATE TABLE IF NOT EXISTS absorbed_states (
    digest VARCHAR PRIMARY KEY, run BIGINT, absorbed_at TIMESTAMP, state JSON);
"""


class StoreBehindError(Exception):
    """The pipeline's state names a bookmark this store never absorbed, and it cannot rewind."""


def tap_part(state: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The STATE without our marker: what the tap's bookmarks say."""
    return {key: value for key, value in state.items() if key != MARKER_KEY}


def state_digest(state: t.Mapping[str, t.Any]) -> str:
    """`sha256:` of the canonical JSON of the tap's part of a STATE."""
    canonical = orjson.dumps(tap_part(state), option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class StoreRewind:
    """What a run does on a store behind the pipeline's state: score nothing, go back."""

    state: dict[str, t.Any]  # the latest STATE the store absorbed, forwarded as is
    absorbed_at: str
    missing: str  # digest the pipeline's state named

    def message(self, store_path: object) -> str:
        """The one-line warning of the run."""
        return (
            f"The store at {store_path} has not absorbed the bookmark the pipeline's state "
            f"names ({self.missing}): it was restored from an older copy, or the state "
            f"comes from another history. Not scoring this run (it would use partial "
            f"history); forwarding the last state this store absorbed ({self.absorbed_at}) "
            f"so the next run re-reads what it lacks. To catch up at once: "
            f"`meltano run --full-refresh <your job or blocks>`."
        )


class AbsorbedStates:
    """The `absorbed_states` table of one store."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        con.execute(_SCHEMA)

    def covers(self, digest: str) -> bool:
        """True if the store absorbed the STATE with this digest."""
        row = self.con.execute(
            "SELECT 1 FROM absorbed_states WHERE digest = ?", [digest]
        ).fetchone()
        return row is not None

    def runs_since(self, digest: str) -> int:
        """How many later STATEs the store absorbed after this one (0 if latest)."""
        row = self.con.execute(
            "SELECT count(*) FROM absorbed_states "
            "WHERE run > (SELECT run FROM absorbed_states WHERE digest = ?)",
            [digest],
        ).fetchone()
        return int(row[0]) if row else 0

    def latest(self) -> tuple[dict[str, t.Any], str] | None:
        """The latest absorbed STATE and when it was absorbed, if any."""
        row = self.con.execute(
            "SELECT state::VARCHAR, strftime(absorbed_at, '%Y-%m-%dT%H:%M:%SZ') "
            "FROM absorbed_states WHERE state IS NOT NULL ORDER BY run DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return orjson.loads(row[0]), str(row[1])

    def record(self, forwarded: t.Mapping[str, t.Any]) -> None:
        """Remember a STATE whose messages are committed to the store."""
        con = self.con
        digest = state_digest(forwarded)
        con.execute("BEGIN TRANSACTION")
        con.execute("DELETE FROM absorbed_states WHERE digest = ?", [digest])
        con.execute(
            """
            INSERT INTO absorbed_states
            SELECT ?, coalesce((SELECT max(run) FROM absorbed_states), 0) + 1,
                   now()::TIMESTAMP, ?::JSON
            """,
            [digest, orjson.dumps(forwarded).decode()],
        )
        con.execute(
            """
            UPDATE absorbed_states SET state = NULL
            WHERE run <= (SELECT max(run) FROM absorbed_states) - ?
            """,
            [STATES_KEPT],
        )
        con.execute("COMMIT")

    def check(self, incoming: t.Mapping[str, t.Any]) -> StoreRewind | None:
        """None if the store covers the incoming marker; else how to rewind.

        Raises StoreBehindError when the store does not cover it and has no absorbed
        STATE to go back to (a store from before this table).
        """
        digest = incoming.get(COVERS_KEY)
        if not isinstance(digest, str) or self.covers(digest):
            return None  # a marker without digest comes from an older version: trusted
        latest = self.latest()
        if latest is None:
            raise StoreBehindError(
                f"The pipeline's state names a bookmark ({digest}) this store never "
                f"absorbed and the store records none to go back to. Fix: run "
                f"`meltano run --full-refresh <your job or blocks>` to re-read the whole "
                f"history into this store."
            )
        state, absorbed_at = latest
        return StoreRewind(state=state, absorbed_at=absorbed_at, missing=digest)

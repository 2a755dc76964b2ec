"""Progress of a run as it goes: records handled and CRM calls per object type.

A long sync (thousands of records at the CRM's rate limit) logs, at most every
`progress_interval_seconds`, how many records of each object type were handled
(created, updated, unchanged, rejected, from the run's `RunSummary`) and how many CRM
client calls it made for them (each call carries one batch: an upsert, an association
write, a batch read of ids, a property check). A run shorter than the interval logs no
progress line; every run ends with the summary's one line, which carries the calls.

Calls are counted by `CountedCRM`, which stands in front of the run's CRM client and
hands everything else through unchanged.
"""

from __future__ import annotations

import logging
import typing as t
from collections import Counter

from plg_settings.progress import ProgressPace

from target_plg_crm.crm.object_types import ASSOCIATIONS
from target_plg_crm.summary import OUTCOMES, RunSummary

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from target_plg_crm.crm.interface import CRMClient
    from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
    from target_plg_crm.crm.writes import AssociationInput, UpsertInput, WriteResult


class SyncProgress:
    """Counts CRM calls per object type and logs progress at most every interval."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_seconds: float,
        summary: RunSummary,
    ) -> None:
        self.logger = logger
        self.summary = summary
        # The interval runs from the first batch, not from the start: in a pipeline the
        # target mostly waits for the transform, and a sync of a few seconds is short.
        self.pace = ProgressPace(interval_seconds, from_first_check=True)
        self.calls: Counter[str] = Counter()

    def called(self, object_type: str) -> None:
        """One CRM call was made for `object_type`; log progress if the interval passed."""
        self.calls[object_type] += 1
        self.maybe_report()

    def maybe_report(self) -> None:
        """Log the counts so far when `interval` seconds passed since the last report."""
        if not self.pace.due():
            return
        parts = []
        for object_type in sorted(set(self.summary.counts) | set(self.calls)):
            counts = self.summary.counts.get(object_type, Counter())
            handled = sum(counts[o] for o in OUTCOMES)
            detail = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o])
            parts.append(
                f"{object_type} {handled} records"
                + (f" ({detail})" if detail else "")
                + f", {self.calls[object_type]} calls"
            )
        self.logger.info(
            "progress after %.0f s: %s", self.pace.elapsed(), "; ".join(parts) or "no record yet"
        )

    def finish(self) -> None:
        """The run's one summary line: outcomes per object type, calls, duration."""
        total = sum(self.calls.values())
        self.summary.log(self.logger, tail=f"{total} CRM calls in {self.pace.elapsed():.1f} s")


class CountedCRM:
    """The run's CRM client, with each call counted (per object type) in `SyncProgress`."""

    def __init__(self, crm: CRMClient, progress: SyncProgress) -> None:
        self._crm = crm
        self._progress = progress

    def __getattr__(self, name: str) -> t.Any:
        """Everything else (identity, max_batch_size, close...) is the client's own."""
        return getattr(self._crm, name)

    def ensure_properties(
        self, object_type: str, group: PropertyGroup, definitions: Sequence[PropertyDefinition]
    ) -> None:
        """The client's `ensure_properties`, counted."""
        self._crm.ensure_properties(object_type, group, definitions)
        self._progress.called(object_type)

    def upsert(
        self, object_type: str, id_property: str, inputs: Sequence[UpsertInput]
    ) -> list[WriteResult]:
        """The client's `upsert`, counted."""
        results = self._crm.upsert(object_type, id_property, inputs)
        self._progress.called(object_type)
        return results

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """The client's `find_ids`, counted."""
        found = self._crm.find_ids(object_type, id_property, keys)
        self._progress.called(object_type)
        return found

    def association_labels(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], frozenset[str]] | None:
        """The client's `association_labels`, counted when it reads."""
        held = self._crm.association_labels(pairs)
        if held is not None and pairs:
            self._progress.called(ASSOCIATIONS)
        return held

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """The client's `associate`, counted."""
        results = self._crm.associate(inputs)
        self._progress.called(ASSOCIATIONS)
        return results

"""Reconcile instead of trusting memory: what the CRM holds where the ledger knows nothing.

The ledger remembers the labels last written on each association, which is how a CRM
that adds and removes labels one by one (HubSpot) knows which to remove when a role
changes. Without a ledger entry (a lost or new ledger, an association written by an
older run elsewhere) the target reads the labels the CRM holds instead
(`CRMClient.association_labels`: HubSpot's v4 batch read, 1,000 contacts a call) and
treats those it may have written as the previous ones, so that a label that no longer
applies is removed as it would have been with the ledger.

Which labels the target may have written (`OwnedLabels`): the labels of the boolean
label fields (`is_champion` -> `champion`), the labels the stream's SCHEMA lists as
possible values of its text label fields (`enum`, `x-options`), every label the ledger
holds and every label this run's records gave so far. A label outside these (made by a
person in the CRM) is never removed; nor is `primary` (the CRM sets it itself and a
contact has one: writing the new primary moves it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from target_plg_crm.crm.association_labels import PRIMARY_LABEL, label_name
from target_plg_crm.crm.interface import CRMClient


class Unreconciled(Protocol):
    """A pending association: its ids, the labels it wants, and those the ledger knew."""

    contact_id: str
    company_id: str
    labels: frozenset[str]
    previous_labels: frozenset[str] | None


def schema_labels(schema: Mapping[str, Any], fields: Sequence[str]) -> set[str]:
    """Labels the SCHEMA says `fields` can give: boolean field names, enum/x-options values."""
    properties = schema.get("properties") or {}
    labels: set[str] = set()
    for name in fields:
        spec = properties.get(name) or {}
        kinds = spec.get("type")
        kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
        if "boolean" in kinds:
            labels.add(label_name(name.removeprefix("is_")))
        for value in [*(spec.get("enum") or []), *(spec.get("x-options") or [])]:
            if isinstance(value, str):
                labels.update(label_name(part) for part in value.split(";"))
    labels.discard("")
    labels.discard(PRIMARY_LABEL)
    return labels


@dataclass
class OwnedLabels:
    """The labels this suite may have written: the only ones a reconcile removes."""

    names: set[str] = field(default_factory=set)

    def add(self, labels: Iterable[str]) -> None:
        """Add labels (primary never counts)."""
        self.names.update(n for n in labels if n != PRIMARY_LABEL)


def reconcile_previous_labels(
    crm: CRMClient, pending: Sequence[Unreconciled], owned: OwnedLabels
) -> None:
    """Set `previous_labels` of pending associations the ledger does not know.

    They become the owned labels the CRM holds on the pair, so the CRM client removes
    those no longer wanted; a pair the CRM has no association for stays unknown (None:
    a creation). Nothing is read when every association is known or the CRM sets labels
    exactly.
    """
    unknown = [p for p in pending if p.previous_labels is None]
    if not unknown:
        return
    held = crm.association_labels([(p.contact_id, p.company_id) for p in unknown])
    if not held:
        return
    for item in unknown:
        labels = held.get((item.contact_id, item.company_id))
        if labels is None:
            continue
        stale = {n for n in labels if n in owned.names}
        # What it wants and has stays; the rest of ours goes (see the module docstring).
        item.previous_labels = frozenset(stale | (labels & item.labels))

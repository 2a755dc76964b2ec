"""Records that leave the model: flagged or cleared once (`on_leave`), instead of going stale.

The transform emits the whole model on every run (every contact, company and
association it scores, each carrying `as_of`), so a contact or company the ledger says
this suite wrote, and that a complete run's stream no longer carries (its user was
merged, its e-mail changed, its account is gone), has left the model. At the end of the
input, before the STATE, each such record is updated once by its CRM id:

- `flag` (default): `<property_prefix>in_product` is set to `false` (a bool property
  created for it when first needed); a record that comes back gets `true` with its
  next write.
- `clear`: its `<property_prefix>` properties that exist in the CRM are emptied (the
  company key, e.g. `plg_account_id`, and native properties are kept).
- `keep`: nothing.

The ledger then holds a marker instead of the record's hash, so the record is not
updated again on later runs, and is written in full if it comes back. Only streams that
carry `as_of` (the transform's whole model) are judged, and only when the input ended
with a STATE after its records (the transform sends it after the whole model: an input
cut short, a transform killed mid-way, leaves nobody): a tap's own contacts stream may
be an increment. A stream that carried no record says nothing and leaves nobody. A CRM
object already deleted (`OBJECT_NOT_FOUND`) is forgotten by the ledger. Salesforce is not
handled yet. A lost ledger forgets which records were written: they are not flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, MutableMapping
from dataclasses import dataclass, field

from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import UpdateInput
from target_plg_crm.crm.writes import Outcome
from target_plg_crm.ledger import Ledger, LedgerEntry, content_hash
from target_plg_crm.sync_run import SyncRun

#: The ledger's hash of a record that left the model (never the hash of real values).
LEFT_HASH = content_hash({"left_the_model": True})
#: The field name of the flag (a property `<property_prefix>in_product`).
IN_PRODUCT_FIELD = "in_product"
#: The model's streams carry it; a stream without it may be an increment.
WHOLE_MODEL_FIELD = "as_of"
#: CRMs whose records can be flagged or cleared by CRM id.
HANDLED_CRMS = ("local", "hubspot")


def in_product_definition(prefix: str, group: PropertyGroup) -> PropertyDefinition:
    """The bool property `flag` writes: `<prefix>in_product`."""
    return PropertyDefinition(
        name=f"{prefix}{IN_PRODUCT_FIELD}",
        label="In product",
        type="bool",
        field_type="booleancheckbox",
        group_name=group.name,
    )


def carries_whole_model(schema: Mapping[str, object]) -> bool:
    """Whether a stream's SCHEMA is the transform's whole model (it carries `as_of`)."""
    properties = schema.get("properties")
    return isinstance(properties, Mapping) and WHOLE_MODEL_FIELD in properties


def mark_returning(properties: MutableMapping[str, str], prefix: str, on_leave: str) -> None:
    """A record the ledger says left comes back: under `flag`, it is in the product again."""
    if on_leave == "flag":
        properties[f"{prefix}{IN_PRODUCT_FIELD}"] = "true"


@dataclass
class LeaveOutcome:
    """What one object type's leavers came to."""

    updated: int = 0
    gone: int = 0
    rejected: list[tuple[str, str, str]] = field(default_factory=list)  # (key, code, reason)


@dataclass
class Leavers:
    """The leavers of one object type and how to mark them."""

    crm: CRMClient
    ledger: Ledger
    object_type: str
    on_leave: str
    prefix: str
    group: PropertyGroup

    def find(self, seen: Collection[str]) -> dict[str, LedgerEntry]:
        """Ledger entries not seen this run and not already marked (empty: none seen)."""
        if not seen:
            return {}
        entries = self.ledger.entries(self.object_type)
        return {k: e for k, e in entries.items() if k not in seen and e.hash != LEFT_HASH}

    def properties(self, cleared: Collection[str]) -> dict[str, str]:
        """What each leaver is updated with (`cleared`: our property names to empty)."""
        if self.on_leave == "flag":
            definition = in_product_definition(self.prefix, self.group)
            self.crm.ensure_properties(self.object_type, self.group, [definition])
            return {definition.name: "false"}
        existing = self.crm.property_names(self.object_type)
        return {name: "" for name in sorted(cleared) if name in existing}

    def mark(self, left: Mapping[str, LedgerEntry], properties: Mapping[str, str]) -> LeaveOutcome:
        """Update every leaver by its CRM id; the ledger marks those the CRM accepted."""
        outcome = LeaveOutcome()
        items = sorted(left.items())
        size = self.crm.max_batch_size
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            inputs = [UpdateInput(e.crm_id, key, dict(properties)) for key, e in chunk]
            results = self.crm.update(self.object_type, inputs) if properties else []
            accepted: dict[str, LedgerEntry] = {}
            for (key, entry), result in zip(chunk, results, strict=True):
                if result.outcome is not Outcome.REJECTED:
                    accepted[key] = LedgerEntry(
                        LEFT_HASH, entry.crm_id, entry.user_id, entry.primary_account_id
                    )
                elif result.code == "OBJECT_NOT_FOUND":
                    self.ledger.forget_crm_id(self.object_type, entry.crm_id)
                    outcome.gone += 1
                else:
                    outcome.rejected.append((key, result.code or "REJECTED", result.reason or ""))
            if not properties:  # nothing of ours to clear: marked all the same
                accepted = {
                    k: LedgerEntry(LEFT_HASH, e.crm_id, e.user_id, e.primary_account_id)
                    for k, e in chunk
                }
            self.ledger.remember(self.object_type, accepted)
            outcome.updated += len(accepted)
        return outcome


def mark_leavers(
    run: SyncRun,
    object_type: str,
    group: PropertyGroup,
    ours: Collection[str],
    logger: logging.Logger,
) -> list[tuple[str, str, str]]:
    """Flag or clear the leavers of one object type at the end of a complete input.

    `ours`: the `<property_prefix>` properties `clear` empties. Returns the leavers the
    CRM refused (key, code, reason) for the caller to reject; the rest are counted
    `updated`.
    """
    settings = run.settings
    if settings.on_leave == "keep" or settings.crm not in HANDLED_CRMS:
        return []
    if not run.closed_by_state:
        # Cut short (the transform killed mid-way): the stream is not the whole model.
        logger.info(
            "The input did not end with a STATE after its records: no %s is taken as "
            "having left the model",
            object_type,
        )
        return []
    leavers = Leavers(
        run.crm, run.ledger, object_type, settings.on_leave, settings.property_prefix, group
    )
    left = leavers.find(run.seen_keys.get(object_type, set()))
    if not left:
        return []
    outcome = leavers.mark(left, leavers.properties(ours))
    run.summary.add(object_type, "updated", outcome.updated)
    logger.info(
        "%d %s left the model (%s): %s; %d no longer in the CRM",
        len(left),
        object_type,
        settings.on_leave,
        "flagged" if settings.on_leave == "flag" else "cleared",
        outcome.gone,
    )
    return outcome.rejected

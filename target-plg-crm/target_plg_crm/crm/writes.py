"""What crosses the CRM interface on a write: the inputs and the CRM's answer for each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """What the CRM did with one input."""

    CREATED = "created"
    UPDATED = "updated"
    REJECTED = "rejected"


@dataclass(frozen=True)
class UpsertInput:
    """One object to create or update, found by the value of its id property."""

    key: str
    properties: Mapping[str, str]


@dataclass(frozen=True)
class AssociationInput:
    """A contact-company association whose labels must become exactly `labels`.

    `previous_labels` are the labels last written (from the ledger), None when unknown:
    a CRM that adds and removes labels one by one removes those no longer wanted.
    """

    contact_id: str
    company_id: str
    labels: frozenset[str] = field(default_factory=frozenset)
    previous_labels: frozenset[str] | None = None
    #: The role as the product names it (a CRM with a roles picklist writes it as is).
    role: str | None = None
    #: Relationship fields as CRM properties, for a CRM whose associations carry fields.
    properties: Mapping[str, str] = field(default_factory=dict)
    #: False for a membership that ended: deactivated (with `end_date`), not deleted.
    active: bool = True
    end_date: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """The CRM's answer for one input: created, updated or rejected (with a reason)."""

    outcome: Outcome
    crm_id: str | None = None
    code: str | None = None
    reason: str | None = None

    @classmethod
    def rejected(cls, code: str, reason: str) -> WriteResult:
        """A rejection with the CRM's error code and a sentence saying why."""
        return cls(Outcome.REJECTED, None, code, reason)

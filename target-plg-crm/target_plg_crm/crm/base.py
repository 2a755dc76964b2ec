"""The small interface every CRM client implements, and the values that cross it.

A client is written against the published behaviour of one CRM (see
docs/crm-contract.md of the design): upsert by a unique key, properties that must exist
before they are written, associations between object ids. Adding a CRM means one new
module in this package implementing `CRMClient`.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

CONTACTS = "contacts"
COMPANIES = "companies"
ASSOCIATIONS = "associations"

# HubSpot's own check is stricter in places; this is the common denominator that a
# dry run uses to predict rejects and the local CRM uses to enforce them.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_valid_email(value: str) -> bool:
    """Whether `value` is a plausible e-mail address (one @, a dot in the domain)."""
    return bool(_EMAIL.match(value))


#: The label of a contact's association with its primary company.
PRIMARY_LABEL = "primary"


def label_name(role: str) -> str:
    """An association label name from a role: `Billing Owner` -> `billing_owner`."""
    return re.sub(r"[^a-z0-9]+", "_", role.strip().lower()).strip("_")


class Outcome(StrEnum):
    """What the CRM did with one input."""

    CREATED = "created"
    UPDATED = "updated"
    REJECTED = "rejected"


@dataclass(frozen=True)
class PropertyDefinition:
    """A CRM property as HubSpot describes one (name, label, type, fieldType, group)."""

    name: str
    label: str
    type: str  # bool | date | datetime | enumeration | number | string
    field_type: str  # booleancheckbox | checkbox | date | number | select | text | textarea
    group_name: str
    options: tuple[str, ...] = ()
    has_unique_value: bool = False


@dataclass(frozen=True)
class PropertyGroup:
    """The property group our properties live in."""

    name: str
    label: str


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


class CRMError(Exception):
    """A whole request failed (configuration or contract error): the run must stop."""


class CRMClient(abc.ABC):
    """Upserts objects, ensures properties and associates contacts with companies.

    Every method answering per input returns one result per input, in input order
    (a client whose CRM answers out of order re-orders by its trace ids).
    """

    #: Most inputs one upsert/associate call accepts (HubSpot: 100).
    max_batch_size: int = 100
    #: True when the CRM was created empty by this run (the ledger is then stale).
    starts_empty: bool = False

    @property
    @abc.abstractmethod
    def identity(self) -> str:
        """A stable name of the CRM instance written to (the ledger is kept per identity)."""

    @abc.abstractmethod
    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Create the group and missing properties; add missing enumeration options.

        Never removes options nor changes the type of an existing property.
        """

    @abc.abstractmethod
    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Create or update objects found by `id_property` (keys unique in one call)."""

    @abc.abstractmethod
    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """CRM ids of the existing objects among `keys` (a batch read, never a search)."""

    @abc.abstractmethod
    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Create contact-company associations or set their labels to exactly `labels`."""

    def skipped_properties(self, object_type: str) -> Mapping[str, str]:
        """Properties that exist in the CRM with a type our values do not fit.

        Name -> why; their fields are not written (an existing property is never
        overwritten). Known after `ensure_properties`.
        """
        _ = object_type
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook, most clients hold nothing
        """Release connections."""

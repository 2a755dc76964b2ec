"""The small interface every CRM client implements.

A client is written against the published behaviour of one CRM (see
docs/crm-contract.md): upsert by a unique key, properties that must exist before they are
written, associations between object ids. Adding a CRM means one new package next to
`local` and `hubspot` with a client implementing `CRMClient`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence

from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, PropertyPreview, UpdateInput
from target_plg_crm.crm.tasks import Owner, TaskInput, TaskResult, TasksUnsupportedError
from target_plg_crm.crm.usage import CRMUsage
from target_plg_crm.crm.writes import AssociationInput, UpsertInput, WriteResult


class CRMClient(abc.ABC):
    """Upserts objects, ensures properties and associates contacts with companies.

    Every method answering per input returns one result per input, in input order
    (a client whose CRM answers out of order re-orders by its trace ids).
    """

    #: Most inputs one upsert/associate call accepts (HubSpot: 100).
    max_batch_size: int = 100
    #: True when the CRM was created empty by this run (the ledger is then stale).
    starts_empty: bool = False
    #: The contacts' key field: `email` (HubSpot, local) or `user_id` (Salesforce's
    #: external id); the ledger keys contacts by it.
    contact_key_field: str = "email"
    #: True when associations carry fields of their own (Salesforce's
    #: AccountContactRelation): the sink then sends the role and the record's fields.
    association_fields: bool = False
    #: True when a membership missing from a run is to be deactivated (`associate` with
    #: `active=False`) rather than left as it is.
    ends_memberships: bool = False
    #: True when the client creates tasks and reads owners (playbooks' `task`).
    supports_tasks: bool = False

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

    def declare_properties(  # noqa: B027 - optional hook
        self, object_type: str, definitions: Sequence[PropertyDefinition]
    ) -> None:
        """The properties a stream will write, known from its SCHEMA before any record.

        A CRM that must provision every object's fields before the first write (or stop
        before writing anything) collects them here.
        """

    @abc.abstractmethod
    def property_names(self, object_type: str) -> set[str]:
        """Names of the properties `object_type` has in the CRM (read once, never written)."""

    @abc.abstractmethod
    def preview_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> PropertyPreview:
        """What `ensure_properties` would create, extend or skip; reads only."""

    @abc.abstractmethod
    def read_objects(
        self,
        object_type: str,
        id_property: str,
        keys: Sequence[str],
        properties: Sequence[str],
    ) -> dict[str, CRMRecord]:
        """The existing objects among `keys` with `properties` (batch reads, never search).

        An `id_property` the CRM does not have yet means no object has it: nothing is
        read. Properties the CRM does not have are not asked for.
        """

    @abc.abstractmethod
    def list_companies(self, properties: Sequence[str]) -> list[CRMRecord]:
        """Every company with `properties` (paged list, never search), for domain matching."""

    @abc.abstractmethod
    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Update existing objects by CRM id; one result per input, in order."""

    def association_labels(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], frozenset[str]] | None:
        """The labels the CRM holds on these (contact id, company id) pairs.

        None: the CRM sets an association's labels exactly (nothing to reconcile).
        """
        _ = pairs
        return None

    def label_names(self) -> set[str] | None:
        """Names of the association labels the CRM has (None: it needs none created)."""
        return None

    def skipped_properties(self, object_type: str) -> Mapping[str, str]:
        """Properties that exist in the CRM with a type our values do not fit.

        Name -> why; their fields are not written (an existing property is never
        overwritten). Known after `ensure_properties`.
        """
        _ = object_type
        return {}

    def verify_access(self) -> None:  # noqa: B027 - optional hook, a local CRM needs none
        """Check at start-up that the CRM accepts the credentials (raise CRMAccessError)."""

    def usage(self) -> CRMUsage:
        """The calls this client sent so far (none for a CRM without an API)."""
        return CRMUsage()

    def close(self) -> None:  # noqa: B027 - optional hook, most clients hold nothing
        """Release connections."""

    # Playbooks (optional: a CRM without them refuses playbooks with tasks at start-up)

    def list_owners(self) -> list[Owner]:
        """The users who can own records and tasks (read once per run)."""
        raise TasksUnsupportedError(f"{type(self).__name__} has no owners")

    def record_owners(self, object_type: str, crm_ids: Sequence[str]) -> dict[str, str]:
        """The owner id of each object among `crm_ids` that has one (batch reads)."""
        raise TasksUnsupportedError(f"{type(self).__name__} has no record owners")

    def create_tasks(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Create tasks (at most `max_batch_size`); one result per input, in order.

        Raises TaskOutcomeUnknownError when the CRM may have created them without
        saying so: the caller looks them up with `find_tasks` before trying again.
        """
        raise TasksUnsupportedError(f"{type(self).__name__} cannot create tasks")

    def find_tasks(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        """Marker -> CRM id of the tasks among `inputs` that exist (reads, never search)."""
        raise TasksUnsupportedError(f"{type(self).__name__} cannot read tasks")

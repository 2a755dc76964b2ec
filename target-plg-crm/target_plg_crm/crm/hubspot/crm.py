"""`HubSpotCRM`: a HubSpot portal behind the CRM interface, with the fewest calls in mind.

HubSpot's budget is a few requests per second, so the parts (`provisioning`, `objects`,
`associations`) read each list once a run, write in batches of 100 and never search.
Written against the published behaviour in docs/crm-contract.md.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.hubspot.access import check_access
from target_plg_crm.crm.hubspot.associations import HubSpotAssociations
from target_plg_crm.crm.hubspot.client import BATCH_SIZE, HubSpotHTTP, RetryPolicy
from target_plg_crm.crm.hubspot.objects import HubSpotObjects
from target_plg_crm.crm.hubspot.provisioning import HubSpotProvisioning
from target_plg_crm.crm.hubspot.reads import HubSpotReads
from target_plg_crm.crm.hubspot.tasks import HubSpotTasks
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.object_types import CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, PropertyPreview, UpdateInput
from target_plg_crm.crm.tasks import Owner, TaskInput, TaskResult
from target_plg_crm.crm.usage import CRMUsage
from target_plg_crm.crm.writes import AssociationInput, Outcome, UpsertInput, WriteResult
from target_plg_crm.settings import HubSpotSettings


class HubSpotCRM(CRMClient):
    """A HubSpot portal reached with a private app token."""

    supports_tasks = True
    max_batch_size = BATCH_SIZE

    def __init__(
        self, settings: HubSpotSettings, logger: logging.Logger, *, read_only: bool = False
    ) -> None:
        """Prepare the session; nothing is sent before `verify_access`."""
        self.settings = settings
        self.logger = logger
        self.read_only = read_only
        policy = RetryPolicy(
            max_retries=settings.max_retries,
            backoff_base_seconds=settings.backoff_base_seconds,
            timeout_seconds=settings.timeout_seconds,
        )
        self.http = HubSpotHTTP(settings.base_url, settings.access_token, policy, logger)
        self.provisioning = HubSpotProvisioning(self.http, logger)
        self.objects = HubSpotObjects(self.http, self.provisioning)
        self.associations = HubSpotAssociations(self.http, self.provisioning)
        self.reads = HubSpotReads(self.http, self.provisioning)
        self.tasks = HubSpotTasks(self.http)
        # Properties this run created: no object holds a value of them yet.
        self._created: dict[str, set[str]] = {}
        # Contacts this run created: they have no association yet.
        self._created_contacts: set[str] = set()

    @property
    def identity(self) -> str:
        """`hubspot:<base url>#<short hash of the token>`: one ledger per portal.

        The hash keeps two portals behind the same URL apart without revealing the
        token; a rotated token only costs one full rewrite.
        """
        digest = hashlib.sha256(self.settings.access_token.encode()).hexdigest()[:12]
        return f"hubspot:{self.settings.base_url.rstrip('/')}#{digest}"

    def verify_access(self) -> None:
        """The token is accepted and holds every scope the run needs (else CRMAccessError)."""
        check_access(self.http, self.settings.access_token, self.logger, read_only=self.read_only)

    def usage(self) -> CRMUsage:
        """Calls per endpoint, retries and rate-limit waits so far."""
        return self.http.usage()

    def close(self) -> None:
        """Log how many requests the run cost and close the connections."""
        counter = self.http.counter
        self.logger.info(
            "HubSpot: %d requests (%d retries, %d answered 429), %.1f s waited for the rate limit",
            counter.requests,
            counter.retries,
            counter.rate_limited,
            self.http.limiter.waited_seconds,
        )
        self.http.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise CRMError("dry run: the HubSpot client must not write")

    def skipped_properties(self, object_type: str) -> Mapping[str, str]:
        """Existing properties whose type our values do not fit (name -> why)."""
        return self.provisioning.skipped_properties(object_type)

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Create the group and missing properties, add missing options; never retype."""
        self._check_writable()
        before = set(self.provisioning.existing_properties(object_type))
        self.provisioning.ensure_properties(object_type, group, definitions)
        after = set(self.provisioning.existing_properties(object_type))
        self._created.setdefault(object_type, set()).update(after - before)

    def property_names(self, object_type: str) -> set[str]:
        """Names of the portal's properties of `object_type` (listed once a run)."""
        return set(self.provisioning.existing_properties(object_type))

    def preview_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> PropertyPreview:
        """What `ensure_properties` would create, extend or skip; reads only."""
        return self.reads.preview_properties(object_type, group, definitions)

    def read_objects(
        self,
        object_type: str,
        id_property: str,
        keys: Sequence[str],
        properties: Sequence[str],
    ) -> dict[str, CRMRecord]:
        """Existing objects among `keys` with `properties` (batch reads by 100)."""
        if id_property in self._created.get(object_type, set()):
            return {}  # created by this run: no object holds a value yet
        return self.reads.read_objects(object_type, id_property, keys, properties)

    def list_companies(self, properties: Sequence[str]) -> list[CRMRecord]:
        """Every company with `properties`, 100 a page, listed once a run."""
        return self.reads.list_companies(properties)

    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Update existing objects by HubSpot id (batch/update by 100)."""
        self._check_writable()
        waiting = self.provisioning.waiting_for_options(object_type)
        sendable = [
            UpdateInput(item.crm_id, item.key, _without_empty(item.properties, waiting))
            for item in inputs
        ]
        return self.objects.update(object_type, sendable)

    def label_names(self) -> set[str] | None:
        """The portal's user-defined association labels (listed once a run)."""
        return set(self.provisioning.label_types(set()))

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Upsert by e-mail (contacts) or a unique property; one result per input, in order."""
        self._check_writable()
        results = self.objects.upsert(object_type, id_property, self._sendable(object_type, inputs))
        if object_type == CONTACTS:
            self._created_contacts.update(
                r.crm_id for r in results if r.outcome is Outcome.CREATED and r.crm_id
            )
        return results

    def _sendable(self, object_type: str, inputs: Sequence[UpsertInput]) -> list[UpsertInput]:
        """The inputs without the empty values of enumerations not created yet.

        HubSpot answers PROPERTY_DOESNT_EXIST even for an empty value; a property that does
        not exist holds no value either, so leaving it out changes nothing.
        """
        waiting = self.provisioning.waiting_for_options(object_type)
        return [UpsertInput(item.key, _without_empty(item.properties, waiting)) for item in inputs]

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """HubSpot ids of the existing objects among `keys` (batch read, never search)."""
        return self.objects.find_ids(object_type, id_property, keys)

    def association_labels(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], frozenset[str]] | None:
        """The labels HubSpot holds on these pairs (v4 batch read by 1,000 contacts).

        Contacts this run created have no association yet: they are not read.
        """
        known = [p for p in pairs if p[0] not in self._created_contacts]
        return self.associations.read_labels(known)

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Create associations with their labels; archive labels no longer wanted."""
        self._check_writable()
        return self.associations.associate(inputs)

    def list_owners(self) -> list[Owner]:
        """The portal's owners (`GET /crm/v3/owners`, paged)."""
        return self.tasks.list_owners()

    def record_owners(self, object_type: str, crm_ids: Sequence[str]) -> dict[str, str]:
        """`hubspot_owner_id` of the objects that have one."""
        return self.tasks.record_owners(object_type, crm_ids)

    def create_tasks(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Batch create, never repeated blindly (see `tasks`)."""
        return self.tasks.create_tasks(inputs)

    def find_tasks(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        """The tasks among `inputs` the portal holds, by their marker."""
        return self.tasks.find_tasks(inputs)


def _without_empty(properties: Mapping[str, str], waiting: set[str]) -> dict[str, str]:
    """`properties` without the empty values of enumerations not created yet.

    HubSpot answers PROPERTY_DOESNT_EXIST even for an empty value; a property that does
    not exist holds no value either, so leaving it out changes nothing. Upserts and the
    updates of adopted companies both go through here.
    """
    return {k: v for k, v in properties.items() if not (k in waiting and v == "")}

"""`SalesforceCRM`: a Salesforce org behind the CRM interface.

Contacts are keyed by `user_id` (an external id field), Accounts by `account_id`, and
memberships are AccountContactRelations carrying Roles and relationship fields. The
parts (`provisioning`, `objects`, `associations`) share one authenticated HTTP client;
written against the published behaviour in the design's crm-contract.md.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, PropertyPreview, UpdateInput
from target_plg_crm.crm.salesforce.access import verify_sign_in
from target_plg_crm.crm.salesforce.associations import SalesforceAssociations
from target_plg_crm.crm.salesforce.auth import TokenSource
from target_plg_crm.crm.salesforce.client import SalesforceHTTP
from target_plg_crm.crm.salesforce.objects import SalesforceObjects
from target_plg_crm.crm.salesforce.provisioning import SalesforceProvisioning
from target_plg_crm.crm.salesforce.reads import SalesforceReads
from target_plg_crm.crm.salesforce.tasks import SalesforceTasks
from target_plg_crm.crm.tasks import Owner, TaskInput, TaskResult
from target_plg_crm.crm.usage import CRMUsage
from target_plg_crm.crm.writes import AssociationInput, UpsertInput, WriteResult
from target_plg_crm.salesforce_settings import SalesforceSettings


class SalesforceCRM(CRMClient):
    """A Salesforce org reached through a connected app (client credentials or JWT)."""

    #: The sink hands over whole batches: collections of 200 or one Bulk API job are cut here.
    max_batch_size = 10_000
    contact_key_field = "user_id"
    association_fields = True
    supports_tasks = True

    def __init__(
        self,
        settings: SalesforceSettings,
        prefix: str,
        logger: logging.Logger,
        *,
        read_only: bool = False,
        company_id_property: str = "plg_account_id",
    ) -> None:
        """Prepare the session; nothing is sent before `verify_access` signs in."""
        self.settings = settings
        self.company_id_property = company_id_property
        self.logger = logger
        self.read_only = read_only
        self.http = SalesforceHTTP(settings, TokenSource(settings), logger)
        self.provisioning = SalesforceProvisioning(self.http, settings, prefix, logger)
        self.objects = SalesforceObjects(
            self.http, self.provisioning, prefix, logger, bulk_threshold=settings.bulk_threshold
        )
        self.associations = SalesforceAssociations(self.http, self.provisioning, logger)
        self.reads = SalesforceReads(self.http, self.provisioning, settings)
        self.tasks = SalesforceTasks(self.http)
        self.ends_memberships = settings.deactivate_ended_memberships

    def verify_access(self) -> None:
        """Sign in (OAuth) at start-up: refused credentials stop the run before any input.

        Raises CRMAccessError naming the credential setting; an unreachable token
        endpoint stays a CRMError (one line).
        """
        verify_sign_in(self.http, self.settings)

    def usage(self) -> CRMUsage:
        """The requests sent per endpoint, retries (for the run history)."""
        return CRMUsage(calls=Counter(self.http.counter.calls), retries=self.http.counter.retries)

    @property
    def identity(self) -> str:
        """`salesforce:<login url>#<hash of the client id and user>`: one ledger per org."""
        who = f"{self.settings.client_id}|{self.settings.username}"
        digest = hashlib.sha256(who.encode()).hexdigest()[:12]
        return f"salesforce:{self.settings.login_url}#{digest}"

    def close(self) -> None:
        """Log what the run cost and close the connections."""
        counter, usage = self.http.counter, self.http.usage
        self.logger.info(
            "Salesforce: %d requests (%d retries, %d token refreshes); daily API usage %s/%s",
            counter.requests,
            counter.retries,
            counter.token_refreshes,
            usage.used if usage.used is not None else "?",
            usage.limit if usage.limit is not None else "?",
        )
        self.http.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise CRMError("dry run: the Salesforce client must not write")

    def list_owners(self) -> list[Owner]:
        """The org's active Users."""
        return self.tasks.list_owners()

    def record_owners(self, object_type: str, crm_ids: Sequence[str]) -> dict[str, str]:
        """`OwnerId` of the Accounts or Contacts."""
        return self.tasks.record_owners(object_type, crm_ids)

    def create_tasks(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Tasks created once per attempt (see `tasks`)."""
        self._check_writable()
        return self.tasks.create_tasks(inputs)

    def find_tasks(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        """The Tasks among `inputs` the org holds, by their marker."""
        return self.tasks.find_tasks(inputs)

    def declare_properties(
        self, object_type: str, definitions: Sequence[PropertyDefinition]
    ) -> None:
        """Note a stream's properties: every stream's fields are provisioned before any write."""
        self.provisioning.declare(object_type, definitions)

    def skipped_properties(self, object_type: str) -> Mapping[str, str]:
        """Properties not written (a field of another type, read-only, not creatable)."""
        return self.provisioning.skipped.get(object_type, {})

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Create and grant the missing custom fields, or stop with what an admin must do."""
        _ = group  # Salesforce has no property groups; the permission set gathers the fields
        self._check_writable()
        self.provisioning.ensure(object_type, definitions)

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Upsert by external id (Contacts adopted by e-mail first); results in input order."""
        _ = id_property  # Salesforce upserts by the salesforce_*_external_id_field settings
        self._check_writable()
        return self.objects.upsert(object_type, inputs)

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """Ids of the existing records among `keys` (by e-mail, else by external id)."""
        return self.objects.find_ids(object_type, id_property, keys)

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Create or update each membership's AccountContactRelation."""
        self._check_writable()
        return self.associations.associate(inputs)

    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Update records by Id (Accounts adopted by domain get our external id)."""
        self._check_writable()
        return self.objects.update(object_type, inputs)

    def property_names(self, object_type: str) -> set[str]:
        """Our properties with a field, and the standard fields `native_fields` may name."""
        return self.reads.property_names(object_type)

    def preview_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> PropertyPreview:
        """The custom fields a real run would create; reads only (describe calls)."""
        return self.reads.preview(object_type, group, definitions)

    def read_objects(
        self,
        object_type: str,
        id_property: str,
        keys: Sequence[str],
        properties: Sequence[str],
    ) -> dict[str, CRMRecord]:
        """The records among `keys`, read by external id (`id_property` is implied)."""
        _ = id_property  # Salesforce reads by the salesforce_*_external_id_field settings
        return self.reads.read_objects(object_type, keys, properties)

    def list_companies(self, properties: Sequence[str]) -> list[CRMRecord]:
        """Every Account with its Website and external id, for matching by domain."""
        return self.reads.list_companies(self.company_id_property, properties)

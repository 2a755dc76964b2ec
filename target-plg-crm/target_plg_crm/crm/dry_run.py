"""A CRM client that only reads: it logs what a real run would write and writes nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from target_plg_crm.crm.emails import invalid_email, is_valid_email
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.object_types import CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.usage import CRMUsage
from target_plg_crm.crm.writes import AssociationInput, Outcome, UpsertInput, WriteResult

#: Prefix of the made-up ids of objects a dry run would create.
NEW_ID_PREFIX = "new:"


class DryRunCRM(CRMClient):
    """Wraps a read-only client: reads go through, writes are predicted and logged."""

    def __init__(self, inner: CRMClient, logger: logging.Logger) -> None:
        """Predict writes against `inner`, which must only be read from."""
        self.inner = inner
        self.logger = logger
        self.max_batch_size = inner.max_batch_size
        self.starts_empty = inner.starts_empty

    @property
    def identity(self) -> str:
        """The identity of the wrapped CRM."""
        return self.inner.identity

    def verify_access(self) -> None:
        """The wrapped client's check (read scopes only: it is read-only)."""
        self.inner.verify_access()

    def usage(self) -> CRMUsage:
        """The wrapped client's calls (reads only)."""
        return self.inner.usage()

    def close(self) -> None:
        """Close the wrapped client."""
        self.inner.close()

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Log the properties a real run would make sure exist."""
        self.logger.info(
            "dry run: would ensure %d %s properties in group %s: %s",
            len(definitions),
            object_type,
            group.name,
            ", ".join(d.name for d in definitions),
        )

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Predict created/updated from a batch read; predict invalid e-mails."""
        existing = self.inner.find_ids(object_type, id_property, [i.key for i in inputs])
        results = []
        for upsert_input in inputs:
            if object_type == CONTACTS and not is_valid_email(upsert_input.key):
                results.append(invalid_email(upsert_input.key))
                continue
            crm_id = existing.get(upsert_input.key)
            if crm_id is None:
                result = WriteResult(Outcome.CREATED, f"{NEW_ID_PREFIX}{upsert_input.key}")
            else:
                result = WriteResult(Outcome.UPDATED, crm_id)
            self.logger.info(
                "dry run: would %s %s %s=%s: %s",
                "create" if result.outcome is Outcome.CREATED else "update",
                object_type,
                id_property,
                upsert_input.key,
                dict(upsert_input.properties),
            )
            results.append(result)
        return results

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """Read through to the wrapped client."""
        return self.inner.find_ids(object_type, id_property, keys)

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Predict associations: with an object still to be created it is a creation."""
        results = []
        for association in inputs:
            is_new = association.contact_id.startswith(
                NEW_ID_PREFIX
            ) or association.company_id.startswith(NEW_ID_PREFIX)
            outcome = Outcome.CREATED if is_new else Outcome.UPDATED
            self.logger.info(
                "dry run: would associate contact %s with company %s, labels %s",
                association.contact_id,
                association.company_id,
                sorted(association.labels),
            )
            results.append(
                WriteResult(outcome, f"{association.contact_id}-{association.company_id}")
            )
        return results

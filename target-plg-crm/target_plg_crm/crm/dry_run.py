"""A CRM client that only reads: it predicts what a real run would write, into the plan.

Reads go through to the wrapped read-only client; writes are predicted (created with a
made-up `new:<key>` id, updated, rejected for an invalid e-mail), counted as the calls
the real run would make, and noted in the plan (properties, groups, labels). Nothing is
ever sent that writes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from target_plg_crm.crm.association_labels import PRIMARY_LABEL
from target_plg_crm.crm.emails import invalid_email, is_hubspot_email
from target_plg_crm.crm.hubspot.access import TOKEN_INFO_PATH
from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.object_types import CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, PropertyPreview, UpdateInput
from target_plg_crm.crm.tasks import Owner, TaskInput
from target_plg_crm.crm.usage import CRMUsage
from target_plg_crm.crm.writes import AssociationInput, Outcome, UpsertInput, WriteResult
from target_plg_crm.plan import Plan

#: Prefix of the made-up ids of objects a dry run would create.
NEW_ID_PREFIX = "new:"
ASSOCIATIONS_PATH = "/crm/v4/associations/contacts/companies"


def _batches(count: int, size: int) -> int:
    return math.ceil(count / size) if count else 0


class DryRunCRM(CRMClient):
    """Wraps a read-only client: reads go through, writes are predicted into `plan`."""

    def __init__(self, inner: CRMClient, plan: Plan) -> None:
        """Predict writes against `inner`, which must only be read from."""
        self.inner = inner
        self.plan = plan
        self.max_batch_size = inner.max_batch_size
        self.starts_empty = inner.starts_empty
        self.contact_key_field = inner.contact_key_field
        self.association_fields = inner.association_fields
        self.ends_memberships = inner.ends_memberships
        self.supports_tasks = inner.supports_tasks
        self._listed_properties: set[str] = set()
        self._skipped: dict[str, dict[str, str]] = {}
        self._known_ids: dict[tuple[str, str], str] = {}
        self._labels: set[str] | None = None
        self._companies_listed = False
        plan.read_calls = self.plan_read_calls

    def plan_read_calls(self, object_type: str, id_property: str, records: int) -> None:
        """The real run's matching reads (batch reads of `max_batch_size`), once the id
        property exists."""
        if records and id_property in self.inner.property_names(object_type):
            self.plan.add_calls(
                f"POST /crm/v3/objects/{object_type}/batch/read",
                _batches(records, self.max_batch_size),
            )

    @property
    def identity(self) -> str:
        """The identity of the wrapped CRM."""
        return self.inner.identity

    def verify_access(self) -> None:
        """The wrapped client's check (read scopes only: it is read-only); the real run
        makes the same one call first."""
        self.inner.verify_access()
        self.plan.add_calls(f"POST {TOKEN_INFO_PATH}")

    def usage(self) -> CRMUsage:
        """The wrapped client's calls (reads only)."""
        return self.inner.usage()

    def close(self) -> None:
        """Close the wrapped client."""
        self.inner.close()

    def _list_properties(self, object_type: str) -> None:
        if object_type not in self._listed_properties:
            self._listed_properties.add(object_type)
            self.plan.add_calls(f"GET /crm/v3/properties/{object_type}")

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Note the properties, options and group a real run would create."""
        self._list_properties(object_type)
        preview = self.inner.preview_properties(object_type, group, definitions)
        changes = self.plan.property_changes(object_type)
        if preview.problem and preview.problem not in self.plan.stops:
            self.plan.stops.append(preview.problem)
        new = [d for d in preview.missing if d.name not in changes.create]
        if preview.group_missing and changes.group_to_create is None:
            changes.group_to_create = group.name
            self.plan.add_calls(f"POST /crm/v3/properties/{object_type}/groups")
        for definition in new:
            changes.create[definition.name] = definition
        self.plan.add_calls(
            f"POST /crm/v3/properties/{object_type}/batch/create",
            _batches(len(new), self.max_batch_size),
        )
        for name, options in preview.new_options.items():
            known = changes.add_options.setdefault(name, [])
            fresh = [o for o in options if o not in known]
            if fresh:
                known.extend(fresh)
                self.plan.add_calls(f"PATCH /crm/v3/properties/{object_type}/{{name}}")
        for definition in preview.missing:
            if definition.name in changes.create and definition.options:
                changes.create[definition.name] = definition  # with every option seen so far
        changes.skipped.update(preview.skipped)
        self._skipped.setdefault(object_type, {}).update(preview.skipped)

    def declare_properties(
        self, object_type: str, definitions: Sequence[PropertyDefinition]
    ) -> None:
        """Pass the stream's properties on (the wrapped client only notes them)."""
        self.inner.declare_properties(object_type, definitions)

    def skipped_properties(self, object_type: str) -> Mapping[str, str]:
        """Properties a real run would leave alone (another type in the CRM)."""
        return self._skipped.get(object_type, {})

    def property_names(self, object_type: str) -> set[str]:
        """The wrapped CRM's properties (as they are now)."""
        return self.inner.property_names(object_type)

    def preview_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> PropertyPreview:
        """Read through to the wrapped client."""
        return self.inner.preview_properties(object_type, group, definitions)

    def read_objects(
        self,
        object_type: str,
        id_property: str,
        keys: Sequence[str],
        properties: Sequence[str],
    ) -> dict[str, CRMRecord]:
        """Read through; remember the ids found, to predict created vs updated."""
        found = self.inner.read_objects(object_type, id_property, keys, properties)
        for key, record in found.items():
            self._known_ids[(object_type, key)] = record.crm_id
        return found

    def list_companies(self, properties: Sequence[str]) -> list[CRMRecord]:
        """Read through; the real run lists them once (one call per 100 companies)."""
        companies = self.inner.list_companies(properties)
        if not self._companies_listed:
            self._companies_listed = True
            self.plan.add_calls(
                "GET /crm/v3/objects/companies", max(1, _batches(len(companies), 100))
            )
        return companies

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """Read through (the real run reads the same)."""
        self.plan.add_calls(
            f"POST /crm/v3/objects/{object_type}/batch/read",
            _batches(len(keys), self.max_batch_size),
        )
        if id_property not in self.inner.property_names(object_type):
            return {}  # nobody created the id property yet: no object has it
        return self.inner.find_ids(object_type, id_property, keys)

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Predict created/updated from what was read; predict invalid e-mails."""
        results = []
        sent = 0
        for upsert_input in inputs:
            keyed_by_email = object_type == CONTACTS and self.contact_key_field == "email"
            if keyed_by_email and not is_hubspot_email(upsert_input.key):
                results.append(invalid_email(upsert_input.key))
                continue
            sent += 1
            crm_id = self._known_ids.get((object_type, upsert_input.key))
            if crm_id is None:
                results.append(WriteResult(Outcome.CREATED, f"{NEW_ID_PREFIX}{upsert_input.key}"))
            else:
                results.append(WriteResult(Outcome.UPDATED, crm_id))
        self.plan.add_calls(
            f"POST /crm/v3/objects/{object_type}/batch/upsert",
            _batches(sent, self.max_batch_size),
        )
        return results

    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Predict updates by id (adopted companies)."""
        self.plan.add_calls(
            f"POST /crm/v3/objects/{object_type}/batch/update",
            _batches(len(inputs), self.max_batch_size),
        )
        return [WriteResult(Outcome.UPDATED, i.crm_id) for i in inputs]

    def label_names(self) -> set[str] | None:
        """The wrapped CRM's labels."""
        return self.inner.label_names()

    def association_labels(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], frozenset[str]] | None:
        """The wrapped CRM's labels on pairs that exist (not `new:`), its calls counted."""
        known = [p for p in pairs if not any(i.startswith(NEW_ID_PREFIX) for i in p)]
        held = self.inner.association_labels(known)
        if held is None or not known:
            return held
        if self._labels is None:
            self._labels = self.inner.label_names()
            self.plan.add_calls(f"GET {ASSOCIATIONS_PATH}/labels")
        contacts = len({contact for contact, _ in known})
        self.plan.add_calls(f"POST {ASSOCIATIONS_PATH}/batch/read", _batches(contacts, 1000))
        return held

    def _plan_labels(self, inputs: Sequence[AssociationInput]) -> None:
        names = {
            n for a in inputs for n in (*a.labels, *(a.previous_labels or ())) if n != PRIMARY_LABEL
        }
        if not names:
            return
        if self._labels is None:
            self._labels = self.inner.label_names()
            if self._labels is not None:
                self.plan.add_calls(f"GET {ASSOCIATIONS_PATH}/labels")
        if self._labels is None:
            return  # a CRM whose labels need no creation (the local CRM)
        wanted = {n for a in inputs for n in a.labels if n != PRIMARY_LABEL}
        for name in sorted(wanted - self._labels - set(self.plan.labels_to_create)):
            self.plan.labels_to_create.append(name)
            self.plan.add_calls(f"POST {ASSOCIATIONS_PATH}/labels")

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Predict associations: with an object still to be created it is a creation."""
        self._plan_labels(inputs)
        self.plan.add_calls(f"POST {ASSOCIATIONS_PATH}/batch/create", _batches(len(inputs), 100))
        removing = [a for a in inputs if (a.previous_labels or frozenset()) - a.labels]
        self.plan.add_calls(
            f"POST {ASSOCIATIONS_PATH}/batch/labels/archive", _batches(len(removing), 100)
        )
        results = []
        for association in inputs:
            is_new = association.previous_labels is None or any(
                i.startswith(NEW_ID_PREFIX)
                for i in (association.contact_id, association.company_id)
            )
            results.append(
                WriteResult(
                    Outcome.CREATED if is_new else Outcome.UPDATED,
                    f"{association.contact_id}-{association.company_id}",
                )
            )
        return results

    def list_owners(self) -> list[Owner]:
        """The wrapped client's owners (a read)."""
        return self.inner.list_owners()

    def record_owners(self, object_type: str, crm_ids: Sequence[str]) -> dict[str, str]:
        """The wrapped client's record owners (a read; made-up ids have none)."""
        known = [i for i in crm_ids if not i.startswith(NEW_ID_PREFIX)]
        return self.inner.record_owners(object_type, known) if known else {}

    def find_tasks(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        """The wrapped client's tasks (a read)."""
        return self.inner.find_tasks(inputs)

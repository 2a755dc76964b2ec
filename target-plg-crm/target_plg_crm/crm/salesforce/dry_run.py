"""The dry run on Salesforce: the plan counts the requests the real run would send.

`SalesforceDryRunCRM` reads the org through the read-only `SalesforceCRM` and predicts,
per interface call, the real run's requests by their endpoint names (as the run history
names them): describes (one per object a run), Tooling API fields, the permission set
and its grants, SOQL reads (100 keys a query; 200 contacts a query for relations),
sObject Collections of 200, one Bulk API 2.0 job per object type above
`salesforce_bulk_threshold` (its status counted as one poll), and the Metadata API's
read and update when new roles appear, and one more describe of an object whose fields
were created (the wait for them to become visible). Contacts a real run would adopt by e-mail are
found the way it finds them (and planned as `adopt`); relations exist when the org has
them or when they are a contact's primary account (setting `Contact.AccountId` makes
them). Where the real run stops (fields missing and may not be created) the count stops
too. Not predicted: retries, pages of a query beyond 2,000 rows, tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from target_plg_crm.crm.association_labels import PRIMARY_LABEL
from target_plg_crm.crm.dry_run import NEW_ID_PREFIX, DryRunCRM
from target_plg_crm.crm.emails import is_valid_email
from target_plg_crm.crm.object_types import ASSOCIATIONS, COMPANIES, CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, UpdateInput
from target_plg_crm.crm.salesforce.associations import RELATION
from target_plg_crm.crm.salesforce.bulk import JOB_PATH
from target_plg_crm.crm.salesforce.client import COLLECTION_SIZE, chunks, endpoint_name, soql_quote
from target_plg_crm.crm.salesforce.crm import SalesforceCRM
from target_plg_crm.crm.salesforce.fields import SOBJECTS
from target_plg_crm.crm.salesforce.metadata_api import ROLES_VALUE_SET
from target_plg_crm.crm.salesforce.objects import MATCH_QUERY_SIZE
from target_plg_crm.crm.writes import AssociationInput, Outcome, UpsertInput, WriteResult
from target_plg_crm.plan import Plan

QUERY = "GET /query"
COLLECTIONS = "/composite/sobjects"
#: A made-up job id: endpoint names leave ids out, so any id names the same endpoints.
_JOB = f"{JOB_PATH}/750000000000000AAA"


def _batches(count: int, size: int) -> int:
    return -(-count // size) if count > 0 else 0


class SalesforceDryRunCRM(DryRunCRM):
    """Reads a Salesforce org and predicts the real run's requests into `plan`."""

    def __init__(self, inner: SalesforceCRM, plan: Plan) -> None:
        """Predict against `inner` (read-only: only describes and SOQL are sent)."""
        super().__init__(inner, plan)
        self.org = inner
        self.settings = inner.settings
        self._described: set[str] = set()
        self._creating: dict[str, set[str]] = {}  # sobject -> lower-case names created
        self._ready: set[str] = set()
        self._declared: list[str] = []
        self._permission_set: bool | None = None  # exists (or made earlier in the run)
        self._assigned: bool | None = None
        self._roles_added: set[str] = set()
        self._stopped = False  # the real run stops here (fields missing, creation off)

    def _count(self, endpoint: str, count: int = 1) -> None:
        """Requests the real run sends (none after the point where it stops)."""
        if not self._stopped:
            self.plan.add_calls(endpoint, count)

    # Bookkeeping of the real run's state

    def _describe(self, object_type: str) -> None:
        """The real run describes each object once, when it first needs it."""
        sobject = SOBJECTS[object_type]
        if sobject not in self._described:
            self._described.add(sobject)
            self._count(f"GET /sobjects/{sobject}/describe")

    def _field_exists(self, object_type: str, api_name: str) -> bool:
        """Whether the real run would find the field: the org has it, or the run makes it."""
        made = self._creating.get(SOBJECTS[object_type], set())
        described = self.org.provisioning.field_described(object_type, api_name)
        return described is not None or api_name.lower() in made

    def _queries(self, count: int, size: int = MATCH_QUERY_SIZE) -> None:
        self._count(QUERY, _batches(count, size))

    def _collections(self, method: str, path: str, count: int) -> None:
        self._count(f"{method} {path}", _batches(count, COLLECTION_SIZE))

    # Start-up, provisioning

    def verify_access(self) -> None:
        """The sign-in (an OAuth token: not an API request, not counted)."""
        self.inner.verify_access()

    def declare_properties(
        self, object_type: str, definitions: Sequence[PropertyDefinition]
    ) -> None:
        """Note the stream's properties (provisioned together when fields may not be made)."""
        if object_type not in self._declared:
            self._declared.append(object_type)
        self.inner.declare_properties(object_type, definitions)

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """The fields to create, or the stop; the describes, Tooling calls and grants."""
        preview = self.inner.preview_properties(object_type, group, definitions)
        changes = self.plan.property_changes(object_type)
        if preview.problem and preview.problem not in self.plan.stops:
            self.plan.stops.append(preview.problem)
        for definition in preview.missing:
            changes.create[definition.name] = definition
        changes.skipped.update(preview.skipped)
        self._skipped.setdefault(object_type, {}).update(preview.skipped)
        if object_type in self._ready:
            return
        if not self.settings.create_fields:
            for declared in self._declared:
                self._describe(declared)
            self._ready.update(self._declared)
            self._stopped = self._stopped or bool(self.plan.stops)
            return
        self._ready.add(object_type)
        self._describe(object_type)
        sobject = SOBJECTS[object_type]
        missing, _ = self.org.provisioning.preview(object_type, definitions)
        if not missing:
            return
        self._count("POST /tooling/sobjects/CustomField", len(missing))
        self._creating.setdefault(sobject, set()).update(s.api_name.lower() for s in missing)
        self._plan_grant(len(missing))
        # Described again until the new fields show (once, when the grant applies at once).
        self._count(f"GET /sobjects/{sobject}/describe")

    def _plan_grant(self, fields: int) -> None:
        """The permission set (found or made), its FieldPermissions, its assignment."""
        name = self.settings.permission_set
        if self._permission_set is None:
            found = self.org.http.query(
                f"SELECT Id FROM PermissionSet WHERE Name = {soql_quote(name)}"
            )
            self._permission_set = bool(found)
            self._assigned = False
            if found:
                user = soql_quote(str(self.org.http.user_id))
                self._assigned = bool(
                    self.org.http.query(
                        "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = "
                        f"{soql_quote(str(found[0]['Id']))} AND AssigneeId = {user}"
                    )
                )
        self._count(QUERY)  # the permission set by name
        if not self._permission_set:
            self._count("POST /sobjects/PermissionSet")
            self._permission_set = True
        self._count(QUERY)  # its FieldPermissions
        self._collections("POST", COLLECTIONS, fields)
        self._count(QUERY)  # its assignment
        if not self._assigned:
            self._count("POST /sobjects/PermissionSetAssignment")
            self._assigned = True

    # Reads

    def plan_read_calls(self, object_type: str, id_property: str, records: int) -> None:
        """The real run's reads by external id: 100 keys a query, once the field exists."""
        _ = id_property
        if not records:
            return
        self._describe(object_type)
        external = self.org.provisioning.external_id_field(object_type)
        if self._field_exists(object_type, external):
            self._queries(records)

    def property_names(self, object_type: str) -> set[str]:
        """The wrapped org's fields (the real run describes the object for them)."""
        if object_type in (CONTACTS, COMPANIES):
            self._describe(object_type)
        return self.inner.property_names(object_type)

    def list_companies(self, properties: Sequence[str]) -> list[CRMRecord]:
        """Every Account (one query; a page per 2,000 more)."""
        companies = self.inner.list_companies(properties)
        if not self._companies_listed:
            self._companies_listed = True
            self._describe(COMPANIES)
            self._count(QUERY)
            self._count("GET /query/{next}", _batches(len(companies), 2000) - 1)
        return companies

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """Ids by e-mail or external id (100 keys a query)."""
        self._count_find(object_type, id_property, keys)
        external = self.org.provisioning.external_id_field(object_type)
        by_email = object_type == CONTACTS and id_property == "email"
        if not by_email and self.org.provisioning.field_described(object_type, external) is None:
            return {}
        return self.inner.find_ids(object_type, id_property, keys)

    def _count_find(self, object_type: str, id_property: str, keys: Sequence[str]) -> None:
        self._describe(object_type)
        by_email = object_type == CONTACTS and id_property == "email"
        column = "Email" if by_email else self.org.provisioning.external_id_field(object_type)
        if by_email or self._field_exists(object_type, column):
            normal = {k.lower() if by_email else k for k in keys}
            self._queries(len(normal))

    # Writes

    def upsert(
        self, object_type: str, id_property: str, inputs: Sequence[UpsertInput]
    ) -> list[WriteResult]:
        """Predict each record's outcome and the real run's reads and writes."""
        _ = id_property
        self._describe(object_type)
        objects = self.org.objects
        bodies = [objects.body_fields(object_type, item) for item in inputs]
        results: list[WriteResult | None] = [None] * len(inputs)
        adopted: dict[int, str] = {}
        if object_type == CONTACTS:
            for index, body in enumerate(bodies):
                email = body.get("Email")
                if email and not is_valid_email(str(email)):
                    results[index] = WriteResult.rejected(
                        "INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {email}"
                    )
            sent = [i for i in range(len(inputs)) if results[i] is None]
            self._plan_contact_reads(inputs, bodies, sent)
            adopted = self._adoptions(inputs, bodies, sent, results)
        else:
            sent = list(range(len(inputs)))
            self._plan_account_reads(bodies)
        upserts = [i for i in sent if results[i] is None and i not in adopted]
        self._plan_upserts(object_type, len(upserts))
        self._collections("PATCH", COLLECTIONS, len(adopted))
        for index in sent:
            if results[index] is not None:
                continue
            key = inputs[index].key
            crm_id = adopted.get(index) or self._known_ids.get((object_type, key))
            if crm_id is None:
                results[index] = WriteResult(Outcome.CREATED, f"{NEW_ID_PREFIX}{key}")
            else:
                results[index] = WriteResult(Outcome.UPDATED, crm_id)
        return [r or WriteResult.rejected("NO_ANSWER", "") for r in results]

    def _plan_upserts(self, object_type: str, count: int) -> None:
        if count > self.settings.bulk_threshold:
            external = self.org.provisioning.external_id_field(object_type)
            for method, path in (
                ("POST", JOB_PATH),
                ("PUT", f"{_JOB}/batches"),
                ("PATCH", _JOB),
                ("GET", _JOB),
                ("GET", f"{_JOB}/successfulResults/"),
                ("GET", f"{_JOB}/failedResults/"),
            ):
                self._count(endpoint_name(method, path))
            _ = external
            return
        external = self.org.provisioning.external_id_field(object_type)
        self._collections("PATCH", f"{COLLECTIONS}/{SOBJECTS[object_type]}/{external}", count)

    def _plan_contact_reads(
        self, inputs: Sequence[UpsertInput], bodies: list[dict[str, Any]], sent: list[int]
    ) -> None:
        """Primary accounts by external id, then the contacts by key and by e-mail."""
        primaries = {
            inputs[i].properties.get(f"{self.org.objects.prefix}primary_account_id") or ""
            for i in sent
        } - {""}
        if primaries:
            self._count_find(COMPANIES, "", sorted(primaries))
        emails = {str(bodies[i]["Email"]).lower() for i in sent if bodies[i].get("Email")}
        self._queries(len(sent))
        self._queries(len(emails))

    def _adoptions(
        self,
        inputs: Sequence[UpsertInput],
        bodies: list[dict[str, Any]],
        sent: list[int],
        results: list[WriteResult | None],
    ) -> dict[int, str]:
        """Contacts the real run adopts by e-mail (index -> Id); several: AMBIGUOUS_EMAIL."""
        external = self.org.provisioning.external_id_field(CONTACTS)
        keys = [inputs[i].key for i in sent]
        emails = sorted({str(bodies[i]["Email"]).lower() for i in sent if bodies[i].get("Email")})
        by_key, by_email = self.org.objects.existing_contacts(keys, emails)
        adopted: dict[int, str] = {}
        for index in sent:
            key = inputs[index].key
            if key in by_key:
                self._known_ids[(CONTACTS, key)] = str(by_key[key]["Id"])
                continue
            email = str(bodies[index].get("Email") or "").lower()
            free = [r for r in by_email.get(email, []) if not r.get(external)] if email else []
            if len(free) > 1:
                ids = ", ".join(sorted(str(r["Id"]) for r in free))
                results[index] = WriteResult.rejected(
                    "AMBIGUOUS_EMAIL",
                    f"{len(free)} existing Contacts have the email {email} ({ids})",
                )
            elif free:
                adopted[index] = str(free[0]["Id"])
        return adopted

    def _plan_account_reads(self, bodies: list[dict[str, Any]]) -> None:
        """New Accounts named, `if_empty` Name/Website checked: one read per 100."""
        columns = [
            c
            for c in sorted(self.settings.if_empty_fields.get(COMPANIES, ()))
            if self.org.provisioning.field_described(COMPANIES, c)
        ]
        wanted = [b for b in bodies if "Name" not in b or any(c in b for c in columns)]
        self._queries(len(wanted))

    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Accounts adopted by domain: their `if_empty` fields read by Id, then updated."""
        self._describe(object_type)
        columns = [
            c
            for c in sorted(self.settings.if_empty_fields.get(object_type, ()))
            if self.org.provisioning.field_described(object_type, c)
        ]
        bodies = [
            self.org.objects.body_fields(object_type, UpsertInput(i.key, i.properties))
            for i in inputs
        ]
        self._queries(len([b for b in bodies if any(c in b for c in columns)]))
        self._collections("PATCH", COLLECTIONS, len(inputs))
        return [WriteResult(Outcome.UPDATED, i.crm_id) for i in inputs]

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Relations to update (they exist) or create; new roles; their reads."""
        self._describe(ASSOCIATIONS)
        if not self.org.provisioning.associations_available():
            return self.org.associations.associate(inputs)  # reads nothing, writes nothing
        self._plan_roles(inputs)
        contacts = {a.contact_id for a in inputs}
        self._queries(len(contacts), COLLECTION_SIZE)
        existing = self._existing_relations(sorted(contacts))
        updates = creates = 0
        results = []
        for association in inputs:
            pair = (association.contact_id, association.company_id)
            exists = pair in existing or PRIMARY_LABEL in association.labels
            name = f"{association.contact_id}-{association.company_id}"
            if exists:
                updates += 1
                results.append(WriteResult(Outcome.UPDATED, existing.get(pair) or name))
            elif association.active:
                creates += 1
                results.append(WriteResult(Outcome.CREATED, name))
            else:
                results.append(WriteResult(Outcome.UPDATED, None))
        self._collections("PATCH", COLLECTIONS, updates)
        self._collections("POST", COLLECTIONS, creates)
        return results

    def _existing_relations(self, contact_ids: Sequence[str]) -> dict[tuple[str, str], str]:
        """The org's relations of contacts it has (new ones have none yet)."""
        known = [c for c in contact_ids if not c.startswith(NEW_ID_PREFIX)]
        found: dict[tuple[str, str], str] = {}
        for chunk in chunks(known, COLLECTION_SIZE):
            ids = ", ".join(soql_quote(i) for i in chunk)
            for row in self.org.http.query(
                f"SELECT Id, ContactId, AccountId FROM {RELATION} WHERE ContactId IN ({ids})"
            ):
                found[(str(row["ContactId"]), str(row["AccountId"]))] = str(row["Id"])
        return found

    def _plan_roles(self, inputs: Sequence[AssociationInput]) -> None:
        """New roles: the Metadata API's read and update (`salesforce_add_role_values`)."""
        missing = [
            r for r in self.org.associations.missing_roles(inputs) if r not in self._roles_added
        ]
        if not missing or not self.settings.add_role_values:
            return
        self._roles_added.update(missing)
        changes = self.plan.property_changes(ASSOCIATIONS)
        changes.add_options.setdefault(f"Roles ({ROLES_VALUE_SET})", []).extend(missing)
        self._count("POST /services/Soap/m", 2)

"""AccountContactRelation: one per membership, with Roles and the relationship fields.

The relations of the contacts at hand are read first (SOQL, 200 contacts per query),
because setting `Contact.AccountId` already created the direct one: an existing relation
is updated by its Id (Roles, IsActive, fields), a missing one is created; both through
sObject Collections (200 records per call, `allOrNone: false`). A create refused with
DUPLICATE_VALUE (made meanwhile, e.g. a create that was applied but not answered) is read
back and updated. Without "Contacts to Multiple Accounts" the org has no relation object:
the direct relation is `Contact.AccountId` itself, indirect ones are reported and
rejected (they are retried once the feature is on).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from target_plg_crm.crm.association_labels import PRIMARY_LABEL
from target_plg_crm.crm.object_types import ASSOCIATIONS
from target_plg_crm.crm.salesforce.client import SalesforceHTTP, chunks, soql_quote
from target_plg_crm.crm.salesforce.errors import (
    RETRYABLE_RECORD_CODES,
    error_summary,
    response_json,
    unexpected,
)
from target_plg_crm.crm.salesforce.fields import SOBJECTS, json_value
from target_plg_crm.crm.salesforce.metadata_api import (
    MAX_VALUE_LENGTH,
    ROLES_VALUE_SET,
    MetadataAPIError,
    SalesforceMetadataAPI,
)
from target_plg_crm.crm.salesforce.provisioning import SalesforceProvisioning
from target_plg_crm.crm.writes import AssociationInput, Outcome, WriteResult

RELATION = SOBJECTS[ASSOCIATIONS]
RECORD_ATTEMPTS = 4
Pair = tuple[str, str]


def split_roles(role: str | None) -> list[str]:
    """The values of a role (`;`-separated, as a multi-select picklist holds them)."""
    return [r.strip() for r in (role or "").split(";") if r.strip()]


class SalesforceAssociations:
    """Creates and updates one org's AccountContactRelations."""

    def __init__(
        self, http: SalesforceHTTP, provisioning: SalesforceProvisioning, logger: logging.Logger
    ) -> None:
        """Write through `http`; relationship fields come from `provisioning`."""
        self.http = http
        self.provisioning = provisioning
        self.logger = logger
        self._reported_off = False
        self._last_refusal: dict[int, tuple[str, str]] = {}
        self.metadata = SalesforceMetadataAPI(http, logger)
        #: Role values Salesforce refused to add this run (not asked for again).
        self.refused_roles: set[str] = set()

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Make each membership's relation carry its role and fields; one result per input."""
        if not self.provisioning.associations_available():
            return self._without_relations(inputs)
        self._last_refusal.clear()
        self.add_missing_roles(inputs)
        existing = self._read([a.contact_id for a in inputs])
        results: list[WriteResult | None] = [None] * len(inputs)
        pending = list(range(len(inputs)))
        attempt = 0
        while pending:
            retry = self._write(inputs, pending, existing, results)
            if not retry:
                break
            attempt += 1
            invisible = all(self._last_refusal.get(i, ("",))[0] == "INVALID_FIELD" for i in retry)
            waiting = invisible and self.http.may_wait_for_fields(attempt - 1)
            if attempt >= RECORD_ATTEMPTS and not waiting:
                for index in retry:
                    code, message = self._last_refusal.get(index, ("NO_ANSWER", ""))
                    results[index] = results[index] or WriteResult.rejected(
                        code, f"{message} (still refused after {attempt} attempts)"
                    )
                break
            time.sleep(self.http.backoff(attempt - 1))
            existing.update(self._read([inputs[i].contact_id for i in retry]))
            pending = retry
        unanswered = WriteResult.rejected("NO_ANSWER", "Salesforce did not answer")
        return [r or unanswered for r in results]

    def missing_roles(self, inputs: Sequence[AssociationInput]) -> list[str]:
        """Roles of active memberships the restricted Roles picklist lacks (in order seen)."""
        roles = (self.provisioning.field_described(ASSOCIATIONS, "Roles") or {}).copy()
        if not roles.get("restrictedPicklist"):
            return []
        allowed = {
            str(p.get("value")).casefold()
            for p in roles.get("picklistValues") or []
            if p.get("active", True)
        }
        wanted = [r for a in inputs if a.active for r in split_roles(a.role)]
        return [
            r
            for r in dict.fromkeys(wanted)
            if r.casefold() not in allowed and len(r) <= MAX_VALUE_LENGTH
        ]

    def add_missing_roles(self, inputs: Sequence[AssociationInput]) -> None:
        """With `salesforce_add_role_values`, add the roles Roles lacks to its value set.

        A refusal (e.g. no Modify Metadata permission) is logged once; the relations with
        those roles are then rejected by Salesforce with a reason naming the value.
        """
        if not self.provisioning.settings.add_role_values:
            return
        missing = [r for r in self.missing_roles(inputs) if r not in self.refused_roles]
        if not missing:
            return
        try:
            self.metadata.add_standard_values(ROLES_VALUE_SET, missing)
        except MetadataAPIError as error:
            self.refused_roles.update(missing)
            self.logger.warning(
                "Salesforce: roles %s were not added to AccountContactRelation.Roles (%s); "
                "their relations are rejected until an admin adds them",
                missing,
                error,
            )
            return
        described = self.provisioning.field_described(ASSOCIATIONS, "Roles")
        if described is not None:
            values = described.setdefault("picklistValues", [])
            values.extend(
                {"value": r, "label": r, "active": True, "defaultValue": False} for r in missing
            )

    def _without_relations(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        if not self._reported_off:
            self._reported_off = True
            self.logger.warning(
                'Salesforce: this org has no AccountContactRelation ("Contacts to Multiple '
                'Accounts" is off): each contact keeps only its primary account '
                "(Contact.AccountId); memberships in other accounts are rejected until it is on"
            )
        results = []
        for association in inputs:
            if PRIMARY_LABEL in association.labels:
                pair = f"{association.contact_id}-{association.company_id}"
                results.append(WriteResult(Outcome.UPDATED, pair))
            else:
                results.append(
                    WriteResult.rejected(
                        "CONTACTS_TO_MULTIPLE_ACCOUNTS_OFF",
                        f"contact {association.contact_id} in account {association.company_id} "
                        "is not its primary account, and the org has no AccountContactRelation",
                    )
                )
        return results

    def _read(self, contact_ids: Sequence[str]) -> dict[Pair, dict[str, Any]]:
        """Existing relations of these contacts, by (ContactId, AccountId)."""
        found: dict[Pair, dict[str, Any]] = {}
        for chunk in chunks(sorted(set(contact_ids))):
            ids = ", ".join(soql_quote(i) for i in chunk)
            for row in self.http.query(
                "SELECT Id, ContactId, AccountId, IsDirect, IsActive, Roles "
                f"FROM {RELATION} WHERE ContactId IN ({ids})"
            ):
                found[(str(row.get("ContactId")), str(row.get("AccountId")))] = row
        return found

    def _fields(self, association: AssociationInput) -> dict[str, Any]:
        if not association.active:
            # Ended: the role and fields stay as history; only the state and date change.
            return {"IsActive": False, "EndDate": association.end_date}
        body: dict[str, Any] = {}
        for name, value in association.properties.items():
            target = self.provisioning.target(ASSOCIATIONS, name)
            if target is not None:
                body[target.api_name] = json_value(target.kind, value)
        body["Roles"] = ";".join(dict.fromkeys(split_roles(association.role))) or None
        body.update(IsActive=True, EndDate=None)
        return body

    def _write(
        self,
        inputs: Sequence[AssociationInput],
        indices: list[int],
        existing: dict[Pair, dict[str, Any]],
        results: list[WriteResult | None],
    ) -> list[int]:
        """Update the relations that exist, create the others; returns indices to retry."""
        updates, creates = [], []
        for index in indices:
            association = inputs[index]
            row = existing.get((association.contact_id, association.company_id))
            body = {"attributes": {"type": RELATION}, **self._fields(association)}
            if row is not None:
                updates.append((index, {**body, "Id": row["Id"]}))
            elif association.active:
                body.update(AccountId=association.company_id, ContactId=association.contact_id)
                creates.append((index, body))
            else:
                results[index] = WriteResult(Outcome.UPDATED, None)  # ended, never existed
        retry: list[int] = []
        for method, batch in (("PATCH", updates), ("POST", creates)):
            for chunk in chunks(batch):
                retry += self._call(method, list(chunk), inputs, results)
        return retry

    def _call(
        self,
        method: str,
        batch: list[tuple[int, dict[str, Any]]],
        inputs: Sequence[AssociationInput],
        results: list[WriteResult | None],
    ) -> list[int]:
        response = self.http.request(
            method, "/composite/sobjects", {"allOrNone": False, "records": [b for _, b in batch]}
        )
        answer = response_json(response)
        if response.status_code == 400:
            code, message = error_summary(answer, 400)
            if code == "INVALID_FIELD":  # a field granted moments ago, not visible yet
                self._last_refusal.update({index: (code, message) for index, _ in batch})
                return [index for index, _ in batch]
            for index, _ in batch:
                results[index] = WriteResult.rejected(code, message)
            return []
        if response.status_code != 200 or not isinstance(answer, list):
            raise unexpected(response, f"write {RELATION} records")
        retry = []
        for (index, body), result in zip(batch, answer, strict=False):
            if not isinstance(result, dict):
                continue
            if result.get("success"):
                created = method == "POST"
                outcome = Outcome.CREATED if created else Outcome.UPDATED
                results[index] = WriteResult(outcome, str(result.get("id") or body.get("Id")))
                continue
            code, message = error_summary(result.get("errors"), 400)
            if code in RETRYABLE_RECORD_CODES or (code == "DUPLICATE_VALUE" and method == "POST"):
                self._last_refusal[index] = (code, message)
                retry.append(index)  # read back and updated on the next round
            else:
                association = inputs[index]
                results[index] = WriteResult.rejected(
                    code,
                    f"{message} (contact {association.contact_id}, account "
                    f"{association.company_id})",
                )
        return retry

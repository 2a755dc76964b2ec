"""Contact-company associations in HubSpot (v4): created with their labels, old labels archived.

Every association carries HubSpot's unlabeled type and, for the primary company, its
Primary type; a role is a USER_DEFINED label (see `provisioning`). A changed label costs
a create (new labels) and, when a label went away, a labels/archive call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from target_plg_crm.crm.association_labels import PRIMARY_LABEL
from target_plg_crm.crm.hubspot.client import HubSpotHTTP, chunks
from target_plg_crm.crm.hubspot.errors import (
    context_values,
    error_summary,
    response_body,
    unexpected,
)
from target_plg_crm.crm.hubspot.provisioning import (
    ASSOCIATION_PATH,
    USER_DEFINED,
    HubSpotProvisioning,
)
from target_plg_crm.crm.writes import AssociationInput, Outcome, WriteResult

#: HubSpot-defined contact -> company association types.
HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
UNLABELED_TYPE = 279
PRIMARY_TYPE = 1
#: Type pair (HubSpot category, type id) of one association label.
AssociationType = tuple[str, int]
#: Most contacts one v4 association batch read takes.
READ_BATCH_SIZE = 1000


class HubSpotAssociations:
    """Creates and relabels one portal's contact-company associations."""

    def __init__(self, http: HubSpotHTTP, provisioning: HubSpotProvisioning) -> None:
        """Write through `http`; label type ids come from `provisioning`."""
        self.http = http
        self.provisioning = provisioning

    def read_labels(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], frozenset[str]]:
        """The labels HubSpot holds on each (contact id, company id) pair that exists.

        One v4 batch read per 1,000 contacts (more pages of a contact's companies
        follow `paging.next.after`); user-defined labels by name, the Primary type as
        `primary`. A pair without an association is absent from the answer.
        """
        wanted = {(c, co) for c, co in pairs if c.isdigit() and co.isdigit()}
        if not wanted:
            return {}
        names = {type_id: name for name, type_id in self.provisioning.label_types(set()).items()}
        held: dict[tuple[str, str], frozenset[str]] = {}
        pending = [{"id": c} for c in sorted({c for c, _ in wanted}, key=int)]
        while pending:
            chunk, pending = pending[:READ_BATCH_SIZE], pending[READ_BATCH_SIZE:]
            response = self.http.request(
                "POST", f"{ASSOCIATION_PATH}/batch/read", {"inputs": chunk}
            )
            if response.status_code not in (200, 207):
                raise unexpected(response, "read contact-company associations")
            for result in response_body(response).get("results") or []:
                contact = str((result.get("from") or {}).get("id"))
                for target in result.get("to") or []:
                    pair = (contact, str(target.get("toObjectId")))
                    if pair in wanted:
                        held[pair] = held.get(pair, frozenset()) | _label_names(
                            target.get("associationTypes") or [], names
                        )
                after = ((result.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    pending.append({"id": contact, "after": str(after)})
        return held

    def _types(self, labels: frozenset[str], type_ids: Mapping[str, int]) -> list[AssociationType]:
        types: list[AssociationType] = []
        for name in sorted(labels):
            if name == PRIMARY_LABEL:
                types.append((HUBSPOT_DEFINED, PRIMARY_TYPE))
            elif name in type_ids:
                types.append((USER_DEFINED, type_ids[name]))
        return types

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Create associations with their labels; archive labels no longer wanted."""
        # Only labels still wanted are created; old ones are archived if HubSpot has them.
        wanted_labels = {n for a in inputs for n in a.labels if n != PRIMARY_LABEL}
        old_labels = {n for a in inputs for n in a.previous_labels or () if n != PRIMARY_LABEL}
        # No user-defined label in sight: spare the listing of labels.
        type_ids = (
            self.provisioning.label_types(wanted_labels) if wanted_labels | old_labels else {}
        )
        results: list[WriteResult | None] = [None] * len(inputs)
        creatable: list[int] = []
        for index, association in enumerate(inputs):
            lacking = sorted(
                n for n in association.labels if n != PRIMARY_LABEL and n not in type_ids
            )
            if not (association.contact_id.isdigit() and association.company_id.isdigit()):
                results[index] = WriteResult.rejected(
                    "INVALID_ID",
                    f"contact {association.contact_id} / company {association.company_id} "
                    "are not HubSpot ids",
                )
            elif lacking:
                results[index] = WriteResult.rejected(
                    "LABEL_NOT_AVAILABLE", f"association labels {lacking} could not be created"
                )
            else:
                creatable.append(index)
        for chunk in chunks(creatable):
            self._create_associations(inputs, list(chunk), type_ids, results)
        archivable = []
        for i in creatable:
            result = results[i]
            if (
                result is not None
                and result.outcome is not Outcome.REJECTED
                and self._removed(inputs[i], type_ids)
            ):
                archivable.append(i)
        for chunk in chunks(archivable):
            self._archive_labels(inputs, list(chunk), type_ids, results)
        return [r or WriteResult.rejected("NO_ANSWER", "HubSpot did not answer") for r in results]

    def _removed(
        self, association: AssociationInput, type_ids: Mapping[str, int]
    ) -> list[AssociationType]:
        """Label types the association had and must lose."""
        gone = (association.previous_labels or frozenset()) - association.labels
        return self._types(frozenset(gone), type_ids)

    def _associationresponse_body(
        self, association: AssociationInput, types: Sequence[AssociationType]
    ) -> dict[str, Any]:
        return {
            "from": {"id": association.contact_id},
            "to": {"id": association.company_id},
            "types": [
                {"associationCategory": category, "associationTypeId": type_id}
                for category, type_id in types
            ],
        }

    def _create_associations(
        self,
        inputs: Sequence[AssociationInput],
        indices: list[int],
        type_ids: Mapping[str, int],
        results: list[WriteResult | None],
    ) -> None:
        body = {
            "inputs": [
                self._associationresponse_body(
                    inputs[i],
                    [(HUBSPOT_DEFINED, UNLABELED_TYPE), *self._types(inputs[i].labels, type_ids)],
                )
                for i in indices
            ]
        }
        response = self.http.request("POST", f"{ASSOCIATION_PATH}/batch/create", body)
        answer = response_body(response)
        status = response.status_code
        by_pair = {(inputs[i].contact_id, inputs[i].company_id): i for i in indices}
        if status in (200, 201, 207):
            done: set[int] = set()
            for result in answer.get("results") or []:
                if not isinstance(result, dict):
                    continue
                pair = (str(result.get("fromObjectId")), str(result.get("toObjectId")))
                if pair in by_pair:
                    done.add(by_pair[pair])
            if status != 207:
                done = set(indices)  # complete: every input was applied
            for i in done:
                outcome = Outcome.CREATED if inputs[i].previous_labels is None else Outcome.UPDATED
                results[i] = WriteResult(outcome, f"{inputs[i].contact_id}-{inputs[i].company_id}")
            for error in answer.get("errors") or []:
                if isinstance(error, dict):
                    self._reject_association_error(error, inputs, indices, results)
            left = [i for i in indices if results[i] is None]
            if left:
                self._split_associations(inputs, left, type_ids, results, answer, status)
            return
        if status in (400, 404, 409, 422):
            self._split_associations(inputs, indices, type_ids, results, answer, status)
            return
        raise unexpected(response, "create associations")

    @staticmethod
    def _reject_association_error(
        error: Mapping[str, Any],
        inputs: Sequence[AssociationInput],
        indices: list[int],
        results: list[WriteResult | None],
    ) -> None:
        code, message = error_summary(error, 400)
        missing_contacts = set(context_values(error, "fromObjectId"))
        missing_companies = set(context_values(error, "toObjectId"))
        ids = set(context_values(error, "ids"))
        for i in indices:
            if results[i] is not None:
                continue
            contact, company = inputs[i].contact_id, inputs[i].company_id
            if contact in missing_contacts or (contact in ids and "contact" in message.lower()):
                results[i] = WriteResult.rejected("CONTACT_NOT_FOUND", message)
            elif company in missing_companies or (company in ids and "compan" in message.lower()):
                results[i] = WriteResult.rejected("COMPANY_NOT_FOUND", message)
            elif contact in ids or company in ids:
                results[i] = WriteResult.rejected(code, message)

    def _split_associations(
        self,
        inputs: Sequence[AssociationInput],
        indices: list[int],
        type_ids: Mapping[str, int],
        results: list[WriteResult | None],
        answer: Mapping[str, Any],
        status: int,
    ) -> None:
        if len(indices) == 1:
            code, message = error_summary(answer, status)
            lowered = message.lower()
            if "not" in lowered and "contact" in lowered:
                code = "CONTACT_NOT_FOUND"
            elif "not" in lowered and "compan" in lowered:
                code = "COMPANY_NOT_FOUND"
            results[indices[0]] = WriteResult.rejected(code, message)
            return
        middle = len(indices) // 2
        for half in (indices[:middle], indices[middle:]):
            self._create_associations(inputs, half, type_ids, results)

    def _archive_labels(
        self,
        inputs: Sequence[AssociationInput],
        indices: list[int],
        type_ids: Mapping[str, int],
        results: list[WriteResult | None],
    ) -> None:
        body = {
            "inputs": [
                self._associationresponse_body(inputs[i], self._removed(inputs[i], type_ids))
                for i in indices
            ]
        }
        response = self.http.request("POST", f"{ASSOCIATION_PATH}/batch/labels/archive", body)
        if response.status_code in (200, 204, 207):
            return
        # The new labels are on, the old ones are not off: retry next run.
        code, message = error_summary(response_body(response), response.status_code)
        for i in indices:
            results[i] = WriteResult.rejected(code, f"old labels not removed: {message}")


def _label_names(types: Sequence[Mapping[str, Any]], names: Mapping[int, str]) -> frozenset[str]:
    """Our label names among one association's types (unknown user labels left out)."""
    held: set[str] = set()
    for kind in types:
        type_id = kind.get("typeId")
        if kind.get("category") == HUBSPOT_DEFINED and type_id == PRIMARY_TYPE:
            held.add(PRIMARY_LABEL)
        elif kind.get("category") == USER_DEFINED and isinstance(type_id, int):
            name = names.get(type_id)
            if name is not None:
                held.add(name)
    return frozenset(held)

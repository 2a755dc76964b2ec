"""Contacts and companies in HubSpot: batch upserts by key and batch reads of their ids.

Upserts go in batches of up to 100 with a trace id per input, so one bad record gives a
207 naming it instead of failing the batch; results are matched back by trace id or
key, never by position (HubSpot does not keep the order). A refused batch is split until
the bad record stands alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from target_plg_crm.crm.emails import invalid_email, is_hubspot_email
from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.hubspot.client import HubSpotHTTP, chunks
from target_plg_crm.crm.hubspot.errors import (
    context_values,
    error_summary,
    response_body,
    unexpected,
)
from target_plg_crm.crm.hubspot.provisioning import HubSpotProvisioning
from target_plg_crm.crm.object_types import CONTACTS
from target_plg_crm.crm.records import UpdateInput
from target_plg_crm.crm.writes import Outcome, UpsertInput, WriteResult


def code_of(answer: Mapping[str, Any], status: int) -> str:
    """The error code of an answer."""
    return error_summary(answer, status)[0]


def _named_emails(message: str, inputs: Sequence[UpsertInput], indices: list[int]) -> list[int]:
    """The inputs whose e-mail an error message names (as a whole address)."""
    lowered = message.lower()
    return [
        i
        for i in indices
        if re.search(rf"(?<![\w.+'-]){re.escape(inputs[i].key.lower())}(?![\w.-])", lowered)
    ]


class HubSpotObjects:
    """Upserts and batch reads of one portal's contacts and companies."""

    def __init__(self, http: HubSpotHTTP, provisioning: HubSpotProvisioning) -> None:
        """Write through `http`; forget `provisioning`'s property list when HubSpot says so."""
        self.http = http
        self.provisioning = provisioning

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Upsert by e-mail (contacts) or a unique property; one result per input, in order."""
        results: list[WriteResult | None] = [None] * len(inputs)
        sendable: list[int] = []
        for index, item in enumerate(inputs):
            if object_type == CONTACTS and not is_hubspot_email(item.key):
                # HubSpot would refuse it too: spare the batch a failure.
                results[index] = invalid_email(item.key)
            else:
                sendable.append(index)
        for chunk in chunks(sendable):
            self._upsert_batch(object_type, id_property, inputs, list(chunk), results)
        return [r or WriteResult.rejected("NO_ANSWER", "HubSpot did not answer") for r in results]

    def _key_of(self, object_type: str, id_property: str, result: Mapping[str, Any]) -> str | None:
        properties = result.get("properties") or {}
        value = properties.get("email" if object_type == CONTACTS else id_property)
        if value is None:
            return None
        return str(value).lower() if object_type == CONTACTS else str(value)

    def _upsert_batch(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
        indices: list[int],
        results: list[WriteResult | None],
    ) -> None:
        body = {
            "inputs": [
                {
                    "id": inputs[i].key,
                    "idProperty": id_property,
                    "properties": dict(inputs[i].properties),
                    "objectWriteTraceId": str(i),
                }
                for i in indices
            ]
        }
        response = self.http.request("POST", f"/crm/v3/objects/{object_type}/batch/upsert", body)
        answer = response_body(response)
        status = response.status_code
        if status in (200, 201, 207):
            left = self._match_upsert_answer(
                object_type, id_property, inputs, indices, answer, results
            )
            if left:
                self._resend_or_reject(
                    object_type, id_property, inputs, left, results, answer, status
                )
            return
        code, message = error_summary(answer, status)
        if status == 400 and "non-unique" in message:
            raise CRMError(f"HubSpot cannot upsert {object_type} by {id_property!r}: {message}")
        if status == 400 and code == "PROPERTY_DOESNT_EXIST":
            # Every record of the batch carries the property: reject them all (they
            # are retried next run, when the property list is read again).
            self.provisioning.forget_properties(object_type)
            for i in indices:
                results[i] = WriteResult.rejected(code, message)
            return
        if status in (400, 409, 422):
            self._resend_or_reject(
                object_type, id_property, inputs, indices, results, answer, status
            )
            return
        raise unexpected(response, f"upsert {object_type}")

    def _match_upsert_answer(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
        indices: list[int],
        answer: Mapping[str, Any],
        results: list[WriteResult | None],
    ) -> list[int]:
        """Fill `results` from a 200/207 answer; returns the indices it did not name."""
        sent = {str(i): i for i in indices}
        by_key = {
            (inputs[i].key.lower() if object_type == CONTACTS else inputs[i].key): i
            for i in indices
        }
        unmatched: list[Mapping[str, Any]] = []
        for result in answer.get("results") or []:
            if not isinstance(result, dict):
                continue
            trace = result.get("objectWriteTraceId")
            index = sent.get(str(trace)) if trace is not None else None
            if index is None:
                key = self._key_of(object_type, id_property, result)
                index = by_key.get(key) if key is not None else None
            if index is None or results[index] is not None:
                unmatched.append(result)
                continue
            outcome = Outcome.CREATED if result.get("new") else Outcome.UPDATED
            results[index] = WriteResult(outcome, str(result.get("id")))
        for error in answer.get("errors") or []:
            if not isinstance(error, dict):
                continue
            named = [sent[t] for t in context_values(error, "objectWriteTraceId") if t in sent]
            if not named:
                named = [by_key[k] for k in context_values(error, "ids") if k in by_key]
            code, message = error_summary(error, 400)
            for index in named:
                if results[index] is None:
                    results[index] = WriteResult.rejected(code, message)
        left = [i for i in indices if results[i] is None]
        if left and unmatched:
            self._match_by_reading(object_type, id_property, inputs, left, unmatched, results)
        return [i for i in left if results[i] is None]

    def _match_by_reading(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
        left: list[int],
        unmatched: list[Mapping[str, Any]],
        results: list[WriteResult | None],
    ) -> None:
        """Results naming neither trace id nor key: never trust their order, read the ids."""
        if len(left) == 1 and len(unmatched) == 1:
            pairs = {left[0]: unmatched[0]}
        else:
            by_id = {str(r.get("id")): r for r in unmatched}
            ids = self.find_ids(object_type, id_property, [inputs[i].key for i in left])
            pairs = {i: by_id[ids[inputs[i].key]] for i in left if ids.get(inputs[i].key) in by_id}
        for index, result in pairs.items():
            outcome = Outcome.CREATED if result.get("new") else Outcome.UPDATED
            results[index] = WriteResult(outcome, str(result.get("id")))

    def _resend_or_reject(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
        indices: list[int],
        results: list[WriteResult | None],
        answer: Mapping[str, Any],
        status: int,
    ) -> None:
        """Reject the records a refused batch's error names, or halve it until they stand alone."""
        code, message = error_summary(answer, status)
        if len(indices) == 1:
            results[indices[0]] = WriteResult.rejected(code, message)
            return
        named = _named_emails(message, inputs, indices) if object_type == CONTACTS else []
        if named and len(named) < len(indices) and len(named) <= 3:
            # The error names the bad e-mails (INVALID_EMAIL): one more call for the rest.
            for i in named:
                results[i] = WriteResult.rejected(code, message)
            rest = [i for i in indices if i not in named]
            self._upsert_batch(object_type, id_property, inputs, rest, results)
            return
        middle = len(indices) // 2
        for half in (indices[:middle], indices[middle:]):
            self._upsert_batch(object_type, id_property, inputs, half, results)

    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Update existing objects by HubSpot id (batch/update); one result per input."""
        results: list[WriteResult | None] = [None] * len(inputs)
        for chunk in chunks(list(range(len(inputs)))):
            self._update_batch(object_type, inputs, list(chunk), results)
        return [r or WriteResult.rejected("NO_ANSWER", "HubSpot did not answer") for r in results]

    def _update_batch(
        self,
        object_type: str,
        inputs: Sequence[UpdateInput],
        indices: list[int],
        results: list[WriteResult | None],
    ) -> None:
        body = {
            "inputs": [
                {
                    "id": inputs[i].crm_id,
                    "properties": dict(inputs[i].properties),
                    "objectWriteTraceId": str(i),
                }
                for i in indices
            ]
        }
        response = self.http.request("POST", f"/crm/v3/objects/{object_type}/batch/update", body)
        answer = response_body(response)
        status = response.status_code
        if status in (200, 207):
            sent = {str(i): i for i in indices}
            by_id = {inputs[i].crm_id: i for i in indices}
            for result in answer.get("results") or []:
                if isinstance(result, dict) and str(result.get("id")) in by_id:
                    index = by_id[str(result["id"])]
                    results[index] = WriteResult(Outcome.UPDATED, inputs[index].crm_id)
            for error in answer.get("errors") or []:
                if not isinstance(error, dict):
                    continue
                code, message = error_summary(error, 400)
                named = [sent[t] for t in context_values(error, "objectWriteTraceId") if t in sent]
                named += [by_id[k] for k in context_values(error, "ids") if k in by_id]
                for index in named:
                    results[index] = results[index] or WriteResult.rejected(code, message)
            if status == 200:
                for i in indices:
                    results[i] = results[i] or WriteResult(Outcome.UPDATED, inputs[i].crm_id)
            return
        if status in (400, 404, 409, 422):
            if code_of(answer, status) == "PROPERTY_DOESNT_EXIST":
                self.provisioning.forget_properties(object_type)
            if len(indices) == 1:
                results[indices[0]] = WriteResult.rejected(*error_summary(answer, status))
                return
            middle = len(indices) // 2
            for half in (indices[:middle], indices[middle:]):
                self._update_batch(object_type, inputs, half, results)
            return
        raise unexpected(response, f"update {object_type}")

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """HubSpot ids of the existing objects among `keys` (batch read, never search)."""
        found: dict[str, str] = {}
        normal = {(k.lower() if object_type == CONTACTS else k): k for k in keys}
        for chunk in chunks(list(normal)):
            response = self.http.request(
                "POST",
                f"/crm/v3/objects/{object_type}/batch/read",
                {
                    "idProperty": id_property,
                    "properties": [id_property],
                    "propertiesWithHistory": [],
                    "inputs": [{"id": k} for k in chunk],
                },
            )
            if response.status_code not in (200, 207):
                code, message = error_summary(response_body(response), response.status_code)
                if response.status_code == 404 or code == "OBJECT_NOT_FOUND":
                    continue
                if code == "PROPERTY_DOESNT_EXIST":
                    return found  # nobody created the id property yet: no object has it
                raise unexpected(response, f"read {object_type}")
            for result in response_body(response).get("results") or []:
                key = self._key_of(object_type, id_property, result)
                if key in normal and result.get("id") is not None:
                    found[normal[key]] = str(result["id"])
        return found

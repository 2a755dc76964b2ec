"""HubSpot CRM client: properties, batch upserts and labelled associations (API v3/v4).

Written against the published behaviour in the design's crm-contract.md and with the
fewest calls in mind, since HubSpot's budget is a few requests per second:

- properties are read once per object type and run; only what is missing is created
  (in one batch), new enumeration options are added with one PATCH per property;
- upserts go in batches of up to 100 with a trace id per input, so one bad record gives
  a 207 naming it instead of failing the batch; results are matched back by trace id or
  key, never by position (HubSpot does not keep the order);
- association labels are listed once and created when missing; a changed label costs a
  create (new labels) and, when a label went away, a labels/archive call.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from target_plg_crm.crm.base import (
    CONTACTS,
    PRIMARY_LABEL,
    AssociationInput,
    CRMClient,
    CRMError,
    Outcome,
    PropertyDefinition,
    PropertyGroup,
    UpsertInput,
    WriteResult,
    is_valid_email,
    label_name,
)
from target_plg_crm.crm.hubspot_http import HubSpotHTTP, RetryPolicy

BATCH_SIZE = 100
#: HubSpot-defined contact -> company association types.
UNLABELED_TYPE = 279
PRIMARY_TYPE = 1
HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
USER_DEFINED = "USER_DEFINED"
ASSOCIATION_PATH = "/crm/v4/associations/contacts/companies"

#: Type pair (HubSpot category, type id) of one association label.
AssociationType = tuple[str, int]


@dataclass(frozen=True)
class HubSpotSettings:
    """What the HubSpot client needs from the target's settings."""

    base_url: str
    access_token: str
    retry: RetryPolicy


def _chunks(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


#: Error codes HubSpot may only name inside a message.
_KNOWN_CODES = ("INVALID_EMAIL", "INVALID_OPTION", "PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")


def _error_summary(body: Mapping[str, Any], status: int) -> tuple[str, str]:
    """(code, sentence) of a HubSpot error body or of one entry of its `errors`."""
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    messages = [str(e.get("message")) for e in errors if e.get("message")]
    message = str(body.get("message") or "")
    if messages and message not in messages:
        message = "; ".join([message, *messages]) if message else "; ".join(messages)
    code = next((str(e["code"]) for e in errors if e.get("code")), None) or body.get("code")
    if not code:
        code = next((c for c in _KNOWN_CODES if c in message), None)
    code = code or str(body.get("category") or f"HTTP_{status}")
    return str(code), message or f"HubSpot answered {status}"


def _context_values(error: Mapping[str, Any], name: str) -> list[str]:
    """Values of `context[name]` as strings (HubSpot sends lists, sometimes one string)."""
    value = (error.get("context") or {}).get(name)
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value]
    return [str(value)]


def _named_emails(message: str, inputs: Sequence[UpsertInput], indices: list[int]) -> list[int]:
    """The inputs whose e-mail an error message names (as a whole address)."""
    lowered = message.lower()
    return [
        i
        for i in indices
        if re.search(rf"(?<![\w.+'-]){re.escape(inputs[i].key.lower())}(?![\w.-])", lowered)
    ]


def _incompatibility(wanted: PropertyDefinition, existing: Mapping[str, Any]) -> str | None:
    """Why an existing property cannot hold our values, or None when it can."""
    if existing.get("calculated") or (existing.get("modificationMetadata") or {}).get(
        "readOnlyValue"
    ):
        return "it is read-only in HubSpot"
    if wanted.has_unique_value and not existing.get("hasUniqueValue"):
        return "it exists without hasUniqueValue, so objects cannot be upserted by it"
    kind = existing.get("type")
    if kind == wanted.type:
        if kind == "enumeration":
            multiple = existing.get("fieldType") == "checkbox"
            if multiple != (wanted.field_type == "checkbox"):
                has, want = ("several values", "one") if multiple else ("one value", "several")
                return f"it is an enumeration holding {has}, we write {want}"
        return None
    if kind == "string" and not wanted.has_unique_value:
        return None  # text holds any value we write
    return f"it has type {kind!r}, our values are {wanted.type!r}"


class HubSpotCRM(CRMClient):
    """A HubSpot portal reached with a private app token."""

    max_batch_size = BATCH_SIZE

    def __init__(
        self, settings: HubSpotSettings, logger: logging.Logger, *, read_only: bool = False
    ) -> None:
        """Prepare the session; nothing is sent before the first call that needs it."""
        self.settings = settings
        self.logger = logger
        self.read_only = read_only
        self.http = HubSpotHTTP(settings.base_url, settings.access_token, settings.retry, logger)
        self._properties: dict[str, dict[str, dict[str, Any]]] = {}
        self._skipped: dict[str, dict[str, str]] = {}
        self._groups_ready: set[str] = set()
        self._labels: dict[str, int] | None = None

    @property
    def identity(self) -> str:
        """`hubspot:<base url>#<short hash of the token>`: one ledger per portal.

        The hash keeps two portals behind the same URL apart without revealing the
        token; a rotated token only costs one full rewrite.
        """
        digest = hashlib.sha256(self.settings.access_token.encode()).hexdigest()[:12]
        return f"hubspot:{self.settings.base_url.rstrip('/')}#{digest}"

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

    def _unexpected(self, response: requests.Response, doing: str) -> CRMError:
        code, message = _error_summary(_body(response), response.status_code)
        return CRMError(f"HubSpot refused to {doing}: {response.status_code} {code}: {message}")

    # Properties

    def skipped_properties(self, object_type: str) -> Mapping[str, str]:
        """Existing properties whose type our values do not fit (name -> why)."""
        return self._skipped.get(object_type, {})

    def _existing_properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        if object_type not in self._properties:
            response = self.http.request("GET", f"/crm/v3/properties/{object_type}")
            if response.status_code != 200:
                raise self._unexpected(response, f"list the {object_type} properties")
            self._properties[object_type] = {
                p["name"]: p for p in _body(response).get("results") or [] if "name" in p
            }
        return self._properties[object_type]

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Create the group and missing properties, add missing options; never retype."""
        self._check_writable()
        existing = self._existing_properties(object_type)
        skipped = self._skipped.setdefault(object_type, {})
        missing: list[PropertyDefinition] = []
        for definition in definitions:
            current = existing.get(definition.name)
            if current is None:
                missing.append(definition)
                continue
            problem = _incompatibility(definition, current)
            if problem and definition.has_unique_value:
                raise CRMError(
                    f"HubSpot {object_type} property {definition.name!r} cannot be the key: "
                    f"{problem}. Use another company_id_property or fix it in HubSpot."
                )
            if problem:
                if definition.name not in skipped:
                    skipped[definition.name] = problem
                    self.logger.warning(
                        "HubSpot %s property %r is not written: %s (it is left as it is)",
                        object_type,
                        definition.name,
                        problem,
                    )
                continue
            if definition.type == "enumeration":
                self._add_options(object_type, definition, current)
        if missing:
            self._ensure_group(object_type, group)
            self._create_properties(object_type, missing)

    def _ensure_group(self, object_type: str, group: PropertyGroup) -> None:
        existing = self._existing_properties(object_type)
        if object_type in self._groups_ready or any(
            p.get("groupName") == group.name for p in existing.values()
        ):
            return
        response = self.http.request(
            "POST",
            f"/crm/v3/properties/{object_type}/groups",
            {"name": group.name, "label": group.label, "displayOrder": -1},
        )
        # 409 (or a 400 saying so): the group exists but holds none of our properties yet.
        exists = response.status_code == 400 and "exist" in _error_summary(_body(response), 400)[1]
        if response.status_code not in (200, 201, 409) and not exists:
            raise self._unexpected(response, f"create the {object_type} group {group.name!r}")
        self._groups_ready.add(object_type)

    @staticmethod
    def _property_body(definition: PropertyDefinition) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": definition.name,
            "label": definition.label,
            "type": definition.type,
            "fieldType": definition.field_type,
            "groupName": definition.group_name,
        }
        if definition.has_unique_value:
            body["hasUniqueValue"] = True
        if definition.type == "enumeration":
            body["options"] = [
                {"label": o, "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(dict.fromkeys(definition.options))
            ]
        return body

    def _create_properties(
        self, object_type: str, definitions: Sequence[PropertyDefinition]
    ) -> None:
        existing = self._existing_properties(object_type)
        for chunk in _chunks(definitions):
            response = self.http.request(
                "POST",
                f"/crm/v3/properties/{object_type}/batch/create",
                {"inputs": [self._property_body(d) for d in chunk]},
            )
            body = _body(response)
            if response.status_code not in (200, 201, 207):
                raise self._unexpected(response, f"create {object_type} properties")
            for created in body.get("results") or []:
                if isinstance(created, dict) and "name" in created:
                    existing[created["name"]] = created
            failed = [d for d in chunk if d.name not in existing]
            for definition in failed:
                reason = self._creation_failure(body, definition.name)
                if definition.has_unique_value:
                    raise CRMError(
                        f"HubSpot did not create the {object_type} key property "
                        f"{definition.name!r}: {reason}"
                    )
                self._skipped.setdefault(object_type, {})[definition.name] = reason
                self.logger.warning(
                    "HubSpot %s property %r was not created, its field is not written: %s",
                    object_type,
                    definition.name,
                    reason,
                )

    @staticmethod
    def _creation_failure(body: Mapping[str, Any], name: str) -> str:
        for error in body.get("errors") or []:
            if isinstance(error, dict) and name in str(error):
                return str(error.get("message") or error)
        return "HubSpot did not say why"

    def _add_options(
        self, object_type: str, definition: PropertyDefinition, current: dict[str, Any]
    ) -> None:
        options = [o for o in current.get("options") or [] if isinstance(o, dict)]
        known = {o.get("value") for o in options}
        new = [o for o in dict.fromkeys(definition.options) if o not in known]
        if not new:
            return
        # PATCH replaces the option list: send the existing options and the new ones.
        merged = options + [
            {"label": o, "value": o, "displayOrder": len(options) + i, "hidden": False}
            for i, o in enumerate(new)
        ]
        response = self.http.request(
            "PATCH",
            f"/crm/v3/properties/{object_type}/{definition.name}",
            {"options": merged},
        )
        if response.status_code != 200:
            # The records using the new values will be rejected with INVALID_OPTION.
            code, message = _error_summary(_body(response), response.status_code)
            self.logger.warning(
                "HubSpot refused new options %s of %s property %r: %s %s",
                new,
                object_type,
                definition.name,
                code,
                message,
            )
            return
        updated = _body(response)
        current["options"] = updated.get("options") or merged

    # Objects

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Upsert by e-mail (contacts) or a unique property; one result per input, in order."""
        self._check_writable()
        results: list[WriteResult | None] = [None] * len(inputs)
        sendable: list[int] = []
        for index, item in enumerate(inputs):
            if object_type == CONTACTS and not is_valid_email(item.key):
                # HubSpot would refuse it too: spare the batch a failure.
                results[index] = WriteResult.rejected(
                    "INVALID_EMAIL", f"Email address {item.key!r} is invalid"
                )
            else:
                sendable.append(index)
        for chunk in _chunks(sendable):
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
        answer = _body(response)
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
        code, message = _error_summary(answer, status)
        if status == 400 and "non-unique" in message:
            raise CRMError(f"HubSpot cannot upsert {object_type} by {id_property!r}: {message}")
        if status == 400 and code == "PROPERTY_DOESNT_EXIST":
            # Every record of the batch carries the property: reject them all (they
            # are retried next run, when the property list is read again).
            self._properties.pop(object_type, None)
            for i in indices:
                results[i] = WriteResult.rejected(code, message)
            return
        if status in (400, 409, 422):
            self._resend_or_reject(
                object_type, id_property, inputs, indices, results, answer, status
            )
            return
        raise self._unexpected(response, f"upsert {object_type}")

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
            named = [sent[t] for t in _context_values(error, "objectWriteTraceId") if t in sent]
            if not named:
                named = [by_key[k] for k in _context_values(error, "ids") if k in by_key]
            code, message = _error_summary(error, 400)
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
        code, message = _error_summary(answer, status)
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

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """HubSpot ids of the existing objects among `keys` (batch read, never search)."""
        found: dict[str, str] = {}
        normal = {(k.lower() if object_type == CONTACTS else k): k for k in keys}
        for chunk in _chunks(list(normal)):
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
                code, message = _error_summary(_body(response), response.status_code)
                if response.status_code == 404 or code == "OBJECT_NOT_FOUND":
                    continue
                raise self._unexpected(response, f"read {object_type}")
            for result in _body(response).get("results") or []:
                key = self._key_of(object_type, id_property, result)
                if key in normal and result.get("id") is not None:
                    found[normal[key]] = str(result["id"])
        return found

    # Associations

    def _label_types(self, names: set[str]) -> dict[str, int]:
        """Type ids of the user-defined labels, creating the missing ones among `names`."""
        if self._labels is None:
            self._labels = self._read_labels()
        missing = sorted(n for n in names if n not in self._labels)
        if missing:
            self._check_writable()
            reread = False
            for name in missing:
                display = name.replace("_", " ").capitalize()
                response = self.http.request(
                    "POST", f"{ASSOCIATION_PATH}/labels", {"name": name, "label": display}
                )
                created = [
                    r
                    for r in _body(response).get("results") or []
                    if isinstance(r, dict) and r.get("category") == USER_DEFINED
                ]
                if response.status_code in (200, 201) and len(created) == 1:
                    self._labels[name] = int(created[0]["typeId"])
                elif response.status_code in (200, 201, 409):
                    reread = True  # paired answer or label made meanwhile: read the list
                else:
                    code, message = _error_summary(_body(response), response.status_code)
                    self.logger.warning(
                        "HubSpot did not create association label %r: %s %s", name, code, message
                    )
            if reread:
                self._labels = self._read_labels()
        return self._labels

    def _read_labels(self) -> dict[str, int]:
        response = self.http.request("GET", f"{ASSOCIATION_PATH}/labels")
        if response.status_code != 200:
            raise self._unexpected(response, "list the contact-company association labels")
        labels: dict[str, int] = {}
        for entry in _body(response).get("results") or []:
            if not isinstance(entry, dict) or entry.get("category") != USER_DEFINED:
                continue
            name = label_name(str(entry.get("name") or entry.get("label") or ""))
            if name and "typeId" in entry:
                labels.setdefault(name, int(entry["typeId"]))
        return labels

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
        self._check_writable()
        # Only labels still wanted are created; old ones are archived if HubSpot has them.
        wanted_labels = {n for a in inputs for n in a.labels if n != PRIMARY_LABEL}
        old_labels = {n for a in inputs for n in a.previous_labels or () if n != PRIMARY_LABEL}
        # No user-defined label in sight: spare the listing of labels.
        type_ids = self._label_types(wanted_labels) if wanted_labels | old_labels else {}
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
        for chunk in _chunks(creatable):
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
        for chunk in _chunks(archivable):
            self._archive_labels(inputs, list(chunk), type_ids, results)
        return [r or WriteResult.rejected("NO_ANSWER", "HubSpot did not answer") for r in results]

    def _removed(
        self, association: AssociationInput, type_ids: Mapping[str, int]
    ) -> list[AssociationType]:
        """Label types the association had and must lose."""
        gone = (association.previous_labels or frozenset()) - association.labels
        return self._types(frozenset(gone), type_ids)

    def _association_body(
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
                self._association_body(
                    inputs[i],
                    [(HUBSPOT_DEFINED, UNLABELED_TYPE), *self._types(inputs[i].labels, type_ids)],
                )
                for i in indices
            ]
        }
        response = self.http.request("POST", f"{ASSOCIATION_PATH}/batch/create", body)
        answer = _body(response)
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
        raise self._unexpected(response, "create associations")

    @staticmethod
    def _reject_association_error(
        error: Mapping[str, Any],
        inputs: Sequence[AssociationInput],
        indices: list[int],
        results: list[WriteResult | None],
    ) -> None:
        code, message = _error_summary(error, 400)
        missing_contacts = set(_context_values(error, "fromObjectId"))
        missing_companies = set(_context_values(error, "toObjectId"))
        ids = set(_context_values(error, "ids"))
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
            code, message = _error_summary(answer, status)
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
                self._association_body(inputs[i], self._removed(inputs[i], type_ids))
                for i in indices
            ]
        }
        response = self.http.request("POST", f"{ASSOCIATION_PATH}/batch/labels/archive", body)
        if response.status_code in (200, 204, 207):
            return
        # The new labels are on, the old ones are not off: retry next run.
        code, message = _error_summary(_body(response), response.status_code)
        for i in indices:
            results[i] = WriteResult.rejected(code, f"old labels not removed: {message}")

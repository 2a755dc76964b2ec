"""What the target creates in a HubSpot portal before writing: properties, groups, labels.

Properties are read once per object type and run; only what is missing is created (in
one batch), new enumeration options are added with one PATCH per property; an existing
property is never retyped. Association labels are listed once and created when missing.

Every property is created the way HubSpot accepts it (crm-contract.md): name, label,
type, fieldType and groupName; a `bool` carries its two options `true` (Yes) and
`false` (No); an `enumeration` carries every option (a label and a value each, values
unique, no `;` inside) and is created only once it has one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from target_plg_crm.crm.association_labels import label_name
from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.hubspot.client import HubSpotHTTP, chunks
from target_plg_crm.crm.hubspot.errors import error_summary, response_body, unexpected
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup

#: The category of the association labels the target creates (one per role).
USER_DEFINED = "USER_DEFINED"
ASSOCIATION_PATH = "/crm/v4/associations/contacts/companies"
#: The options every HubSpot `bool` property carries, as HubSpot's own ones do.
BOOLEAN_OPTIONS = (
    {"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
    {"label": "No", "value": "false", "displayOrder": 1, "hidden": False},
)


def _holds_booleans(existing: Mapping[str, Any]) -> bool:
    """An enumeration whose options include `true` and `false` (HubSpot's older booleans)."""
    values = {o.get("value") for o in existing.get("options") or [] if isinstance(o, dict)}
    return {"true", "false"} <= values


def incompatibility(wanted: PropertyDefinition, existing: Mapping[str, Any]) -> str | None:
    """Why an existing property cannot hold our values, or None when it can."""
    if existing.get("calculated") or (existing.get("modificationMetadata") or {}).get(
        "readOnlyValue"
    ):
        return "it is read-only in HubSpot"
    if wanted.has_unique_value and not existing.get("hasUniqueValue"):
        return "it exists without hasUniqueValue, so objects cannot be upserted by it"
    kind = existing.get("type")
    if wanted.type == "bool" and kind == "enumeration" and _holds_booleans(existing):
        return None
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


#: The fields of an option HubSpot takes in a PATCH (a GET may answer more).
OPTION_FIELDS = ("label", "value", "displayOrder", "hidden", "description")


def _option_input(option: Mapping[str, Any]) -> dict[str, Any]:
    """An existing option as a PATCH sends it back: only the fields an option input has."""
    return {k: option[k] for k in OPTION_FIELDS if k in option and option[k] is not None}


def _unused_label(value: str, labels: set[str]) -> str:
    """`value` as an option label, made unique among `labels` (HubSpot refuses twins)."""
    label, number = value, 2
    while label in labels:
        label, number = f"{value} ({number})", number + 1
    labels.add(label)
    return label


class HubSpotProvisioning:
    """The portal's properties, property groups and association labels, read once a run."""

    def __init__(self, http: HubSpotHTTP, logger: logging.Logger) -> None:
        """Nothing is read before the first call that needs it."""
        self.http = http
        self.logger = logger
        self._properties: dict[str, dict[str, dict[str, Any]]] = {}
        self._skipped: dict[str, dict[str, str]] = {}
        self._groups_ready: set[str] = set()
        self._labels: dict[str, int] | None = None
        self._waiting_for_options: dict[str, set[str]] = {}

    def forget_properties(self, object_type: str) -> None:
        """Read the properties of `object_type` again when next needed (one went missing)."""
        self._properties.pop(object_type, None)

    def skipped_properties(self, object_type: str) -> Mapping[str, str]:
        """Existing properties whose type our values do not fit (name -> why)."""
        return self._skipped.get(object_type, {})

    def waiting_for_options(self, object_type: str) -> set[str]:
        """Enumerations not created yet because no record gave them a value (an option)."""
        return self._waiting_for_options.get(object_type, set())

    def existing_properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        """The portal's properties of `object_type` by name (read once a run)."""
        if object_type not in self._properties:
            response = self.http.request("GET", f"/crm/v3/properties/{object_type}")
            if response.status_code != 200:
                raise unexpected(response, f"list the {object_type} properties")
            self._properties[object_type] = {
                p["name"]: p for p in response_body(response).get("results") or [] if "name" in p
            }
        return self._properties[object_type]

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Create the group and missing properties, add missing options; never retype."""
        existing = self.existing_properties(object_type)
        skipped = self._skipped.setdefault(object_type, {})
        waiting = self._waiting_for_options.setdefault(object_type, set())
        missing: list[PropertyDefinition] = []
        for definition in definitions:
            current = existing.get(definition.name)
            if current is None and definition.type == "enumeration" and not definition.options:
                # HubSpot refuses an enumeration without options; its values are all
                # empty so far, which a missing property holds as well.
                waiting.add(definition.name)
                continue
            waiting.discard(definition.name)
            if current is None:
                missing.append(definition)
                continue
            problem = incompatibility(definition, current)
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
        existing = self.existing_properties(object_type)
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
        exists = (
            response.status_code == 400
            and "exist" in error_summary(response_body(response), 400)[1]
        )
        if response.status_code not in (200, 201, 409) and not exists:
            raise unexpected(response, f"create the {object_type} group {group.name!r}")
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
        if definition.type == "bool":
            body["options"] = [dict(option) for option in BOOLEAN_OPTIONS]
        elif definition.type == "enumeration":
            body["options"] = [
                {"label": o, "value": o, "displayOrder": i, "hidden": False}
                for i, o in enumerate(dict.fromkeys(definition.options))
            ]
        return body

    def _create_properties(
        self, object_type: str, definitions: Sequence[PropertyDefinition]
    ) -> None:
        existing = self.existing_properties(object_type)
        for chunk in chunks(definitions):
            response = self.http.request(
                "POST",
                f"/crm/v3/properties/{object_type}/batch/create",
                {"inputs": [self._property_body(d) for d in chunk]},
            )
            body = response_body(response)
            if response.status_code not in (200, 201, 207):
                raise unexpected(response, f"create {object_type} properties")
            for created in body.get("results") or []:
                if isinstance(created, dict) and "name" in created:
                    existing[created["name"]] = created
            failed = [d for d in chunk if d.name not in existing]
            if failed:
                # An earlier attempt may have been applied and its answer lost (a timeout,
                # then "already exists"): the portal's list says what really exists.
                failed = self._still_missing(object_type, failed)
                existing = self.existing_properties(object_type)
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

    def _still_missing(
        self, object_type: str, failed: Sequence[PropertyDefinition]
    ) -> list[PropertyDefinition]:
        """The properties of `failed` the portal does not hold as we need them (re-read)."""
        self.forget_properties(object_type)
        existing = self.existing_properties(object_type)
        missing = []
        for definition in failed:
            current = existing.get(definition.name)
            if current is None or incompatibility(definition, current) is not None:
                missing.append(definition)
            else:
                self.logger.info(
                    "HubSpot %s property %r exists (created by an attempt whose answer was lost)",
                    object_type,
                    definition.name,
                )
        return missing

    @staticmethod
    def _creation_failure(body: Mapping[str, Any], name: str) -> str:
        for error in body.get("errors") or []:
            if isinstance(error, dict) and name in str(error):
                return str(error.get("message") or error)
        return "HubSpot did not say why"

    def _add_options(
        self, object_type: str, definition: PropertyDefinition, current: dict[str, Any]
    ) -> None:
        options = [_option_input(o) for o in current.get("options") or [] if isinstance(o, dict)]
        known = {o.get("value") for o in options}
        new = [o for o in dict.fromkeys(definition.options) if o not in known]
        if not new:
            return
        # PATCH replaces the option list: send the existing options and the new ones.
        labels = {str(o.get("label")) for o in options}
        merged = options + [
            {
                "label": _unused_label(value, labels),
                "value": value,
                "displayOrder": len(options) + i,
                "hidden": False,
            }
            for i, value in enumerate(new)
        ]
        response = self.http.request(
            "PATCH",
            f"/crm/v3/properties/{object_type}/{definition.name}",
            {"options": merged},
        )
        if response.status_code != 200:
            # The records using the new values will be rejected with INVALID_OPTION.
            code, message = error_summary(response_body(response), response.status_code)
            self.logger.warning(
                "HubSpot refused new options %s of %s property %r: %s %s",
                new,
                object_type,
                definition.name,
                code,
                message,
            )
            return
        updated = response_body(response)
        current["options"] = updated.get("options") or merged

    def label_types(self, names: set[str]) -> dict[str, int]:
        """Type ids of the user-defined labels, creating the missing ones among `names`."""
        if self._labels is None:
            self._labels = self._read_labels()
        missing = sorted(n for n in names if n not in self._labels)
        if missing:
            reread = False
            for name in missing:
                display = name.replace("_", " ").capitalize()
                response = self.http.request(
                    "POST", f"{ASSOCIATION_PATH}/labels", {"name": name, "label": display}
                )
                created = [
                    r
                    for r in response_body(response).get("results") or []
                    if isinstance(r, dict) and r.get("category") == USER_DEFINED
                ]
                if response.status_code in (200, 201) and len(created) == 1:
                    self._labels[name] = int(created[0]["typeId"])
                elif response.status_code in (200, 201, 409):
                    reread = True  # paired answer or label made meanwhile: read the list
                else:
                    code, message = error_summary(response_body(response), response.status_code)
                    self.logger.warning(
                        "HubSpot did not create association label %r: %s %s", name, code, message
                    )
            if reread:
                self._labels = self._read_labels()
        return self._labels

    def _read_labels(self) -> dict[str, int]:
        response = self.http.request("GET", f"{ASSOCIATION_PATH}/labels")
        if response.status_code != 200:
            raise unexpected(response, "list the contact-company association labels")
        labels: dict[str, int] = {}
        for entry in response_body(response).get("results") or []:
            if not isinstance(entry, dict) or entry.get("category") != USER_DEFINED:
                continue
            name = label_name(str(entry.get("name") or entry.get("label") or ""))
            if name and "typeId" in entry:
                labels.setdefault(name, int(entry["typeId"]))
        return labels

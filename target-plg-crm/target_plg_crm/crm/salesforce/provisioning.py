"""What the target needs in the org before it writes: custom fields, visible to its user.

Once a run, before the first write: the sinks have declared every stream's properties
(from their SCHEMA), the org's Contact, Account and AccountContactRelation are described
(one call each; a describe lists only the fields the user can see), and what is missing
is either created (Tooling API, one call per field) and granted to the integration user
through a permission set, or, when `salesforce_create_fields` is off, listed in one error
with a metadata package an admin can deploy, before anything was written. An existing
field is never changed: one whose type cannot hold our values is left out (logged).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.object_types import ASSOCIATIONS, COMPANIES, CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition
from target_plg_crm.crm.salesforce.client import SalesforceHTTP, chunks, soql_quote
from target_plg_crm.crm.salesforce.errors import (
    RETRYABLE_RECORD_CODES,
    MissingFieldsError,
    error_summary,
    response_json,
    unexpected,
)
from target_plg_crm.crm.salesforce.fields import (
    MAX_NAME_LENGTH,
    SOBJECTS,
    FieldSpec,
    custom_field_name,
    native_property_names,
    spec_for,
)
from target_plg_crm.crm.salesforce.metadata_package import write_metadata_package
from target_plg_crm.salesforce_settings import SalesforceSettings

#: Times a locked FieldPermissions row is sent again.
RECORD_ATTEMPTS = 4
#: Describe types that can hold the values of each field type we create.
COMPATIBLE_TYPES = {
    "Number": {"double", "int", "currency", "percent", "long"},
    "Checkbox": {"boolean"},
    "Text": {"string", "textarea", "email", "url", "phone", "picklist"},
    "LongTextArea": {"textarea"},
    "DateTime": {"datetime"},
    "Date": {"date"},
    "Picklist": {"picklist", "string"},
    "MultiselectPicklist": {"multipicklist"},
}


@dataclass(frozen=True)
class FieldTarget:
    """Where a property's values go: the field's API name and its type."""

    api_name: str
    kind: str  # our FieldSpec type or the describe type of an existing field


class SalesforceProvisioning:
    """The org's fields for the three objects, described once a run, completed once."""

    def __init__(
        self,
        http: SalesforceHTTP,
        settings: SalesforceSettings,
        prefix: str,
        logger: logging.Logger,
    ) -> None:
        """Nothing is read before the first call that needs it."""
        self.http = http
        self.settings = settings
        self.prefix = prefix
        self.logger = logger
        self.declared: dict[str, dict[str, PropertyDefinition]] = {}
        self.targets: dict[str, dict[str, FieldTarget]] = {}
        self.skipped: dict[str, dict[str, str]] = {}
        self._described: dict[str, dict[str, dict[str, Any]] | None] = {}
        self._ready: set[str] = set()

    # What the sinks ask

    def declare(self, object_type: str, definitions: Iterable[PropertyDefinition]) -> None:
        """Properties a stream will write (from its SCHEMA), provisioned with the others."""
        known = self.declared.setdefault(object_type, {})
        for definition in definitions:
            known.setdefault(definition.name, definition)

    def external_id_field(self, object_type: str) -> str:
        """The external id field objects of this type are upserted by."""
        if object_type == CONTACTS:
            return self.settings.contact_external_id_field
        return self.settings.account_external_id_field

    def target(self, object_type: str, name: str) -> FieldTarget | None:
        """Where property `name` is written; None when it is not (skipped).

        Besides our properties, a name of one of the org's standard fields, in any case
        (`native_fields`: `firstname` -> FirstName), is written to that field.
        """
        return self.targets.get(object_type, {}).get(name) or self.standard_target(
            object_type, name
        )

    def standard_targets(self, object_type: str) -> dict[str, FieldTarget]:
        """The standard fields `native_fields` may write, by lower-case name.

        Writable standard fields of the object, without those the target writes itself
        (the record's first_name, last_name, title, email, name, domain: see
        `fields.NATIVE_FIELDS`) and without ids and references.
        """
        if object_type not in (CONTACTS, COMPANIES):
            return {}
        fields = self.describe(SOBJECTS[object_type]) or {}
        own = {n.lower() for n in native_property_names(self.prefix, object_type).values()}
        return {
            name: FieldTarget(str(f["name"]), str(f.get("type")))
            for name, f in fields.items()
            if f.get("updateable")
            and not name.endswith("__c")
            and name not in own
            and f.get("type") not in ("id", "reference")
        }

    def standard_target(self, object_type: str, name: str) -> FieldTarget | None:
        """The standard field a `native_fields` property names (None: no such field)."""
        if name.startswith(self.prefix) or not name.isidentifier():
            return None
        return self.standard_targets(object_type).get(name.lower())

    def preview(
        self, object_type: str, definitions: Sequence[PropertyDefinition]
    ) -> tuple[list[FieldSpec], dict[str, str]]:
        """What `ensure` would create for `object_type`, and what it skips; reads only."""
        known = self.declared.setdefault(object_type, {})
        known.update({d.name: d for d in definitions})
        missing = [spec for spec in self._plan(object_type) if not self._exists(spec)]
        return missing, dict(self.skipped.get(object_type, {}))

    def field_kind(self, object_type: str, api_name: str) -> str:
        """The type of a field the org has (from its describe)."""
        fields = self.describe(SOBJECTS[object_type]) or {}
        return str((fields.get(api_name.lower()) or {}).get("type") or "string")

    def field_described(self, object_type: str, api_name: str) -> dict[str, Any] | None:
        """The describe entry of a field (None when the user cannot see it)."""
        return (self.describe(SOBJECTS[object_type]) or {}).get(api_name.lower())

    def associations_available(self) -> bool:
        """Whether the org has AccountContactRelation ("Contacts to Multiple Accounts")."""
        return self.describe(SOBJECTS[ASSOCIATIONS]) is not None

    def describe(self, sobject: str) -> dict[str, dict[str, Any]] | None:
        """Fields of `sobject` the user can see, by lower-case name; None if no such object."""
        if sobject not in self._described:
            response = self.http.request("GET", f"/sobjects/{sobject}/describe")
            if response.status_code == 404:
                self._described[sobject] = None
            elif response.status_code != 200:
                raise unexpected(response, f"describe {sobject}")
            else:
                body = response_json(response) or {}
                self._described[sobject] = {
                    str(f["name"]).lower(): f
                    for f in body.get("fields") or []
                    if isinstance(f, dict) and f.get("name")
                }
        return self._described[sobject]

    # Provisioning

    def ensure(self, object_type: str, definitions: Sequence[PropertyDefinition]) -> None:
        """Make the properties of `object_type` writable (its fields created once a run).

        The first call also checks every other declared stream: when fields may not be
        created, the run stops here, before its first write, listing all of them.
        """
        known = self.declared.setdefault(object_type, {})
        known.update({d.name: d for d in definitions})  # these carry the options seen
        if object_type in self._ready:
            return
        if not self.settings.create_fields:
            missing = [
                spec
                for each in self.declared
                for spec in self._plan(each)
                if not self._exists(spec)
            ]
            if missing:
                self._stop_with_package(missing)
            self._ready.update(self.declared)
            return
        missing = [spec for spec in self._plan(object_type) if not self._exists(spec)]
        if missing:
            for spec in missing:
                self._create_field(spec)
            self._grant(missing)
            self._await_visible(SOBJECTS[object_type], missing)
        for spec in missing:
            fields = self._described.get(spec.sobject)
            if fields is not None and spec.api_name.lower() not in fields:
                fields[spec.api_name.lower()] = {
                    "name": spec.api_name,
                    "type": spec.type,
                    "updateable": True,
                    "createable": True,
                    "externalId": spec.external_id,
                }
        self._ready.add(object_type)

    def _await_visible(self, sobject: str, specs: Sequence[FieldSpec]) -> None:
        """Describe `sobject` again (with backoff) until the user sees the new fields.

        Salesforce applies new field-level security after a moment; writing before that
        is refused (INVALID_FIELD). Bounded by `salesforce_field_visibility_timeout_seconds`:
        past it the run stops before writing to the object (the next run carries on).
        """
        limit = self.settings.field_visibility_timeout_seconds
        started = time.monotonic()
        attempt = 0
        while True:
            self._described.pop(sobject, None)
            fields = self.describe(sobject) or {}
            hidden = [s.api_name for s in specs if s.api_name.lower() not in fields]
            if not hidden:
                return
            waited = time.monotonic() - started
            if waited >= limit:
                raise CRMError(
                    f"Salesforce fields {', '.join(hidden)} on {sobject} were created and "
                    f"granted but are still not visible to the integration user after "
                    f"{waited:.0f} s (salesforce_field_visibility_timeout_seconds "
                    f"{limit:g}): nothing was written to {sobject}; run again in a minute"
                )
            wait = min(self.http.backoff(attempt), max(0.0, limit - waited))
            self.logger.info(
                "Salesforce: %d new %s fields not visible yet; describing again in %.2f s",
                len(hidden),
                sobject,
                wait,
            )
            time.sleep(wait)
            attempt += 1

    def _plan(self, object_type: str) -> list[FieldSpec]:
        """The custom fields `object_type` needs; fills `targets` and `skipped`."""
        sobject = SOBJECTS[object_type]
        fields = self.describe(sobject)
        targets = self.targets.setdefault(object_type, {})
        skipped = self.skipped.setdefault(object_type, {})
        skipped.clear()
        if fields is None:
            # AccountContactRelation without "Contacts to Multiple Accounts": reported by
            # the associations, nothing to create.
            for name in self.declared[object_type]:
                skipped[name] = f"the org has no {sobject}"
            return []
        wanted: list[FieldSpec] = []
        natives = native_property_names(self.prefix, object_type)
        if object_type in (CONTACTS, COMPANIES):
            key = FieldSpec(
                sobject, self.external_id_field(object_type), "PLG id", "Text", external_id=True
            )
            wanted.append(key)
        for name, definition in self.declared[object_type].items():
            if definition.has_unique_value:
                continue  # the account key: the external id field above
            if name in natives:
                native = natives[name]
                described = fields.get(native.lower())
                if described is None or not described.get("updateable"):
                    self._skip(object_type, name, f"{sobject}.{native} is not writable")
                else:
                    targets[name] = FieldTarget(native, str(described.get("type")))
                continue
            api_name = custom_field_name(self.prefix, name)
            if len(api_name) - len("__c") > MAX_NAME_LENGTH:
                self._skip(object_type, name, f"{api_name} is longer than Salesforce allows")
                continue
            spec = spec_for(sobject, api_name, definition)
            picklist = spec.type in ("Picklist", "MultiselectPicklist")
            creating = self.settings.create_fields
            if creating and picklist and not spec.values and fields.get(api_name.lower()) is None:
                self._skip(object_type, name, "no value yet to create its picklist with")
                continue
            problem = self._incompatible(spec, fields.get(api_name.lower()))
            if problem:
                self._skip(object_type, name, problem)
                continue
            targets[name] = FieldTarget(api_name, spec.type)
            wanted.append(spec)
        return wanted

    def _skip(self, object_type: str, name: str, why: str) -> None:
        self.skipped.setdefault(object_type, {})[name] = why
        self.logger.warning("Salesforce %s property %r is not written: %s", object_type, name, why)

    @staticmethod
    def _incompatible(spec: FieldSpec, described: Mapping[str, Any] | None) -> str | None:
        if described is None:
            return None
        kind = str(described.get("type"))
        if spec.external_id and not described.get("externalId"):
            raise CRMError(
                f"Salesforce field {spec.full_name} exists but is not an External ID: objects "
                "cannot be upserted by it (mark it External ID and Unique, or choose another "
                "salesforce_*_external_id_field)"
            )
        if not described.get("updateable") and not spec.external_id:
            return f"{spec.full_name} is read-only for the integration user"
        if kind not in COMPATIBLE_TYPES[spec.type]:
            return f"{spec.full_name} has type {kind!r}, our values need {spec.type}"
        return None

    def _exists(self, spec: FieldSpec) -> bool:
        return spec.api_name.lower() in (self._described.get(spec.sobject) or {})

    def _stop_with_package(self, missing: list[FieldSpec]) -> None:
        """Write the metadata package of the missing fields and stop the run."""
        path = write_metadata_package(
            self.settings.metadata_path, missing, self.settings.permission_set
        )
        names = ", ".join(f"{s.full_name} ({s.type})" for s in missing)
        raise MissingFieldsError(
            f"Salesforce lacks {len(missing)} fields and salesforce_create_fields is false, "
            f"so nothing was written: {names}. Deploy the metadata package in {path} (e.g. "
            f"`sf project deploy start --metadata-dir {path}`), assign the permission set "
            f"{self.settings.permission_set} to the integration user, and run again."
        )

    def _create_field(self, spec: FieldSpec) -> None:
        response = self.http.request(
            "POST",
            "/tooling/sobjects/CustomField",
            {"FullName": spec.full_name, "Metadata": spec.metadata()},
        )
        if response.status_code in (200, 201):
            self.logger.info("Salesforce: created field %s (%s)", spec.full_name, spec.type)
            return
        code, message = error_summary(response_json(response), response.status_code)
        if code == "DUPLICATE_DEVELOPER_NAME":
            return  # it exists but the user cannot see it yet: the grant below fixes that
        raise CRMError(
            f"Salesforce refused to create field {spec.full_name}: {code}: {message} (the "
            "integration user needs Customize Application, or set salesforce_create_fields "
            "to false and deploy the metadata package)"
        )

    def _grant(self, specs: Sequence[FieldSpec]) -> None:
        """Field-level security: the permission set reads and edits `specs`, the user has it."""
        permission_set = self._permission_set_id()
        granted = {
            str(r.get("Field"))
            for r in self.http.query(
                f"SELECT Field FROM FieldPermissions WHERE ParentId = {soql_quote(permission_set)}"
            )
        }
        rows = [
            {
                "attributes": {"type": "FieldPermissions"},
                "ParentId": permission_set,
                "SobjectType": spec.sobject,
                "Field": spec.full_name,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
            for spec in specs
            if spec.full_name not in granted
        ]
        for chunk in chunks(rows):
            self._create_field_permissions(list(chunk))
        self._assign(permission_set)

    def _create_field_permissions(self, rows: list[dict[str, Any]]) -> None:
        """Create FieldPermissions rows; locked ones are sent again, existing ones are fine."""
        for attempt in range(RECORD_ATTEMPTS):
            response = self.http.request(
                "POST", "/composite/sobjects", {"allOrNone": False, "records": rows}
            )
            if response.status_code != 200:
                raise unexpected(response, "grant field permissions")
            locked = []
            for row, result in zip(rows, response_json(response) or [], strict=False):
                if not isinstance(result, dict) or result.get("success"):
                    continue
                code, message = error_summary(result.get("errors"), 400)
                if code in RETRYABLE_RECORD_CODES:
                    locked.append(row)
                elif code != "DUPLICATE_VALUE":  # granted already (e.g. an unanswered retry)
                    raise CRMError(
                        f"Salesforce refused field permission on {row['Field']}: {code}: {message}"
                    )
            if not locked:
                return
            rows = locked
            time.sleep(self.http.backoff(attempt))
        raise CRMError(f"Salesforce kept field permissions locked: {[r['Field'] for r in rows]}")

    def _permission_set_id(self) -> str:
        name = self.settings.permission_set
        found = self.http.query(f"SELECT Id FROM PermissionSet WHERE Name = {soql_quote(name)}")
        if found:
            return str(found[0]["Id"])
        response = self.http.request(
            "POST",
            "/sobjects/PermissionSet",
            {"Name": name, "Label": name.replace("_", " "), "Description": "target-plg-crm"},
        )
        code, _ = error_summary(response_json(response), response.status_code)
        if code == "DUPLICATE_VALUE":  # made meanwhile (e.g. a create applied, unanswered)
            found = self.http.query(f"SELECT Id FROM PermissionSet WHERE Name = {soql_quote(name)}")
            if found:
                return str(found[0]["Id"])
        if response.status_code not in (200, 201):
            raise unexpected(response, f"create the permission set {name}")
        return str((response_json(response) or {}).get("id"))

    def _assign(self, permission_set: str) -> None:
        user = self.http.user_id
        if not user:
            raise CRMError("Salesforce's token answer did not name the integration user")
        found = self.http.query(
            "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = "
            f"{soql_quote(permission_set)} AND AssigneeId = {soql_quote(user)}"
        )
        if found:
            return
        response = self.http.request(
            "POST",
            "/sobjects/PermissionSetAssignment",
            {"PermissionSetId": permission_set, "AssigneeId": user},
        )
        code, _ = error_summary(response_json(response), response.status_code)
        if response.status_code not in (200, 201) and code != "DUPLICATE_VALUE":
            raise unexpected(response, "assign the permission set to the integration user")

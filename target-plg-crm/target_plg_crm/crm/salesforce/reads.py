"""Reads the sinks ask for before writing: current values, Accounts to match, previews.

`read_objects` reads Accounts or Contacts by their external id (SOQL, 100 keys a query)
with the fields behind the asked properties, for `native_fields` in `if_empty` mode,
`sync_mode: update_only` and the dry run's old values. `list_companies` lists every
Account (Id, Website, external id) for matching companies by domain. `preview` says
what provisioning would create, without writing. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from target_plg_crm.crm.object_types import COMPANIES
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, PropertyPreview
from target_plg_crm.crm.salesforce.client import SalesforceHTTP, chunks, soql_quote
from target_plg_crm.crm.salesforce.fields import SOBJECTS
from target_plg_crm.crm.salesforce.provisioning import SalesforceProvisioning
from target_plg_crm.salesforce_settings import SalesforceSettings

#: Keys per SOQL read (as for matching in `objects`).
READ_QUERY_SIZE = 100


def text_value(value: Any) -> str:
    """A field value as the interface carries values: strings, booleans `true`/`false`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SalesforceReads:
    """Read-only questions about the org's Accounts and Contacts."""

    def __init__(
        self,
        http: SalesforceHTTP,
        provisioning: SalesforceProvisioning,
        settings: SalesforceSettings,
    ) -> None:
        """Read through `http`; field names come from `provisioning`."""
        self.http = http
        self.provisioning = provisioning
        self.settings = settings

    def property_names(self, object_type: str) -> set[str]:
        """Our properties with a field, and the standard fields `native_fields` may name
        (lower-case: `firstname`, `phone`...)."""
        names = set(self.provisioning.standard_targets(object_type))
        names.update(self.provisioning.targets.get(object_type, {}))
        return names

    def _columns(self, object_type: str, properties: Sequence[str]) -> dict[str, str]:
        """Property -> field API name, for the asked properties the org has a field for."""
        columns: dict[str, str] = {}
        for name in properties:
            target = self.provisioning.target(object_type, name)
            if target is not None and self.provisioning.field_described(
                object_type, target.api_name
            ):
                columns[name] = target.api_name
        return columns

    def read_objects(
        self, object_type: str, keys: Sequence[str], properties: Sequence[str]
    ) -> dict[str, CRMRecord]:
        """The records among `keys` (external ids) with the asked properties' values."""
        external = self.provisioning.external_id_field(object_type)
        if not keys or self.provisioning.field_described(object_type, external) is None:
            return {}  # the external id field does not exist yet: no record has it
        columns = self._columns(object_type, properties)
        select = ", ".join(dict.fromkeys(["Id", external, *columns.values()]))
        found: dict[str, CRMRecord] = {}
        for chunk in chunks(list(dict.fromkeys(keys)), READ_QUERY_SIZE):
            where = f"{external} IN ({', '.join(soql_quote(k) for k in chunk)})"
            for row in self.http.query(
                f"SELECT {select} FROM {SOBJECTS[object_type]} WHERE {where}"
            ):
                key = text_value(row.get(external))
                values = {name: text_value(row.get(api)) for name, api in columns.items()}
                found[key] = CRMRecord(str(row["Id"]), values)
        return found

    def list_companies(self, id_property: str, properties: Sequence[str]) -> list[CRMRecord]:
        """Every Account: `website` (Website), `id_property` (our external id) and the asked
        properties that have a field (`domain` has none: Salesforce keeps the Website)."""
        external = self.provisioning.external_id_field(COMPANIES)
        has_external = self.provisioning.field_described(COMPANIES, external) is not None
        asked = [p for p in properties if p not in ("domain", "website", id_property)]
        columns = self._columns(COMPANIES, asked)
        select = ["Id", "Website", *([external] if has_external else []), *columns.values()]
        rows = self.http.query(f"SELECT {', '.join(dict.fromkeys(select))} FROM Account")
        companies = []
        for row in rows:
            values = {name: text_value(row.get(api)) for name, api in columns.items()}
            values["website"] = text_value(row.get("Website"))
            values[id_property] = text_value(row.get(external)) if has_external else ""
            companies.append(CRMRecord(str(row["Id"]), values))
        return companies

    def preview(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> PropertyPreview:
        """The custom fields the run would create (or lack, `salesforce_create_fields` off)."""
        missing, skipped = self.provisioning.preview(object_type, definitions)
        targets = self.provisioning.targets.get(object_type, {})
        by_api_name = {targets[d.name].api_name: d for d in definitions if d.name in targets}
        created = [
            by_api_name.get(spec.api_name)
            or PropertyDefinition(
                name=spec.full_name,
                label=spec.label,
                type="string",
                field_type="text",
                group_name=group.name,
                has_unique_value=spec.external_id,
            )
            for spec in missing
        ]
        problem = None
        if missing and not self.settings.create_fields:
            names = ", ".join(spec.full_name for spec in missing)
            problem = (
                f"Salesforce lacks {len(missing)} fields and salesforce_create_fields is false: "
                f"the real run stops before writing and writes the metadata package ({names})"
            )
        return PropertyPreview(missing=created, skipped=skipped, problem=problem)

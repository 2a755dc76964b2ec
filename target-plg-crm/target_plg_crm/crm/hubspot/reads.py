"""Reads that match records to a portal's objects: batch reads by key, the company list.

Matching costs one batch read per 100 records (never the search endpoint, which is slow
and lags writes) and, for domain matching, one page per 100 companies of the portal,
listed at most once a run. Also the read-only preview of property provisioning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from target_plg_crm.crm.hubspot.client import HubSpotHTTP, chunks
from target_plg_crm.crm.hubspot.errors import error_summary, response_body, unexpected
from target_plg_crm.crm.hubspot.provisioning import HubSpotProvisioning, incompatibility
from target_plg_crm.crm.object_types import COMPANIES, CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, PropertyPreview

#: Largest page HubSpot's list endpoints give.
PAGE_SIZE = 100


def _record(result: Mapping[str, Any]) -> CRMRecord:
    properties = result.get("properties") or {}
    return CRMRecord(
        str(result.get("id")),
        {str(k): str(v) for k, v in properties.items() if v is not None},
    )


class HubSpotReads:
    """Batch reads with properties, the paged company list and the provisioning preview."""

    def __init__(self, http: HubSpotHTTP, provisioning: HubSpotProvisioning) -> None:
        """Read through `http`; which properties exist comes from `provisioning`."""
        self.http = http
        self.provisioning = provisioning
        self._companies: dict[tuple[str, ...], list[CRMRecord]] = {}

    def _known(self, object_type: str, names: Sequence[str]) -> list[str]:
        existing = self.provisioning.existing_properties(object_type)
        return [n for n in dict.fromkeys(names) if n in existing]

    def read_objects(
        self,
        object_type: str,
        id_property: str,
        keys: Sequence[str],
        properties: Sequence[str],
    ) -> dict[str, CRMRecord]:
        """The existing objects among `keys`, by key as given, with `properties`."""
        if not keys or not self._known(object_type, [id_property]):
            return {}  # a property nobody created yet: no object holds it
        wanted = self._known(object_type, [id_property, *properties])
        normal = {(k.lower() if object_type == CONTACTS else k): k for k in keys}
        found: dict[str, CRMRecord] = {}
        for chunk in chunks(list(normal)):
            body = {
                "idProperty": id_property,
                "properties": wanted,
                "propertiesWithHistory": [],
                "inputs": [{"id": k} for k in chunk],
            }
            response = self.http.request("POST", f"/crm/v3/objects/{object_type}/batch/read", body)
            if response.status_code not in (200, 207):
                code, _ = error_summary(response_body(response), response.status_code)
                if response.status_code == 404 or code in ("OBJECT_NOT_FOUND",):
                    continue
                raise unexpected(response, f"read {object_type} by {id_property}")
            for result in response_body(response).get("results") or []:
                if not isinstance(result, dict) or result.get("id") is None:
                    continue
                record = _record(result)
                value = record.properties.get(id_property)
                key = value.lower() if value and object_type == CONTACTS else value
                if key in normal:
                    found[normal[key]] = record
        return found

    def list_companies(self, properties: Sequence[str]) -> list[CRMRecord]:
        """Every company of the portal with `properties`, 100 a page (listed once a run)."""
        wanted = tuple(self._known(COMPANIES, properties))
        if wanted in self._companies:
            return self._companies[wanted]
        companies: list[CRMRecord] = []
        after: str | None = None
        while True:
            query: dict[str, Any] = {"limit": PAGE_SIZE, "archived": "false"}
            if wanted:
                query["properties"] = ",".join(wanted)
            if after:
                query["after"] = after
            response = self.http.request("GET", f"/crm/v3/objects/{COMPANIES}?{urlencode(query)}")
            if response.status_code != 200:
                raise unexpected(response, "list the companies")
            body = response_body(response)
            companies.extend(_record(r) for r in body.get("results") or [] if isinstance(r, dict))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
        self._companies[wanted] = companies
        return companies

    def preview_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> PropertyPreview:
        """What `ensure_properties` would create, extend with options, or skip."""
        existing = self.provisioning.existing_properties(object_type)
        preview = PropertyPreview()
        for definition in definitions:
            current = existing.get(definition.name)
            if current is None:
                preview.missing.append(definition)
                continue
            problem = incompatibility(definition, current)
            if problem and definition.has_unique_value:
                preview.problem = (
                    f"{object_type} property {definition.name!r} cannot be the key: {problem}"
                )
            elif problem:
                preview.skipped[definition.name] = problem
            elif definition.type == "enumeration":
                known = {
                    o.get("value") for o in current.get("options") or [] if isinstance(o, dict)
                }
                new = [o for o in dict.fromkeys(definition.options) if o not in known]
                if new:
                    preview.new_options[definition.name] = new
        preview.group_missing = bool(preview.missing) and not any(
            p.get("groupName") == group.name for p in existing.values()
        )
        return preview

"""The HubSpot emulator's owners and tasks, as docs/crm-contract.md describes them.

- `GET /crm/v3/owners?limit&after`: the owners in id order, paged
  (`paging.next.after` while more remain); needs `crm.objects.owners.read`.
- `POST /crm/v3/objects/tasks/batch/create`: at most 100 inputs; `hs_timestamp` is
  required (ISO 8601 or epoch milliseconds); `hs_task_status`, `hs_task_priority`,
  `hs_task_type` take only their values; `hubspot_owner_id` must name an owner; other
  properties must be task properties; each association goes to an existing contact with
  type 204 or an existing company with type 192, category `HUBSPOT_DEFINED`. With a
  trace id on every input a bad input is a 207 error naming it; without, a 400.
- `POST /crm/v3/objects/tasks/batch/read` (by id) and
  `POST /crm/v4/associations/{contacts|companies}/tasks/batch/read`, so a client can
  find the tasks it created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TASK_CONTACT_TYPE = 204
TASK_COMPANY_TYPE = 192
TASK_OPTIONS = {
    "hs_task_status": ("NOT_STARTED", "COMPLETED"),
    "hs_task_priority": ("LOW", "MEDIUM", "HIGH"),
    "hs_task_type": ("TODO", "CALL", "EMAIL"),
}
TASK_PROPERTIES = {
    "hs_timestamp",
    "hs_task_subject",
    "hs_task_body",
    "hubspot_owner_id",
    *TASK_OPTIONS,
}
OWNERS_SCOPE = "crm.objects.owners.read"

Problem = tuple[str, str]


def _is_timestamp(value: Any, is_datetime: Callable[[str], bool]) -> bool:
    return isinstance(value, str) and (value.isdigit() or is_datetime(value))


def task_problem(
    item: dict[str, Any],
    owners: set[str],
    objects: dict[str, dict[int, dict[str, str]]],
    is_datetime: Callable[[str], bool],
) -> Problem | None:
    """(code, message) of what HubSpot refuses in one task input, or None."""
    properties = item.get("properties")
    if not isinstance(properties, dict):
        return "VALIDATION_ERROR", "A task needs properties"
    unknown = sorted(set(properties) - TASK_PROPERTIES)
    if unknown:
        return "PROPERTY_DOESNT_EXIST", f"Property values were not valid: {unknown} do not exist"
    if not all(isinstance(v, str) for v in properties.values()):
        return "VALIDATION_ERROR", "Property values must be strings"
    if "hs_timestamp" not in properties:
        return "REQUIRED_PROPERTY", "Required property hs_timestamp is missing"
    if not _is_timestamp(properties["hs_timestamp"], is_datetime):
        return "INVALID_DATE", f"{properties['hs_timestamp']!r} is not a valid hs_timestamp"
    for name, allowed in TASK_OPTIONS.items():
        if name in properties and properties[name] not in allowed:
            return (
                "INVALID_OPTION",
                f"{properties[name]!r} was not one of the allowed options for {name}: "
                f"{list(allowed)}",
            )
    owner = properties.get("hubspot_owner_id")
    if owner is not None and owner not in owners:
        return "INVALID_OPTION", f"{owner!r} was not one of the allowed options (owners)"
    return association_problem(item.get("associations") or [], objects)


def association_problem(
    associations: Any, objects: dict[str, dict[int, dict[str, str]]]
) -> Problem | None:
    """A task's association to a missing object or with another type id is refused."""
    if not isinstance(associations, list):
        return "VALIDATION_ERROR", "associations must be a list"
    for association in associations:
        to = association.get("to") if isinstance(association, dict) else None
        types = association.get("types") if isinstance(association, dict) else None
        if not isinstance(to, dict) or not isinstance(types, list) or not types:
            return "VALIDATION_ERROR", "An association needs `to` and `types`"
        try:
            target = int(str(to.get("id")))
        except ValueError:
            return "VALIDATION_ERROR", f"{to.get('id')!r} is not an object id"
        for kind in types:
            type_id = kind.get("associationTypeId") if isinstance(kind, dict) else None
            category = kind.get("associationCategory") if isinstance(kind, dict) else None
            object_type = {TASK_CONTACT_TYPE: "contacts", TASK_COMPANY_TYPE: "companies"}.get(
                type_id  # type: ignore[arg-type]
            )
            if category != "HUBSPOT_DEFINED" or object_type is None:
                return (
                    "INVALID_ASSOCIATION_TYPE",
                    f"association type {category}/{type_id} is not valid from tasks",
                )
            if target not in objects[object_type]:
                return "OBJECT_NOT_FOUND", f"No {object_type} with id {target}"
    return None

"""The errors the local CRM answers with, worded as HubSpot's (crm-contract.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.writes import WriteResult


def property_doesnt_exist(names: Iterable[str]) -> WriteResult:
    """The reject of a write naming properties that were never created."""
    return WriteResult.rejected(
        "PROPERTY_DOESNT_EXIST",
        f"Property values were not valid: properties {sorted(names)} do not exist",
    )


def invalid_option(value: str, name: str, options: Sequence[str]) -> WriteResult:
    """The reject of an enumeration value that is not one of the property's options."""
    return WriteResult.rejected(
        "INVALID_OPTION",
        f"{value!r} was not one of the allowed options of {name}: {list(options)}",
    )


def unknown_object_type(object_type: str) -> CRMError:
    """A call for an object type the local CRM does not hold."""
    return CRMError(f"Unknown object type {object_type!r}")


def too_many_inputs(count: int, limit: int) -> CRMError:
    """A batch larger than HubSpot accepts (HubSpot answers 400)."""
    return CRMError(f"At most {limit} inputs per batch, got {count}")


def duplicate_ids(keys: Iterable[str]) -> CRMError:
    """A batch naming one object twice (HubSpot answers 400 VALIDATION_ERROR)."""
    return CRMError(f"Duplicate IDs found in batch input: {sorted(keys)}. IDs must be unique")


def non_unique_id_property(object_type: str, id_property: str) -> CRMError:
    """An upsert by a property created without `hasUniqueValue` (HubSpot answers 400)."""
    return CRMError(
        f"Unable to perform update/upsert by non-unique {object_type} property "
        f"{id_property!r}: it must be created with hasUniqueValue"
    )


def invalid_property_name(name: str) -> CRMError:
    """A property name HubSpot would refuse to create."""
    return CRMError(
        f"Property name {name!r} is not valid: use lower-case letters, digits and _ and "
        "start with a letter"
    )

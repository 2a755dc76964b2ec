"""`LocalCRM`: the `local` CRM behind the CRM interface, HubSpot's rules on a SQLite file.

It refuses what HubSpot refuses (unknown properties, invalid e-mails, enumeration values
outside the options, upserts by a non-unique property, duplicate ids or more than 100
inputs in one call, associations to ids that do not exist), so a run that succeeds
here would have been accepted by HubSpot too. The demo's report reads its tables
(`client.SCHEMA`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from target_plg_crm.crm.interface import CRMClient
from target_plg_crm.crm.local import associations, objects, provisioning, tasks
from target_plg_crm.crm.local.client import locked_file_as_crm_error, open_crm_file
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import CRMRecord, PropertyPreview, UpdateInput
from target_plg_crm.crm.tasks import Owner, TaskInput, TaskResult
from target_plg_crm.crm.writes import AssociationInput, UpsertInput, WriteResult


class LocalCRM(CRMClient):
    """HubSpot's object, property and association rules on a SQLite file."""

    supports_tasks = True
    max_batch_size = 100

    def __init__(
        self, path: Path, *, read_only: bool = False, lock_wait_seconds: float = 60.0
    ) -> None:
        """Open (or create) the CRM file; `read_only` never creates nor writes it.

        A file another program holds locked is waited for up to `lock_wait_seconds`
        (per statement), then the run stops with one line naming the setting.
        """
        self.path = path
        self.starts_empty = not path.exists()
        self.lock_wait_seconds = lock_wait_seconds
        self._db = open_crm_file(path, read_only=read_only, lock_wait_seconds=lock_wait_seconds)
        if not read_only:
            with self._waiting():
                tasks.create_tables(self._db)

    def _waiting(self) -> AbstractContextManager[None]:
        """Around every statement: a lock held too long becomes a one-line CRMError."""
        return locked_file_as_crm_error(self.path, self.lock_wait_seconds)

    @property
    def identity(self) -> str:
        """`local:` + the absolute path of the file."""
        return f"local:{self.path.resolve()}"

    def close(self) -> None:
        """Close the SQLite connection."""
        self._db.close()

    def ensure_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> None:
        """Create missing properties and add new enumeration options (never removes)."""
        objects.check_object_type(object_type)
        with self._waiting():
            provisioning.ensure_properties(self._db, object_type, definitions)

    def upsert(
        self,
        object_type: str,
        id_property: str,
        inputs: Sequence[UpsertInput],
    ) -> list[WriteResult]:
        """Create or update objects by e-mail (contacts) or a unique property (companies)."""
        with self._waiting():
            return objects.upsert(self._db, object_type, id_property, inputs, self.max_batch_size)

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """CRM ids of the existing objects among `keys`, keyed as given."""
        with self._waiting():
            return objects.find_ids(self._db, object_type, keys)

    def associate(self, inputs: Sequence[AssociationInput]) -> list[WriteResult]:
        """Create associations or set their labels; one primary company per contact."""
        with self._waiting():
            return associations.associate(self._db, inputs, self.max_batch_size)

    def property_names(self, object_type: str) -> set[str]:
        """Created properties and the built-in ones."""
        objects.check_object_type(object_type)
        with self._waiting():
            created = provisioning.read_properties(self._db, object_type)
        return set(created) | objects.SYSTEM_PROPERTIES[object_type]

    def preview_properties(
        self,
        object_type: str,
        group: PropertyGroup,
        definitions: Sequence[PropertyDefinition],
    ) -> PropertyPreview:
        """What `ensure_properties` would create or extend with options (never skips)."""
        _ = group  # the local CRM has no group table
        with self._waiting():
            existing = provisioning.read_properties(self._db, object_type)
        preview = PropertyPreview()
        for definition in definitions:
            current = existing.get(definition.name)
            if current is None:
                preview.missing.append(definition)
            elif current.type == "enumeration":
                new = [o for o in dict.fromkeys(definition.options) if o not in current.options]
                if new:
                    preview.new_options[definition.name] = new
        return preview

    def read_objects(
        self,
        object_type: str,
        id_property: str,
        keys: Sequence[str],
        properties: Sequence[str],
    ) -> dict[str, CRMRecord]:
        """Existing objects among `keys` with `properties`."""
        _ = id_property  # contacts by e-mail, companies by their key column
        with self._waiting():
            return objects.read_objects(self._db, object_type, keys, properties)

    def list_companies(self, properties: Sequence[str]) -> list[CRMRecord]:
        """Every company with `properties`."""
        with self._waiting():
            return objects.list_companies(self._db, properties)

    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Update existing objects by id."""
        with self._waiting():
            return objects.update(self._db, object_type, inputs, self.max_batch_size)

    def list_owners(self) -> list[Owner]:
        """The owners table (empty until someone adds owners)."""
        with self._waiting():
            return tasks.list_owners(self._db)

    def record_owners(self, object_type: str, crm_ids: Sequence[str]) -> dict[str, str]:
        """`hubspot_owner_id` of the objects that have one."""
        with self._waiting():
            return tasks.record_owners(self._db, object_type, crm_ids)

    def create_tasks(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """Create tasks under HubSpot's rules (see `tasks`)."""
        with self._waiting():
            return tasks.create_tasks(self._db, inputs)

    def find_tasks(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        """The tasks among `inputs` that exist, found by their marker."""
        with self._waiting():
            return tasks.find_tasks(self._db, inputs)

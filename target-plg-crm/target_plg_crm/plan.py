"""The dry run's plan: what a real run would create, update, associate, reject, and its calls.

Filled by the sinks (records, associations, rejects) and by the dry-run CRM (properties,
labels, calls), then written as JSON to `plan_path` and summarised in the log. The call
counts are those of the real run (HubSpot's endpoints; for the local CRM, the calls a
HubSpot run of the same records would make).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from target_plg_crm.crm.property_definitions import PropertyDefinition
from target_plg_crm.property_plan import json_default

#: Record lines shown in the log per object type (the plan file has all of them).
LOGGED_RECORDS = 20


def _definition(definition: PropertyDefinition) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "name": definition.name,
        "label": definition.label,
        "type": definition.type,
        "fieldType": definition.field_type,
        "groupName": definition.group_name,
    }
    if definition.options:
        shown["options"] = list(definition.options)
    if definition.has_unique_value:
        shown["hasUniqueValue"] = True
    return shown


@dataclass
class PropertyChanges:
    """Property provisioning of one object type in the plan."""

    group_to_create: str | None = None
    create: dict[str, PropertyDefinition] = field(default_factory=dict)
    add_options: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "group_to_create": self.group_to_create,
            "create": [_definition(d) for d in self.create.values()],
            "add_options": self.add_options,
            "skipped": self.skipped,
        }


@dataclass
class Plan:
    """Everything a dry run found a real run would do."""

    crm: str
    settings: dict[str, Any]
    properties: dict[str, PropertyChanges] = field(default_factory=dict)
    labels_to_create: list[str] = field(default_factory=list)
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    associations: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    playbook_actions: list[dict[str, Any]] = field(default_factory=list)
    #: Counts the calls of the real run's matching reads (set by the dry-run CRM, which
    #: knows its CRM's endpoints): (object type, id property, records read).
    read_calls: Callable[[str, str, int], None] | None = None

    def add_read_calls(self, object_type: str, id_property: str, records: int) -> None:
        """The real run reads `records` records of `object_type` by `id_property`."""
        if self.read_calls is not None:
            self.read_calls(object_type, id_property, records)

    def property_changes(self, object_type: str) -> PropertyChanges:
        """The provisioning entry of `object_type` (created empty)."""
        return self.properties.setdefault(object_type, PropertyChanges())

    def add_calls(self, endpoint: str, count: int = 1) -> None:
        """Count calls the real run would make to `endpoint` (`METHOD path`)."""
        if count > 0:
            self.calls[endpoint] += count

    def add_record(
        self,
        object_type: str,
        key: str,
        action: str,
        *,
        crm_id: str | None,
        matched_by: str | None,
        properties: Mapping[str, str],
        current: Mapping[str, str] | None,
    ) -> None:
        """A record to create, adopt or update: the old and new value of each changed property."""
        old = current or {}
        changes = {
            name: {"old": old.get(name), "new": value}
            for name, value in sorted(properties.items())
            if (old.get(name) or "") != value
        }
        self.records.setdefault(object_type, []).append(
            {
                "key": key,
                "action": action,
                "crm_id": crm_id,
                "matched_by": matched_by,
                "changes": changes,
            }
        )

    def add_association(
        self,
        key: str,
        contact: str,
        company: str,
        labels: Sequence[str],
        previous: Sequence[str] | None,
        fields: Mapping[str, object] | None = None,
    ) -> None:
        """An association to create or relabel.

        `fields`: what a CRM whose associations carry fields (Salesforce's
        AccountContactRelation: `role` and the relationship fields) would write.
        """
        before = set(previous or ())
        entry: dict[str, object] = {
            "key": key,
            "contact_id": contact,
            "company_id": company,
            "action": "create" if previous is None else "relabel",
            "labels": sorted(labels),
            "add_labels": sorted(set(labels) - before),
            "remove_labels": sorted(before - set(labels)),
        }
        if fields:
            entry["fields"] = dict(fields)
        self.associations.append(entry)

    def add_playbook_action(
        self, kind: str, playbook: str, key: str, payload: Mapping[str, Any]
    ) -> None:
        """A task or notification a playbook would create (`kind`: task or webhook)."""
        self.playbook_actions.append({"kind": kind, "playbook": playbook, "key": key, **payload})

    def add_reject(self, stream: str, key: str | None, code: str, reason: str) -> None:
        """A record the real run would reject."""
        self.rejects.append({"stream": stream, "key": key, "code": code, "reason": reason})

    def as_dict(self, counts: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
        """The plan file's content."""
        return {
            "generated_at": datetime.now(UTC).isoformat(),
            "crm": self.crm,
            "settings": self.settings,
            "stops": self.stops,
            "properties": {k: v.as_dict() for k, v in sorted(self.properties.items())},
            "association_labels_to_create": sorted(self.labels_to_create),
            "records": self.records,
            "associations": self.associations,
            "rejects": self.rejects,
            "playbooks": self.playbook_actions,
            "counts": {k: dict(v) for k, v in sorted(counts.items())},
            "calls": {
                "total": sum(self.calls.values()),
                "by_endpoint": dict(sorted(self.calls.items())),
            },
        }

    def write(self, path: Path, counts: Mapping[str, Mapping[str, int]]) -> None:
        """Write the plan as JSON to `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.as_dict(counts), indent=2, default=json_default, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")

    def log(self, logger: logging.Logger, path: Path) -> None:
        """The readable summary: provisioning, records and their changes, rejects, calls."""
        for stop in self.stops:
            logger.warning("plan: the real run would stop: %s", stop)
        for object_type, changes in sorted(self.properties.items()):
            if changes.group_to_create:
                logger.info(
                    "plan: create %s property group %s", object_type, changes.group_to_create
                )
            if changes.create:
                logger.info(
                    "plan: create %d %s properties: %s",
                    len(changes.create),
                    object_type,
                    ", ".join(f"{d.name} ({d.type})" for d in changes.create.values()),
                )
            for name, options in sorted(changes.add_options.items()):
                logger.info("plan: add options to %s %s: %s", object_type, name, ", ".join(options))
            for name, reason in sorted(changes.skipped.items()):
                logger.info("plan: leave %s property %s alone: %s", object_type, name, reason)
        if self.labels_to_create:
            logger.info(
                "plan: create association labels: %s", ", ".join(sorted(self.labels_to_create))
            )
        for object_type, records in sorted(self.records.items()):
            for entry in records[:LOGGED_RECORDS]:
                logger.info("plan: %s", _record_line(object_type, entry))
            if len(records) > LOGGED_RECORDS:
                logger.info(
                    "plan: ... %d more %s in %s", len(records) - LOGGED_RECORDS, object_type, path
                )
        for entry in self.associations[:LOGGED_RECORDS]:
            logger.info(
                "plan: %s association %s (contact %s, company %s): +%s -%s",
                entry["action"],
                entry["key"],
                entry["contact_id"],
                entry["company_id"],
                entry["add_labels"],
                entry["remove_labels"],
            )
        if len(self.associations) > LOGGED_RECORDS:
            logger.info(
                "plan: ... %d more associations in %s",
                len(self.associations) - LOGGED_RECORDS,
                path,
            )
        for entry in self.playbook_actions[:LOGGED_RECORDS]:
            logger.info(
                "plan: playbook %s would %s for %s: %s",
                entry["playbook"],
                "create a task" if entry["kind"] == "task" else "notify",
                entry["key"],
                entry.get("subject") or entry.get("text"),
            )
        for entry in self.rejects[:LOGGED_RECORDS]:
            logger.info(
                "plan: reject %s %s: %s %s",
                entry["stream"],
                entry["key"],
                entry["code"],
                entry["reason"],
            )
        logger.info(
            "plan: the real run needs %d calls: %s",
            sum(self.calls.values()),
            ", ".join(f"{n} {e}" for e, n in sorted(self.calls.items())) or "none",
        )
        logger.info("plan: written to %s", path)


def _record_line(object_type: str, entry: Mapping[str, Any]) -> str:
    where = f" {entry['crm_id']}" if entry["crm_id"] else ""
    how = f" (matched by {entry['matched_by']})" if entry["matched_by"] else ""
    changes = "; ".join(
        f"{name}: {change['old']!r} -> {change['new']!r}"
        for name, change in entry["changes"].items()
    )
    head = f"{entry['action']} {object_type} {entry['key']}{where}{how}"
    return f"{head}: {changes or 'no value changes'}"

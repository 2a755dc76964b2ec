"""Association label names: the role of a contact at a company, its flags, and `primary`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: The label of a contact's association with its primary company.
PRIMARY_LABEL = "primary"


def label_name(role: str) -> str:
    """An association label name from a role: `Billing Owner` -> `billing_owner`."""
    return re.sub(r"[^a-z0-9]+", "_", role.strip().lower()).strip("_")


def labels_from_fields(record: Mapping[str, Any], fields: Sequence[str]) -> set[str]:
    """The labels an association record's `fields` give.

    Text: one label per `;`-separated value (`Billing Owner` -> `billing_owner`). A true
    boolean: the field's name without `is_` (`is_champion` -> `champion`). Other values
    (numbers, false, null) give none.
    """
    labels: set[str] = set()
    for name in fields:
        value = record.get(name)
        if value is True:
            labels.add(label_name(name.removeprefix("is_")))
        elif isinstance(value, str):
            labels.update(label_name(part) for part in value.split(";"))
    labels.discard("")
    labels.discard(PRIMARY_LABEL)  # only the contact's primary account gives it
    return labels

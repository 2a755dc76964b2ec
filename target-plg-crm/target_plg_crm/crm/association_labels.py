"""Association label names: the role of a contact at a company, and `primary`."""

from __future__ import annotations

import re

#: The label of a contact's association with its primary company.
PRIMARY_LABEL = "primary"


def label_name(role: str) -> str:
    """An association label name from a role: `Billing Owner` -> `billing_owner`."""
    return re.sub(r"[^a-z0-9]+", "_", role.strip().lower()).strip("_")

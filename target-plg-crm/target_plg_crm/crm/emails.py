"""The e-mail check every CRM client applies before writing a contact, and its reject."""

from __future__ import annotations

import re

from target_plg_crm.crm.writes import WriteResult

# HubSpot's own check is stricter in places; this is the common denominator that a
# dry run uses to predict rejects and the local CRM uses to enforce them.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_valid_email(value: str) -> bool:
    """Whether `value` is a plausible e-mail address (one @, a dot in the domain)."""
    return bool(_EMAIL.match(value))


def invalid_email(address: str) -> WriteResult:
    """The reject of a contact whose e-mail HubSpot would refuse (`INVALID_EMAIL`)."""
    return WriteResult.rejected("INVALID_EMAIL", f"Email address {address!r} is invalid")

"""The e-mail checks CRM clients apply before writing a contact, and their reject."""

from __future__ import annotations

import re

from target_plg_crm.crm.writes import WriteResult

# The common denominator of the CRMs (Salesforce's check).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# HubSpot's: ASCII only (no accented, zero-width or full-width characters), a local part
# of letters, digits and `._%+'-`, domain labels of letters, digits and `-`, and a top
# level domain of at least two letters. The local CRM enforces it, so that its rejects
# predict HubSpot's; the HubSpot emulator of the tests refuses the same addresses.
_HUBSPOT_EMAIL = re.compile(
    r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$", re.ASCII
)


def is_valid_email(value: str) -> bool:
    """Whether `value` is a plausible e-mail address (one @, a dot in the domain)."""
    return bool(_EMAIL.match(value))


def is_hubspot_email(value: str) -> bool:
    """Whether HubSpot accepts `value` as a contact's e-mail (see `_HUBSPOT_EMAIL`)."""
    return bool(_HUBSPOT_EMAIL.fullmatch(value))


def invalid_email(address: str) -> WriteResult:
    """The reject of a contact whose e-mail HubSpot would refuse (`INVALID_EMAIL`)."""
    return WriteResult.rejected("INVALID_EMAIL", f"Email address {address!r} is invalid")

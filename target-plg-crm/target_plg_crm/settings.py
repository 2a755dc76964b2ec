"""The target's settings, parsed once at start-up and validated there."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from singer_sdk.exceptions import ConfigValidationError

CRM_CHOICES = ("local", "hubspot", "salesforce")
# The shape HubSpot accepts for internal property and group names.
_CRM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url_problem(url: Any) -> str | None:
    """Why `url` cannot be HubSpot's base URL (https, or http on loopback only)."""
    if not isinstance(url, str) or not url.strip():
        return f"must be a URL, got {url!r}"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    if parts.query or parts.fragment or parts.username or parts.password:
        return f"{url!r} must not carry credentials, a query or a fragment"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return f"{url!r} uses plain http, which is accepted only for loopback addresses"
    return None


@dataclass(frozen=True)
class HubSpotOptions:
    """The `hubspot_*` settings (used when crm is hubspot); the token is kept out of repr."""

    access_token: str = field(repr=False)
    base_url: str
    max_retries: int
    backoff_base_seconds: float
    timeout_seconds: float


@dataclass(frozen=True)
class TargetSettings:
    """Everything the target needs from its config, typed."""

    crm: str
    local_path: Path
    ledger_path: Path
    rejects_path: Path
    summary_path: Path | None
    property_prefix: str
    property_group: str
    company_id_property: str
    change_ignored_fields: tuple[str, ...]
    dry_run: bool
    association_labels: bool = True
    hubspot: HubSpotOptions | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], defaults: Mapping[str, Any]) -> TargetSettings:
        """Parse `config` (missing keys take `defaults`); errors name the setting."""
        errors: list[str] = []

        def get(name: str) -> Any:
            value = config.get(name)
            return defaults.get(name) if value is None else value

        def path(name: str) -> Path:
            value = get(name)
            if not isinstance(value, str) or not value.strip():
                errors.append(f"{name}: must be a non-empty file path, got {value!r}")
                return Path()
            return Path(value).expanduser()

        def crm_name(name: str, *, allow_empty: bool = False) -> str:
            value = get(name)
            if not isinstance(value, str) or not (
                _CRM_NAME.match(value) or (allow_empty and value == "")
            ):
                errors.append(
                    f"{name}: {value!r} is not a valid CRM name (lower-case letters, digits "
                    "and _, starting with a letter)"
                )
                return ""
            return value

        crm = get("crm")
        if crm not in CRM_CHOICES:
            errors.append(f"crm: {crm!r} is not one of {list(CRM_CHOICES)}")
        prefix = get("property_prefix")
        if not isinstance(prefix, str) or not re.match(r"^([a-z][a-z0-9_]*)?$", prefix):
            errors.append(
                f"property_prefix: {prefix!r} must be lower-case letters, digits and _, "
                "starting with a letter (or empty)"
            )
            prefix = ""
        ignored = get("change_ignored_fields")
        if not isinstance(ignored, list) or not all(isinstance(f, str) for f in ignored):
            errors.append(f"change_ignored_fields: must be a list of field names, got {ignored!r}")
            ignored = []
        dry_run = get("dry_run")
        if not isinstance(dry_run, bool):
            errors.append(f"dry_run: must be true or false, got {dry_run!r}")
        summary = get("summary_path")
        association_labels = get("association_labels")
        if not isinstance(association_labels, bool):
            errors.append(f"association_labels: must be true or false, got {association_labels!r}")
        hubspot = _hubspot_options(get, errors) if crm == "hubspot" else None
        settings = cls(
            crm=str(crm),
            local_path=path("local_path"),
            ledger_path=path("ledger_path"),
            rejects_path=path("rejects_path"),
            summary_path=path("summary_path") if summary else None,
            property_prefix=prefix,
            property_group=crm_name("property_group"),
            company_id_property=crm_name("company_id_property"),
            change_ignored_fields=tuple(ignored),
            dry_run=bool(dry_run),
            association_labels=bool(association_labels),
            hubspot=hubspot,
        )
        if errors:
            raise ConfigValidationError("Invalid target-plg-crm settings", errors=errors)
        return settings


def _hubspot_options(get: Any, errors: list[str]) -> HubSpotOptions:
    """The hubspot_* settings; problems are appended to `errors` naming the setting."""
    token = get("hubspot_access_token")
    if not isinstance(token, str) or not token.strip():
        # Never echo the value: it may be a token pasted in the wrong place.
        errors.append("hubspot_access_token: required when crm is 'hubspot' (a private app token)")
        token = ""
    base_url = get("hubspot_base_url")
    problem = base_url_problem(base_url)
    if problem:
        errors.append(f"hubspot_base_url: {problem}")

    def number(name: str, low: float, *, integer: bool = False) -> float:
        value = get(name)
        # The SDK reads JSON numbers with a fraction as Decimal.
        kind = int if integer else (int, float, Decimal)
        if isinstance(value, bool) or not isinstance(value, kind) or value < low:
            what = "whole number" if integer else "number"
            errors.append(f"{name}: must be a {what} >= {low}, got {value!r}")
            return low
        return float(value)

    return HubSpotOptions(
        access_token=token.strip(),
        base_url=str(base_url).strip().rstrip("/") if not problem else "",
        max_retries=int(number("hubspot_max_retries", 0, integer=True)),
        backoff_base_seconds=float(number("hubspot_backoff_base_seconds", 0)),
        timeout_seconds=float(number("hubspot_timeout_seconds", 0.1)),
    )

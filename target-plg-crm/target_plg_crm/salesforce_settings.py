"""The `salesforce_*` settings: declared once (in `settings.CONFIG_SCHEMA`), checked, typed.

Kept apart from the other settings so that the Salesforce ones read as one block: the
OAuth flow and its credentials, the org's URLs and API version, what the target may
create in the org, and the limits it keeps to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from plg_settings import SettingProblems
from singer_sdk import typing as th

from target_plg_crm.loopback import is_loopback_host

CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "jwt_bearer"
#: A custom field's API name: letters, digits, single underscores, ending in `__c`.
CUSTOM_FIELD_PATTERN = "^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$"
API_VERSION_PATTERN = r"^[1-9][0-9]\.0$"
#: A permission set's API name (Salesforce's rules for developer names).
DEVELOPER_NAME_PATTERN = "^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*[A-Za-z0-9]$"

SALESFORCE_PROPERTIES = [
    th.Property(
        "salesforce_login_url",
        th.StringType(min_length=1),
        default="https://login.salesforce.com",
        title="Salesforce login URL",
        description=(
            "Where the target asks for its OAuth token (`POST <url>/services/oauth2/token`): "
            "`https://login.salesforce.com`, `https://test.salesforce.com` for a sandbox, or "
            "the org's My Domain URL (`https://<domain>.my.salesforce.com`, required for "
            "the client credentials flow). `https`; plain `http` only on loopback (an "
            "emulator). The JWT's audience is this URL."
        ),
    ),
    th.Property(
        "salesforce_api_version",
        th.StringType(pattern=API_VERSION_PATTERN),
        default="62.0",
        title="Salesforce API version",
        description="REST API version of every call (`/services/data/v<version>/`), e.g. `62.0`.",
    ),
    th.Property(
        "salesforce_auth_flow",
        th.StringType,
        default=CLIENT_CREDENTIALS,
        allowed_values=[CLIENT_CREDENTIALS, JWT_BEARER],
        title="Salesforce OAuth flow",
        description=(
            "`client_credentials`: the connected app's consumer key and secret, the app's "
            "Run-As user writes (`salesforce_client_id`, `salesforce_client_secret`). "
            "`jwt_bearer`: an RS256 assertion signed with `salesforce_private_key` for "
            "`salesforce_username` (the app holds the certificate)."
        ),
    ),
    th.Property(
        "salesforce_client_id",
        th.StringType,
        title="Salesforce client id",
        description="The connected app's consumer key. Required when `crm` is `salesforce`.",
    ),
    th.Property(
        "salesforce_client_secret",
        th.StringType,
        secret=True,
        title="Salesforce client secret",
        description=(
            "The connected app's consumer secret; required by the `client_credentials` flow. "
            "Never logged."
        ),
    ),
    th.Property(
        "salesforce_username",
        th.StringType,
        title="Salesforce username",
        description=(
            "The integration user's username (the JWT's subject); required by the "
            "`jwt_bearer` flow."
        ),
    ),
    th.Property(
        "salesforce_private_key",
        th.StringType,
        secret=True,
        title="Salesforce private key",
        description=(
            "PEM RSA private key whose certificate the connected app holds; signs the "
            "`jwt_bearer` assertion. Checked at start-up; never logged."
        ),
    ),
    th.Property(
        "salesforce_create_fields",
        th.BooleanType,
        default=True,
        title="Create Salesforce fields",
        description=(
            "Create the missing custom fields through the Tooling API and grant them to the "
            "integration user with the permission set `salesforce_permission_set` (needs "
            "Customize Application and Manage Users or an admin's profile). False: a run "
            "that misses fields stops before writing, lists them and writes a metadata "
            "package to `salesforce_metadata_path` for an admin to deploy."
        ),
    ),
    th.Property(
        "salesforce_metadata_path",
        th.StringType(min_length=1),
        default="output/salesforce_fields",
        title="Salesforce metadata package folder",
        description=(
            "Folder where the metadata package of the missing fields (package.xml, "
            "objects/, permissionsets/) is written when `salesforce_create_fields` is false."
        ),
    ),
    th.Property(
        "salesforce_permission_set",
        th.StringType(pattern=DEVELOPER_NAME_PATTERN),
        default="PLG_CRM_Sync",
        title="Salesforce permission set",
        description=(
            "API name of the permission set that grants read and edit on the target's "
            "fields; created and assigned to the integration user when missing."
        ),
    ),
    th.Property(
        "salesforce_account_external_id_field",
        th.StringType(pattern=CUSTOM_FIELD_PATTERN),
        default="PLG_Account_Id__c",
        title="Salesforce Account external id field",
        description=(
            "Account custom field (External ID, unique) holding the record's `account_id`; "
            "Accounts are upserted by it."
        ),
    ),
    th.Property(
        "salesforce_contact_external_id_field",
        th.StringType(pattern=CUSTOM_FIELD_PATTERN),
        default="PLG_User_Id__c",
        title="Salesforce Contact external id field",
        description=(
            "Contact custom field (External ID, unique) holding the record's `user_id`; "
            "Contacts are upserted by it, after existing Contacts with the same e-mail "
            "were adopted (given this id)."
        ),
    ),
    th.Property(
        "salesforce_deactivate_ended_memberships",
        th.BooleanType,
        default=True,
        title="Deactivate ended memberships",
        description=(
            "A membership written before and missing from this run's `associations` stream "
            "has ended: its AccountContactRelation gets IsActive false and EndDate today "
            "(never deleted; it comes back active if the membership does). Only for a stream "
            "that carries every membership on each run, as plg-transform's does; false for "
            "a tap that sends changes only."
        ),
    ),
    th.Property(
        "salesforce_add_role_values",
        th.BooleanType,
        default=True,
        title="Add Salesforce role values",
        description=(
            "A role the restricted `Roles` picklist of AccountContactRelation lacks is "
            "added to its standard value set (`AccountContactMultiRoles`) through the "
            "Metadata API before the relations are written; the values it has are kept. "
            "Needs the Modify Metadata permission. False, or when Salesforce refuses: the "
            "relation is rejected with a reason naming the value."
        ),
    ),
    th.Property(
        "salesforce_bulk_threshold",
        th.IntegerType(minimum=1),
        default=2000,
        title="Salesforce Bulk API threshold",
        description=(
            "More changed Accounts or Contacts than this in one batch are upserted through "
            "one Bulk API 2.0 ingest job per object type instead of sObject Collections "
            "calls of 200 (adopted Contacts and relations always use collections)."
        ),
    ),
    th.Property(
        "salesforce_daily_limit_share",
        th.NumberType(exclusive_minimum=0, maximum=1),
        default=0.9,
        title="Salesforce daily limit share",
        description=(
            "Stop cleanly (no call sent, STATE not advanced past what was accepted) once "
            "the org's daily API usage (`Sforce-Limit-Info`) reaches this share of its limit, "
            "leaving the rest to the org's other integrations."
        ),
    ),
    th.Property(
        "salesforce_field_visibility_timeout_seconds",
        th.NumberType(minimum=0),
        default=300.0,
        title="Salesforce field visibility wait (seconds)",
        description=(
            "Advanced: after creating fields and granting them, the target describes the "
            "object (with backoff) until the integration user sees them, for at most this "
            "long: Salesforce applies new field-level security after a moment. Past it, the "
            "run stops before writing to that object; the next run carries on."
        ),
    ),
    th.Property(
        "salesforce_max_retries",
        th.IntegerType(minimum=0),
        default=6,
        title="Salesforce retries",
        description=(
            "Advanced: retries of a request answered 5xx, UNABLE_TO_LOCK_ROW or not at "
            "all, before the run fails (a record still locked is rejected)."
        ),
    ),
    th.Property(
        "salesforce_backoff_base_seconds",
        th.NumberType(minimum=0),
        default=1.0,
        title="Salesforce backoff base (seconds)",
        description="Advanced: wait before the first retry, doubled each time (at most 60 s).",
    ),
    th.Property(
        "salesforce_timeout_seconds",
        th.NumberType(exclusive_minimum=0),
        default=60.0,
        title="Salesforce timeout (seconds)",
        description="Advanced: seconds to wait for a Salesforce answer before retrying.",
    ),
]


#: `native_fields` properties (HubSpot's names and Salesforce's, lower case) that govern the
#: standard fields the Salesforce target writes itself, per object type.
NATIVE_MODE_FIELDS = {
    "contacts": {
        "firstname": "FirstName",
        "lastname": "LastName",
        "jobtitle": "Title",
        "title": "Title",
    },
    "companies": {"name": "Name", "domain": "Website", "website": "Website"},
}


def if_empty_standard_fields(native_fields: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Per object type, the standard fields written only where Salesforce holds no value:
    those a `native_fields` entry in `if_empty` mode names (`firstname` -> FirstName)."""
    fields: dict[str, frozenset[str]] = {}
    for object_type, names in NATIVE_MODE_FIELDS.items():
        fields[object_type] = frozenset(
            names[str(item["property"]).lower()]
            for item in native_fields.get(object_type) or []
            if str(item["property"]).lower() in names and item.get("mode", "if_empty") == "if_empty"
        )
    return fields


def login_url_problem(url: str) -> str | None:
    """Why `url` cannot be the login URL (https, or http on loopback only)."""
    parts = urlsplit(url.strip())
    if parts.username or parts.password:
        return "must not carry credentials (they go in the salesforce_client_* settings)"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    if parts.query or parts.fragment or parts.path.strip("/"):
        return f"{url!r} must be the bare login or My Domain URL (no path, query or fragment)"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return f"{url!r} uses plain http, which is accepted only for loopback addresses"
    return None


def private_key_problem(pem: str) -> str | None:
    """Why `pem` cannot sign an RS256 assertion (never quoting the key)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        kind = "is encrypted" if "ENCRYPTED" in pem else "does not parse"
        return f"{kind}: give an unencrypted PEM RSA private key (-----BEGIN PRIVATE KEY-----)"
    except Exception:  # noqa: BLE001 - the backend's own errors; never echo the key
        return "does not parse as a PEM private key"
    if not isinstance(key, rsa.RSAPrivateKey):
        return "is not an RSA key (Salesforce's JWT bearer flow signs with RS256)"
    return None


def credential_setting(settings: SalesforceSettings) -> str:
    """The setting to fix when Salesforce refuses the sign-in (the flow's secret)."""
    if settings.auth_flow == JWT_BEARER:
        return "salesforce_private_key"
    return "salesforce_client_secret"


def check_salesforce_settings(config: Mapping[str, Any], problems: SettingProblems) -> None:
    """The rules a schema cannot say, when `crm` is `salesforce`."""
    problem = login_url_problem(config["salesforce_login_url"])
    if problem:
        problems.add("salesforce_login_url", problem)
    if not (config.get("salesforce_client_id") or "").strip():
        problems.add(
            "salesforce_client_id",
            "required when `crm` is `salesforce` (the connected app's consumer key)",
        )
    flow = config["salesforce_auth_flow"]
    if flow == CLIENT_CREDENTIALS and not (config.get("salesforce_client_secret") or "").strip():
        problems.add(
            "salesforce_client_secret",
            "required by `salesforce_auth_flow` `client_credentials` (the consumer secret)",
        )
    if flow == JWT_BEARER:
        if not (config.get("salesforce_username") or "").strip():
            problems.add(
                "salesforce_username",
                "required by `salesforce_auth_flow` `jwt_bearer` (the integration user)",
            )
        key = config.get("salesforce_private_key") or ""
        if not key.strip():
            problems.add(
                "salesforce_private_key",
                "required by `salesforce_auth_flow` `jwt_bearer` (a PEM RSA private key)",
            )
        else:
            problem = private_key_problem(key)
            if problem:
                problems.add("salesforce_private_key", problem)
    account_field = config["salesforce_account_external_id_field"]
    contact_field = config["salesforce_contact_external_id_field"]
    for name, value in (
        ("salesforce_account_external_id_field", account_field),
        ("salesforce_contact_external_id_field", contact_field),
    ):
        if len(value) - len("__c") > 40:
            problems.add(name, "a custom field name has at most 40 characters before `__c`")


@dataclass(frozen=True)
class SalesforceSettings:
    """The `salesforce_*` settings (when crm is salesforce); secrets kept out of repr."""

    login_url: str
    api_version: str
    auth_flow: str
    client_id: str
    client_secret: str = field(repr=False)
    username: str
    private_key: str = field(repr=False)
    create_fields: bool
    metadata_path: Path
    permission_set: str
    account_external_id_field: str
    contact_external_id_field: str
    daily_limit_share: float
    deactivate_ended_memberships: bool
    add_role_values: bool
    bulk_threshold: int
    #: Standard fields written only where empty, per object type (from `native_fields`).
    if_empty_fields: Mapping[str, frozenset[str]]
    field_visibility_timeout_seconds: float
    max_retries: int
    backoff_base_seconds: float
    timeout_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SalesforceSettings:
        """The settings of a validated config (defaults filled, `check_settings` passed)."""
        return cls(
            login_url=config["salesforce_login_url"].strip().rstrip("/"),
            api_version=config["salesforce_api_version"],
            auth_flow=config["salesforce_auth_flow"],
            client_id=config["salesforce_client_id"].strip(),
            client_secret=(config.get("salesforce_client_secret") or "").strip(),
            username=(config.get("salesforce_username") or "").strip(),
            private_key=(config.get("salesforce_private_key") or "").strip(),
            create_fields=config["salesforce_create_fields"],
            metadata_path=Path(config["salesforce_metadata_path"]).expanduser(),
            permission_set=config["salesforce_permission_set"],
            account_external_id_field=config["salesforce_account_external_id_field"],
            contact_external_id_field=config["salesforce_contact_external_id_field"],
            daily_limit_share=float(config["salesforce_daily_limit_share"]),
            deactivate_ended_memberships=config["salesforce_deactivate_ended_memberships"],
            add_role_values=config["salesforce_add_role_values"],
            bulk_threshold=config["salesforce_bulk_threshold"],
            if_empty_fields=if_empty_standard_fields(config.get("native_fields") or {}),
            field_visibility_timeout_seconds=float(
                config["salesforce_field_visibility_timeout_seconds"]
            ),
            max_retries=config["salesforce_max_retries"],
            backoff_base_seconds=float(config["salesforce_backoff_base_seconds"]),
            timeout_seconds=float(config["salesforce_timeout_seconds"]),
        )

"""The target's settings: declared once (schema), checked where JSON Schema cannot, then typed.

`CONFIG_SCHEMA` is the one declaration of every setting (type, default, bounds, allowed
values, title, description). The SDK and `plg_settings` validate a config against it and
fill its defaults; `check_settings` adds the rules a schema cannot say; `TargetSettings`
is then built from the validated config without checking or defaulting anything again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from plg_settings import SettingProblems
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink

from target_plg_crm.crm.tasks import TASK_PRIORITIES, TASK_TYPES
from target_plg_crm.loopback import is_loopback_host
from target_plg_crm.native_fields import NativeField, native_fields_from_config
from target_plg_crm.playbooks.config import (
    CROSSINGS,
    OWNER_SOURCES,
    PLAYBOOK_OBJECTS,
    Playbook,
    check_playbooks,
    playbooks_from_config,
)
from target_plg_crm.record_filter import referenced_fields
from target_plg_crm.salesforce_settings import (
    SALESFORCE_PROPERTIES,
    SalesforceSettings,
    check_salesforce_settings,
)

#: CRMs this version writes to.
AVAILABLE_CRMS = ("local", "hubspot", "salesforce")
#: The shape HubSpot accepts for internal property and group names.
CRM_NAME_PATTERN = "^[a-z][a-z0-9_]*$"
#: HubSpot's own properties start with it: the target never creates one.
RESERVED_PREFIX = "hs_"
#: How a company record can find its CRM company (in the order of `company_match`).
COMPANY_MATCH_KEYS = ("account_id", "domain")
SYNC_MODES = ("upsert", "update_only")
#: Streams `sync_filter` can filter, and object types `native_fields` can write to.
FILTERED_STREAMS = ("contacts", "companies", "associations")
NATIVE_OBJECT_TYPES = ("contacts", "companies")
NATIVE_MODES = ("if_empty", "overwrite")
DEFAULT_NATIVE_FIELDS: dict[str, list[dict[str, str]]] = {
    "contacts": [
        {"field": "firstName", "property": "firstname", "mode": "if_empty"},
        {"field": "lastName", "property": "lastname", "mode": "if_empty"},
        {"field": "title", "property": "jobtitle", "mode": "if_empty"},
    ],
    "companies": [
        {"field": "name", "property": "name", "mode": "if_empty"},
        {"field": "domain", "property": "domain", "mode": "if_empty"},
    ],
}
DEFAULT_ASSOCIATION_LABEL_FIELDS = ("role", "is_champion")

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "crm",
        th.StringType,
        default="local",
        allowed_values=list(AVAILABLE_CRMS),
        title="CRM",
        description=(
            "The CRM to write to. `local` is an embedded SQLite emulation of HubSpot "
            "(`local_path`); `hubspot` writes to a HubSpot portal with a private app "
            "token (`hubspot_access_token`); `salesforce` writes Contacts, Accounts and "
            "AccountContactRelations to a Salesforce org through a connected app "
            "(`salesforce_*`)."
        ),
    ),
    th.Property(
        "local_path",
        th.StringType(min_length=1),
        default="output/local_crm.sqlite",
        title="Local CRM file",
        description="SQLite file of the `local` CRM (created when missing).",
    ),
    th.Property(
        "local_lock_wait_seconds",
        th.NumberType(minimum=0, maximum=3600),
        default=60,
        title="Local CRM lock wait (seconds)",
        description=(
            "How long a write waits for the local CRM file (and the ledger) while another "
            "program holds a lock on it (a reader such as the report or a SQLite browser) "
            "before the run fails with a message naming this setting."
        ),
    ),
    th.Property(
        "on_leave",
        th.StringType,
        default="flag",
        allowed_values=["keep", "flag", "clear"],
        title="Records that leave the model",
        description=(
            "What happens, once, to a contact or company this suite wrote (known from the "
            "ledger) that the model's stream no longer carries (user merged, e-mail changed, "
            "account gone): `flag` sets `<property_prefix>in_product` to false (a property "
            "created for it; a record that comes back gets true), `clear` empties its "
            "`<property_prefix>` properties (the company key is kept), `keep` leaves it as "
            "it is. Applies to streams that carry `as_of` (the transform's whole model)."
        ),
    ),
    th.Property(
        "hubspot_access_token",
        th.StringType,
        secret=True,
        title="HubSpot access token",
        description=(
            "HubSpot private app access token (scopes: crm.objects.contacts.write, "
            "crm.objects.companies.write, crm.schemas.contacts.write, "
            "crm.schemas.companies.write and their read scopes). Required when `crm` "
            "is `hubspot`; never logged."
        ),
    ),
    th.Property(
        "hubspot_base_url",
        th.StringType(min_length=1),
        default="https://api.hubapi.com",
        title="HubSpot API base URL",
        description=(
            "HubSpot API base URL (`https`). Plain `http` is accepted only for loopback "
            "addresses (a local emulator)."
        ),
    ),
    th.Property(
        "hubspot_max_retries",
        th.IntegerType(minimum=0),
        default=6,
        title="HubSpot retries",
        description=(
            "Advanced: retries of a HubSpot request answered 429, 423, 5xx or not at "
            "all, before the run fails."
        ),
    ),
    th.Property(
        "hubspot_backoff_base_seconds",
        th.NumberType(minimum=0),
        default=1.0,
        title="HubSpot backoff base (seconds)",
        description=(
            "Advanced: wait before the first retry, doubled on each next one (with "
            "jitter, at most 60 s); a 423 waits at least 2 s at the default. Tests set "
            "it small."
        ),
    ),
    th.Property(
        "hubspot_timeout_seconds",
        th.NumberType(exclusive_minimum=0),
        default=30.0,
        title="HubSpot timeout (seconds)",
        description="Advanced: seconds to wait for a HubSpot answer before retrying.",
    ),
    th.Property(
        "ledger_path",
        th.StringType(min_length=1),
        default="output/ledger.sqlite",
        title="Ledger file",
        description=(
            "SQLite file remembering what the CRM last accepted per record, so "
            "unchanged records cost no CRM call. Losing it only costs extra writes."
        ),
    ),
    th.Property(
        "rejects_path",
        th.StringType(min_length=1),
        default="output/rejects.jsonl",
        title="Rejects file",
        description=(
            "JSON-lines file holding the records the latest run rejected, one line each "
            "with the reason; replaced at the end of every run (a failed run keeps the "
            "previous file). Rejected records are retried on the next run."
        ),
    ),
    th.Property(
        "run_history_path",
        th.StringType,
        default="output/run-history.jsonl",
        title="Run history file",
        description=(
            "JSON-lines file to which each run (dry runs too) appends one line: start and "
            "end, status (`succeeded` or `failed` with the error), CRM, dry run, records "
            "per object type and outcome, rejects, CRM calls per endpoint, retries and "
            "rate-limit waits. Empty string: not written."
        ),
    ),
    th.Property(
        "summary_path",
        th.StringType,
        default="output/last_run_summary.json",
        title="Run summary file",
        description=(
            "JSON file overwritten at the end of each run with the counts per object "
            "type (created, updated, unchanged, rejected, filtered, skipped). Empty string: "
            "not written."
        ),
    ),
    th.Property(
        "property_prefix",
        th.StringType(pattern=CRM_NAME_PATTERN),
        default="plg_",
        title="Property prefix",
        description=(
            "Prefix of the CRM property names: field `engagement_score` is written "
            "to property `plg_engagement_score`. Lower-case letters, digits and `_`, "
            "starting with a letter; never `hs_` (HubSpot's own)."
        ),
    ),
    th.Property(
        "property_group",
        th.StringType(pattern=CRM_NAME_PATTERN),
        default="product_usage",
        title="Property group",
        description=(
            "CRM property group holding the properties this target creates. Lower-case "
            "letters, digits and `_`, starting with a letter."
        ),
    ),
    th.Property(
        "company_id_property",
        th.StringType(pattern=CRM_NAME_PATTERN, max_length=99),
        default="plg_account_id",
        title="Company id property",
        description=(
            "Company property (created with a unique value) holding the record's "
            "`account_id`; companies are upserted by it. Lower-case letters, digits and "
            "`_`, starting with a letter; never `hs_`."
        ),
    ),
    th.Property(
        "association_labels",
        th.BooleanType,
        default=True,
        title="Association labels",
        description=(
            "Label each contact-company association with the contact's role (a "
            "HubSpot USER_DEFINED label, created when missing). False: associations "
            "carry only the unlabeled and primary types."
        ),
    ),
    th.Property(
        "change_ignored_fields",
        th.ArrayType(th.StringType(min_length=1)),
        default=["as_of"],
        title="Fields ignored for change detection",
        description=(
            "Fields whose change alone does not make a record changed (they are still "
            "written along with other changes). `as_of` changes on every run."
        ),
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        title="Dry run",
        description=(
            "Preview: read the CRM only and write the plan file (`plan_path`) and its "
            "summary in the log (what would be created, adopted, updated with old and "
            "new values, associated, labelled, rejected, and the calls needed); write "
            "nothing to the CRM, the ledger, the rejects or the summary file."
        ),
    ),
    th.Property(
        "plan_path",
        th.StringType(min_length=1),
        default="output/plan.json",
        title="Dry-run plan file",
        description=(
            "JSON file a dry run writes: the properties and association labels it would "
            "create, each record it would create, adopt or update with the old and new "
            "value of every changed property, the associations and labels it would add "
            "or remove, the records it would reject and why, and the calls the real run "
            "would need. Only written when `dry_run` is true."
        ),
    ),
    th.Property(
        "company_match",
        th.ArrayType(th.StringType(allowed_values=list(COMPANY_MATCH_KEYS))),
        default=list(COMPANY_MATCH_KEYS),
        title="Company matching",
        description=(
            "How a company record finds its CRM company, in order: `account_id` (the "
            "unique `company_id_property`), then `domain`: a company not found by account "
            "id adopts the one existing CRM company without an account id whose `domain` "
            "is the record's (normalised: lower case, no scheme, no `www.`, no path) "
            "instead of creating a duplicate; several such companies is a reject naming "
            "them. `[account_id]`: never match by domain."
        ),
    ),
    th.Property(
        "sync_mode",
        th.StringType,
        default="upsert",
        allowed_values=list(SYNC_MODES),
        title="Sync mode",
        description=(
            "`upsert`: create missing contacts and companies, update existing ones. "
            "`update_only`: write only the contacts and companies that already exist in "
            "the CRM; the others are counted as skipped (not rejected), and so are their "
            "associations."
        ),
    ),
    th.Property(
        "sync_filter",
        th.ObjectType(
            *(
                th.Property(
                    stream,
                    th.StringType(min_length=1),
                    title=f"Filter of {stream}",
                    description=f"SQL boolean over the fields of a `{stream}` record.",
                )
                for stream in FILTERED_STREAMS
            ),
            additional_properties=False,
        ),
        default={},
        title="Sync filter",
        description=(
            "Per stream (`contacts`, `companies`, `associations`), a DuckDB SQL boolean "
            "over the record's fields deciding which records are synced, e.g. "
            "`{contacts: 'engagement_score > 0 OR is_pql'}`. Records it leaves out are "
            "counted as filtered (not rejected) and the associations of filtered "
            "contacts and companies are not written. A record for which it is NULL or "
            "cannot be evaluated is left out."
        ),
    ),
    th.Property(
        "native_fields",
        th.ObjectType(
            *(
                th.Property(
                    object_type,
                    th.ArrayType(
                        th.ObjectType(
                            th.Property(
                                "field",
                                th.StringType(min_length=1),
                                required=True,
                                title="Record field",
                                description="The record's field (a trait such as `firstName`).",
                            ),
                            th.Property(
                                "property",
                                th.StringType(pattern=CRM_NAME_PATTERN),
                                required=True,
                                title="CRM property",
                                description="The CRM's own property, e.g. `firstname`.",
                            ),
                            th.Property(
                                "mode",
                                th.StringType,
                                default="if_empty",
                                allowed_values=list(NATIVE_MODES),
                                title="Mode",
                                description=(
                                    "`if_empty`: write only where the CRM has no value "
                                    "(never overwrite what a person typed); `overwrite`: "
                                    "always write."
                                ),
                            ),
                            additional_properties=False,
                        )
                    ),
                    title=f"Native fields of {object_type}",
                    description=f"Record fields written to HubSpot's own {object_type} properties.",
                )
                for object_type in NATIVE_OBJECT_TYPES
            ),
            additional_properties=False,
        ),
        default=DEFAULT_NATIVE_FIELDS,
        title="Native fields",
        description=(
            "Record fields also written to the CRM's own properties (besides their "
            "`<property_prefix>` copy), per object type, each `overwrite` or `if_empty`. "
            "Default: contacts firstName -> firstname, lastName -> lastname, title -> "
            "jobtitle; companies name -> name, domain -> domain; all `if_empty`. A field "
            "the stream does not carry, or a property the CRM does not have, is skipped "
            "with a warning."
        ),
    ),
    th.Property(
        "association_label_fields",
        th.ArrayType(th.StringType(min_length=1)),
        default=list(DEFAULT_ASSOCIATION_LABEL_FIELDS),
        title="Association label fields",
        description=(
            "Fields of an `associations` record that become association labels: a text "
            "field gives one label per `;`-separated value (`role: Billing Owner` -> "
            "`billing_owner`), a true boolean gives the field's name without `is_` "
            "(`is_champion` -> `champion`). Labels follow the values: added when a value "
            "appears, removed when it goes. Needs `association_labels: true`."
        ),
    ),
    *SALESFORCE_PROPERTIES,
    # Settings every singer-sdk target inherits, declared here so that they say what
    # they do for a CRM (the SDK only adds those a target does not declare itself).
    th.Property(
        "load_method",
        th.StringType,
        default="upsert",
        allowed_values=["upsert"],
        title="Load method",
        description=(
            "Always `upsert`: contacts are found by e-mail, companies by "
            "`company_id_property`, and updated in place. The SDK's `append-only` and "
            "`overwrite` mean nothing for a CRM and are refused."
        ),
    ),
    th.Property(
        "add_record_metadata",
        th.BooleanType,
        default=False,
        title="Add record metadata",
        description=(
            "Not supported: the SDK's `_sdc_*` metadata fields would become CRM "
            "properties rewritten on every run. Only `false` is accepted."
        ),
    ),
    th.Property(
        "batch_size_rows",
        th.IntegerType(minimum=1),
        title="Batch size (records)",
        description=(
            "Records of a stream held before they are written to the CRM (unset: "
            f"{BatchSink.MAX_SIZE_DEFAULT:,}). STATE waits for these writes; each CRM "
            "call still carries at most 100 records."
        ),
    ),
    th.Property(
        "validate_records",
        th.BooleanType,
        default=True,
        title="Validate records",
        description=(
            "Check each record against its stream's SCHEMA; a record that does not "
            "match is written to the rejects file and the run goes on. False: records "
            "are not checked (a value that does not fit its CRM property is still "
            "rejected)."
        ),
    ),
    th.Property(
        "playbooks",
        th.ArrayType(
            th.ObjectType(
                th.Property(
                    "name",
                    th.StringType(pattern=CRM_NAME_PATTERN, max_length=64),
                    required=True,
                    title="Name",
                    description="The playbook's name (lower case, digits, `_`), unique.",
                ),
                th.Property(
                    "object",
                    th.StringType,
                    required=True,
                    allowed_values=list(PLAYBOOK_OBJECTS),
                    title="Object",
                    description="`company` or `contact`: whose records `when` reads.",
                ),
                th.Property(
                    "when",
                    th.StringType(min_length=1),
                    required=True,
                    title="When",
                    description="DuckDB SQL boolean over the record's fields, e.g. `is_pqa`.",
                ),
                th.Property(
                    "on",
                    th.StringType,
                    default="enter",
                    allowed_values=list(CROSSINGS),
                    title="On",
                    description=(
                        "`enter`: `when` was false (or the record new) and is true; `exit`: "
                        "it was true and is false; `while`: it is true and the record "
                        "changed. Judged against what the CRM last accepted."
                    ),
                ),
                th.Property(
                    "fire_on_first_run",
                    th.BooleanType,
                    default=False,
                    title="Fire on first run",
                    description=(
                        "False: the playbook's first run on a CRM records where each "
                        "record stands without acting."
                    ),
                ),
                th.Property(
                    "choose",
                    th.ObjectType(
                        th.Property(
                            "where",
                            th.StringType(min_length=1),
                            title="Where",
                            description=(
                                "SQL boolean over the membership's and the contact's fields, "
                                "e.g. `role IN ('owner', 'admin')`."
                            ),
                        ),
                        th.Property(
                            "order_by",
                            th.StringType(min_length=1),
                            title="Order by",
                            description="SQL ordering, e.g. `membership.engagement_score DESC`.",
                        ),
                        th.Property(
                            "limit",
                            th.IntegerType(minimum=1, maximum=20),
                            default=1,
                            title="Limit",
                            description="At most this many members are acted on.",
                        ),
                        additional_properties=False,
                    ),
                    title="Choose members",
                    description=(
                        "Company playbooks: the members (contact and membership) to act on; "
                        "without it the task is on the company alone."
                    ),
                ),
                th.Property(
                    "task",
                    th.ObjectType(
                        th.Property(
                            "subject",
                            th.StringType(min_length=1),
                            required=True,
                            title="Subject",
                            description="Jinja2 template of the task's subject.",
                        ),
                        th.Property(
                            "body",
                            th.StringType,
                            default="",
                            title="Body",
                            description=(
                                "Jinja2 template of the task's body (`company`, `contact`, "
                                "`membership`, `playbook`)."
                            ),
                        ),
                        th.Property(
                            "owner",
                            th.StringType,
                            default="company",
                            allowed_values=list(OWNER_SOURCES),
                            title="Owner",
                            description=(
                                "`company` / `contact`: that record's owner in the CRM; "
                                "`fixed`: `owner_id`; `email`: the owner with `owner_email`."
                            ),
                        ),
                        th.Property(
                            "owner_id",
                            th.StringType(min_length=1),
                            title="Owner id",
                            description="The CRM owner id (`owner: fixed`).",
                        ),
                        th.Property(
                            "owner_email",
                            th.StringType(min_length=3),
                            title="Owner e-mail",
                            description="The CRM owner's e-mail (`owner: email`).",
                        ),
                        th.Property(
                            "due_in_days",
                            th.IntegerType(minimum=0, maximum=365),
                            default=1,
                            title="Due in days",
                            description="The task is due this many days after the crossing.",
                        ),
                        th.Property(
                            "priority",
                            th.StringType,
                            default="MEDIUM",
                            allowed_values=list(TASK_PRIORITIES),
                            title="Priority",
                            description="`LOW`, `MEDIUM` or `HIGH`.",
                        ),
                        th.Property(
                            "type",
                            th.StringType,
                            default="TODO",
                            allowed_values=list(TASK_TYPES),
                            title="Type",
                            description="`TODO`, `CALL` or `EMAIL`.",
                        ),
                        additional_properties=False,
                    ),
                    title="Task",
                    description="The CRM task to create (per chosen member).",
                ),
                th.Property(
                    "webhook",
                    th.ObjectType(
                        th.Property(
                            "url",
                            th.StringType(min_length=1),
                            required=True,
                            secret=True,
                            title="URL",
                            description="Slack-compatible incoming webhook (https); never logged.",
                        ),
                        th.Property(
                            "text",
                            th.StringType(min_length=1),
                            required=True,
                            title="Text",
                            description='Jinja2 template of the message (`{"text": ...}`).',
                        ),
                        additional_properties=False,
                    ),
                    title="Webhook",
                    description="A notification posted once per crossing (and member).",
                ),
                additional_properties=False,
            )
        ),
        default=[],
        title="Playbooks",
        description=(
            "When a company or contact crosses a line (`when`, `on`), create a CRM task "
            "for the right person and/or post to a webhook, once per crossing; see the "
            "README's Playbooks section."
        ),
    ),
    th.Property(
        "progress_interval_seconds",
        th.NumberType(minimum=0),
        default=5,
        title="Progress interval (seconds)",
        description=(
            "A run lasting longer logs, at most this often, the records handled and CRM "
            "calls made so far per object type; every run ends with one summary line. "
            "0 logs after every CRM call."
        ),
    ),
    additional_properties=False,
).to_dict()


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be HubSpot's base URL (https, or http on loopback only)."""
    parts = urlsplit(url.strip())
    if parts.username or parts.password:
        # Never echo it: the URL carries a secret.
        return "must not carry credentials (the token goes in `hubspot_access_token`)"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    if parts.query or parts.fragment:
        return f"{url!r} must not carry a query or a fragment"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return f"{url!r} uses plain http, which is accepted only for loopback addresses"
    return None


def check_settings(config: Mapping[str, Any], problems: SettingProblems) -> None:
    """What the schema cannot say; `config` is already validated, its defaults filled."""
    crm = config["crm"]
    if config["add_record_metadata"]:
        problems.add(
            "add_record_metadata",
            "not supported by target-plg-crm (the `_sdc_*` fields would become CRM "
            "properties rewritten on every run); remove it or set it to false",
        )
    _check_distinct_files(config, problems)
    for name in ("property_prefix", "company_id_property"):
        if config[name].startswith(RESERVED_PREFIX):
            problems.add(
                name,
                f"must not start with `{RESERVED_PREFIX}`: HubSpot reserves it for its own "
                "properties",
            )
    if crm == "salesforce":
        check_salesforce_settings(config, problems)
    check_sync_settings(config, problems)
    check_playbooks(config["playbooks"], problems)
    if crm != "hubspot":
        return
    token = config.get("hubspot_access_token", "")
    if not token.strip():
        problems.add(
            "hubspot_access_token", "required when `crm` is `hubspot` (a private app token)"
        )
    elif token.strip().lower().startswith("bearer "):
        problems.add("hubspot_access_token", "give the token alone, without `Bearer `")
    problem = base_url_problem(config["hubspot_base_url"])
    if problem:
        problems.add("hubspot_base_url", problem)


def check_sync_settings(config: Mapping[str, Any], problems: SettingProblems) -> None:
    """`company_match`, `sync_filter` and `native_fields`: what their schema cannot say."""
    match = config["company_match"]
    if not match or match[0] != "account_id" or len(set(match)) != len(match):
        problems.add(
            "company_match",
            "must start with `account_id` (companies are upserted by `company_id_property`) "
            "and name each key once, e.g. `[account_id, domain]` or `[account_id]`",
        )
    for stream, expression in config["sync_filter"].items():
        try:
            referenced_fields(expression)
        except ValueError as error:
            problems.add(f"sync_filter.{stream}", f"{error}: {expression!r}")
    own = (config["property_prefix"], config["company_id_property"])
    for object_type, items in config["native_fields"].items():
        seen: set[str] = set()
        for index, item in enumerate(items):
            name = item["property"]
            path = ["native_fields", object_type, index, "property"]
            if name.startswith(own[0]) or name == own[1]:
                problems.add(path, f"`{name}` is one of the target's own properties")
            elif name.startswith(RESERVED_PREFIX) or (
                object_type == "contacts" and name == "email"
            ):
                problems.add(path, f"`{name}` cannot be written (HubSpot's key or system property)")
            elif name in seen:
                problems.add(path, f"`{name}` is written by another field already")
            seen.add(name)


#: The files a run writes, each of its own: one replaced or appended must not be another.
FILE_SETTINGS = ("local_path", "ledger_path", "rejects_path", "run_history_path", "summary_path")


def _check_distinct_files(config: Mapping[str, Any], problems: SettingProblems) -> None:
    """Two file settings naming one file would overwrite each other (e.g. the run history
    replaced by the rejects file at the end of a run)."""
    seen: dict[Path, str] = {}
    for name in FILE_SETTINGS:
        value = config.get(name)
        if not value or (name == "local_path" and config["crm"] != "local"):
            continue
        path = Path(value).expanduser().resolve()
        if path in seen:
            problems.add(name, f"is the same file as `{seen[path]}`; give each its own file")
        else:
            seen[path] = name


@dataclass(frozen=True)
class HubSpotSettings:
    """The `hubspot_*` settings (when crm is hubspot); the token is kept out of repr."""

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
    run_history_path: Path | None
    summary_path: Path | None
    property_prefix: str
    property_group: str
    company_id_property: str
    change_ignored_fields: tuple[str, ...]
    dry_run: bool
    association_labels: bool
    hubspot: HubSpotSettings | None
    progress_interval_seconds: float
    salesforce: SalesforceSettings | None = None
    plan_path: Path = Path("output/plan.json")
    company_match: tuple[str, ...] = COMPANY_MATCH_KEYS
    sync_mode: str = "upsert"
    sync_filter: Mapping[str, str] = field(default_factory=dict)
    native_fields: Mapping[str, tuple[NativeField, ...]] = field(default_factory=dict)
    association_label_fields: tuple[str, ...] = DEFAULT_ASSOCIATION_LABEL_FIELDS
    playbooks: tuple[Playbook, ...] = ()
    local_lock_wait_seconds: float = 60.0
    on_leave: str = "flag"

    @property
    def update_only(self) -> bool:
        """Whether only records that already exist in the CRM are written."""
        return self.sync_mode == "update_only"

    @property
    def match_by_domain(self) -> bool:
        """Whether a company not found by account id may adopt one with its domain."""
        return "domain" in self.company_match

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TargetSettings:
        """The settings of a config validated against `CONFIG_SCHEMA` (defaults filled)."""
        hubspot = None
        if config["crm"] == "hubspot":
            hubspot = HubSpotSettings(
                access_token=config["hubspot_access_token"].strip(),
                base_url=config["hubspot_base_url"].strip().rstrip("/"),
                max_retries=config["hubspot_max_retries"],
                backoff_base_seconds=float(config["hubspot_backoff_base_seconds"]),
                timeout_seconds=float(config["hubspot_timeout_seconds"]),
            )
        return cls(
            crm=config["crm"],
            local_path=Path(config["local_path"]).expanduser(),
            ledger_path=Path(config["ledger_path"]).expanduser(),
            rejects_path=Path(config["rejects_path"]).expanduser(),
            run_history_path=Path(config["run_history_path"]).expanduser()
            if config["run_history_path"]
            else None,
            summary_path=Path(config["summary_path"]).expanduser()
            if config["summary_path"]
            else None,
            property_prefix=config["property_prefix"],
            property_group=config["property_group"],
            company_id_property=config["company_id_property"],
            change_ignored_fields=tuple(config["change_ignored_fields"]),
            dry_run=config["dry_run"],
            association_labels=config["association_labels"],
            hubspot=hubspot,
            salesforce=SalesforceSettings.from_config(config)
            if config["crm"] == "salesforce"
            else None,
            plan_path=Path(config["plan_path"]).expanduser(),
            company_match=tuple(config["company_match"]),
            sync_mode=config["sync_mode"],
            sync_filter=dict(config["sync_filter"]),
            native_fields=native_fields_from_config(config["native_fields"]),
            association_label_fields=tuple(config["association_label_fields"]),
            playbooks=playbooks_from_config(config["playbooks"]),
            progress_interval_seconds=float(config["progress_interval_seconds"]),
            local_lock_wait_seconds=float(config["local_lock_wait_seconds"]),
            on_leave=config["on_leave"],
        )

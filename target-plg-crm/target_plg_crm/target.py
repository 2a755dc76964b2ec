"""target-plg-crm: writes product-usage contacts, companies and associations to a CRM."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th
from singer_sdk.target_base import Target

from target_plg_crm.crm.base import COMPANIES, CONTACTS
from target_plg_crm.settings import CRM_CHOICES, TargetSettings
from target_plg_crm.sinks import SINKS, IgnoredStreamSink
from target_plg_crm.sync_run import SyncRun

if t.TYPE_CHECKING:
    from singer_sdk.sinks import Sink


class TargetPLGCRM(Target):
    """Upserts `contacts` and `companies` by key and labels their `associations`."""

    name = "target-plg-crm"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "crm",
            th.StringType,
            default="local",
            allowed_values=list(CRM_CHOICES),
            description=(
                "The CRM to write to. `local` is an embedded SQLite emulation of HubSpot "
                "(`local_path`); `hubspot` writes to a HubSpot portal with a private app "
                "token (`hubspot_access_token`); `salesforce` is not available in this "
                "version and stops the run at start-up."
            ),
        ),
        th.Property(
            "local_path",
            th.StringType,
            default="output/local_crm.sqlite",
            description="SQLite file of the `local` CRM (created when missing).",
        ),
        th.Property(
            "hubspot_access_token",
            th.StringType,
            secret=True,
            description=(
                "HubSpot private app access token (scopes: crm.objects.contacts.write, "
                "crm.objects.companies.write, crm.schemas.contacts.write, "
                "crm.schemas.companies.write and their read scopes). Required when `crm` "
                "is `hubspot`; never logged."
            ),
        ),
        th.Property(
            "hubspot_base_url",
            th.StringType,
            default="https://api.hubapi.com",
            description=(
                "HubSpot API base URL. Plain `http` is accepted only for loopback "
                "addresses (a local emulator)."
            ),
        ),
        th.Property(
            "hubspot_max_retries",
            th.IntegerType,
            default=6,
            description=(
                "Advanced: retries of a HubSpot request answered 429, 423, 5xx or not at "
                "all, before the run fails."
            ),
        ),
        th.Property(
            "hubspot_backoff_base_seconds",
            th.NumberType,
            default=1.0,
            description=(
                "Advanced: wait before the first retry, doubled on each next one (with "
                "jitter); a 423 waits at least 2 s at the default. Tests set it small."
            ),
        ),
        th.Property(
            "hubspot_timeout_seconds",
            th.NumberType,
            default=30.0,
            description="Advanced: seconds to wait for a HubSpot answer before retrying.",
        ),
        th.Property(
            "ledger_path",
            th.StringType,
            default="output/ledger.sqlite",
            description=(
                "SQLite file remembering what the CRM last accepted per record, so "
                "unchanged records cost no CRM call. Losing it only costs extra writes."
            ),
        ),
        th.Property(
            "rejects_path",
            th.StringType,
            default="output/rejects.jsonl",
            description=(
                "JSON-lines file to which records the CRM refused are appended with the "
                "reason; they are retried on the next run."
            ),
        ),
        th.Property(
            "summary_path",
            th.StringType,
            default="output/last_run_summary.json",
            description=(
                "JSON file overwritten at the end of each run with the counts per object "
                "type (created, updated, unchanged, rejected). Empty string: not written."
            ),
        ),
        th.Property(
            "property_prefix",
            th.StringType,
            default="plg_",
            description=(
                "Prefix of the CRM property names: field `engagement_score` is written "
                "to property `plg_engagement_score`."
            ),
        ),
        th.Property(
            "property_group",
            th.StringType,
            default="product_usage",
            description="CRM property group holding the properties this target creates.",
        ),
        th.Property(
            "company_id_property",
            th.StringType,
            default="plg_account_id",
            description=(
                "Company property (created with a unique value) holding the record's "
                "`account_id`; companies are upserted by it."
            ),
        ),
        th.Property(
            "association_labels",
            th.BooleanType,
            default=True,
            description=(
                "Label each contact-company association with the contact's role (a "
                "HubSpot USER_DEFINED label, created when missing). False: associations "
                "carry only the unlabeled and primary types."
            ),
        ),
        th.Property(
            "change_ignored_fields",
            th.ArrayType(th.StringType),
            default=["as_of"],
            description=(
                "Fields whose change alone does not make a record changed (they are still "
                "written along with other changes). `as_of` changes on every run."
            ),
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            description=(
                "Log what would be created, updated and associated; write nothing to the "
                "CRM, the ledger, the rejects or the summary file."
            ),
        ),
    ).to_dict()

    def __init__(self, **kwargs: t.Any) -> None:
        """Parse the settings and open the CRM and the ledger (errors stop the start)."""
        super().__init__(**kwargs)
        defaults = {
            name: spec.get("default") for name, spec in self.config_jsonschema["properties"].items()
        }
        self.settings = TargetSettings.from_config(self.config, defaults)
        self.run = SyncRun.start(self.settings, self.logger)
        # Sinks share one SQLite connection and associations need the ids written by
        # the contacts and companies sinks: drain one sink at a time.
        self.max_parallelism = 1

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """contacts, companies, associations -> their sinks; anything else is ignored."""
        return SINKS.get(stream_name, IgnoredStreamSink)

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> Sink:
        """As the SDK does, but a sink replaced by a new SCHEMA is drained first.

        The SDK keeps a replaced sink's records until the next full drain; draining it
        now keeps contacts and companies written before associations that follow.
        """
        if schema is not None and self.sink_exists(stream_name):
            existing = super().get_sink(stream_name)
            if existing.original_schema != schema or existing.key_properties != key_properties:
                self.drain_one(existing)
        return super().get_sink(
            stream_name, record=record, schema=schema, key_properties=key_properties
        )

    def drain_object_sinks(self) -> None:
        """Write the pending companies and contacts (before associations need their ids)."""
        for stream_name in (COMPANIES, CONTACTS):
            if self.sink_exists(stream_name):
                self.drain_one(self.get_sink(stream_name))

    def process_endofpipe(self) -> None:
        """Drain every sink (then the SDK emits the latest STATE) and log the summary."""
        try:
            super().process_endofpipe()
            self.run.finish()
        finally:
            self.run.close()


if __name__ == "__main__":
    TargetPLGCRM.cli()

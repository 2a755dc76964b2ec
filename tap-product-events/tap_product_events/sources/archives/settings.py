"""The `events_paths` setting: which JSON-lines archives the tap reads."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_product_events.setting_types import ListType

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".gz")

EVENTS_PATHS = th.Property(
    "events_paths",
    ListType(th.StringType(min_length=1), min_items=1),
    title="Event archive paths",
    description=(
        "File globs of Segment-spec JSON-lines archives (`.jsonl`, `.json`, "
        "`.jsonl.gz`, `.gz`), one message per line, all message types mixed, as "
        "Segment's and RudderStack's storage destinations write them. `~` and "
        "relative paths are resolved against the working directory; `**` matches "
        "folders recursively; `s3://bucket/prefix/**/*.gz`, `gs://...` and `az://...` "
        "globs read objects in storage (see storage_options). "
        'Example: `["data/segment/**/*.gz"]`.'
    ),
    examples=[["data/segment/**/*.jsonl.gz"]],
)


def _option(name: str, title: str, description: str, *, secret: bool = False) -> th.Property:
    return th.Property(
        name, th.StringType(min_length=1), secret=secret, title=title, description=description
    )


STORAGE_OPTIONS = th.Property(
    "storage_options",
    th.ObjectType(
        th.Property(
            "s3",
            th.ObjectType(
                _option("key", "Access key id", "AWS access key id.", secret=True),
                _option("secret", "Secret access key", "AWS secret access key.", secret=True),
                _option("token", "Session token", "AWS session token.", secret=True),
                _option(
                    "endpoint_url",
                    "Endpoint URL",
                    "An S3-compatible server's URL (MinIO, R2...); unset: AWS.",
                ),
                th.Property(
                    "anon",
                    th.BooleanType,
                    title="Anonymous",
                    description="Read a public bucket without credentials.",
                ),
                additional_properties=False,
            ),
            title="S3",
            description="Options of s3:// globs (s3fs); unset: the AWS_* environment.",
        ),
        th.Property(
            "gcs",
            th.ObjectType(
                _option("project", "Project", "Google Cloud project."),
                _option(
                    "token",
                    "Credentials",
                    "Path of a service-account JSON key file; unset: "
                    "GOOGLE_APPLICATION_CREDENTIALS or the machine's credentials.",
                    secret=True,
                ),
                additional_properties=False,
            ),
            title="GCS",
            description="Options of gs:// globs (gcsfs).",
        ),
        th.Property(
            "azure",
            th.ObjectType(
                _option("account_name", "Account name", "Storage account name."),
                _option("account_key", "Account key", "Storage account key.", secret=True),
                _option(
                    "connection_string",
                    "Connection string",
                    "Storage connection string.",
                    secret=True,
                ),
                _option("sas_token", "SAS token", "Shared access signature.", secret=True),
                additional_properties=False,
            ),
            title="Azure",
            description="Options of az:// globs (adlfs); unset: the AZURE_STORAGE_* environment.",
        ),
        additional_properties=False,
    ),
    secret=True,
    default={},
    title="Object storage options",
    description=(
        "Credentials and endpoints for `events_paths` globs in object storage (`s3://`, "
        "`gs://`, `az://`; extras `tap-product-events[s3]`, `[gcs]`, `[azure]`). Unset: "
        "each library's usual environment variables and credential files."
    ),
)

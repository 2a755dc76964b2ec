"""Bulk API 2.0 ingest jobs: one CSV upsert job per object type for large batches.

Above `salesforce_bulk_threshold` records, an object type's upserts by external id go
through one job (`POST /jobs/ingest`, the CSV in one `PUT .../batches`, `PATCH` to
UploadComplete, polled until JobComplete) instead of ceil(n/200) collection calls. The
results come back as CSV in any order and are matched to the records by their external
id. A request applied but unanswered is sent again: a second upload is refused ("multiple
contents", the first landed) and a second close finds the job closed (read back), so
both carry on; an upload that fails otherwise aborts the job and the records go through
collections. In the CSV `#N/A` clears a field and an empty value leaves it unchanged, so a null is
sent as `#N/A` and a field a record does not carry as empty.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from target_plg_crm.crm.errors import CRMError
from target_plg_crm.crm.salesforce.client import SalesforceHTTP
from target_plg_crm.crm.salesforce.errors import response_json, unexpected

JOB_PATH = "/jobs/ingest"
DONE_STATES = ("JobComplete", "Failed", "Aborted")
#: Longest wait for one job, polling with backoff (a few seconds between polls at most).
JOB_TIMEOUT_SECONDS = 1800.0
POLL_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class BulkResult:
    """What a job did with one row: its Id and whether it was created, or why it failed."""

    success: bool
    record_id: str | None = None
    created: bool = False
    code: str | None = None
    message: str | None = None


def csv_value(value: Any) -> str:
    """A JSON value as a Bulk API CSV cell (`#N/A` clears the field)."""
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """The job's CSV: one column per field any row carries, LF line endings."""
    columns = sorted({name for row in rows for name in row if name != "attributes"})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_value(row[c]) if c in row else "" for c in columns])
    return out.getvalue().encode("utf-8")


def _uploaded_before(response: requests.Response) -> bool:
    """A PUT refused because the job holds its data already: the same PUT, sent again after
    its answer was lost, had landed (Bulk API 2.0 takes one upload per job)."""
    return response.status_code == 400 and "multiple contents" in response.text.lower()


def _error_parts(text: str) -> tuple[str, str]:
    """`CODE:message:fields --` -> (CODE, message)."""
    code, _, rest = text.partition(":")
    return code.strip() or "BULK_ERROR", rest.rsplit(":", 1)[0].strip() or text


class SalesforceBulk:
    """Runs Bulk API 2.0 upsert jobs through the org's HTTP client."""

    def __init__(self, http: SalesforceHTTP) -> None:
        """Jobs are created on demand."""
        self.http = http

    def upsert(
        self, sobject: str, external: str, rows: Sequence[dict[str, Any]]
    ) -> list[BulkResult | None]:
        """One job upserting `rows` by `external`; a result per row (None: not processed)."""
        response = self.http.request(
            "POST",
            JOB_PATH,
            {
                "object": sobject,
                "externalIdFieldName": external,
                "contentType": "CSV",
                "operation": "upsert",
                "lineEnding": "LF",
            },
        )
        if response.status_code not in (200, 201):
            raise unexpected(response, f"create a Bulk API job for {sobject}")
        job = str((response_json(response) or {}).get("id"))
        uploaded = self.http.request(
            "PUT", f"{JOB_PATH}/{job}/batches", data=to_csv(rows), content_type="text/csv"
        )
        if uploaded.status_code not in (200, 201) and not _uploaded_before(uploaded):
            self._abort(job)
            return [None] * len(rows)  # nothing processed: collections take the records
        closed = self.http.request("PATCH", f"{JOB_PATH}/{job}", {"state": "UploadComplete"})
        if closed.status_code != 200 and not self._closed(job):
            raise unexpected(closed, f"close the {sobject} job")
        if not self._wait(job, sobject):
            return [None] * len(rows)  # fields not visible to the job yet: collections wait
        return self._results(job, external, rows)

    def _closed(self, job: str) -> bool:
        """Whether a close that was refused had been applied already (its answer lost,
        the retry refused because the job is no longer Open)."""
        response = self.http.request("GET", f"{JOB_PATH}/{job}")
        state = (response_json(response) or {}).get("state")
        return response.status_code == 200 and state in (
            "UploadComplete",
            "InProgress",
            *DONE_STATES,
        )

    def _abort(self, job: str) -> None:
        """Abort a job whose upload failed (its records are sent through collections)."""
        self.http.request("PATCH", f"{JOB_PATH}/{job}", {"state": "Aborted"})

    def _wait(self, job: str, sobject: str) -> bool:
        """Poll until the job is done: True when complete, False when it failed because a
        column names a field the user cannot see yet (just created); raises otherwise."""
        started = time.monotonic()
        attempt = 0
        while True:
            response = self.http.request("GET", f"{JOB_PATH}/{job}")
            if response.status_code != 200:
                raise unexpected(response, f"read the {sobject} job")
            info = response_json(response) or {}
            state = info.get("state")
            if state == "JobComplete":
                return True
            if (
                state == "Failed"
                and "field name not found" in str(info.get("errorMessage")).lower()
            ):
                return False
            if state in DONE_STATES:
                raise CRMError(
                    f"Salesforce Bulk API job {job} ({sobject}) ended {state}: "
                    f"{info.get('errorMessage') or 'no reason given'}"
                )
            if time.monotonic() - started > JOB_TIMEOUT_SECONDS:
                raise CRMError(f"Salesforce Bulk API job {job} ({sobject}) did not finish")
            time.sleep(min(POLL_MAX_SECONDS, self.http.backoff(attempt)))
            attempt += 1

    def _results(
        self, job: str, external: str, rows: Sequence[dict[str, Any]]
    ) -> list[BulkResult | None]:
        index = {str(row.get(external)): i for i, row in enumerate(rows)}
        results: list[BulkResult | None] = [None] * len(rows)
        for kind in ("successfulResults", "failedResults"):
            response = self.http.request("GET", f"{JOB_PATH}/{job}/{kind}/")
            if response.status_code != 200:
                raise unexpected(response, f"read the job's {kind}")
            for line in csv.DictReader(io.StringIO(response.text)):
                position = index.get(str(line.get(external)))
                if position is None:
                    continue
                if kind == "successfulResults":
                    created = str(line.get("sf__Created")).lower() == "true"
                    results[position] = BulkResult(True, line.get("sf__Id"), created)
                else:
                    code, message = _error_parts(str(line.get("sf__Error") or ""))
                    results[position] = BulkResult(False, None, False, code, message)
        return results

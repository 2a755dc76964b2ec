"""Owners and Tasks in Salesforce, for playbooks.

A Task is created through sObject Collections (`POST /composite/sobjects`,
`allOrNone: false`, 200 at most, one result per record in order) with `Subject`,
`Description` (the body, its last line the playbook's marker), `ActivityDate` (the due
day), `Priority` (`High`, `Normal`, `Low`), `Status` (`Not Started`), `TaskSubtype`
(`Task`, `Call`, `Email`), `WhoId` (the Contact), `WhatId` (the Account) and `OwnerId`
(a User; without it Salesforce makes the integration user the owner).
Like HubSpot, Salesforce has no idempotency key: a creation is sent once per attempt
(a timeout or a 5xx raises TaskOutcomeUnknownError, never a blind retry), and a lost
answer is resolved by reading the Tasks of the Accounts (or Contacts) back (SOQL on
`WhatId`/`WhoId`; `Description` cannot be filtered, so the marker is matched here).
Owners are the active Users (`SELECT Id, Email, IsActive FROM User`); a record's owner
is its `OwnerId`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from target_plg_crm.crm.salesforce.client import SalesforceHTTP, chunks, soql_quote
from target_plg_crm.crm.salesforce.errors import (
    SalesforceUnavailableError,
    error_entries,
    response_json,
    unexpected,
)
from target_plg_crm.crm.tasks import (
    Owner,
    TaskInput,
    TaskOutcomeUnknownError,
    TaskResult,
    marker_line,
)

PRIORITIES = {"LOW": "Low", "MEDIUM": "Normal", "HIGH": "High"}
SUBTYPES = {"TODO": "Task", "CALL": "Call", "EMAIL": "Email"}
SOBJECTS = {"companies": "Account", "contacts": "Contact"}


def task_record(task: TaskInput) -> dict[str, Any]:
    """The Task record of one playbook task."""
    record: dict[str, Any] = {
        "attributes": {"type": "Task"},
        "Subject": task.subject[:255],
        "Description": f"{task.body}\n\n{marker_line(task.marker)}".strip(),
        "ActivityDate": task.due.isoformat(),
        "Priority": PRIORITIES[task.priority],
        "Status": "Not Started",
        "TaskSubtype": SUBTYPES[task.task_type],
    }
    for name, value in (
        ("WhoId", task.contact_id),
        ("WhatId", task.company_id),
        ("OwnerId", task.owner_id),
    ):
        if value:
            record[name] = value
    return record


class SalesforceTasks:
    """Users as owners, record owners, Task creation and look-up."""

    def __init__(self, http: SalesforceHTTP) -> None:
        """Call the org through `http`."""
        self.http = http

    def list_owners(self) -> list[Owner]:
        """The active Users with an e-mail."""
        users = self.http.query("SELECT Id, Email, IsActive FROM User")
        return [
            Owner(str(u["Id"]), str(u["Email"]).lower())
            for u in users
            if u.get("IsActive") and u.get("Email")
        ]

    def record_owners(self, object_type: str, crm_ids: Sequence[str]) -> dict[str, str]:
        """`OwnerId` of the Accounts or Contacts among `crm_ids`."""
        owners: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(crm_ids))):
            ids = ", ".join(soql_quote(i) for i in chunk)
            soql = f"SELECT Id, OwnerId FROM {SOBJECTS[object_type]} WHERE Id IN ({ids})"
            for row in self.http.query(soql):
                if row.get("OwnerId"):
                    owners[str(row["Id"])] = str(row["OwnerId"])
        return owners

    def create_tasks(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """One collection create per 200 tasks; results in input order."""
        results: list[TaskResult] = []
        for chunk in chunks(list(inputs)):
            body = {"allOrNone": False, "records": [task_record(t) for t in chunk]}
            response = self._send_once(body)
            answer = response_json(response)
            if response.status_code != 200 or not isinstance(answer, list):
                entries = error_entries(answer)
                code = str(entries[0].get("errorCode")) if entries else str(response.status_code)
                reason = str(entries[0].get("message")) if entries else "refused"
                results += [TaskResult(code=code, reason=reason) for _ in chunk]
                continue
            for entry in answer:
                if entry.get("success"):
                    results.append(TaskResult(crm_id=str(entry.get("id"))))
                    continue
                errors = entry.get("errors") or [{}]
                results.append(
                    TaskResult(
                        code=str(errors[0].get("statusCode") or "REFUSED"),
                        reason=str(errors[0].get("message") or ""),
                    )
                )
        return results

    def _send_once(self, body: Any) -> requests.Response:
        """POST the collection once; a fresh token for an expired session (nothing done)."""
        http = self.http
        path = f"{http.data_path}/composite/sobjects"
        for refreshed in (False, True):
            try:
                response = http._send("POST", path, body, None, None)  # noqa: SLF001
            except requests.RequestException as error:
                raise TaskOutcomeUnknownError(f"no answer ({type(error).__name__})") from None
            http.usage.observe(response.headers)
            if response.status_code == 401 and not refreshed:
                http._token = http.tokens.fetch()  # noqa: SLF001
                http.counter.token_refreshes += 1
                continue
            if response.status_code >= 500:
                raise TaskOutcomeUnknownError(f"{response.status_code} server error")
            return response
        raise unexpected(response, "create Tasks")

    def find_tasks(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        """Marker -> Id of the Tasks among `inputs` the org holds."""
        by_field: dict[str, set[str]] = {"WhatId": set(), "WhoId": set()}
        for task in inputs:
            if task.company_id:
                by_field["WhatId"].add(task.company_id)
            elif task.contact_id:
                by_field["WhoId"].add(task.contact_id)
        markers = {marker_line(task.marker): task.marker for task in inputs}
        found: dict[str, str] = {}
        try:
            for name, ids in by_field.items():
                for chunk in chunks(sorted(ids)):
                    listed = ", ".join(soql_quote(i) for i in chunk)
                    soql = f"SELECT Id, Description FROM Task WHERE {name} IN ({listed})"
                    for row in self.http.query(soql):
                        text = str(row.get("Description") or "")
                        for line, marker in markers.items():
                            if line in text:
                                found[marker] = str(row["Id"])
        except SalesforceUnavailableError as error:
            raise TaskOutcomeUnknownError(str(error)) from None
        return found

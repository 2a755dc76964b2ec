"""Owners and tasks in HubSpot, for playbooks (docs/crm-contract.md, "Owners and tasks").

A task creation is sent once per attempt: unlike every other call, a timeout, a dropped
connection or a server error is *not* retried blindly, since HubSpot may have created
the tasks (it has no idempotency key). It raises TaskOutcomeUnknownError instead, and
the caller looks the tasks up (`find_tasks`: the tasks associated with each company or
contact, v4 batch read, then their bodies, v3 batch read, matched by the marker line)
before sending again. 429 and 423 mean nothing was done: those are waited out and sent
again here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from datetime import time as day_time
from typing import Any
from urllib.parse import urlencode

import requests

from target_plg_crm.crm.hubspot.client import HubSpotHTTP, chunks, endpoint
from target_plg_crm.crm.hubspot.errors import (
    HubSpotAuthError,
    HubSpotUnavailableError,
    error_summary,
    required_scopes,
    response_body,
    unexpected,
)
from target_plg_crm.crm.tasks import (
    Owner,
    TaskInput,
    TaskOutcomeUnknownError,
    TaskResult,
    marker_line,
)

CREATE_PATH = "/crm/v3/objects/tasks/batch/create"
TASK_TO_CONTACT = 204
TASK_TO_COMPANY = 192
#: A task is due at this hour (UTC) of its due day.
DUE_HOUR = 9


def task_properties(task: TaskInput) -> dict[str, str]:
    """The task's HubSpot properties; the marker ends the body."""
    due = datetime.combine(task.due, day_time(DUE_HOUR), tzinfo=UTC)
    properties = {
        "hs_timestamp": due.isoformat().replace("+00:00", "Z"),
        "hs_task_subject": task.subject,
        "hs_task_body": f"{task.body}\n\n{marker_line(task.marker)}".strip(),
        "hs_task_status": "NOT_STARTED",
        "hs_task_priority": task.priority,
        "hs_task_type": task.task_type,
    }
    if task.owner_id:
        properties["hubspot_owner_id"] = task.owner_id
    return properties


def _associations(task: TaskInput) -> list[dict[str, Any]]:
    links = [(task.contact_id, TASK_TO_CONTACT), (task.company_id, TASK_TO_COMPANY)]
    return [
        {
            "to": {"id": object_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }
        for object_id, type_id in links
        if object_id
    ]


class HubSpotTasks:
    """Owners, record owners, task creation and look-up."""

    def __init__(self, http: HubSpotHTTP) -> None:
        """Call HubSpot through `http` (its limiter and counters)."""
        self.http = http

    def list_owners(self) -> list[Owner]:
        """Every owner, paged (`GET /crm/v3/owners`)."""
        owners: list[Owner] = []
        after: str | None = None
        while True:
            query = {"limit": "100", **({"after": after} if after else {})}
            response = self.http.request("GET", f"/crm/v3/owners?{urlencode(query)}")
            if response.status_code != 200:
                raise unexpected(response, "list the owners")
            body = response_body(response)
            for item in body.get("results") or []:
                if item.get("email") and not item.get("archived"):
                    owners.append(Owner(str(item["id"]), str(item["email"]).lower()))
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return owners

    def record_owners(self, object_type: str, crm_ids: Sequence[str]) -> dict[str, str]:
        """`hubspot_owner_id` of the objects that have one (batch reads by id)."""
        owners: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(crm_ids))):
            body = {"properties": ["hubspot_owner_id"], "inputs": [{"id": i} for i in chunk]}
            response = self.http.request("POST", f"/crm/v3/objects/{object_type}/batch/read", body)
            if response.status_code not in (200, 207):
                raise unexpected(response, f"read the owners of {object_type}")
            for result in response_body(response).get("results") or []:
                owner = (result.get("properties") or {}).get("hubspot_owner_id")
                if owner:
                    owners[str(result.get("id"))] = str(owner)
        return owners

    def create_tasks(self, inputs: Sequence[TaskInput]) -> list[TaskResult]:
        """One batch create; results matched to inputs by their marker."""
        body = {
            "inputs": [
                {
                    "properties": task_properties(task),
                    "associations": _associations(task),
                    "objectWriteTraceId": task.marker,
                }
                for task in inputs
            ]
        }
        response = self._send_once("POST", CREATE_PATH, body)
        answer = response_body(response)
        if response.status_code not in (200, 201, 207):
            code, reason = error_summary(answer, response.status_code)
            return [TaskResult(code=code, reason=reason) for _ in inputs]
        created: dict[str, str] = {}
        for result in answer.get("results") or []:
            text = str((result.get("properties") or {}).get("hs_task_body") or "")
            for task in inputs:
                if marker_line(task.marker) in text:
                    created[task.marker] = str(result.get("id"))
        refused: dict[str, tuple[str, str]] = {}
        for error in answer.get("errors") or []:
            code, reason = error_summary(error, 400)
            for trace in (error.get("context") or {}).get("objectWriteTraceId") or []:
                refused[str(trace)] = (code, reason)
        results = []
        for task in inputs:
            if task.marker in created:
                results.append(TaskResult(crm_id=created[task.marker]))
            elif task.marker in refused:
                code, reason = refused[task.marker]
                results.append(TaskResult(code=code, reason=reason))
            else:
                raise TaskOutcomeUnknownError("HubSpot's answer left a task out")
        return results

    def _send_once(self, method: str, path: str, body: Any) -> requests.Response:
        """Send without repeating what may have been done; 429 and 423 are waited out."""
        http = self.http
        for attempt in range(http.policy.max_retries + 1):
            http.limiter.acquire()
            http.counter.requests += 1
            http.counter.by_endpoint[endpoint(method, path)] += 1
            try:
                response = http.session.request(
                    method, f"{http.base_url}{path}", json=body, timeout=http.policy.timeout_seconds
                )
            except requests.RequestException as error:
                raise TaskOutcomeUnknownError(f"no answer ({type(error).__name__})") from None
            http.limiter.done()
            http.limiter.observe(response.headers)
            status = response.status_code
            if status in (401, 403):
                scopes = required_scopes(response_body(response))
                raise HubSpotAuthError(
                    f"HubSpot refused {method} {path} ({status})"
                    + (f": the private app lacks {' or '.join(scopes)}" if scopes else ""),
                    status,
                    scopes,
                )
            if status >= 500:
                raise TaskOutcomeUnknownError(f"{status} server error")
            if status not in (429, 423):
                return response
            http.counter.retries += 1
            time.sleep(http.policy.locked_wait(attempt))
        raise TaskOutcomeUnknownError("rate limited or locked after every retry")

    def find_tasks(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        """Marker -> id of the tasks among `inputs` HubSpot holds."""
        try:
            return self._find(inputs)
        except HubSpotUnavailableError as error:
            raise TaskOutcomeUnknownError(str(error)) from None

    def _find(self, inputs: Sequence[TaskInput]) -> dict[str, str]:
        anchors: dict[str, set[str]] = {"companies": set(), "contacts": set()}
        for task in inputs:
            if task.company_id:
                anchors["companies"].add(task.company_id)
            elif task.contact_id:
                anchors["contacts"].add(task.contact_id)
        task_ids: set[str] = set()
        for object_type, ids in anchors.items():
            for chunk in chunks(sorted(ids)):
                path = f"/crm/v4/associations/{object_type}/tasks/batch/read"
                response = self.http.request("POST", path, {"inputs": [{"id": i} for i in chunk]})
                if response.status_code not in (200, 207):
                    raise unexpected(response, "read the tasks of records")
                for result in response_body(response).get("results") or []:
                    task_ids.update(str(t.get("toObjectId")) for t in result.get("to") or [])
        found: dict[str, str] = {}
        markers = {marker_line(task.marker): task.marker for task in inputs}
        for chunk in chunks(sorted(task_ids)):
            body = {"properties": ["hs_task_body"], "inputs": [{"id": i} for i in chunk]}
            response = self.http.request("POST", "/crm/v3/objects/tasks/batch/read", body)
            if response.status_code not in (200, 207):
                raise unexpected(response, "read tasks")
            for result in response_body(response).get("results") or []:
                text = str((result.get("properties") or {}).get("hs_task_body") or "")
                for line, marker in markers.items():
                    if line in text:
                        found[marker] = str(result.get("id"))
        return found

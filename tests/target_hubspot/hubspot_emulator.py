"""A HubSpot emulator: a real HTTP server on loopback that answers as crm-contract.md says.

Written from the facts in docs/crm-contract.md (not from HubSpot's specs). It
refuses what HubSpot refuses, because a test against an emulator that accepts anything
proves nothing:

- objects v3: batch upsert (at most 100 inputs, idProperty `email` or a property with
  hasUniqueValue, duplicate ids, unknown properties, INVALID_EMAIL, INVALID_OPTION,
  values must be strings, 207 with trace ids / 400 without, results in no fixed order,
  values returned as strings with system properties, e-mails lower-case and matched
  case-insensitively, empty string clears); batch read (207 OBJECT_NOT_FOUND; an
  idProperty that does not exist is 400 PROPERTY_DOESNT_EXIST, one that is not unique
  400; unknown `properties` are left out of the answer); batch update by object id
  (unknown properties 400, missing ids and a unique value another object holds per
  input); the paged list `GET /crm/v3/objects/{type}?limit=..&after=..&properties=..`
  (limit 1-100, `paging.next.after` while more remain, in id order);
- properties v3: list, groups, batch create (207 on partial failure), PATCH; every
  definition and value checked by `hubspot_rules` (names, required fields, type and
  fieldType pairs, booleans with their two options, enumeration options, hasUniqueValue
  immutable, values of every type, INVALID_OPTION for booleans too);
- associations v4: labels (list, create), batch create (labels imply the unlabeled
  type 279, one primary company per contact), batch labels archive, batch archive,
  batch read (at most 1,000 contacts, each contact's companies paged with `after`,
  a contact without associations a 207 error);
- the private app: `POST /oauth/v2/private-apps/get/access-token-info` answers the
  token's scopes; a call needing a scope the app lacks answers 403 MISSING_SCOPES;
- limits: rate-limit headers on every answer and 429 once the rolling budget is used;
  the association batch and label endpoints count to the daily budget only.

Switches for tests: `inject(...)` queues faults (429 with or without Retry-After, 423,
500, a timeout) for the next matching requests; `trace_ids_ignored` makes one bad
input fail the whole batch; `refused_emails` refuses well-formed addresses the target
cannot predict; `bare_results` answers upserts with system properties only
(no key to match results by); `consume(n)` spends budget as another app would;
`add_object` fills the portal as people would (companies and contacts without plg_ ids).
The server binds 127.0.0.1 only, bounds request bodies, and stops at the end of the
`with` block (or by itself after `watchdog_seconds`).
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from . import hubspot_rules, hubspot_tasks

MAX_BODY_BYTES = 4 * 1024 * 1024
BATCH_LIMIT = 100
#: Most contacts one v4 association batch read takes.
ASSOCIATION_READ_LIMIT = 1000
UNLABELED = 279
PRIMARY = 1
_GROUP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SYSTEM_PROPERTIES = ("hs_object_id", "createdate", "lastmodifieddate")
#: Every scope the target needs (the default grant of the emulator's private app).
ALL_SCOPES = frozenset(
    f"crm.{kind}.{object_type}.{access}"
    for kind in ("objects", "schemas")
    for object_type in ("contacts", "companies")
    for access in ("read", "write")
) | {hubspot_tasks.OWNERS_SCOPE}
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
#: The association v4 batch and label endpoints: outside the ten-secondly limit.
_SECONDLY_EXEMPT = re.compile(r"^/crm/v4/associations/[^/]+/[^/]+/(batch/[a-z/]+|labels)$")


class AnswerError(Exception):
    """An error answer (status and body), raised by a route to leave its handler early."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def _error(
    status: int, category: str, message: str, errors: list[dict[str, Any]] | None = None
) -> AnswerError:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": f"emu-{random.getrandbits(48):012x}",
        "category": category,
    }
    if errors:
        body["errors"] = errors
    return AnswerError(status, body)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _batch_answer(
    results: list[Any], errors: list[Any], complete: int, *, timed: bool = True
) -> tuple[int, dict[str, Any]]:
    """A batch endpoint's answer: `complete` when every input went through, else 207."""
    answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if timed:
        now = _now()
        answer.update(startedAt=now, completedAt=now)
    if errors:
        answer.update(errors=errors, numErrors=len(errors))
        return 207, answer
    return complete, answer


def _property(name: str, type_: str, field_type: str, group: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "type": type_,
        "fieldType": field_type,
        "groupName": group,
        "options": [],
        "hasUniqueValue": False,
        "calculated": False,
        "modificationMetadata": {"readOnlyValue": name in SYSTEM_PROPERTIES},
        **extra,
    }


@dataclass
class Call:
    """One request the emulator answered."""

    method: str
    path: str
    status: int
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    """A fault to answer instead of the real thing, for a request whose path matches."""

    kind: str  # 400 | 429 | 429-retry-after | 423 | 500 | timeout | 500-after-work
    path_contains: str = ""
    method: str | None = None  # None: any method


@dataclass
class _Store:
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    objects: dict[str, dict[int, dict[str, str]]] = field(default_factory=dict)
    associations: dict[tuple[int, int], set[int]] = field(default_factory=dict)
    labels: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1001
    next_type_id: int = 500
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[int, dict[str, str]] = field(default_factory=dict)
    task_links: dict[int, set[tuple[str, int]]] = field(default_factory=dict)


class HubSpotEmulator:
    """HubSpot's contract on an in-memory portal, served over HTTP on 127.0.0.1."""

    def __init__(
        self,
        token: str,
        *,
        rate_max: int = 100,
        rate_interval_ms: int = 10_000,
        daily_max: int = 250_000,
        timeout_delay_seconds: float = 1.0,
        watchdog_seconds: float = 300.0,
        scopes: frozenset[str] | set[str] = ALL_SCOPES,
    ) -> None:
        """An empty portal reachable with `token`, with a budget of `rate_max` per interval.

        The private app holds `scopes` (every scope the target needs unless told).
        """
        self.token = token
        self.scopes = frozenset(scopes)
        self.hub_id = 20_260_301
        self.app_id = 4_242
        self.rate_max = rate_max
        self.rate_interval = rate_interval_ms / 1000
        self.daily_max = daily_max
        self.daily_used = 0
        self.timeout_delay = timeout_delay_seconds
        self.watchdog_seconds = watchdog_seconds
        self.trace_ids_ignored = False
        self.bare_results = False
        #: Addresses refused though well formed (the portal's own verdict, e.g. an address
        #: it found undeliverable): no client can predict them.
        self.refused_emails: set[str] = set()
        #: Associations per contact in one page of the v4 batch read (HubSpot pages them).
        self.association_page_size = 500
        self._consume_next = 0
        self.calls: list[Call] = []
        self.faults: deque[Fault] = deque()
        self._window: deque[float] = deque()
        self._lock = threading.RLock()
        self._store = _Store()
        self._query: dict[str, str] = {}
        self._seed()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        #: True while `restart` keeps the server down.
        self.down = False
        self._port = 0
        self._thread: threading.Thread | None = None
        self._watchdog: threading.Timer | None = None

    def _seed(self) -> None:
        store = self._store
        for object_type, info_group, builtin in (
            (
                "contacts",
                "contactinformation",
                ("email", "firstname", "lastname", "jobtitle", "hubspot_owner_id"),
            ),
            ("companies", "companyinformation", ("name", "domain", "website", "hubspot_owner_id")),
        ):
            store.groups[object_type] = {
                info_group: {"name": info_group, "label": "Information", "displayOrder": 0}
            }
            props = {name: _property(name, "string", "text", info_group) for name in builtin}
            props["hs_object_id"] = _property("hs_object_id", "number", "number", info_group)
            for name in ("createdate", "lastmodifieddate"):
                props[name] = _property(name, "datetime", "date", info_group)
            store.properties[object_type] = props
            store.objects[object_type] = {}
        store.labels[PRIMARY] = {
            "category": "HUBSPOT_DEFINED",
            "typeId": PRIMARY,
            "label": "Primary",
        }
        store.labels[UNLABELED] = {
            "category": "HUBSPOT_DEFINED",
            "typeId": UNLABELED,
            "label": None,
        }

    # Life cycle

    def __enter__(self) -> HubSpotEmulator:
        """Start serving on a free loopback port."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.stop()

    def start(self, port: int = 0) -> None:
        """Serve in a daemon thread (on `port`, 0: a free one); a watchdog stops a forgotten
        server."""
        server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        self._watchdog = threading.Timer(self.watchdog_seconds, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        for connection in list(self._connections):  # kept-alive clients lose theirs too
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._watchdog is not None:
            self._watchdog.cancel()

    def restart(self, down_seconds: float) -> None:
        """Go down (connections refused) for `down_seconds`, then serve on the same port.

        The portal's data survive, as HubSpot's do when a server goes away mid-run.
        """
        port = self._port
        self.down = True  # from now on requests are dropped unanswered (and not applied)
        self.stop()
        time.sleep(down_seconds)
        self.start(port)
        self.down = False

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` (still known after `stop`, to test a dead server)."""
        return f"http://127.0.0.1:{self._port}"

    # Switches

    def inject(self, *kinds: str, path_contains: str = "", method: str | None = None) -> None:
        """Answer the next requests whose path contains `path_contains` with these faults.

        `method` narrows them to one HTTP method (`GET /labels` is not `POST /labels`).
        """
        with self._lock:
            self.faults.extend(Fault(kind, path_contains, method) for kind in kinds)

    def consume(self, count: int) -> None:
        """Spend `count` requests of the budget, as another app would, just before the next one.

        Spent when the next request arrives (not now), so that a slow start of the
        client cannot let the window pass before it.
        """
        with self._lock:
            self._consume_next += count

    def add_object(self, object_type: str, properties: dict[str, str]) -> str:
        """Create an object directly, as a person or HubSpot itself would (e.g. no plg_ ids)."""
        with self._lock:
            known = self._store.properties[object_type]
            unknown = sorted(set(properties) - set(known))
            if unknown:
                raise ValueError(f"unknown {object_type} properties {unknown}")
            object_id = self._store.next_id
            self._store.next_id += 1
            now = _now()
            self._store.objects[object_type][object_id] = {
                "hs_object_id": str(object_id),
                "createdate": now,
                "lastmodifieddate": now,
                **{k: (v.lower() if k == "email" else v) for k, v in properties.items()},
            }
            return str(object_id)

    def add_property(self, object_type: str, name: str, type_: str, field_type: str) -> None:
        """Create a property directly (e.g. one with a type the target does not expect)."""
        with self._lock:
            self._store.properties[object_type][name] = _property(
                name, type_, field_type, next(iter(self._store.groups[object_type]))
            )

    def add_owner(self, email: str, first_name: str = "Sam", last_name: str = "Seller") -> str:
        """A user who can own records and tasks; returns its owner id."""
        with self._lock:
            owner_id = str(self._store.next_id + 70_000)
            self._store.next_id += 1
            self._store.owners[owner_id] = {
                "id": owner_id,
                "email": email,
                "firstName": first_name,
                "lastName": last_name,
                "userId": int(owner_id) + 1,
                "archived": False,
            }
            return owner_id

    # Inspection

    def tasks(self) -> list[dict[str, Any]]:
        """Every task: its properties and `links` (contacts/companies, object id)."""
        with self._lock:
            return [
                {**props, "id": str(task_id), "links": sorted(self._store.task_links[task_id])}
                for task_id, props in sorted(self._store.tasks.items())
            ]

    def calls_to(self, path_contains: str = "", method: str | None = None) -> list[Call]:
        """Answered requests whose path contains `path_contains` (and method, if given)."""
        with self._lock:
            return [
                c
                for c in self.calls
                if path_contains in c.path and (method is None or c.method == method)
            ]

    def properties(self, object_type: str) -> dict[str, dict[str, Any]]:
        """Property definitions by name."""
        with self._lock:
            return json.loads(json.dumps(self._store.properties[object_type]))

    def groups(self, object_type: str) -> set[str]:
        """Property group names."""
        with self._lock:
            return set(self._store.groups[object_type])

    def contacts(self) -> dict[str, dict[str, str]]:
        """Contacts' properties (system ones left out) by e-mail."""
        return self._objects("contacts", "email")

    def companies(self, key_property: str = "plg_account_id") -> dict[str, dict[str, str]]:
        """Companies' properties (system ones left out) by the key property."""
        return self._objects("companies", key_property)

    def _objects(self, object_type: str, key: str) -> dict[str, dict[str, str]]:
        with self._lock:
            return {
                props.get(key, f"id:{object_id}"): {
                    k: v for k, v in props.items() if k not in SYSTEM_PROPERTIES
                }
                for object_id, props in self._store.objects[object_type].items()
            }

    def label_names(self) -> dict[int, str]:
        """Label of every association type id (the unlabeled type is `""`)."""
        with self._lock:
            return {t: (d["label"] or "") for t, d in self._store.labels.items()}

    def associations(self, key_property: str = "plg_account_id") -> dict[tuple[str, str], set[str]]:
        """Labels by (contact e-mail, company key); the unlabeled type shows as `""`."""
        with self._lock:
            contacts = self._store.objects["contacts"]
            companies = self._store.objects["companies"]
            names = self.label_names()
            return {
                (contacts[c]["email"], companies[co].get(key_property, str(co))): {
                    names[t] for t in types
                }
                for (c, co), types in self._store.associations.items()
            }

    # Serving

    def rate_headers(self) -> dict[str, str]:
        """The rate-limit headers of an answer."""
        remaining = max(0, self.rate_max - len(self._window))
        return {
            "X-HubSpot-RateLimit-Max": str(self.rate_max),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.rate_interval * 1000)),
            "X-HubSpot-RateLimit-Daily": str(self.daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_max - self.daily_used)),
        }

    def _spend_budget(self, path: str) -> AnswerError | None:
        """Count a request; the association batch and label endpoints skip the 10 s window."""
        now = time.monotonic()
        if self._consume_next:
            self._window.extend([now] * self._consume_next)
            self._consume_next = 0
        while self._window and self._window[0] <= now - self.rate_interval:
            self._window.popleft()
        if self.daily_used >= self.daily_max:
            return AnswerError(429, _rate_limited("DAILY"))
        exempt = bool(_SECONDLY_EXEMPT.match(path))
        if not exempt and len(self._window) >= self.rate_max:
            return AnswerError(429, _rate_limited("TEN_SECONDLY_ROLLING"))
        if not exempt:
            self._window.append(now)
        self.daily_used += 1
        return None

    def _scope_refusal(self, method: str, path: str) -> AnswerError | None:
        """403 MISSING_SCOPES when the app holds none of the scopes the call needs."""
        required = hubspot_rules.required_scopes(method, path)
        if not required or self.scopes & set(required):
            return None
        correlation = f"emu-{random.getrandbits(48):012x}"
        return AnswerError(403, hubspot_rules.missing_scopes_body(required, correlation))

    def token_info(self, body: Any) -> tuple[int, Any]:
        """The private app token's portal, app and scopes (the token is in the body)."""
        if _get(body, "tokenKey") != self.token:
            raise _error(401, "INVALID_AUTHENTICATION", "The access token is invalid or expired")
        return 200, {
            "userId": 101,
            "hubId": self.hub_id,
            "appId": self.app_id,
            "scopes": sorted(self.scopes),
        }

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in list(self.faults):
            if fault.path_contains in path and fault.method in (None, method):
                self.faults.remove(fault)
                return fault
        return None

    def handle(
        self, method: str, path: str, headers: Any, body: Any, query: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str], float]:
        """(status, JSON body or None, extra headers, seconds to stall before answering)."""
        with self._lock:
            self._query = dict(query or {})
            status, answer, extra, stall = self._handle(method, path, headers, body)
            self.calls.append(Call(method, path, status, body, dict(self._query)))
            return status, answer, {**self.rate_headers(), **extra}, stall

    def _handle(
        self, method: str, path: str, headers: Any, body: Any
    ) -> tuple[int, Any, dict[str, str], float]:
        # The token info endpoint reads its token from the body, not from the header.
        if path != TOKEN_INFO_PATH and headers.get("Authorization") != f"Bearer {self.token}":
            refused = _error(
                401, "INVALID_AUTHENTICATION", "Authentication credentials not found or invalid."
            )
            return refused.status, refused.body, {}, 0.0
        fault = self._take_fault(method, path)
        if fault is not None and fault.kind not in ("timeout", "500-after-work"):
            return _fault_answer(fault.kind)
        limited = self._spend_budget(path) or self._scope_refusal(method, path)
        if limited is not None:
            return limited.status, limited.body, {}, 0.0
        try:
            status, answer = _route(self, method, path, body)
        except AnswerError as refused:
            status, answer = refused.status, refused.body
        if fault is not None and fault.kind == "500-after-work":
            return (*_fault_answer("500")[:3], 0.0)  # the work is done, the answer says not
        # A timeout: the work is done, the answer comes too late for the client.
        stall = self.timeout_delay if fault is not None else 0.0
        return status, answer, {}, stall

    # Routes (called with the lock held)

    def list_properties(self, object_type: str) -> dict[str, Any]:
        return {"results": list(self._store.properties[_object_type(object_type)].values())}

    def create_group(self, object_type: str, body: Any) -> tuple[int, Any]:
        groups = self._store.groups[_object_type(object_type)]
        name, label = _get(body, "name"), _get(body, "label")
        if not isinstance(name, str) or not _GROUP_NAME.match(name) or not isinstance(label, str):
            raise _error(400, "VALIDATION_ERROR", "A group needs a valid name and a label")
        if name in groups:
            raise _error(409, "CONFLICT", f"A property group named '{name}' already exists")
        groups[name] = {"name": name, "label": label, "displayOrder": body.get("displayOrder", -1)}
        return 201, groups[name]

    def create_properties(self, object_type: str, body: Any) -> tuple[int, Any]:
        object_type = _object_type(object_type)
        inputs = _inputs(body)
        known = self._store.properties[object_type]
        results, errors = [], []
        for item in inputs:
            problem = self._property_problem(object_type, item)
            name = item.get("name") if isinstance(item, dict) else None
            if problem:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"Property {name!r}: {problem}",
                        "context": {"name": [str(name)]},
                    }
                )
                continue
            definition = _property(
                item["name"],
                item["type"],
                item["fieldType"],
                item["groupName"],
                label=item["label"],
                options=_options(item.get("options") or []),
                hasUniqueValue=bool(item.get("hasUniqueValue")),
            )
            known[item["name"]] = definition
            results.append(definition)
        return _batch_answer(results, errors, 201, timed=False)

    def _property_problem(self, object_type: str, item: Any) -> str | None:
        return hubspot_rules.definition_problem(
            item, set(self._store.properties[object_type]), set(self._store.groups[object_type])
        )

    def update_property(self, object_type: str, name: str, body: Any) -> tuple[int, Any]:
        known = self._store.properties[_object_type(object_type)]
        if name not in known:
            raise _error(404, "OBJECT_NOT_FOUND", f"Property {name} does not exist")
        if not isinstance(body, dict):
            raise _error(400, "VALIDATION_ERROR", "The body must be an object")
        current = known[name]
        problem = hubspot_rules.update_problem(current, body)
        if problem:
            raise _error(400, "VALIDATION_ERROR", problem)
        if "type" in body and body["type"] != current["type"]:
            raise _error(400, "VALIDATION_ERROR", "This emulator does not change property types")
        if "options" in body:
            current["options"] = _options(body["options"])
        for key in ("label", "groupName", "description"):
            if key in body:
                current[key] = body[key]
        return 200, current

    def upsert(self, object_type: str, body: Any) -> tuple[int, Any]:
        object_type = _object_type(object_type)
        inputs = _inputs(body)
        known = self._store.properties[object_type]
        keys: list[str] = []
        for item in inputs:
            id_property = item.get("idProperty") if isinstance(item, dict) else None
            definition = known.get(str(id_property))
            unique = id_property == "email" and object_type == "contacts"
            if not unique and not (definition and definition["hasUniqueValue"]):
                raise _error(
                    400,
                    "VALIDATION_ERROR",
                    f"Unable to perform update/upsert by non-unique {object_type} property "
                    f"{id_property!r}",
                )
            if not isinstance(item.get("id"), str) or not isinstance(
                item.get("properties", {}), dict
            ):
                raise _error(400, "VALIDATION_ERROR", "Each input needs a string id and properties")
            key = item["id"].lower() if id_property == "email" else item["id"]
            keys.append(key)
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
            )
        unknown = sorted(
            {name for item in inputs for name in item.get("properties", {}) if name not in known}
        )
        if unknown:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Property values were not valid: properties {unknown} do not exist",
                [
                    {
                        "message": f"Property {name!r} does not exist",
                        "code": "PROPERTY_DOESNT_EXIST",
                        "context": {"propertyName": [name]},
                    }
                    for name in unknown
                ],
            )
        problems = [self._input_problem(object_type, item, known) for item in inputs]
        traced = all(isinstance(i.get("objectWriteTraceId"), str) for i in inputs)
        if any(problems) and (not traced or self.trace_ids_ignored):
            first = next(p for p in problems if p)
            raise _error(
                400, "VALIDATION_ERROR", first[1], [{"message": first[1], "code": first[0]}]
            )
        results, errors = [], []
        for item, key, problem in zip(inputs, keys, problems, strict=True):
            if problem:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": problem[1],
                        "context": {"objectWriteTraceId": [item["objectWriteTraceId"]]},
                        "errors": [{"message": problem[1], "code": problem[0]}],
                    }
                )
                continue
            results.append(self._write(object_type, item["idProperty"], key, item["properties"]))
        random.shuffle(results)  # HubSpot promises no order
        return _batch_answer(results, errors, 200)

    def _input_problem(
        self, object_type: str, item: dict[str, Any], known: dict[str, dict[str, Any]]
    ) -> tuple[str, str] | None:
        values = dict(item.get("properties") or {})
        if item["idProperty"] == "email":
            values.setdefault("email", item["id"])
        email = str(values.get("email", "")).lower()
        if object_type == "contacts" and email in self.refused_emails:
            return "INVALID_EMAIL", f"Email address {email} is invalid"
        for name, value in values.items():
            problem = hubspot_rules.value_problem(object_type, known[name], value)
            if problem:
                return problem
        return None

    def _write(
        self, object_type: str, id_property: str, key: str, properties: dict[str, str]
    ) -> dict[str, Any]:
        objects = self._store.objects[object_type]
        found = next((i for i, p in objects.items() if p.get(id_property) == key), None)
        now = _now()
        is_new = found is None
        if found is None:
            found = self._store.next_id
            self._store.next_id += 1
            objects[found] = {
                "hs_object_id": str(found),
                "createdate": now,
                id_property: key,
            }
        stored = objects[found]
        for name, value in properties.items():
            if name == "email" and object_type == "contacts":
                value = value.lower()
            if value == "":
                stored.pop(name, None)
            else:
                stored[name] = value
        stored["lastmodifieddate"] = now
        shown = {n: stored[n] for n in SYSTEM_PROPERTIES if n in stored}
        return {
            "id": str(found),
            "properties": shown if self.bare_results else dict(stored),
            "createdAt": stored["createdate"],
            "updatedAt": now,
            "archived": False,
            "new": is_new,
        }

    def read(self, object_type: str, body: Any) -> tuple[int, Any]:
        object_type = _object_type(object_type)
        inputs = _inputs(body)
        id_property = body.get("idProperty") or "hs_object_id"
        self._check_id_property(object_type, id_property)
        known = self._store.properties[object_type]
        # Properties the portal does not have are left out of the answer, as HubSpot does.
        wanted = [n for n in body.get("properties") or [] if n in known]
        objects = self._store.objects[object_type]
        results, missing = [], []
        for item in inputs:
            key = str(item.get("id"))
            if id_property == "email":
                key = key.lower()
            found = next((i for i, p in objects.items() if p.get(id_property) == key), None)
            if found is None:
                missing.append(str(item.get("id")))
                continue
            stored = objects[found]
            shown = {n: stored.get(n) for n in (*wanted, *SYSTEM_PROPERTIES)}
            results.append({"id": str(found), "properties": shown, "archived": False})
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            answer["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some objects, they may be deleted or not exist.",
                    "context": {"ids": missing},
                }
            ]
            return 207, answer
        return 200, answer

    def _check_id_property(self, object_type: str, id_property: str) -> None:
        """A read or update by a property that is missing or not unique is refused."""
        if id_property == "hs_object_id" or (object_type, id_property) == ("contacts", "email"):
            return
        definition = self._store.properties[object_type].get(id_property)
        if definition is None:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Property {id_property!r} does not exist",
                [
                    {
                        "message": f"Property {id_property!r} does not exist",
                        "code": "PROPERTY_DOESNT_EXIST",
                        "context": {"propertyName": [id_property]},
                    }
                ],
            )
        if not definition["hasUniqueValue"]:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Unable to read {object_type} by non-unique property {id_property!r}",
            )

    def list_objects(self, object_type: str) -> tuple[int, Any]:
        """GET /crm/v3/objects/{type}?limit&after&properties: pages in id order."""
        object_type = _object_type(object_type)
        query = self._query
        try:
            limit = int(query.get("limit", "10"))
        except ValueError as bad:
            raise _error(400, "VALIDATION_ERROR", "limit must be a number") from bad
        if not 1 <= limit <= BATCH_LIMIT:
            raise _error(400, "VALIDATION_ERROR", f"limit must be 1 to {BATCH_LIMIT}")
        after = query.get("after")
        if after is not None and not after.isdigit():
            raise _error(400, "VALIDATION_ERROR", f"invalid paging cursor {after!r}")
        known = self._store.properties[object_type]
        names = [n for n in (query.get("properties") or "").split(",") if n and n in known]
        objects = self._store.objects[object_type]
        ids = sorted(i for i in objects if after is None or i > int(after))
        page = ids[:limit]
        results = []
        for object_id in page:
            stored = objects[object_id]
            shown = {n: stored.get(n) for n in (*names, *SYSTEM_PROPERTIES)}
            results.append(
                {
                    "id": str(object_id),
                    "properties": shown,
                    "createdAt": stored["createdate"],
                    "updatedAt": stored["lastmodifieddate"],
                    "archived": False,
                }
            )
        answer: dict[str, Any] = {"results": results}
        if len(ids) > limit:
            cursor = str(page[-1])
            answer["paging"] = {
                "next": {
                    "after": cursor,
                    "link": f"/crm/v3/objects/{object_type}?limit={limit}&after={cursor}",
                }
            }
        return 200, answer

    def update(self, object_type: str, body: Any) -> tuple[int, Any]:
        """POST batch/update by object id: unknown properties 400, missing ids per input."""
        object_type = _object_type(object_type)
        inputs = _inputs(body)
        known = self._store.properties[object_type]
        objects = self._store.objects[object_type]
        for item in inputs:
            if not isinstance(item.get("id"), str) or not isinstance(item.get("properties"), dict):
                raise _error(400, "VALIDATION_ERROR", "Each input needs a string id and properties")
            if item.get("idProperty") not in (None, "hs_object_id"):
                raise _error(400, "VALIDATION_ERROR", "This emulator updates by object id only")
        ids = [i["id"] for i in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise _error(
                400, "VALIDATION_ERROR", f"Duplicate IDs found in batch input: {duplicates}"
            )
        unknown = sorted({n for item in inputs for n in item["properties"] if n not in known})
        if unknown:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Property values were not valid: properties {unknown} do not exist",
                [
                    {
                        "message": f"Property {name!r} does not exist",
                        "code": "PROPERTY_DOESNT_EXIST",
                        "context": {"propertyName": [name]},
                    }
                    for name in unknown
                ],
            )
        results, errors = [], []
        for item in inputs:
            object_id = int(item["id"]) if item["id"].isdigit() else -1
            problem = None
            if object_id not in objects:
                problem = ("OBJECT_NOT_FOUND", f"Object {item['id']} does not exist")
            else:
                problem = self._input_problem(
                    object_type, {**item, "idProperty": "hs_object_id"}, known
                ) or self._unique_problem(object_type, object_id, item["properties"])
            if problem:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR"
                        if problem[0] != "OBJECT_NOT_FOUND"
                        else "OBJECT_NOT_FOUND",
                        "message": problem[1],
                        "context": {
                            "ids": [item["id"]],
                            **(
                                {"objectWriteTraceId": [item["objectWriteTraceId"]]}
                                if isinstance(item.get("objectWriteTraceId"), str)
                                else {}
                            ),
                        },
                        "errors": [{"message": problem[1], "code": problem[0]}],
                    }
                )
                continue
            stored = objects[object_id]
            for name, value in item["properties"].items():
                if value == "":
                    stored.pop(name, None)
                else:
                    stored[name] = value
            stored["lastmodifieddate"] = _now()
            results.append(
                {
                    "id": str(object_id),
                    "properties": dict(stored),
                    "createdAt": stored["createdate"],
                    "updatedAt": stored["lastmodifieddate"],
                    "archived": False,
                }
            )
        return _batch_answer(results, errors, 200)

    def _unique_problem(
        self, object_type: str, object_id: int, properties: dict[str, str]
    ) -> tuple[str, str] | None:
        """A value of a unique property that another object already holds."""
        known = self._store.properties[object_type]
        for name, value in properties.items():
            if not value or not known[name]["hasUniqueValue"]:
                continue
            for other_id, other in self._store.objects[object_type].items():
                if other_id != object_id and other.get(name) == value:
                    return (
                        "CONFLICT",
                        f"{name}={value!r} is already the value of {object_type} {other_id}",
                    )
        return None

    def list_labels(self) -> dict[str, Any]:
        return {"results": list(self._store.labels.values())}

    def create_label(self, body: Any) -> tuple[int, Any]:
        name, label = _get(body, "name"), _get(body, "label")
        if not isinstance(name, str) or not name or not isinstance(label, str) or not label:
            raise _error(400, "VALIDATION_ERROR", "A label needs a name and a label")
        for existing in self._store.labels.values():
            if existing.get("name") == name or (existing["label"] or "").lower() == label.lower():
                raise _error(409, "CONFLICT", f"An association label {label!r} already exists")
        type_id = self._store.next_type_id
        self._store.next_type_id += 1
        self._store.labels[type_id] = {
            "category": "USER_DEFINED",
            "typeId": type_id,
            "label": label,
            "name": name,
        }
        return 200, {"results": [{"category": "USER_DEFINED", "typeId": type_id, "label": label}]}

    def _association_inputs(
        self, body: Any
    ) -> list[tuple[dict[str, Any], int, int, set[int], str | None]]:
        """(input, contact id, company id, types, problem) per input."""
        parsed = []
        contacts, companies = self._store.objects["contacts"], self._store.objects["companies"]
        for item in _inputs(body):
            try:
                contact_id = int(item["from"]["id"])
                company_id = int(item["to"]["id"])
                types = {
                    (t["associationCategory"], int(t["associationTypeId"])) for t in item["types"]
                }
            except (KeyError, TypeError, ValueError) as bad:
                raise _error(400, "VALIDATION_ERROR", f"Invalid association input: {bad}") from bad
            problem = None
            if contact_id not in contacts:
                problem = f"Contact {contact_id} does not exist"
            elif company_id not in companies:
                problem = f"Company {company_id} does not exist"
            for category, type_id in types:
                label = self._store.labels.get(type_id)
                if label is None or label["category"] != category:
                    problem = f"Association type {category}/{type_id} does not exist"
            parsed.append((item, contact_id, company_id, {t for _, t in types}, problem))
        return parsed

    def create_associations(self, body: Any) -> tuple[int, Any]:
        results, errors = [], []
        for _item, contact_id, company_id, types, problem in self._association_inputs(body):
            if problem:
                side = "toObjectId" if problem.startswith("Company") else "fromObjectId"
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": problem,
                        "context": {
                            side: [str(company_id if side == "toObjectId" else contact_id)]
                        },
                    }
                )
                continue
            if PRIMARY in types:
                for (c, _co), existing in self._store.associations.items():
                    if c == contact_id:
                        existing.discard(PRIMARY)
            current = self._store.associations.setdefault((contact_id, company_id), set())
            current.update(types | {UNLABELED})
            names = self.label_names()
            results.append(
                {
                    "fromObjectTypeId": "0-1",
                    "fromObjectId": contact_id,
                    "toObjectTypeId": "0-2",
                    "toObjectId": company_id,
                    "labels": sorted(names[t] for t in current if names[t]),
                }
            )
        return _batch_answer(results, errors, 201)

    def archive_labels(self, body: Any) -> tuple[int, Any]:
        for _item, contact_id, company_id, types, problem in self._association_inputs(body):
            if problem:
                raise _error(400, "VALIDATION_ERROR", problem)
            current = self._store.associations.get((contact_id, company_id))
            if current is not None:
                current.difference_update(types - {UNLABELED})
        return 204, None

    def list_owners(self) -> tuple[int, Any]:
        """GET /crm/v3/owners?limit&after: owners in id order, paged."""
        limit = int(self._query.get("limit", "100"))
        if not 1 <= limit <= 500:
            raise _error(400, "VALIDATION_ERROR", "limit must be between 1 and 500")
        after = self._query.get("after")
        owners = [o for k, o in sorted(self._store.owners.items()) if after is None or k > after]
        answer: dict[str, Any] = {"results": owners[:limit]}
        if len(owners) > limit:
            answer["paging"] = {"next": {"after": owners[limit - 1]["id"]}}
        return 200, answer

    def create_tasks(self, body: Any) -> tuple[int, Any]:
        """POST /crm/v3/objects/tasks/batch/create (see `hubspot_tasks`)."""
        inputs = _inputs(body)
        problems = [
            hubspot_tasks.task_problem(
                item, set(self._store.owners), self._store.objects, hubspot_rules.is_datetime
            )
            for item in inputs
        ]
        traced = all(isinstance(i.get("objectWriteTraceId"), str) for i in inputs)
        if any(problems) and not traced:
            code, message = next(p for p in problems if p)
            raise _error(400, "VALIDATION_ERROR", message, [{"message": message, "code": code}])
        results, errors = [], []
        for item, problem in zip(inputs, problems, strict=True):
            if problem:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": problem[1],
                        "context": {"objectWriteTraceId": [item["objectWriteTraceId"]]},
                        "errors": [{"message": problem[1], "code": problem[0]}],
                    }
                )
                continue
            results.append(self._create_task(item))
        random.shuffle(results)
        return _batch_answer(results, errors, 201)

    def _create_task(self, item: dict[str, Any]) -> dict[str, Any]:
        task_id = self._store.next_id
        self._store.next_id += 1
        now = _now()
        stored = {"hs_object_id": str(task_id), "createdate": now, "lastmodifieddate": now}
        stored.update(item["properties"])
        stored.setdefault("hs_task_status", "NOT_STARTED")
        self._store.tasks[task_id] = stored
        links = set()
        for association in item.get("associations") or []:
            for kind in association["types"]:
                object_type = (
                    "contacts"
                    if kind["associationTypeId"] == hubspot_tasks.TASK_CONTACT_TYPE
                    else "companies"
                )
                links.add((object_type, int(association["to"]["id"])))
        self._store.task_links[task_id] = links
        return {
            "id": str(task_id),
            "properties": dict(stored),
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
        }

    def read_tasks(self, body: Any) -> tuple[int, Any]:
        """POST /crm/v3/objects/tasks/batch/read by id."""
        inputs = _inputs(body)
        wanted = [n for n in body.get("properties") or [] if n in hubspot_tasks.TASK_PROPERTIES]
        results, missing = [], []
        for item in inputs:
            try:
                task = self._store.tasks.get(int(str(item.get("id"))))
            except ValueError:
                task = None
            if task is None:
                missing.append(str(item.get("id")))
                continue
            shown = {n: task.get(n) for n in (*wanted, *SYSTEM_PROPERTIES)}
            results.append({"id": task["hs_object_id"], "properties": shown, "archived": False})
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            answer["errors"] = [
                {"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": missing}}
            ]
            return 207, answer
        return 200, answer

    def read_task_associations(self, from_type: str, body: Any) -> tuple[int, Any]:
        """POST /crm/v4/associations/{contacts|companies}/tasks/batch/read."""
        inputs = _get(body, "inputs")
        if not isinstance(inputs, list) or len(inputs) > 1000:
            raise _error(400, "VALIDATION_ERROR", "inputs: a list of at most 1000 ids")
        type_id = (
            hubspot_tasks.TASK_CONTACT_TYPE
            if from_type == "contacts"
            else hubspot_tasks.TASK_COMPANY_TYPE
        )
        results = []
        for item in inputs:
            source = int(str(_get(item, "id")))
            linked = [
                t for t, links in self._store.task_links.items() if (from_type, source) in links
            ]
            results.append(
                {
                    "from": {"id": str(source)},
                    "to": [
                        {
                            "toObjectId": t,
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                            ],
                        }
                        for t in linked
                    ],
                }
            )
        return 200, {"status": "COMPLETE", "results": results}

    def read_associations(self, body: Any) -> tuple[int, Any]:
        """v4 batch read: each contact's companies with their types, paged per contact."""
        inputs = _get(body, "inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise _error(400, "VALIDATION_ERROR", "The body needs a list of inputs")
        if len(inputs) > ASSOCIATION_READ_LIMIT:
            raise _error(
                400,
                "VALIDATION_ERROR",
                f"Batch of {len(inputs)} inputs: at most {ASSOCIATION_READ_LIMIT}",
            )
        labels = self._store.labels
        results, errors = [], []
        for item in inputs:
            try:
                contact_id = int(item["id"])
                after = int(item.get("after") or 0)
            except (KeyError, TypeError, ValueError) as bad:
                raise _error(400, "VALIDATION_ERROR", f"Invalid input: {bad}") from bad
            pairs = sorted(
                (company_id, types)
                for (c, company_id), types in self._store.associations.items()
                if c == contact_id
            )
            if not pairs:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"No contacts with id {contact_id} has associations",
                        "context": {"fromObjectId": [str(contact_id)]},
                    }
                )
                continue
            page = pairs[after : after + self.association_page_size]
            result: dict[str, Any] = {
                "from": {"id": str(contact_id)},
                "to": [
                    {
                        "toObjectId": company_id,
                        "associationTypes": [
                            {
                                "category": labels[t]["category"],
                                "typeId": t,
                                "label": labels[t]["label"],
                            }
                            for t in sorted(types)
                        ],
                    }
                    for company_id, types in page
                ],
            }
            if after + self.association_page_size < len(pairs):
                next_after = str(after + self.association_page_size)
                result["paging"] = {"next": {"after": next_after, "link": None}}
            results.append(result)
        return _batch_answer(results, errors, 200, timed=False)

    def set_association_labels(self, email: str, account_key: str, labels: set[str]) -> None:
        """Give an association exactly these labels (by name), as a person in HubSpot would."""
        with self._lock:
            contact_id = next(
                i for i, c in self._store.objects["contacts"].items() if c["email"] == email
            )
            company_id = next(
                i
                for i, c in self._store.objects["companies"].items()
                if c.get("plg_account_id") == account_key
            )
            by_name = {(d["label"] or "").lower(): t for t, d in self._store.labels.items()}
            types = {by_name[n.lower()] for n in labels} | {UNLABELED}
            self._store.associations[(contact_id, company_id)] = types

    def archive_associations(self, body: Any) -> tuple[int, Any]:
        for item in _inputs(body):
            contact_id = int(item["from"]["id"])
            for target in item.get("to") or []:
                self._store.associations.pop((contact_id, int(target["id"])), None)
        return 204, None


def _rate_limited(policy: str) -> dict[str, Any]:
    return {
        "status": "error",
        "errorType": "RATE_LIMIT",
        "policyName": policy,
        "message": "You have reached your secondly limit."
        if policy != "DAILY"
        else "You have reached your daily limit.",
        "correlationId": f"emu-{random.getrandbits(48):012x}",
    }


def _fault_answer(kind: str) -> tuple[int, Any, dict[str, str], float]:
    if kind == "429":
        return 429, _rate_limited("TEN_SECONDLY_ROLLING"), {}, 0.0
    if kind == "429-retry-after":
        return 429, _rate_limited("TEN_SECONDLY_ROLLING"), {"Retry-After": "1"}, 0.0
    if kind == "423":
        return 423, {"status": "error", "category": "LOCKED", "message": "Locked"}, {}, 0.0
    if kind == "400":
        return (
            400,
            {"status": "error", "category": "VALIDATION_ERROR", "message": "Refused"},
            {},
            0.0,
        )
    if kind == "500":
        return 500, {"status": "error", "category": "INTERNAL_ERROR", "message": "Oops"}, {}, 0.0
    raise ValueError(f"unknown fault {kind!r}")


def _object_type(name: str) -> str:
    if name not in ("contacts", "companies"):
        raise _error(404, "OBJECT_NOT_FOUND", f"Unknown object type {name}")
    return name


def _get(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


def _inputs(body: Any) -> list[dict[str, Any]]:
    inputs = _get(body, "inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise _error(400, "VALIDATION_ERROR", "The body needs a list of inputs")
    if len(inputs) > BATCH_LIMIT:
        raise _error(
            400, "VALIDATION_ERROR", f"Batch of {len(inputs)} inputs: at most {BATCH_LIMIT}"
        )
    return inputs


def _options(options: Any) -> list[dict[str, Any]]:
    """Options as HubSpot stores them (checked by `hubspot_rules` before)."""
    return [
        {
            "label": o["label"],
            "value": o["value"],
            "displayOrder": o.get("displayOrder", i),
            "hidden": bool(o.get("hidden", False)),
        }
        for i, o in enumerate(options or [])
    ]


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(f"^{re.escape(TOKEN_INFO_PATH)}$"), "token_info"),
    ("GET", re.compile(r"^/crm/v3/properties/(\w+)$"), "list_properties"),
    ("POST", re.compile(r"^/crm/v3/properties/(\w+)/groups$"), "create_group"),
    ("POST", re.compile(r"^/crm/v3/properties/(\w+)/batch/create$"), "create_properties"),
    ("PATCH", re.compile(r"^/crm/v3/properties/(\w+)/(\w+)$"), "update_property"),
    ("GET", re.compile(r"^/crm/v3/owners/?$"), "list_owners"),
    ("POST", re.compile(r"^/crm/v3/objects/tasks/batch/create$"), "create_tasks"),
    ("POST", re.compile(r"^/crm/v3/objects/tasks/batch/read$"), "read_tasks"),
    (
        "POST",
        re.compile(r"^/crm/v4/associations/(contacts|companies)/tasks/batch/read$"),
        "read_task_associations",
    ),
    ("POST", re.compile(r"^/crm/v3/objects/(\w+)/batch/upsert$"), "upsert"),
    ("POST", re.compile(r"^/crm/v3/objects/(\w+)/batch/read$"), "read"),
    ("POST", re.compile(r"^/crm/v3/objects/(\w+)/batch/update$"), "update"),
    ("GET", re.compile(r"^/crm/v3/objects/(\w+)$"), "list_objects"),
    ("GET", re.compile(r"^/crm/v4/associations/contacts/companies/labels$"), "list_labels"),
    ("POST", re.compile(r"^/crm/v4/associations/contacts/companies/labels$"), "create_label"),
    (
        "POST",
        re.compile(r"^/crm/v4/associations/contacts/companies/batch/create$"),
        "create_associations",
    ),
    (
        "POST",
        re.compile(r"^/crm/v4/associations/contacts/companies/batch/read$"),
        "read_associations",
    ),
    (
        "POST",
        re.compile(r"^/crm/v4/associations/contacts/companies/batch/labels/archive$"),
        "archive_labels",
    ),
    (
        "POST",
        re.compile(r"^/crm/v4/associations/contacts/companies/batch/archive$"),
        "archive_associations",
    ),
]


def _route(emulator: HubSpotEmulator, method: str, path: str, body: Any) -> tuple[int, Any]:
    for route_method, pattern, name in _ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            handler = getattr(emulator, name)
            args = list(match.groups())
            answer = handler(*args, body) if method != "GET" else handler(*args)
            return answer if isinstance(answer, tuple) else (200, answer)
    raise _error(404, "OBJECT_NOT_FOUND", f"No route for {method} {path}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        """Remember the connection, so that a stopped server cuts kept-alive ones too."""
        super().setup()
        self.server.emulator._connections.add(self.connection)  # type: ignore[attr-defined]

    def finish(self) -> None:
        """Forget the connection."""
        self.server.emulator._connections.discard(self.connection)  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silent: tests read `emulator.calls`."""

    def _serve(self) -> None:
        emulator: HubSpotEmulator = self.server.emulator  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(413, {"status": "error", "message": "Request too large"}, {})
            return
        raw = self.rfile.read(length) if length else b""
        if emulator.down:  # going down: the connection drops, nothing is done
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(400, {"status": "error", "message": "Invalid JSON"}, {})
            return
        path, _, raw_query = self.path.partition("?")
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        status, answer, headers, stall = emulator.handle(
            self.command, path, self.headers, body, query
        )
        if stall:
            time.sleep(stall)
        self._send(status, answer, headers)

    def _send(self, status: int, answer: Any, headers: dict[str, str]) -> None:
        data = b"" if answer is None else json.dumps(answer).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if answer is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)

    do_GET = do_POST = do_PATCH = _serve  # noqa: N815 - http.server's naming


def iter_calls(emulator: HubSpotEmulator) -> Iterator[str]:
    """`METHOD path status` lines of the answered requests (for failure messages)."""
    for call in emulator.calls:
        yield f"{call.method} {call.path} {call.status}"

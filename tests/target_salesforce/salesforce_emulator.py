"""A Salesforce emulator: a real HTTP server on loopback that answers as crm-contract.md says.

Written from the facts in the design's crm-contract.md and Salesforce's documentation.
It refuses what Salesforce refuses, because a test against an emulator that accepts
anything proves nothing:

- OAuth: `POST /services/oauth2/token`, client credentials (client id and secret) or JWT
  bearer (RS256 assertion verified with the connected app's certificate key; iss, sub,
  aud = the login URL, exp at most 3 minutes ahead); no `expires_in`; an expired session
  answers 401 INVALID_SESSION_ID;
- describe of Contact, Account, AccountContactRelation (fields the user can see only);
- sObject Collections: upsert by external id, update by Id, create; at most 200 records
  (EXCEEDED_ID_LIMIT), allOrNone false answers 200 with one result per record in request
  order; allOrNone true rolls back; unknown or invisible fields (INVALID_FIELD, whole
  request), JSON_PARSER_ERROR (a datetime without `T`, a number as text), read-only
  fields, REQUIRED_FIELD_MISSING (Contact LastName, Account Name), INVALID_EMAIL_ADDRESS,
  INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST (Roles), STRING_TOO_LONG, duplicate external
  ids, foreign keys by external id; e-mails stored lower-case;
- AccountContactRelation: one per pair (DUPLICATE_VALUE), AccountId/ContactId fixed after
  create, IsDirect read-only and kept by Contact.AccountId (which creates the direct
  relation), exists only when "Contacts to Multiple Accounts" is on;
- SOQL (`GET .../query?q=`): `SELECT fields FROM object WHERE` comparisons `=`, `!=`,
  `IN (...)` joined by AND / OR; text compared case-insensitively; paging;
- Tooling API CustomField create (types and their required attributes, Checkbox needs a
  defaultValue, DUPLICATE_DEVELOPER_NAME); a new field is invisible (INVALID_FIELD) until a
  PermissionSet with FieldPermissions is assigned to the user (PermissionSetAssignment);
- limits: `Sforce-Limit-Info: api-usage=N/M` on every answer; 403 REQUEST_LIMIT_EXCEEDED;
- the Metadata API (SOAP, `salesforce_metadata_soap`): the Roles value set read and
  replaced whole (a value left out is deactivated).

Switches for tests: `inject(...)` queues faults for the next matching requests (`500`,
`timeout`: the work is done but answered too late, `drop`: the work is done and the
connection closed without an answer, `lock`: the first record of the next
collection call is refused with UNABLE_TO_LOCK_ROW, `expire`: the session expires just
before this request); `expire_sessions()`; `acr_enabled`; `grant_delay_requests` (a field
granted stays invisible for that many more requests, as a grant takes a moment to apply);
`grant_delay_seconds` (the same, in time); `describe_ahead` (a describe lists a granted
field before queries and writes may use it); `daily_max`. The server binds 127.0.0.1 only
and stops at the end of the `with` block.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import random
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from .salesforce_metadata_soap import fault_xml, serve_metadata_soap, soap_operation
from .salesforce_tasks import seed_tasks, task_problem

MAX_BODY_BYTES = 8 * 1024 * 1024
#: The `stall` that closes the connection without an answer (fault `drop`).
DROP_CONNECTION = -1.0
COLLECTION_LIMIT = 200
LATEST_VERSION = 62.0
QUERY_PAGE_SIZE = 2000
JWT_MAX_LIFETIME_SECONDS = 180
ORG_ID = "00D000000000001EAA"
USER_ID = "005000000000001AAA"
ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)
ID_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "AccountContactRelation": "07k",
    "PermissionSet": "0PS",
    "FieldPermissions": "01k",
    "PermissionSetAssignment": "0Pa",
    "CustomField": "00N",
    "Task": "00T",
    "User": "005",
}
FIELD_TYPES = {
    "Number",
    "Checkbox",
    "Text",
    "LongTextArea",
    "DateTime",
    "Date",
    "Picklist",
    "MultiselectPicklist",
    "Email",
}
DESCRIBE_TYPES = {
    "Number": "double",
    "Checkbox": "boolean",
    "Text": "string",
    "LongTextArea": "textarea",
    "DateTime": "datetime",
    "Date": "date",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Email": "email",
}
_CUSTOM_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATA_PATH = re.compile(r"^/services/data/v(\d+\.\d)(/.*)$")


class AnswerError(Exception):
    """An error answer (status and body), raised by a route to leave its handler early."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> AnswerError:
    """Salesforce's whole-request error: a JSON list of {message, errorCode, fields}."""
    return AnswerError(status, [{"message": message, "errorCode": code, "fields": fields or []}])


class RecordError(Exception):
    """One record refused inside a collection: {statusCode, message, fields}."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.entry = {"statusCode": code, "message": message, "fields": fields or []}


def _field(name: str, kind: str, **extra: Any) -> dict[str, Any]:
    """A describe entry."""
    return {
        "name": name,
        "type": kind,
        "label": name,
        "custom": name.endswith("__c"),
        "externalId": False,
        "unique": False,
        "updateable": True,
        "createable": True,
        "nillable": True,
        "length": 255 if kind in ("string", "email", "url", "textarea") else 0,
        "picklistValues": [],
        "restrictedPicklist": False,
        **extra,
    }


@dataclass
class Call:
    """One request the emulator answered."""

    method: str
    path: str
    status: int
    body: Any = None
    query: str = ""


@dataclass
class Fault:
    """A fault answered instead of (or on top of) the real thing."""

    kind: str  # 500 | timeout | drop | lock | expire
    path_contains: str = ""
    method: str | None = None
    sobject: str | None = None  # only a collection call carrying records of this type


@dataclass
class _Org:
    fields: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)  # `Object.Field` needing a grant
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


class SalesforceEmulator:
    """Salesforce's contract on an in-memory org, served over HTTP on 127.0.0.1."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        username: str = "integration@example.com",
        public_key_pem: str | None = None,
        daily_max: int = 100_000,
        acr_enabled: bool = True,
        grant_delay_requests: int = 0,
        grant_delay_seconds: float = 0.0,
        describe_ahead: bool = False,
        timeout_delay_seconds: float = 1.0,
        watchdog_seconds: float = 300.0,
    ) -> None:
        """An org with Contact, Account and AccountContactRelation and no data."""
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.public_key_pem = public_key_pem
        self.daily_max = daily_max
        self.daily_used = 0
        self.acr_enabled = acr_enabled
        self.grant_delay_requests = grant_delay_requests
        self._visible_from: dict[str, int] = {}  # field -> request count it shows from
        self.grant_delay_seconds = grant_delay_seconds
        self.describe_ahead = describe_ahead  # describe lists a grant before DML sees it
        self._visible_at: dict[str, float] = {}  # field -> monotonic time it shows from
        self.timeout_delay = timeout_delay_seconds
        self.watchdog_seconds = watchdog_seconds
        self.calls: list[Call] = []
        self.faults: deque[Fault] = deque()
        self.sessions: set[str] = set()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.token_requests = 0
        self.requests = 0
        self.role_updates = 0  # updateMetadata calls applied to the Roles value set
        self._lock_next = False
        self._lock = threading.RLock()
        self._org = _Org()
        self._seed()
        self._server: ThreadingHTTPServer | None = None
        self._port = 0
        self._watchdog: threading.Timer | None = None

    def _seed(self) -> None:
        org = self._org
        org.fields["Contact"] = {
            "Id": _field("Id", "id", updateable=False, createable=False, nillable=False),
            "FirstName": _field("FirstName", "string", length=40),
            "LastName": _field("LastName", "string", length=80, nillable=False),
            "Email": _field("Email", "email", length=80),
            "Title": _field("Title", "string", length=128),
            "Phone": _field("Phone", "phone", length=40),
            "AccountId": _field("AccountId", "reference", referenceTo=["Account"]),
        }
        org.fields["Account"] = {
            "Id": _field("Id", "id", updateable=False, createable=False, nillable=False),
            "Name": _field("Name", "string", nillable=False),
            "Website": _field("Website", "url"),
        }
        org.fields["AccountContactRelation"] = {
            "Id": _field("Id", "id", updateable=False, createable=False, nillable=False),
            "AccountId": _field("AccountId", "reference", updateable=False, nillable=False),
            "ContactId": _field("ContactId", "reference", updateable=False, nillable=False),
            "Roles": _field(
                "Roles",
                "multipicklist",
                picklistValues=[
                    {"value": r, "label": r, "active": True, "defaultValue": False} for r in ROLES
                ],
                restrictedPicklist=True,
            ),
            "IsDirect": _field("IsDirect", "boolean", updateable=False, createable=False),
            "IsActive": _field("IsActive", "boolean"),
            "StartDate": _field("StartDate", "date"),
            "EndDate": _field("EndDate", "date"),
        }
        seed_tasks(org.fields, _field)
        for name in ("PermissionSet", "FieldPermissions", "PermissionSetAssignment"):
            org.fields[name] = {"Id": _field("Id", "id", updateable=False, createable=False)}
        org.fields["PermissionSet"].update(
            Name=_field("Name", "string"),
            Label=_field("Label", "string"),
            Description=_field("Description", "string"),
        )
        org.fields["FieldPermissions"].update(
            ParentId=_field("ParentId", "reference"),
            SobjectType=_field("SobjectType", "string"),
            Field=_field("Field", "string"),
            PermissionsRead=_field("PermissionsRead", "boolean"),
            PermissionsEdit=_field("PermissionsEdit", "boolean"),
        )
        org.fields["PermissionSetAssignment"].update(
            PermissionSetId=_field("PermissionSetId", "reference"),
            AssigneeId=_field("AssigneeId", "reference"),
        )
        for name in org.fields:
            org.records[name] = {}

    # Life cycle

    def __enter__(self) -> SalesforceEmulator:
        """Start serving on a free loopback port."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._watchdog = threading.Timer(self.watchdog_seconds, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.stop()

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._watchdog is not None:
            self._watchdog.cancel()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: both the login URL and the instance URL."""
        return f"http://127.0.0.1:{self._port}"

    # Switches and set-up

    def inject(
        self,
        *kinds: str,
        path_contains: str = "",
        method: str | None = None,
        sobject: str | None = None,
    ) -> None:
        """Answer the next matching requests with these faults (see `Fault`)."""
        with self._lock:
            self.faults.extend(Fault(kind, path_contains, method, sobject) for kind in kinds)

    def expire_sessions(self) -> None:
        """Every access token handed out so far stops working (401 INVALID_SESSION_ID)."""
        with self._lock:
            self.sessions.clear()

    def add_field(
        self, sobject: str, name: str, kind: str, *, visible: bool = True, **extra: Any
    ) -> None:
        """A field made by someone else (describe type, e.g. `string`)."""
        with self._lock:
            self._org.fields[sobject][name] = _field(name, kind, **extra)
            if not visible:
                self._org.hidden.add(f"{sobject}.{name}")

    def add_record(self, sobject: str, **values: Any) -> str:
        """A record made by someone else (e.g. a sales rep's Contact); returns its Id."""
        with self._lock:
            record_id = self._new_id(sobject)
            record = {"Id": record_id, **values}
            if sobject == "Contact" and record.get("Email"):
                record["Email"] = str(record["Email"]).lower()
            self._org.records[sobject][record_id] = record
            if sobject == "Contact" and record.get("AccountId"):
                self._direct_relation(record_id, None, record["AccountId"])
            return record_id

    # Inspection

    def add_user(self, email: str, *, active: bool = True) -> str:
        """A User who can own records and Tasks; returns its Id."""
        with self._lock:
            user_id = self._new_id("User")
            self._org.records["User"][user_id] = {
                "Id": user_id,
                "Email": email,
                "Username": email,
                "IsActive": active,
            }
            return user_id

    def calls_to(self, path_contains: str = "", method: str | None = None) -> list[Call]:
        """Answered requests whose path contains `path_contains` (and method, if given)."""
        with self._lock:
            return [
                c
                for c in self.calls
                if path_contains in c.path and (method is None or c.method == method)
            ]

    def writes(self, sobject: str) -> list[Call]:
        """Collection calls (upsert, update, create) that carried records of `sobject`."""
        with self._lock:
            return [
                c
                for c in self.calls
                if "/composite/sobjects" in c.path
                and c.method in ("PATCH", "POST")
                and isinstance(c.body, dict)
                and any(
                    (r.get("attributes") or {}).get("type") == sobject
                    for r in c.body.get("records") or []
                    if isinstance(r, dict)
                )
            ]

    def edit_record(self, sobject: str, record_id: str, **values: Any) -> None:
        """A person edits a record in Salesforce (e.g. a sales rep retypes a phone number)."""
        with self._lock:
            self._org.records[sobject][record_id].update(values)

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Copies of every record of `sobject`."""
        with self._lock:
            return copy.deepcopy(list(self._org.records[sobject].values()))

    def fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        """Every field of `sobject` (visible or not), by name."""
        with self._lock:
            return copy.deepcopy(self._org.fields[sobject])

    def visible(self, sobject: str, name: str) -> bool:
        """Whether the integration user can see a field (field-level security)."""
        with self._lock:
            return self._visible(sobject, name)

    def contacts(self, key: str = "PLG_User_Id__c") -> dict[str, dict[str, Any]]:
        """Contacts by external id (or `email:<address>` without one)."""
        return {str(r.get(key) or f"email:{r.get('Email')}"): r for r in self.records("Contact")}

    def accounts(self, key: str = "PLG_Account_Id__c") -> dict[str, dict[str, Any]]:
        """Accounts by external id (or `name:<Name>` without one)."""
        return {str(r.get(key) or f"name:{r.get('Name')}"): r for r in self.records("Account")}

    def relations(self) -> dict[tuple[str, str], dict[str, Any]]:
        """AccountContactRelations by (contact's user id, account's account id)."""
        with self._lock:
            contacts = self._org.records["Contact"]
            accounts = self._org.records["Account"]
            return {
                (
                    str(contacts[r["ContactId"]].get("PLG_User_Id__c") or r["ContactId"]),
                    str(accounts[r["AccountId"]].get("PLG_Account_Id__c") or r["AccountId"]),
                ): copy.deepcopy(r)
                for r in self._org.records["AccountContactRelation"].values()
            }

    # Serving

    def handle(
        self, method: str, target: str, headers: Any, raw: bytes
    ) -> tuple[int, Any, dict[str, str], float]:
        """(status, JSON body or None, extra headers, seconds to stall before answering)."""
        parts = urlsplit(target)
        path, query = parts.path, parts.query
        with self._lock:
            if path == "/services/oauth2/token" and method == "POST":
                status, answer = self._token(raw.decode("utf-8", "replace"))
                self.calls.append(Call(method, path, status, None))
                return status, answer, {}, 0.0
            if path.startswith("/services/Soap/"):
                return self._serve_soap(method, path, headers, raw)
            body: Any = None
            try:
                is_csv = str(headers.get("Content-Type") or "").startswith("text/csv")
                body = raw.decode("utf-8") if is_csv else (json.loads(raw) if raw else None)
            except ValueError:
                status, answer = 400, _error(400, "JSON_PARSER_ERROR", "Invalid JSON").body
            else:
                status, answer, stall = self._serve(method, path, query, headers, body)
                self.calls.append(Call(method, path, status, body, unquote(query)))
                limit = {"Sforce-Limit-Info": f"api-usage={self.daily_used}/{self.daily_max}"}
                return status, answer, limit, stall
            self.calls.append(Call(method, path, status, None))
            return status, answer, {}, 0.0

    def _serve(
        self, method: str, path: str, query: str, headers: Any, body: Any
    ) -> tuple[int, Any, float]:
        fault = self._take_fault(method, path, body)
        if fault is not None and fault.kind == "expire":
            self.sessions.clear()
        auth = str(headers.get("Authorization") or "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.sessions:
            error = _error(401, "INVALID_SESSION_ID", "Session expired or invalid")
            return 401, error.body, 0.0
        if self.daily_used >= self.daily_max:
            error = _error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            return 403, error.body, 0.0
        self.daily_used += 1
        self.requests += 1
        if fault is not None and fault.kind == "500":
            return 500, _error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred").body, 0.0
        self._lock_next = fault is not None and fault.kind == "lock"
        try:
            status, answer = self._route(method, path, query, body)
        except AnswerError as refused:
            status, answer = refused.status, refused.body
        stall = self.timeout_delay if fault is not None and fault.kind == "timeout" else 0.0
        if fault is not None and fault.kind == "drop":
            stall = DROP_CONNECTION
        return status, answer, stall

    def _serve_soap(
        self, method: str, path: str, headers: Any, raw: bytes
    ) -> tuple[int, Any, dict[str, str], float]:
        """The Metadata API (see `salesforce_metadata_soap`): faults, limits, then the call.

        A fault can name the operation: `path_contains="#updateMetadata"`."""
        fault = self._take_fault(method, f"{path}#{soap_operation(raw)}", None)
        if fault is not None and fault.kind == "expire":
            self.sessions.clear()
        stall = 0.0
        if method != "POST":
            status, answer = 500, fault_xml("soapenv:Client", "SOAP calls are POSTed")
        elif self.daily_used >= self.daily_max:
            status = 500
            answer = fault_xml("sf:REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        elif fault is not None and fault.kind == "500":
            self.daily_used += 1
            status, answer = 500, fault_xml("sf:UNKNOWN_EXCEPTION", "An unexpected error occurred")
        else:
            self.daily_used += 1
            self.requests += 1
            status, answer = serve_metadata_soap(self, path, headers, raw)
            stall = self.timeout_delay if fault is not None and fault.kind == "timeout" else 0.0
        text = raw.decode("utf-8", "replace")
        self.calls.append(Call(method, path, status, text, soap_operation(raw)))
        return status, answer, {}, stall

    def _take_fault(self, method: str, path: str, body: Any) -> Fault | None:
        records = body.get("records") if isinstance(body, dict) else None
        types = {
            (r.get("attributes") or {}).get("type") for r in records or [] if isinstance(r, dict)
        }
        for fault in list(self.faults):
            if fault.sobject is not None and fault.sobject not in types:
                continue
            if fault.path_contains in path and fault.method in (None, method):
                self.faults.remove(fault)
                return fault
        return None

    def _route(self, method: str, path: str, query: str, body: Any) -> tuple[int, Any]:
        match = _DATA_PATH.match(path)
        if not match or float(match.group(1)) > LATEST_VERSION or float(match.group(1)) < 31:
            raise _error(404, "NOT_FOUND", "The requested resource does not exist")
        rest = match.group(2)
        parts = [p for p in rest.split("/") if p]
        if method == "GET" and parts[:1] == ["query"]:
            return 200, self._query(parts, query)
        if (
            method == "GET"
            and len(parts) == 3
            and parts[0] == "sobjects"
            and parts[2] == "describe"
        ):
            return 200, self._describe(parts[1])
        if parts[:2] == ["composite", "sobjects"]:
            records, all_or_none = _collection(body)
            if method == "PATCH" and len(parts) == 4:
                return 200, self._collection(records, all_or_none, "upsert", parts[2], parts[3])
            if method == "PATCH" and len(parts) == 2:
                return 200, self._collection(records, all_or_none, "update")
            if method == "POST" and len(parts) == 2:
                return 200, self._collection(records, all_or_none, "create")
        if method == "POST" and len(parts) == 2 and parts[0] == "sobjects":
            return self._create_one(parts[1], body)
        if method == "POST" and parts == ["tooling", "sobjects", "CustomField"]:
            return self._create_field(body)
        if parts[:2] == ["jobs", "ingest"]:
            return self._bulk(method, parts[2:], body)
        raise _error(404, "NOT_FOUND", f"The requested resource does not exist: {method} {path}")

    # OAuth

    def _token(self, form_text: str) -> tuple[int, Any]:
        self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(form_text).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if form.get("client_id") != self.client_id:
                return 400, {
                    "error": "invalid_client_id",
                    "error_description": "client identifier invalid",
                }
            if form.get("client_secret") != self.client_secret:
                return 400, {
                    "error": "invalid_client",
                    "error_description": "invalid client credentials",
                }
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self._jwt_problem(form.get("assertion") or "")
            if problem:
                return 400, {"error": "invalid_grant", "error_description": problem}
        else:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "grant type not supported",
            }
        token = f"{ORG_ID}!{secrets.token_urlsafe(24)}"
        self.sessions.add(token)
        return 200, {
            "access_token": token,
            "instance_url": self.base_url,
            "id": f"{self.base_url}/id/{ORG_ID}/{USER_ID}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
            "signature": secrets.token_urlsafe(16),
        }

    def _jwt_problem(self, assertion: str) -> str | None:
        if not self.public_key_pem:
            return "no certificate uploaded for this connected app"
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self.public_key_pem,
                algorithms=["RS256"],
                audience=self.base_url,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            return "expired authorization code"
        except jwt.InvalidTokenError as error:
            return f"invalid assertion ({type(error).__name__})"
        if header.get("alg") != "RS256":
            return "invalid assertion (alg)"
        if claims["iss"] != self.client_id:
            return "invalid_client_id"
        if claims["sub"] != self.username:
            return "user hasn't approved this consumer"
        if claims["exp"] > time.time() + JWT_MAX_LIFETIME_SECONDS + 5:
            return "invalid assertion (exp more than 3 minutes ahead)"
        return None

    # Visibility

    def _visible(self, sobject: str, name: str, *, describing: bool = False) -> bool:
        full = f"{sobject}.{name}"
        if full not in self._org.hidden:
            return True
        granted_sets = {
            a["PermissionSetId"]
            for a in self._org.records["PermissionSetAssignment"].values()
            if a.get("AssigneeId") == USER_ID
        }
        granted = any(
            p.get("Field") == full
            and p.get("PermissionsRead")
            and p.get("ParentId") in granted_sets
            for p in self._org.records["FieldPermissions"].values()
        )
        if not granted:
            return False
        if describing and self.describe_ahead:
            return True
        # Salesforce applies a new grant after a moment: the first requests still miss it.
        shows_from = self._visible_from.setdefault(full, self.requests + self.grant_delay_requests)
        shows_at = self._visible_at.setdefault(full, time.monotonic() + self.grant_delay_seconds)
        return self.requests >= shows_from and time.monotonic() >= shows_at

    def _visible_fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        return {
            n.lower(): f for n, f in self._org.fields[sobject].items() if self._visible(sobject, n)
        }

    def _sobject(self, name: str) -> str:
        if name == "AccountContactRelation" and not self.acr_enabled:
            raise _error(404, "NOT_FOUND", "The requested resource does not exist")
        if name not in self._org.fields:
            raise _error(404, "NOT_FOUND", "The requested resource does not exist")
        return name

    def _describe(self, name: str) -> dict[str, Any]:
        sobject = self._sobject(name)
        fields = self._org.fields[sobject]
        return {
            "name": sobject,
            "custom": False,
            "fields": [
                copy.deepcopy(f)
                for n, f in fields.items()
                if self._visible(sobject, n, describing=True)
            ],
        }

    # Collections

    def _collection(
        self,
        records: list[dict[str, Any]],
        all_or_none: bool,
        operation: str,
        sobject: str | None = None,
        external: str | None = None,
    ) -> list[dict[str, Any]]:
        if operation == "upsert":
            assert sobject is not None and external is not None
            self._sobject(sobject)
            described = self._visible_fields(sobject).get(external.lower())
            if described is None:
                raise _error(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{external}' on sobject of type {sobject}",
                )
            if not described.get("externalId") and described["name"] != "Id":
                raise _error(
                    400,
                    "INVALID_FIELD",
                    f"Field {external} is not an External ID or indexed field for {sobject}",
                )
        for record in records:
            self._check_shape(record, operation, sobject)
        snapshot = copy.deepcopy(self._org.records) if all_or_none else None
        keys = [record.get(external) for record in records] if external else []
        results = []
        for index, record in enumerate(records):
            try:
                if self._lock_next and index == 0:
                    raise RecordError(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                    )
                if external and keys.count(record.get(external)) > 1:
                    raise RecordError(
                        "DUPLICATE_EXTERNAL_ID",
                        f"Duplicate external id specified: {record.get(external)}",
                        [str(external)],
                    )
                results.append(self._apply(record, operation, external))
            except RecordError as refused:
                result = {"id": None, "success": False, "errors": [refused.entry]}
                if operation == "upsert":
                    result["created"] = False
                results.append(result)
        self._lock_next = False
        if snapshot is not None and not all(r["success"] for r in results):
            self._org.records = snapshot
            for result in results:
                if result["success"]:
                    result.update(
                        id=None,
                        success=False,
                        errors=[
                            {
                                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                "message": "Record rolled back because not all records were valid.",
                                "fields": [],
                            }
                        ],
                    )
        return results

    def _check_shape(self, record: dict[str, Any], operation: str, sobject: str | None) -> None:
        """Whole-request refusals: the type, unknown fields, values of the wrong JSON type."""
        kind = (record.get("attributes") or {}).get("type")
        if not isinstance(kind, str):
            raise _error(400, "INVALID_TYPE", "Must send a concrete entity type.")
        if sobject is not None and kind != sobject:
            raise _error(400, "INVALID_TYPE", f"Record of type {kind} sent to {sobject}")
        self._sobject(kind)
        visible = self._visible_fields(kind)
        for name, value in record.items():
            if name == "attributes":
                continue
            if isinstance(value, dict) and name.lower() + "id" in visible:
                continue  # a relationship by external id, resolved per record
            described = visible.get(name.lower())
            if described is None:
                raise _error(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {kind}"
                )
            _check_json_type(described, value)

    def _apply(
        self, record: dict[str, Any], operation: str, external: str | None
    ) -> dict[str, Any]:
        kind = record["attributes"]["type"]
        table = self._org.records[kind]
        values = {k: v for k, v in record.items() if k != "attributes"}
        values = self._resolve_relationships(kind, values)
        if operation == "create":
            if "Id" in values:
                raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            record_id = self._insert(kind, values)
            return {"id": record_id, "success": True, "errors": []}
        if operation == "update":
            record_id = str(values.pop("Id", "") or "")
            if record_id not in table:
                raise RecordError(
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"invalid cross reference id: {record_id}",
                    ["Id"],
                )
            self._update(kind, record_id, values)
            return {"id": record_id, "success": True, "errors": []}
        assert external is not None
        if "Id" in values:
            raise RecordError(
                "INVALID_FIELD", "Id not allowed when upserting by an external id", ["Id"]
            )
        key = values.get(external)
        if key in (None, ""):
            raise RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{external}]", [external]
            )
        matches = [i for i, r in table.items() if r.get(external) == key]
        if len(matches) > 1:
            raise RecordError(
                "DUPLICATE_EXTERNAL_ID", f"{external}: more than one record found for {key}"
            )
        if matches:
            self._update(kind, matches[0], values)
            return {"id": matches[0], "success": True, "errors": [], "created": False}
        record_id = self._insert(kind, values)
        return {"id": record_id, "success": True, "errors": [], "created": True}

    def _resolve_relationships(self, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        resolved = {}
        for name, value in values.items():
            if not isinstance(value, dict):
                resolved[name] = value
                continue
            target = "Account"  # the only relationship the target sends (Contact.Account)
            (external, key), *_ = list(value.items()) or [("", "")]
            found = [i for i, r in self._org.records[target].items() if r.get(external) == key]
            if not found:
                raise RecordError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {key} not found for field {external} "
                    f"in entity {target}",
                    [f"{name}Id"],
                )
            resolved[f"{name}Id"] = found[0]
        return resolved

    def _check_values(self, kind: str, values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        described = self._visible_fields(kind)
        clean = {}
        for name, value in values.items():
            entry = described[name.lower()]
            proper = entry["name"]
            if not (entry["createable"] if creating else entry["updateable"]):
                raise RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {proper}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile "
                    "or permission set.",
                    [proper],
                )
            clean[proper] = _record_value(entry, value)
        return clean

    def _insert(self, kind: str, values: dict[str, Any]) -> str:
        clean = self._check_values(kind, values, creating=True)
        required = {"Contact": "LastName", "Account": "Name"}.get(kind)
        if required and not clean.get(required):
            raise RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{required}]", [required]
            )
        self._check_unique(kind, clean, None)
        if kind == "FieldPermissions":
            self._check_field_permission(clean)
        if kind == "Task":
            problem = task_problem(self._org.records, clean)
            if problem is not None:
                raise RecordError(*problem)
        if kind == "AccountContactRelation":
            self._check_relation(clean)
            clean.setdefault("IsActive", True)
            clean.setdefault("StartDate", date.today().isoformat())
            clean["IsDirect"] = False
        record_id = self._new_id(kind)
        self._org.records[kind][record_id] = {"Id": record_id, **clean}
        if kind == "Contact" and clean.get("AccountId"):
            self._direct_relation(record_id, None, clean["AccountId"])
        return record_id

    def _update(self, kind: str, record_id: str, values: dict[str, Any]) -> None:
        clean = self._check_values(kind, values, creating=False)
        stored = self._org.records[kind][record_id]
        for required in ({"Contact": "LastName", "Account": "Name"}.get(kind),):
            if required and required in clean and not clean[required]:
                raise RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{required}]",
                    [required],
                )
        self._check_unique(kind, clean, record_id)
        before = stored.get("AccountId")
        stored.update(clean)
        if kind == "Contact" and clean.get("AccountId") and clean["AccountId"] != before:
            self._direct_relation(record_id, before, clean["AccountId"])

    def _check_unique(self, kind: str, values: dict[str, Any], own: str | None) -> None:
        for name, value in values.items():
            entry = self._org.fields[kind][name]
            if not entry.get("unique") or value in (None, ""):
                continue
            for other_id, other in self._org.records[kind].items():
                if other_id != own and other.get(name) == value:
                    raise RecordError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates value on record with id: "
                        f"{other_id}",
                        [name],
                    )

    def _check_field_permission(self, values: dict[str, Any]) -> None:
        if values.get("ParentId") not in self._org.records["PermissionSet"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ParentId"]
            )
        sobject, _, name = str(values.get("Field")).partition(".")
        if name not in self._org.fields.get(sobject, {}):
            raise RecordError(
                "INVALID_FIELD", f"Field {values.get('Field')} does not exist", ["Field"]
            )
        for existing in self._org.records["FieldPermissions"].values():
            if (existing["ParentId"], existing["Field"]) == (values["ParentId"], values["Field"]):
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: <unknown> duplicates value on record with id: "
                    f"{existing['Id']}",
                )

    def _check_relation(self, values: dict[str, Any]) -> None:
        contact, account = values.get("ContactId"), values.get("AccountId")
        if contact not in self._org.records["Contact"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {contact}",
                ["ContactId"],
            )
        if account not in self._org.records["Account"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {account}",
                ["AccountId"],
            )
        for existing in self._org.records["AccountContactRelation"].values():
            if existing["ContactId"] == contact and existing["AccountId"] == account:
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: this contact is already related to this account "
                    f"(record {existing['Id']})",
                )

    def _direct_relation(self, contact: str, before: str | None, account: str) -> None:
        """Contact.AccountId makes (or moves) the direct relation, as Salesforce does."""
        if not self.acr_enabled:
            return
        relations = self._org.records["AccountContactRelation"]
        for relation in relations.values():
            if relation["ContactId"] == contact and relation["AccountId"] == before:
                relation["IsDirect"] = False
        for relation in relations.values():
            if relation["ContactId"] == contact and relation["AccountId"] == account:
                relation["IsDirect"] = True
                return
        record_id = self._new_id("AccountContactRelation")
        relations[record_id] = {
            "Id": record_id,
            "ContactId": contact,
            "AccountId": account,
            "IsDirect": True,
            "IsActive": True,
            "Roles": None,
            "StartDate": date.today().isoformat(),
        }

    def _new_id(self, kind: str) -> str:
        return f"{ID_PREFIXES[kind]}{next(self._org.counter):012d}AAA"

    # Single-record creates (permission sets)

    def _create_one(self, name: str, body: Any) -> tuple[int, Any]:
        sobject = self._sobject(name)
        if not isinstance(body, dict):
            raise _error(400, "JSON_PARSER_ERROR", "The body must be an object")
        record = {"attributes": {"type": sobject}, **body}
        self._check_shape(record, "create", sobject)
        names = {r.get("Name") for r in self._org.records[sobject].values()}
        if sobject == "PermissionSet" and body.get("Name") in names:
            raise _error(
                400, "DUPLICATE_VALUE", f"duplicate value found: Name {body.get('Name')}", ["Name"]
            )
        if sobject == "PermissionSetAssignment":
            if (
                body.get("AssigneeId") != USER_ID
                or body.get("PermissionSetId") not in self._org.records["PermissionSet"]
            ):
                raise _error(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            for existing in self._org.records[sobject].values():
                if (
                    existing["AssigneeId"] == body["AssigneeId"]
                    and existing["PermissionSetId"] == body["PermissionSetId"]
                ):
                    raise _error(
                        400,
                        "DUPLICATE_VALUE",
                        "duplicate value found: Assignee already has this permission set",
                    )
        try:
            result = self._apply(record, "create", None)
        except RecordError as refused:
            entry = refused.entry
            raise _error(400, entry["statusCode"], entry["message"], entry["fields"]) from refused
        return 201, result

    # Bulk API 2.0

    def _bulk(self, method: str, rest: list[str], body: Any) -> tuple[int, Any]:
        if method == "POST" and not rest:
            return self._create_job(body)
        job = self.jobs.get(rest[0]) if rest else None
        if job is None:
            raise _error(404, "NOT_FOUND", "The requested resource does not exist")
        if method == "PUT" and rest[1:] == ["batches"]:
            if job["state"] != "Open" or not isinstance(body, str):
                raise _error(400, "INVALIDJOBSTATE", "Upload CSV data to an Open job")
            if job["csv"]:
                raise _error(
                    400,
                    "BULK_API_ERROR",
                    f"Found multiple contents for job: <{job['id']}>, please 'Close' / 'Abort' "
                    "/ 'Delete' the current Job then create a new Job and make sure you only "
                    "do 'PUT' once on a given Job.",
                )
            job["csv"] = body
            return 201, None
        if method == "PATCH" and len(rest) == 1:
            if _get(body, "state") == "Aborted" and job["state"] == "Open":
                job["state"] = "Aborted"
                return 200, _job_info(job)
            if _get(body, "state") != "UploadComplete" or job["state"] != "Open":
                raise _error(400, "INVALIDJOBSTATE", "Only an Open job can be UploadComplete")
            if not job["csv"]:
                raise _error(400, "INVALIDJOBSTATE", "The job has no data to process")
            self._run_job(job)
            return 200, _job_info(job)
        if method == "GET" and len(rest) == 1:
            return 200, _job_info(job)
        if method == "GET" and rest[1] in ("successfulResults", "failedResults"):
            return 200, job[rest[1]]
        raise _error(404, "NOT_FOUND", "The requested resource does not exist")

    def _create_job(self, body: Any) -> tuple[int, Any]:
        sobject = self._sobject(str(_get(body, "object")))
        external = str(_get(body, "externalIdFieldName") or "")
        if _get(body, "operation") != "upsert" or _get(body, "contentType") != "CSV":
            raise _error(400, "INVALIDJOB", "This org takes CSV upsert jobs")
        described = self._visible_fields(sobject).get(external.lower())
        if described is None or not described.get("externalId"):
            raise _error(400, "INVALIDJOB", f"{external} is not an External ID field of {sobject}")
        job_id = f"750{next(self._org.counter):012d}AAA"
        self.jobs[job_id] = {
            "id": job_id,
            "object": sobject,
            "externalIdFieldName": external,
            "operation": "upsert",
            "state": "Open",
            "csv": "",
            "processed": 0,
            "failed": 0,
            "successfulResults": "",
            "failedResults": "",
        }
        return 200, _job_info(self.jobs[job_id])

    def _run_job(self, job: dict[str, Any]) -> None:
        """Process the CSV at once (results in no particular order, as Salesforce's)."""
        sobject, external = job["object"], job["externalIdFieldName"]
        reader = csv.DictReader(io.StringIO(job["csv"]))
        columns = reader.fieldnames or []
        visible = self._visible_fields(sobject)
        unknown = [c for c in columns if c.lower() not in visible]
        if unknown or external not in columns:
            job.update(
                state="Failed",
                errorMessage=f"InvalidBatch : Field name not found : {(unknown or [external])[0]}",
            )
            return
        done, failed = [], []
        for position, row in enumerate(reader):
            values: dict[str, Any] = {}
            try:
                for name, text in row.items():
                    if text == "":
                        continue  # an empty cell leaves the field as it is
                    values[name] = _csv_value(visible[name.lower()], text)
                if self._lock_next and position == 0:
                    raise RecordError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access")
                record = {"attributes": {"type": sobject}, **values}
                result = self._apply(record, "upsert", external)
                done.append(
                    {"sf__Id": result["id"], "sf__Created": str(result["created"]).lower(), **row}
                )
            except RecordError as refused:
                entry = refused.entry
                error = f"{entry['statusCode']}:{entry['message']}:{','.join(entry['fields'])} --"
                failed.append({"sf__Id": "", "sf__Error": error, **row})
        self._lock_next = False
        random.shuffle(done)
        random.shuffle(failed)
        job.update(
            state="JobComplete",
            processed=len(done) + len(failed),
            failed=len(failed),
            successfulResults=_csv_text(["sf__Id", "sf__Created", *columns], done),
            failedResults=_csv_text(["sf__Id", "sf__Error", *columns], failed),
        )

    # Tooling API

    def _create_field(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("Metadata"), dict):
            raise _error(400, "JSON_PARSER_ERROR", "CustomField needs FullName and Metadata")
        full_name = str(body.get("FullName") or "")
        sobject, _, name = full_name.partition(".")
        if sobject not in (
            "Contact",
            "Account",
            "AccountContactRelation",
        ) or not _CUSTOM_NAME.match(name):
            raise _error(400, "INVALID_FIELD", f"Invalid FullName {full_name!r}")
        if len(name) - 3 > 40:
            raise _error(400, "FIELD_INTEGRITY_EXCEPTION", "Field name: at most 40 characters")
        if name in self._org.fields[sobject]:
            raise _error(
                400,
                "DUPLICATE_DEVELOPER_NAME",
                "This field name is already in use or has been previously used.",
            )
        metadata = body["Metadata"]
        entry = _field_from_metadata(name, metadata)
        self._org.fields[sobject][name] = entry
        self._org.hidden.add(full_name)
        return 201, {
            "id": self._new_id("CustomField"),
            "success": True,
            "errors": [],
            "warnings": [],
        }

    # SOQL

    def _query(self, parts: list[str], query: str) -> dict[str, Any]:
        if len(parts) == 2:  # next page
            soql, _, offset = unquote(parts[1]).rpartition("-")
            return self._run_soql(bytes.fromhex(soql).decode(), int(offset))
        soql = (parse_qs(query).get("q") or [""])[0]
        return self._run_soql(soql, 0)

    def _run_soql(self, soql: str, offset: int) -> dict[str, Any]:
        match = re.match(
            r"^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?\s*$", soql, re.I | re.S
        )
        if not match:
            raise _error(400, "MALFORMED_QUERY", f"unexpected token in {soql[:60]!r}")
        columns = [c.strip() for c in match.group(1).split(",")]
        sobject = match.group(2)
        if sobject == "AccountContactRelation" and not self.acr_enabled:
            raise _error(
                400, "INVALID_TYPE", "sObject type 'AccountContactRelation' is not supported."
            )
        if sobject not in self._org.fields:
            raise _error(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        visible = self._visible_fields(sobject)
        for column in columns:
            if column.lower() not in visible:
                raise _error(
                    400, "INVALID_FIELD", f"No such column '{column}' on entity '{sobject}'."
                )
        condition = _parse_where(match.group(3) or "", visible, sobject)
        rows = [r for r in self._org.records[sobject].values() if condition(r)]
        page = rows[offset : offset + QUERY_PAGE_SIZE]
        answer: dict[str, Any] = {
            "totalSize": len(rows),
            "done": offset + QUERY_PAGE_SIZE >= len(rows),
            "records": [
                {
                    "attributes": {
                        "type": sobject,
                        "url": f"/services/data/v{LATEST_VERSION}/sobjects/{sobject}/{r['Id']}",
                    },
                    **{
                        visible[c.lower()]["name"]: r.get(visible[c.lower()]["name"])
                        for c in columns
                    },
                }
                for r in page
            ],
        }
        if not answer["done"]:
            token = soql.encode().hex()
            answer["nextRecordsUrl"] = (
                f"/services/data/v{LATEST_VERSION}/query/{token}-{offset + QUERY_PAGE_SIZE}"
            )
        return answer


def _get(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


def _job_info(job: dict[str, Any]) -> dict[str, Any]:
    info = {
        "id": job["id"],
        "object": job["object"],
        "externalIdFieldName": job["externalIdFieldName"],
        "operation": job["operation"],
        "state": job["state"],
        "contentType": "CSV",
        "numberRecordsProcessed": job["processed"],
        "numberRecordsFailed": job["failed"],
    }
    if job.get("errorMessage"):
        info["errorMessage"] = job["errorMessage"]
    return info


def _csv_value(entry: dict[str, Any], text: str) -> Any:
    """A CSV cell as the JSON value collections would carry (`#N/A` clears)."""
    if text == "#N/A":
        return None
    kind = entry["type"]
    if kind in ("double", "int", "currency", "percent"):
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            raise RecordError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{entry['name']}: value not of required type: {text}",
                [entry["name"]],
            ) from None
    if kind == "boolean":
        if text.lower() not in ("true", "false", "0", "1"):
            raise RecordError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{entry['name']}: value not of required type: {text}",
                [entry["name"]],
            )
        return text.lower() in ("true", "1")
    if kind == "datetime" and not _DATETIME.match(text):
        raise RecordError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{entry['name']}: invalid date/time: {text}",
            [entry["name"]],
        )
    return text


def _csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _collection(body: Any) -> tuple[list[dict[str, Any]], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise _error(400, "JSON_PARSER_ERROR", "The request body needs a records list")
    records = body["records"]
    if len(records) > COLLECTION_LIMIT:
        raise _error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into "
            "this call",
        )
    if not all(isinstance(r, dict) for r in records):
        raise _error(400, "JSON_PARSER_ERROR", "Each record must be an object")
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise _error(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
    return records, all_or_none


def _check_json_type(described: dict[str, Any], value: Any) -> None:
    """Deserialisation: a value of the wrong JSON type fails the whole request."""
    if value is None:
        return
    kind = described["type"]
    bad = False
    if kind in ("double", "int", "currency", "percent"):
        bad = isinstance(value, bool) or not isinstance(value, int | float)
    elif kind == "boolean":
        bad = not isinstance(value, bool)
    elif kind == "datetime":
        bad = not isinstance(value, str) or not _DATETIME.match(value)
    elif kind == "date":
        bad = not isinstance(value, str) or not _DATE.match(value)
    elif kind in (
        "string",
        "textarea",
        "email",
        "url",
        "picklist",
        "multipicklist",
        "id",
        "reference",
    ):
        bad = not isinstance(value, str)
    if bad:
        raise _error(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {kind} from {json.dumps(value)} for field "
            f"{described['name']}",
        )


def _record_value(entry: dict[str, Any], value: Any) -> Any:
    """Per-record checks of a value and how it is stored."""
    name, kind = entry["name"], entry["type"]
    if value is None or value == "":
        if not entry.get("nillable", True):
            raise RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name]
            )
        return False if kind == "boolean" else None
    if kind == "email":
        if len(value) > 80 or not _EMAIL.match(value):
            raise RecordError(
                "INVALID_EMAIL_ADDRESS", f"{name}: invalid email address: {value}", [name]
            )
        return value.lower()
    if kind in ("string", "textarea", "url") and len(value) > entry["length"]:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{name}: data value too large: {value[:20]}... (max length={entry['length']})",
            [name],
        )
    if kind in ("picklist", "multipicklist") and entry.get("restrictedPicklist"):
        allowed = {p["value"] for p in entry["picklistValues"] if p.get("active")}
        parts = value.split(";") if kind == "multipicklist" else [value]
        bad = [p for p in parts if p not in allowed]
        if bad:
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{name}: bad value for restricted picklist field: {bad[0]}",
                [name],
            )
    if kind == "datetime":
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "double" and entry.get("scale") is not None:
        return round(float(value), int(entry["scale"]))
    return value


def _field_from_metadata(name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """A describe entry from a Tooling API CustomField's Metadata, refusing what SF refuses."""
    kind = metadata.get("type")
    if kind not in FIELD_TYPES:
        raise _error(400, "FIELD_INTEGRITY_EXCEPTION", f"Unknown field type {kind!r}")
    if not metadata.get("label"):
        raise _error(
            400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [label]", ["label"]
        )
    extra: dict[str, Any] = {"label": metadata["label"]}
    if kind == "Number":
        precision, scale = metadata.get("precision"), metadata.get("scale")
        if (
            not isinstance(precision, int)
            or not isinstance(scale, int)
            or not 0 <= scale <= precision <= 18
        ):
            raise _error(
                400, "FIELD_INTEGRITY_EXCEPTION", "Number fields need precision (1-18) and scale"
            )
        extra.update(precision=precision, scale=scale)
    if kind == "Checkbox" and metadata.get("defaultValue") not in ("true", "false", True, False):
        raise _error(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "Checkbox fields require a default value (defaultValue: true or false)",
        )
    if kind == "Text":
        length = metadata.get("length")
        if not isinstance(length, int) or not 1 <= length <= 255:
            raise _error(400, "FIELD_INTEGRITY_EXCEPTION", "Text fields need a length of 1 to 255")
        extra["length"] = length
    if kind == "LongTextArea":
        length = metadata.get("length")
        if (
            not isinstance(length, int)
            or not 256 <= length <= 131072
            or not metadata.get("visibleLines")
        ):
            raise _error(
                400, "FIELD_INTEGRITY_EXCEPTION", "Long text areas need a length and visibleLines"
            )
        extra["length"] = length
    if kind in ("Picklist", "MultiselectPicklist"):
        values = ((metadata.get("valueSet") or {}).get("valueSetDefinition") or {}).get("value")
        if not isinstance(values, list) or not values or not all(v.get("fullName") for v in values):
            raise _error(400, "FIELD_INTEGRITY_EXCEPTION", "A picklist needs at least one value")
        if kind == "MultiselectPicklist" and not metadata.get("visibleLines"):
            raise _error(
                400, "FIELD_INTEGRITY_EXCEPTION", "Multi-select picklists need visibleLines"
            )
        restricted = bool((metadata.get("valueSet") or {}).get("restricted"))
        extra.update(
            picklistValues=[
                {
                    "value": v["fullName"],
                    "label": v.get("label"),
                    "active": True,
                    "defaultValue": False,
                }
                for v in values
            ],
            restrictedPicklist=restricted,
        )
    if metadata.get("externalId"):
        if kind not in ("Text", "Number", "Email"):
            raise _error(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "Only text, number and email fields can be external ids",
            )
        extra.update(externalId=True, unique=bool(metadata.get("unique")))
    return _field(name, DESCRIBE_TYPES[kind], **extra)


_TOKEN = re.compile(r"\s*(\(|\)|,|!=|=|'(?:[^'\\]|\\.)*'|[A-Za-z_][A-Za-z0-9_.]*)")


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            if text[position:].strip():
                raise _error(
                    400, "MALFORMED_QUERY", f"unexpected token: {text[position : position + 20]!r}"
                )
            break
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _literal(token: str) -> Any:
    if token.lower() == "null":
        return None
    if token.startswith("'"):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    raise _error(400, "MALFORMED_QUERY", f"unexpected token: {token!r}")


def _parse_where(text: str, visible: dict[str, dict[str, Any]], sobject: str) -> Any:
    """A predicate over records from `a = 'x' AND b IN ('y', 'z') OR c != null`."""
    tokens = _tokens(text)
    if not tokens:
        return lambda _record: True
    groups: list[list[Any]] = [[]]  # OR of ANDs
    position = 0
    while position < len(tokens):
        column = tokens[position]
        if column.lower() not in visible:
            raise _error(400, "INVALID_FIELD", f"No such column '{column}' on entity '{sobject}'.")
        name = visible[column.lower()]["name"]
        operator = tokens[position + 1].upper() if position + 1 < len(tokens) else ""
        position += 2
        if operator == "IN":
            if tokens[position] != "(":
                raise _error(400, "MALFORMED_QUERY", "IN needs a list")
            values = []
            position += 1
            while tokens[position] != ")":
                if tokens[position] != ",":
                    values.append(_literal(tokens[position]))
                position += 1
            position += 1
            groups[-1].append((name, "IN", values))
        elif operator in ("=", "!="):
            groups[-1].append((name, operator, [_literal(tokens[position])]))
            position += 1
        else:
            raise _error(400, "MALFORMED_QUERY", f"unexpected operator {operator!r}")
        if position < len(tokens):
            joiner = tokens[position].upper()
            if joiner == "OR":
                groups.append([])
            elif joiner != "AND":
                raise _error(400, "MALFORMED_QUERY", f"unexpected token: {tokens[position]!r}")
            position += 1

    def norm(value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    def test(record: dict[str, Any], term: tuple[str, str, list[Any]]) -> bool:
        name, operator, values = term
        hit = norm(record.get(name)) in {norm(v) for v in values}
        return not hit if operator == "!=" else hit

    return lambda record: any(all(test(record, t) for t in group) for group in groups)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        """Silent: tests read `emulator.calls`."""

    def _serve(self) -> None:
        emulator: SalesforceEmulator = self.server.emulator  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(413, [{"errorCode": "REQUEST_TOO_LARGE", "message": "too large"}], {})
            return
        raw = self.rfile.read(length) if length else b""
        status, answer, headers, stall = emulator.handle(self.command, self.path, self.headers, raw)
        if stall == DROP_CONNECTION:
            self.close_connection = True  # the work is done; the answer never leaves
            return
        if stall:
            time.sleep(stall)
        self._send(status, answer, headers)

    def _send(self, status: int, answer: Any, headers: dict[str, str]) -> None:
        is_csv = isinstance(answer, str)
        is_xml = isinstance(answer, bytes)
        if is_xml:
            data = answer
        else:
            data = (
                b""
                if answer is None
                else (answer.encode() if is_csv else json.dumps(answer).encode())
            )
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if answer is not None:
                kind = "text/xml; charset=utf-8" if is_xml else None
                kind = kind or ("text/csv" if is_csv else "application/json")
                self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = _serve  # noqa: N815 - http.server's naming

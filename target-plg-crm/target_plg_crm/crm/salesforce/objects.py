"""Accounts and Contacts in Salesforce: upserts by external id through sObject Collections.

Accounts are upserted by `salesforce_account_external_id_field` (holding `account_id`).
Contacts by `salesforce_contact_external_id_field` (holding `user_id`), after a read of
the Contacts that already have these ids or these e-mails (SOQL, at most 100 keys per
query): a Contact that sales created with the same e-mail and no id of ours is adopted
(updated by its Id, our id set on it), never duplicated; several such Contacts for one
e-mail are a reject naming them. `Contact.AccountId` is the Id of the primary account,
read by its external id; `LastName` (required) comes from
the `last_name` field, else a placeholder on creation only. Every call carries at most
200 records with `allOrNone: false`: Salesforce answers one result per record, in order;
records refused with UNABLE_TO_LOCK_ROW are sent again with backoff, other refusals are
rejects with Salesforce's code and message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from target_plg_crm.crm.emails import is_valid_email
from target_plg_crm.crm.object_types import COMPANIES, CONTACTS
from target_plg_crm.crm.records import UpdateInput
from target_plg_crm.crm.salesforce.bulk import SalesforceBulk
from target_plg_crm.crm.salesforce.client import SalesforceHTTP, chunks, soql_quote
from target_plg_crm.crm.salesforce.errors import (
    RETRYABLE_RECORD_CODES,
    error_summary,
    response_json,
    unexpected,
)
from target_plg_crm.crm.salesforce.fields import (
    LAST_NAME_PLACEHOLDER,
    SOBJECTS,
    json_value,
)
from target_plg_crm.crm.salesforce.provisioning import SalesforceProvisioning
from target_plg_crm.crm.writes import Outcome, UpsertInput, WriteResult

#: Keys per SOQL read: 100 ids and 100 e-mails keep the query URL short.
MATCH_QUERY_SIZE = 100
#: Times a record refused with UNABLE_TO_LOCK_ROW (or a field not yet visible) is resent.
RECORD_ATTEMPTS = 4
#: Standard fields an empty value never clears (sales may have filled them).
STANDARD_FIELDS = frozenset({"FirstName", "LastName", "Email", "Name", "Website", "Title"})


@dataclass
class _Record:
    """One input as Salesforce will receive it, and how to send it."""

    index: int
    body: dict[str, Any]
    adopt_id: str | None = None  # update this existing Contact by Id (adopted by e-mail)
    missing_account: str | None = None  # its primary account is not in Salesforce
    attempts: int = 0


class SalesforceObjects:
    """Upserts and id reads of one org's Accounts and Contacts."""

    def __init__(
        self,
        http: SalesforceHTTP,
        provisioning: SalesforceProvisioning,
        prefix: str,
        logger: logging.Logger,
        *,
        bulk_threshold: int,
    ) -> None:
        """Write through `http`; field names and types come from `provisioning`."""
        self.bulk = SalesforceBulk(http)
        self.bulk_threshold = bulk_threshold
        self.if_empty = http.settings.if_empty_fields
        self.http = http
        self.provisioning = provisioning
        self.prefix = prefix
        self.logger = logger

    # Bodies

    def _fields(self, object_type: str, properties: Mapping[str, str]) -> dict[str, Any]:
        """Field values of a record from its properties (skipped ones left out)."""
        body: dict[str, Any] = {}
        for name, value in properties.items():
            target = self.provisioning.target(object_type, name)
            if target is None:
                continue
            if value == "" and target.api_name in STANDARD_FIELDS:
                continue  # never clear a standard field sales may have filled
            body[target.api_name] = json_value(target.kind, value)
        return body

    def _body(self, object_type: str, item: UpsertInput) -> dict[str, Any]:
        sobject = SOBJECTS[object_type]
        body: dict[str, Any] = {"attributes": {"type": sobject}}
        body.update(self._fields(object_type, item.properties))
        body[self.provisioning.external_id_field(object_type)] = item.key
        return body

    def _keep_filled(self, object_type: str, record: _Record, row: Mapping[str, Any]) -> None:
        """`native_fields: if_empty`: leave out the standard fields `row` (the record as
        Salesforce holds it) already has a value for (the LastName placeholder is none)."""
        for name in self.if_empty.get(object_type, ()):
            current = row.get(name)
            if name in record.body and current not in (None, "", LAST_NAME_PLACEHOLDER):
                del record.body[name]

    def _if_empty_columns(self, object_type: str) -> list[str]:
        """The standard fields to read with the match, to honour `if_empty`."""
        names = sorted(self.if_empty.get(object_type, ()))
        return [n for n in names if self.provisioning.field_described(object_type, n)]

    def _primary_account(self, item: UpsertInput) -> str:
        return item.properties.get(f"{self.prefix}primary_account_id") or ""

    def _set_account_ids(self, inputs: Sequence[UpsertInput], records: list[_Record]) -> None:
        """`Contact.AccountId` = the Salesforce Id of the primary account (read by its id).

        A primary account Salesforce does not have (rejected, or not written yet) leaves
        AccountId as it is: the contact is still written, and reported so that the ledger
        does not keep it and the next run sets AccountId.
        """
        wanted = sorted({self._primary_account(inputs[r.index]) for r in records} - {""})
        found = self.find_ids(COMPANIES, "", wanted) if wanted else {}
        for record in records:
            primary = self._primary_account(inputs[record.index])
            if primary in found:
                record.body["AccountId"] = found[primary]
            elif primary:
                record.missing_account = primary

    # Upserts

    def upsert(self, object_type: str, inputs: Sequence[UpsertInput]) -> list[WriteResult]:
        """Upsert by external id (Contacts adopted by e-mail first); one result per input."""
        results: list[WriteResult | None] = [None] * len(inputs)
        records: list[_Record] = []
        for index, item in enumerate(inputs):
            record = _Record(index, self._body(object_type, item))
            email = record.body.get("Email")
            if object_type == CONTACTS and email and not is_valid_email(str(email)):
                results[index] = WriteResult.rejected(
                    "INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {email}"
                )
                continue
            records.append(record)
        if object_type == CONTACTS:
            self._set_account_ids(inputs, records)
            self._match_contacts(inputs, records, results)
        else:
            self._match_accounts(inputs, records)
        records = [r for r in records if results[r.index] is None]
        upserts = [r for r in records if not r.adopt_id]
        if len(upserts) > self.bulk_threshold:
            left = self._bulk_upsert(object_type, upserts, results)
            records = [r for r in records if r.adopt_id] + left
        while records:
            retry = self._send(object_type, records, results)
            if retry:
                time.sleep(self.http.backoff(retry[0].attempts - 1))
            records = retry
        unanswered = WriteResult.rejected("NO_ANSWER", "Salesforce did not answer")
        return [r or unanswered for r in results]

    def update(self, object_type: str, inputs: Sequence[UpdateInput]) -> list[WriteResult]:
        """Update existing records by Id (Accounts adopted by their Website's domain).

        Their external id is set to the key, so the next runs upsert them by it.
        """
        results: list[WriteResult | None] = [None] * len(inputs)
        records = [
            _Record(
                index,
                self._body(object_type, UpsertInput(item.key, item.properties)),
                adopt_id=item.crm_id,
            )
            for index, item in enumerate(inputs)
        ]
        self._keep_filled_by_id(object_type, records)
        while records:
            retry = self._send(object_type, records, results)
            if retry:
                time.sleep(self.http.backoff(retry[0].attempts - 1))
            records = retry
        unanswered = WriteResult.rejected("NO_ANSWER", "Salesforce did not answer")
        return [r or unanswered for r in results]

    def _existing(self, sobject: str, select: str, where: str) -> list[dict[str, Any]]:
        return self.http.query(f"SELECT {select} FROM {sobject} WHERE {where}")

    def _match_contacts(
        self,
        inputs: Sequence[UpsertInput],
        records: list[_Record],
        results: list[WriteResult | None],
    ) -> None:
        """Adopt sales-created Contacts by e-mail; name the new ones (LastName is required)."""
        external = self.provisioning.external_id_field(CONTACTS)
        keys = [inputs[r.index].key for r in records]
        emails = sorted({str(r.body["Email"]).lower() for r in records if r.body.get("Email")})
        by_key, by_email = self.existing_contacts(keys, emails)
        for record in records:
            key = inputs[record.index].key
            if key in by_key:
                self._keep_filled(CONTACTS, record, by_key[key])
                continue
            email = str(record.body.get("Email") or "").lower()
            free = [r for r in by_email.get(email, []) if not r.get(external)] if email else []
            if len(free) > 1:
                ids = ", ".join(sorted(str(r["Id"]) for r in free))
                results[record.index] = WriteResult.rejected(
                    "AMBIGUOUS_EMAIL",
                    f"{len(free)} existing Contacts have the email {email} ({ids}): merge "
                    "them in Salesforce, the target never guesses which one is this user",
                )
            elif free:
                record.adopt_id = str(free[0]["Id"])
                self._keep_filled(CONTACTS, record, free[0])
                self.logger.info("Salesforce: adopting Contact %s by email", record.adopt_id)
            elif "LastName" not in record.body:
                record.body["LastName"] = LAST_NAME_PLACEHOLDER

    def existing_contacts(
        self, keys: Sequence[str], emails: Sequence[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """Contacts holding these external ids (by id) and these e-mails (by lower-case
        e-mail): two plain `IN` queries (no OR), 100 values each. Before the external id
        field exists (a dry run on a fresh org) only the e-mails are read."""
        external = self.provisioning.external_id_field(CONTACTS)
        has_external = self.provisioning.field_described(CONTACTS, external) is not None
        columns = ["Id", "Email", *([external] if has_external else [])]
        select = ", ".join([*columns, *self._if_empty_columns(CONTACTS)])
        by_key: dict[str, dict[str, Any]] = {}
        by_email: dict[str, list[dict[str, Any]]] = {}
        searches = ((external, keys), ("Email", emails)) if has_external else (("Email", emails),)
        for column, values in searches:
            for chunk in chunks(values, MATCH_QUERY_SIZE):
                where = f"{column} IN ({', '.join(soql_quote(v) for v in chunk)})"
                for row in self._existing("Contact", select, where):
                    if row.get(external):
                        by_key[str(row[external])] = row
                    if row.get("Email") and column == "Email":
                        by_email.setdefault(str(row["Email"]).lower(), []).append(row)
        return by_key, by_email

    def body_fields(self, object_type: str, item: UpsertInput) -> dict[str, Any]:
        """The fields a record is sent with (before matching), for the dry run's plan."""
        return self._body(object_type, item)

    def _match_accounts(self, inputs: Sequence[UpsertInput], records: list[_Record]) -> None:
        """Account.Name is required: a new Account without a name is named by its id; an
        existing one keeps the `if_empty` standard fields it has (one read per 100)."""
        external = self.provisioning.external_id_field(COMPANIES)
        columns = self._if_empty_columns(COMPANIES)
        wanted = [r for r in records if "Name" not in r.body or any(c in r.body for c in columns)]
        found: dict[str, dict[str, Any]] = {}
        select = ", ".join(["Id", external, *columns])
        for chunk in chunks(wanted, MATCH_QUERY_SIZE):
            keys = ", ".join(soql_quote(inputs[r.index].key) for r in chunk)
            rows = self._existing("Account", select, f"{external} IN ({keys})")
            found.update({str(row.get(external)): row for row in rows})
        for record in wanted:
            row = found.get(inputs[record.index].key)
            if row is not None:
                self._keep_filled(COMPANIES, record, row)
            elif "Name" not in record.body:
                record.body["Name"] = inputs[record.index].key

    def _keep_filled_by_id(self, object_type: str, records: list[_Record]) -> None:
        """`if_empty` for records updated by Id (Accounts adopted by domain)."""
        columns = self._if_empty_columns(object_type)
        wanted = [r for r in records if any(c in r.body for c in columns)]
        rows: dict[str, dict[str, Any]] = {}
        for chunk in chunks(wanted, MATCH_QUERY_SIZE):
            ids = ", ".join(soql_quote(str(r.adopt_id)) for r in chunk)
            select = ", ".join(["Id", *columns])
            for row in self._existing(SOBJECTS[object_type], select, f"Id IN ({ids})"):
                rows[str(row["Id"])] = row
        for record in wanted:
            self._keep_filled(object_type, record, rows.get(str(record.adopt_id)) or {})

    def _send(
        self, object_type: str, records: list[_Record], results: list[WriteResult | None]
    ) -> list[_Record]:
        """One round of calls (adoptions by Id, upserts by external id); returns retries."""
        retry: list[_Record] = []
        adopted = [r for r in records if r.adopt_id]
        upserts = [r for r in records if not r.adopt_id]
        external = self.provisioning.external_id_field(object_type)
        for chunk in chunks(upserts):
            path = f"/composite/sobjects/{SOBJECTS[object_type]}/{external}"
            retry += self._call("PATCH", path, list(chunk), results)
        for chunk in chunks(adopted):
            retry += self._call("PATCH", "/composite/sobjects", list(chunk), results)
        return retry

    def _call(
        self,
        method: str,
        path: str,
        records: list[_Record],
        results: list[WriteResult | None],
    ) -> list[_Record]:
        bodies = []
        for record in records:
            body = dict(record.body)
            if record.adopt_id:
                body["Id"] = record.adopt_id
            bodies.append(body)
        response = self.http.request(method, path, {"allOrNone": False, "records": bodies})
        answer = response_json(response)
        if response.status_code == 400:
            # A whole request refused: a field just created and not yet visible (INVALID_FIELD)
            # is retried a few times; anything else rejects the records with the reason.
            code, message = error_summary(answer, 400)
            return self._refused(records, results, code, message)
        if response.status_code != 200 or not isinstance(answer, list):
            raise unexpected(response, f"write {path}")
        retry: list[_Record] = []
        for record, result in zip(records, answer, strict=False):
            if not isinstance(result, dict):
                continue
            if result.get("success"):
                created = bool(result.get("created")) and not record.adopt_id
                results[record.index] = self._accepted(record, str(result.get("id")), created)
                continue
            code, message = error_summary(result.get("errors"), 400)
            record.attempts += 1
            if code in RETRYABLE_RECORD_CODES and record.attempts < RECORD_ATTEMPTS:
                retry.append(record)
            else:
                results[record.index] = WriteResult.rejected(code, message)
        return retry

    @staticmethod
    def _accepted(record: _Record, record_id: str, created: bool) -> WriteResult:
        if record.missing_account:
            return WriteResult.rejected(
                "PRIMARY_ACCOUNT_NOT_FOUND",
                f"written without Contact.AccountId: account {record.missing_account} is not "
                "in Salesforce (rejected or not sent); the next run sets it",
            )
        return WriteResult(Outcome.CREATED if created else Outcome.UPDATED, record_id)

    def _bulk_upsert(
        self, object_type: str, records: list[_Record], results: list[WriteResult | None]
    ) -> list[_Record]:
        """One Bulk API job; returns the records to send again through collections."""
        external = self.provisioning.external_id_field(object_type)
        answers = self.bulk.upsert(SOBJECTS[object_type], external, [r.body for r in records])
        left: list[_Record] = []
        for record, answer in zip(records, answers, strict=True):
            if answer is None:
                left.append(record)  # not processed: collections take it
            elif answer.success:
                record_id = str(answer.record_id)
                results[record.index] = self._accepted(record, record_id, answer.created)
            elif answer.code in RETRYABLE_RECORD_CODES:
                record.attempts += 1
                left.append(record)
            else:
                code = answer.code or "BULK_ERROR"
                results[record.index] = WriteResult.rejected(code, answer.message or "")
        self.logger.info(
            "Salesforce: Bulk API job upserted %d %s records (%d left for collections)",
            len(records) - len(left),
            SOBJECTS[object_type],
            len(left),
        )
        return left

    def _refused(
        self,
        records: list[_Record],
        results: list[WriteResult | None],
        code: str,
        message: str,
    ) -> list[_Record]:
        retry = []
        for record in records:
            record.attempts += 1
            if code == "INVALID_FIELD" and self.http.may_wait_for_fields(record.attempts - 1):
                retry.append(record)
            else:
                results[record.index] = WriteResult.rejected(code, message)
        if retry:
            self.logger.info("Salesforce refused a batch (%s: %s); sending it again", code, message)
        return retry

    # Reads

    def find_ids(self, object_type: str, id_property: str, keys: Sequence[str]) -> dict[str, str]:
        """Salesforce Ids of the existing records among `keys` (by e-mail or external id)."""
        by_email = object_type == CONTACTS and id_property == "email"
        column = "Email" if by_email else self.provisioning.external_id_field(object_type)
        if not by_email and self.provisioning.field_described(object_type, column) is None:
            return {}  # the field does not exist yet: nothing can have it
        normal = {(k.lower() if by_email else k): k for k in keys}
        found: dict[str, str] = {}
        for chunk in chunks(list(normal), MATCH_QUERY_SIZE):
            where = f"{column} IN ({', '.join(soql_quote(k) for k in chunk)})"
            for row in self._existing(SOBJECTS[object_type], f"Id, {column}", where):
                value = str(row.get(column) or "")
                value = value.lower() if by_email else value
                if value in normal:
                    found.setdefault(normal[value], str(row["Id"]))
        return found

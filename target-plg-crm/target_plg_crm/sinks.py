"""Sinks: contacts and companies upserted by key, associations labelled, other streams counted.

Each batch goes: sync_filter (left-out records counted) -> validate -> encode as CRM
properties (and native fields) -> skip what the ledger says is unchanged -> ensure
properties -> match (batch reads where needed; companies adopted by domain) -> skip
what `update_only` leaves out, drop `if_empty` values the CRM already has -> upsert in
calls of unique keys (adopted companies: update by id) -> ledger (accepted writes only)
and rejects file (refused records, retried next run). In a dry run the same steps fill
the plan instead of writing.
"""

from __future__ import annotations

import copy
import typing as t
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink, Sink
from singer_sdk.sinks.core import JSONSchemaValidator

from target_plg_crm.company_matching import CompanyMatch, DomainIndex, normalise_domain
from target_plg_crm.crm.association_labels import PRIMARY_LABEL, labels_from_fields
from target_plg_crm.crm.object_types import ASSOCIATIONS, COMPANIES, CONTACTS
from target_plg_crm.crm.property_definitions import PropertyDefinition, PropertyGroup
from target_plg_crm.crm.records import UpdateInput
from target_plg_crm.crm.writes import AssociationInput, Outcome, UpsertInput, WriteResult
from target_plg_crm.leavers import LEFT_HASH, carries_whole_model, mark_leavers, mark_returning
from target_plg_crm.ledger import LedgerEntry, content_hash
from target_plg_crm.native_fields import without_filled
from target_plg_crm.property_plan import (
    InvalidValueError,
    PropertyPlan,
    definition_for,
    encode_value,
    property_label,
)
from target_plg_crm.reconcile import OwnedLabels, reconcile_previous_labels, schema_labels
from target_plg_crm.record_check import FlatRecordCheck
from target_plg_crm.record_filter import FilterSchemaError, RecordFilter
from target_plg_crm.sync_run import ContactRef, SyncRun

if t.TYPE_CHECKING:
    from singer_sdk.target_base import Target

T = t.TypeVar("T")
#: The ledger hash of a membership that ended (its relation deactivated).
ENDED_HASH = content_hash({"ended": True})


def without_formats(schema: dict) -> dict:
    """A copy of a JSON schema without string formats.

    The SDK would parse date-time strings itself and stop the run on the first bad one;
    without formats, this target parses them and rejects just that record.
    """

    def strip(node: t.Any) -> t.Any:
        if not isinstance(node, dict):
            return node
        node = {k: v for k, v in node.items() if k != "format"}
        if isinstance(node.get("properties"), dict):
            node["properties"] = {k: strip(v) for k, v in node["properties"].items()}
        if "items" in node:
            node["items"] = strip(node["items"])
        for keyword in ("anyOf", "oneOf", "allOf"):
            if isinstance(node.get(keyword), list):
                node[keyword] = [strip(option) for option in node[keyword]]
        return node

    return t.cast("dict", strip(copy.deepcopy(schema)))


def unique_key_chunks(items: Sequence[T], key: Callable[[T], str], size: int) -> Iterator[list[T]]:
    """Consecutive chunks of at most `size` items in which no key repeats (order kept).

    HubSpot refuses a batch with a duplicate id; a repeated key waits for the next call,
    so the later record is applied after the earlier one, as in the input.
    """
    chunk: list[T] = []
    keys: set[str] = set()
    for item in items:
        if len(chunk) >= size or key(item) in keys:
            yield chunk
            chunk, keys = [], set()
        chunk.append(item)
        keys.add(key(item))
    if chunk:
        yield chunk


def _text(value: t.Any) -> str | None:
    """An id value as a string (numbers as decimal strings); None when absent or empty."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


class CRMStreamSink(BatchSink):
    """Common ground of the sinks that write to the CRM."""

    #: CRM object type written by this sink.
    object_type: str

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
        *,
        run: SyncRun,
    ) -> None:
        """Keep the run shared with the other sinks and a format-free schema."""
        super().__init__(target, stream_name, schema, key_properties)
        self.run = run
        self.schema = without_formats(self.schema)
        self._record_validator = JSONSchemaValidator(self.schema) if self.validate_schema else None
        self._quick_check = FlatRecordCheck.of(self.schema)

    def get_validator(self) -> None:
        """No SDK validation: an invalid record is rejected here, not fatal (see below)."""
        return None

    def validation_error(self, record: dict) -> str | None:
        """Why `record` does not match the stream's schema, if it does not."""
        if self._record_validator is None:
            return None
        if self._quick_check is not None and self._quick_check.certainly_valid(record):
            return None
        try:
            self._record_validator.validate(record)
        except InvalidRecord as error:
            return str(error)
        return None

    def setup_filter(self) -> None:
        """Bind this stream's `sync_filter` to its SCHEMA, check the playbooks' fields
        against it; unknown fields stop the run."""
        self.record_filter: RecordFilter | None = None
        if self.run.playbooks is not None:
            problem = self.run.playbooks.schema_problem(self.object_type, self.original_schema)
            if problem:
                self.logger.error("target-plg-crm: %s", problem)
                raise SystemExit(1)
        expression = self.run.settings.sync_filter.get(self.object_type)
        if not expression:
            return
        try:
            self.record_filter = RecordFilter.for_schema(
                f"sync_filter.{self.object_type}", expression, self.original_schema
            )
        except FilterSchemaError as error:
            # A config error found when the SCHEMA arrived: one line, nothing written yet.
            self.logger.error("target-plg-crm: %s", error)
            raise SystemExit(1) from None

    def passes_filter(self, records: Sequence[dict]) -> list[bool]:
        """Whether each record passes `sync_filter` (all do without one)."""
        if self.record_filter is None:
            return [True] * len(records)
        kept = self.record_filter.keep(records)
        failures = self.record_filter.failures
        if failures:
            self.logger.warning(
                "%s could not be evaluated for %d %s record(s), left out: %s",
                self.record_filter.setting,
                len(failures),
                self.object_type,
                failures[0],
            )
            failures.clear()
        return kept

    def reject(self, record: dict, key: str | None, code: str, reason: str) -> None:
        """Write a refused record to the rejects file and count it."""
        self.run.rejects.add(self.stream_name, key, code, reason, record)
        self.run.summary.add(self.object_type, "rejected")
        # Without a key (no email), the record's own ids say which one it was.
        named = key or ", ".join(
            f"{field}={record[field]}" for field in ("user_id", "account_id") if record.get(field)
        )
        if self.run.plan is not None:
            self.run.plan.add_reject(self.stream_name, named or None, code, reason)
        self.logger.warning("%s %s rejected: %s %s", self.object_type, named, code, reason)

    def count(self, result: WriteResult) -> None:
        """Count a created or updated record."""
        self.run.summary.add(self.object_type, result.outcome.value)

    def mark_drained(self) -> None:
        """After each batch (even one without CRM calls), progress if the interval passed."""
        super().mark_drained()
        self.run.progress.maybe_report()


@dataclass
class _Pending:
    """A record that changed since the ledger's entry and must be written."""

    record: dict
    key: str
    properties: dict[str, str]
    hash: str
    user_id: str | None = None
    primary_account_id: str | None = None
    email: str | None = None
    known_id: str | None = None  # the CRM id the ledger holds
    adopt_id: str | None = None  # a company adopted by its domain: updated by this id


class _ObjectSink(CRMStreamSink):
    """Upserts one CRM object type by its key."""

    #: Record field that holds the object's key.
    key_field: str
    #: Reject code when a record has no key.
    missing_key_code: str

    def id_property(self) -> str:
        """The CRM property objects are upserted by."""
        raise NotImplementedError

    def key_property(self) -> PropertyDefinition | None:
        """The property created for the key (None when the CRM has it built in)."""
        return None

    def record_key(self, record: dict) -> str | None:
        """The object's key in `record`, normalised as the ledger stores it."""
        return _text(record.get(self.key_field))

    def remember(self, pending: _Pending, crm_id: str | None) -> None:
        """Note the record's CRM id for the associations of this run."""

    def leave_out(self, record: dict, why: str) -> None:
        """Note a record not written (`filtered` or `skipped`), so its associations follow."""

    def reads_unknown(self) -> bool:
        """Whether records the ledger does not know are read before writing."""
        return self.run.settings.update_only

    def match_more(
        self, pending: Sequence[_Pending], matches: dict[str, CompanyMatch], properties: list[str]
    ) -> dict[str, CompanyMatch]:
        """More matches than the batch read by key found (companies: by domain)."""
        return {}

    def setup(self) -> None:
        """Plan the properties from the stream's schema."""
        settings = self.run.settings
        self.group = PropertyGroup(settings.property_group, property_label(settings.property_group))
        self.plan = PropertyPlan.from_schema(
            self.original_schema,
            prefix=settings.property_prefix,
            group=settings.property_group,
            key_field=self.key_field,
            key_property=self.key_property(),
            logger=self.logger,
        )
        self.unhashed = {
            self.plan.definitions[f].name
            for f in settings.change_ignored_fields
            if f in self.plan.definitions
        }
        # Options already ensured in the CRM; None until the first ensure_properties call.
        self._ensured: dict[str, set[str]] | None = None
        self.run.crm.declare_properties(self.object_type, self.plan.all_definitions())
        fields = self.original_schema.get("properties") or {}
        configured = settings.native_fields.get(self.object_type, ())
        self.natives = [n for n in configured if n.field in fields and n.field != self.key_field]
        for native in configured:
            if native not in self.natives:
                self.logger.info(
                    "Native field %s -> %s is not written: stream %s has no field %r",
                    native.field,
                    native.property,
                    self.stream_name,
                    native.field,
                )
        self.native_definitions = {
            n.field: definition_for(n.field, fields[n.field] or {}, n.property, self.group.name)
            for n in self.natives
        }
        self._natives_checked = False
        self.setup_filter()
        self.run.leaver_sinks[self.object_type] = self

    def _prepare(self, record: dict) -> _Pending | None:
        key = self.record_key(record)
        error = self.validation_error(record)
        if error:
            self.reject(record, key, "INVALID_RECORD", f"does not match the stream schema: {error}")
            return None
        if key is None:
            self.reject(
                record,
                None,
                self.missing_key_code,
                f"no {self.key_field}: the CRM finds {self.object_type} by it",
            )
            return None
        try:
            properties = self.plan.encode(record)
        except InvalidValueError as error:
            self.reject(record, key, "INVALID_VALUE", str(error))
            return None
        properties.update(self._native_values(record))
        return _Pending(record, key, properties, self._hash(properties))

    def _native_values(self, record: dict) -> dict[str, str]:
        """The record's values for the CRM's own properties (empty values never clear them)."""
        values: dict[str, str] = {}
        for native in self.natives:
            try:
                value = encode_value(
                    self.native_definitions[native.field], record.get(native.field)
                )
            except (TypeError, ValueError):
                continue  # its prefixed copy is rejected or written as it can be
            if value:
                values[native.property] = value
        return values

    def _check_natives(self, pending: Sequence[_Pending]) -> None:
        """Leave out native fields whose property the CRM does not have (warned once)."""
        if self._natives_checked or not self.natives:
            return
        self._natives_checked = True
        existing = self.run.crm.property_names(self.object_type)
        missing = [n for n in self.natives if n.property not in existing]
        for native in missing:
            self.logger.warning(
                "Native field %s is not written: the CRM has no %s property %r",
                native.field,
                self.object_type,
                native.property,
            )
        self.natives = [n for n in self.natives if n not in missing]
        gone = {n.property for n in missing}
        for item in pending:
            item.properties = {k: v for k, v in item.properties.items() if k not in gone}

    def _hash(self, properties: dict[str, str]) -> str:
        """The ledger's hash of what a record writes (change-ignored fields left out)."""
        return content_hash({k: v for k, v in properties.items() if k not in self.unhashed})

    def _without_skipped(self, pending: list[_Pending]) -> list[_Pending]:
        """Leave out properties the CRM has with another type; drop what is then unchanged.

        The hash is taken without them, so a record differing only there costs no write.
        """
        skipped = self.run.crm.skipped_properties(self.object_type)
        if not skipped:
            return pending
        self.plan.definitions = {
            f: d for f, d in self.plan.definitions.items() if d.name not in skipped
        }
        kept: list[_Pending] = []
        for item in pending:
            item.properties = {k: v for k, v in item.properties.items() if k not in skipped}
            item.hash = self._hash(item.properties)
            entry = self.run.ledger.get(self.object_type, item.key)
            if entry is not None and entry.hash == item.hash:
                self.run.summary.add(self.object_type, "unchanged")
                self.remember(item, entry.crm_id)
                continue
            kept.append(item)
        return kept

    def _ensure_properties(self, pending: Sequence[_Pending]) -> None:
        needed: dict[str, set[str]] = {n: set(v) for n, v in self.plan.declared_options.items()}
        for item in pending:
            for name, values in self.plan.enumeration_values(item.properties).items():
                needed.setdefault(name, set()).update(values)
        ensured = self._ensured
        if ensured is not None and all(v <= ensured.get(n, set()) for n, v in needed.items()):
            return
        for name, values in (ensured or {}).items():
            needed.setdefault(name, set()).update(values)
        self.run.crm.ensure_properties(self.object_type, self.group, self.plan.with_options(needed))
        self._ensured = needed

    def process_batch(self, context: dict) -> None:
        """Write the changed records of the batch; count the rest."""
        records = context.get("records", [])
        seen = self.run.seen_keys.setdefault(self.object_type, set())
        seen.update(k for k in map(self.record_key, records) if k)
        kept: list[dict] = []
        # The filter comes first: a record it leaves out is never rejected either.
        for record, passes in zip(records, self.passes_filter(records), strict=True):
            if passes:
                kept.append(record)
            else:
                self.run.summary.add(self.object_type, "filtered")
                self.leave_out(record, "filtered")
        prepared = [p for p in map(self._prepare, kept) if p is not None]
        ledger = self.run.ledger
        pending: list[_Pending] = []
        for item in prepared:
            entry = ledger.get(self.object_type, item.key)
            if entry is not None and entry.hash == item.hash:
                self.run.summary.add(self.object_type, "unchanged")
                self.remember(item, entry.crm_id)
                continue
            item.known_id = entry.crm_id if entry is not None else None
            if entry is not None and entry.hash == LEFT_HASH:
                settings = self.run.settings
                mark_returning(item.properties, settings.property_prefix, settings.on_leave)
            pending.append(item)
        if not pending:
            return
        self._ensure_properties(pending)
        pending = self._without_skipped(pending)
        self._check_natives(pending)
        upserts, updates = self._decide(pending)
        self._write_upserts(upserts)
        self._write_updates(updates)

    def clean_up(self) -> None:
        """At the end of the input: flag or clear the records that left the model."""
        super().clean_up()
        if self.run.leaver_sinks.get(self.object_type) is self:
            self._mark_leavers()

    def _mark_leavers(self) -> None:
        """See leavers.py: ledger entries a whole-model stream no longer carries."""
        if not carries_whole_model(self.original_schema):
            return
        key = self.key_property()
        ours = {d.name for d in self.plan.definitions.values()} - {key.name if key else ""}
        rejected = mark_leavers(self.run, self.object_type, self.group, ours, self.logger)
        for leaver, code, reason in rejected:
            self.reject({self.key_field: leaver}, leaver, code, f"left the model: {reason}")

    def _read_properties(self, pending: Sequence[_Pending]) -> list[str]:
        """What the matching read asks for: the `if_empty` native properties; in a dry run,
        everything the records write (to show old values)."""
        names = [n.property for n in self.natives if n.if_empty]
        if self.run.plan is not None:
            names += sorted({name for item in pending for name in item.properties})
        return list(dict.fromkeys(names))

    def _match(self, pending: Sequence[_Pending]) -> dict[str, CompanyMatch]:
        """The CRM objects of the records, read in batches of 100 (only where needed).

        A real run reads a record when an `if_empty` native value must be checked, or when
        the ledger does not know it and `update_only` (or domain matching) needs to know
        whether it exists. A dry run reads them all, for their old values.
        """
        crm, plan = self.run.crm, self.run.plan
        if_empty = [n.property for n in self.natives if n.if_empty]

        def needed(item: _Pending) -> bool:
            if any(name in item.properties for name in if_empty):
                return True
            return item.known_id is None and self.reads_unknown()

        real = [item for item in pending if needed(item)]
        wanted = list(pending) if plan is not None else real
        properties = self._read_properties(pending)
        found = {}
        if wanted:
            keys = list(dict.fromkeys(item.key for item in wanted))
            found = crm.read_objects(self.object_type, self.id_property(), keys, properties)
        if plan is not None:
            reads = len({item.key for item in real})
            plan.add_read_calls(self.object_type, self.id_property(), reads)
        matches = {key: CompanyMatch(record=record) for key, record in found.items()}
        matches.update(self.match_more(pending, matches, properties))
        return matches

    def _decide(self, pending: Sequence[_Pending]) -> tuple[list[_Pending], list[_Pending]]:
        """(records to upsert, companies to update by id): rejects, skips, if_empty applied."""
        matches = self._match(pending)
        upserts: list[_Pending] = []
        updates: list[_Pending] = []
        for item in pending:
            match = matches.get(item.key) or CompanyMatch()
            if match.problem:
                self.reject(item.record, item.key, "AMBIGUOUS_DOMAIN", match.problem)
                self.remember(item, None)
                continue
            found = match.record
            if self.run.settings.update_only and item.known_id is None and found is None:
                self.run.summary.add(self.object_type, "skipped")
                self.leave_out(item.record, "skipped")
                continue
            current = found.properties if found is not None else None
            item.properties = without_filled(item.properties, self.natives, current)
            if match.adopt and found is not None:
                item.adopt_id = found.crm_id
                updates.append(item)
            else:
                upserts.append(item)
            self._plan_record(item, match)
        return upserts, updates

    def _plan_record(self, item: _Pending, match: CompanyMatch) -> None:
        """In a dry run: the record's action and its changed values, into the plan."""
        plan = self.run.plan
        if plan is None:
            return
        found = match.record
        if match.adopt:
            action, matched_by = "adopt", "domain"
        elif found is not None:
            action, matched_by = "update", self.key_field
        elif item.known_id is not None:
            action, matched_by = "update", "ledger"
        else:
            action, matched_by = "create", None
        properties = dict(item.properties)
        if match.adopt:
            properties[self.id_property()] = item.key
        plan.add_record(
            self.object_type,
            item.key,
            action,
            crm_id=found.crm_id if found is not None else item.known_id,
            matched_by=matched_by,
            properties=properties,
            current=found.properties if found is not None else None,
        )

    def _write_upserts(self, pending: Sequence[_Pending]) -> None:
        crm = self.run.crm
        for chunk in unique_key_chunks(pending, lambda p: p.key, crm.max_batch_size):
            results = crm.upsert(
                self.object_type,
                self.id_property(),
                [UpsertInput(p.key, p.properties) for p in chunk],
            )
            self._settle(chunk, results)

    def _write_updates(self, pending: Sequence[_Pending]) -> None:
        """Adopted companies: their account id set, their properties updated, by CRM id."""
        crm = self.run.crm
        for chunk in unique_key_chunks(pending, lambda p: p.key, crm.max_batch_size):
            inputs = [
                UpdateInput(p.adopt_id or "", p.key, {**p.properties, self.id_property(): p.key})
                for p in chunk
            ]
            self._settle(chunk, crm.update(self.object_type, inputs))

    def _settle(self, chunk: Sequence[_Pending], results: Sequence[WriteResult]) -> None:
        """Count, remember and ledger the accepted writes; reject the refused ones."""
        accepted: dict[str, LedgerEntry] = {}
        for item, result in zip(chunk, results, strict=True):
            if result.outcome is Outcome.REJECTED or result.crm_id is None:
                self.reject(item.record, item.key, result.code or "REJECTED", result.reason or "")
                self.remember(item, None)
                continue
            self.count(result)
            self.remember(item, result.crm_id)
            accepted[item.key] = LedgerEntry(
                item.hash, result.crm_id, item.user_id, item.primary_account_id
            )
        self.run.ledger.remember(self.object_type, accepted)


class ContactsSink(_ObjectSink):
    """`contacts` -> CRM contacts, upserted by e-mail (lower-case), or by `user_id`.

    Works with a contacts stream from any tap: only `email` is required; `user_id` and
    `primary_account_id`, when present, are written too and let associations find the
    contact and its primary company. A CRM keyed by user id (Salesforce's external id,
    `contact_key_field`) requires `user_id` instead and writes the e-mail as a field.
    """

    object_type = CONTACTS
    key_field = "email"
    missing_key_code = "MISSING_EMAIL"

    def id_property(self) -> str:
        """Contacts are found by e-mail (or by user id, see `contact_key_field`)."""
        return self.key_field

    def setup(self) -> None:
        """Plan properties; warn when the stream cannot carry an e-mail."""
        self.key_field = self.run.crm.contact_key_field
        if self.key_field != "email":
            self.missing_key_code = "MISSING_USER_ID"
        super().setup()
        if self.key_field == "email" and "email" not in (
            self.original_schema.get("properties") or {}
        ):
            self.logger.warning(
                "Stream %s has no 'email' field: its records are rejected unless they carry one",
                self.stream_name,
            )

    @staticmethod
    def record_email(record: dict) -> str | None:
        """The e-mail, trimmed and lower-cased (the CRM matches e-mails that way)."""
        email = record.get("email")
        if not isinstance(email, str) or not email.strip():
            return None
        return email.strip().lower()

    def record_key(self, record: dict) -> str | None:
        """The e-mail (or the user id when the CRM keys contacts by it)."""
        if self.key_field != "email":
            return _text(record.get(self.key_field))
        return self.record_email(record)

    def _prepare(self, record: dict) -> _Pending | None:
        item = super()._prepare(record)
        if item is None:
            return None
        item.user_id = _text(record.get("user_id"))
        item.primary_account_id = _text(record.get("primary_account_id"))
        item.email = self.record_email(record)
        if self.key_field == "email" and item.user_id is not None and item.email is not None:
            directory = self.run.directory
            owner = directory.email_owners.setdefault(item.email, item.user_id)
            if owner != item.user_id:
                # Writing both would flip the one CRM contact between two users each run.
                directory.duplicate_users[item.user_id] = owner
                self.reject(
                    record,
                    item.key,
                    "DUPLICATE_EMAIL",
                    f"user_id={item.user_id} has the same email as user_id={owner}, which "
                    "came first in this run; the CRM holds one contact per email",
                )
                return None
        return item

    def leave_out(self, record: dict, why: str) -> None:
        """Note the contact as not written, under its e-mail and user id."""
        directory = self.run.directory
        email, user_id = self.record_email(record), _text(record.get("user_id"))
        if email:
            directory.left_out_emails[email] = why
        if user_id:
            directory.left_out_users[user_id] = why

    def remember(self, pending: _Pending, crm_id: str | None) -> None:
        """Note the contact's id and primary account under its e-mail and user id."""
        self.run.directory.add_contact(
            pending.email,
            pending.user_id,
            ContactRef(crm_id, pending.primary_account_id),
        )
        if crm_id is not None and self.run.playbooks is not None:
            self.run.playbooks.note_contact(pending.record, crm_id)


class CompaniesSink(_ObjectSink):
    """`companies` -> CRM companies, upserted by the unique `company_id_property`."""

    object_type = COMPANIES
    key_field = "account_id"
    missing_key_code = "MISSING_ACCOUNT_ID"

    def id_property(self) -> str:
        """The unique property holding the account id."""
        return self.run.settings.company_id_property

    def key_property(self) -> PropertyDefinition:
        """The account id property, created with a unique value (HubSpot's requirement)."""
        settings = self.run.settings
        return PropertyDefinition(
            name=settings.company_id_property,
            label="PLG account id",
            type="string",
            field_type="text",
            group_name=settings.property_group,
            has_unique_value=True,
        )

    def remember(self, pending: _Pending, crm_id: str | None) -> None:
        """Note the company's id for the associations of this run."""
        if crm_id is not None:
            self.run.directory.companies[pending.key] = crm_id
            if self.run.playbooks is not None:
                self.run.playbooks.note_company(pending.record, pending.key, crm_id)

    def leave_out(self, record: dict, why: str) -> None:
        """Note the company as not written."""
        account_id = self.record_key(record)
        if account_id:
            self.run.directory.left_out_accounts[account_id] = why

    def reads_unknown(self) -> bool:
        """Companies the ledger does not know are read: to adopt by domain, or to skip."""
        return self.run.settings.update_only or self.run.settings.match_by_domain

    def match_more(
        self, pending: Sequence[_Pending], matches: dict[str, CompanyMatch], properties: list[str]
    ) -> dict[str, CompanyMatch]:
        """Companies found by no account id adopt the one CRM company with their domain."""
        if not self.run.settings.match_by_domain:
            return {}
        claims = []
        for item in pending:
            if item.known_id is not None or item.key in matches:
                continue
            domain = normalise_domain(item.record.get("domain") or item.record.get("website"))
            if domain:
                claims.append((item.key, domain))
        if not claims:
            return {}
        id_property = self.id_property()
        listed = ["domain", "website", id_property, *properties]
        companies = self.run.crm.list_companies(listed)
        index = DomainIndex(companies, id_property)
        return index.match(claims, self.run.directory.adopted_companies)


@dataclass
class _PendingAssociation:
    record: dict
    member: tuple[str, str]  # (user id or e-mail, account id)
    key: str
    contact_id: str
    company_id: str
    labels: frozenset[str]
    hash: str
    previous_labels: frozenset[str] | None = None
    role: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    record_key: str = ""  # `<user_id or email>@<account_id>`, as rejects name it


class AssociationsSink(CRMStreamSink):
    """`associations` -> contact-company associations carrying labels.

    Labels: those of the record's `association_label_fields` (default `role` and
    `is_champion`, see `labels_from_fields`) and `primary` when the account is the
    contact's `primary_account_id`. The labels become exactly these, so a changed value
    moves the label. Associations have no other properties in HubSpot, so the record's
    other fields (scores...) are not written anywhere.
    The contact is found by user id or e-mail (this run, then the ledger, then the CRM),
    the company by account id. Associations of contacts or companies this run left out
    (`sync_filter`, `update_only`) are counted the same way, not rejected.
    """

    object_type = ASSOCIATIONS
    #: Record fields that say which membership it is, never written as its fields.
    identity_fields = ("user_id", "account_id", "email", "role")

    def setup(self) -> None:
        """Bind the stream's `sync_filter`; say which label fields the stream lacks; for a
        CRM whose associations carry fields, plan them from the stream's schema."""
        self.setup_filter()
        fields = self.original_schema.get("properties") or {}
        settings = self.run.settings
        self.label_fields = settings.association_label_fields if settings.association_labels else ()
        lacking = [f for f in self.label_fields if f not in fields]
        if lacking:
            self.logger.info(
                "Association label fields %s are not in stream %s: they give no label",
                lacking,
                self.stream_name,
            )
        self.plan: PropertyPlan | None = None
        self.run.memberships_sink = self
        self.owned_labels = OwnedLabels(schema_labels(self.original_schema, self.label_fields))
        for entry in self.run.ledger.entries(ASSOCIATIONS).values():
            self.owned_labels.add(entry.labels or ())
        if self.run.crm.association_fields:
            self._plan_fields()

    def _plan_fields(self) -> None:
        """The relationship fields of the stream's schema, declared to the CRM."""
        settings = self.run.settings
        self.group = PropertyGroup(settings.property_group, property_label(settings.property_group))
        plan = PropertyPlan.from_schema(
            self.original_schema,
            prefix=settings.property_prefix,
            group=settings.property_group,
            key_field="user_id",
            key_property=None,
            logger=self.logger,
        )
        plan.definitions = {
            f: d for f, d in plan.definitions.items() if f not in self.identity_fields
        }
        self.plan = plan
        ignored = [f for f in settings.change_ignored_fields if f in plan.definitions]
        self.unhashed = {plan.definitions[f].name for f in ignored}
        self.run.crm.declare_properties(ASSOCIATIONS, plan.all_definitions())

    def _relationship(self, record: dict) -> tuple[str | None, dict[str, str]]:
        """The role as given and the relationship fields as CRM properties (raises)."""
        role = record.get("role")
        role = role.strip() if isinstance(role, str) and role.strip() else None
        return role, (self.plan.encode(record) if self.plan is not None else {})

    def _digest(self, labels: set[str], role: str | None, properties: dict[str, str]) -> str:
        if self.plan is None:
            return content_hash(sorted(labels))  # HubSpot: labels only, as before
        kept = {k: v for k, v in properties.items() if k not in self.unhashed}
        return content_hash({"labels": sorted(labels), "role": role, "fields": kept})

    def _ensure_fields(self, pending: Sequence[_PendingAssociation]) -> None:
        if self.plan is None or not pending:
            return
        needed: dict[str, set[str]] = {n: set(v) for n, v in self.plan.declared_options.items()}
        for item in pending:
            for name, values in self.plan.enumeration_values(item.properties).items():
                needed.setdefault(name, set()).update(values)
        self.run.crm.ensure_properties(ASSOCIATIONS, self.group, self.plan.with_options(needed))
        skipped = self.run.crm.skipped_properties(ASSOCIATIONS)
        for item in pending:
            item.properties = {k: v for k, v in item.properties.items() if k not in skipped}

    def _left_out(self, user_id: str | None, email: str | None, account_id: str) -> str | None:
        """`filtered` or `skipped` when this run left the contact or the company out."""
        directory = self.run.directory
        return (
            (user_id and directory.left_out_users.get(user_id))
            or (email and directory.left_out_emails.get(email))
            or directory.left_out_accounts.get(account_id)
            or None
        )

    def _find_contact(self, user_id: str | None, email: str | None) -> ContactRef | None:
        directory, ledger = self.run.directory, self.run.ledger
        seen = (user_id and directory.contacts_by_user.get(user_id)) or (
            email and directory.contacts_by_email.get(email)
        )
        if seen and seen.crm_id:
            return seen
        found = (user_id and ledger.find_by_user(CONTACTS, user_id)) or None
        entry = found[1] if found else (ledger.get(CONTACTS, email) if email else None)
        if entry is not None:
            primary = seen.primary_account_id if seen else entry.primary_account_id
            return ContactRef(entry.crm_id, primary)
        return ContactRef(None, seen.primary_account_id) if seen else None

    def _find_company(self, account_id: str) -> str | None:
        known = self.run.directory.companies.get(account_id)
        if known:
            return known
        entry = self.run.ledger.get(COMPANIES, account_id)
        return entry.crm_id if entry else None

    def _lookup(self, object_type: str, id_property: str, keys: set[str]) -> dict[str, str]:
        """Ask the CRM (batch read) for ids neither this run nor the ledger knows."""
        found: dict[str, str] = {}
        ordered = sorted(keys)
        size = self.run.crm.max_batch_size
        for start in range(0, len(ordered), size):
            found.update(
                self.run.crm.find_ids(object_type, id_property, ordered[start : start + size])
            )
        return found

    def process_batch(self, context: dict) -> None:
        """Associate each record's contact and company, after their sinks were drained."""
        # The contacts and companies of this run must be in the CRM (with ids) first.
        self.run.write_objects_first()
        rows = []
        records = context.get("records", [])
        for record, passes in zip(records, self.passes_filter(records), strict=True):
            account_id = _text(record.get("account_id"))
            user_id = _text(record.get("user_id"))
            email_value = record.get("email")
            email = email_value.strip().lower() if isinstance(email_value, str) else None
            key = f"{user_id or email}@{account_id}"
            if account_id and (user_id or email):
                # Carried, even if refused below: a membership is ended only when absent.
                self.run.memberships_seen.add((user_id or email or "", account_id))
            # Left out by the filter, or its contact or company was: counted, not rejected.
            why = "filtered" if not passes else self._left_out(user_id, email, account_id or "")
            if why:
                self.run.summary.add(ASSOCIATIONS, why)
                continue
            error = self.validation_error(record)
            if error:
                self.reject(
                    record, key, "INVALID_RECORD", f"does not match the stream schema: {error}"
                )
                continue
            if account_id is None:
                self.reject(record, key, "MISSING_ACCOUNT_ID", "no account_id")
                continue
            if user_id is None and not email:
                self.reject(record, key, "MISSING_CONTACT", "neither user_id nor email")
                continue
            rows.append((record, key, user_id, email or None, account_id))
        contacts = {row[2:4]: self._find_contact(row[2], row[3]) for row in rows}
        missing_emails = {
            email
            for (user_id, email), ref in contacts.items()
            if email and not (ref and ref.crm_id)
        }
        crm_contacts = self._lookup(CONTACTS, "email", missing_emails) if missing_emails else {}
        companies = {row[4]: self._find_company(row[4]) for row in rows}
        missing_accounts = {a for a, crm_id in companies.items() if crm_id is None}
        crm_companies = (
            self._lookup(COMPANIES, self.run.settings.company_id_property, missing_accounts)
            if missing_accounts
            else {}
        )
        pending: list[_PendingAssociation] = []
        for record, key, user_id, email, account_id in rows:
            owner = self.run.directory.duplicate_users.get(user_id) if user_id else None
            if owner is not None:
                self.reject(
                    record,
                    key,
                    "DUPLICATE_EMAIL",
                    f"user_id={user_id} shares its email with user_id={owner}: it has no "
                    "CRM contact of its own to associate",
                )
                continue
            ref = contacts[(user_id, email)]
            contact_id = (ref.crm_id if ref else None) or (
                crm_contacts.get(email) if email else None
            )
            company_id = companies[account_id] or crm_companies.get(account_id)
            if contact_id is None:
                self.reject(
                    record,
                    key,
                    "CONTACT_NOT_FOUND",
                    (
                        f"no contact for user_id={user_id} email={email} in this run, the "
                        "ledger or the CRM (was the contact rejected or never sent?)"
                        if email
                        else f"user_id={user_id} has no valid email, so it has no CRM contact "
                        "to associate (see that contact's reject)"
                    ),
                )
                continue
            if company_id is None:
                self.reject(
                    record,
                    key,
                    "COMPANY_NOT_FOUND",
                    f"no company for account_id={account_id} in this run, the ledger or the CRM",
                )
                continue
            labels = labels_from_fields(record, self.label_fields)
            self.owned_labels.add(labels)
            if ref is not None and ref.primary_account_id == account_id:
                labels.add(PRIMARY_LABEL)
            try:
                role, properties = self._relationship(record)
            except InvalidValueError as error:
                self.reject(record, key, "INVALID_VALUE", str(error))
                continue
            ledger_key = f"{contact_id}-{company_id}"
            digest = self._digest(labels, role, properties)
            entry = self.run.ledger.get(ASSOCIATIONS, ledger_key)
            if entry is not None and entry.hash == digest:
                self.run.summary.add(ASSOCIATIONS, "unchanged")
                self._note_membership(record, account_id, contact_id, company_id)
                continue
            previous = frozenset(entry.labels) if entry and entry.labels is not None else None
            pending.append(
                _PendingAssociation(
                    record,
                    (user_id or email or "", account_id),
                    ledger_key,
                    contact_id,
                    company_id,
                    frozenset(labels),
                    digest,
                    previous,
                    role,
                    properties,
                    key,
                )
            )
        self._ensure_fields(pending)
        # No ledger entry: the labels the CRM holds stand in for it (reconcile.py).
        reconcile_previous_labels(self.run.crm, pending, self.owned_labels)
        self._write(pending)

    def _note_membership(
        self, record: dict, account_id: str, contact_id: str, company_id: str
    ) -> None:
        """Playbooks choose members among the memberships the CRM accepted."""
        if self.run.playbooks is not None:
            self.run.playbooks.note_membership(record, account_id, contact_id, company_id)

    def _write(self, pending: Sequence[_PendingAssociation]) -> None:
        crm, ledger = self.run.crm, self.run.ledger
        for chunk in unique_key_chunks(pending, lambda p: p.key, crm.max_batch_size):
            results = crm.associate(
                [
                    AssociationInput(
                        p.contact_id,
                        p.company_id,
                        p.labels,
                        p.previous_labels,
                        role=p.role,
                        properties=p.properties,
                    )
                    for p in chunk
                ]
            )
            accepted: dict[str, LedgerEntry] = {}
            for item, result in zip(chunk, results, strict=True):
                if self.run.plan is not None and result.outcome is not Outcome.REJECTED:
                    self.run.plan.add_association(
                        item.record_key,
                        item.contact_id,
                        item.company_id,
                        sorted(item.labels),
                        None if item.previous_labels is None else sorted(item.previous_labels),
                        {"role": item.role, **item.properties} if self.plan is not None else None,
                    )
                if result.outcome is Outcome.REJECTED:
                    self.reject(
                        item.record, item.key, result.code or "REJECTED", result.reason or ""
                    )
                    # A ledger pointing at an object the CRM no longer has would never
                    # heal: forget it so the next run upserts that object again.
                    if result.code == "CONTACT_NOT_FOUND":
                        ledger.forget_crm_id(CONTACTS, item.contact_id)
                    elif result.code == "COMPANY_NOT_FOUND":
                        ledger.forget_crm_id(COMPANIES, item.company_id)
                    continue
                self.count(result)
                self._note_membership(item.record, item.member[1], item.contact_id, item.company_id)
                # A CRM that ends memberships needs to know whose each relation is.
                member, account = item.member if crm.ends_memberships else (None, None)
                accepted[item.key] = LedgerEntry(
                    item.hash,
                    result.crm_id or item.key,
                    member,
                    account,
                    labels=tuple(sorted(item.labels)),
                )
            ledger.remember(ASSOCIATIONS, accepted)

    def clean_up(self) -> None:
        """At the end of the input: deactivate the memberships this run no longer carries."""
        super().clean_up()
        if self.run.memberships_sink is self and self.run.crm.ends_memberships:
            self._end_missing_memberships()

    def _end_missing_memberships(self) -> None:
        """Relations the ledger has (with their member) and this run's stream did not carry.

        Nothing is ended when the stream carried no record at all (an input without the
        associations stream says nothing about memberships).
        """
        seen = self.run.memberships_seen
        if not seen:
            return
        ledger, crm = self.run.ledger, self.run.crm
        ended = [
            (key, entry)
            for key, entry in ledger.entries(ASSOCIATIONS).items()
            if entry.user_id
            and entry.primary_account_id
            and (entry.user_id, entry.primary_account_id) not in seen
            and entry.hash != ENDED_HASH
        ]
        today = datetime.now(UTC).date().isoformat()
        for chunk in unique_key_chunks(ended, lambda e: e[0], crm.max_batch_size):
            inputs = []
            for key, _entry in chunk:
                contact_id, _, company_id = key.partition("-")
                inputs.append(
                    AssociationInput(contact_id, company_id, active=False, end_date=today)
                )
            results = crm.associate(inputs)
            accepted: dict[str, LedgerEntry] = {}
            for (key, entry), result in zip(chunk, results, strict=True):
                member = {"user_id": entry.user_id, "account_id": entry.primary_account_id}
                if result.outcome is Outcome.REJECTED:
                    self.reject(member, key, result.code or "REJECTED", result.reason or "")
                    continue
                self.run.summary.add(ASSOCIATIONS, "updated")
                accepted[key] = LedgerEntry(
                    ENDED_HASH, entry.crm_id, entry.user_id, entry.primary_account_id, ()
                )
                if self.run.playbooks is not None:
                    self.run.playbooks.forget_membership(key)
            ledger.remember(ASSOCIATIONS, accepted)
            self.logger.info(
                "%d memberships ended: their relations were deactivated", len(accepted)
            )


class IgnoredStreamSink(Sink):
    """Any other stream: warned about once, counted, never written."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: Sequence[str] | None,
        *,
        run: SyncRun,
    ) -> None:
        """Count into the run shared with the other sinks."""
        super().__init__(target, stream_name, schema, key_properties)
        self.run = run
        self.schema = without_formats(self.schema)  # never parse what is not written

    def get_validator(self) -> None:
        """Records that are not written need no validation."""
        return None

    def setup(self) -> None:
        """Warn once per stream name."""
        if self.stream_name not in self.run.warned_streams:
            self.run.warned_streams.add(self.stream_name)
            self.logger.warning(
                "Stream %r is not a CRM stream (contacts, companies, associations): its "
                "records are counted and ignored",
                self.stream_name,
            )

    def process_record(self, record: dict, context: dict) -> None:
        """Count the record."""
        self.run.summary.ignored_streams[self.stream_name] += 1

    def process_batch(self, context: dict) -> None:
        """Nothing to write."""


#: The sink of each CRM stream; every sink takes the run as `run=`.
SINKS: dict[str, type[CRMStreamSink]] = {
    CONTACTS: ContactsSink,
    COMPANIES: CompaniesSink,
    ASSOCIATIONS: AssociationsSink,
}

__all__ = [
    "SINKS",
    "AssociationsSink",
    "CompaniesSink",
    "ContactsSink",
    "IgnoredStreamSink",
]

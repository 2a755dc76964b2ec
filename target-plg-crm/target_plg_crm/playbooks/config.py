"""Playbooks as configured (`playbooks` setting, declared in `settings.CONFIG_SCHEMA`).

`check_playbooks` adds what JSON Schema cannot say: SQL that parses, templates that
compile and use only the names the playbook provides, owners that can be found, a
webhook URL that is https (or http on loopback). `playbooks_from_config` types them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import duckdb
from plg_settings import SettingProblems

from target_plg_crm.loopback import is_loopback_host
from target_plg_crm.playbooks.templates import template_problem
from target_plg_crm.record_filter import referenced_fields

COMPANY = "company"
CONTACT = "contact"
PLAYBOOK_OBJECTS = (COMPANY, CONTACT)
CROSSINGS = ("enter", "exit", "while")
#: Where a task's owner comes from: the company's or contact's CRM owner, a fixed owner
#: id, or the owner with an e-mail address.
OWNER_SOURCES = ("company", "contact", "fixed", "email")


@dataclass(frozen=True)
class Choose:
    """Which members of a company to act on: a filter, an order, at most `limit`."""

    where: str | None
    order_by: str | None
    limit: int


@dataclass(frozen=True)
class TaskAction:
    """The CRM task a playbook creates."""

    subject: str
    body: str
    owner: str
    owner_id: str | None
    owner_email: str | None
    due_in_days: int
    priority: str
    task_type: str


@dataclass(frozen=True)
class WebhookAction:
    """The Slack-compatible notification a playbook posts (`{"text": ...}`)."""

    url: str
    text: str

    def __repr__(self) -> str:
        """Never show the URL: it carries the webhook's secret."""
        return "WebhookAction(url=<secret>)"


@dataclass(frozen=True)
class Playbook:
    """One configured playbook."""

    index: int
    name: str
    object: str
    when: str
    on: str
    fire_on_first_run: bool
    choose: Choose | None
    task: TaskAction | None
    webhook: WebhookAction | None

    @property
    def setting(self) -> str:
        """The setting's path in messages, e.g. `playbooks[0]`."""
        return f"playbooks[{self.index}]"


def playbooks_from_config(items: Sequence[Mapping[str, Any]]) -> tuple[Playbook, ...]:
    """The validated `playbooks` setting, typed (defaults were filled by the schema)."""
    return tuple(_playbook(index, item) for index, item in enumerate(items))


def _playbook(index: int, item: Mapping[str, Any]) -> Playbook:
    choose = item.get("choose")
    task = item.get("task")
    webhook = item.get("webhook")
    return Playbook(
        index=index,
        name=item["name"],
        object=item["object"],
        when=item["when"],
        on=item["on"],
        fire_on_first_run=item["fire_on_first_run"],
        choose=Choose(choose.get("where"), choose.get("order_by"), choose["limit"])
        if choose is not None
        else None,
        task=TaskAction(
            subject=task["subject"],
            body=task["body"],
            owner=task["owner"],
            owner_id=task.get("owner_id"),
            owner_email=(task.get("owner_email") or "").strip().lower() or None,
            due_in_days=task["due_in_days"],
            priority=task["priority"],
            task_type=task["type"],
        )
        if task is not None
        else None,
        webhook=WebhookAction(webhook["url"].strip(), webhook["text"])
        if webhook is not None
        else None,
    )


def template_names(playbook: Playbook) -> set[str]:
    """The names a playbook's templates can use."""
    if playbook.object == CONTACT:
        return {"contact", "playbook"}
    if playbook.choose is not None:
        return {"company", "contact", "membership", "playbook"}
    return {"company", "playbook"}


def _sql_problem(sql: str) -> str | None:
    """Why `sql` (a full statement) does not parse as one SELECT, else None."""
    with duckdb.connect() as con:
        row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    tree: dict[str, Any] = json.loads(row[0][0]) if row else {"error": True}
    if tree.get("error"):
        return f"does not parse: {tree.get('error_message', 'syntax error')}"
    if len(tree.get("statements") or []) != 1:
        return "must be one SQL expression"
    return None


def check_playbooks(items: Sequence[Mapping[str, Any]], problems: SettingProblems) -> None:
    """What the schema cannot say about `playbooks` (one line per problem)."""
    names: set[str] = set()
    for playbook in playbooks_from_config(items):
        path = playbook.setting
        if playbook.name in names:
            problems.add(f"{path}.name", f"`{playbook.name}` names another playbook already")
        names.add(playbook.name)
        if playbook.task is None and playbook.webhook is None:
            problems.add(path, "needs a `task`, a `webhook` or both")
        try:
            referenced_fields(playbook.when)
        except ValueError as error:
            problems.add(f"{path}.when", f"{error}: {playbook.when!r}")
        _check_choose(playbook, problems)
        _check_templates(playbook, problems)
        _check_owner(playbook, problems)
        if playbook.webhook is not None:
            problem = webhook_url_problem(playbook.webhook.url)
            if problem:
                problems.add(f"{path}.webhook.url", problem)


def _check_choose(playbook: Playbook, problems: SettingProblems) -> None:
    choose, path = playbook.choose, f"{playbook.setting}.choose"
    if choose is None:
        return
    if playbook.object != COMPANY:
        problems.add(path, "only a `company` playbook chooses members")
        return
    if choose.where:
        try:
            referenced_fields(choose.where)
        except ValueError as error:
            problems.add(f"{path}.where", f"{error}: {choose.where!r}")
    if choose.order_by:
        problem = _sql_problem(f"SELECT 1 ORDER BY {choose.order_by}")
        if problem:
            problems.add(f"{path}.order_by", f"{problem}: {choose.order_by!r}")


def _check_templates(playbook: Playbook, problems: SettingProblems) -> None:
    allowed = template_names(playbook)
    templates: list[tuple[str, str]] = []
    if playbook.task is not None:
        templates += [("task.subject", playbook.task.subject), ("task.body", playbook.task.body)]
    if playbook.webhook is not None:
        templates.append(("webhook.text", playbook.webhook.text))
    for name, source in templates:
        problem = template_problem(source, allowed)
        if problem:
            problems.add(f"{playbook.setting}.{name}", problem)


def _check_owner(playbook: Playbook, problems: SettingProblems) -> None:
    task, path = playbook.task, f"{playbook.setting}.task"
    if task is None:
        return
    if task.owner == "fixed" and not (task.owner_id or "").strip():
        problems.add(f"{path}.owner_id", "required when `owner` is `fixed` (an owner id)")
    if task.owner == "email" and "@" not in (task.owner_email or ""):
        problems.add(f"{path}.owner_email", "required when `owner` is `email` (an e-mail)")
    if task.owner == "company" and playbook.object != COMPANY:
        problems.add(f"{path}.owner", "`company` is for company playbooks; use `contact`")
    if task.owner == "contact" and playbook.object == COMPANY and playbook.choose is None:
        problems.add(f"{path}.owner", "`contact` needs `choose` in a company playbook")


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook (https, or http on loopback only); never echoes it."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "is not an http(s) URL"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return "uses plain http, which is accepted only for loopback addresses"
    return None

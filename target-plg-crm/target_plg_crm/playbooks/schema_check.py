"""Playbooks checked against the streams' SCHEMAs: the fields they read must exist.

`when`, `choose.where` and the templates (`company.name`, `membership.role`...) name
record fields; a name the stream does not carry would read NULL (or fail every
rendering) without a word. When a SCHEMA arrives, every playbook whose streams are all
known is checked, and an unknown field stops the run in one line naming the setting,
before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import nodes

from target_plg_crm.playbooks.config import CONTACT, Playbook
from target_plg_crm.playbooks.templates import parse
from target_plg_crm.record_filter import referenced_fields

#: The stream whose records each template name stands for.
STREAMS = {"company": "companies", "contact": "contacts", "membership": "associations"}


def schema_fields(schema: Mapping[str, Any]) -> set[str]:
    """The field names a SCHEMA declares."""
    return set(schema.get("properties") or {})


def template_fields(source: str) -> dict[str, set[str]]:
    """The record fields a template reads, per name (`company.name` -> company: {name})."""
    read: dict[str, set[str]] = {}
    tree = parse(source)
    for getattr_node in tree.find_all(nodes.Getattr):
        name = _variable(getattr_node.node)
        if name is not None:
            read.setdefault(name, set()).add(getattr_node.attr)
    for getitem_node in tree.find_all(nodes.Getitem):
        name = _variable(getitem_node.node)
        key = getitem_node.arg
        if name is not None and isinstance(key, nodes.Const) and isinstance(key.value, str):
            read.setdefault(name, set()).add(key.value)
    return read


def _variable(node: nodes.Node) -> str | None:
    """The record variable a node is (`company`...), else None."""
    return node.name if isinstance(node, nodes.Name) and node.name in STREAMS else None


def playbook_problem(playbook: Playbook, known: Mapping[str, set[str]]) -> str | None:
    """`setting: why` for the first field a playbook reads that its stream lacks.

    `known`: the fields of each stream seen so far; a check that needs a stream not seen
    yet waits.
    """
    own = "contacts" if playbook.object == CONTACT else "companies"
    checks: list[tuple[str, set[str], tuple[str, ...]]] = [
        (f"{playbook.setting}.when", referenced_fields(playbook.when), (own,))
    ]
    if playbook.choose is not None and playbook.choose.where:
        where = referenced_fields(playbook.choose.where)
        checks.append((f"{playbook.setting}.choose.where", where, ("associations", "contacts")))
    for name, source in _templates(playbook):
        for variable, fields in template_fields(source).items():
            checks.append((f"{playbook.setting}.{name}", fields, (STREAMS[variable],)))
    for setting, used, streams in checks:
        if not all(s in known for s in streams):
            continue
        have = set().union(*(known[s] for s in streams))
        unknown = sorted(used - have)
        if unknown:
            return (
                f"`{setting}`: unknown field(s) {unknown}; the stream(s) "
                f"{', '.join(streams)} have {sorted(have)}"
            )
    return None


def _templates(playbook: Playbook) -> list[tuple[str, str]]:
    found = []
    if playbook.task is not None:
        found += [("task.subject", playbook.task.subject), ("task.body", playbook.task.body)]
    if playbook.webhook is not None:
        found.append(("webhook.text", playbook.webhook.text))
    return found

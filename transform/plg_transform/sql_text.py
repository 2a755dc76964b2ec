"""Quoting of names and strings embedded in generated SQL."""

from __future__ import annotations


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def string_list(items: list[str] | tuple[str, ...]) -> str:
    """A SQL list of string literals, usable after IN (never empty)."""
    return "(" + ", ".join(literal(i) for i in items) + ")" if items else "(NULL)"

"""Subject, body and webhook text templates: Jinja2 in a sandbox, strict about names.

A template reads `company`, `contact` and `membership` (the records' fields as the CRM
last accepted them) and `playbook` (its name). It is compiled at start-up: a syntax
error, or a name the playbook does not provide, is a config error. The sandbox refuses
attribute tricks (`__class__`...), and an undefined field fails the rendering instead of
printing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

_ENVIRONMENT = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TemplateRenderError(ValueError):
    """A template failed for one record (an undefined field, a type error...)."""


def parse(source: str) -> nodes.Template:
    """The template's syntax tree (TemplateError when it does not parse)."""
    return _ENVIRONMENT.parse(source)


def template_problem(source: str, allowed: set[str]) -> str | None:
    """Why `source` cannot be used (syntax, or a name outside `allowed`), else None."""
    try:
        tree = _ENVIRONMENT.parse(source)
    except TemplateError as error:
        return f"template does not parse: {error}"
    unknown = sorted(meta.find_undeclared_variables(tree) - allowed)
    if unknown:
        return f"template uses {unknown}; it can use {sorted(allowed)}"
    return None


def render(source: str, context: Mapping[str, Any]) -> str:
    """`source` rendered with `context`; TemplateRenderError says why it failed."""
    try:
        return _ENVIRONMENT.from_string(source).render(**context).strip()
    except TemplateError as error:
        raise TemplateRenderError(str(error).splitlines()[0]) from None
    except (TypeError, ValueError, ArithmeticError) as error:
        raise TemplateRenderError(f"{type(error).__name__}: {error}") from None

"""Setting types the SDK's `singer_sdk.typing` lacks: a list that needs items, names."""

from __future__ import annotations

import typing as t

from singer_sdk import typing as th


class ListType(th.ArrayType[t.Any]):
    """`th.ArrayType` with `minItems`: a list that means nothing when empty says so."""

    def __init__(self, wrapped_type: t.Any, *, min_items: int | None = None, **kwargs: t.Any):
        super().__init__(wrapped_type, **kwargs)
        self.min_items = min_items

    @property
    def type_dict(self) -> dict[str, t.Any]:  # type: ignore[override]
        """The SDK's array schema, plus `minItems`."""
        schema = dict(super().type_dict)
        if self.min_items is not None:
            schema["minItems"] = self.min_items
        return schema


NAME = th.StringType(min_length=1)
"""A column, field or table name: any non-empty text."""


def names(*, min_items: int | None = None) -> ListType:
    """A list of non-empty names (columns, fields, tables)."""
    return ListType(NAME, min_items=min_items)


NAME_OR_NAMES = th.CustomType(
    {"type": ["string", "array"], "minLength": 1, "items": {"type": "string", "minLength": 1}}
)
"""One name, or a list of names (an empty list: none)."""

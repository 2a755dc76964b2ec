"""Snapshot: one computation as of T, the object every scoring step receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from plg_transform.settings import Settings
from plg_transform.timestamps import instant_from_micros


@dataclass(frozen=True)
class Snapshot:
    """The parameters of one computation as of T."""

    con: duckdb.DuckDBPyConnection
    settings: Settings
    as_of_us: int

    @property
    def as_of_sql(self) -> str:
        """T as a SQL TIMESTAMP expression."""
        return f"make_timestamp({int(self.as_of_us)})"

    @property
    def day(self) -> date:
        """D, the UTC date of T."""
        return instant_from_micros(self.as_of_us).date()

    @property
    def current_start(self) -> str:
        """First date of the current window, as SQL."""
        return f"DATE '{self.day - timedelta(days=self.settings.window_days - 1)}'"

    @property
    def previous_start(self) -> str:
        """First date of the previous window, as SQL."""
        return f"DATE '{self.day - timedelta(days=2 * self.settings.window_days - 1)}'"

    def run(self, sql: str) -> None:
        """Execute a statement whose result is not needed."""
        self.con.execute(sql)

    def rows(self, sql: str) -> list[tuple]:
        """Execute a query and fetch every row."""
        return self.con.execute(sql).fetchall()

"""Database connections of the SQL sources: retried, in UTC, never showing a password.

Sessions are switched to UTC where the dialect allows it (PostgreSQL, DuckDB), so casting
a `timestamptz` to a date or comparing it with a naive UTC bookmark means UTC everywhere.
Other dialects keep their session time zone: use UTC there (the warehouse default).
"""

from __future__ import annotations

import logging
import time
import typing as t

import sqlalchemy as sa
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalSyncError
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

DATABASE_URL_HELP = (
    "SQLAlchemy database URL, e.g. `postgresql+psycopg://user:password@host:5432/db` or "
    "`duckdb:////data/warehouse.duckdb` (the dialect's driver must be installed: extras "
    "`tap-product-events[postgres]`, `[duckdb]`). Secret: logs show it with the password "
    "masked."
)

#: The `url` setting of every SQL source (events_sql, metrics queries, scores_sql).
DATABASE_URL_SETTING = th.Property(
    "url",
    th.StringType(min_length=1),
    required=True,
    secret=True,
    title="Database URL",
    description=DATABASE_URL_HELP,
)

# Per dialect, the statement that makes a session's time zone UTC.
_UTC_SESSION = {
    "postgresql": "SET TIME ZONE 'UTC'",
    "duckdb": "SET TimeZone = 'UTC'",
}
_DRIVER_HINT = {
    "postgresql": "pip install 'tap-product-events[postgres]' (psycopg)",
    "duckdb": "pip install 'tap-product-events[duckdb]' (duckdb-engine)",
}


class SourceConnectionError(FatalSyncError):
    """A database could not be reached after the retries; the message names it, masked."""


def masked(url: str) -> str:
    """The URL as logs may show it: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is shown as nothing at all
        return "<unparseable database URL>"


def scrubbed(text: str, url: str) -> str:
    """A driver's error text with the URL's password removed, should a driver echo it."""
    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001
        return text
    return text.replace(password, "***") if password else text


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a database URL of an installed driver, or None if it can.

    Checked at start-up so that a missing driver stops the run before any record is read;
    the text never repeats the URL (it may hold a password).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "not a database URL (dialect+driver://user:password@host/db)"
    name = parsed.drivername
    try:
        parsed.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as exc:
        hint = _DRIVER_HINT.get(parsed.get_backend_name(), "install its SQLAlchemy dialect")
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
            hint += "; write the URL as `postgresql+psycopg://...`"
        return f"no driver for `{name}` is installed ({exc}); {hint}"
    return None


def _error_text(exc: BaseException, url: str) -> str:
    cause = getattr(exc, "orig", None) or exc
    return scrubbed(" ".join(str(cause).split()), url)


def open_engine(
    url: str,
    setting: str,
    logger: logging.Logger,
    *,
    retries: int = 3,
    first_wait: float = 0.5,
) -> Engine:
    """An engine whose first connection succeeded, trying `retries` more times with backoff.

    Raises SourceConnectionError naming `setting` and the masked URL.
    """
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        dialect = make_url(url).get_backend_name()
        hint = _DRIVER_HINT.get(dialect, "install the SQLAlchemy dialect and its driver")
        raise SourceConnectionError(
            f"{setting}: no driver for {masked(url)} ({exc}); {hint}"
        ) from None
    utc_statement = _UTC_SESSION.get(engine.dialect.name)
    if utc_statement:

        @sa.event.listens_for(engine, "connect")
        def _utc_session(dbapi_connection: t.Any, _record: t.Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(utc_statement)
            finally:
                cursor.close()
            if engine.dialect.name == "postgresql":
                dbapi_connection.commit()  # psycopg opened a transaction for the SET

    wait = first_wait
    for attempt in range(retries + 1):
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return engine
        except DBAPIError as exc:
            reason = _error_text(exc, url)
            if attempt == retries:
                engine.dispose()
                raise SourceConnectionError(
                    f"{setting}: cannot connect to {masked(url)} after {retries + 1} "
                    f"attempt{'s' if retries else ''}: {reason}"
                ) from None
            logger.warning(
                "%s: connecting to %s failed (%s); retrying in %.1f s",
                setting,
                masked(url),
                reason,
                wait,
            )
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")


def failure_text(exc: BaseException, url: str) -> str:
    """Why a statement failed, one line, without the password."""
    return _error_text(exc, url)

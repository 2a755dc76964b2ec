"""Fixtures every test folder shares: declared here once, so that one PostgreSQL server per
test worker serves the warehouse, metrics, pipeline and installed-package tests alike."""

from tests.database_fixtures import duckdb_url, postgres, postgres_url

__all__ = ["duckdb_url", "postgres", "postgres_url"]

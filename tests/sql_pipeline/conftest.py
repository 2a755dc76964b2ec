"""Fixtures: the demo messages, a real PostgreSQL server, and the JSON-lines pipeline's output."""

from __future__ import annotations

import typing as t
import uuid
from pathlib import Path

import pytest

from tests.postgres_server import PostgresServer
from tests.sql_pipeline.demo_messages import AS_OF, DemoArchive, demo_archive
from tests.sql_pipeline.pipeline_runs import PipelineRun, run_pipeline, scoring_config


@pytest.fixture
def new_postgres_database(postgres: PostgresServer) -> t.Callable[[], str]:
    """Create fresh empty databases on the worker's server; returns their URLs."""
    return lambda: postgres.create_database("p_" + uuid.uuid4().hex[:12])


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoArchive:
    """The demo archive (gzip JSON lines) and its messages."""
    return demo_archive(tmp_path_factory.mktemp("demo-archive"))


def transform_config(store: Path, as_of: str = AS_OF) -> dict[str, t.Any]:
    """The meltano.yml scoring model with an explicit as_of and its own store."""
    return {**scoring_config(), "store_path": str(store), "as_of": as_of}


@pytest.fixture(scope="session")
def jsonl_run(demo: DemoArchive, tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    """The reference: the whole archive through the JSON-lines path in one run."""
    folder = tmp_path_factory.mktemp("jsonl-pipeline")
    return run_pipeline(
        folder,
        "jsonl",
        {"events_paths": [demo.glob]},
        transform_config(folder / "store.duckdb"),
    )

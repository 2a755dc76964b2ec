"""The dev scoring configuration in meltano.yml runs on the generated demo archive.

Real parts: the tap and the transform as console scripts, fed a small generated archive,
with the config exactly as Meltano would assemble it for `--environment dev`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import dev_transform_config

BIN = Path(sys.executable).parent


def score_demo_archive(
    generator: ModuleType, work: Path, **sizes: int
) -> dict[str, list[dict[str, Any]]]:
    """Records the transform emits for a generated demo archive with the dev config."""
    for script in ("tap-product-events", "plg-transform"):
        if not (BIN / script).exists():
            pytest.fail(f"{script} is not installed in {BIN}: run `make setup`")
    generator.generate(work / "events", seed=7, **sizes)
    tap_config = work / "tap.json"
    tap_config.write_text(json.dumps({"events_paths": [str(work / "events/**/*.jsonl.gz")]}))
    config = dev_transform_config()
    config["store_path"] = str(work / "store.duckdb")
    transform_config = work / "transform.json"
    transform_config.write_text(json.dumps(config))
    with subprocess.Popen(
        [BIN / "tap-product-events", "--config", tap_config],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as tap:
        result = subprocess.run(
            [BIN / "plg-transform", "--config", transform_config],
            stdin=tap.stdout,
            capture_output=True,
            text=True,
        )
    assert tap.returncode == 0
    assert result.returncode == 0, result.stderr[-3000:]
    records: dict[str, list[dict[str, Any]]] = {}
    for line in result.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
    return records


@pytest.fixture(scope="module")
def scored(
    generator: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """Records of a small demo archive (30 accounts, 100 users, 60 days)."""
    work = tmp_path_factory.mktemp("dev-config")
    return score_demo_archive(generator, work, accounts=30, users=100, days=60)


@pytest.fixture(scope="module")
def demo_scored(
    generator: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[dict[str, Any]]]:
    """Records of the archive `make demo` scores (the generator's defaults)."""
    return score_demo_archive(generator, tmp_path_factory.mktemp("demo-archive"))


def test_dev_config_is_valid_for_the_transform(scored: dict[str, list[dict[str, Any]]]) -> None:
    assert set(scored) == {"contacts", "companies", "associations"}
    assert {r["as_of"] for rs in scored.values() for r in rs} == {"2026-07-01T00:00:00Z"}


def test_dev_config_sorts_demo_accounts_into_meaningful_stages(
    scored: dict[str, list[dict[str, Any]]],
) -> None:
    companies = scored["companies"]
    stages = Counter(c["lifecycle_stage"] for c in companies)
    assert set(stages) <= {"dormant", "customer", "engaged", "activated", "signed-up"}
    assert stages["customer"] and stages["dormant"]
    for company in companies:
        if company["lifecycle_stage"] == "customer":
            assert company["plan"] in ("pro", "enterprise")
    assert {c["plan"] for c in companies} == {"trial", "free", "pro", "enterprise"}
    scores = sorted(c["engagement_score"] for c in companies)
    # Quiet accounts and busy ones. Accounts score against a fixed reference (meltano.yml's
    # score_reference.account), which this 30-account sample's busiest team does not reach.
    assert scores[0] == 0 and scores[-1] >= 75


def test_dev_config_finds_some_but_not_all_users_qualified(
    scored: dict[str, list[dict[str, Any]]],
) -> None:
    contacts = scored["contacts"]
    pqls = [c for c in contacts if c["is_pql"]]
    assert 0 < len(pqls) < 0.25 * len(contacts)
    for contact in pqls:
        assert contact["engagement_score"] >= 70 and contact["activated"]
    segments = Counter(s for c in contacts for s in c["segments"].split(";") if s)
    assert segments["power-users"] and segments["dormant"]
    assert {c["lifecycle_stage"] for c in contacts} <= {
        "engaged",
        "dormant",
        "activated",
        "signed-up",
    }


def test_demo_top_ten_accounts_are_not_a_tie(
    demo_scored: dict[str, list[dict[str, Any]]],
) -> None:
    companies = demo_scored["companies"]
    assert len(companies) == 300
    top = sorted((c["engagement_score"] for c in companies), reverse=True)[:10]
    assert len(set(top)) >= 5, top  # the leaderboard's top separates accounts
    assert top[-1] >= 85 and top[0] < 100, top  # busy teams still read as busy
    qualified = [c for c in companies if c["is_pqa"]]
    assert 5 <= len(qualified) <= 30
    for company in qualified:
        assert company["plan"] in ("trial", "free") and company["engagement_score"] >= 30

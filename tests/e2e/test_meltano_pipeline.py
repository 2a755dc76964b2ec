"""The whole suite under real `meltano run`: demo archive -> tap -> transform -> local CRM."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import yaml

from demo.generate_demo import generate
from tests.e2e.conftest import REPO, MeltanoProject
from tests.reference.metrics_reference import compute

pytestmark = pytest.mark.e2e

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)  # the dev environment's as_of
SMALL_DEMO = {"seed": 11, "accounts": 14, "users": 45, "days": 50}


def archive_messages(events_dir: Path) -> list[dict]:
    """Every message of a Segment archive, in file order."""
    messages = []
    for path in sorted(events_dir.rglob("*.jsonl.gz")):
        with gzip.open(path, "rb") as lines:
            messages.extend(orjson.loads(line) for line in lines if line.strip())
    return messages


def scoring_config() -> dict:
    """The plg-scores mapping config of the repository's meltano.yml."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    (mapper,) = project["plugins"]["mappers"]
    (mapping,) = mapper["mappings"]
    return mapping["config"]


#: The dev environment's `sync_filter` of contacts (meltano.yml), as `synced_contact` reads it.
CONTACTS_FILTER = "engagement_score > 0 OR is_pql"


def synced_contact(record: dict) -> bool:
    """Whether the dev environment's `sync_filter` keeps a contacts record."""
    return record["engagement_score"] > 0 or bool(record["is_pql"])


def dev_loader_config() -> dict:
    """The target-plg-crm config of the repository's dev environment."""
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    dev = next(e for e in project["environments"] if e["name"] == "dev")
    loaders = dev["config"]["plugins"]["loaders"]
    return next(loader for loader in loaders if loader["name"] == "target-plg-crm")["config"]


def as_crm_string(value: object) -> str | None:
    """How the CRM holds a record value: strings, `true`/`false`, decimal numbers."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tap_record_counts(meltano_log: str) -> int:
    """Records the tap emitted in a run, from its record_count metrics in Meltano's log.

    The tap declares `structured-logging`, so Meltano renders each metric as
    `metric_name=record_count metric_value=N`; a plain JSON metric line is read too.
    """
    total = 0
    for line in meltano_log.splitlines():
        if "tap-product-events" not in line:
            continue
        if "metric_name=record_count" in line:
            match = re.search(r"metric_value=(\d+)", line)
        elif '"record_count"' in line:
            match = re.search(r'"value":\s*(\d+)', line)
        else:
            continue
        assert match, line
        total += int(match.group(1))
    return total


COMPARED = {
    "contacts": (
        "engagement_score",
        "engagement_score_previous",
        "engagement_trend_label",
        "active_days",
        "score_reasons",
        "days_since_last_active",
        "tenure_days",
        "activation_steps_completed",
        "activated",
        "features_used",
        "primary_account_id",
        "is_pql",
        "segments",
        "lifecycle_stage",
        "last_active_at",
    ),
    "companies": (
        "engagement_score",
        "engagement_trend",
        "active_users",
        "total_users",
        "champion_user_id",
        "name",
        "domain",
        "is_pqa",
        "segments",
        "lifecycle_stage",
        "activated",
        "features_used",
    ),
}


def test_meltano_run_puts_the_contract_scores_on_crm_records(
    meltano_project: MeltanoProject,
) -> None:
    counts = generate(meltano_project.events_dir, **SMALL_DEMO)
    meltano_project.run_pipeline()

    messages = archive_messages(meltano_project.events_dir)
    assert len(messages) == counts["messages"]
    expected = compute(messages, scoring_config(), AS_OF)

    companies = {row["account_key"]: row for row in meltano_project.crm_rows("companies")}
    assert set(companies) == {r["account_id"] for r in expected["companies"]}
    for record in expected["companies"]:
        properties = companies[record["account_id"]]["properties"]
        for field in COMPARED["companies"]:
            assert properties.get(f"plg_{field}") == as_crm_string(record[field]), (
                record["account_id"],
                field,
            )

    contacts = {row["email"]: row for row in meltano_project.crm_rows("contacts")}
    # Only the contacts the dev sync_filter keeps are synced; the others are counted.
    assert dev_loader_config()["sync_filter"] == {"contacts": CONTACTS_FILTER}
    synced = [r for r in expected["contacts"] if synced_contact(r)]
    assert 0 < len(synced) < len(expected["contacts"])
    assert meltano_project.summary()["objects"]["contacts"]["filtered"] == len(
        expected["contacts"]
    ) - len(synced)
    # The CRM holds one contact per email: of users sharing one, the first (smallest
    # user_id, the transform's order) owns it and the others are reported duplicates.
    owners: dict[str, dict] = {}
    for record in sorted(synced, key=lambda r: r["user_id"]):
        if record["email"]:
            owners.setdefault(record["email"], record)
    with_email = list(owners.values())
    duplicates = {r["user_id"] for r in synced if r["email"]} - {r["user_id"] for r in with_email}
    assert set(contacts) == set(owners)
    for record in with_email:
        properties = contacts[record["email"]]["properties"]
        assert properties["plg_user_id"] == record["user_id"]
        for field in COMPARED["contacts"]:
            assert properties.get(f"plg_{field}") == as_crm_string(record[field]), (
                record["user_id"],
                field,
            )

    # Users without a valid email cannot be CRM contacts: each one is a reported reject.
    rejects = [
        json.loads(line)
        for line in (meltano_project.root / "output" / "rejects.jsonl").read_text().splitlines()
    ]
    no_email = {r["user_id"] for r in synced if not r["email"]}
    rejected = {(r["record"]["user_id"], r["code"]) for r in rejects if r["stream"] == "contacts"}
    assert rejected == {(u, "MISSING_EMAIL") for u in no_email} | {
        (u, "DUPLICATE_EMAIL") for u in duplicates
    }
    assert meltano_project.summary()["objects"]["contacts"]["rejected"] == len(rejected)

    # Associations: one per membership of a synced contact, labelled with the role, the
    # champion flag, and `primary`.
    contact_ids = {row["id"]: row["properties"]["plg_user_id"] for row in contacts.values()}
    company_ids = {row["id"]: key for key, row in companies.items()}
    labels = {
        (contact_ids[a["contact_id"]], company_ids[a["company_id"]]): set(a["labels"])
        for a in meltano_project.crm_rows("associations")
    }
    primary = {r["user_id"]: r["primary_account_id"] for r in with_email}
    expected_labels = {
        (r["user_id"], r["account_id"]): {r["role"]} - {None}
        | ({"champion"} if r["is_champion"] else set())
        | ({"primary"} if primary[r["user_id"]] == r["account_id"] else set())
        for r in expected["associations"]
        if r["user_id"] in primary
    }
    assert labels == expected_labels
    assert any(len(v) > 1 for v in expected_labels.values())

    # `meltano invoke plg-scores explain` explains a company with the mapping's config,
    # as of the run's as_of, down to the score the CRM holds.
    account = max(expected["companies"], key=lambda r: r["engagement_score"])
    explained = meltano_project.meltano(
        "invoke", "plg-scores", "explain", "--account", account["account_id"], "--format", "json"
    )
    explanation = json.loads(explained.stdout[explained.stdout.index("{") :])
    assert explanation["record"]["engagement_score"] == account["engagement_score"]
    assert sum(e["contribution"] for e in explanation["events"]) == explanation["engagement"]["raw"]
    properties = companies[account["account_id"]]["properties"]
    assert properties["plg_engagement_score"] == as_crm_string(account["engagement_score"])


def test_second_run_reads_only_new_arrivals_and_writes_only_changes(
    meltano_project: MeltanoProject,
) -> None:
    counts = generate(meltano_project.events_dir, **SMALL_DEMO)
    first = meltano_project.run_pipeline()
    assert tap_record_counts(first.stderr) == counts["messages"]
    created = meltano_project.summary()["objects"]
    assert (
        created["companies"]["created"] == SMALL_DEMO["accounts"]
        or created["companies"]["created"] > 0
    )
    bookmarks = meltano_project.state()["singer_state"]["bookmarks"]
    assert bookmarks, "meltano stored no bookmark"
    updated_at = {r["id"]: r["updated_at"] for r in meltano_project.crm_rows("contacts")}

    # Nothing new arrived and as_of is fixed: nothing is read, nothing is written.
    second = meltano_project.run_pipeline()
    assert tap_record_counts(second.stderr) == 0
    summary = meltano_project.summary()["objects"]
    for kind in ("companies", "contacts", "associations"):
        assert summary[kind]["created"] == summary[kind]["updated"] == 0, (kind, summary)
        assert summary[kind]["unchanged"] > 0
    assert {r["id"]: r["updated_at"] for r in meltano_project.crm_rows("contacts")} == updated_at

    # A late file arrives with old timestamps: the next run reads just it, and the one
    # contact whose usage it adds is the only contact updated.
    contact = next(
        r
        for r in meltano_project.crm_rows("contacts")
        if r["properties"].get("plg_primary_account_id")
    )
    user_id = contact["properties"]["plg_user_id"]
    account_id = contact["properties"]["plg_primary_account_id"]
    late = [
        {
            "type": "track",
            "event": "Integration Connected",
            "userId": user_id,
            "messageId": f"late-{n}",
            "timestamp": f"2026-06-2{n}T10:00:00Z",
            "receivedAt": "2026-07-03T08:00:00Z",
            "context": {"groupId": account_id},
            "properties": {},
        }
        for n in range(3)
    ]
    late_file = meltano_project.events_dir / "2026" / "07" / "03" / "late.jsonl.gz"
    late_file.parent.mkdir(parents=True)
    late_file.write_bytes(gzip.compress(b"\n".join(orjson.dumps(m) for m in late) + b"\n"))
    third = meltano_project.run_pipeline()
    assert tap_record_counts(third.stderr) == len(late)
    after = {r["id"]: r for r in meltano_project.crm_rows("contacts")}
    assert after[contact["id"]]["updated_at"] != updated_at[contact["id"]]
    assert int(after[contact["id"]]["properties"]["plg_engagement_score"]) >= int(
        contact["properties"]["plg_engagement_score"]
    )
    assert meltano_project.summary()["objects"]["contacts"]["updated"] >= 1


def test_lost_store_stops_the_run_and_full_refresh_rebuilds_it(
    meltano_project: MeltanoProject,
) -> None:
    generate(meltano_project.events_dir, seed=5, accounts=6, users=15, days=20)
    meltano_project.run_pipeline()
    scores = {
        r["email"]: r["properties"]["plg_engagement_score"]
        for r in meltano_project.crm_rows("contacts")
    }
    assert "store_id" in meltano_project.state()["singer_state"]["plg_transform"]

    # The store is lost (new machine, deleted file) while Meltano still has the bookmark:
    # the tap would only send new arrivals, so scoring them alone would be wrong.
    (meltano_project.root / "output" / "plg-store.duckdb").unlink()
    lost = meltano_project.run_pipeline(check=False)
    assert lost.returncode != 0
    assert "--full-refresh" in lost.stderr
    assert {
        r["email"]: r["properties"]["plg_engagement_score"]
        for r in meltano_project.crm_rows("contacts")
    } == scores

    meltano_project.run_pipeline("--full-refresh")
    assert {
        r["email"]: r["properties"]["plg_engagement_score"]
        for r in meltano_project.crm_rows("contacts")
    } == scores
    summary = meltano_project.summary()["objects"]
    assert summary["contacts"]["created"] == summary["contacts"]["updated"] == 0


def test_meltano_run_with_prod_batch_config_gives_the_crm_of_the_record_run(
    meltano_project: MeltanoProject, tmp_path: Path
) -> None:
    """The prod environment's `batch_config` under `meltano run`: BATCH files, same CRM."""
    generate(meltano_project.events_dir, **SMALL_DEMO)
    meltano_project.run_pipeline()
    record_crm = {t: meltano_project.crm_rows(t) for t in ("companies", "contacts")}

    project = yaml.safe_load((meltano_project.root / "meltano.yml").read_text())
    envs = {e["name"]: e for e in project["environments"]}
    prod_tap = envs["prod"]["config"]["plugins"]["extractors"][0]
    assert prod_tap["name"] == "tap-product-events"
    dev_tap = envs["dev"]["config"]["plugins"]["extractors"][0]
    dev_tap["config"]["batch_config"] = prod_tap["config"]["batch_config"]
    (meltano_project.root / "meltano.yml").write_text(yaml.safe_dump(project, sort_keys=False))
    shutil.rmtree(meltano_project.root / "output")
    result = meltano_project.run_pipeline("--full-refresh")

    batch_folder = meltano_project.root / ".meltano" / "plg-batches"
    written = sorted(p.name for p in batch_folder.iterdir())
    assert written and all(n.endswith(".parquet") for n in written), written
    assert "BATCH file" in result.stderr
    for table, rows in record_crm.items():
        batch_rows = meltano_project.crm_rows(table)
        assert _properties(batch_rows) == _properties(rows), table


def _properties(rows: list[dict]) -> list[dict]:
    return sorted(
        ({k: v for k, v in r["properties"].items() if k != "plg_computed_at"} for r in rows),
        key=lambda p: json.dumps(p, sort_keys=True),
    )

"""The demo's Segment archive generator: deterministic, realistic, in Segment's shape."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import DEMO_DIR

END = date(2026, 6, 30)
SMALL = {"accounts": 12, "users": 40, "days": 21}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def archive_bytes(folder: Path) -> dict[str, bytes]:
    """Every archive file by its path relative to the folder."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.gz"))}


def read_archive(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every line of the archive, parsed, with the file it came from."""
    lines = []
    for path in sorted(folder.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as file:
            lines += [(path, json.loads(line)) for line in file]
    return lines


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def medium(
    generator: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, int], list[tuple[Path, dict[str, Any]]], Path]:
    """A mid-sized archive (big enough for the rare cases), generated once for this module."""
    out = tmp_path_factory.mktemp("archive")
    counts = generator.generate(out, seed=11, accounts=40, users=160, days=45, end=END)
    return counts, read_archive(out), out


def test_same_seed_writes_byte_identical_archive(generator: ModuleType, tmp_path: Path) -> None:
    first = generator.generate(tmp_path / "a", seed=3, **SMALL)
    second = generator.generate(tmp_path / "b", seed=3, **SMALL)
    assert first == second
    files_a, files_b = archive_bytes(tmp_path / "a"), archive_bytes(tmp_path / "b")
    assert files_a and files_a == files_b


def test_different_seed_writes_a_different_archive(generator: ModuleType, tmp_path: Path) -> None:
    generator.generate(tmp_path / "a", seed=3, **SMALL)
    generator.generate(tmp_path / "b", seed=4, **SMALL)
    assert archive_bytes(tmp_path / "a") != archive_bytes(tmp_path / "b")


def test_command_line_output_does_not_depend_on_the_machine_time_zone(tmp_path: Path) -> None:
    outputs = []
    for zone in ("UTC", "Pacific/Auckland"):
        out = tmp_path / zone.replace("/", "-")
        result = subprocess.run(
            [
                sys.executable,
                str(DEMO_DIR / "generate_demo.py"),
                "--out",
                str(out),
                "--seed",
                "5",
                "--accounts",
                "8",
                "--users",
                "25",
                "--days",
                "14",
                "--end",
                "2026-06-30",
            ],
            env={**os.environ, "TZ": zone},
            capture_output=True,
            text=True,
            check=True,
        )
        assert "Segment messages" in result.stdout
        outputs.append(archive_bytes(out))
    assert outputs[0] and outputs[0] == outputs[1]


def test_command_line_reports_the_message_count(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(DEMO_DIR / "generate_demo.py"),
            "--out",
            str(tmp_path),
            "--accounts",
            "8",
            "--users",
            "25",
            "--days",
            "14",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    written = sum(1 for _ in read_archive(tmp_path))
    assert f"Wrote {written:,} Segment messages" in result.stdout


def test_command_line_rejects_too_few_days(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO_DIR / "generate_demo.py"), "--out", str(tmp_path), "--days", "3"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "7 days" in result.stderr


def test_every_message_has_the_segment_shape(medium: Any) -> None:
    counts, lines, _ = medium
    assert len(lines) == counts["messages"]
    types = Counter(message["type"] for _, message in lines)
    assert set(types) == {"track", "identify", "group", "page", "alias"}
    for _, message in lines:
        for key in ("messageId", "type", "timestamp", "sentAt", "receivedAt"):
            assert isinstance(message[key], str) and message[key], (key, message)
        for key in ("timestamp", "sentAt", "receivedAt"):
            assert ISO_MS.match(message[key]), message[key]
        assert message.get("userId") or message.get("anonymousId"), message
        assert isinstance(message["context"]["library"]["name"], str)
        kind = message["type"]
        if kind == "track":
            assert isinstance(message["event"], str) and isinstance(message["properties"], dict)
        elif kind == "page":
            assert isinstance(message["name"], str) and message["properties"]["path"]
        elif kind == "identify":
            assert {"email", "name", "title", "createdAt"} <= set(message["traits"])
        elif kind == "group":
            traits = message["traits"]
            assert message["groupId"] and traits["name"] and traits["plan"] and traits["role"]
            assert {"domain", "website"} & set(traits) and traits["createdAt"]
        elif kind == "alias":
            assert message["previousId"] and message["userId"]


def test_archive_is_partitioned_by_receive_date(medium: Any) -> None:
    _, lines, out = medium
    first_day = END - timedelta(days=44)
    for path, message in lines:
        received = parse(message["receivedAt"])
        year, month, day, name = path.relative_to(out).parts
        assert (int(year), int(month), int(day)) == (received.year, received.month, received.day)
        assert re.fullmatch(r"segment-\d+\.jsonl\.gz", name)
        assert first_day <= received.date() <= END
        assert parse(message["timestamp"]) <= received


def test_redelivered_copies_keep_their_message_id_and_arrive_later(medium: Any) -> None:
    counts, lines, _ = medium
    by_id: dict[str, list[tuple[Path, dict[str, Any]]]] = defaultdict(list)
    for path, message in lines:
        by_id[message["messageId"]].append((path, message))
    repeated = {key: copies for key, copies in by_id.items() if len(copies) > 1}
    assert len(repeated) == counts["duplicates"]
    assert 0.005 <= len(repeated) / len(by_id) <= 0.02  # about 1%
    in_other_file = 0
    for copies in repeated.values():
        (first_path, first), (second_path, second) = sorted(
            copies, key=lambda c: c[1]["receivedAt"]
        )
        assert second["receivedAt"] > first["receivedAt"]
        strip = ("receivedAt", "sentAt")
        assert {k: v for k, v in first.items() if k not in strip} == {
            k: v for k, v in second.items() if k not in strip
        }
        in_other_file += first_path != second_path
    assert in_other_file > 0


def test_some_messages_arrive_days_after_they_happened(medium: Any) -> None:
    counts, lines, _ = medium
    late = [
        m for _, m in lines if parse(m["receivedAt"]) - parse(m["timestamp"]) >= timedelta(days=1)
    ]
    assert len({m["messageId"] for m in late}) == counts["late"]
    assert 0.01 <= len(late) / len(lines) <= 0.05
    assert max(parse(m["receivedAt"]) - parse(m["timestamp"]) for m in late) > timedelta(days=2)


def test_users_hold_seats_in_several_accounts_with_roles(medium: Any) -> None:
    _, lines, _ = medium
    accounts_of: dict[str, set[str]] = defaultdict(set)
    roles: Counter[str] = Counter()
    for _, message in lines:
        if message["type"] == "group":
            accounts_of[message["userId"]].add(message["groupId"])
            roles[message["traits"]["role"]] += 1
    assert sum(len(accounts) > 1 for accounts in accounts_of.values()) >= 5
    assert set(roles) == {"owner", "admin", "member", "viewer"}


def test_anonymous_visits_before_sign_up_are_linked_later(medium: Any) -> None:
    _, lines, _ = medium
    visits: dict[str, datetime] = {}
    links: dict[str, tuple[str, datetime, str]] = {}
    for _, message in lines:
        anonymous, when = message.get("anonymousId"), parse(message["timestamp"])
        if anonymous and not message.get("userId"):
            visits[anonymous] = min(when, visits.get(anonymous, when))
        if message["type"] == "identify" and anonymous and message.get("userId"):
            links[anonymous] = (message["userId"], when, "identify")
        if message["type"] == "alias":
            links[message["previousId"]] = (message["userId"], when, "alias")
    linked = {a: link for a, link in links.items() if a in visits}
    assert {how for _, _, how in linked.values()} == {"identify", "alias"}
    for anonymous, (_, when, _) in linked.items():
        assert visits[anonymous] < when
    assert len(visits) > len(linked)  # some visitors never sign up


def test_accounts_carry_the_four_plans_and_trials_change_plan(medium: Any) -> None:
    _, lines, _ = medium
    plans: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for _, message in lines:
        if message["type"] == "group":
            plans[message["groupId"]].append((message["timestamp"], message["traits"]["plan"]))
    seen = {plan for history in plans.values() for _, plan in history}
    assert seen == {"trial", "free", "pro", "enterprise"}
    changed = [h for h in plans.values() if len({plan for _, plan in h}) > 1]
    assert any(sorted(h)[0][1] == "trial" and sorted(h)[-1][1] != "trial" for h in changed)


def test_a_runaway_burst_exceeds_the_daily_cap(medium: Any) -> None:
    _, lines, _ = medium
    per_day = Counter(
        (m.get("userId"), m.get("event"), m["timestamp"][:10])
        for _, m in lines
        if m["type"] == "track"
    )
    assert max(per_day.values()) >= 150


def test_some_emails_are_invalid_and_some_need_normalising(medium: Any) -> None:
    _, lines, _ = medium
    plausible = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    emails = {m["userId"]: m["traits"]["email"] for _, m in lines if m["type"] == "identify"}
    invalid = [e for e in emails.values() if not plausible.match(e.strip().lower())]
    messy = [
        e for e in emails.values() if e != e.strip().lower() and plausible.match(e.strip().lower())
    ]
    assert invalid and messy
    assert len(invalid) < 0.05 * len(emails)


def test_api_calls_name_their_account_in_context_or_properties(medium: Any) -> None:
    _, lines, _ = medium
    api = [m for _, m in lines if m.get("event") == "API Call"]
    assert any("groupId" in m["context"] for m in api)
    assert any("groupId" in m["properties"] and "groupId" not in m["context"] for m in api)


def test_nobody_acts_before_signing_up(medium: Any) -> None:
    _, lines, _ = medium
    signed_up = {m["userId"]: m["timestamp"] for _, m in lines if m.get("event") == "Signed Up"}
    assert signed_up
    early = [
        m
        for _, m in lines
        if m.get("userId") in signed_up and m["timestamp"] < signed_up[m["userId"]]
    ]
    assert early == []

"""The target tells its log how far a sync got, and ends every run with one summary line.

With `progress_interval_seconds: 0` every CRM call and batch is a reporting point, as
the interval's passing is in a sync that lasts longer; with the default a short run
logs nothing but its summary.
"""

from __future__ import annotations

import re

from .harness import LocalCRMWorkspace, association, company, contact, schemas

# Lines the SDK itself logs in every run (not ours to shorten), and its metrics.
SDK_LINES = ("target-plg-crm v", "Skipping parse of env var settings", "Reader 'target-plg-crm'")


def _info_lines(stderr: str) -> list[str]:
    """Messages of the target's own INFO lines (`time | INFO | logger | message`)."""
    found = []
    for line in stderr.splitlines():
        parts = line.split("|", 3)
        if len(parts) == 4 and parts[1].strip() == "INFO" and parts[2].strip() == "target-plg-crm":
            message = parts[3].strip()
            if not message.startswith(SDK_LINES):
                found.append(message)
    return found


def _messages(companies: int, contacts: int) -> list[dict]:
    return [
        *schemas(),
        *(company(f"a{i}") for i in range(companies)),
        *(contact(f"u{i}", f"u{i}@example.com") for i in range(contacts)),
        *(association(f"u{i}", f"a{i % companies}") for i in range(contacts)),
    ]


def test_progress_counts_records_and_calls_per_object_type(
    workspace: LocalCRMWorkspace,
) -> None:
    result = workspace.run(_messages(3, 250), progress_interval_seconds=0)
    assert result.returncode == 0, result.stderr
    lines = _info_lines(result.stderr)
    progress = [line for line in lines if line.startswith("progress after ")]
    contacts = [
        (int(m.group(1)), int(m.group(2)))
        for line in progress
        if (m := re.search(r"contacts (\d+) records \(\d+ created\), (\d+) calls", line))
    ]
    # One upsert call per 100 contacts (plus one to ensure the properties), counted as
    # they happen: 100, 200, then 250 records.
    assert [n for n, _ in contacts][:1] == [100]
    assert contacts[-1] == (250, 4)
    assert [n for n, _ in contacts] == sorted(n for n, _ in contacts)
    assert any(
        re.search(r"associations 250 records \(250 created\), \d+ calls", p) for p in progress
    )
    summary = lines[-1]
    assert summary.startswith("run summary: associations: 250 created, 0 updated")
    assert "contacts: 250 created, 0 updated, 0 unchanged, 0 rejected" in summary
    assert re.search(r"; \d+ CRM calls in [\d.]+ s$", summary)


def test_a_short_run_logs_one_summary_line(workspace: LocalCRMWorkspace) -> None:
    result = workspace.run(_messages(1, 2))
    assert result.returncode == 0, result.stderr
    lines = _info_lines(result.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("run summary: associations: 2 created, 0 updated, 0 unchanged")
    assert "companies: 1 created" in lines[0] and "contacts: 2 created" in lines[0]


def test_an_unchanged_rerun_makes_no_write_call(workspace: LocalCRMWorkspace) -> None:
    messages = _messages(1, 2)
    workspace.run(messages)
    result = workspace.run(messages)
    summary = _info_lines(result.stderr)[-1]
    assert "contacts: 0 created, 0 updated, 2 unchanged, 0 rejected" in summary
    assert summary.endswith(" s") and "; 0 CRM calls in " in summary

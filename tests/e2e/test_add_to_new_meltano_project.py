"""The README's "Add it to your own Meltano project" works in a brand-new Meltano project.

The test runs the README's own commands, in order, in a project made by `meltano init`,
and reads the mapping from the README's YAML. One substitution, and only one: the
definitions' `pip_url` points at this checkout instead of GitHub (the test must try the
code it is testing, and needs no network for the plugins); `--from-ref` is given a copy
of each definition file so changed, with everything else as committed.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MELTANO = Path(sys.executable).parent / "meltano"
RAW = "https://raw.githubusercontent.com/plg-crm/plg-crm-suite/main/"
GITHUB = "git+https://github.com/plg-crm/plg-crm-suite.git#subdirectory="


def readme_section() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"^## Add it to your own Meltano project\n(.*?)^## ", readme, re.M | re.S)
    assert match, "README has no 'Add it to your own Meltano project' section"
    return match.group(1)


def readme_commands(section: str) -> list[str]:
    """The section's `meltano ...` command lines, in order."""
    return [line.strip() for line in section.splitlines() if line.startswith("    meltano ")]


def readme_mappings(section: str) -> list[dict]:
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.S)
    return yaml.safe_load(block)["mappings"]


def local_definition(url: str, into: Path) -> Path:
    """A copy of the definition that `url` names, its pip_url pointed at this checkout."""
    assert url.startswith(RAW), url
    text = (REPO / url.removeprefix(RAW)).read_text()
    assert GITHUB in text
    copy = into / url.removeprefix(RAW).replace("/", "--")
    copy.write_text(text.replace(GITHUB, f"{REPO}/"))
    return copy


def segment_archive(path: Path) -> list[str]:
    """A tiny archive: two users of one account; returns their emails."""
    emails = ["ada@example.com", "grace@example.com"]
    messages = []
    for n, email in enumerate(emails):
        user = f"u{n}"
        messages += [
            {"type": "identify", "userId": user, "traits": {"email": email, "title": "CTO"}},
            {"type": "group", "userId": user, "groupId": "acme", "traits": {"name": "Acme"}},
            {"type": "track", "userId": user, "event": "Signed Up", "context": {"groupId": "acme"}},
            {
                "type": "track",
                "userId": user,
                "event": "Invite Sent",
                "context": {"groupId": "acme"},
            },
        ]
    # Yesterday: the mapping scores as of the run, over the last 30 days.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for n, message in enumerate(messages):
        message.update(messageId=f"m{n}", timestamp=yesterday)
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress("".join(json.dumps(m) + "\n" for m in messages).encode()))
    return emails


def test_readme_commands_add_and_run_the_three_plugins(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTANO_")}
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"

    def meltano(args: list[str], cwd: Path) -> None:
        proc = subprocess.run(
            [str(MELTANO), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, f"meltano {shlex.join(args)}\n{proc.stderr[-6000:]}"

    meltano(["init", "project", "--no-usage-stats"], tmp_path)
    project = tmp_path / "project"
    section = readme_section()
    commands = readme_commands(section)
    adds = [c for c in commands if c.startswith("meltano add ")]
    # Meltano 4 takes the type as --plugin-type (a bare `mapper` would be a plugin name).
    assert [shlex.split(c)[2:5] for c in adds] == [
        ["--plugin-type", "extractor", "tap-product-events"],
        ["--plugin-type", "mapper", "plg-transform"],
        ["--plugin-type", "loader", "target-plg-crm"],
    ]
    for command in adds:
        args = shlex.split(command)[1:]
        at = args.index("--from-ref") + 1
        args[at] = str(local_definition(args[at], tmp_path))
        meltano(args, project)

    # The mapping, from the README's YAML, under the entry that `meltano add` wrote.
    meltano_yml = project / "meltano.yml"
    config = yaml.safe_load(meltano_yml.read_text())
    (mapper,) = config["plugins"]["mappers"]
    assert mapper["capabilities"] and mapper["settings"]
    mapper["mappings"] = readme_mappings(section)
    meltano_yml.write_text(yaml.safe_dump(config, sort_keys=False))

    emails = segment_archive(project / "data" / "segment" / "day-1.jsonl.gz")
    rest = [c for c in commands if not c.startswith("meltano add ")]
    assert rest[-1] == "meltano run tap-product-events plg-scores target-plg-crm"
    for command in rest:
        meltano(shlex.split(command)[1:], project)

    with sqlite3.connect(project / "output" / "crm.sqlite") as crm:
        contacts = dict(crm.execute("SELECT email, properties FROM contacts"))
        companies = crm.execute("SELECT count(*) FROM companies").fetchone()[0]
    assert set(contacts) == set(emails)
    assert companies == 1
    scores = [json.loads(p)["plg_engagement_score"] for p in contacts.values()]
    assert all(int(score) > 0 for score in scores)

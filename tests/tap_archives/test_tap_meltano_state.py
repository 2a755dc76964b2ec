"""The tap's bookmark survives a real `meltano run`: stored by Meltano, passed back next run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

MELTANO = Path(sys.executable).with_name("meltano")
TAP = Path(sys.executable).with_name("tap-product-events")

# A loader that does what every Singer target does with STATE (print its value once the
# records before it are handled) and notes the messageIds it received.
ECHO_TARGET = f"""#!{sys.executable}
import json, pathlib, sys
received = pathlib.Path(__file__).with_name("received.txt")
with received.open("a") as out:
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] == "RECORD":
            out.write(message["record"]["messageId"] + "\\n")
        elif message["type"] == "STATE":
            out.flush()
            print(json.dumps(message["value"]), flush=True)
"""

PROJECT = f"""
default_environment: dev
project_id: tap-product-events-state-test
send_anonymous_usage_stats: false
environments:
- name: dev
plugins:
  extractors:
  - name: tap-product-events
    namespace: tap_product_events
    executable: {TAP}
    capabilities: [catalog, discover, state, about]
    settings:
    - name: events_paths
      kind: array
    config:
      events_paths: [data/**/*.jsonl, data/**/*.gz]
  loaders:
  - name: target-echo
    namespace: target_echo
    executable: ./echo_target.py
"""


@pytest.mark.e2e
def test_meltano_run_passes_the_bookmark_back_and_only_new_messages_flow(
    tmp_path: Path, archive, make_track
) -> None:
    (tmp_path / "meltano.yml").write_text(PROJECT)
    target = tmp_path / "echo_target.py"
    target.write_text(ECHO_TARGET)
    target.chmod(0o755)
    received = tmp_path / "received.txt"

    def meltano_run() -> list[str]:
        received.write_text("")
        completed = subprocess.run(
            [str(MELTANO), "run", "tap-product-events", "target-echo"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        return received.read_text().split()

    log = archive(tmp_path / "data" / "app.jsonl", [make_track("a1"), make_track("a2")])
    assert sorted(meltano_run()) == ["a1", "a2"]

    archive(log, [make_track("a3")], append=True)
    late = tmp_path / "data" / "2019" / "late.jsonl.gz"
    archive(late, [make_track("old", timestamp="2019-01-01T00:00:00Z")])
    assert sorted(meltano_run()) == ["a3", "old"]

    stored = subprocess.run(
        [str(MELTANO), "state", "get", "dev:tap-product-events-to-target-echo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    files = json.loads(stored.stdout)["singer_state"]["sources"]["events_files"]["files"]
    assert set(files) == {str(log), str(late)}

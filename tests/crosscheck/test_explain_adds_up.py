"""`plg-transform explain` adds up to the records and agrees with the reference.

The real pipeline step runs first (`plg-transform` on a cross-check message set, as in
the other cross-check tests); then the real `plg-transform explain --format json` reads
the same store. Its numbers must add up to the record the mapper emitted (per-event
points to the raw value, the raw value and reference to the score, the rules to the
segments and stage), and its intermediate values (capped counts, occurrences before the
cap, raw values, reference, milestone times) must equal those of the independent
reference implementation of docs/metrics.md.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ..reference.metrics_reference import (
    compute,
    event_weight,
    format_time,
    milestone_times,
    score,
    trend_label,
)
from .mapper_cli import MAPPER, delivery_order, run_mapper
from .message_sets import MessageSet, message_sets, parse_as_of
from .test_fixed_scenarios import AS_OF, AS_OF_TIME, CONFIG, EVERY_FIELD_MESSAGES
from .test_random_message_sets import CROSSCHECK, EXAMPLES

KEYS = {"user": ("user_id",), "account": ("account_id",), "membership": ("user_id", "account_id")}
STREAMS = {"user": "contacts", "account": "companies", "membership": "associations"}
OPTIONS = {"user": "--user", "account": "--account", "membership": "--membership"}


def run_explain(
    config: dict, workdir: Path, kind: str, key: tuple[str, ...], output: str = "json"
) -> subprocess.CompletedProcess:
    """`plg-transform --config c.json explain --<kind> KEY --format <output>`."""
    path = workdir / "explain-config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(MAPPER), "--config", str(path), "explain", OPTIONS[kind], *key, "--format", output],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=dict(os.environ, TZ="Pacific/Chatham"),
        timeout=300,
        check=False,
    )


def explained(config: dict, workdir: Path, kind: str, key: tuple[str, ...]) -> dict:
    """The JSON explanation of one record (the command must succeed)."""
    done = run_explain(config, workdir, kind, key)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def record_key(kind: str, record: dict) -> tuple[str, ...]:
    return tuple(record[k] for k in KEYS[kind])


def detail_key(kind: str, key: tuple[str, ...]) -> object:
    """How the reference keys its intermediate values: a string, or (user, account)."""
    return key if kind == "membership" else key[0]


def window_counts(counts: dict, days: set[date]) -> dict[str, int]:
    """Per event: the sum of the (event, date) counts over the window's dates."""
    found: dict[str, int] = {}
    for (event, day), count in counts.items():
        if day in days:
            found[event] = found.get(event, 0) + count
    return found


def assert_adds_up(x: dict, record: dict) -> None:
    """The explanation's numbers give the record's, by the formulas of metrics.md."""
    assert x["record"] == record
    e = x["engagement"]
    for ev in x["events"]:
        assert ev["counted"] + ev["capped_away"] == ev["occurrences"]
        assert ev["contribution"] == ev["weight"] * ev["counted"]
        assert ev["previous_contribution"] == ev["weight"] * ev["previous_counted"]
    assert math.fsum(ev["contribution"] for ev in x["events"]) == e["raw"]
    assert math.fsum(ev["previous_contribution"] for ev in x["events"]) == e["previous_raw"]
    ref = e["reference"]["value"]
    assert score(e["raw"], ref) == e["score"] == record["engagement_score"]
    assert score(e["previous_raw"], ref) == e["previous_score"]
    assert e["previous_score"] == record["engagement_score_previous"]
    assert e["trend"] == e["score"] - e["previous_score"] == record["engagement_trend"]
    assert trend_label(e["trend"]) == e["trend_label"] == record["engagement_trend_label"]
    assert e["score_reasons"] == record["score_reasons"]
    reached = [m["reached_at"] for m in x["milestones"] if m["reached_at"]]
    assert len(reached) == record["activation_steps_completed"]
    if record["activated"]:
        assert max(reached) == record["activated_at"]
    _assert_rules_give_the_outputs(x, record)
    if x["kind"] == "account":
        assert math.fsum(m["membership_raw"] for m in x["related"]) == e["raw"]


def _assert_rules_give_the_outputs(x: dict, record: dict) -> None:
    rules = x["rules"]
    for rule in rules:
        for name, value in rule["fields"].items():
            assert value == record.get(name), (rule["setting"], name)
    holding = [r for r in rules if r["holds"]]
    segments = [r["name"] for r in holding if r["output"] == "segments"]
    stages = [r["name"] for r in holding if r["output"] == "lifecycle_stage"]
    assert record["segments"] == ";".join(segments)
    assert record["lifecycle_stage"] == (stages[0] if stages else None)
    for flag in ("is_pql", "is_pqa"):
        if flag in record:
            assert record[flag] == any(r["output"] == flag for r in holding)


def assert_agrees_with_reference(x: dict, details: dict) -> None:
    """The intermediate values are those of the independent implementation."""
    kind = x["kind"]
    key = detail_key(kind, tuple(x["key"][k] for k in KEYS[kind]))
    settings_ = details["settings"]
    e = x["engagement"]
    assert (e["raw"], e["previous_raw"]) == details["raw"][kind][key]
    assert e["reference"]["value"] == details["reference"][kind]
    population = [raws[0] for raws in details["raw"][kind].values() if raws[0] > 0]
    assert e["reference"]["population"] == len(population)
    counts = details["counts"][kind][key]
    scored = {name for (name, _day) in counts if event_weight(settings_, name) > 0}
    current = window_counts(counts, details["current"])
    previous = window_counts(counts, details["previous"])
    events = details["events"][kind][key]
    occurrences = window_counts(_uncapped(events), details["current"])
    shown = {ev["event"]: ev for ev in x["events"]}
    expected = {n for n in scored if current.get(n, 0) or previous.get(n, 0)}
    assert set(shown) == expected
    for name in expected:
        assert shown[name]["counted"] == current.get(name, 0), name
        assert shown[name]["previous_counted"] == previous.get(name, 0), name
        assert shown[name]["occurrences"] == occurrences.get(name, 0), name
    times = milestone_times(events, settings_["milestones"])
    assert [m["reached_at"] for m in x["milestones"]] == [format_time(t) for t in times]
    for milestone in x["milestones"]:
        all_time = sum(1 for ev in events if ev["name"] == milestone["event"])
        assert milestone["occurrences"] == all_time


def _uncapped(events: list[dict]) -> dict[tuple[str, date], int]:
    """Occurrences of each (event, date) of an entity, before any cap."""
    found: dict[tuple[str, date], int] = {}
    for ev in events:
        found[(ev["name"], ev["date"])] = found.get((ev["name"], ev["date"]), 0) + 1
    return found


def explain_and_check(
    records: dict[str, list[dict]],
    details: dict,
    config: dict,
    workdir: Path,
    picks: dict[str, list[tuple[str, ...]]],
) -> dict[tuple[str, tuple[str, ...]], dict]:
    """Explain each picked record; check each adds up and agrees with the reference."""
    found = {}
    for kind, keys in picks.items():
        by_key = {record_key(kind, r): r for r in records[STREAMS[kind]]}
        for key in keys:
            x = explained(config, workdir, kind, key)
            assert_adds_up(x, by_key[key])
            assert_agrees_with_reference(x, details)
            found[(kind, key)] = x
    return found


def test_every_record_of_the_fixed_scenario_is_explained_to_its_numbers(tmp_path: Path) -> None:
    config = {**CONFIG, "store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
    records = run_mapper(config, EVERY_FIELD_MESSAGES, tmp_path)
    details: dict = {}
    compute(delivery_order(EVERY_FIELD_MESSAGES), CONFIG, AS_OF_TIME, details)
    picks = {
        kind: [record_key(kind, r) for r in records[STREAMS[kind]]]
        for kind in ("user", "account", "membership")
    }
    found = explain_and_check(records, details, config, tmp_path, picks)
    # Hand-checked: ann's 4 Exported Report on 03-12 (3 in acme, 1 without account) under
    # a daily cap of 2: the user counts 2 (2 capped away), the membership 2 (1 capped away).
    ann = {ev["event"]: ev for ev in found[("user", ("ann",))]["events"]}
    assert (ann["Exported Report"]["occurrences"], ann["Exported Report"]["capped_away"]) == (4, 2)
    member = {ev["event"]: ev for ev in found[("membership", ("ann", "acme"))]["events"]}
    assert (member["Exported Report"]["occurrences"], member["Exported Report"]["counted"]) == (
        3,
        2,
    )
    acme = found[("account", ("acme",))]
    assert acme["rules"][0]["setting"] == "pqa" and acme["rules"][0]["holds"] is True
    assert acme["rules"][0]["fields"] == {"metric_seat_limit": 10, "metric_seats_used": 9}


@settings(CROSSCHECK, max_examples=max(1, EXAMPLES // 4))
@given(message_sets(), st.data())
def test_explain_of_random_message_sets_adds_up_and_matches_the_reference(
    message_set: MessageSet, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = {**message_set.config, "store_path": str(workdir / "store.duckdb")}
        # The mapper runs as of the set's as_of; explain, without the setting, must take
        # the as_of of the store's last run.
        records = run_mapper({**config, "as_of": message_set.as_of}, message_set.messages, workdir)
        details: dict = {}
        delivered = delivery_order(message_set.messages)
        compute(delivered, message_set.config, parse_as_of(message_set.as_of), details)
        picks: dict[str, list[tuple[str, ...]]] = {}
        for kind in ("user", "account", "membership"):
            keys = sorted(record_key(kind, r) for r in records[STREAMS[kind]])
            if keys:
                picks[kind] = [data.draw(st.sampled_from(keys), label=kind)]
        found = explain_and_check(records, details, config, workdir, picks)
        for x in found.values():
            assert x["as_of"] == x["record"]["as_of"]


def test_an_unknown_id_is_one_line_and_exit_1(tmp_path: Path) -> None:
    config = {**CONFIG, "store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
    run_mapper(config, EVERY_FIELD_MESSAGES, tmp_path)
    cases = {
        ("user", ("nobody",)): "no user `nobody` in the store",
        ("account", ("ghost-co",)): "no account `ghost-co` in the store",  # never linked
        ("membership", ("cleo", "acme")): "no membership of user `cleo` in account `acme` "
        "in the store",
    }
    for (kind, key), line in cases.items():
        done = run_explain(config, tmp_path, kind, key, output="text")
        assert done.returncode == 1, done.stderr
        assert done.stdout == ""
        assert done.stderr.splitlines() == [line]


def test_the_text_explanation_shows_the_sums_and_the_formula(tmp_path: Path) -> None:
    config = {**CONFIG, "store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
    records = run_mapper(config, EVERY_FIELD_MESSAGES, tmp_path)
    ann = {r["user_id"]: r for r in records["contacts"]}["ann"]
    done = run_explain(config, tmp_path, "user", ("ann",), output="text")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"contacts record of user ann, as of {AS_OF}\n")
    assert "Exported Report" in text and "capped away" in text
    # Invited Teammate 5, Created Project 3, 2 reports (capped) 2, a page view 0.5.
    assert "raw = 5 + 3 + 2 + 0.5 = 10.5" in text
    assert f" + 0.5) = {ann['engagement_score']}\n" in text
    assert "reference: P90 of the 2 users with raw > 0" in text
    assert "team: Invited Teammate x2, reached 2026-03-10T10:00:00Z" in text
    assert "pql: engagement_score >= 50 AND plan = 'free'" in text
    assert "does not hold; reads engagement_score = " in text and "plan = 'pro'" in text
    assert "=> is_pql false;" in text


def test_without_a_store_explain_says_so_in_one_line(tmp_path: Path) -> None:
    store = tmp_path / "missing" / "store.duckdb"
    done = run_explain({"store_path": str(store)}, tmp_path, "user", ("ann",), output="text")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"no store at {store} (store_path): run the pipeline first, with the same config"
    ]
    assert not store.parent.exists()


def test_a_store_held_by_a_running_pipeline_is_refused_in_one_line(tmp_path: Path) -> None:
    config = {**CONFIG, "store_path": str(tmp_path / "store.duckdb"), "as_of": AS_OF}
    run_mapper(config, EVERY_FIELD_MESSAGES, tmp_path)
    holder = subprocess.Popen(  # another process writing the store, as a running mapper does
        [
            str(MAPPER.parent / "python"),
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "sys.stdin.read()",
            config["store_path"],
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        done = run_explain(config, tmp_path, "user", ("ann",), output="text")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"the store at {config['store_path']} is in use by a running plg-transform; "
        "try again when that run has ended"
    ]

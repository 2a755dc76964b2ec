"""Benchmark: HubSpot calls the target makes, against the minimum, on the emulator.

    .venv/bin/python bench/target_hubspot_call_counts.py [companies contacts associations]

Runs the real console script three times on one fresh emulated portal (a clean first
run, the same input again, then a run where every tenth association changes role) and
once on a second portal with injected faults, and prints a table of calls per endpoint
beside the minimum: ceil(n/100) per object type plus property and label setup, and the
token check every run starts with.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.crm_emulators import (  # noqa: E402
    SHORT_TIMEOUT,
    TOKEN,
    HubSpotEmulator,
    HubSpotWorkspace,
    association,
    company,
    contact,
    schemas,
    state,
)

ROLES = ("admin", "billing", "user")


def pipeline(companies: int, contacts: int, associations: int, shift: int = 0) -> list[dict]:
    """Companies, contacts (primary = company i % companies), then associations."""
    links = [(i, i % companies) for i in range(contacts)]
    extra = associations - contacts
    links += [(i, (i + 1) % companies) for i in range(extra)]
    return [
        *schemas(),
        *[company(f"a{i}", segments="hot" if i % 2 else "cold") for i in range(companies)],
        *[
            contact(f"u{i}", f"user{i}@acme.com", primary_account_id=f"a{i % companies}")
            for i in range(contacts)
        ],
        *[
            association(
                f"u{c}",
                f"a{a}",
                role=ROLES[(n + (shift if n % 10 == 0 else 0)) % len(ROLES)],
            )
            for n, (c, a) in enumerate(links)
        ],
        state({"bookmarks": {"tracks": "2026-03-02"}}),
    ]


def endpoint(method: str, path: str) -> str:
    """A call's endpoint with the object type kept and property names folded."""
    if method == "PATCH":
        path = path.rsplit("/", 1)[0] + "/{name}"
    return f"{method} {path}"


def main(companies: int, contacts: int, associations: int) -> None:
    """Print the call table."""
    per = 100
    minimum = {
        "POST /oauth/v2/private-apps/get/access-token-info": 1,
        "GET /crm/v3/properties/companies": 1,
        "GET /crm/v3/properties/contacts": 1,
        # domain matching lists the portal's companies once, 100 a page (empty here)
        "GET /crm/v3/objects/companies": 1,
        "POST /crm/v3/properties/companies/groups": 1,
        "POST /crm/v3/properties/contacts/groups": 1,
        "POST /crm/v3/properties/companies/batch/create": 1,
        "POST /crm/v3/properties/contacts/batch/create": 1,
        "GET /crm/v4/associations/contacts/companies/labels": 1,
        "POST /crm/v4/associations/contacts/companies/labels": len(ROLES),
        "POST /crm/v3/objects/companies/batch/upsert": math.ceil(companies / per),
        "POST /crm/v3/objects/contacts/batch/upsert": math.ceil(contacts / per),
        "POST /crm/v4/associations/contacts/companies/batch/create": math.ceil(associations / per),
    }
    columns: dict[str, Counter[str]] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder, HubSpotEmulator(TOKEN) as portal:
        workspace = HubSpotWorkspace(Path(folder), emulator=portal)
        for name, messages in (
            ("clean run", pipeline(companies, contacts, associations)),
            ("same again", pipeline(companies, contacts, associations)),
            ("10% roles changed", pipeline(companies, contacts, associations, shift=1)),
        ):
            before = len(portal.calls)
            started = time.monotonic()
            result = workspace.run(messages)
            seconds[name] = time.monotonic() - started
            if result.returncode != 0:
                sys.exit(result.stderr)
            columns[name] = Counter(endpoint(c.method, c.path) for c in portal.calls[before:])
    with (
        tempfile.TemporaryDirectory() as folder,
        HubSpotEmulator(TOKEN, rate_interval_ms=2000, timeout_delay_seconds=0.8) as faulty,
    ):
        faulty.inject("500", "timeout", path_contains="/crm/v3/properties/")
        faulty.inject("423", "429-retry-after", "timeout", path_contains="batch/upsert")
        faulty.inject("429", "500", path_contains="batch/create")
        workspace = HubSpotWorkspace(Path(folder), emulator=faulty)
        started = time.monotonic()
        result = workspace.run(pipeline(companies, contacts, associations), **SHORT_TIMEOUT)
        seconds["faulty run"] = time.monotonic() - started
        if result.returncode != 0:
            sys.exit(result.stderr)
        columns["faulty run"] = Counter(endpoint(c.method, c.path) for c in faulty.calls)

    names = list(columns)
    rows = sorted(set(minimum) | {e for c in columns.values() for e in c})
    width = max(len(r) for r in rows)
    print(f"{companies} companies, {contacts} contacts, {associations} associations\n")
    print(f"{'endpoint':<{width}}  {'minimum':>7}  " + "  ".join(f"{n:>17}" for n in names))
    for row in rows:
        cells = "  ".join(f"{columns[n][row]:>17}" for n in names)
        print(f"{row:<{width}}  {minimum.get(row, 0):>7}  {cells}")
    totals = "  ".join(f"{sum(columns[n].values()):>17}" for n in names)
    print(f"{'total':<{width}}  {sum(minimum.values()):>7}  {totals}")
    print(
        f"{'seconds (wall)':<{width}}  {'':>7}  " + "  ".join(f"{seconds[n]:>17.1f}" for n in names)
    )


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:4]] or [300, 1000, 1150]
    main(*sizes)

"""The report of a HubSpot run, rendered from the transform's records of its last run.

The history is one the local tests never see (another seed and size), synced by the real
target into the HubSpot emulator. What the page must show is computed here from what the
portal holds after the run and from the files the plugins left, never from the report's
code; the page is opened in headless Chromium without any network, as a user would.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from playwright.sync_api import Browser

from .browser import (
    assert_charts_drawn,
    assert_no_errors_nor_requests,
    open_offline,
    reject_counts_shown,
)
from .conftest import HubSpotRun, render_from_transform
from .demo_run import DemoRun
from .test_report_in_browser import expected_best_contacts

SECTIONS = ("summary", "scores", "funnel", "pqa", "activation", "falling", "rejects", "history")


def kept_messages(store_path: Path) -> list[dict]:
    """The header and messages of the transform's last run, read straight from the file."""
    path = store_path.with_name(store_path.name + ".last-run.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def kept_records(store_path: Path, stream: str) -> list[dict]:
    return [
        m["record"]
        for m in kept_messages(store_path)
        if m.get("type") == "RECORD" and m["stream"] == stream
    ]


def champions_in_hubspot(run: HubSpotRun) -> dict[str, tuple[str, set[str]]]:
    """{PQA account id: (the champion's e-mail, its role labels)} as the portal holds them."""
    pqas = {key for key, props in run.companies.items() if props.get("plg_is_pqa") == "true"}
    found: dict[str, tuple[str, set[str]]] = {}
    for (email, account), shown_labels in run.associations.items():
        labels = {label.lower() for label in shown_labels}  # HubSpot shows `Champion`
        if account in pqas and "champion" in labels:
            assert account not in found, f"two champions in {account}"
            found[account] = (email, labels - {"champion", "primary", ""})
    assert set(found) == pqas, f"PQAs without a champion in HubSpot: {pqas - set(found)}"
    return found


def best_contacts_emitted(store_path: Path, account: str) -> list[tuple[str, int]]:
    """(e-mail, score in the account) of an account's three best members, as emitted:
    the champion, then by the association's own score (then by e-mail)."""
    members = [r for r in kept_records(store_path, "associations") if r["account_id"] == account]
    members.sort(key=lambda r: (not r["is_champion"], -r["engagement_score"], r["email"]))
    return [(r["email"] or r["user_id"], r["engagement_score"]) for r in members[:3]]


def test_every_section_renders_offline_with_charts_and_no_errors(
    browser: Browser, hubspot_report_html: Path, hubspot_run: HubSpotRun
) -> None:
    store = hubspot_run.run.store_path
    contacts = kept_records(store, "contacts")
    # The page shows the transform's records: also the contacts sync_filter kept out.
    assert len(contacts) > len(hubspot_run.contacts)
    references = kept_messages(store)[0]["score_references"]
    with open_offline(browser, hubspot_report_html) as visit:
        page = visit.page
        for section in SECTIONS:
            assert page.locator(f"section#{section}").is_visible(), section
        cards = page.locator("#summary .card").all_inner_texts()
        assert f"{len(contacts):,}\ncontacts" in cards
        assert f"{len(kept_records(store, 'companies')):,}\ncompanies" in cards
        assert f"{len(kept_records(store, 'associations')):,}\nassociations" in cards
        shown = page.locator("#scores .reference").all_inner_texts()
        assert shown == [f"{references['user']:g}", f"{references['account']:g}"]
        assert "last-run.jsonl" in page.locator("header").inner_text()
        assert_charts_drawn(page, 8)  # scores, stages, milestones, days: users and accounts
        assert_no_errors_nor_requests(visit)


def test_pqa_table_lists_hubspots_pqas_with_their_champion_first(
    browser: Browser, hubspot_report_html: Path, hubspot_run: HubSpotRun
) -> None:
    expected = champions_in_hubspot(hubspot_run)
    assert len(expected) >= 2  # the history makes a few PQAs, so the check means something
    with open_offline(browser, hubspot_report_html) as visit:
        assert visit.page.locator("#pqa h2").inner_text() == (
            f"Product-qualified accounts ({len(expected)})"
        )
        rows = visit.page.locator("#pqa-table tr.pqa")
        shown = {}
        for index in range(rows.count()):
            row = rows.nth(index)
            contacts = row.locator("li.contact")
            shown[row.get_attribute("data-account")] = [
                (contacts.nth(i).get_attribute("data-email"), contacts.nth(i).inner_text())
                for i in range(contacts.count())
            ]
    assert set(shown) == set(expected)
    for account, (champion, roles) in expected.items():
        (email, text), *others = shown[account]
        assert email == champion and "champion" in text, (account, text)
        for role in roles:
            assert role in text, (account, role, text)
        assert all("champion" not in t for _, t in others)
        # then by their score in the account (the association's own score), best first
        scores = [int(re.search(r"score (\d+)", t)[1]) for _, t in shown[account]]  # type: ignore[index]
        listed = list(zip([e for e, _ in shown[account]], scores, strict=True))
        assert listed == best_contacts_emitted(hubspot_run.run.store_path, account)


def test_rejects_and_run_history_of_the_hubspot_target_are_shown(
    browser: Browser, hubspot_report_html: Path, hubspot_run: HubSpotRun
) -> None:
    run = hubspot_run.run
    rejects = [json.loads(line) for line in run.rejects_path.read_text().splitlines()]
    groups = Counter((r["stream"], r["code"]) for r in rejects)
    history = [json.loads(line) for line in run.history_path.read_text().splitlines()]
    assert [h["crm"] for h in history] == ["hubspot"]
    with open_offline(browser, hubspot_report_html) as visit:
        assert reject_counts_shown(visit.page) == dict(groups)
        assert visit.page.locator("#history-table tr.run").count() == 1
        headers = visit.page.locator("#history-table th").all_inner_texts()
        cells = visit.page.locator("#history-table tr.run td").all_inner_texts()
    assert cells[headers.index("crm")] == "hubspot"
    assert cells[headers.index("status")] == "succeeded"


def test_both_sources_list_the_same_pqas_for_the_same_run(
    browser: Browser, demo_run: DemoRun, tmp_path: Path
) -> None:
    output = render_from_transform(demo_run, tmp_path)
    expected = expected_best_contacts(demo_run.crm_path)
    with open_offline(browser, output) as visit:
        rows = visit.page.locator("#pqa-table tr.pqa")
        first = {
            rows.nth(i).get_attribute("data-account"): rows.nth(i)
            .locator("li.contact")
            .first.get_attribute("data-email")
            for i in range(rows.count())
        }
        for section in SECTIONS[:-2]:
            assert visit.page.locator(f"section#{section}").is_visible(), section
        assert visit.console_errors == []
    # the best contact is the champion in both (the CRM's champion_user_id, the
    # transform's is_champion), so the first contact of every PQA is the same
    assert first == {account: email for account, (email, _, _) in expected.items()}

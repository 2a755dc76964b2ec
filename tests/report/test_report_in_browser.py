"""The HTML report opened in headless Chromium as a user would, without any network.

The page comes from a local CRM written by a real run of the three plugins on a generated
archive; what the page must show is computed here again from the CRM file itself.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

from playwright.sync_api import Browser

from .browser import (
    assert_charts_drawn,
    assert_no_errors_nor_requests,
    open_offline,
    reject_counts_shown,
)
from .conftest import render_report
from .demo_run import DemoRun


def crm_rows(crm_path: Path, table: str, key: str) -> dict[int, tuple[str, dict[str, str]]]:
    """{CRM id: (key, properties)} of contacts or companies, read straight from SQLite."""
    with sqlite3.connect(f"{crm_path.as_uri()}?mode=ro", uri=True) as db:
        return {
            crm_id: (value, json.loads(props))
            for crm_id, value, props in db.execute(f"SELECT id, {key}, properties FROM {table}")
        }


def expected_best_contacts(crm_path: Path) -> dict[str, tuple[str, bool, list[str]]]:
    """{PQA account id: (best contact's email, is champion, role labels)}.

    Best = the account's champion (`champion_user_id`) when associated, else the
    highest-scoring associated contact (the smaller email on a tie).
    """
    companies = crm_rows(crm_path, "companies", "account_key")
    contacts = crm_rows(crm_path, "contacts", "email")
    with sqlite3.connect(f"{crm_path.as_uri()}?mode=ro", uri=True) as db:
        links = list(db.execute("SELECT contact_id, company_id, labels FROM associations"))
    best: dict[str, tuple[str, bool, list[str]]] = {}
    for company_id, (account, props) in companies.items():
        if props.get("plg_is_pqa") != "true":
            continue
        members = []
        for contact_id, linked_company, labels in links:
            if linked_company != company_id or contact_id not in contacts:
                continue
            email, person = contacts[contact_id]
            champion = person.get("plg_user_id") == props.get("plg_champion_user_id")
            roles = [label for label in json.loads(labels) if label != "primary"]
            score = int(person.get("plg_engagement_score", "0"))
            members.append(((not champion, -score, email), (email, champion, roles)))
        assert members, f"PQA {account} has no associated contact in the CRM"
        best[account] = min(members)[1]
    return best


def test_report_renders_offline_with_charts_and_no_errors(
    browser: Browser, report_html: Path
) -> None:
    with open_offline(browser, report_html) as visit:
        page = visit.page
        assert page.title() == "Report <of> the demo & co"  # escaped, not markup
        assert page.locator("header h1").inner_text() == "Report <of> the demo & co"
        for section in ("summary", "scores", "funnel", "pqa", "activation", "falling", "rejects"):
            assert page.locator(f"section#{section}").is_visible(), section
        assert_charts_drawn(page, 8)  # scores, stages, milestones, days: users and accounts
        assert_no_errors_nor_requests(visit)


def test_report_is_one_self_contained_file(report_html: Path) -> None:
    html = report_html.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert re.findall(r'(?:src|href)="(?!#)[^"]*"', html) == []  # only in-page references
    assert re.findall(r"url\((?!#)", html) == [] and "@import" not in html
    assert "@font-face" not in html  # chart text is drawn as paths
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert [i for i, n in Counter(ids).items() if n > 1] == []  # charts' ids kept apart


def test_pqa_table_lists_exactly_the_crm_pqas_with_their_best_contact(
    browser: Browser, report_html: Path, demo_run: DemoRun
) -> None:
    expected = expected_best_contacts(demo_run.crm_path)
    assert len(expected) >= 3  # the run makes a few PQAs, so the check means something
    with open_offline(browser, report_html) as visit:
        rows = visit.page.locator("#pqa-table tr.pqa")
        shown = {}
        for index in range(rows.count()):
            row = rows.nth(index)
            first = row.locator("li.contact").first
            shown[row.get_attribute("data-account")] = (
                first.get_attribute("data-email"),
                first.inner_text(),
            )
        assert visit.page.locator("#pqa h2").inner_text() == (
            f"Product-qualified accounts ({len(expected)})"
        )
    assert set(shown) == set(expected)
    for account, (email, champion, roles) in expected.items():
        shown_email, text = shown[account]
        assert shown_email == email, account
        assert ("champion" in text) == champion, text
        for role in roles:
            assert role in text, (account, role, text)


def test_rejects_are_grouped_with_whole_reasons(
    browser: Browser, report_html: Path, demo_run: DemoRun
) -> None:
    rejects = [json.loads(line) for line in demo_run.rejects_path.read_text().splitlines()]
    assert rejects  # the demo has contacts without an email
    reasons = {r["reason"] for r in rejects}
    groups = Counter((r["stream"], r["code"]) for r in rejects)
    with open_offline(browser, report_html) as visit:
        assert reject_counts_shown(visit.page) == dict(groups)
        shown = visit.page.locator("#rejects-table .reason").all_inner_texts()
    assert shown
    for text in shown:
        assert re.sub(r" \(×\d+\)$", "", text.strip()) in reasons  # never cut


def test_run_history_is_shown_when_present(
    browser: Browser, demo_run: DemoRun, tmp_path: Path
) -> None:
    history = tmp_path / "run-history.jsonl"
    runs = [
        {"started_at": f"2026-07-0{day}T00:00:00Z", "objects": {"contacts": {"created": day}}}
        for day in (1, 2)
    ]
    history.write_text("".join(json.dumps(run) + "\n" for run in runs), encoding="utf-8")
    with_history, without = tmp_path / "with.html", tmp_path / "without.html"
    for output, extra in ((with_history, ["--history-path", history]), (without, [])):
        result = render_report(
            "--crm-path", demo_run.crm_path, "--output", output, *extra, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
    with open_offline(browser, with_history) as visit:
        assert visit.page.locator("#history-table tr.run").count() == 2
        headers = visit.page.locator("#history-table th").all_inner_texts()
        assert headers == ["started_at", "objects contacts created"]
    with open_offline(browser, without) as visit:
        assert visit.page.locator("#history").count() == 0
        assert "No rejects file" in visit.page.locator("#rejects").inner_text()

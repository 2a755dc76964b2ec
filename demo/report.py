"""Print what the demo pipeline put into the local CRM, the way a RevOps person reads it.

Reads the `local` CRM's SQLite file (tables properties, contacts, companies,
associations; property values are strings in a JSON object per record) and the target's
rejects file (one JSON object per line with `stream`, `code` and `reason`). The
product-qualified accounts and their best contacts are chosen the way the HTML report
(`plg-report`, package report/) chooses them.

    python demo/report.py [--crm output/crm.sqlite] [--rejects output/rejects.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plg_report.crm_snapshot import read_crm
from plg_report.input_errors import ReportInputError
from plg_report.report_content import qualified_accounts


@dataclass(frozen=True)
class Record:
    """One CRM record: its key (email or account key) and its properties."""

    key: str
    properties: dict[str, str]


class CrmSnapshot:
    """The records of the local CRM file, read once."""

    def __init__(self, path: Path, prefix: str) -> None:
        self.prefix = prefix
        # Read-only: the report must never change what the pipeline wrote.
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            self.contacts = [
                Record(email, _properties(props))
                for email, props in db.execute("SELECT email, properties FROM contacts ORDER BY id")
            ]
            self.companies = [
                Record(key, _properties(props))
                for key, props in db.execute(
                    "SELECT account_key, properties FROM companies ORDER BY id"
                )
            ]
            self.labels = [
                _labels(text) for (text,) in db.execute("SELECT labels FROM associations")
            ]

    def get(self, record: Record, field: str) -> str | None:
        """The value of the suite's field (``engagement_score``), None when unset."""
        value = record.properties.get(self.prefix + field)
        return None if value in (None, "") else value


def _properties(text: str | None) -> dict[str, str]:
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {}


def _labels(text: str | None) -> list[str]:
    value = json.loads(text) if text else []
    return [str(label) for label in value] if isinstance(value, list) else []


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _int_text(text: str | None) -> str:
    number = _number(text)
    if number is None:
        return "-"
    return str(int(number)) if number == int(number) else f"{number:g}"


def _flag(text: str | None) -> bool:
    return text == "true"


def _split(text: str | None) -> list[str]:
    return [part for part in (text or "").split(";") if part]


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Columns padded to their widest cell; numbers (``right``) aligned right."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  " + "  ".join(parts).rstrip()

    return [line(headers)] + [line(row) for row in rows]


def _counts_line(counter: Counter[str]) -> str:
    if not counter:
        return "none"
    return ", ".join(
        f"{name} {count:,}"
        for name, count in sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    )


def _top_accounts(crm: CrmSnapshot, top: int) -> list[str]:
    def order(record: Record) -> tuple[float, float, str]:
        return (
            -(_number(crm.get(record, "engagement_score")) or 0),
            -(_number(crm.get(record, "active_users")) or 0),
            record.key,
        )

    rows = []
    for rank, record in enumerate(sorted(crm.companies, key=order)[:top], start=1):
        trend = _number(crm.get(record, "engagement_trend"))
        trend_text = "-" if trend is None else f"{int(trend):+d}"
        label = crm.get(record, "engagement_trend_label") or ""
        name = crm.get(record, "name") or record.properties.get("name") or record.key
        rows.append(
            [
                str(rank),
                f"{name} ({record.key})"[:44],
                crm.get(record, "plan") or "-",
                _int_text(crm.get(record, "engagement_score")),
                f"{trend_text} {label}".strip(),
                f"{_int_text(crm.get(record, 'active_users'))}/"
                f"{_int_text(crm.get(record, 'total_users'))}",
                "yes" if _flag(crm.get(record, "is_pqa")) else "no",
                crm.get(record, "lifecycle_stage") or "-",
            ]
        )
    headers = ["#", "account", "plan", "score", "trend", "active/total", "PQA", "lifecycle"]
    return _table(headers, rows, right={0, 3, 5})


def _top_pqls(crm: CrmSnapshot, top: int) -> tuple[int, list[str]]:
    pqls = [r for r in crm.contacts if _flag(crm.get(r, "is_pql"))]
    pqls.sort(key=lambda r: (-(_number(crm.get(r, "engagement_score")) or 0), r.key))
    names = {c.key: crm.get(c, "name") or c.key for c in crm.companies}
    rows = [
        [
            record.key,
            _int_text(crm.get(record, "engagement_score")),
            _int_text(crm.get(record, "active_days")),
            names.get(
                crm.get(record, "primary_account_id") or "",
                crm.get(record, "primary_account_id") or "-",
            )[:30],
            crm.get(record, "lifecycle_stage") or "-",
            crm.get(record, "segments") or "",
        ]
        for record in pqls[:top]
    ]
    headers = ["email", "score", "active days", "primary account", "lifecycle", "segments"]
    return len(pqls), _table(headers, rows, right={1, 2})


def _qualified_accounts(crm_path: Path, prefix: str) -> list[str]:
    """Each PQA with its best contact (the champion, else the highest-scoring member)."""
    accounts = qualified_accounts(read_crm(crm_path, prefix))
    lines = [f"Product-qualified accounts: {len(accounts):,}" + (" (by score)" if accounts else "")]
    rows = []
    for account in accounts:
        best = account.best_contacts[0] if account.best_contacts else None
        contact = "-"
        if best is not None:
            roles = ", ".join(best.roles) or "no role"
            champion = ", champion" if best.is_champion else ""
            contact = f"{best.email} ({roles}{champion}, score {best.score})"
        rows.append(
            [
                f"{account.name} ({account.key})",
                account.plan or "-",
                "-" if account.score is None else str(account.score),
                account.active_users,
                contact,
            ]
        )
    if rows:
        headers = ["account", "plan", "score", "active/total", "best contact"]
        lines += _table(headers, rows, right={2, 3})
    return lines


def _playbook_tasks(crm_path: Path, top: int) -> list[str]:
    """The tasks the playbooks created in the local CRM (a CRM file without them: none)."""
    with sqlite3.connect(f"file:{crm_path}?mode=ro", uri=True) as db:
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"
        ).fetchone()
        rows = (
            db.execute(
                "SELECT t.subject, t.due, t.priority, t.type, c.email FROM tasks t "
                "LEFT JOIN contacts c ON c.id = t.contact_id ORDER BY t.id"
            ).fetchall()
            if exists
            else []
        )
    lines = [f"Playbook tasks: {len(rows):,}" + (f" (first {min(top, len(rows))})" if rows else "")]
    table = [
        [subject, due, f"{priority} {kind}", email or "-"]
        for subject, due, priority, kind, email in rows[:top]
    ]
    if table:
        lines += _table(["subject", "due", "priority", "contact"], table, right=set())
    return lines


def _rejects(path: Path | None) -> list[str]:
    if path is None or not path.exists():
        return ["Rejects: none (no rejects file)"]
    codes: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    unreadable = 0
    with path.open(encoding="utf-8") as file:
        for line in file:
            if not line.strip():
                continue
            try:
                reject: Any = json.loads(line)
            except json.JSONDecodeError:
                unreadable += 1
                continue
            if not isinstance(reject, dict):
                unreadable += 1
                continue
            key = (str(reject.get("stream") or "?"), str(reject.get("code") or "?"))
            codes[key] += 1
            example.setdefault(key, str(reject.get("reason") or ""))
    total = sum(codes.values())
    lines = [
        f"Rejects: {total:,} in {path}"
        + (f" ({unreadable} unreadable lines)" if unreadable else "")
    ]
    for (stream, code), count in codes.most_common():
        lines.append(f"  {count:>6,}  {stream:<12} {code}")
        # The whole reason, wrapped between words: a cut reason hides what to fix.
        lines += textwrap.wrap(
            f"e.g. {example[(stream, code)]}",
            width=88,
            initial_indent=" " * 10,
            subsequent_indent=" " * 15,
            break_long_words=False,
            break_on_hyphens=False,
        )
    return lines


def render_report(
    crm_path: Path, rejects_path: Path | None = None, prefix: str = "plg_", top: int = 10
) -> str:
    """The report as text: counts, top accounts, PQLs, segments, lifecycle, rejects."""
    crm = CrmSnapshot(crm_path, prefix)
    as_of = next(
        (crm.get(r, "as_of") for r in crm.companies + crm.contacts if crm.get(r, "as_of")), None
    )
    labels = Counter(label for labels in crm.labels for label in labels)
    out = [
        f"PLG demo results in the local CRM {crm_path}"
        + (f" (scored as of {as_of})" if as_of else ""),
        "",
    ]
    out += [
        "Records",
        f"  contacts      {len(crm.contacts):>7,}",
        f"  companies     {len(crm.companies):>7,}",
        f"  associations  {len(crm.labels):>7,}   labels: {_counts_line(labels)}",
        "",
    ]
    out += [f"Top {top} accounts by engagement score"] + _top_accounts(crm, top) + [""]
    pql_count, pql_rows = _top_pqls(crm, top)
    out.append(
        f"Product-qualified leads: {pql_count:,}"
        + (f" (top {min(top, pql_count)} by score)" if pql_count else "")
    )
    out += (pql_rows if pql_count else []) + [""]
    out += _qualified_accounts(crm_path, prefix) + [""]
    out.append("Segments")
    for kind, records in (("contacts", crm.contacts), ("companies", crm.companies)):
        sizes = Counter(name for r in records for name in _split(crm.get(r, "segments")))
        out.append(f"  {kind:<10} {_counts_line(sizes)}")
    out += ["", "Lifecycle stages"]
    for kind, records in (("contacts", crm.contacts), ("companies", crm.companies)):
        stages = Counter(crm.get(r, "lifecycle_stage") or "(none)" for r in records)
        out.append(f"  {kind:<10} {_counts_line(stages)}")
    out += [""] + _playbook_tasks(crm_path, top)
    out += [""] + _rejects(rejects_path)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line: print the report; exit 1 with a message when there is no CRM file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--crm",
        type=Path,
        default=Path("output/crm.sqlite"),
        help="the local CRM's SQLite file (default %(default)s)",
    )
    parser.add_argument(
        "--rejects",
        type=Path,
        default=Path("output/rejects.jsonl"),
        help="the target's rejects file (default %(default)s)",
    )
    parser.add_argument("--prefix", default="plg_", help="CRM property prefix")
    parser.add_argument("--top", type=int, default=10, help="rows in the top lists")
    args = parser.parse_args(argv)
    if not args.crm.is_file():
        print(f"report: no local CRM file at {args.crm}; run `make demo` first", file=sys.stderr)
        return 1
    try:
        sys.stdout.write(render_report(args.crm, args.rejects, args.prefix, args.top))
    except sqlite3.DatabaseError as error:
        print(f"report: {args.crm} is not a local CRM file ({error})", file=sys.stderr)
        return 1
    except ReportInputError as error:
        print(f"report: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

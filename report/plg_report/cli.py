"""`plg-report`: render the page from the local CRM or the transform's last-run records.

    plg-report [--source crm] [--crm-path output/crm.sqlite]
               [--rejects-path output/rejects.jsonl] [--history-path output/run-history.jsonl]
               [--output output/plg-report.html] [--title "..."] [--property-prefix plg_]
    plg-report --source transform [--transform-store-path .plg/store.duckdb] [...]

`--source crm` reads the local CRM's file (target-plg-crm with `crm: local`);
`--source transform` reads the records plg-transform emitted in its last run, kept next
to its store, whichever CRM the target writes to (HubSpot, Salesforce, local). Either
way the target's rejects and run history are read when their files exist.

Every mistake (an unknown option, a missing or unreadable file) is one line on stderr
naming the option or the file, and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from plg_settings import did_you_mean

from plg_report.crm_snapshot import CrmSnapshot, read_crm
from plg_report.input_errors import ReportInputError
from plg_report.json_lines import read_json_lines
from plg_report.page import render_page
from plg_report.report_content import report_content
from plg_report.transform_records import last_run_records_path, read_transform_records

PROGRAM = "plg-report"
DEFAULT_CRM = Path("output/crm.sqlite")
DEFAULT_STORE = Path(".plg/store.duckdb")  # plg-transform's default store_path
DEFAULT_REJECTS = Path("output/rejects.jsonl")
DEFAULT_HISTORY = Path("output/run-history.jsonl")
SOURCES = ("crm", "transform")
# The option that names each source's input; giving the other source's option is refused.
SOURCE_OPTIONS = {"crm": "crm_path", "transform": "transform_store_path"}


class OptionsError(Exception):
    """The command line is refused; the message names the option."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises one line (with the nearest option) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: "):
            unknown = message.removeprefix("unrecognized arguments: ").split()[0]
            options = [o for action in self._actions for o in action.option_strings]
            name = unknown.split("=")[0]
            message = f"`{name}`: unknown option{did_you_mean(name, options)}"
        raise OptionsError(message)


def _non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def parser() -> argparse.ArgumentParser:
    """The options, each declared once with its default."""
    options = _Parser(prog=PROGRAM, description=__doc__.split("\n\n")[0], allow_abbrev=False)
    options.add_argument(
        "--source",
        choices=SOURCES,
        default="crm",
        help="crm: the local CRM's file; transform: the records plg-transform emitted in "
        "its last run, for any CRM (default %(default)s)",
    )
    options.add_argument(
        "--crm-path",
        type=Path,
        help=f"with --source crm: the local CRM's SQLite file written by target-plg-crm "
        f"(default {DEFAULT_CRM})",
    )
    options.add_argument(
        "--transform-store-path",
        type=Path,
        help="with --source transform: plg-transform's store_path; its last run's records "
        f"are kept next to it as <store_path>.last-run.jsonl (default {DEFAULT_STORE})",
    )
    options.add_argument(
        "--rejects-path",
        type=Path,
        help=f"the target's rejects file, JSON lines (default {DEFAULT_REJECTS}; "
        "the section says so when the default file does not exist)",
    )
    options.add_argument(
        "--history-path",
        type=Path,
        help=f"the target's run history, JSON lines (default {DEFAULT_HISTORY}; "
        "the section is left out when the default file does not exist)",
    )
    options.add_argument(
        "--output",
        type=Path,
        default=Path("output/plg-report.html"),
        help="the HTML file to write (default %(default)s)",
    )
    options.add_argument("--title", type=_non_empty, default="PLG report", help="the page's title")
    options.add_argument(
        "--property-prefix",
        default="plg_",
        help="with --source crm: the target's property_prefix (default %(default)s)",
    )
    return options


def _optional_lines(path: Path | None, default: Path, what: str) -> tuple[list | None, str]:
    """A JSON-lines input: an explicit path must exist; the default one may be absent."""
    if path is None:
        if not default.exists():
            return None, ""
        path = default
    if not path.is_file():
        raise ReportInputError(f"no {what} at {path}")
    return read_json_lines(path, what), str(path)


def _read_records(args: argparse.Namespace) -> tuple[CrmSnapshot, str]:
    """The records of the chosen source, and where they were read from."""
    for source, option in SOURCE_OPTIONS.items():
        if source != args.source and getattr(args, option) is not None:
            flag = "--" + option.replace("_", "-")
            raise OptionsError(f"`{flag}`: only read with `--source {source}`")
    if args.source == "transform":
        store = args.transform_store_path or DEFAULT_STORE
        return read_transform_records(store), (
            f"the transform's last-run records {last_run_records_path(store)}"
        )
    crm_path = args.crm_path or DEFAULT_CRM
    return read_crm(crm_path, args.property_prefix), str(crm_path)


def render(args: argparse.Namespace) -> Path:
    """Read the inputs, write the page, return where."""
    crm, records_source = _read_records(args)
    rejects, rejects_source = _optional_lines(args.rejects_path, DEFAULT_REJECTS, "rejects file")
    history, history_source = _optional_lines(
        args.history_path, DEFAULT_HISTORY, "run history file"
    )
    content = report_content(crm, rejects, history)
    page = render_page(
        content,
        args.title,
        {
            "kind": args.source,
            "records": records_source,
            "rejects": rejects_source,
            "history": history_source,
        },
    )
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(page, encoding="utf-8")
    except OSError as error:
        raise ReportInputError(f"cannot write {args.output}: {error.strerror}") from None
    return args.output


def main(argv: list[str] | None = None) -> int:
    """Command line: print the page's path; exit 1 with one line on any mistake."""
    try:
        args = parser().parse_args(argv)
        output = render(args)
    except (OptionsError, ReportInputError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    print(output)
    return 0

"""`plg-report`: render the page from the local CRM, the rejects and the run history.

    plg-report [--crm-path output/crm.sqlite] [--rejects-path output/rejects.jsonl]
               [--history-path output/run-history.jsonl] [--output output/plg-report.html]
               [--title "..."] [--property-prefix plg_]

Every mistake (an unknown option, a missing or unreadable file) is one line on stderr
naming the option or the file, and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from plg_settings import did_you_mean

from plg_report.crm_snapshot import read_crm
from plg_report.input_errors import ReportInputError
from plg_report.json_lines import read_json_lines
from plg_report.page import render_page
from plg_report.report_content import report_content

PROGRAM = "plg-report"
DEFAULT_REJECTS = Path("output/rejects.jsonl")
DEFAULT_HISTORY = Path("output/run-history.jsonl")


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
        "--crm-path",
        type=Path,
        default=Path("output/crm.sqlite"),
        help="the local CRM's SQLite file written by target-plg-crm (default %(default)s)",
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
        help="the target's property_prefix (default %(default)s)",
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


def render(args: argparse.Namespace) -> Path:
    """Read the inputs, write the page, return where."""
    crm = read_crm(args.crm_path, args.property_prefix)
    rejects, rejects_source = _optional_lines(args.rejects_path, DEFAULT_REJECTS, "rejects file")
    history, history_source = _optional_lines(
        args.history_path, DEFAULT_HISTORY, "run history file"
    )
    content = report_content(crm, rejects, history)
    page = render_page(
        content,
        args.title,
        {"crm": str(args.crm_path), "rejects": rejects_source, "history": history_source},
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

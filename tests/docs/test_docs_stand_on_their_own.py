"""The docs stand on their own: links resolve, cited documents exist, no machine paths.

Every relative link (and #anchor) in the repository's Markdown files points at a file
(and heading) of the repository; every `*.md` document that code, tests or docs name is
in the repository; no tracked file mentions a path of a developer's machine or a
document outside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
# Written in two pieces so that this file does not match itself.
MACHINE_PATHS = re.compile(
    "|".join(
        (
            "/" + "work/",
            "/" + "root/",
            "/" + r"home/[a-z]",
            "/" + "Users/",
            r"\.\./" + "shared/",
            "shared/" + "design",
            "C:" + r"\\",
        )
    )
)


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return [REPO / name for name in out.split("\0") if name and (REPO / name).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def markdown_files() -> list[Path]:
    return [p for p in tracked_files() if p.suffix == ".md"]


def anchors(markdown: str) -> set[str]:
    """GitHub's ids of a Markdown file's headings."""
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*$", FENCE.sub("", markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug)
    return found


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(doc: Path) -> None:
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:...
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        inside = resolved.exists() and REPO in (resolved, *resolved.parents)
        if not inside or (
            anchor
            and resolved.suffix == ".md"
            and anchor not in anchors(resolved.read_text(encoding="utf-8"))
        ):
            broken.append(target)
    assert not broken, f"{doc.relative_to(REPO)}: broken links {broken}"


def test_every_cited_document_is_in_the_repository() -> None:
    names = {p.name for p in tracked_files()}
    paths = {str(p.relative_to(REPO)) for p in tracked_files()}
    missing = []
    for path in tracked_files():
        if path.suffix not in (".py", ".md", ".sh", ".toml", ".yml", ".yaml", "") or not (
            text := text_of(path)
        ):
            continue
        for cited in re.findall(r"(?<![\w/:.-])([\w./-]*[\w-]+\.md)\b", text):
            if cited.startswith(("http", "www.")):
                continue
            known = cited in paths if cited.startswith("docs/") else Path(cited).name in names
            if not known:
                missing.append((str(path.relative_to(REPO)), cited))
    assert not missing


def test_no_tracked_file_names_a_developer_machine_path() -> None:
    found = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_PATHS.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)

"""The documentation an operator reads: a README of a few minutes, and every link in it and in docs/
leads to a file and a heading that exist (so every former README section stays reachable)."""
from __future__ import annotations

import re
from pathlib import Path

from tests.mock_runtime import ROOT_DIR

LINK = re.compile(r"\]\((?!https?://)([^)#\s]*)(?:#([^)\s]*))?\)")
PAGES = [ROOT_DIR / "README.md", *sorted((ROOT_DIR / "docs").rglob("*.md")), ROOT_DIR / "lab" / "README.md"]


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but `-` and `_` dropped, spaces as `-`."""
    heads = (m[1] for m in re.finditer(r"^#+ (.*)$", page.read_text(), re.M))
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_the_readme_is_read_in_minutes():
    assert len((ROOT_DIR / "README.md").read_text().splitlines()) <= 250


def test_every_link_leads_to_a_page_and_a_heading_that_exist():
    broken = []
    for page in PAGES:
        for target, anchor in LINK.findall(page.read_text()):
            dest = (page.parent / target).resolve() if target else page
            if not dest.exists():
                broken.append(f"{page.relative_to(ROOT_DIR)}: {target}")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.relative_to(ROOT_DIR)}: {target}#{anchor}")
    assert broken == []


def test_the_readme_reaches_every_operator_page():
    readme = (ROOT_DIR / "README.md").read_text()
    assert [p.name for p in sorted((ROOT_DIR / "docs").glob("*.md")) if f"docs/{p.name}" not in readme] == []


def test_every_test_module_says_what_it_guards_in_tests_readme():
    # a reviewer reads tests/README.md to know what is covered: a module missing there is unseen
    table = (ROOT_DIR / "tests" / "README.md").read_text()
    modules = [*sorted((ROOT_DIR / "tests").glob("test_*.py")), *sorted((ROOT_DIR / "lab" / "tests").glob("test_*.py"))]
    named = {m.name if m.parent.name == "tests" and m.parent.parent == ROOT_DIR else f"lab/tests/{m.name}": m
             for m in modules}
    missing = [name for name in named if f"| {name} |" not in table]
    assert not missing, f"tests/README.md has no line for: {', '.join(missing)}"

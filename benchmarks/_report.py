"""Shared by the benchmark scripts: rewrite one ``## Section`` of docs/benchmarks.md in place."""

from __future__ import annotations

import re
from pathlib import Path

HEADER = "# Benchmarks\n\nThroughput and learning-quality numbers, each section written by a script in `benchmarks/`.\n"


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace the ``heading`` section of the Markdown file ``path`` (or append it); others stay as they are."""
    old = path.read_text() if path.exists() else HEADER
    pattern = re.compile(rf"^{re.escape(heading)}\s*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new.rstrip("\n") + "\n")


def publish(heading: str, text: str, write_docs: bool = True) -> None:
    """Print a benchmark's section and, unless told not to, write it into docs/benchmarks.md."""
    print(text)
    if write_docs:
        write_section(Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md", heading, text)

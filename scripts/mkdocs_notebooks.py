"""mkdocs hook (``hooks:`` in mkdocs.yml): the tutorials in the docs site come straight from their
jupytext sources, so ``mkdocs build`` / ``mkdocs serve`` work right after a clone.

For every ``notebooks/NN_*.py`` (py:percent) the site gets the page ``notebooks/NN_*.ipynb``,
which mkdocs-jupyter renders:

- if ``scripts/run_notebooks.py`` has written an executed ``docs/notebooks/NN_*.ipynb`` whose
  cells match the current source, that one is used, with its outputs (CI and the docs workflow
  run the notebooks first);
- otherwise the source is converted with jupytext at build time, without outputs (nothing is
  executed; an executed copy from an older version of the source is ignored, never shown).

The converted notebooks live in a temporary folder for the length of one build; nothing is
written into the source tree. ``mkdocs serve`` also watches ``notebooks/``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.notebooks")

PATTERN = "[0-9][0-9]_*.py"
_tmp: Path | None = None


def _sources(config: Any) -> list[Path]:
    return sorted((Path(config.config_file_path).resolve().parent / "notebooks").glob(PATTERN))


def _cell_sources(nb: Any) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in nb.cells]


def _executed_is_current(executed: Path, source: Path) -> bool:
    """Whether the executed notebook was run from the current source (same cells, same text)."""
    import jupytext
    import nbformat

    try:
        ran = nbformat.read(executed, as_version=4)
    except Exception:  # unreadable: rebuild from the source instead
        return False
    return _cell_sources(ran) == _cell_sources(jupytext.read(source))


@event_priority(100)  # before mkdocs-jupyter's on_files, which must see the added notebooks
def on_files(files: Files, config: Any) -> Files:
    """Add a page for every notebook source that has no current executed notebook."""
    import jupytext

    global _tmp
    _cleanup()
    for source in _sources(config):
        uri = f"notebooks/{source.stem}.ipynb"
        executed = files.get_file_from_path(uri)
        if executed is not None:
            if _executed_is_current(Path(executed.abs_src_path), source):
                continue
            log.info("%s is older than notebooks/%s: rendering the source without outputs", uri, source.name)
            files.remove(executed)
        if _tmp is None:
            _tmp = Path(tempfile.mkdtemp(prefix="mimic_lit_docs_notebooks_"))
        target = _tmp / uri
        target.parent.mkdir(parents=True, exist_ok=True)
        nb = jupytext.read(source)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        jupytext.write(nb, target, fmt="ipynb")
        files.append(File(uri, src_dir=str(_tmp), dest_dir=config.site_dir, use_directory_urls=config.use_directory_urls))
    return files


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    """Rebuild when a notebook source changes."""
    server.watch(str(Path(config.config_file_path).resolve().parent / "notebooks"))
    return server


def _cleanup() -> None:
    global _tmp
    if _tmp is not None:
        shutil.rmtree(_tmp, ignore_errors=True)
        _tmp = None


def on_post_build(config: Any) -> None:
    """Remove this build's converted notebooks (pages and their download copies are written by now)."""
    _cleanup()


def on_build_error(error: Exception) -> None:
    _cleanup()

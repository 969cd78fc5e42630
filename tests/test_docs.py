"""The docs: the site builds with ``mkdocs build --strict`` from a clean copy of its sources (as on
a fresh clone, tutorials rendered from their jupytext sources), and every tutorial notebook runs
top to bottom at CI size and the site builds around the executed notebooks; a broken notebook
fails the run."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import run_notebooks  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
needs_docs_extra = pytest.mark.skipif(importlib.util.find_spec("mkdocs_jupyter") is None, reason="needs the docs extra")


def _copy_docs_sources(dest: Path) -> Path:
    """What a fresh clone holds for the docs build: docs/ without generated notebooks, the notebook
    sources, mkdocs.yml and its hook. Returns the copy's mkdocs.yml."""
    shutil.copytree(ROOT / "docs", dest / "docs", ignore=shutil.ignore_patterns("notebooks", "*.ipynb"))
    (dest / "notebooks").mkdir()
    for nb in NOTEBOOKS:
        shutil.copy(nb, dest / "notebooks" / nb.name)
    (dest / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "mkdocs_notebooks.py", dest / "scripts" / "mkdocs_notebooks.py")
    shutil.copy(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    return dest / "mkdocs.yml"


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True, text=True, timeout=900, cwd=config.parent,
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _nav_files(nav) -> list[str]:
    out = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        out += _nav_files(value) if isinstance(value, list) else [value]
    return out


def _mkdocs_config() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/name:", lambda loader, suffix, node: suffix)
    return yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)


def test_every_notebook_and_page_is_in_the_nav_and_every_recipe_in_the_catalogue():
    nav = _nav_files(_mkdocs_config()["nav"])
    assert len(NOTEBOOKS) == 6
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.stem}.ipynb" in nav
    for page in (ROOT / "docs").glob("*.md"):
        assert page.name in nav, f"docs/{page.name} is not in mkdocs.yml's nav"
    catalogue = (ROOT / "docs" / "recipes.md").read_text()
    for recipe in sorted((ROOT / "recipes").glob("*.yaml")):
        assert recipe.stem in catalogue, f"recipes/{recipe.name} is missing from docs/recipes.md"


def test_a_failing_notebook_fails_the_run(tmp_path: Path, capsys):
    folder = tmp_path / "nbs"
    folder.mkdir()
    (folder / "01_ok.py").write_text("# %%\nx = 1\n")
    (folder / "02_broken.py").write_text("# %%\nraise ValueError('this notebook is broken')\n")
    code = run_notebooks.main(["--notebooks", str(folder), "--out", str(tmp_path / "out"), "--tiny"])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED: 02_broken.py" in err and "this notebook is broken" in err
    assert (tmp_path / "out" / "01_ok.ipynb").is_file()


@needs_docs_extra
def test_the_site_builds_from_a_clean_copy_of_the_sources(tmp_path: Path):
    """``mkdocs build --strict`` right after a clone: no executed notebook, nothing generated first.
    An executed notebook that matches its source is shown with its outputs; a stale one is not."""
    import jupytext
    import nbformat

    config = _copy_docs_sources(tmp_path / "src")
    executed = tmp_path / "src" / "docs" / "notebooks"
    executed.mkdir()
    current = jupytext.read(NOTEBOOKS[1])  # as scripts/run_notebooks.py would write it, outputs faked
    code_cell = next(c for c in current.cells if c.cell_type == "code")
    code_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="OUTPUT-OF-AN-EXECUTED-RUN\n")]
    nbformat.write(current, executed / f"{NOTEBOOKS[1].stem}.ipynb")
    stale = jupytext.read(NOTEBOOKS[0])  # run from an older version of the source
    stale_cell = next(c for c in stale.cells if c.cell_type == "code")
    stale_cell.source += "\nprint('a line since removed')"
    stale_cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="OUTPUT-OF-A-STALE-RUN\n")]
    nbformat.write(stale, executed / f"{NOTEBOOKS[0].stem}.ipynb")
    before = _tree(tmp_path / "src")

    done = _mkdocs_build(config, tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    for nb in NOTEBOOKS:  # every tutorial is a page, rendered from its source
        page = (site / "notebooks" / nb.stem / "index.html").read_text()
        title = next(c for c in jupytext.read(nb).cells if c.cell_type == "markdown").source.splitlines()[0]
        assert title.lstrip("# ").split(":")[0] in page, nb.stem
    assert "OUTPUT-OF-AN-EXECUTED-RUN" in (site / "notebooks" / NOTEBOOKS[1].stem / "index.html").read_text()
    assert "OUTPUT-OF-A-STALE-RUN" not in (site / "notebooks" / NOTEBOOKS[0].stem / "index.html").read_text()
    after = _tree(tmp_path / "src")
    assert {k: v for k, v in after.items() if not k.startswith(".cache")} == before  # nothing written into the sources


@pytest.mark.slow
@pytest.mark.render
@needs_docs_extra
def test_notebooks_run_and_the_site_builds_strictly(tmp_path: Path):
    config = _copy_docs_sources(tmp_path / "src")
    code = run_notebooks.main(["--tiny", "--out", str(tmp_path / "src" / "docs" / "notebooks"),
                               "--workdir", str(tmp_path / "work")])
    assert code == 0, "a notebook failed (see the output above)"
    import nbformat

    for nb in NOTEBOOKS:  # outputs speak to the reader: no paths of this machine, no training-stack noise
        ran = nbformat.read(tmp_path / "src" / "docs" / "notebooks" / f"{nb.stem}.ipynb", as_version=4)
        text = json.dumps([c.get("outputs", []) for c in ran.cells])
        for private in (str(ROOT), sys.prefix, str(tmp_path), "litlogger", "litmodels", "_pytree"):
            assert private not in text, f"{nb.stem}: '{private}' in the outputs"
    done = _mkdocs_build(config, tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "api" / "index.html").is_file()
    for nb in NOTEBOOKS:
        page = (site / "notebooks" / nb.stem / "index.html").read_text()
        # executed: the pictures are embedded in the page
        assert len(re.findall(r"data:image/png;base64", page)) >= 1, f"{nb.stem} has no figure"
        # mkdocs does not check links inside rendered notebooks: resolve the relative ones here
        page_dir = site / "notebooks" / nb.stem
        for link in re.findall(r'(?:href|src)="(\.\./[^"#]*)', page):
            target = (page_dir / link).resolve()
            assert target.is_file() or (target / "index.html").is_file(), f"{nb.stem}: broken link {link}"
    api = (site / "api" / "index.html").read_text()
    assert "TrackingConfig" in api and "episode_length" in api  # rendered from the docstrings

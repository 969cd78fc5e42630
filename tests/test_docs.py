"""The docs: every tutorial notebook runs top to bottom at CI size and the site builds with
``mkdocs build --strict`` around the executed notebooks; a broken notebook fails the run."""

from __future__ import annotations

import importlib.util
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


@pytest.mark.slow
@pytest.mark.render
@pytest.mark.skipif(importlib.util.find_spec("mkdocs_jupyter") is None, reason="needs the docs extra")
def test_notebooks_run_and_the_site_builds_strictly(tmp_path: Path):
    site_src = tmp_path / "src"
    shutil.copytree(ROOT / "docs", site_src / "docs", ignore=shutil.ignore_patterns("notebooks"))
    shutil.copy(ROOT / "mkdocs.yml", site_src / "mkdocs.yml")
    code = run_notebooks.main(["--tiny", "--out", str(site_src / "docs" / "notebooks"),
                               "--workdir", str(tmp_path / "work")])
    assert code == 0, "a notebook failed (see the output above)"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(site_src / "mkdocs.yml"),
         "-d", str(tmp_path / "site")],
        capture_output=True, text=True, timeout=900,
    )
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

"""Execute the tutorial notebooks (jupytext py:percent files in notebooks/) top to bottom and write
them, with their outputs, as .ipynb files for the docs site.

``mkdocs build`` works without this step: its hook (scripts/mkdocs_notebooks.py) renders the
sources without outputs. When the executed notebooks written here (docs/notebooks/, git-ignored)
match their sources, the site shows them instead, with their outputs; CI and the docs workflow
run this script before building.

All notebooks run in one working directory, in order, so later ones may reuse what earlier ones
made (notebook 5 exports notebook 2's checkpoint). A failing cell stops the run with exit code 1
and names the notebook and the cell.

    python scripts/run_notebooks.py                 # full size: ~25 min on a 2-core CPU
    python scripts/run_notebooks.py --tiny          # CI size: ~2 min (sets MIMIC_LIT_TINY=1)
    python scripts/run_notebooks.py --only 01 05    # some of them
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="small settings (MIMIC_LIT_TINY=1), as CI runs them")
    p.add_argument("--notebooks", default=str(ROOT / "notebooks"), help="folder of the .py notebooks")
    p.add_argument("--out", default=str(ROOT / "docs" / "notebooks"), help="folder for the executed .ipynb files")
    p.add_argument("--workdir", default=None, help="working directory of the kernels (default: a temporary one)")
    p.add_argument("--only", nargs="*", default=None, metavar="PREFIX", help="run only notebooks starting with these")
    p.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell")
    return p.parse_args(argv)


def execute(path: Path, out_dir: Path, workdir: Path, timeout: int) -> Path:
    """Run notebook ``path`` in ``workdir``; write it with outputs to ``out_dir``; return that path."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    client.execute()
    target = out_dir / f"{path.stem}.ipynb"
    nbformat.write(nb, target)
    return target


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    notebooks = sorted(Path(args.notebooks).glob("[0-9][0-9]_*.py"))
    if args.only:
        notebooks = [p for p in notebooks if any(p.name.startswith(o) for o in args.only)]
    if not notebooks:
        print(f"no notebooks found in {args.notebooks}", file=sys.stderr)
        return 1
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["MIMIC_LIT_REPO"] = str(ROOT)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    if args.tiny:
        os.environ["MIMIC_LIT_TINY"] = "1"
    with tempfile.TemporaryDirectory(prefix="mimic_lit_notebooks_") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for path in notebooks:
            start = time.perf_counter()
            print(f"running {path.name} ...", flush=True)
            try:
                target = execute(path, out_dir, workdir, args.timeout)
            except CellExecutionError as exc:
                print(f"FAILED: {path.name}\n{exc}", file=sys.stderr)
                return 1
            print(f"  {path.name} -> {target} ({time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

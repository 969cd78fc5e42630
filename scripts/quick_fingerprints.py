"""Record or check the numbers every recipe logs in its 2 ``--quick`` iterations (its fingerprint).

A refactor that must not change behaviour should leave every logged loss, reward and validation
metric of every recipe's quick run as it was. This script runs each ``recipes/*.yaml`` with ``--quick``
(2 iterations) through the real CLI, in a fresh folder, exactly as ``tests/test_recipes.py`` does,
and reads the scalars it logged (speeds such as ``perf/*`` and ``rollout/samples_per_s`` are left out):

    python scripts/quick_fingerprints.py record            # writes tests/data/quick_fingerprints.json
    python scripts/quick_fingerprints.py check --rtol 1e-6 # compares a new run with the file

``tests/test_recipes.py`` compares its own 2-iteration runs with the file too (at a looser
tolerance, so that a different CPU's floating-point rounding does not fail the suite).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
FINGERPRINTS = ROOT / "tests" / "data" / "quick_fingerprints.json"
#: Scalars that describe learning and evaluation, not the machine's speed.
KEPT_PREFIXES = ("train/", "rollout/", "episode/", "val/")
TIMING_SUFFIXES = ("_per_s",)  # speeds depend on the machine's load, not on the code
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def fingerprint(scalars: dict[str, list[float]]) -> dict[str, list[float]]:
    """The kept scalars of one run, sorted by name."""
    return {tag: [float(v) for v in values] for tag, values in sorted(scalars.items()) if tag.startswith(KEPT_PREFIXES) and not tag.endswith(TIMING_SUFFIXES)}


def read_scalars(run_dir: Path) -> dict[str, list[float]]:
    """Every scalar of the single TensorBoard event file under ``run_dir``, in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = run_dir.rglob("events.out.tfevents.*")
    acc = EventAccumulator(str(events))
    acc.Reload()
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _fit(recipe: Path, cwd: Path, *extra: str) -> None:
    from mimic_lit.commands.train import MimicLitCLI

    old, argv = os.getcwd(), sys.argv
    os.chdir(cwd)
    sys.argv = ["mimic-lit"]
    try:
        MimicLitCLI(args=["fit", "--config", str(recipe), "--quick", *QUIET, *extra])
    finally:
        os.chdir(old)
        sys.argv = argv


def low_level_recipe(recipe: Path) -> Path | None:
    """The recipe of the low-level policy a high-level recipe (one with ``llc_config``) drives, else ``None``."""
    return _task_option(recipe, "llc_config")


def _task_option(recipe: Path, name: str) -> Path | None:
    """The recipe path a task (``llc_config``) or its goal (``hlc_config``) option names, else ``None``."""
    import yaml

    task = yaml.safe_load(recipe.read_text())["data"]["init_args"]["task"]
    args = task.get("init_args", {}) if isinstance(task, dict) else {}
    goal = args.get("goal") if isinstance(args.get("goal"), dict) else {}
    config = args.get(name) or goal.get("init_args", {}).get(name)
    return ROOT / config if config else None


def prerequisite_recipes(recipe: Path) -> list[Path]:
    """The recipes whose runs ``recipe`` needs, in training order: a ball policy's walk; for a walk
    fine-tuned under a ball policy (``hlc_config``), that ball policy's prerequisites and itself."""
    low = low_level_recipe(recipe)
    if low is not None:
        return prerequisite_recipes(low) + [low]
    high = _task_option(recipe, "hlc_config")
    if high is not None:
        return prerequisite_recipes(high) + [high]
    return []


def run_recipe(recipe: Path) -> dict[str, list[float]]:
    """The fingerprint of ``recipe``'s 2-iteration ``--quick`` run in a fresh folder (the runs it
    needs first train, quick, for 1 iteration there, as the recipe test does)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for before in prerequisite_recipes(recipe):
            _fit(before, work, "--trainer.max_epochs", "1")
        _fit(recipe, work)
        return fingerprint(read_scalars(work / "runs" / f"quick_{recipe.stem}"))


#: key of the fingerprint file that records which physics and tensor libraries made the numbers
VERSIONS_KEY = "_versions"


def library_versions() -> dict[str, str]:
    """Versions of the libraries the numbers depend on: a MuJoCo or torch release may change the
    last digits of contact-rich runs (a dribble) without any change of ours."""
    import mujoco
    import numpy
    import torch

    return {"mujoco": mujoco.__version__, "torch": torch.__version__, "numpy": numpy.__version__}


def differences(expected: dict[str, list[float]], got: dict[str, list[float]], rtol: float) -> list[str]:
    """Human-readable lines for every recorded tag whose values differ by more than ``rtol``
    (relative; an absolute 1e-12 for values that are zero), or that is missing now. A tag logged
    now but not recorded (a newly added scalar) moved nothing: :func:`new_tags` lists those."""
    lines = []
    for tag in sorted(expected):
        if tag not in got:
            lines.append(f"{tag}: missing now")
            continue
        a, b = expected[tag], got[tag]
        if len(a) != len(b) or any(not math.isclose(x, y, rel_tol=rtol, abs_tol=1e-12) for x, y in zip(a, b)):
            lines.append(f"{tag}: recorded {a}, now {b}")
    return lines


def new_tags(expected: dict[str, list[float]], got: dict[str, list[float]]) -> list[str]:
    """Tags logged now that the recording does not have (``record`` adds them)."""
    return sorted(set(got) - set(expected))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("record", "check"))
    parser.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance of check (default 1e-6)")
    parser.add_argument("--only", nargs="*", default=None, metavar="STEM", help="only these recipes (file names without .yaml)")
    args = parser.parse_args(argv)
    recipes = [r for r in RECIPES if args.only is None or r.stem in args.only]
    recorded = json.loads(FINGERPRINTS.read_text()) if FINGERPRINTS.is_file() else {}
    versions = library_versions()
    if args.action == "check" and recorded.get(VERSIONS_KEY) != versions:
        print(f"note: recorded with {recorded.get(VERSIONS_KEY)}, running {versions}: expect last-digit differences")
    failed = 0
    for recipe in recipes:
        got = run_recipe(recipe)
        if args.action == "record":
            recorded[recipe.stem] = got
            print(f"{recipe.stem}: {len(got)} scalars recorded", flush=True)
            continue
        if recipe.stem not in recorded:
            print(f"{recipe.stem}: no fingerprint recorded", flush=True)
            failed += 1
            continue
        diff = differences(recorded[recipe.stem], got, args.rtol)
        failed += bool(diff)
        print(f"{recipe.stem}: {'same' if not diff else 'DIFFERENT'}", *diff, sep="\n  ", flush=True)
        added = new_tags(recorded[recipe.stem], got)
        if added:
            print(f"  note: {len(added)} scalar(s) not recorded yet (record adds them): {', '.join(added)}", flush=True)
    if args.action == "record":
        recorded[VERSIONS_KEY] = versions
        FINGERPRINTS.parent.mkdir(parents=True, exist_ok=True)
        FINGERPRINTS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        print(f"wrote {FINGERPRINTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

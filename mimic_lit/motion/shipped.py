"""Clips that ship inside the package, already converted to mimic-lit's `.npz` format.

They live in ``mimic_lit/data/motions/<robot>/*.npz``; the original files they were converted from
(with their licences) are in ``mimic_lit/data/motions/sources/``. ``tools/build_shipped_clips.py``
regenerates the `.npz` files from the sources.
"""

from __future__ import annotations

from pathlib import Path

from mimic_lit.robots.spec import DATA_DIR

MOTION_DIR = DATA_DIR / "motions"
SOURCE_DIR = MOTION_DIR / "sources"
DATASET_DIR = MOTION_DIR / "datasets"
DATASET_PREFIX = "shipped:datasets/"


def shipped_clip_paths(robot: str | None = None) -> list[Path]:
    """Paths of the shipped `.npz` clips, for one robot or all, sorted."""
    pattern = f"{robot}/*.npz" if robot else "*/*.npz"
    return sorted(p for p in MOTION_DIR.glob(pattern) if p.parent.name != "sources")


def shipped_clip(robot: str, name: str) -> Path:
    """Path of the shipped clip ``name`` (file stem) of ``robot``; raises with the choices on a typo."""
    from mimic_lit.errors import MotionFormatError

    path = MOTION_DIR / robot / f"{name}.npz"
    if not path.is_file():
        choices = ", ".join(p.stem for p in shipped_clip_paths(robot)) or "none"
        raise MotionFormatError(f"no shipped clip '{name}' for robot '{robot}'; shipped: {choices}")
    return path


def shipped_dataset(name: str) -> Path:
    """Path of the shipped dataset YAML ``name`` (``shipped:datasets/<name>``); raises with the choices."""
    from mimic_lit.errors import MotionFormatError

    path = DATASET_DIR / f"{name}.yaml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in DATASET_DIR.glob("*.yaml"))) or "none"
        raise MotionFormatError(f"no shipped dataset '{name}'; shipped: {choices}")
    return path


def resolve_dataset(motion: str) -> str:
    """``shipped:datasets/<name>`` -> the YAML's path; anything else unchanged."""
    if motion.startswith(DATASET_PREFIX):
        return str(shipped_dataset(motion[len(DATASET_PREFIX) :]))
    return motion

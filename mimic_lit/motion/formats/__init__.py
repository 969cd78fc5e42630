"""Motion importers: ``load_motion(path, robot=None, format="auto", **options)`` returns a validated clip.

Supported sources (see :data:`FORMATS`): mimic-lit ``.npz``, DeepMimic ``humanoid3d_*.txt``, qpos CSV
(ProtoMotions/Kimodo, G1 Moves, BeyondMimic, Booster layouts), and three pickle formats read with a
restricted unpickler that never runs code from the file: ASAP/HumanoidVerse (joblib), MimicKit, GMR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mimic_lit.errors import MotionFormatError

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.robots.spec import RobotSpec

__all__ = ["FORMATS", "FormatInfo", "load_motion", "detect_format", "save_gmr_pkl", "save_mimickit_pkl"]


@dataclass(frozen=True)
class FormatInfo:
    """One importable format: file extensions, a one-line description and the options it accepts."""

    name: str
    extensions: tuple[str, ...]
    description: str
    options: tuple[str, ...]


FORMATS: dict[str, FormatInfo] = {
    f.name: f
    for f in (
        FormatInfo("npz", (".npz",), "mimic-lit clip (safe .npz, written by `mimic-lit convert`)", ("loop", "name")),
        FormatInfo(
            "deepmimic", (".txt", ".json"), "DeepMimic humanoid3d_*.txt clip -> robot humanoid", ("loop", "name")
        ),
        FormatInfo(
            "csv",
            (".csv",),
            "qpos CSV: root xyz, root quat, joints (layouts: protomotions, g1_moves, beyondmimic, booster)",
            ("layout", "quat_order", "fps", "loop", "name"),
        ),
        FormatInfo(
            "asap",
            (".pkl", ".pickle", ".joblib"),
            "ASAP/HumanoidVerse joblib pkl of G1 clips (23 or 29 DoF)",
            ("key", "loop", "name"),
        ),
        FormatInfo("mimickit", (".pkl", ".pickle"), "MimicKit motion pkl {loop_mode, fps, frames}", ("loop", "name")),
        FormatInfo(
            "gmr",
            (".pkl", ".pickle"),
            "GMR retargeting output pkl {fps, root_pos, root_rot, dof_pos}",
            ("loop", "name"),
        ),
    )
}
_PICKLE_FORMATS = ("asap", "mimickit", "gmr")
_EXT_TO_FORMAT = {
    ".npz": "npz",
    ".txt": "deepmimic",
    ".json": "deepmimic",
    ".csv": "csv",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "pickle",
}


def _supported_line() -> str:
    return ".npz (mimic-lit), .txt (DeepMimic), .csv (qpos CSV), .pkl (ASAP, MimicKit, GMR)"


def detect_format(path: str | os.PathLike) -> str:
    """Format name from the file extension: a :data:`FORMATS` key, or ``"pickle"`` (decided by content)."""
    ext = Path(path).suffix.lower()
    if ext not in _EXT_TO_FORMAT:
        raise MotionFormatError(
            f"'{path}': unknown motion file extension '{ext or '(none)'}'; supported: {_supported_line()}"
        )
    return _EXT_TO_FORMAT[ext]


def _pickle_kind(obj: Any, where: str) -> str:
    from mimic_lit.motion.formats.asap_pkl import is_asap_dict
    from mimic_lit.motion.formats.gmr_pkl import is_gmr_dict
    from mimic_lit.motion.formats.mimickit_pkl import is_mimickit_dict

    if is_asap_dict(obj):
        return "asap"
    if is_mimickit_dict(obj):
        return "mimickit"
    if is_gmr_dict(obj):
        return "gmr"
    keys = ", ".join(sorted(map(str, obj))[:12]) if isinstance(obj, dict) else type(obj).__name__
    raise MotionFormatError(f"'{where}': pickle is not an ASAP, MimicKit or GMR motion (found {keys})")


def _check_options(fmt: str, options: dict[str, Any], where: str) -> None:
    allowed = FORMATS[fmt].options
    for key in options:
        if key not in allowed:
            raise MotionFormatError(
                f"'{where}': option '{key}' does not apply to {fmt} files (options: {', '.join(allowed) or 'none'})"
            )


def load_motion(
    path: str | os.PathLike,
    robot: "str | RobotSpec | None" = None,
    format: str = "auto",
    **options: Any,
) -> "MotionClip":
    """Read any supported motion file as a validated :class:`MotionClip`.

    ``format`` is ``"auto"`` (from the extension; pickles by their content) or a :data:`FORMATS` key.
    ``options`` are format specific (``layout``, ``quat_order``, ``fps`` for CSV; ``key`` for ASAP;
    ``loop`` and ``name`` everywhere); options set to None are ignored.
    """
    from mimic_lit.motion.formats._common import require_file

    options = {k: v for k, v in options.items() if v is not None}
    path = require_file(path)
    where = str(path)
    if format == "auto":
        fmt = detect_format(path)
    elif format in FORMATS:
        fmt = format
    else:
        raise MotionFormatError(f"unknown motion format '{format}'; choose auto or one of: {', '.join(FORMATS)}")

    obj = None
    if fmt == "pickle" or fmt in _PICKLE_FORMATS:
        from mimic_lit.motion.formats.safe_pickle import safe_load_any

        obj = safe_load_any(path)
        kind = _pickle_kind(obj, where)
        if fmt != "pickle" and kind != fmt:
            raise MotionFormatError(f"'{where}': asked for format '{fmt}' but the file holds a {kind} motion")
        fmt = kind
    _check_options(fmt, options, where)
    loader = _LOADERS[fmt]
    return loader(path, robot, obj, options)


# ---------------------------------------------------------------------------------------- loaders
def _load_npz(path: Path, robot: Any, obj: Any, opts: dict[str, Any]) -> "MotionClip":
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.robots import get_robot

    spec = get_robot(robot) if robot is not None else None
    clip = MotionClip.load(path, spec)
    if spec is None and clip.robot:
        clip.validate(get_robot(clip.robot), where=str(path))
    if "loop" in opts:
        from mimic_lit.motion.formats._common import check_loop

        clip.loop = check_loop(opts["loop"], clip.loop, str(path))  # type: ignore[assignment]
    if "name" in opts:
        clip.name = opts["name"]
    return clip


def _load_deepmimic(path: Path, robot: Any, obj: Any, opts: dict[str, Any]) -> "MotionClip":
    from mimic_lit.motion.formats.deepmimic_txt import load_deepmimic_txt

    return load_deepmimic_txt(path, robot, **opts)


def _load_csv(path: Path, robot: Any, obj: Any, opts: dict[str, Any]) -> "MotionClip":
    from mimic_lit.motion.formats.csv_g1 import load_qpos_csv

    return load_qpos_csv(path, robot, **opts)


def _load_asap(path: Path, robot: Any, obj: Any, opts: dict[str, Any]) -> "MotionClip":
    from mimic_lit.motion.formats.asap_pkl import clip_from_asap_dict

    return clip_from_asap_dict(obj, str(path), robot=robot, **opts)


def _load_mimickit(path: Path, robot: Any, obj: Any, opts: dict[str, Any]) -> "MotionClip":
    from mimic_lit.motion.formats.mimickit_pkl import clip_from_mimickit_dict

    return clip_from_mimickit_dict(obj, str(path), robot, **opts)


def _load_gmr(path: Path, robot: Any, obj: Any, opts: dict[str, Any]) -> "MotionClip":
    from mimic_lit.motion.formats.gmr_pkl import clip_from_gmr_dict

    return clip_from_gmr_dict(obj, str(path), robot, **opts)


_LOADERS: dict[str, Callable[[Path, Any, Any, dict[str, Any]], "MotionClip"]] = {
    "npz": _load_npz,
    "deepmimic": _load_deepmimic,
    "csv": _load_csv,
    "asap": _load_asap,
    "mimickit": _load_mimickit,
    "gmr": _load_gmr,
}


def save_gmr_pkl(clip: "MotionClip", path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``clip`` as a GMR ``.pkl`` (see :func:`mimic_lit.motion.formats.gmr_pkl.save_gmr_pkl`)."""
    from mimic_lit.motion.formats.gmr_pkl import save_gmr_pkl as _save

    return _save(clip, path, overwrite=overwrite)


def save_mimickit_pkl(
    clip: "MotionClip", path: str | os.PathLike, robot: "str | RobotSpec | None" = None, *, overwrite: bool = True
) -> Path:
    """Write ``clip`` as a MimicKit ``.pkl`` (see :func:`mimic_lit.motion.formats.mimickit_pkl.save_mimickit_pkl`)."""
    from mimic_lit.motion.formats.mimickit_pkl import save_mimickit_pkl as _save

    return _save(clip, path, robot, overwrite=overwrite)

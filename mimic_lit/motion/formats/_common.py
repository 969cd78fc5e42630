"""Helpers shared by the importers: robot resolution, quaternion order/sign, array checks, clip finish."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mimic_lit.errors import MotionFormatError

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.robots.spec import RobotSpec


def require_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path; raises ``MotionFormatError`` if it is not an existing file."""
    path = Path(path)
    if not path.is_file():
        raise MotionFormatError(f"motion file not found: '{path}'")
    return path


def resolve_robot(
    robot: "str | RobotSpec | None", where: str, *, allowed: tuple[str, ...] | None = None, default: str | None = None
) -> "RobotSpec":
    """The spec of ``robot`` (or ``default``), checked against the robots a format supports."""
    from mimic_lit.robots import get_robot

    if robot is None:
        if default is None:
            raise MotionFormatError(f"'{where}': this format does not name its robot; pass robot= (e.g. --robot g1)")
        robot = default
    spec = get_robot(robot)
    if allowed is not None and spec.name not in allowed:
        raise MotionFormatError(
            f"'{where}': this format holds motion for robot {' or '.join(repr(a) for a in allowed)}, not '{spec.name}'"
        )
    return spec


def as_float_array(value: Any, field: str, where: str, *, ndim: int = 2, cols: int | None = None) -> np.ndarray:
    """``value`` as a float64 array of the given rank (and column count); one-line error otherwise."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionFormatError(f"'{where}': field '{field}' must be a numeric array") from None
    if arr.ndim != ndim or (cols is not None and arr.shape[-1] != cols):
        want = f"(frames, {cols})" if cols is not None else f"{ndim}-d"
        raise MotionFormatError(f"'{where}': field '{field}' must have shape {want}, got {arr.shape}")
    if arr.ndim >= 1 and arr.shape[0] < 1:
        raise MotionFormatError(f"'{where}': field '{field}' has no frames")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise MotionFormatError(
            f"'{where}': field '{field}' has NaN or inf values (first at frame {int(np.argwhere(bad)[0][0])})"
        )
    return arr


def as_fps(value: Any, field: str, where: str) -> float:
    """A frame rate from a file or option: a finite number > 0."""
    try:
        fps = float(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        raise MotionFormatError(f"'{where}': field '{field}' must be a number, got {value!r}") from None
    if not np.isfinite(fps) or fps <= 0:
        raise MotionFormatError(f"'{where}': field '{field}' must be a finite number > 0, got {value!r}")
    return fps


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    """Reorder (..., 4) quaternions from scalar-last to mimic-lit's scalar-first."""
    return np.concatenate([q[..., 3:4], q[..., :3]], axis=-1)


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    """Reorder (..., 4) quaternions from scalar-first to scalar-last."""
    return np.concatenate([q[..., 1:4], q[..., 0:1]], axis=-1)


def continuous_quat(q: np.ndarray) -> np.ndarray:
    """Flip signs of (T, 4) quaternions so consecutive frames lie in the same hemisphere (w >= 0 at frame 0)."""
    q = np.array(q, dtype=np.float64, copy=True)
    if len(q) == 0:
        return q
    dots = np.einsum("ij,ij->i", q[1:], q[:-1])
    flips = np.concatenate([[1.0 if q[0, 0] >= 0 else -1.0], np.where(dots < 0, -1.0, 1.0)])
    return q * np.cumprod(flips)[:, None]


def check_loop(loop: str | None, default: str, where: str) -> str:
    """The loop mode: the option if given (``wrap``/``clamp``), else the format's own value."""
    if loop is None:
        return default
    if loop not in ("wrap", "clamp"):
        raise MotionFormatError(f"'{where}': loop must be 'wrap' or 'clamp', got {loop!r}")
    return loop


def finish_clip(
    *,
    robot: "RobotSpec",
    fps: float,
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    loop: str,
    name: str,
    source: str,
    where: str,
) -> "MotionClip":
    """Assemble a :class:`MotionClip` for ``robot`` and validate it (joint count, units, finiteness)."""
    from mimic_lit.motion.clip import MotionClip

    clip = MotionClip(
        fps=float(fps),
        root_pos=np.ascontiguousarray(root_pos, dtype=np.float64),
        root_quat=continuous_quat(root_quat),
        joint_pos=np.ascontiguousarray(joint_pos, dtype=np.float64),
        loop=loop,  # type: ignore[arg-type]
        robot=robot.name,
        name=name,
        source=source,
        joint_names=tuple(robot.joint_names),
    )
    return clip.validate(robot, where=where)


def infer_robot(num_joint_coords: int, where: str, what: str) -> "RobotSpec":
    """The one registered robot with ``num_joint_coords`` joint values; asks for ``robot=`` otherwise."""
    from mimic_lit.robots import get_robot, robot_names

    hits = [n for n in robot_names() if get_robot(n).num_joint_coords == num_joint_coords]
    if len(hits) != 1:
        found = f"robots {', '.join(hits)} all have" if hits else "no registered robot has"
        raise MotionFormatError(
            f"'{where}': {what} has {num_joint_coords} joint values and {found} that many; pass robot= (--robot)"
        )
    return get_robot(hits[0])


def write_pickle(payload: Any, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Pickle ``payload`` to ``path`` atomically (:func:`mimic_lit.fileio.atomic_output`: a
    temporary file renamed into place, usual permissions), so a crash never leaves half a file;
    refuses an existing file unless ``overwrite``."""
    import pickle

    from mimic_lit.fileio import atomic_output

    path = Path(path)
    if path.exists() and not overwrite:
        raise MotionFormatError(f"'{path}' exists; pass overwrite=True (or --overwrite) to replace it")
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        pickle.dump(payload, f, protocol=4)
    return path

"""DeepMimic ``humanoid3d_*.txt`` clips -> :class:`MotionClip` on the ``humanoid`` robot (MimicKit MJCF).

DeepMimic frames are ``[duration, root pos (3), root quat wxyz (4), then per joint a local quat (4) or a
revolute angle (1)]`` in a Y-up world where the character faces +X and +Z is its right. The MuJoCo
humanoid is Z-up with left = +Y, so positions map ``(x, y, z) -> (x, -z, y)`` and rotations are
conjugated by ``c`` = +90 deg about X. Its arms are modelled in a T-pose, so each arm body frame is the
converted DeepMimic frame times ``A`` (Rx(+90 deg) right, Rx(-90 deg) left). Each spherical joint is
then split into the body's x, y, z hinges (intrinsic Euler angles, unwrapped over time).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mimic_lit.errors import MotionFormatError
from mimic_lit.motion.formats._common import check_loop, finish_clip, require_file, resolve_robot
from mimic_lit.motion.formats._euler import hinge_triple_angles

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip

FRAME_SIZE = 44
# (name, column of its value in a DeepMimic frame, "sph" (quat, 4 values) or "rev" (angle, 1 value))
_JOINTS = (
    ("chest", 8, "sph"),
    ("neck", 12, "sph"),
    ("right_hip", 16, "sph"),
    ("right_knee", 20, "rev"),
    ("right_ankle", 21, "sph"),
    ("right_shoulder", 25, "sph"),
    ("right_elbow", 29, "rev"),
    ("left_hip", 30, "sph"),
    ("left_knee", 34, "rev"),
    ("left_ankle", 35, "sph"),
    ("left_shoulder", 39, "sph"),
    ("left_elbow", 43, "rev"),
)
# MuJoCo humanoid qpos order: which DeepMimic joint fills it, and how.
_MJ_ORDER = (
    "chest",
    "neck",
    "right_shoulder",
    "right_elbow",
    "left_shoulder",
    "left_elbow",
    "right_hip",
    "right_knee",
    "right_ankle",
    "left_hip",
    "left_knee",
    "left_ankle",
)
# Revolute joints: DeepMimic rotates about its local +Z. Sign of the MuJoCo hinge angle:
# knees: +Z_dm -> -Y_mj, hinge axis +Y, so -theta. Elbows: +Z_dm -> -Y in the naive frame, which is
# +Z of the right T-pose arm (A = Rx(+90)) and -Z of the left one (A = Rx(-90)); hinge axis +Z.
_REV_SIGN = {"right_knee": -1.0, "left_knee": -1.0, "right_elbow": 1.0, "left_elbow": -1.0}
_ARM_OFFSET_X = {"right_shoulder": math.pi / 2, "left_shoulder": -math.pi / 2}  # A = Rx(angle)
_QUAT_MIN_NORM = 0.1  # DeepMimic normalises every quaternion it reads; only (near-)zero ones are unusable


def _read_frames(path: Path) -> tuple[np.ndarray, str]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MotionFormatError(f"'{path}': not a DeepMimic JSON motion ({' '.join(str(exc).split())})") from None
    if not isinstance(doc, dict) or "Frames" not in doc:
        raise MotionFormatError(f"'{path}': missing field 'Frames' (not a DeepMimic motion file)")
    frames = doc["Frames"]
    if not isinstance(frames, list) or not frames:
        raise MotionFormatError(f"'{path}': field 'Frames' must be a non-empty list of frames")
    for i, row in enumerate(frames):
        if not isinstance(row, list) or len(row) != FRAME_SIZE:
            n = len(row) if isinstance(row, list) else type(row).__name__
            raise MotionFormatError(
                f"'{path}': Frames[{i}] has {n} values, expected {FRAME_SIZE} (DeepMimic humanoid3d layout)"
            )
    try:
        arr = np.asarray(frames, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionFormatError(f"'{path}': field 'Frames' must hold only numbers") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise MotionFormatError(f"'{path}': Frames[{i}][{j}] is NaN or inf")
    loop = doc.get("Loop", "wrap")
    if loop not in ("wrap", "none"):
        raise MotionFormatError(f"'{path}': field 'Loop' must be 'wrap' or 'none', got {loop!r}")
    return arr, loop


def _frame_rate(durations: np.ndarray, where: Path) -> tuple[float, np.ndarray | None]:
    """(fps, new sample times or None). Uniform durations keep the frames; others are resampled."""
    if len(durations) == 0:
        return 30.0, None  # a single pose: any rate works
    if (durations <= 0).any():
        i = int(np.argmax(durations <= 0))
        raise MotionFormatError(f"'{where}': Frames[{i}][0] (frame duration) must be > 0, got {durations[i]}")
    fps = float(np.median(1.0 / durations))
    if abs(fps - round(fps)) < 1e-3 * fps:  # files store durations rounded to ~6 digits (0.033332 s)
        fps = float(round(fps))
    if np.ptp(durations) <= 1e-4 * np.median(durations):
        return fps, None
    total = float(durations.sum())
    n = max(int(round(total * fps)) + 1, 2)
    return (n - 1) / total, np.linspace(0.0, total, n)  # exact end time keeps wrap clips seamless


def _resample(frames: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Frames at ``times``: lerp positions and angles, slerp quaternions (DeepMimic's own interpolation)."""
    import torch

    from mimic_lit.rotations import quat_slerp

    t_old = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    idx = np.clip(np.searchsorted(t_old, times, side="right") - 1, 0, len(frames) - 2)
    span = t_old[idx + 1] - t_old[idx]
    alpha = np.clip((times - t_old[idx]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    a, b = frames[idx], frames[idx + 1]
    out = a + alpha[:, None] * (b - a)
    quat_cols = [4] + [c for _, c, kind in _JOINTS if kind == "sph"]
    for c in quat_cols:
        qa = torch.from_numpy(a[:, c : c + 4] / np.linalg.norm(a[:, c : c + 4], axis=1, keepdims=True))
        qb = torch.from_numpy(b[:, c : c + 4] / np.linalg.norm(b[:, c : c + 4], axis=1, keepdims=True))
        out[:, c : c + 4] = quat_slerp(qa, qb, torch.from_numpy(alpha)).numpy()
    out[:, 0] = np.concatenate([np.diff(times), [0.0]])
    return out


def _unit_quats(q: np.ndarray, what: str, where: Path) -> np.ndarray:
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    if (norm < _QUAT_MIN_NORM).any():
        i = int(np.argmax(norm[:, 0] < _QUAT_MIN_NORM))
        raise MotionFormatError(f"'{where}': Frames[{i}] {what} quaternion has norm {norm[i, 0]:.3g}, not a rotation")
    return q / norm


def convert_frames(
    frames: np.ndarray, where: Path | str = "<frames>", limits: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DeepMimic frames (T, 44) -> MuJoCo humanoid ``root_pos`` (T,3), ``root_quat`` (T,4), ``joint_pos`` (T,28).

    Root x, y are shifted so frame 0 starts at the origin (as DeepMimic does when it loads a clip).
    ``limits`` (28, 2) are the humanoid's joint ranges, used to pick the Euler branch of each joint.
    """
    import torch

    from mimic_lit.rotations import quat_from_axis_angle, quat_mul

    if limits is None:
        from mimic_lit.robots import get_robot

        limits = get_robot("humanoid").joint_limits
    first_col, col = {}, 0
    for name in _MJ_ORDER:
        first_col[name] = col
        col += 1 if name in _REV_SIGN else 3

    where = Path(where)
    dt = torch.float64
    half = math.sqrt(0.5)
    c = torch.tensor([half, half, 0.0, 0.0], dtype=dt)  # +90 deg about X: DeepMimic Y-up -> MuJoCo Z-up
    c_inv = torch.tensor([half, -half, 0.0, 0.0], dtype=dt)

    def to_zup(q: np.ndarray) -> torch.Tensor:
        return quat_mul(quat_mul(c.expand(len(q), 4), torch.from_numpy(q)), c_inv.expand(len(q), 4))

    p = frames[:, 1:4]
    root_pos = np.stack([p[:, 0], -p[:, 2], p[:, 1]], axis=1)
    root_pos[:, :2] -= root_pos[0, :2]
    root_quat = to_zup(_unit_quats(frames[:, 4:8], "root", where)).numpy()

    x_axis = torch.tensor([1.0, 0.0, 0.0], dtype=dt)
    cols: dict[str, np.ndarray] = {}
    for name, col, kind in _JOINTS:
        if kind == "rev":
            cols[name] = _REV_SIGN[name] * frames[:, col : col + 1]
            continue
        q = to_zup(_unit_quats(frames[:, col : col + 4], name, where))
        if name in _ARM_OFFSET_X:  # T-pose arm frame: q_mujoco = q_naive * A
            a = quat_from_axis_angle(x_axis, torch.tensor(_ARM_OFFSET_X[name], dtype=dt))
            q = quat_mul(q, a.expand_as(q))
        lim = limits[first_col[name] : first_col[name] + 3]
        cols[name] = hinge_triple_angles(q, "xyz", lim[:, 0], lim[:, 1])
    joint_pos = np.concatenate([cols[n] for n in _MJ_ORDER], axis=1)
    return root_pos, root_quat, joint_pos


def load_deepmimic_txt(
    path: str | os.PathLike,
    robot: str | None = None,
    *,
    loop: str | None = None,
    name: str | None = None,
) -> "MotionClip":
    """Read a DeepMimic ``humanoid3d_*.txt`` clip as a validated clip of the ``humanoid`` robot.

    Non-uniform frame durations are resampled to a uniform rate (slerp/lerp); otherwise frames are kept
    and fps = 1/duration (snapped to an integer when the file's rounding is the only difference).
    ``Loop`` ``wrap``/``none`` becomes ``wrap``/``clamp`` unless ``loop`` overrides it.
    """
    path = require_file(path)
    spec = resolve_robot(robot, str(path), allowed=("humanoid",), default="humanoid")
    frames, file_loop = _read_frames(path)
    fps, times = _frame_rate(frames[:-1, 0], path)
    resampled = times is not None
    if resampled:
        _unit_quats(frames[:, 4:8], "root", path)  # clear error before slerp sees a zero quaternion
        for jname, col, kind in _JOINTS:
            if kind == "sph":
                _unit_quats(frames[:, col : col + 4], jname, path)
        frames = _resample(frames, times)
    root_pos, root_quat, joint_pos = convert_frames(frames, path, spec.joint_limits)
    note = f", resampled to {fps:.4g} fps" if resampled else ""
    return finish_clip(
        robot=spec,
        fps=fps,
        root_pos=root_pos,
        root_quat=root_quat,
        joint_pos=joint_pos,
        loop=check_loop(loop, "wrap" if file_loop == "wrap" else "clamp", str(path)),
        name=name or path.stem.removeprefix("humanoid3d_"),
        source=f"deepmimic_txt:{path.name}{note}",
        where=str(path),
    )

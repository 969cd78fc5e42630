"""Kinematic playback: a clip resampled at any frame rate, as MuJoCo ``qpos`` rows (numpy only).

Rendering at 30 fps a clip recorded at 60 fps (or 25) needs poses between the stored frames: root
positions and hinge angles are interpolated linearly, the root quaternion and ball joints by slerp.
This is the numpy twin of the torch interpolation in ``MotionLibrary``: offline tools (renderer,
checks, notebooks) use it without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mimic_lit.errors import MimicLitError
from mimic_lit.motion.clip import MotionClip

if TYPE_CHECKING:
    import mujoco


def quat_slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation of unit quaternions (N, 4) at fractions ``t`` (N,), shortest path."""
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.clip(np.abs(dot), 0.0, 1.0)
    theta = np.arccos(dot)
    sin_theta = np.sin(theta)
    t = t[:, None]
    small = sin_theta < 1e-6
    safe = np.where(small, 1.0, sin_theta)
    w0 = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(small, t, np.sin(t * theta) / safe)
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def output_times(clip: MotionClip, fps: float, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """Times (s) of the output frames: ``start, start + 1/fps, ...`` up to ``end`` (default: clip end)."""
    if fps <= 0:
        raise MimicLitError(f"--fps must be > 0, got {fps}")
    end = clip.duration if end is None else end
    if start < 0 or start > clip.duration:
        raise MimicLitError(f"--start {start} s is outside the clip (0 .. {clip.duration:.3f} s)")
    if end <= start:
        raise MimicLitError(f"--end ({end} s) must be after --start ({start} s)")
    end = min(end, clip.duration)
    n = int(np.floor((end - start) * fps + 1e-9)) + 1
    return start + np.arange(n) / fps


def ball_joint_columns(model: mujoco.MjModel) -> list[int]:
    """First ``qpos`` column of each ball joint (4 quaternion entries), excluding the free root."""
    import mujoco

    return [int(model.jnt_qposadr[j]) for j in range(model.njnt) if int(model.jnt_type[j]) == int(mujoco.mjtJoint.mjJNT_BALL)]


def sample_qpos(clip: MotionClip, times: np.ndarray, ball_columns: list[int] | tuple[int, ...] = ()) -> np.ndarray:
    """(N, 7 + D) ``qpos`` of ``clip`` at ``times`` (seconds, clamped to the clip).

    Linear interpolation everywhere except the root quaternion (columns 3:7) and the ball joints
    starting at ``ball_columns`` (use :func:`ball_joint_columns`), which are slerped.
    """
    qpos = clip.qpos
    T = qpos.shape[0]
    f = np.clip(np.asarray(times, dtype=np.float64) * clip.fps, 0.0, T - 1)
    i0 = np.floor(f).astype(int)
    i1 = np.minimum(i0 + 1, T - 1)
    a = f - i0
    out = (1.0 - a)[:, None] * qpos[i0] + a[:, None] * qpos[i1]
    for c in (3, *ball_columns):
        out[:, c : c + 4] = quat_slerp(qpos[i0, c : c + 4], qpos[i1, c : c + 4], a)
    return out

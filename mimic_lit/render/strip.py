"""A filmstrip: several poses of a robot rendered side by side in one image, for notebooks and docs
where a still picture reads faster than a video."""

from __future__ import annotations

import numpy as np

from mimic_lit.motion.clip import MotionClip
from mimic_lit.render.camera import camera_path
from mimic_lit.render.playback import ball_joint_columns, sample_qpos
from mimic_lit.render.renderer import MotionRenderer
from mimic_lit.robots import RobotSpec, get_robot

__all__ = ["filmstrip", "qpos_filmstrip"]


def qpos_filmstrip(
    robot: str | RobotSpec,
    qpos: np.ndarray,
    width: int = 240,
    height: int = 240,
    quality: str = "fast",
    rows: list[np.ndarray] | None = None,
) -> np.ndarray:
    """(height * R, width * F, 3) uint8 image: the F poses ``qpos`` (F, nq) side by side, seen by
    one fixed camera that frames them all; ``rows`` adds more (F, nq) pose rows below (e.g. the
    reference under the policy), seen by the same camera."""
    spec = get_robot(robot)
    every = [np.asarray(qpos)] + [np.asarray(r) for r in rows or []]
    stacked = np.concatenate(every)
    # One viewing direction for all panels (from the side of the mean heading), each panel centred
    # on its own pose at a distance that fits the robot's height.
    azimuth = camera_path(stacked[:, :3], stacked[:, 3:7], fps=1.0, mode="fixed").azimuth
    distance, height_at = 3.4 * spec.default_root_height, 0.75 * spec.default_root_height
    lines = []
    with MotionRenderer(spec, width, height, quality) as renderer:  # type: ignore[arg-type]
        for poses in every:
            frames = [renderer.render(q, np.r_[q[:2], height_at], distance, azimuth, -12.0) for q in poses]
            lines.append(np.concatenate(frames, axis=1))
    return np.concatenate(lines, axis=0)


def filmstrip(
    clip: MotionClip, times: list[float] | np.ndarray | None = None, frames: int = 5, **kwargs
) -> np.ndarray:
    """Filmstrip of ``clip`` at ``times`` (s; default ``frames`` evenly spread over the clip), each
    pose centred in its own panel; keyword arguments go to :func:`qpos_filmstrip`."""
    if times is None:
        times = np.linspace(0.0, clip.duration, frames)
    spec = get_robot(clip.robot)
    qpos = sample_qpos(clip, np.asarray(times, dtype=np.float64), ball_joint_columns(spec.model))
    return qpos_filmstrip(clip.robot, qpos, **kwargs)

"""Camera paths for rendering a moving robot: a smooth tracking shot or a fixed wide shot.

The whole clip is known before rendering, so the tracking camera follows a zero-lag smoothed root
trajectory (a Gaussian filter over the root's horizontal path) instead of a laggy online filter: the
robot stays centred while the camera ignores the sway of each step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

CameraMode = Literal["track", "fixed"]
CAMERA_MODES: tuple[str, ...] = ("track", "fixed")


@dataclass
class CameraPath:
    """Free-camera parameters per output frame (MuJoCo ``mjvCamera`` conventions, degrees)."""

    lookat: np.ndarray  # (N, 3)
    distance: float
    azimuth: float
    elevation: float


def smooth_path(xy: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian-smoothed copy of an (N, k) path; edges are padded by repeating the end points."""
    if sigma_frames <= 0 or xy.shape[0] < 2:
        return xy.copy()
    radius = int(np.ceil(3 * sigma_frames))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
    k /= k.sum()
    padded = np.concatenate([np.repeat(xy[:1], radius, 0), xy, np.repeat(xy[-1:], radius, 0)])
    return np.stack([np.convolve(padded[:, c], k, mode="valid") for c in range(xy.shape[1])], axis=1)


def _heading_deg(root_pos: np.ndarray, root_quat: np.ndarray) -> float:
    """Direction of travel (deg, about z); the initial facing direction if the robot stays in place."""
    disp = root_pos[-1, :2] - root_pos[0, :2]
    if np.linalg.norm(disp) > 0.25:
        return float(np.degrees(np.arctan2(disp[1], disp[0])))
    w, x, y, z = root_quat[0]
    return float(np.degrees(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))))


def camera_path(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    fps: float,
    mode: CameraMode = "track",
    aspect: float = 4 / 3,
    fovy_deg: float = 45.0,
    smoothing_s: float = 0.5,
    include: np.ndarray | None = None,
) -> CameraPath:
    """Camera for frames with root positions ``root_pos`` (N, 3) and orientations ``root_quat`` (N, 4).

    The view is a three-quarter front view of the direction of travel, slightly from above, at a
    distance scaled to the robot's size (estimated from its median root height). A ``"fixed"``
    camera also keeps the ground points ``include`` (M, 2) in view (a goal, a target).
    """
    if mode not in CAMERA_MODES:
        raise ValueError(f"camera mode must be one of {CAMERA_MODES}, got {mode!r}")
    root_h = float(np.median(root_pos[:, 2]))
    size = max(root_h, 0.3)
    z = 0.8 * size
    distance = 2.8 * size
    azimuth = _heading_deg(root_pos, root_quat) + 105.0
    elevation = -12.0
    if mode == "track":
        xy = smooth_path(root_pos[:, :2], smoothing_s * fps)
        lookat = np.column_stack([xy, np.full(len(xy), z)])
    else:
        points = root_pos[:, :2] if include is None else np.concatenate([root_pos[:, :2], np.asarray(include)[:, :2]])
        lo, hi = points.min(0), points.max(0)
        centre = 0.5 * (lo + hi)
        # Distance that fits the whole path across the image, with a robot-sized margin.
        az = np.radians(azimuth)
        forward = np.array([np.cos(az), np.sin(az)])  # horizontal viewing direction
        right = np.array([np.sin(az), -np.cos(az)])
        half_span = 0.5 * float(np.ptp(points @ right)) + 1.0 * size
        half_depth = 0.5 * float(np.ptp(points @ forward))
        tan_half_fovx = aspect * np.tan(np.radians(fovy_deg) / 2)
        distance = max(distance, half_span / tan_half_fovx + half_depth)
        lookat = np.tile([centre[0], centre[1], z], (root_pos.shape[0], 1))
    return CameraPath(lookat=lookat, distance=distance, azimuth=azimuth, elevation=elevation)

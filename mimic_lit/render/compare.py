"""Side-by-side videos of several pose sequences of one robot, e.g. a policy beside its reference.

Each panel is rendered with its own tracking camera (so a robot that falls behind stays in view) but
all panels share the viewing direction and distance, so poses are directly comparable. A label is
drawn in each panel's corner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mimic_lit.errors import MimicLitError
from mimic_lit.render.camera import CameraMode, CameraPath, camera_path
from mimic_lit.render.renderer import MotionRenderer, RenderQuality, RenderResult
from mimic_lit.render.video import check_output_path, write_video
from mimic_lit.robots import RobotSpec, get_robot

if TYPE_CHECKING:
    from mimic_lit.sim.base import BallConfig


def draw_label(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` with ``text`` in its top-left corner (white on a dark box, readable on any floor)."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    size = max(10, image.shape[0] // 22)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        font = ImageFont.load_default()
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(3, size // 3)
    draw.rectangle((0, 0, right - left + 2 * pad, bottom - top + 2 * pad), fill=(20, 20, 20))
    draw.text((pad - left, pad - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(img)


def render_side_by_side(
    panels: Sequence[tuple[str, np.ndarray]],
    out: str | Path,
    robot: str | RobotSpec,
    fps: float,
    *,
    width: int = 480,
    height: int = 360,
    camera: CameraMode = "track",
    quality: RenderQuality = "high",
    overwrite: bool = False,
    gif_colors: int = 128,
    progress: Callable[[int, int], None] | None = None,
    ball: BallConfig | None = None,
    markers: Sequence[np.ndarray | None] | None = None,
) -> RenderResult:
    """Render ``panels`` (label, qpos (T, nq)), all of the same length, next to each other into
    ``out`` (``.mp4`` or ``.gif``); each panel is ``width`` x ``height`` pixels.

    With ``ball`` a panel's poses may end with the ball's 7 coordinates (panels without them show
    no ball); ``markers`` gives per panel ``None`` or (T, 3) floor discs (x, y, radius) to draw.
    """
    path = check_output_path(out, overwrite=overwrite)
    if not panels:
        raise MimicLitError("nothing to render: no panels")
    lengths = {q.shape[0] for _, q in panels}
    if len(lengths) != 1 or 0 in lengths:
        raise MimicLitError(f"panels must have the same, non-zero number of frames, got {sorted(lengths)}")
    is_mp4 = path.suffix.lower() == ".mp4"
    if is_mp4 and (width % 2 or height % 2):
        raise MimicLitError(f"MP4 needs an even width and height, got {width}x{height}")
    spec = get_robot(robot)
    n = lengths.pop()
    markers = list(markers) if markers is not None else [None] * len(panels)
    if len(markers) != len(panels) or any(m is not None and np.shape(m) != (n, 3) for m in markers):
        raise MimicLitError(f"markers must give, per panel, None or an array of shape ({n}, 3)")
    t0 = time.perf_counter()
    with MotionRenderer(spec, width, height, quality, ball=ball) as renderer:
        for _, q in panels:
            if q.shape[1] not in (renderer.robot_nq, renderer.model.nq):
                raise MimicLitError(f"poses have {q.shape[1]} coordinates, {spec.name} has {renderer.robot_nq}")
        # Shared view direction and distance (from the last panel, the reference by convention).
        base = camera_path(panels[-1][1][:, :3], panels[-1][1][:, 3:7], fps, camera, aspect=width / height)
        cams: list[CameraPath] = []
        for (_, q), m in zip(panels, markers):
            if m is not None:  # a goal on the floor: a fixed view that holds the robot's path and the goal
                cams.append(camera_path(q[:, :3], q[:, 3:7], fps, "fixed", aspect=width / height, include=m[:, :2]))
                continue
            own = camera_path(q[:, :3], q[:, 3:7], fps, camera, aspect=width / height)
            cams.append(CameraPath(own.lookat, base.distance, base.azimuth, base.elevation))

        def frame(i: int) -> np.ndarray:
            images = [
                draw_label(
                    renderer.render(
                        q[i], cam.lookat[i], cam.distance, cam.azimuth, cam.elevation, None if m is None else m[i]
                    ),
                    label,
                )
                for (label, q), cam, m in zip(panels, cams, markers)
            ]
            return np.concatenate(images, axis=1)

        count = write_video(frame, n, path, fps, gif_colors=gif_colors, progress=progress)
        backend = renderer.backend
    return RenderResult(path, count, fps, time.perf_counter() - t0, path.stat().st_size, backend)

"""Side-by-side videos of several pose sequences of one robot, e.g. a policy beside its reference.

Each panel is rendered with its own tracking camera (so a robot that falls behind stays in view) but
all panels share the viewing direction and distance, so poses are directly comparable. A label is
drawn in each panel's corner, and a colour key of the arrows a panel shows (a velocity command) in
another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mimic_lit.errors import MimicLitError
from mimic_lit.render.arrows import arrow_colour, arrow_view
from mimic_lit.render.camera import CameraMode, CameraPath, camera_path
from mimic_lit.render.renderer import MotionRenderer, RenderQuality, RenderResult
from mimic_lit.render.video import check_output_path, write_video
from mimic_lit.robots import RobotSpec, get_robot

if TYPE_CHECKING:
    from mimic_lit.sim.base import BallConfig


def label_font(height: int):
    """(Pillow font, its size in pixels) for text on an image ``height`` pixels high."""
    from PIL import ImageFont

    size = max(10, height // 22)
    try:
        return ImageFont.load_default(size=size), size
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default(), size


def draw_label(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` with ``text`` in its top-left corner (white on a dark box, readable on any floor)."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    font, size = label_font(image.shape[0])
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(3, size // 3)
    draw.rectangle((0, 0, right - left + 2 * pad, bottom - top + 2 * pad), fill=(20, 20, 20))
    draw.text((pad - left, pad - top), text, fill=(255, 255, 255), font=font)
    return np.asarray(img)


def draw_legend(image: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """``image`` with a colour key of the arrow ``labels`` in its bottom-left corner (one line each)."""
    if not labels:
        return image
    from PIL import Image, ImageDraw

    img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    font, size = label_font(image.shape[0])
    pad = max(3, size // 3)
    boxes = [draw.textbbox((0, 0), text, font=font) for text in labels]
    line = max(b[3] - b[1] for b in boxes) + pad
    width = max(b[2] - b[0] for b in boxes) + 3 * pad + size
    top = image.shape[0] - len(labels) * line - pad
    draw.rectangle((0, top, width, image.shape[0]), fill=(20, 20, 20))
    for i, (text, box) in enumerate(zip(labels, boxes)):
        y = top + pad // 2 + i * line
        colour = tuple(int(255 * c) for c in arrow_colour(text))
        draw.rectangle((pad, y + pad // 2, pad + size, y + line - pad // 2), fill=colour)
        draw.text((2 * pad + size - box[0], y + pad // 2 - box[1]), text, fill=(255, 255, 255), font=font)
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
    arrows: Sequence[dict[str, np.ndarray] | None] | None = None,
) -> RenderResult:
    """Render ``panels`` (label, qpos (T, nq)), all of the same length, next to each other into
    ``out`` (``.mp4`` or ``.gif``); each panel is ``width`` x ``height`` pixels.

    With ``ball`` a panel's poses may end with the ball's 7 coordinates (panels without them show
    no ball); ``markers`` gives per panel ``None`` or (T, 3) floor discs (x, y, radius) to draw;
    ``arrows`` per panel ``None`` or arrows by label, each (T, K, 3) world points of a path with its
    head at the last point (NaN ones are not drawn), drawn in the label's colour with a colour key.
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
    arrows = [a or {} for a in arrows] if arrows is not None else [{}] * len(panels)
    shapes = [np.shape(a) for p in arrows for a in p.values()]
    if len(arrows) != len(panels) or any(len(s) != 3 or s[0] != n or s[1] < 2 or s[2] != 3 for s in shapes):
        raise MimicLitError(f"arrows must give, per panel, None or arrays of shape ({n}, K >= 2, 3) by label")
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
        if any(arrows):  # arrows lie on the floor around the robot: a view from higher up (all panels alike)
            cams = [arrow_view(c) for c in cams]

        def frame(i: int) -> np.ndarray:
            images = [
                draw_legend(
                    draw_label(
                        renderer.render(
                            q[i], cam.lookat[i], cam.distance, cam.azimuth, cam.elevation, None if m is None else m[i],
                            [(name, a[i]) for name, a in arr.items()],
                        ),
                        label,
                    ),
                    list(arr),
                )
                for (label, q), cam, m, arr in zip(panels, cams, markers, arrows)
            ]
            return np.concatenate(images, axis=1)

        count = write_video(frame, n, path, fps, gif_colors=gif_colors, progress=progress)
        backend = renderer.backend
    return RenderResult(path, count, fps, time.perf_counter() - t0, path.stat().st_size, backend)

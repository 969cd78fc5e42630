"""Arrows in a rendered scene (a goal's velocity command, the robot's velocity): their geoms,
their colours and the camera view that shows them.

A goal reports arrows by label (:meth:`mimic_lit.envs.tasks.base.Goal.arrows`), each a path of
world points; it is drawn as a shaft of capsules with MuJoCo's arrow geom as its head. Each label
has one colour in every frame and panel: the shipped labels have fixed colours (a command orange
and yellow, the robot's actual motion blue and cyan), any other label a colour picked from its
name. The colour key is drawn by :func:`mimic_lit.render.compare.draw_legend`.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from mimic_lit.render.camera import CameraPath

#: Colours (r, g, b in [0, 1]) of the labels the shipped goals draw.
ARROW_COLOURS: dict[str, tuple[float, float, float]] = {
    "command": (1.0, 0.45, 0.0),
    "velocity": (0.15, 0.4, 1.0),
    "turn command": (1.0, 0.9, 0.0),
    "turning": (0.0, 0.9, 0.9),
}
#: Colours of other labels (no green: the goal disc is green).
_OTHER_COLOURS: tuple[tuple[float, float, float], ...] = (
    (0.85, 0.2, 0.85), (0.9, 0.15, 0.2), (0.55, 0.35, 0.15), (0.5, 0.5, 0.55), (0.6, 0.4, 1.0),
)
#: Shaft radius (m) of an arrow, and the length (m) of the straight piece that carries its head
#: (MuJoCo's arrow geom makes the head a quarter of its length); arrows shorter than
#: ``_MIN_LENGTH`` (m) are not drawn.
ARROW_WIDTH, HEAD_PIECE, _MIN_LENGTH = 0.03, 0.2, 0.02
#: Camera of videos with arrows: higher (elevation, deg), farther (distance factor) and aimed lower
#: (look-at height factor) than the default view, so the floor a metre around the robot shows.
ARROW_ELEVATION, ARROW_DISTANCE, ARROW_LOOKAT_HEIGHT = -40.0, 1.4, 0.5


def arrow_colour(label: str) -> tuple[float, float, float]:
    """The colour of ``label``: fixed for the shipped labels, otherwise the same for a name in every run."""
    if label in ARROW_COLOURS:
        return ARROW_COLOURS[label]
    return _OTHER_COLOURS[zlib.crc32(label.encode()) % len(_OTHER_COLOURS)]


def arrow_view(cam: CameraPath) -> CameraPath:
    """``cam`` seen from higher, farther and aimed lower: the view of a video with arrows on the floor."""
    lookat = cam.lookat.copy()
    lookat[:, 2] *= ARROW_LOOKAT_HEIGHT
    return CameraPath(lookat, cam.distance * ARROW_DISTANCE, cam.azimuth, ARROW_ELEVATION)


Segment = tuple[np.ndarray, np.ndarray]  # (3,) start and end points


def arrow_pieces(path: np.ndarray) -> tuple[list[Segment], Segment | None]:
    """Split a path (K, 3) into shaft segments and the straight piece ending at its last point that
    carries the head (at most :data:`HEAD_PIECE` long); no piece at all for a short or non-finite path."""
    path = np.asarray(path, dtype=np.float64)
    if not np.all(np.isfinite(path)):
        return [], None
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    total = float(steps.sum())
    if total < _MIN_LENGTH:
        return [], None
    # The head piece starts where the remaining path is HEAD_PIECE long.
    cut = max(total - HEAD_PIECE, 0.0)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    i = min(int(np.searchsorted(along, cut, side="right")) - 1, len(steps) - 1)
    frac = (cut - along[i]) / steps[i] if steps[i] > 0 else 0.0
    cut_point = path[i] + frac * (path[i + 1] - path[i])
    points = [*path[: i + 1], cut_point]
    shaft = [(a, b) for a, b in zip(points[:-1], points[1:]) if np.linalg.norm(b - a) > 1e-6]
    return shaft, (cut_point, path[-1])


def add_arrows(mj, scene, arrows: Sequence[tuple[str, np.ndarray]]) -> None:
    """Append to an updated ``mjvScene`` an arrow per (label, (K, 3) world points): a shaft of
    capsules along the points and a head at the last one; short or non-finite ones (a label
    missing at this step) are skipped."""
    for label, path in arrows:
        shaft, head = arrow_pieces(path)
        if head is None:
            continue
        rgba = np.array([*arrow_colour(label), 1.0], dtype=np.float32)
        pieces = [(int(mj.mjtGeom.mjGEOM_CAPSULE), a, b) for a, b in shaft] + [(int(mj.mjtGeom.mjGEOM_ARROW), *head)]
        for kind, a, b in pieces:
            if scene.ngeom >= scene.maxgeom:
                return
            geom = scene.geoms[scene.ngeom]
            mj.mjv_initGeom(geom, kind, np.zeros(3), np.zeros(3), np.eye(3).ravel(), rgba)
            mj.mjv_connector(geom, kind, ARROW_WIDTH, a, b)
            scene.ngeom += 1


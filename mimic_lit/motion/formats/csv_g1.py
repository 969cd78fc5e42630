""" "qpos CSV" clips: one frame per row, root position (3), root quaternion (4), then the joint angles.

The layout is the same across the G1 sources, but the quaternion order and frame rate are not written
in the file and differ by source (checked by forward kinematics: the wrong order turns the robot
upside down). Named layouts carry the known combinations; otherwise pass ``quat_order`` and ``fps``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mimic_lit.errors import MotionFormatError
from mimic_lit.motion.formats._common import (
    as_fps,
    check_loop,
    finish_clip,
    require_file,
    resolve_robot,
    xyzw_to_wxyz,
)

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip


@dataclass(frozen=True)
class CsvLayout:
    """A known CSV flavour: which robots it is for, its quaternion order and frame rate (None: ask)."""

    robots: tuple[str, ...]
    quat_order: str
    fps: float | None
    description: str


LAYOUTS: dict[str, CsvLayout] = {
    "protomotions": CsvLayout(("g1",), "wxyz", 30.0, "ProtoMotions / Kimodo G1 CSV: quat w,x,y,z, 30 fps"),
    "g1_moves": CsvLayout(("g1",), "xyzw", 60.0, "G1 Moves CSV: quat x,y,z,w, 60 fps"),
    "beyondmimic": CsvLayout(("g1",), "xyzw", 30.0, "BeyondMimic / mjlab csv_to_npz input: quat x,y,z,w, 30 fps"),
    "booster": CsvLayout(
        ("k1", "t1"), "xyzw", None, "Booster K1/T1 CSV: quat x,y,z,w; fps is 30 or 50 per file, pass fps="
    ),
}
QUAT_ORDERS = ("wxyz", "xyzw")


def _parse_rows(path: Path, text: str) -> np.ndarray:
    """Numbers of a comma-separated file as a (rows, columns) array; skips one header line and # comments."""
    lines = [(i + 1, ln) for i, ln in enumerate(text.splitlines()) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise MotionFormatError(f"'{path}': CSV file has no rows")
    rows = [ln.split(",") for _, ln in lines]
    try:
        [float(v) for v in rows[0]]
    except ValueError:  # a header line (column names): skip it
        lines, rows = lines[1:], rows[1:]
        if not rows:
            raise MotionFormatError(f"'{path}': CSV file has a header but no data rows") from None
    widths = np.array([len(r) for r in rows])
    if (widths != widths[0]).any():
        k = int(np.argmax(widths != widths[0]))
        raise MotionFormatError(
            f"'{path}': line {lines[k][0]} has {widths[k]} columns but line {lines[0][0]} has {widths[0]}"
        )
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        for (lineno, _), row in zip(lines, rows, strict=True):
            for j, v in enumerate(row):
                try:
                    float(v)
                except ValueError:
                    raise MotionFormatError(
                        f"'{path}': line {lineno}, column {j + 1}: {v.strip()!r} is not a number"
                    ) from None
        raise


def load_qpos_csv(
    path: str | os.PathLike,
    robot: str | None = None,
    *,
    layout: str | None = None,
    quat_order: str | None = None,
    fps: float | None = None,
    loop: str | None = None,
    name: str | None = None,
) -> "MotionClip":
    """Read a qpos CSV (root xyz, root quat, joints in the robot's MJCF order) as a validated clip.

    ``layout`` picks a known flavour (:data:`LAYOUTS`); ``quat_order`` and ``fps`` override it or, with
    no layout, are required. The robot defaults to the layout's first robot.
    """
    path = require_file(path)
    where = str(path)
    preset = None
    if layout is not None:
        preset = LAYOUTS.get(layout)
        if preset is None:
            raise MotionFormatError(f"'{where}': unknown CSV layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    spec = resolve_robot(
        robot, where, allowed=preset.robots if preset else None, default=preset.robots[0] if preset else None
    )
    order = quat_order or (preset.quat_order if preset else None)
    rate = fps if fps is not None else (preset.fps if preset else None)
    if order is None or rate is None:
        missing = " and ".join(n for n, v in (("quat_order", order), ("fps", rate)) if v is None)
        raise MotionFormatError(
            f"'{where}': CSV files do not record their {missing}; pass layout= (one of {', '.join(LAYOUTS)})"
            f" or {missing}= (e.g. --layout g1_moves, or --fps 30)"
        )
    if order not in QUAT_ORDERS:
        raise MotionFormatError(f"'{where}': quat_order must be 'wxyz' or 'xyzw', got {order!r}")
    rate = as_fps(rate, "fps", where)

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MotionFormatError(f"'{where}': not a text CSV file") from None
    data = _parse_rows(path, text)
    expected = 7 + spec.num_joint_coords
    if data.shape[1] != expected:
        what = f"layout '{layout}'" if layout else "a qpos CSV"
        raise MotionFormatError(
            f"'{where}': rows have {data.shape[1]} columns but {what} for robot '{spec.name}' needs {expected}"
            f" (root pos 3 + root quat 4 ({order}) + {spec.num_joint_coords} joints)"
        )
    bad = ~np.isfinite(data)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad)[0])
        raise MotionFormatError(f"'{where}': data row {r + 1}, column {c + 1} is NaN or inf")
    quat = data[:, 3:7] if order == "wxyz" else xyzw_to_wxyz(data[:, 3:7])
    norms = np.linalg.norm(quat, axis=1)
    if (np.abs(norms - 1.0) > 1e-3).any():
        r = int(np.argmax(np.abs(norms - 1.0) > 1e-3))
        raise MotionFormatError(
            f"'{where}': data row {r + 1}: root quaternion (columns 4-7) has norm {norms[r]:.4f}, expected 1"
        )
    return finish_clip(
        robot=spec,
        fps=rate,
        root_pos=data[:, :3],
        root_quat=quat,
        joint_pos=data[:, 7:],
        loop=check_loop(loop, "clamp", where),
        name=name or path.stem,
        source=f"csv:{path.name} (layout {layout or 'custom'}, quat {order}, {rate:g} fps)",
        where=where,
    )

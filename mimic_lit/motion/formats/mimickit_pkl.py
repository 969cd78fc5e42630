"""MimicKit motion ``.pkl`` files: ``{"loop_mode": 0|1, "fps": n, "frames": [[...], ...]}``, read and written.

A frame is ``[root pos (3), root rotation as exp-map (3), joint DoFs in MJCF body order]`` where a body
with one hinge contributes its angle and a body with three hinges (a spherical joint, as in the
DeepMimic humanoid) contributes the exp-map of their combined rotation. Loop mode 0 = clamp, 1 = wrap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mimic_lit.errors import MotionFormatError
from mimic_lit.motion.formats._common import (
    write_pickle,
    as_float_array,
    as_fps,
    check_loop,
    finish_clip,
    infer_robot,
    require_file,
    resolve_robot,
)

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.robots.spec import RobotSpec

MIMICKIT_KEYS = ("loop_mode", "fps", "frames")


@dataclass(frozen=True)
class DofGroup:
    """One body's joints: its columns in ``joint_pos`` and in a MimicKit frame (after the 6 root values)."""

    body: str
    qpos_start: int
    mk_start: int
    kind: str  # "hinge" (1 angle) or "sphere" (3 hinges <-> 3 exp-map values)
    axes: str = ""  # hinge axis letters of a sphere group, in joint order (e.g. "xyz")


def dof_groups(spec: "RobotSpec") -> list[DofGroup]:
    """Group the robot's hinges by body as MimicKit does (1 hinge: angle; 3 hinges: spherical joint)."""
    import mujoco

    m = spec.model
    groups: list[DofGroup] = []
    q, k = 0, 0
    for b in range(1, m.nbody):
        jids = [
            j
            for j in range(m.body_jntadr[b], m.body_jntadr[b] + m.body_jntnum[b])
            if m.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE
        ]
        if not jids:
            continue
        body = mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, b)
        if any(m.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE for j in jids) or len(jids) not in (1, 3):
            raise MotionFormatError(
                f"robot '{spec.name}': body '{body}' has joints MimicKit's format cannot hold (1 or 3 hinges only)"
            )
        if len(jids) == 1:
            groups.append(DofGroup(body, q, k, "hinge"))
            q, k = q + 1, k + 1
            continue
        letters = ""
        for j in jids:
            axis = np.round(m.jnt_axis[j], 9)
            hit = [i for i in range(3) if abs(axis[i]) == 1.0 and axis[i] > 0]
            if len(hit) != 1:
                raise MotionFormatError(
                    f"robot '{spec.name}': body '{body}' has a hinge axis {axis} that is not +x/+y/+z"
                )
            letters += "xyz"[hit[0]]
        if len(set(letters)) != 3:
            raise MotionFormatError(
                f"robot '{spec.name}': body '{body}' hinge axes {letters} are not three distinct axes"
            )
        groups.append(DofGroup(body, q, k, "sphere", letters))
        q, k = q + 3, k + 3
    if q != spec.num_joint_coords:
        raise MotionFormatError(f"robot '{spec.name}': joints are not in body order; cannot map to MimicKit DoFs")
    return groups


def is_mimickit_dict(obj: Any) -> bool:
    """Whether an unpickled object looks like a MimicKit motion."""
    return isinstance(obj, dict) and "frames" in obj and "fps" in obj


def clip_from_mimickit_dict(
    obj: dict, where: str, robot: "str | RobotSpec | None", *, loop: str | None = None, name: str | None = None
) -> "MotionClip":
    """Convert an unpickled MimicKit motion dict to a validated clip (``robot=None``: inferred from the DoF count)."""
    import torch

    from mimic_lit.motion.formats._euler import hinge_triple_angles
    from mimic_lit.rotations import exp_map_to_quat

    for k in MIMICKIT_KEYS:
        if k not in obj:
            raise MotionFormatError(f"'{where}': missing field '{k}' (MimicKit motion)")
    frames = as_float_array(obj["frames"], "frames", where)
    if robot is None:
        spec = infer_robot(frames.shape[1] - 6, where, "each MimicKit frame (after 6 root values)")
    else:
        spec = resolve_robot(robot, where)
    expected = 6 + spec.num_joint_coords
    if frames.shape[1] != expected:
        raise MotionFormatError(
            f"'{where}': field 'frames' has {frames.shape[1]} values per frame but robot '{spec.name}' needs {expected}"
            " (root pos 3 + root exp-map 3 + joint DoFs)"
        )
    try:
        loop_mode = int(obj["loop_mode"])
    except (TypeError, ValueError):
        raise MotionFormatError(
            f"'{where}': field 'loop_mode' must be 0 (clamp) or 1 (wrap), got {obj['loop_mode']!r}"
        ) from None
    if loop_mode not in (0, 1):
        raise MotionFormatError(f"'{where}': field 'loop_mode' must be 0 (clamp) or 1 (wrap), got {loop_mode}")

    dofs = frames[:, 6:]
    joints = np.empty((len(frames), spec.num_joint_coords))
    limits = spec.joint_limits
    for g in dof_groups(spec):
        if g.kind == "hinge":
            joints[:, g.qpos_start] = dofs[:, g.mk_start]
            continue
        quat = exp_map_to_quat(torch.from_numpy(dofs[:, g.mk_start : g.mk_start + 3]))
        lim = limits[g.qpos_start : g.qpos_start + 3]
        joints[:, g.qpos_start : g.qpos_start + 3] = hinge_triple_angles(quat, g.axes, lim[:, 0], lim[:, 1])
    root_quat = exp_map_to_quat(torch.from_numpy(frames[:, 3:6])).numpy()
    return finish_clip(
        robot=spec,
        fps=as_fps(obj["fps"], "fps", where),
        root_pos=frames[:, :3],
        root_quat=root_quat,
        joint_pos=joints,
        loop=check_loop(loop, "wrap" if loop_mode == 1 else "clamp", where),
        name=name or Path(where).stem,
        source=f"mimickit_pkl:{Path(where).name}",
        where=where,
    )


def load_mimickit_pkl(
    path: str | os.PathLike, robot: "str | RobotSpec | None" = None, *, loop: str | None = None, name: str | None = None
) -> "MotionClip":
    """Read a MimicKit ``.pkl`` motion (restricted unpickler) as a validated clip of ``robot``."""
    from mimic_lit.motion.formats.safe_pickle import safe_load_any

    path = require_file(path)
    obj = safe_load_any(path)
    if not is_mimickit_dict(obj):
        raise MotionFormatError(f"'{path}': not a MimicKit motion (expected a dict with {', '.join(MIMICKIT_KEYS)})")
    return clip_from_mimickit_dict(obj, str(path), robot, loop=loop, name=name)


def mimickit_frames(clip: "MotionClip", robot: "str | RobotSpec | None" = None) -> np.ndarray:
    """(T, 6 + DoF) MimicKit frames of ``clip``: root pos, root exp-map, per-body angles or exp-maps."""
    import torch

    from mimic_lit.rotations import quat_from_euler_intrinsic, quat_to_exp_map

    spec = resolve_robot(robot or clip.robot or None, clip.name or "<clip>")
    clip.validate(spec)
    out = np.empty((clip.num_frames, 6 + spec.num_joint_coords))
    out[:, :3] = clip.root_pos
    out[:, 3:6] = quat_to_exp_map(torch.from_numpy(clip.root_quat)).numpy()
    dofs = out[:, 6:]
    for g in dof_groups(spec):
        if g.kind == "hinge":
            dofs[:, g.mk_start] = clip.joint_pos[:, g.qpos_start]
            continue
        quat = quat_from_euler_intrinsic(torch.from_numpy(clip.joint_pos[:, g.qpos_start : g.qpos_start + 3]), g.axes)
        dofs[:, g.mk_start : g.mk_start + 3] = quat_to_exp_map(quat).numpy()
    return out


def save_mimickit_pkl(
    clip: "MotionClip", path: str | os.PathLike, robot: "str | RobotSpec | None" = None, *, overwrite: bool = True
) -> Path:
    """Write ``clip`` as a MimicKit ``.pkl`` (plain dict of Python lists and numbers), atomically."""
    frames = mimickit_frames(clip, robot)
    fps = float(clip.fps)
    payload = {
        "loop_mode": 1 if clip.loop == "wrap" else 0,
        "fps": int(fps) if fps.is_integer() else fps,
        "frames": frames.tolist(),
    }
    return write_pickle(payload, path, overwrite=overwrite)

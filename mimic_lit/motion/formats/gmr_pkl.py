"""GMR (General Motion Retargeting) output pickles: ``{fps, root_pos, root_rot (x,y,z,w), dof_pos, ...}``.

``dof_pos`` is in the robot MJCF's joint order. ``local_body_pos``/``link_body_list`` and extra keys
of forks (``foot_ground_contact_flags``, provenance fields) are ignored; a ``robot`` key such as
``unitree_g1`` or ``booster_k1`` names the robot when the caller does not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mimic_lit.errors import MotionFormatError
from mimic_lit.motion.formats._common import (
    as_float_array,
    as_fps,
    check_loop,
    finish_clip,
    infer_robot,
    require_file,
    resolve_robot,
    xyzw_to_wxyz,
)

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.robots.spec import RobotSpec

GMR_KEYS = ("fps", "root_pos", "root_rot", "dof_pos")
def _gmr_robot_names() -> dict[str, str]:
    """GMR's robot name -> ours, from the registered robots' ``format_names["gmr"]``."""
    from mimic_lit.robots import get_robot, robot_names

    return {get_robot(n).format_names["gmr"]: n for n in robot_names() if "gmr" in get_robot(n).format_names}


def is_gmr_dict(obj: Any) -> bool:
    """Whether an unpickled object looks like a GMR motion."""
    return isinstance(obj, dict) and all(k in obj for k in ("root_pos", "root_rot", "dof_pos"))


def clip_from_gmr_dict(
    obj: dict, where: str, robot: "str | RobotSpec | None" = None, *, loop: str | None = None, name: str | None = None
) -> "MotionClip":
    """Convert an unpickled GMR dict to a validated clip (robot: argument, then file, then DoF count)."""
    for k in GMR_KEYS:
        if k not in obj:
            raise MotionFormatError(f"'{where}': missing field '{k}' (GMR motion)")
    pos = as_float_array(obj["root_pos"], "root_pos", where, cols=3)
    quat = as_float_array(obj["root_rot"], "root_rot", where, cols=4)
    dof = as_float_array(obj["dof_pos"], "dof_pos", where)
    if robot is None and isinstance(obj.get("robot"), str):
        robot = _gmr_robot_names().get(obj["robot"], obj["robot"])
    spec = infer_robot(dof.shape[1], where, "field 'dof_pos'") if robot is None else resolve_robot(robot, where)
    if dof.shape[1] != spec.num_joint_coords:
        raise MotionFormatError(
            f"'{where}': field 'dof_pos' has {dof.shape[1]} joint values per frame but robot '{spec.name}' has "
            f"{spec.num_joint_coords}"
        )
    if not (len(pos) == len(quat) == len(dof)):
        raise MotionFormatError(
            f"'{where}': fields disagree on the frame count "
            f"(root_pos {len(pos)}, root_rot {len(quat)}, dof_pos {len(dof)})"
        )
    return finish_clip(
        robot=spec,
        fps=as_fps(obj["fps"], "fps", where),
        root_pos=pos,
        root_quat=xyzw_to_wxyz(quat),
        joint_pos=dof,
        loop=check_loop(loop, "clamp", where),
        name=name or Path(where).stem,
        source=f"gmr_pkl:{Path(where).name}",
        where=where,
    )


def load_gmr_pkl(
    path: str | os.PathLike, robot: "str | RobotSpec | None" = None, *, loop: str | None = None, name: str | None = None
) -> "MotionClip":
    """Read a GMR ``.pkl`` with the restricted unpickler as a validated clip."""
    from mimic_lit.motion.formats.safe_pickle import safe_load_any

    path = require_file(path)
    obj = safe_load_any(path)
    if not is_gmr_dict(obj):
        raise MotionFormatError(f"'{path}': not a GMR motion (expected a dict with {', '.join(GMR_KEYS)})")
    return clip_from_gmr_dict(obj, str(path), robot, loop=loop, name=name)


def save_gmr_pkl(clip: "MotionClip", path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Write ``clip`` as a GMR output pickle (numpy arrays; root quaternion x, y, z, w), atomically.

    GMR's own tools read it; ``local_body_pos`` and ``link_body_list`` are ``None``, as GMR writes
    them when it does not store body positions. The robot is named the way GMR names it.
    """
    import numpy as np

    from mimic_lit.motion.formats._common import write_pickle

    gmr_names = {v: k for k, v in _gmr_robot_names().items()}
    q = np.asarray(clip.root_quat, dtype=np.float64)
    payload = {
        "fps": float(clip.fps),
        "root_pos": np.asarray(clip.root_pos, dtype=np.float64),
        "root_rot": np.concatenate([q[:, 1:], q[:, :1]], axis=1),  # w x y z -> x y z w
        "dof_pos": np.asarray(clip.joint_pos, dtype=np.float64),
        "local_body_pos": None,
        "link_body_list": None,
        "robot": gmr_names.get(clip.robot, clip.robot),
    }
    return write_pickle(payload, path, overwrite=overwrite)

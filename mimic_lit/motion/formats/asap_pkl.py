"""ASAP / HumanoidVerse / PHC "motion lib" pickles (``joblib.dump`` of ``{clip_name: {...}}``) for the G1.

Each clip holds ``root_trans_offset`` (N, 3) pelvis position (z up), ``root_rot`` (N, 4) quaternion
**x, y, z, w**, ``dof`` (N, 23) joint angles (the G1's 29 without the 6 wrist joints) and ``fps``.
Other keys (``pose_aa``, ``smpl_joints``, ``contact_mask``) are ignored. Read with the restricted
joblib unpickler, so a crafted file cannot run code.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from mimic_lit.errors import MotionFormatError
from mimic_lit.motion.formats._common import (
    as_float_array,
    as_fps,
    check_loop,
    finish_clip,
    require_file,
    resolve_robot,
    xyzw_to_wxyz,
)

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip

# Columns of the G1's 29 joints that the 23-DoF clips fill: legs, waist, left arm up to the elbow
# (0-18), right arm up to the elbow (22-25). The wrists (19-21, 26-28) are set to 0.
G1_23_TO_29 = np.array(list(range(19)) + [22, 23, 24, 25])


def is_asap_dict(obj: Any) -> bool:
    """Whether an unpickled object looks like an ASAP motion-lib dict of clips."""
    return (
        isinstance(obj, dict)
        and len(obj) > 0
        and all(isinstance(v, dict) and "dof" in v and "root_rot" in v for v in obj.values())
    )


def clip_from_asap_entry(
    entry: dict,
    key: str,
    *,
    where: str,
    robot: str | None = None,
    loop: str | None = None,
    name: str | None = None,
    source: str = "",
) -> "MotionClip":
    """Convert one ``{root_trans_offset, root_rot, dof, fps}`` entry to a validated G1 clip."""
    spec = resolve_robot(robot, where, allowed=("g1",), default="g1")
    at = f"{where} [{key}]"
    pos_key = "root_trans_offset" if "root_trans_offset" in entry else "root_trans"
    for k in (pos_key, "root_rot", "dof", "fps"):
        if k not in entry:
            raise MotionFormatError(f"'{at}': missing field '{k}'")
    pos = as_float_array(entry[pos_key], pos_key, at, cols=3)
    quat = as_float_array(entry["root_rot"], "root_rot", at, cols=4)
    dof = as_float_array(entry["dof"], "dof", at)
    if dof.shape[1] == 23:
        joints = np.zeros((len(dof), 29))
        joints[:, G1_23_TO_29] = dof
    elif dof.shape[1] == 29:
        joints = dof
    else:
        raise MotionFormatError(f"'{at}': field 'dof' has {dof.shape[1]} columns, expected 23 or 29 (G1)")
    if not (len(pos) == len(quat) == len(joints)):
        raise MotionFormatError(
            f"'{at}': fields disagree on the frame count ({pos_key} {len(pos)}, root_rot {len(quat)}, dof {len(dof)})"
        )
    return finish_clip(
        robot=spec,
        fps=as_fps(entry["fps"], "fps", at),
        root_pos=pos,
        root_quat=xyzw_to_wxyz(quat),
        joint_pos=joints,
        loop=check_loop(loop, "clamp", where),
        name=name or key,
        source=source or f"asap_pkl:{os.path.basename(where)}[{key}]",
        where=at,
    )


def read_asap_pkl(path: str | os.PathLike) -> dict:
    """The raw ``{clip_name: dict}`` of an ASAP pickle, read safely."""
    from mimic_lit.motion.formats.safe_pickle import safe_load_any

    path = require_file(path)
    obj = safe_load_any(path)
    if not is_asap_dict(obj):
        raise MotionFormatError(
            f"'{path}': not an ASAP motion pickle (expected {{clip_name: {{'dof', 'root_rot', ...}}}})"
        )
    return obj


def load_asap_pkl(
    path: str | os.PathLike,
    robot: str | None = None,
    *,
    key: str | None = None,
    loop: str | None = None,
    name: str | None = None,
) -> "MotionClip":
    """One clip of an ASAP pickle: ``key`` names it (required when the file holds several)."""
    return clip_from_asap_dict(read_asap_pkl(path), str(path), robot=robot, key=key, loop=loop, name=name)


def clip_from_asap_dict(
    obj: dict,
    where: str,
    *,
    robot: str | None = None,
    key: str | None = None,
    loop: str | None = None,
    name: str | None = None,
) -> "MotionClip":
    """Pick ``key`` (or the only clip) from an unpickled ASAP dict and convert it."""
    keys = [str(k) for k in obj]
    if key is None:
        if len(keys) != 1:
            raise MotionFormatError(f"'{where}' holds {len(keys)} clips; pick one with key= (--key): {', '.join(keys)}")
        key = keys[0]
    if key not in obj:
        raise MotionFormatError(f"'{where}': no clip {key!r}; clips: {', '.join(keys)}")
    return clip_from_asap_entry(obj[key], key, where=where, robot=robot, loop=loop, name=name)


def load_asap_pkl_all(path: str | os.PathLike, robot: str | None = None) -> dict[str, "MotionClip"]:
    """Every clip of an ASAP pickle, by key."""
    obj = read_asap_pkl(path)
    return {str(k): clip_from_asap_entry(v, str(k), where=str(path), robot=robot) for k, v in obj.items()}

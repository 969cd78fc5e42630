"""BVH motion capture as a retargeting source: parse, forward kinematics, Y-up to Z-up, resample.

BVH stores a joint hierarchy (offsets in the rest pose) and per frame the root translation and
every joint's Euler angles in the order its CHANNELS line lists them (``Zrotation Yrotation
Xrotation`` means ``R = Rz @ Ry @ Rx``). World poses follow by forward kinematics. The file's
frame (Y up, the character facing +Z with its left on +X, as in the CMU conversions) is turned
into ours (Z up, facing +X, left +Y), and lengths are scaled to metres (CMU units: 0.056444 m).
The result is resampled at the requested rate: positions linearly, orientations by slerp.

Skeletons whose joint names are those of the CMU "MotionBuilder-friendly" conversion are called
``cmu`` (shipped maps: ``cmu_to_g1``, ``cmu_to_k1``); any other BVH needs its own ``--map``, and its
source name is ``bvh``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.retarget.source import SourceMotion, _output_times

__all__ = ["BVH_TO_Z_UP", "CMU_UNIT", "load_bvh_source", "parse_bvh"]

CMU_UNIT = 0.056444  # metres per CMU unit (CMU mocap FAQ)
#: Columns are our axes' images of the BVH axes: +X_bvh (left) -> +Y, +Y_bvh (up) -> +Z, +Z_bvh (forward) -> +X.
BVH_TO_Z_UP = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_CMU_JOINTS = {"Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "RightLeg", "RightFoot", "LeftArm", "RightArm"}


@dataclass
class BVHJoint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str]


def parse_bvh(path: str | os.PathLike) -> tuple[list[BVHJoint], np.ndarray, float]:
    """(joints in file order, (T, channels) motion values, frame time in seconds)."""
    path = Path(path)
    if not path.is_file():
        raise MimicLitError(f"BVH file not found: '{path}'")
    tokens = path.read_text(errors="replace").split()
    joints: list[BVHJoint] = []
    stack: list[int] = []
    i, where = 0, str(path)
    try:
        if tokens[0] != "HIERARCHY":
            raise MimicLitError(f"'{where}': not a BVH file (no HIERARCHY)")
        i = 1
        while tokens[i] != "MOTION":
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                joints.append(BVHJoint(tokens[i + 1], stack[-1] if stack else -1, np.zeros(3), []))
                i += 2
            elif tok == "End":  # End Site { OFFSET x y z }: a leaf without channels, skipped
                depth, i = 0, i + 2
                while True:
                    depth += tokens[i] == "{"
                    depth -= tokens[i] == "}"
                    i += 1
                    if depth == 0:
                        break
            elif tok == "{":
                stack.append(len(joints) - 1)
                i += 1
            elif tok == "}":
                stack.pop()
                i += 1
            elif tok == "OFFSET":
                joints[-1].offset = np.array([float(v) for v in tokens[i + 1 : i + 4]])
                i += 4
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                joints[-1].channels = tokens[i + 2 : i + 2 + n]
                i += 2 + n
            else:
                raise MimicLitError(f"'{where}': unexpected '{tok}' in the hierarchy")
        frames = int(tokens[i + 2])
        frame_time = float(tokens[i + 5])
        width = sum(len(j.channels) for j in joints)
        values = np.array(tokens[i + 6 : i + 6 + frames * width], dtype=np.float64)
    except (IndexError, ValueError) as exc:
        raise MimicLitError(f"'{where}': malformed BVH ({type(exc).__name__}: {exc})") from None
    if values.size != frames * width:
        raise MimicLitError(f"'{where}': {frames} frames of {width} channels declared, {values.size} values found")
    if not joints or frame_time <= 0:
        raise MimicLitError(f"'{where}': no joints or a non-positive frame time")
    return joints, values.reshape(frames, width), frame_time


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations about X, Y or Z."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((len(a), 3, 3))
    i, j = {"X": (1, 2), "Y": (2, 0), "Z": (0, 1)}[axis]
    k = 3 - i - j
    out[:, k, k] = 1.0
    out[:, i, i], out[:, i, j], out[:, j, i], out[:, j, j] = c, -s, s, c
    return out


def _forward_kinematics(joints: list[BVHJoint], values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World positions (T, J, 3) and rotation matrices (T, J, 3, 3) in the file's frame and units."""
    t = values.shape[0]
    pos = np.zeros((t, len(joints), 3))
    rot = np.zeros((t, len(joints), 3, 3))
    col = 0
    for j, joint in enumerate(joints):
        local = np.repeat(np.eye(3)[None], t, axis=0)
        translation = np.repeat(joint.offset[None], t, axis=0)
        for name in joint.channels:
            v = values[:, col]
            col += 1
            if name.endswith("position"):
                translation = translation.copy()
                translation[:, "XYZ".index(name[0])] = v
            elif name.endswith("rotation"):
                local = local @ _axis_rotations(name[0], v)
            else:
                raise MimicLitError(f"unknown BVH channel '{name}'")
        if joint.parent < 0:
            pos[:, j], rot[:, j] = translation, local
        else:
            p = joint.parent
            pos[:, j] = pos[:, p] + np.einsum("tij,tj->ti", rot[:, p], translation)
            rot[:, j] = rot[:, p] @ local
    return pos, rot


def load_bvh_source(
    path: str | os.PathLike, fps: float = 30.0, unit: float | None = None, drop_first: bool | None = None
) -> SourceMotion:
    """A BVH file as a :class:`SourceMotion` at ``fps`` (Z up, metres).

    ``unit`` is metres per file unit (default: CMU's for CMU skeletons, else 0.01, i.e. cm);
    ``drop_first`` drops frame 0 (default: for CMU files, whose frame 0 is an added T-pose).
    """
    from mimic_lit.rotations import matrix_to_quat, quat_slerp

    joints, values, frame_time = parse_bvh(path)
    names = tuple(j.name for j in joints)
    cmu = _CMU_JOINTS <= set(names)
    unit = unit if unit is not None else (CMU_UNIT if cmu else 0.01)
    if drop_first if drop_first is not None else cmu:
        values = values[1:]
    if len(values) < 2:
        raise MimicLitError(f"'{path}': fewer than two frames of motion")
    pos, rot = _forward_kinematics(joints, values)
    rest_pos, rest_rot = _forward_kinematics(joints, np.zeros((1, values.shape[1])))
    c = BVH_TO_Z_UP

    def to_ours(p: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        world = unit * np.einsum("ij,...j->...i", c, p)
        quat = matrix_to_quat(torch.as_tensor(c @ r, dtype=torch.float64)).numpy()
        return world, quat

    pos, quat = to_ours(pos, rot)
    rest_pos, rest_quat = to_ours(rest_pos, rest_rot)
    rest_pos = rest_pos[0] - rest_pos[0, 0]  # root at the origin
    duration = (len(values) - 1) * frame_time
    times = _output_times(duration, fps)
    f = times / frame_time
    i0 = np.minimum(np.floor(f).astype(int), len(values) - 1)
    i1 = np.minimum(i0 + 1, len(values) - 1)
    a = (f - i0)[:, None, None]
    out_pos = pos[i0] + a * (pos[i1] - pos[i0])
    q0, q1 = torch.as_tensor(quat[i0]), torch.as_tensor(quat[i1])
    out_quat = quat_slerp(q0, q1, torch.as_tensor(a)).numpy()
    return SourceMotion(
        name="cmu" if cmu else "bvh", body_names=names, fps=float(fps), pos=out_pos, quat=out_quat,
        rest_pos=rest_pos, rest_quat=rest_quat[0], clip_name=Path(path).stem, loop="clamp", source=str(path),
    )  # fmt: skip

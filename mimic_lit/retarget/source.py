"""Source motions for retargeting: world poses of named bodies per frame, plus a rest pose.

Every source format becomes a :class:`SourceMotion`. A clip of one of our robots (the DeepMimic
humanoid clips, shipped or converted with ``mimic-lit convert``) is resampled at the output rate
with the motion library's interpolation (slerp for rotations) and forward kinematics, so
retargeting at 30 fps from a 60 fps clip uses real in-between poses, not relabelled frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.motion.clip import MotionClip

__all__ = ["SourceMotion", "source_from_clip"]


@dataclass
class SourceMotion:
    """World poses of a source skeleton's bodies.

    Attributes:
        name: the skeleton's name (``humanoid``, or a BVH file's skeleton), matched against a map.
        body_names: names of the bodies, in column order.
        fps: frame rate of ``pos`` / ``quat``.
        pos: (T, B, 3) body positions, z up, metres.
        quat: (T, B, 4) body orientations (w, x, y, z).
        rest_pos, rest_quat: (B, 3), (B, 4) the rest pose (zero joint angles, root at the origin
            with identity orientation): what the map's scale and orientation offsets are measured in.
        clip_name: name of the motion, for the output clip.
        loop: ``wrap`` or ``clamp``, carried to the output clip.
    """

    name: str
    body_names: tuple[str, ...]
    fps: float
    pos: np.ndarray
    quat: np.ndarray
    rest_pos: np.ndarray
    rest_quat: np.ndarray
    clip_name: str = ""
    loop: str = "clamp"
    source: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.pos.shape[0])

    def index(self, body: str) -> int:
        try:
            return self.body_names.index(body)
        except ValueError:
            raise MimicLitError(f"source skeleton '{self.name}' has no body '{body}'") from None


def _output_times(duration: float, fps: float) -> np.ndarray:
    """Times 0, 1/fps, ... up to the clip's end (the end itself included when it falls on the grid)."""
    n = int(np.floor(duration * fps + 1e-6)) + 1
    return np.arange(n, dtype=np.float64) / fps


def source_from_clip(clip: MotionClip, fps: float | None = None) -> SourceMotion:
    """A clip of one of our robots as a source motion, resampled at ``fps`` (default: the clip's)."""
    from mimic_lit.motion.kinematics import forward_kinematics
    from mimic_lit.motion.library import MotionLibrary
    from mimic_lit.robots import get_robot

    if not clip.robot:
        raise MimicLitError("the source clip does not name its robot")
    spec = get_robot(clip.robot)
    rate = float(fps or clip.fps)
    if rate <= 0:
        raise MimicLitError(f"fps must be > 0, got {rate}")
    lib = MotionLibrary([clip], robot=spec, dtype=torch.float64)
    times = torch.as_tensor(_output_times(clip.duration, rate))
    frame = lib.get_frames(torch.zeros(len(times), dtype=torch.long), times, bodies=True)
    skel = lib.skeleton
    zero = torch.as_tensor(_rest_joint_pos(spec), dtype=torch.float64).unsqueeze(0)
    rest_pos, rest_quat = forward_kinematics(
        skel, torch.zeros(1, 3, dtype=torch.float64), torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=torch.float64), zero
    )
    return SourceMotion(
        name=spec.name,
        body_names=tuple(skel.body_names),
        fps=rate,
        pos=frame.body_pos.numpy(),
        quat=frame.body_quat.numpy(),
        rest_pos=rest_pos[0].numpy(),
        rest_quat=rest_quat[0].numpy(),
        clip_name=clip.name,
        loop=clip.loop,
        source=clip.source or clip.name,
    )


def _rest_joint_pos(spec) -> np.ndarray:
    """Zero joint angles (identity quaternions for ball joints) in the robot's qpos layout."""
    model = spec.model
    q = np.zeros(model.nq - 7)
    import mujoco

    for j in range(model.njnt):
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL:
            q[model.jnt_qposadr[j] - 7] = 1.0
    return q

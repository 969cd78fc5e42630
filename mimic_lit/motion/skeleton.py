"""`Skeleton`: a robot's kinematic tree, read from its MJCF through MuJoCo's own compiler.

MuJoCo resolves defaults, ``childclass``, euler/axis-angle orientations and includes, so the tree is
taken from the compiled ``MjModel`` rather than parsed from XML by hand.

Indexing: body ``i`` of a skeleton is MuJoCo body ``i + 1`` (the world body is left out), so
``skel.body_names`` equals ``RobotSpec.body_names``. Body 0 is the root; it carries the free joint.
Bodies are in MuJoCo order, where every parent comes before its children.
Joint values use the clip layout: ``joint_pos`` has ``nq - 7`` columns (MuJoCo ``qpos`` without the
free joint: 1 per hinge/slide, 4 per ball joint as w, x, y, z), ``joint_vel`` has ``nv - 6`` columns
(1 per hinge/slide, 3 per ball joint: angular velocity in the joint's child frame, as MuJoCo's qvel).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from mimic_lit.errors import MimicLitError

if TYPE_CHECKING:
    import mujoco

    from mimic_lit.robots.spec import RobotSpec


class JointType(IntEnum):
    """Joint kinds, with MuJoCo's ``mjtJoint`` numbering."""

    FREE = 0
    BALL = 1
    SLIDE = 2
    HINGE = 3


@dataclass(frozen=True)
class Joint:
    """One non-free joint of the tree, in MuJoCo's joint order.

    Attributes:
        name: MJCF joint name.
        type: hinge, slide or ball.
        body: index of the body it moves (skeleton indexing, world excluded).
        axis: (3,) unit axis in the body frame (hinge/slide; unused for ball).
        anchor: (3,) joint position ``jnt_pos`` in the body frame (rotation centre).
        range: (lower, upper) limits, or None when the joint is unlimited.
        qpos_adr: first column of this joint in ``joint_pos`` (MuJoCo ``jnt_qposadr - 7``).
        dof_adr: first column of this joint in ``joint_vel`` (MuJoCo ``jnt_dofadr - 6``).
        qpos0: reference value (``ref``) subtracted from hinge/slide coordinates, as MuJoCo does.
    """

    name: str
    type: JointType
    body: int
    axis: tuple[float, float, float]
    anchor: tuple[float, float, float]
    range: tuple[float, float] | None
    qpos_adr: int
    dof_adr: int
    qpos0: float

    @property
    def num_coords(self) -> int:
        """Columns in ``joint_pos``."""
        return 4 if self.type == JointType.BALL else 1

    @property
    def num_dofs(self) -> int:
        """Columns in ``joint_vel``."""
        return 3 if self.type == JointType.BALL else 1


class Skeleton:
    """Kinematic tree of a floating-base robot: bodies, their parents, rest transforms and joints.

    Arrays are float64 numpy; :meth:`tensors` gives cached torch copies for a device and dtype.
    """

    def __init__(self, model: "mujoco.MjModel", name: str = "") -> None:
        import mujoco

        self.name = name
        nb = int(model.nbody) - 1
        if nb < 1:
            raise MimicLitError(f"model '{name}' has no bodies besides the world")
        if int(model.nmocap) > 0:
            raise MimicLitError(f"model '{name}' has mocap bodies, which a skeleton does not support")
        self.body_names: tuple[str, ...] = tuple(
            mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) or f"body{b}" for b in range(1, nb + 1)
        )
        self.parents: np.ndarray = np.asarray(model.body_parentid[1:], dtype=np.int64) - 1  # root -> -1
        roots = np.flatnonzero(self.parents < 0)
        if roots.tolist() != [0]:
            names = ", ".join(self.body_names[i] for i in roots)
            raise MimicLitError(f"model '{name}' must have exactly one body under the world, found: {names}")
        if np.any(self.parents[1:] >= np.arange(1, nb)):
            raise MimicLitError(f"model '{name}': bodies are not in parent-before-child order")
        self.local_pos: np.ndarray = np.array(model.body_pos[1:], dtype=np.float64)
        self.local_quat: np.ndarray = np.array(model.body_quat[1:], dtype=np.float64)

        # Joints: exactly one free joint, the first joint, on the root body.
        jtypes = np.asarray(model.jnt_type)
        if model.njnt < 1 or jtypes[0] != JointType.FREE or int(model.jnt_bodyid[0]) != 1:
            raise MimicLitError(f"model '{name}': the root body must carry a free joint as the first joint")
        if np.count_nonzero(jtypes == JointType.FREE) != 1:
            raise MimicLitError(f"model '{name}' has more than one free joint; only the root may float")
        if int(model.body_jntnum[1]) != 1:
            raise MimicLitError(f"model '{name}': the root body may carry only its free joint")
        joints = []
        for j in range(1, int(model.njnt)):
            jtype = JointType(int(jtypes[j]))
            qadr = int(model.jnt_qposadr[j])
            joints.append(
                Joint(
                    name=mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) or f"joint{j}",
                    type=jtype,
                    body=int(model.jnt_bodyid[j]) - 1,
                    axis=tuple(float(x) for x in model.jnt_axis[j]),
                    anchor=tuple(float(x) for x in model.jnt_pos[j]),
                    range=tuple(float(x) for x in model.jnt_range[j]) if model.jnt_limited[j] else None,
                    qpos_adr=qadr - 7,
                    dof_adr=int(model.jnt_dofadr[j]) - 6,
                    qpos0=float(model.qpos0[qadr]) if jtype in (JointType.HINGE, JointType.SLIDE) else 0.0,
                )
            )
        self.joints: tuple[Joint, ...] = tuple(joints)
        self.num_joint_coords: int = int(model.nq) - 7
        self.num_joint_dofs: int = int(model.nv) - 6

        # Derived tables.
        depth = np.zeros(nb, dtype=np.int64)
        for b in range(1, nb):
            depth[b] = depth[self.parents[b]] + 1
        self.depth: np.ndarray = depth
        self.levels: tuple[np.ndarray, ...] = tuple(np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1))
        counts = np.bincount([j.body for j in self.joints], minlength=nb) if self.joints else np.zeros(nb, np.int64)
        self.joints_per_body: np.ndarray = counts
        self.is_fixed: np.ndarray = counts == 0
        self.is_fixed[0] = False  # the root moves with its free joint
        self._tensor_cache: dict[tuple[torch.device, torch.dtype], SkeletonTensors] = {}

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_mjcf(cls, path: str | os.PathLike) -> "Skeleton":
        """Compile ``path`` with MuJoCo and read its tree."""
        import mujoco

        path = Path(path)
        if not path.is_file():
            raise MimicLitError(f"MJCF file not found: '{path}'")
        try:
            model = mujoco.MjModel.from_xml_path(str(path))
        except ValueError as exc:
            msg = " ".join(str(exc).split())
            raise MimicLitError(f"MuJoCo cannot compile '{path}': {msg}") from None
        return cls(model, name=path.stem)

    @classmethod
    def from_robot(cls, robot: "str | RobotSpec") -> "Skeleton":
        """Skeleton of a registered robot (by name or spec), cached per robot."""
        from mimic_lit.robots import get_robot

        spec = get_robot(robot)
        key = (spec.name, str(spec.mjcf_path))
        if key not in _ROBOT_CACHE:
            _ROBOT_CACHE[key] = cls(spec.model, name=spec.name)
        return _ROBOT_CACHE[key]

    # ------------------------------------------------------------------ queries
    @property
    def num_bodies(self) -> int:
        """Bodies in the tree, world excluded."""
        return len(self.body_names)

    @property
    def num_joints(self) -> int:
        """Non-free joints."""
        return len(self.joints)

    @property
    def root_body(self) -> str:
        return self.body_names[0]

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    @property
    def max_joints_per_body(self) -> int:
        return int(self.joints_per_body.max()) if self.joints else 0

    def body_index(self, name: str) -> int:
        """Skeleton index of body ``name`` (MuJoCo id - 1); raises listing the valid names."""
        try:
            return self.body_names.index(name)
        except ValueError:
            names = ", ".join(self.body_names)
            raise MimicLitError(f"skeleton '{self.name}' has no body '{name}'; bodies: {names}") from None

    def body_indices(self, names: list[str] | tuple[str, ...]) -> list[int]:
        return [self.body_index(n) for n in names]

    def joint_index(self, name: str) -> int:
        """Index of joint ``name`` in :attr:`joints`."""
        try:
            return self.joint_names.index(name)
        except ValueError:
            names = ", ".join(self.joint_names)
            raise MimicLitError(f"skeleton '{self.name}' has no joint '{name}'; joints: {names}") from None

    @property
    def joint_qpos_slices(self) -> tuple[slice, ...]:
        """Per joint, its columns in ``joint_pos``."""
        return tuple(slice(j.qpos_adr, j.qpos_adr + j.num_coords) for j in self.joints)

    @property
    def joint_dof_slices(self) -> tuple[slice, ...]:
        """Per joint, its columns in ``joint_vel``."""
        return tuple(slice(j.dof_adr, j.dof_adr + j.num_dofs) for j in self.joints)

    def joints_of_type(self, *types: JointType) -> list[int]:
        return [i for i, j in enumerate(self.joints) if j.type in types]

    @property
    def scalar_coord_columns(self) -> np.ndarray:
        """``joint_pos`` columns of hinge and slide joints (interpolated linearly)."""
        return np.array([j.qpos_adr for j in self.joints if j.type != JointType.BALL], dtype=np.int64)

    @property
    def ball_coord_columns(self) -> np.ndarray:
        """(num_ball, 4) ``joint_pos`` columns of each ball joint's quaternion (slerped)."""
        cols = [list(range(j.qpos_adr, j.qpos_adr + 4)) for j in self.joints if j.type == JointType.BALL]
        return np.array(cols, dtype=np.int64).reshape(-1, 4)

    @property
    def scalar_dof_columns(self) -> np.ndarray:
        """``joint_vel`` columns of hinge and slide joints."""
        return np.array([j.dof_adr for j in self.joints if j.type != JointType.BALL], dtype=np.int64)

    @property
    def ball_dof_columns(self) -> np.ndarray:
        """(num_ball, 3) ``joint_vel`` columns of each ball joint."""
        cols = [list(range(j.dof_adr, j.dof_adr + 3)) for j in self.joints if j.type == JointType.BALL]
        return np.array(cols, dtype=np.int64).reshape(-1, 3)

    def __repr__(self) -> str:
        kinds = {t.name.lower(): len(self.joints_of_type(t)) for t in _KINDS}
        return f"Skeleton({self.name!r}, bodies={self.num_bodies}, joints={kinds}, depth={len(self.levels)})"

    # ------------------------------------------------------------------ torch tables
    def tensors(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> "SkeletonTensors":
        """The tree as torch tensors on ``device`` in ``dtype``, built once and cached."""
        device = torch.device(device)
        key = (device, dtype)
        if key not in self._tensor_cache:
            self._tensor_cache[key] = SkeletonTensors.build(self, device, dtype)
        return self._tensor_cache[key]


_ROBOT_CACHE: dict[tuple[str, str], Skeleton] = {}
_KINDS = (JointType.HINGE, JointType.SLIDE, JointType.BALL)


@dataclass
class SkeletonTensors:
    """Torch tables used by forward kinematics; joints are laid out in per-body "slots".

    Slot ``k`` of body ``b`` holds the body's ``k``-th joint (MJCF order) or a padding identity joint.
    ``slot_joint`` indexes the per-joint tensors with ``num_joints`` as the padding row.
    """

    local_pos: torch.Tensor  # (nb, 3)
    local_quat: torch.Tensor  # (nb, 4)
    slot_joint: torch.Tensor  # (nb, K) long, num_joints = padding
    slot_hinge_col: torch.Tensor  # (nb, K) long: joint_pos column of a hinge slot, D (a zero row) else
    slot_hinge_axis: torch.Tensor  # (nb, K, 3): hinge axis, (0, 0, 1) for other slots (angle 0 there)
    slot_hinge_qpos0: torch.Tensor  # (nb, K): hinge reference angle, 0 for other slots
    slot_slide_col: torch.Tensor  # (nb, K) long: joint_pos column of a slide slot, D else
    slot_slide_qpos0: torch.Tensor  # (nb, K)
    ball_slots: torch.Tensor  # (nball,) long: flat slot index (body * K + k) of each ball joint
    slot_axis: torch.Tensor  # (nb, K, 3)
    slot_anchor: torch.Tensor  # (nb, K, 3)
    level_bodies: tuple[torch.Tensor, ...]  # body indices per depth
    level_parents: tuple[torch.Tensor, ...]  # parent body index of each body of a level
    parents: torch.Tensor  # (nb,) long, root -> 0 (use with care)
    hinge_joints: torch.Tensor  # joint indices of hinges
    hinge_cols: torch.Tensor  # their joint_pos columns
    slide_joints: torch.Tensor
    slide_cols: torch.Tensor
    ball_joints: torch.Tensor
    ball_cols: torch.Tensor  # (nball, 4)
    joint_body: torch.Tensor  # (J,) long
    joint_slot: torch.Tensor  # (J,) long, slot of each joint in its body
    hinge_dof_cols: torch.Tensor
    slide_dof_cols: torch.Tensor
    ball_dof_cols: torch.Tensor  # (nball, 3)
    num_joints: int
    num_slots: int
    has_offsets: bool  # any joint anchor away from the body origin, or any slide joint

    @classmethod
    def build(cls, skel: Skeleton, device: torch.device, dtype: torch.dtype) -> "SkeletonTensors":
        def f(x) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)

        def i(x) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x, dtype=np.int64), dtype=torch.long, device=device)

        nb, nj = skel.num_bodies, skel.num_joints
        k_max = max(skel.max_joints_per_body, 1)
        slot_joint = np.full((nb, k_max), nj, dtype=np.int64)
        slot_axis = np.zeros((nb, k_max, 3))
        slot_anchor = np.zeros((nb, k_max, 3))
        joint_slot = np.zeros(nj, dtype=np.int64)
        fill = np.zeros(nb, dtype=np.int64)
        for ji, j in enumerate(skel.joints):
            k = fill[j.body]
            fill[j.body] += 1
            slot_joint[j.body, k] = ji
            slot_axis[j.body, k] = j.axis
            slot_anchor[j.body, k] = j.anchor
            joint_slot[ji] = k

        hinges = skel.joints_of_type(JointType.HINGE)
        slides = skel.joints_of_type(JointType.SLIDE)
        balls = skel.joints_of_type(JointType.BALL)
        pad = skel.num_joint_coords
        slot_hinge_col = np.full((nb, k_max), pad, dtype=np.int64)
        slot_hinge_axis = np.tile(np.array([0.0, 0.0, 1.0]), (nb, k_max, 1))
        slot_hinge_qpos0 = np.zeros((nb, k_max))
        slot_slide_col = np.full((nb, k_max), pad, dtype=np.int64)
        slot_slide_qpos0 = np.zeros((nb, k_max))
        for ji, j in enumerate(skel.joints):
            b, k = j.body, joint_slot[ji]
            if j.type == JointType.HINGE:
                slot_hinge_col[b, k], slot_hinge_axis[b, k], slot_hinge_qpos0[b, k] = j.qpos_adr, j.axis, j.qpos0
            elif j.type == JointType.SLIDE:
                slot_slide_col[b, k], slot_slide_qpos0[b, k] = j.qpos_adr, j.qpos0
        ball_slots = [skel.joints[n].body * k_max + joint_slot[n] for n in balls]

        level_parents = [i(np.maximum(skel.parents[bodies], 0)) for bodies in skel.levels]

        J = skel.joints
        return cls(
            local_pos=f(skel.local_pos),
            local_quat=f(skel.local_quat),
            slot_joint=i(slot_joint),
            slot_hinge_col=i(slot_hinge_col),
            slot_hinge_axis=f(slot_hinge_axis),
            slot_hinge_qpos0=f(slot_hinge_qpos0),
            slot_slide_col=i(slot_slide_col),
            slot_slide_qpos0=f(slot_slide_qpos0),
            ball_slots=i(ball_slots),
            slot_axis=f(slot_axis),
            slot_anchor=f(slot_anchor),
            level_bodies=tuple(i(b) for b in skel.levels),
            level_parents=tuple(level_parents),
            parents=i(np.maximum(skel.parents, 0)),
            hinge_joints=i(hinges),
            hinge_cols=i([J[n].qpos_adr for n in hinges]),
            slide_joints=i(slides),
            slide_cols=i([J[n].qpos_adr for n in slides]),
            ball_joints=i(balls),
            ball_cols=i(skel.ball_coord_columns),
            joint_body=i([j.body for j in J]),
            joint_slot=i(joint_slot),
            hinge_dof_cols=i([J[n].dof_adr for n in hinges]),
            slide_dof_cols=i([J[n].dof_adr for n in slides]),
            ball_dof_cols=i(skel.ball_dof_columns),
            num_joints=nj,
            num_slots=k_max,
            has_offsets=bool(np.any(slot_anchor != 0.0) or len(slides) > 0),
        )

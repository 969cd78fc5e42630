"""`RobotSpec`: what the rest of mimic-lit needs to know about one simulated robot.

The MJCF file is the single source of truth for the kinematic tree, joint order and limits; the spec
adds what an MJCF does not say well for learning: PD gains, effort limits, which bodies are key
bodies (tracked end effectors), which may touch the ground, and the default pose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import mujoco

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
ROBOT_DATA_DIR = DATA_DIR / "robots"


def _match(patterns: dict[str, tuple[float, ...]] | dict[str, float], name: str, what: str, robot: str):
    for pattern, value in patterns.items():
        if re.fullmatch(pattern, name):
            return value
    raise KeyError(f"robot '{robot}': no {what} pattern matches joint '{name}'")


@dataclass(frozen=True)
class RobotSpec:
    """Static description of a robot; everything per joint follows the MJCF ``qpos`` order.

    Attributes:
        name: registry name (``g1``, ``k1``, ``t1``, ``humanoid``).
        mjcf: path of the robot's MJCF, relative to ``mimic_lit/data/robots`` (or absolute).
        pd_gains: regex over joint names -> (kp [N·m/rad], kd [N·m·s/rad]); first match wins.
        effort_limits: regex -> torque limit [N·m]; joints with no match use the MJCF actuator limits.
        key_bodies: bodies whose positions are tracked (hands, feet, head).
        contact_bodies: bodies allowed to touch the ground without ending an episode (feet, shins).
        foot_bodies: the bodies that carry the feet (for kinematic checks and cleaning).
        default_joint_pos: joint name -> angle for the default standing pose (others are 0).
        default_root_height: pelvis/trunk height of the default pose, metres.
        control_dt: policy period in seconds (the MimicKit default is 1/30 s).
        sim_dt: physics time step in seconds.
        licence: short licence note of the asset.
        description: one line shown in listings.
        joint_err_weights: body-name regex -> weight of that body's joint in the tracking reward's
            pose term (MimicKit's ``joint_err_w``); ``None`` weighs every body 1.
        format_names: motion format -> the name that format's files use for this robot (``gmr``:
            ``unitree_g1``); the importers translate with it.
        retarget_maps: source skeleton (``humanoid``, ``cmu``) -> retargeting map YAML, relative to
            ``mimic_lit/data/retarget`` (or absolute): the default map of ``mimic-lit retarget``.
        spec_file: the YAML file this spec was read from (``None`` for a registered robot).
    """

    name: str
    mjcf: str
    pd_gains: dict[str, tuple[float, float]]
    key_bodies: tuple[str, ...]
    contact_bodies: tuple[str, ...]
    foot_bodies: tuple[str, str]
    default_root_height: float
    effort_limits: dict[str, float] = field(default_factory=dict)
    default_joint_pos: dict[str, float] = field(default_factory=dict)
    control_dt: float = 1.0 / 30.0
    sim_dt: float = 1.0 / 120.0
    licence: str = ""
    description: str = ""
    joint_err_weights: dict[str, float] | None = None
    format_names: dict[str, str] = field(default_factory=dict)
    retarget_maps: dict[str, str] = field(default_factory=dict)
    spec_file: str | None = None

    # ------------------------------------------------------------------ MJCF
    @property
    def mjcf_path(self) -> Path:
        return ROBOT_DATA_DIR / self.mjcf

    @cached_property
    def model(self) -> "mujoco.MjModel":
        """The robot's own MJCF compiled by MuJoCo (cached; meshes make this take ~1 s for the G1)."""
        import mujoco

        return mujoco.MjModel.from_xml_path(str(self.mjcf_path))

    @cached_property
    def _joint_table(self) -> list[tuple[str, int, int, tuple[float, float] | None]]:
        """(name, MuJoCo joint type, qpos width, range or None) of every non-free joint in qpos order."""
        import mujoco

        m = self.model
        rows = []
        free = 0
        for j in range(m.njnt):
            jtype = int(m.jnt_type[j])
            if jtype == mujoco.mjtJoint.mjJNT_FREE:
                free += 1
                continue
            width = {mujoco.mjtJoint.mjJNT_HINGE: 1, mujoco.mjtJoint.mjJNT_SLIDE: 1, mujoco.mjtJoint.mjJNT_BALL: 4}[jtype]
            rng = tuple(float(x) for x in m.jnt_range[j]) if m.jnt_limited[j] else None
            rows.append((mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, j), jtype, width, rng))
        if free != 1 or int(m.jnt_type[0]) != mujoco.mjtJoint.mjJNT_FREE:
            raise ValueError(f"robot '{self.name}': expected exactly one free joint as the first joint")
        return rows

    @property
    def joint_names(self) -> tuple[str, ...]:
        """Names of the actuated joints in ``qpos`` order (the free root joint excluded)."""
        return tuple(r[0] for r in self._joint_table)

    @property
    def num_joints(self) -> int:
        return len(self._joint_table)

    @property
    def num_joint_coords(self) -> int:
        """Columns of a clip's ``joint_pos`` (nq - 7): 1 per hinge, 4 per ball joint."""
        return sum(r[2] for r in self._joint_table)

    @property
    def num_dofs(self) -> int:
        """Joint velocities per env (nv - 6): 1 per hinge, 3 per ball joint."""
        return int(self.model.nv) - 6

    @property
    def joint_limits(self) -> np.ndarray:
        """(num_joints, 2) lower/upper limits; +-inf where the MJCF leaves a joint unlimited."""
        return np.array([r[3] if r[3] is not None else (-np.inf, np.inf) for r in self._joint_table])

    @property
    def body_names(self) -> tuple[str, ...]:
        import mujoco

        m = self.model
        return tuple(mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(1, m.nbody))

    @property
    def root_body(self) -> str:
        return self.body_names[0]

    # ------------------------------------------------------------------ per-joint tables
    @cached_property
    def kp(self) -> np.ndarray:
        """Proportional PD gain per joint."""
        return np.array([_match(self.pd_gains, n, "PD gain", self.name)[0] for n in self.joint_names])

    @cached_property
    def kd(self) -> np.ndarray:
        """Derivative PD gain per joint."""
        return np.array([_match(self.pd_gains, n, "PD gain", self.name)[1] for n in self.joint_names])

    @cached_property
    def effort_limit(self) -> np.ndarray:
        """Torque limit per joint: the spec's pattern if one matches, else the MJCF's actuator limit."""
        import mujoco

        m = self.model
        out = []
        for j, name in enumerate(self.joint_names):
            try:
                out.append(float(_match(self.effort_limits, name, "effort limit", self.name)))
                continue
            except KeyError:
                pass
            jid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name)
            limit = np.inf
            if m.jnt_actfrclimited[jid]:
                limit = float(np.max(np.abs(m.jnt_actfrcrange[jid])))
            for a in range(m.nu):
                if m.actuator_trnid[a, 0] == jid and m.actuator_forcelimited[a]:
                    limit = min(limit, float(np.max(np.abs(m.actuator_forcerange[a]))) * abs(m.actuator_gear[a, 0]))
                elif m.actuator_trnid[a, 0] == jid and m.actuator_ctrllimited[a] and m.actuator_biastype[a] == 0:
                    limit = min(limit, float(np.max(np.abs(m.actuator_ctrlrange[a]))) * abs(m.actuator_gear[a, 0]))
            if not np.isfinite(limit):
                raise ValueError(f"robot '{self.name}': no effort limit for joint '{name}' in spec or MJCF")
            out.append(limit)
        return np.array(out)

    @cached_property
    def default_pose(self) -> np.ndarray:
        """(7 + D) ``qpos`` of the default standing pose: root at the default height, upright."""
        unknown = set(self.default_joint_pos) - set(self.joint_names)
        if unknown:
            raise ValueError(f"robot '{self.name}': default_joint_pos names unknown joints {sorted(unknown)}")
        q = np.zeros(7 + self.num_joint_coords)
        q[2] = self.default_root_height
        q[3] = 1.0
        col = 7
        for name, _, width, _ in self._joint_table:
            if width == 4:
                q[col] = 1.0
            elif name in self.default_joint_pos:
                q[col] = self.default_joint_pos[name]
            col += width
        return q

    def body_ids(self, names: tuple[str, ...] | list[str]) -> list[int]:
        """MuJoCo body ids of ``names``; raises with the list of valid names on a typo."""
        import mujoco

        ids = []
        for n in names:
            b = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, n)
            if b < 0:
                raise ValueError(f"robot '{self.name}' has no body '{n}'; bodies: {', '.join(self.body_names)}")
            ids.append(b)
        return ids

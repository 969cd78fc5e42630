"""Kinematic sanity checks of a clip on its robot: feet, ground penetration, joint limits, root height.

Retargeted and generated clips are often subtly wrong (a foot 3 cm under the floor, a knee bent past
its limit) and such errors only show up later, as a policy that cannot track the reference. These
checks replay the clip kinematically (``mj_kinematics``, no physics) and measure the problems in
numbers, so they can be fixed (``clean-motion``) or the clip dropped before training.

Heights are of the lowest point of the robot's *collision* geometry (the geoms that touch the
ground in simulation), computed exactly per geom type: spheres, capsules, cylinders, boxes,
ellipsoids, and meshes through their convex-hull vertices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mimic_lit.motion.clip import MotionClip
from mimic_lit.robots import RobotSpec, get_robot

if TYPE_CHECKING:
    import mujoco

PENETRATION_TOL = 0.01  # m: a frame counts as penetrating when its lowest point is below -1 cm
JOINT_LIMIT_TOL = 1e-3  # rad (or m for slide joints): slack for float noise in files


@dataclass
class MotionCheckReport:
    """Numbers from :func:`check_clip`; lengths in metres, angles in radians.

    Attributes:
        clip: clip name.
        robot: robot name.
        num_frames, fps, duration: the clip's size and rate (duration in seconds).
        root_height_min, root_height_max: range of the root (pelvis) height over frames.
        foot_height_min, foot_height_max: range over frames of the lowest point of the feet'
            collision geoms (per frame the lowest of both feet, i.e. the stance foot's sole).
        swing_height_max: highest point over frames that the *higher* foot's sole reaches (foot
            clearance when stepping; near 0 for a clip that shuffles or stands).
        lowest_point: the lowest point of any collision geom over the whole clip.
        lowest_body: the body that owns it.
        penetration_depth: ``max(0, -lowest_point)``: how far the robot goes into the floor.
        penetration_frames: number of frames whose lowest point is below ``-PENETRATION_TOL``.
        joint_limit_violations: number of (frame, joint) pairs outside the MJCF limits
            by more than ``JOINT_LIMIT_TOL``.
        joint_limit_frames: number of frames with at least one such violation.
        worst_joint: the joint with the largest excess (``None`` when there is none).
        worst_joint_excess: that largest excess beyond the limit.
        worst_joint_frame: the frame where it happens (-1 when there is none).
        violations_per_joint: joint name -> number of violating frames (only joints that violate).
    """

    clip: str
    robot: str
    num_frames: int
    fps: float
    duration: float
    root_height_min: float
    root_height_max: float
    foot_height_min: float
    foot_height_max: float
    swing_height_max: float
    lowest_point: float
    lowest_body: str
    penetration_depth: float
    penetration_frames: int
    joint_limit_violations: int
    joint_limit_frames: int
    worst_joint: str | None
    worst_joint_excess: float
    worst_joint_frame: int
    violations_per_joint: dict[str, int] = field(default_factory=dict)

    @property
    def penetration_pct(self) -> float:
        """Percentage of frames whose lowest point is below ``-PENETRATION_TOL``."""
        return 100.0 * self.penetration_frames / max(self.num_frames, 1)

    @property
    def joint_limit_pct(self) -> float:
        """Percentage of frames with at least one joint outside its limits."""
        return 100.0 * self.joint_limit_frames / max(self.num_frames, 1)

    def issues(self) -> list[str]:
        """Short human-readable problems found (empty when the clip looks clean)."""
        out = []
        if self.penetration_frames:
            out.append(
                f"ground penetration up to {100 * self.penetration_depth:.1f} cm "
                f"({self.penetration_pct:.0f}% of frames below -{100 * PENETRATION_TOL:.0f} cm)"
            )
        if self.joint_limit_violations:
            out.append(
                f"joint limits exceeded in {self.joint_limit_pct:.0f}% of frames, worst {self.worst_joint} "
                f"by {np.degrees(self.worst_joint_excess):.1f} deg at frame {self.worst_joint_frame}"
            )
        if self.foot_height_min > 0.05:
            out.append(f"feet never touch the floor (lowest foot point {100 * self.foot_height_min:.1f} cm)")
        return out

    def to_dict(self) -> dict:
        """Plain-types dict (for JSON), with the derived percentages included."""
        d = asdict(self)
        d["penetration_pct"] = self.penetration_pct
        d["joint_limit_pct"] = self.joint_limit_pct
        return d


# --------------------------------------------------------------------------- geometry
class _LowestPoint:
    """Computes, for many frames at once, the world height of the lowest point of a set of geoms."""

    def __init__(self, model: mujoco.MjModel, geom_ids: list[int]):
        import mujoco

        self.geom_ids = np.asarray(geom_ids, dtype=int)
        self.types = [int(t) for t in model.geom_type[self.geom_ids]]  # plain ints: numpy vs enum `in` fails
        self.sizes = model.geom_size[self.geom_ids].copy()
        self.mesh_verts: dict[int, np.ndarray] = {}
        for k, g in enumerate(self.geom_ids):
            if self.types[k] == int(mujoco.mjtGeom.mjGEOM_MESH):
                self.mesh_verts[k] = _hull_vertices(model, int(model.geom_dataid[g]))
        self._mj = mujoco

    def __call__(self, xpos: np.ndarray, xmat: np.ndarray) -> np.ndarray:
        """Lowest z per (frame, geom) from (T, G, 3) positions and (T, G, 9) rotation matrices."""
        G = self.geom_ids.size
        T = xpos.shape[0]
        z = xpos[..., 2]
        r = xmat.reshape(T, G, 3, 3)[:, :, 2, :]  # third row: world z of the geom's local axes
        s = self.sizes
        low = np.empty((T, G))
        t = self.types
        G_ = self._mj.mjtGeom
        for k in range(G):
            rk, zk, sk = r[:, k], z[:, k], s[k]
            if t[k] == int(G_.mjGEOM_SPHERE):
                low[:, k] = zk - sk[0]
            elif t[k] == int(G_.mjGEOM_CAPSULE):
                low[:, k] = zk - np.abs(rk[:, 2]) * sk[1] - sk[0]
            elif t[k] == int(G_.mjGEOM_CYLINDER):
                low[:, k] = zk - np.abs(rk[:, 2]) * sk[1] - sk[0] * np.sqrt(np.clip(1 - rk[:, 2] ** 2, 0, 1))
            elif t[k] == int(G_.mjGEOM_BOX):
                low[:, k] = zk - np.abs(rk) @ sk
            elif t[k] == int(G_.mjGEOM_ELLIPSOID):
                low[:, k] = zk - np.sqrt(((rk * sk) ** 2).sum(-1))
            elif t[k] == int(G_.mjGEOM_MESH):
                low[:, k] = zk + (rk @ self.mesh_verts[k].T).min(axis=1)
            else:  # planes, heightfields, sdf: not part of a robot's body; use the frame origin
                low[:, k] = zk
        return low


def _hull_vertices(model: mujoco.MjModel, mesh_id: int) -> np.ndarray:
    """Vertices of a mesh in its geom's frame; only the convex hull's when MuJoCo computed one."""
    start, num = int(model.mesh_vertadr[mesh_id]), int(model.mesh_vertnum[mesh_id])
    verts = model.mesh_vert[start : start + num]
    adr = int(model.mesh_graphadr[mesh_id])
    if adr >= 0:
        # mesh_graph layout: numvert, numface, vert_edgeadr[numvert], vert_globalid[numvert], ...
        nv = int(model.mesh_graph[adr])
        ids = model.mesh_graph[adr + 2 + nv : adr + 2 + 2 * nv]
        if nv > 0 and ids.min() >= 0 and ids.max() < num:
            return np.asarray(verts[ids], dtype=np.float64)
    return np.asarray(verts, dtype=np.float64)


def _collision_geoms(model: mujoco.MjModel, bodies: set[int] | None = None) -> list[int]:
    """Geoms that collide (contype or conaffinity set) on the robot (not the world body)."""
    ids = []
    for g in range(model.ngeom):
        b = int(model.geom_bodyid[g])
        if b == 0 or (bodies is not None and b not in bodies):
            continue
        if model.geom_contype[g] or model.geom_conaffinity[g]:
            ids.append(g)
    if bodies is not None and not ids:  # feet without collision geoms: fall back to any geom
        ids = [g for g in range(model.ngeom) if int(model.geom_bodyid[g]) in bodies]
    return ids


def _replay(model: mujoco.MjModel, qpos: np.ndarray, geom_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Geom world positions (T, G, 3) and rotations (T, G, 9) over the frames of ``qpos``."""
    import mujoco

    data = mujoco.MjData(model)
    T = qpos.shape[0]
    xpos = np.empty((T, geom_ids.size, 3))
    xmat = np.empty((T, geom_ids.size, 9))
    for i in range(T):
        data.qpos[:] = qpos[i]
        mujoco.mj_kinematics(model, data)
        xpos[i] = data.geom_xpos[geom_ids]
        xmat[i] = data.geom_xmat[geom_ids]
    return xpos, xmat


def _limited_columns(model: mujoco.MjModel) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, qpos columns relative to the joints' block, (J, 2) ranges) of limited 1-DoF joints."""
    import mujoco

    names, cols, ranges = [], [], []
    for j in range(model.njnt):
        if int(model.jnt_type[j]) not in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)):
            continue
        if not model.jnt_limited[j]:
            continue
        names.append(mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j))
        cols.append(int(model.jnt_qposadr[j]) - 7)
        ranges.append(model.jnt_range[j].copy())
    return names, np.asarray(cols, dtype=int), np.asarray(ranges, dtype=np.float64).reshape(-1, 2)


# --------------------------------------------------------------------------- the check
def check_clip(clip: MotionClip, robot: str | RobotSpec | None = None, *, name: str | None = None) -> MotionCheckReport:
    """Replay ``clip`` on ``robot`` (default: the clip's own robot) and measure its kinematic problems.

    ``name`` labels the report (default: the clip's name).
    """
    import mujoco

    spec = get_robot(robot if robot is not None else clip.robot)
    clip.validate(spec)
    model = spec.model
    qpos = clip.qpos

    all_geoms = _collision_geoms(model)
    foot_ids = spec.body_ids(spec.foot_bodies)
    foot_geoms = _collision_geoms(model, set(foot_ids))
    geom_ids = np.asarray(sorted(set(all_geoms) | set(foot_geoms)), dtype=int)
    xpos, xmat = _replay(model, qpos, geom_ids)
    low = _LowestPoint(model, list(geom_ids))(xpos, xmat)  # (T, G)

    pos_of = {int(g): k for k, g in enumerate(geom_ids)}
    body_low = low[:, [pos_of[g] for g in all_geoms]]
    foot_cols = np.array([pos_of[g] for g in foot_geoms])
    foot_body = model.geom_bodyid[geom_ids[foot_cols]]
    per_foot = np.stack([low[:, foot_cols[foot_body == b]].min(axis=1) for b in foot_ids if (foot_body == b).any()], 1)
    foot_low = per_foot.min(axis=1)
    per_frame_low = body_low.min(axis=1)
    t_min, g_min = np.unravel_index(np.argmin(body_low), body_low.shape)
    lowest_body = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, int(model.geom_bodyid[all_geoms[g_min]]))

    names, cols, ranges = _limited_columns(model)
    if cols.size:
        vals = clip.joint_pos[:, cols]
        excess = np.maximum(ranges[:, 0] - vals, vals - ranges[:, 1])  # > 0 outside the range
        bad = excess > JOINT_LIMIT_TOL
        worst_t, worst_j = np.unravel_index(np.argmax(excess), excess.shape)
        has_bad = bool(bad.any())
        per_joint = {names[j]: int(bad[:, j].sum()) for j in range(len(names)) if bad[:, j].any()}
    else:
        bad = np.zeros((qpos.shape[0], 0), dtype=bool)
        has_bad, per_joint, worst_t, worst_j = False, {}, 0, 0

    return MotionCheckReport(
        clip=name or clip.name or "clip",
        robot=spec.name,
        num_frames=clip.num_frames,
        fps=float(clip.fps),
        duration=clip.duration,
        root_height_min=float(clip.root_pos[:, 2].min()),
        root_height_max=float(clip.root_pos[:, 2].max()),
        foot_height_min=float(foot_low.min()),
        foot_height_max=float(foot_low.max()),
        swing_height_max=float(per_foot.max(axis=1).max()),
        lowest_point=float(body_low[t_min, g_min]),
        lowest_body=lowest_body,
        penetration_depth=float(max(0.0, -body_low[t_min, g_min])),
        penetration_frames=int((per_frame_low < -PENETRATION_TOL).sum()),
        joint_limit_violations=int(bad.sum()),
        joint_limit_frames=int(bad.any(axis=1).sum()),
        worst_joint=names[worst_j] if has_bad else None,
        worst_joint_excess=float(excess[worst_t, worst_j]) if has_bad else 0.0,
        worst_joint_frame=int(worst_t) if has_bad else -1,
        violations_per_joint=per_joint,
    )

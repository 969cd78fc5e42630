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
STANCE_HEIGHT = 0.025  # m: stance needs the sole within this of the foot's usual lowest height (5th percentile) ...
STANCE_SPEED = 0.5  # m/s: ... and the foot body moving slower than this horizontally (swing feet move at 1-4 m/s)
SELF_COLLISION_TOL = 0.005  # m: robot geoms overlapping deeper than this collide with each other


@dataclass(frozen=True)
class CheckThresholds:
    """Limits a clip must meet to pass (``check-motion`` exits non-zero otherwise); metres, rad/s.

    Attributes:
        penetration_depth: deepest point of any collision geom below the floor.
        penetration_mean: mean over frames of how far the lowest point is below the floor.
        float_height: median over frames of the lowest foot point (a clip that hovers).
        foot_slide: mean horizontal travel of a foot during one stance phase.
        joint_speed: fastest joint speed (a spike: a frame jump or a wrapped angle).
        root_speed: fastest root speed (m/s).
    """

    penetration_depth: float = PENETRATION_TOL
    penetration_mean: float = 0.01
    float_height: float = 0.02
    foot_slide: float = 0.02
    joint_speed: float = 30.0
    root_speed: float = 10.0


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
        penetration_mean: mean over frames of ``max(0, -lowest point)``.
        float_height: ``max(0, median over frames of the lowest foot point)``.
        stance_phases: contiguous runs (>= 2 frames) of a foot in stance: its sole within
            ``STANCE_HEIGHT`` of its 5th-percentile height and its body slower than ``STANCE_SPEED``.
        foot_slide_mean, foot_slide_max: horizontal path length of the foot body during a stance
            phase, mean and max over phases (0 without stance phases).
        max_joint_speed: fastest finite-difference joint speed (rad/s for hinges).
        max_root_speed: fastest finite-difference root speed (m/s).
        speed_spike_frames: frames whose joint or root speed exceeds the thresholds.
        self_collision_frames: frames where two robot geoms overlap deeper than ``SELF_COLLISION_TOL``.
        self_collision_depth: the deepest such overlap (m).
        self_collision_pair: the two bodies of that overlap (``None`` when there is none).
        thresholds: the limits :meth:`issues` applies.
        traces: per-frame series for plots (not part of :meth:`to_dict`).
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
    penetration_mean: float = 0.0
    float_height: float = 0.0
    stance_phases: int = 0
    foot_slide_mean: float = 0.0
    foot_slide_max: float = 0.0
    max_joint_speed: float = 0.0
    max_root_speed: float = 0.0
    speed_spike_frames: int = 0
    self_collision_frames: int = 0
    self_collision_depth: float = 0.0
    self_collision_pair: tuple[str, str] | None = None
    thresholds: CheckThresholds = field(default_factory=CheckThresholds)
    traces: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

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
        th = self.thresholds
        if self.penetration_mean > th.penetration_mean:
            out.append(f"mean ground penetration {100 * self.penetration_mean:.1f} cm")
        if self.foot_height_min > 0.05:
            out.append(f"feet never touch the floor (lowest foot point {100 * self.foot_height_min:.1f} cm)")
        elif self.float_height > th.float_height:
            out.append(f"feet float: median lowest foot point {100 * self.float_height:.1f} cm above the floor")
        if self.foot_slide_mean > th.foot_slide:
            out.append(
                f"feet slide {100 * self.foot_slide_mean:.1f} cm per stance phase on average "
                f"(worst {100 * self.foot_slide_max:.1f} cm)"
            )
        if self.speed_spike_frames:
            out.append(
                f"velocity spikes in {self.speed_spike_frames} frames (joint up to {self.max_joint_speed:.0f} rad/s, "
                f"root up to {self.max_root_speed:.1f} m/s)"
            )
        if self.self_collision_frames:
            a, b = self.self_collision_pair or ("?", "?")
            out.append(
                f"self-collision in {self.self_collision_frames} frames, worst {a}/{b} "
                f"{100 * self.self_collision_depth:.1f} cm deep"
            )
        return out

    @property
    def passed(self) -> bool:
        """True when the clip meets every threshold."""
        return not self.issues()

    def to_dict(self) -> dict:
        """Plain-types dict (for JSON), with the derived percentages included."""
        d = asdict(self)
        d.pop("traces")
        d["penetration_pct"] = self.penetration_pct
        d["joint_limit_pct"] = self.joint_limit_pct
        d["passed"] = self.passed
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
def stance_phases(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of the contiguous runs of at least 2 True frames of ``mask``."""
    runs, start = [], None
    for t, on in enumerate(list(mask) + [False]):
        if on and start is None:
            start = t
        elif not on and start is not None:
            if t - start >= 2:
                runs.append((start, t))
            start = None
    return runs


def stance_mask(sole: np.ndarray, foot_xy: np.ndarray, fps: float) -> np.ndarray:
    """(T, F) bool stance frames of each foot from sole heights (T, F) and body positions
    (T, F, 2+): sole within ``STANCE_HEIGHT`` of its 5th-percentile height (robust to a few
    penetrating frames) and the foot slower than ``STANCE_SPEED``. Shared with clean-motion."""
    out = np.zeros(sole.shape, dtype=bool)
    for k in range(sole.shape[1]):
        speed = np.linalg.norm(np.gradient(foot_xy[:, k, :2], axis=0), axis=1) * fps if len(sole) > 1 else np.zeros(1)
        out[:, k] = (sole[:, k] < np.percentile(sole[:, k], 5) + STANCE_HEIGHT) & (speed < STANCE_SPEED)
    return out


def _self_collisions(model: mujoco.MjModel, qpos: np.ndarray) -> tuple[int, float, tuple[str, str] | None]:
    """(frames with robot geoms overlapping deeper than ``SELF_COLLISION_TOL``, deepest overlap,
    its body pair) from MuJoCo's own collision detection (the MJCF's contype/conaffinity and
    excludes decide which pairs can collide; parent and child never do)."""
    import mujoco

    data = mujoco.MjData(model)
    frames, deepest, pair = 0, 0.0, None
    for i in range(qpos.shape[0]):
        data.qpos[:] = qpos[i]
        mujoco.mj_fwdPosition(model, data)
        hit = False
        for c in data.contact[: data.ncon]:
            b1, b2 = int(model.geom_bodyid[c.geom1]), int(model.geom_bodyid[c.geom2])
            if b1 == 0 or b2 == 0 or -c.dist <= SELF_COLLISION_TOL:
                continue
            hit = True
            if -c.dist > deepest:
                deepest = float(-c.dist)
                name = lambda b: mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b)  # noqa: E731
                pair = (name(b1), name(b2))
        frames += hit
    return frames, deepest, pair


def check_clip(
    clip: MotionClip,
    robot: str | RobotSpec | None = None,
    *,
    name: str | None = None,
    thresholds: CheckThresholds | None = None,
) -> MotionCheckReport:
    """Replay ``clip`` on ``robot`` (default: the clip's own robot) and measure its kinematic problems.

    ``name`` labels the report (default: the clip's name); ``thresholds`` decide what counts as a
    problem (:class:`CheckThresholds` defaults).
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

    # Feet: stance phases and how far the foot body travels in each.
    import mujoco as _mj

    data = _mj.MjData(model)
    foot_xy = np.empty((qpos.shape[0], len(foot_ids), 2))
    for i in range(qpos.shape[0]):
        data.qpos[:] = qpos[i]
        _mj.mj_kinematics(model, data)
        foot_xy[i] = data.xpos[foot_ids, :2]
    stance = stance_mask(per_foot, foot_xy, float(clip.fps))
    slides = [
        float(np.linalg.norm(np.diff(foot_xy[a:b, k], axis=0), axis=1).sum())
        for k in range(per_foot.shape[1])
        for a, b in stance_phases(stance[:, k])
    ]

    # Speeds by finite differences (joint angles of ball joints are quaternions: skip those columns).
    th = thresholds or CheckThresholds()
    dt = 1.0 / float(clip.fps)
    scalar_cols = cols if cols.size else np.zeros(0, dtype=int)
    joint_speed = np.abs(np.diff(clip.joint_pos[:, scalar_cols], axis=0)) / dt if scalar_cols.size else np.zeros((0, 0))
    root_speed = np.linalg.norm(np.diff(clip.root_pos, axis=0), axis=1) / dt
    frame_joint_speed = joint_speed.max(axis=1) if joint_speed.size else np.zeros(max(qpos.shape[0] - 1, 0))
    spikes = (frame_joint_speed > th.joint_speed) | (root_speed > th.root_speed)
    collide_frames, collide_depth, collide_pair = _self_collisions(model, qpos)

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
        penetration_mean=float(np.maximum(0.0, -per_frame_low).mean()),
        float_height=float(max(0.0, np.median(foot_low))),
        stance_phases=len(slides),
        foot_slide_mean=float(np.mean(slides)) if slides else 0.0,
        foot_slide_max=float(np.max(slides)) if slides else 0.0,
        max_joint_speed=float(frame_joint_speed.max()) if frame_joint_speed.size else 0.0,
        max_root_speed=float(root_speed.max()) if root_speed.size else 0.0,
        speed_spike_frames=int(spikes.sum()),
        self_collision_frames=int(collide_frames),
        self_collision_depth=float(collide_depth),
        self_collision_pair=collide_pair,
        thresholds=th,
        traces={
            "time": np.arange(qpos.shape[0]) * dt,
            "foot_height": per_foot,
            "lowest_point": per_frame_low,
            "root_height": clip.root_pos[:, 2].copy(),
            "joint_speed": np.concatenate([[0.0], frame_joint_speed]) if frame_joint_speed.size else np.zeros(qpos.shape[0]),
        },
    )

"""Cleaning a clip so a policy can track it: feet on the ground, no sliding in stance, smooth,
inside the joint limits.

Noisy retargets make feet float, sink or skate, and a tracking policy then terminates early
because the reference itself touches the ground wrongly. :func:`clean_clip` fixes, in order:

1. **trimming** of ``trim_start`` / ``trim_end`` seconds;
2. **joint-limit clamping** of every limited hinge or slide joint;
3. **smoothing** (optional): a Gaussian filter of ``smooth_sigma`` frames over the root position
   and the hinge angles (quaternion columns are left alone);
4. **foot lock** (needs mink): in each stance phase a foot is held at the mean horizontal
   position it had during the phase, by per-frame IK on the whole body (foot: position and
   orientation; pelvis and the rest of the pose: held close to where they were), blended in
   over the ``lock_blend`` frames before the phase and out over those after it;
5. **ground contact**: a per-frame vertical root correction. In contact frames (a foot in
   stance) the lowest collision point is put exactly on the floor; between them the correction
   is interpolated, and it is raised wherever the robot would still go below the floor.

Steps 4 and 5 run ``passes`` times (stance is detected again each time). Stance uses the same rule as :mod:`mimic_lit.motion.checks` (sole near its usual lowest height
and the foot slower than ``STANCE_SPEED``), so check and clean agree on what a stance phase is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mimic_lit.errors import MimicLitError
from mimic_lit.motion.checks import _collision_geoms, _LowestPoint, _replay, stance_mask, stance_phases
from mimic_lit.motion.clip import MotionClip
from mimic_lit.robots import RobotSpec, get_robot

__all__ = ["CleanConfig", "clean_clip"]


@dataclass(frozen=True)
class CleanConfig:
    """What :func:`clean_clip` does (see the module docstring; lengths in seconds or frames)."""

    trim_start: float = 0.0
    trim_end: float = 0.0
    clamp_limits: bool = True
    smooth_sigma: float = 0.0
    foot_lock: bool = True
    lock_blend: int = 3
    lock_iterations: int = 20
    ground: bool = True
    passes: int = 2


def _feet(spec: RobotSpec, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame and foot: sole height (T, F), body position (T, F, 3) and body quaternion (T, F, 4)."""
    import mujoco

    model = spec.model
    foot_ids = spec.body_ids(spec.foot_bodies)
    geoms = _collision_geoms(model, set(foot_ids))
    ids = np.asarray(geoms, dtype=int)
    xpos, xmat = _replay(model, qpos, ids)
    low = _LowestPoint(model, geoms)(xpos, xmat)
    owner = model.geom_bodyid[ids]
    sole = np.stack([low[:, owner == b].min(axis=1) for b in foot_ids], axis=1)
    data = mujoco.MjData(model)
    pos = np.empty((qpos.shape[0], len(foot_ids), 3))
    quat = np.empty((qpos.shape[0], len(foot_ids), 4))
    for i in range(qpos.shape[0]):
        data.qpos[:] = qpos[i]
        mujoco.mj_kinematics(model, data)
        pos[i] = data.xpos[foot_ids]
        quat[i] = data.xquat[foot_ids]
    return sole, pos, quat


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0 with edge padding."""
    radius = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(x, [(radius, radius)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    return np.stack([np.convolve(pad[:, j], k, mode="valid") for j in range(x.shape[1])], axis=1)


def _foot_lock(spec: RobotSpec, qpos: np.ndarray, stance: np.ndarray, foot_pos: np.ndarray, foot_quat: np.ndarray,
               cfg: CleanConfig, progress: Callable[[int, int], None] | None) -> np.ndarray:  # fmt: skip
    """Hold each stance foot at its phase's mean horizontal position by per-frame IK."""
    import mink

    model = spec.model
    targets = foot_pos.copy()
    weight = np.zeros(stance.shape)
    n = max(0, int(cfg.lock_blend))
    total = len(qpos)
    for k in range(stance.shape[1]):
        for a, b in stance_phases(stance[:, k]):
            locked = foot_pos[a:b, k, :2].mean(axis=0)
            # Fully locked inside the phase; blended in over the n frames before it and out over
            # the n frames after it (where a neighbouring phase's blend is stronger, it wins).
            for t in range(max(0, a - n), min(total, b + n)):
                d = a - t if t < a else (t - b + 1 if t >= b else 0)
                w = 1.0 - d / (n + 1)
                if w > weight[t, k]:
                    weight[t, k] = w
                    targets[t, k, :2] = locked
    moved = (weight > 0).any(axis=1)
    out = qpos.copy()
    if not moved.any():
        return out
    configuration = mink.Configuration(model)
    feet = [mink.FrameTask(b, "body", position_cost=10.0, orientation_cost=2.0, lm_damping=1.0) for b in spec.foot_bodies]
    import mujoco

    root_body = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, 1)  # the floating base
    pelvis = mink.FrameTask(root_body, "body", position_cost=1.0, orientation_cost=1.0, lm_damping=1.0)
    posture = mink.PostureTask(model, cost=0.1)
    limits = [mink.ConfigurationLimit(model)]
    if len(spec.foot_bodies) == 2:  # locked feet must not be pushed into each other (crossing steps in turns)
        sides = []
        for body in spec.body_ids(spec.foot_bodies):
            sides.append(_collision_geoms(model, {int(body), int(model.body_parentid[body])}))
        limits.append(mink.CollisionAvoidanceLimit(
            model, [tuple(sides)], minimum_distance_from_collisions=0.005, collision_detection_distance=0.15,
        ))  # fmt: skip
    frames = np.flatnonzero(moved)
    for n_done, t in enumerate(frames):
        configuration.update(qpos[t])
        blended = foot_pos[t] + weight[t][:, None] * (targets[t] - foot_pos[t])
        for k, task in enumerate(feet):
            task.set_target(mink.SE3.from_rotation_and_translation(mink.SO3(foot_quat[t, k]), blended[k]))
        pelvis.set_target(mink.SE3.from_rotation_and_translation(mink.SO3(qpos[t, 3:7]), qpos[t, :3]))
        posture.set_target(qpos[t])
        for _ in range(cfg.lock_iterations):
            vel = mink.solve_ik(configuration, [*feet, pelvis, posture], 0.05, solver="daqp", damping=1e-3, limits=limits)
            configuration.integrate_inplace(vel, 0.05)
        out[t] = configuration.q
        if progress is not None:
            progress(n_done + 1, len(frames))
    return out


def _ground(spec: RobotSpec, qpos: np.ndarray, contact: np.ndarray) -> np.ndarray:
    """Per-frame root height correction: contact frames on the floor, none below it."""
    model = spec.model
    geoms = _collision_geoms(model)
    xpos, xmat = _replay(model, qpos, np.asarray(geoms, dtype=int))
    lowest = _LowestPoint(model, geoms)(xpos, xmat).min(axis=1)
    t = np.arange(len(qpos))
    if contact.any():
        dz = np.interp(t, t[contact], -lowest[contact])
    else:
        dz = np.full(len(qpos), -lowest.min())
    return np.maximum(dz, -lowest)  # never below the floor


def clean_clip(
    clip: MotionClip,
    config: CleanConfig | None = None,
    robot: str | RobotSpec | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MotionClip:
    """A cleaned copy of ``clip`` (see the module docstring); the input is not changed."""
    import mujoco

    cfg = config or CleanConfig()
    spec = get_robot(robot if robot is not None else clip.robot)
    clip.validate(spec)
    qpos = clip.qpos.copy()
    fps = float(clip.fps)
    first = int(round(cfg.trim_start * fps))
    last = qpos.shape[0] - int(round(cfg.trim_end * fps))
    if cfg.trim_start < 0 or cfg.trim_end < 0 or last - first < 2:
        raise MimicLitError(
            f"trimming {cfg.trim_start:g} s and {cfg.trim_end:g} s leaves {max(last - first, 0)} frames of {qpos.shape[0]}"
        )
    qpos = qpos[first:last]
    model = spec.model
    hinge = [
        (int(model.jnt_qposadr[j]), model.jnt_range[j], bool(model.jnt_limited[j]))
        for j in range(model.njnt)
        if int(model.jnt_type[j]) in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    ]
    if cfg.smooth_sigma > 0:
        cols = [0, 1, 2] + [a for a, _, _ in hinge]
        qpos[:, cols] = _smooth(qpos[:, cols], cfg.smooth_sigma)
    if cfg.clamp_limits:
        for a, (lo, hi), limited in hinge:
            if limited:
                qpos[:, a] = np.clip(qpos[:, a], lo, hi)
    # Stance is detected again on each pass: putting a floating clip on the floor can turn frames
    # into stance that were not before, and those get locked on the next pass.
    for _ in range(max(1, cfg.passes)):
        sole, foot_pos, foot_quat = _feet(spec, qpos)
        stance = stance_mask(sole, foot_pos, fps)
        if cfg.foot_lock:
            qpos = _foot_lock(spec, qpos, stance, foot_pos, foot_quat, cfg, progress)
            if cfg.clamp_limits:  # the IK respects limits up to its tolerance; make it exact
                for a, (lo, hi), limited in hinge:
                    if limited:
                        qpos[:, a] = np.clip(qpos[:, a], lo, hi)
        if cfg.ground:
            qpos[:, 2] += _ground(spec, qpos, stance.any(axis=1))
    return MotionClip.from_qpos(
        qpos, fps, robot=spec.name, name=clip.name, loop=clip.loop if first == 0 and last == clip.num_frames else "clamp",
        joint_names=tuple(spec.joint_names),
        source=f"{clip.source or clip.name} (cleaned by mimic-lit clean-motion)",
    )  # fmt: skip

"""Per-frame inverse kinematics with mink: a source motion becomes a clip of a robot.

For every output frame the robot's pose is solved as a small QP (mink, solver ``daqp``): frame
tasks pull the mapped robot bodies toward their targets (see :mod:`mimic_lit.retarget.mapping`),
a light posture task keeps unconstrained joints near their rest angles, and a configuration limit
keeps every joint inside its range, and a collision-avoidance limit keeps the map's body groups
apart (arms out of the hips). Each frame starts from the previous frame's solution, so
the IK tracks the motion smoothly and needs few iterations. Afterwards the clip is shifted
vertically so that the robot's lowest collision geoms sit on the ground (the 20th percentile of
the per-frame lowest point becomes 0: stance frames of walks and runs alike), and joints are
clamped to their limits exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.motion.clip import MotionClip
from mimic_lit.retarget.mapping import RetargetMap
from mimic_lit.retarget.source import SourceMotion, _rest_joint_pos
from mimic_lit.rotations import quat_conj, quat_mul, quat_rotate

__all__ = ["RetargetResult", "retarget_motion"]


@dataclass
class RetargetResult:
    """The clip, the scale used, and per-frame mean position error of the targets (m)."""

    clip: MotionClip
    scale: float
    position_error: np.ndarray  # (T,) mean over position targets of |robot body - target|
    ground_shift: float  # metres added to the root height to put the feet on the ground


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _leg_length(pos: np.ndarray, index: Callable[[str], int], hips, ankles) -> float:
    return float(np.mean([np.linalg.norm(pos[index(h)] - pos[index(a)]) for h, a in zip(hips, ankles)]))


def retarget_motion(
    source: SourceMotion,
    robot: str,
    mapping: RetargetMap,
    *,
    iterations: int = 8,
    first_iterations: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> RetargetResult:
    """Retarget ``source`` onto ``robot`` with ``mapping``; one output frame per source frame."""
    import mink
    import mujoco

    from mimic_lit.motion.checks import _collision_geoms, _LowestPoint, _replay
    from mimic_lit.motion.kinematics import forward_kinematics
    from mimic_lit.motion.skeleton import Skeleton
    from mimic_lit.robots import get_robot

    spec = get_robot(robot)
    if mapping.robot != spec.name:
        raise MimicLitError(f"the map is for robot '{mapping.robot}', not '{spec.name}'")
    if mapping.source != source.name:
        raise MimicLitError(f"the map is for source skeleton '{mapping.source}', the motion's is '{source.name}'")
    skel = Skeleton.from_robot(spec)
    mapping.check_bodies(set(skel.body_names), set(source.body_names))
    model = spec.model
    rest_joints = _rest_joint_pos(spec)
    rr_pos, rr_quat = forward_kinematics(skel, _t([[0, 0, 0]]), _t([[1, 0, 0, 0]]), _t(rest_joints)[None])
    rob_rest_pos, rob_rest_quat = rr_pos[0].numpy(), rr_quat[0].numpy()
    rob_index = skel.body_names.index

    def rob_body_id(name: str) -> int:
        return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)

    scale = mapping.scale
    if scale is None:
        scale = _leg_length(rob_rest_pos, rob_index, mapping.hips_robot, mapping.ankles_robot) / _leg_length(
            source.rest_pos, source.index, mapping.hips_source, mapping.ankles_source
        )

    # Orientation offsets (rest-pose rotation between the two bodies) and the root's hip offset.
    def offset(robot_body: str, source_body: str) -> torch.Tensor:
        return quat_mul(quat_conj(_t(source.rest_quat[source.index(source_body)])), _t(rob_rest_quat[rob_index(robot_body)]))

    root_off = offset(mapping.root_robot, mapping.root_source)
    src_root_rest = source.rest_pos[source.index(mapping.root_source)]
    src_hips = np.mean([source.rest_pos[source.index(h)] for h in mapping.hips_source], axis=0) - src_root_rest
    rob_hips = np.mean([rob_rest_pos[rob_index(h)] for h in mapping.hips_robot], axis=0) - rob_rest_pos[rob_index(mapping.root_robot)]
    src_hips_local = quat_rotate(quat_conj(_t(source.rest_quat[source.index(mapping.root_source)])), _t(src_hips))
    rob_hips_local = quat_rotate(quat_conj(_t(rob_rest_quat[rob_index(mapping.root_robot)])), _t(rob_hips))

    # Targets for all frames at once.
    pos, quat = _t(source.pos), _t(source.quat)
    r = source.index(mapping.root_source)
    root_quat = quat_mul(quat[:, r], root_off.expand(len(quat), 4))
    root_pos = (
        scale * pos[:, r]
        + quat_rotate(quat[:, r], (scale * src_hips_local).expand(len(quat), 3))
        - quat_rotate(root_quat, rob_hips_local.expand(len(quat), 3))
    )
    body_targets = []
    for t in mapping.targets:
        if t.position <= 0 and t.orientation <= 0:
            continue
        i = source.index(t.source)
        q = quat_mul(quat[:, i], offset(t.robot, t.source).expand(len(quat), 4))
        body_targets.append((t, (scale * pos[:, i]).numpy(), q.numpy()))

    configuration = mink.Configuration(model)
    root_task = mink.FrameTask(
        mapping.root_robot, "body", position_cost=mapping.root_position, orientation_cost=mapping.root_orientation,
        lm_damping=1.0,
    )  # fmt: skip
    tasks = [root_task]
    frame_tasks = []
    for t, _, _ in body_targets:
        task = mink.FrameTask(t.robot, "body", position_cost=t.position, orientation_cost=t.orientation, lm_damping=1.0)
        tasks.append(task)
        frame_tasks.append(task)
    posture = mink.PostureTask(model, cost=mapping.posture_weight)
    q0 = np.concatenate([root_pos[0].numpy(), root_quat[0].numpy(), rest_joints])
    posture.set_target(q0)
    if mapping.posture_weight > 0:
        tasks.append(posture)
    limits = [mink.ConfigurationLimit(model)]
    if mapping.avoid:
        geoms_of = lambda bodies: _collision_geoms(model, {rob_body_id(b) for b in bodies})  # noqa: E731
        pairs = [(geoms_of(a), geoms_of(b)) for a, b in mapping.avoid]
        limits.append(mink.CollisionAvoidanceLimit(
            model, pairs, minimum_distance_from_collisions=0.01, collision_detection_distance=0.15,
        ))  # fmt: skip
    configuration.update(q0)

    n = source.num_frames
    qpos = np.empty((n, model.nq))
    err = np.empty(n)
    pos_np, quat_np = root_pos.numpy(), root_quat.numpy()
    dt = 0.05
    for f in range(n):
        root_task.set_target(mink.SE3.from_rotation_and_translation(mink.SO3(quat_np[f]), pos_np[f]))
        for task, (_, p, q) in zip(frame_tasks, body_targets):
            task.set_target(mink.SE3.from_rotation_and_translation(mink.SO3(q[f]), p[f]))
        for _ in range(first_iterations if f == 0 else iterations):
            vel = mink.solve_ik(configuration, tasks, dt, solver="daqp", damping=1e-3, limits=limits)
            configuration.integrate_inplace(vel, dt)
        qpos[f] = configuration.q
        data = configuration.data
        gaps = [
            np.linalg.norm(data.xpos[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, t.robot)] - p[f])
            for t, p, _ in body_targets
            if t.position > 0
        ]
        err[f] = float(np.mean(gaps)) if gaps else 0.0
        if progress is not None:
            progress(f + 1, n)

    # Exact joint limits, then feet on the ground.
    low = model.jnt_range[:, 0]
    for j in range(model.njnt):
        hinge_or_slide = int(model.jnt_type[j]) in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
        if model.jnt_limited[j] and hinge_or_slide:
            a = model.jnt_qposadr[j]
            qpos[:, a] = np.clip(qpos[:, a], low[j], model.jnt_range[j, 1])
    geoms = np.asarray(_collision_geoms(model), dtype=int)
    xpos, xmat = _replay(model, qpos, geoms)
    lowest = _LowestPoint(model, list(geoms))(xpos, xmat).min(axis=1)
    shift = -float(np.percentile(lowest, 20))
    qpos[:, 2] += shift
    clip = MotionClip.from_qpos(
        qpos, source.fps, robot=spec.name, name=source.clip_name, loop=source.loop, joint_names=tuple(spec.joint_names),
        source=f"retargeted from {source.source or source.clip_name} ({source.name} -> {spec.name}, mimic-lit retarget)",
    )  # fmt: skip
    return RetargetResult(clip=clip, scale=float(scale), position_error=err, ground_shift=shift)

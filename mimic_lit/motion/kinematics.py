"""Batched forward kinematics and body velocities in torch, matching MuJoCo's ``mj_kinematics``.

All functions take any leading batch shape ``(...)``, float32 or float64, on any device, and follow
the :class:`~mimic_lit.motion.skeleton.Skeleton` layout: bodies exclude the world (body ``i`` is
MuJoCo body ``i + 1``), ``joint_pos`` is ``qpos[7:]`` and ``joint_vel`` is ``qvel[6:]``.
Everything is in the world frame (z up) unless a name says otherwise. Root angular velocity is
world-frame here; MuJoCo's free-joint ``qvel[3:6]`` is the same vector in the root's local frame.

The tree is walked by depth level (one batched step per level), so the cost grows with the depth of
the tree, not the number of bodies or the batch size.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.motion.skeleton import Skeleton, SkeletonTensors
from mimic_lit.rotations import quat_conj, quat_mul, quat_normalize, quat_to_exp_map

__all__ = [
    "BodyState",
    "ClipVelocities",
    "forward_kinematics",
    "forward_kinematics_with_velocities",
    "body_velocities",
    "clip_velocities",
]


class BodyState(NamedTuple):
    """World-frame pose and velocity of every body, each (..., num_bodies, 3 or 4)."""

    pos: torch.Tensor
    quat: torch.Tensor
    lin_vel: torch.Tensor  # velocity of the body frame's origin
    ang_vel: torch.Tensor


class ClipVelocities(NamedTuple):
    """Finite-difference velocities of clip frames (world frame; ball joints in their child frame)."""

    root_lin_vel: torch.Tensor  # (T, 3)
    root_ang_vel: torch.Tensor  # (T, 3)
    joint_vel: torch.Tensor  # (T, num_joint_dofs)
    body_lin_vel: torch.Tensor | None = None  # (T, nb, 3), only when asked
    body_ang_vel: torch.Tensor | None = None  # (T, nb, 3)


# ---------------------------------------------------------------------------------------- helpers
# Internally tensors are laid out (N, C, B): N bodies or joints, C = 3 or 4 components, B the flattened
# batch innermost. Every component of every body is then a contiguous run of B values, gathering bodies
# is a fast ``index_select`` on dim 0, and converting to/from the public (B, N, C) layout is one 2-D
# transpose. (Batch-first layouts made this 3-6x slower on CPU, through strided gathers and copies.)


def _check(skel: Skeleton, root_pos: torch.Tensor, root_quat: torch.Tensor, joint_pos: torch.Tensor) -> None:
    if root_pos.shape[-1] != 3 or root_quat.shape[-1] != 4:
        shapes = f"{tuple(root_pos.shape)} and {tuple(root_quat.shape)}"
        raise MimicLitError(f"root_pos must be (..., 3) and root_quat (..., 4), got {shapes}")
    if joint_pos.shape[-1] != skel.num_joint_coords:
        raise MimicLitError(
            f"joint_pos has {joint_pos.shape[-1]} columns but skeleton '{skel.name}' has {skel.num_joint_coords}"
        )


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ax, ay, az = a.unbind(1)
    bx, by, bz = b.unbind(1)
    return torch.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], 1)


def _qmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    aw, ax, ay, az = a.unbind(1)
    bw, bx, by, bz = b.unbind(1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        1,
    )


def _qrot(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    u = q[:, 1:]
    t = 2.0 * _cross(u, v)
    return v + q[:, :1] * t + _cross(u, t)


def _qnormalize(q: torch.Tensor) -> torch.Tensor:
    w, x, y, z = q.unbind(1)  # a norm over a middle dim is a slow strided reduction on CPU
    return q / torch.sqrt(w * w + x * x + y * y + z * z).clamp_min(1e-12).unsqueeze(1)


def _to_ncb(x: torch.Tensor) -> torch.Tensor:
    """(B, C) -> (1, C, B)."""
    return x.T.unsqueeze(0)


def _to_bnc(x: torch.Tensor) -> torch.Tensor:
    """(N, C, B) -> (B, N, C) contiguous, as one 2-D transpose."""
    n, c, b = x.shape
    return x.reshape(n * c, b).T.contiguous().reshape(b, n, c)


def _sel(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return x.index_select(0, idx)


def _joint_quats(T: SkeletonTensors, jp: torch.Tensor) -> torch.Tensor:
    """(nb, K, 4, B) rotation of every joint slot: hinge axis-angle, ball quaternion, identity else.

    ``jp`` is the joint coordinates transposed with a zero row appended, (D + 1, B).
    """
    nb, K = T.slot_hinge_col.shape
    B = jp.shape[1]
    angle = jp.index_select(0, T.slot_hinge_col.reshape(-1)) - T.slot_hinge_qpos0.reshape(-1, 1)
    half = 0.5 * angle  # (nb * K, B); 0 for non-hinge slots, giving the identity
    s = torch.sin(half).unsqueeze(1)
    jq = torch.cat([torch.cos(half).unsqueeze(1), T.slot_hinge_axis.reshape(-1, 3, 1) * s], 1)
    if T.ball_slots.numel():
        nball = T.ball_slots.numel()
        ball_q = _qnormalize(jp.index_select(0, T.ball_cols.reshape(-1)).reshape(nball, 4, B))
        jq = jq.index_copy(0, T.ball_slots, ball_q)
    return jq.reshape(nb, K, 4, B)


def _local_transforms(
    T: SkeletonTensors, jp: torch.Tensor, want_frames: bool
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None]:
    """Each body's pose in its parent's frame after its joints, composed in MJCF order as MuJoCo does.

    Returns position (nb, 3, B or 1) and quaternion (nb, 4, B). With ``want_frames`` also returns, per
    slot and in the parent frame, the joint anchor, the joint axis and the rotation right after the
    joint, (nb, K, 3/3/4, B or 1), used for velocities.
    """
    B = jp.shape[1]
    nb, K = T.slot_hinge_col.shape
    jq = _joint_quats(T, jp)
    q = T.local_quat[:, :, None]  # (nb, 4, 1)
    p = T.local_pos[:, :, None]  # (nb, 3, 1)
    slide = None
    if T.slide_joints.numel():
        amount = jp.index_select(0, T.slot_slide_col.reshape(-1)) - T.slot_slide_qpos0.reshape(-1, 1)
        slide = amount.reshape(nb, K, 1, B)
    anchors, axes, afters = [], [], []
    for k in range(K):
        if T.has_offsets:
            anchor_k = T.slot_anchor[:, k, :, None]  # (nb, 3, 1)
            anchor = p + _qrot(q, anchor_k)
        else:
            anchor = p
        axis = _qrot(q, T.slot_axis[:, k, :, None]) if (want_frames or slide is not None) else None
        q_new = _qmul(q, jq[:, k])
        if T.has_offsets:
            # Rotation about the anchor, not the body origin (MuJoCo's off-centre correction), then slide.
            p = anchor - _qrot(q_new, anchor_k)
            if slide is not None:
                p = p + axis * slide[:, k]
        q = q_new
        if want_frames:
            last = B if K > 1 else 1  # slots after the first depend on the batch
            anchors.append(anchor.expand(nb, 3, last))
            axes.append(axis.expand(nb, 3, last))
            afters.append(q_new)
    frames = (torch.stack(anchors, 1), torch.stack(axes, 1), torch.stack(afters, 1)) if want_frames else None
    return p, q, frames


def _propagate(
    T: SkeletonTensors, root_pos: torch.Tensor, root_quat: torch.Tensor, p_loc: torch.Tensor, q_loc: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """World poses (nb, 3/4, B) from local ones, one batched step per depth level of the tree."""
    nb, B = q_loc.shape[0], q_loc.shape[-1]
    pos = root_pos.new_empty(nb, 3, B)
    quat = root_quat.new_empty(nb, 4, B)
    pos[:1] = root_pos
    quat[:1] = root_quat
    for bodies, parents in zip(T.level_bodies[1:], T.level_parents[1:]):
        pq = _sel(quat, parents)
        pos.index_copy_(0, bodies, _sel(pos, parents) + _qrot(pq, _sel(p_loc, bodies)))
        quat.index_copy_(0, bodies, _qmul(pq, _sel(q_loc, bodies)))
    return pos, quat


def _prepare(
    skel: Skeleton, root_pos: torch.Tensor, root_quat: torch.Tensor, joint_pos: torch.Tensor
) -> tuple[tuple[int, ...], SkeletonTensors, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch shape, tables, and root pos (1, 3, B), unit root quat (1, 4, B), joints (D + 1, B)."""
    _check(skel, root_pos, root_quat, joint_pos)
    batch = joint_pos.shape[:-1]
    jp = joint_pos.reshape(-1, joint_pos.shape[-1])
    T = skel.tensors(jp.device, jp.dtype)
    rp = _to_ncb(root_pos.reshape(-1, 3))
    rq = _qnormalize(_to_ncb(root_quat.reshape(-1, 4)))
    jp = torch.cat([jp.T, jp.new_zeros(1, jp.shape[0])], 0)  # zero row: the angle of padding slots
    return batch, T, rp, rq, jp


# ---------------------------------------------------------------------------------------- public API
def forward_kinematics(
    skel: Skeleton, root_pos: torch.Tensor, root_quat: torch.Tensor, joint_pos: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """World pose of every body: ``body_pos`` (..., nb, 3) and ``body_quat`` (..., nb, 4) (w, x, y, z).

    Args:
        skel: the robot's tree.
        root_pos: (..., 3) root body position (MuJoCo ``qpos[0:3]``).
        root_quat: (..., 4) root orientation (``qpos[3:7]``); normalised here as MuJoCo does.
        joint_pos: (..., num_joint_coords) joint coordinates (``qpos[7:]``).
    """
    batch, T, rp, rq, jp = _prepare(skel, root_pos, root_quat, joint_pos)
    p_loc, q_loc, _ = _local_transforms(T, jp, want_frames=False)
    pos, quat = _propagate(T, rp, rq, p_loc, q_loc)
    nb = skel.num_bodies
    return _to_bnc(pos).reshape(batch + (nb, 3)), _to_bnc(quat).reshape(batch + (nb, 4))


def forward_kinematics_with_velocities(
    skel: Skeleton,
    root_pos: torch.Tensor,
    root_quat: torch.Tensor,
    joint_pos: torch.Tensor,
    root_lin_vel: torch.Tensor,
    root_ang_vel: torch.Tensor,
    joint_vel: torch.Tensor,
) -> BodyState:
    """Body poses and exact velocities, by propagating twists from the root down the tree.

    ``root_lin_vel`` and ``root_ang_vel`` (..., 3) are world-frame; ``joint_vel`` (..., nv - 6) is
    MuJoCo's ``qvel[6:]`` (ball joints: angular velocity in the body frame after the ball rotation;
    MuJoCo allows no rotation after a ball joint in the same body).
    Returned linear velocities are those of each body frame's origin (MuJoCo ``mjOBJ_XBODY``).
    """
    if joint_vel.shape[-1] != skel.num_joint_dofs:
        raise MimicLitError(
            f"joint_vel has {joint_vel.shape[-1]} columns but skeleton '{skel.name}' has {skel.num_joint_dofs} DoF"
        )
    batch, T, rp, rq, jp = _prepare(skel, root_pos, root_quat, joint_pos)
    B, nb = jp.shape[1], skel.num_bodies
    jv = joint_vel.reshape(-1, joint_vel.shape[-1]).T.contiguous()  # (nv - 6, B)
    rv = _to_ncb(root_lin_vel.reshape(-1, 3))
    rw = _to_ncb(root_ang_vel.reshape(-1, 3))
    p_loc, q_loc, frames = _local_transforms(T, jp, want_frames=True)
    pos, quat = _propagate(T, rp, rq, p_loc, q_loc)
    assert frames is not None
    anchor_l, axis_l, after_l = (f.flatten(0, 1) for f in frames)  # (nb * K, C, B or 1)
    K = T.num_slots

    omega_body = pos.new_zeros(nb, 3, B)
    vel_body = pos.new_zeros(nb, 3, B)

    def joint_frames(joints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Bodies, parent quats and flat slot indices of ``joints``."""
        bodies = T.joint_body.index_select(0, joints)
        slots = bodies * K + T.joint_slot.index_select(0, joints)
        return bodies, _sel(quat, T.parents.index_select(0, bodies)), slots

    def add_rotation(omega: torch.Tensor, pquat: torch.Tensor, bodies: torch.Tensor, slots: torch.Tensor) -> None:
        """Add the twist of rotating joints (world angular velocity ``omega``) to their bodies."""
        parent_pos = _sel(pos, T.parents.index_select(0, bodies))
        anchor = parent_pos + _qrot(pquat, _sel(anchor_l, slots))
        omega_body.index_add_(0, bodies, omega)
        vel_body.index_add_(0, bodies, _cross(omega, _sel(pos, bodies) - anchor))

    if T.hinge_joints.numel():
        bodies, pquat, slots = joint_frames(T.hinge_joints)
        axis = _qrot(pquat, _sel(axis_l, slots))
        add_rotation(axis * jv.index_select(0, T.hinge_dof_cols)[:, None], pquat, bodies, slots)
    if T.ball_joints.numel():
        bodies, pquat, slots = joint_frames(T.ball_joints)
        frame = _qmul(pquat, _sel(after_l, slots))
        nball = T.ball_joints.numel()
        w_local = jv.index_select(0, T.ball_dof_cols.reshape(-1)).reshape(nball, 3, B)
        add_rotation(_qrot(frame, w_local), pquat, bodies, slots)
    if T.slide_joints.numel():
        bodies, pquat, slots = joint_frames(T.slide_joints)
        axis = _qrot(pquat, _sel(axis_l, slots))
        vel_body.index_add_(0, bodies, axis * jv.index_select(0, T.slide_dof_cols)[:, None])

    # Twist propagation: child = parent twist moved to the child origin + the child's joint twists.
    ang = pos.new_empty(nb, 3, B)
    lin = pos.new_empty(nb, 3, B)
    ang[:1] = rw
    lin[:1] = rv
    for bodies, parents in zip(T.level_bodies[1:], T.level_parents[1:]):
        wp, vp = _sel(ang, parents), _sel(lin, parents)
        lever = _sel(pos, bodies) - _sel(pos, parents)
        ang.index_copy_(0, bodies, wp + _sel(omega_body, bodies))
        lin.index_copy_(0, bodies, vp + _cross(wp, lever) + _sel(vel_body, bodies))
    return BodyState(
        _to_bnc(pos).reshape(batch + (nb, 3)),
        _to_bnc(quat).reshape(batch + (nb, 4)),
        _to_bnc(lin).reshape(batch + (nb, 3)),
        _to_bnc(ang).reshape(batch + (nb, 3)),
    )


def body_velocities(
    skel: Skeleton,
    root_pos: torch.Tensor,
    root_quat: torch.Tensor,
    joint_pos: torch.Tensor,
    root_lin_vel: torch.Tensor,
    root_ang_vel: torch.Tensor,
    joint_vel: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """World linear (of each body origin) and angular velocity of every body, (..., nb, 3) each.

    See :func:`forward_kinematics_with_velocities` for the conventions.
    """
    state = forward_kinematics_with_velocities(
        skel, root_pos, root_quat, joint_pos, root_lin_vel, root_ang_vel, joint_vel
    )
    return state.lin_vel, state.ang_vel


def clip_velocities(
    skel: Skeleton,
    root_pos: torch.Tensor,
    root_quat: torch.Tensor,
    joint_pos: torch.Tensor,
    fps: float | torch.Tensor,
    lengths: torch.Tensor | list[int] | None = None,
    *,
    bodies: bool = False,
) -> ClipVelocities:
    """Velocities of clip frames by finite differences (central inside a clip, one-sided at its ends).

    Frames of several clips may be concatenated: pass ``lengths`` (frames per clip) and ``fps`` as one
    number or one value per clip; differences never cross a clip boundary. A one-frame clip has zero
    velocity. Root angular velocity is world-frame, from the log of relative root rotations; ball
    joints give angular velocity in their child frame (MuJoCo ``qvel``). With ``bodies=True`` body
    linear/angular velocities are differenced from forward kinematics as well.
    """
    _check(skel, root_pos, root_quat, joint_pos)
    n = root_pos.shape[0]
    dev, dt = root_pos.device, root_pos.dtype
    lengths_t = torch.as_tensor([n] if lengths is None else lengths, dtype=torch.long, device=dev)
    if int(lengths_t.sum()) != n or bool((lengths_t < 1).any()):
        raise MimicLitError(f"clip lengths {lengths_t.tolist()} must be >= 1 and add up to {n} frames")
    fps_t = torch.as_tensor(fps, dtype=dt, device=dev).reshape(-1)
    if fps_t.numel() == 1:
        fps_t = fps_t.expand(lengths_t.numel())
    frame_fps = fps_t.repeat_interleave(lengths_t)
    starts = torch.cumsum(lengths_t, 0) - lengths_t
    first = starts.repeat_interleave(lengths_t)
    last = (starts + lengths_t - 1).repeat_interleave(lengths_t)
    idx = torch.arange(n, device=dev)
    nxt = torch.minimum(idx + 1, last)
    prv = torch.maximum(idx - 1, first)
    steps = (nxt - prv).to(dt)
    scale = torch.where(steps > 0, frame_fps / steps.clamp_min(1.0), torch.zeros_like(steps)).unsqueeze(-1)

    rq = quat_normalize(root_quat)
    root_lin_vel = (root_pos[nxt] - root_pos[prv]) * scale
    root_ang_vel = quat_to_exp_map(quat_mul(rq[nxt], quat_conj(rq[prv]))) * scale
    joint_vel = joint_pos.new_zeros(n, skel.num_joint_dofs)
    T = skel.tensors(dev, dt)
    scal_cols = torch.cat([T.hinge_cols, T.slide_cols])
    scal_dofs = torch.cat([T.hinge_dof_cols, T.slide_dof_cols])
    joint_vel[:, scal_dofs] = (joint_pos[nxt][:, scal_cols] - joint_pos[prv][:, scal_cols]) * scale
    if T.ball_joints.numel():
        qb = quat_normalize(joint_pos[:, T.ball_cols])
        rel = quat_mul(quat_conj(qb[prv]), qb[nxt])
        joint_vel[:, T.ball_dof_cols] = quat_to_exp_map(rel) * scale.unsqueeze(-1)
    if not bodies:
        return ClipVelocities(root_lin_vel, root_ang_vel, joint_vel)
    bpos, bquat = forward_kinematics(skel, root_pos, rq, joint_pos)
    body_lin_vel = (bpos[nxt] - bpos[prv]) * scale.unsqueeze(-1)
    body_ang_vel = quat_to_exp_map(quat_mul(bquat[nxt], quat_conj(bquat[prv]))) * scale.unsqueeze(-1)
    return ClipVelocities(root_lin_vel, root_ang_vel, joint_vel, body_lin_vel, body_ang_vel)

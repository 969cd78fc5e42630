"""The DeepMimic tracking reward (MimicKit's form), as pure batched functions of two poses.

``r = w_pose exp(-s_pose pose_err) + w_vel exp(-s_vel vel_err)
+ w_rp exp(-s_rp (root_pos_err + 0.1 root_rot_err)) + w_rv exp(-s_rv (root_vel_err + 0.1 root_ang_vel_err))
+ w_key exp(-s_key key_err)``, with

- ``pose_err = sum_j w_j angle(q_j, q^_j)^2`` over non-root bodies' local rotations;
- ``vel_err = sum_d w_d (dq^_d - dq_d)^2``, ``w_d`` the weight of the body the DoF moves;
- ``root_pos_err = |p^ - p|^2`` (xy only when tracking the global root, z only when the root
  height is observed), ``root_rot_err = angle(q_root, q^_root)^2``;
- ``root_vel_err = |v^ - v|^2``, ``root_ang_vel_err = |w^ - w|^2``;
- ``key_err = sum_k |(x^_k - p^) - (x_k - p)|^2``.

Without global root tracking, root rotations, velocities and key offsets are compared in each
character's own heading frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

import torch

from mimic_lit.envs.observations import CharState
from mimic_lit.errors import MimicLitError
from mimic_lit.rotations import heading_quat_inv, quat_conj, quat_mul, rotate_per_env

if TYPE_CHECKING:
    from mimic_lit.motion.skeleton import Skeleton

__all__ = [
    "RewardParams",
    "TERM_NAMES",
    "body_weights",
    "dof_weights",
    "quat_diff_angle",
    "reward_from_errors",
    "tracking_errors",
    "tracking_reward",
]

#: Names of the five reward terms, in the order of :class:`RewardParams`' weights.
TERM_NAMES: tuple[str, ...] = ("pose", "vel", "root_pose", "root_vel", "key_pos")

@dataclass(frozen=True)
class RewardParams:
    """Weights and scales of the five terms (MimicKit defaults) and what the root terms track.

    Attributes:
        weights: (pose, vel, root_pose, root_vel, key_pos) weights; they sum to 1 by default.
        scales: the matching exponential scales.
        track_root: compare root position/heading globally (MimicKit: ``global_obs``); otherwise
            in each character's heading frame, and without the horizontal root position.
        track_height: include the root height in ``root_pos_err`` (MimicKit: ``root_height_obs``).
    """

    weights: tuple[float, float, float, float, float] = (0.5, 0.1, 0.15, 0.1, 0.15)
    scales: tuple[float, float, float, float, float] = (0.25, 0.01, 5.0, 1.0, 10.0)
    track_root: bool = True
    track_height: bool = True


def body_weights(body_names: Sequence[str], patterns: Mapping[str, float] | None, default: float = 1.0) -> torch.Tensor:
    """(B - 1,) weight of every non-root body: first regex in ``patterns`` that fully matches, else ``default``."""
    compiled = []
    for pattern, weight in (patterns or {}).items():
        try:
            compiled.append((re.compile(pattern), float(weight)))
        except re.error as exc:
            raise MimicLitError(f"joint_err_weights: bad body-name pattern {pattern!r} ({exc})") from None
    out = []
    for name in body_names[1:]:
        out.append(next((w for rx, w in compiled if rx.fullmatch(name)), default))
    return torch.tensor(out, dtype=torch.float64)


def dof_weights(skeleton: "Skeleton", body_w: torch.Tensor) -> torch.Tensor:
    """(D,) per-DoF weights: each DoF copies the weight of the (non-root) body its joint moves."""
    out = torch.zeros(skeleton.num_joint_dofs, dtype=body_w.dtype, device=body_w.device)
    for j in skeleton.joints:
        out[j.dof_adr : j.dof_adr + j.num_dofs] = body_w[j.body - 1]
    return out


def quat_diff_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle in [0, pi] of the rotation between unit quaternions ``a`` and ``b`` (accurate near 0)."""
    rel = quat_mul(quat_conj(a), b)
    return 2.0 * torch.atan2(rel[..., 1:].norm(dim=-1), rel[..., 0].abs())


def tracking_errors(
    sim: CharState, ref: CharState, joint_w: torch.Tensor, dof_w: torch.Tensor, params: RewardParams = RewardParams()
) -> dict[str, torch.Tensor]:
    """Per-env (N,) squared errors of ``sim`` against ``ref``: the seven quantities of the module doc."""
    pose_err = (quat_diff_angle(sim.local_rot, ref.local_rot).square() * joint_w).sum(-1)
    vel_err = ((ref.joint_vel - sim.joint_vel).square() * dof_w).sum(-1)

    dp = ref.root_pos - sim.root_pos
    mask = dp.new_tensor([float(params.track_root)] * 2 + [float(params.track_height)])
    root_pos_err = (dp * mask).square().sum(-1)

    if params.track_root:
        h_sim = h_ref = None
        rot_sim, rot_ref = sim.root_quat, ref.root_quat
    else:
        h_sim, h_ref = heading_quat_inv(sim.root_quat), heading_quat_inv(ref.root_quat)
        rot_sim, rot_ref = quat_mul(h_sim, sim.root_quat), quat_mul(h_ref, ref.root_quat)
    root_rot_err = quat_diff_angle(rot_sim, rot_ref).square()
    dv = rotate_per_env(h_ref, ref.root_lin_vel) - rotate_per_env(h_sim, sim.root_lin_vel)
    dw = rotate_per_env(h_ref, ref.root_ang_vel) - rotate_per_env(h_sim, sim.root_ang_vel)
    root_vel_err = dv.square().sum(-1)
    root_ang_vel_err = dw.square().sum(-1)

    key_ref = rotate_per_env(h_ref, ref.key_pos - ref.root_pos.unsqueeze(1))
    key_sim = rotate_per_env(h_sim, sim.key_pos - sim.root_pos.unsqueeze(1))
    key_err = (key_ref - key_sim).square().sum(-1).sum(-1)
    return {
        "pose_err": pose_err,
        "vel_err": vel_err,
        "root_pos_err": root_pos_err,
        "root_rot_err": root_rot_err,
        "root_vel_err": root_vel_err,
        "root_ang_vel_err": root_ang_vel_err,
        "key_err": key_err,
    }


def reward_from_errors(
    errors: Mapping[str, torch.Tensor], params: RewardParams = RewardParams()
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total reward (N,) and each term in [0, 1] (N,) (unweighted, keyed by :data:`TERM_NAMES`)."""
    s = params.scales
    terms = {
        "pose": torch.exp(-s[0] * errors["pose_err"]),
        "vel": torch.exp(-s[1] * errors["vel_err"]),
        "root_pose": torch.exp(-s[2] * (errors["root_pos_err"] + 0.1 * errors["root_rot_err"])),
        "root_vel": torch.exp(-s[3] * (errors["root_vel_err"] + 0.1 * errors["root_ang_vel_err"])),
        "key_pos": torch.exp(-s[4] * errors["key_err"]),
    }
    total = sum(w * terms[name] for w, name in zip(params.weights, TERM_NAMES))
    return total, terms


def tracking_reward(
    sim: CharState, ref: CharState, joint_w: torch.Tensor, dof_w: torch.Tensor, params: RewardParams = RewardParams()
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """DeepMimic reward (N,) of ``sim`` tracking ``ref``, and its five terms (for logging)."""
    return reward_from_errors(tracking_errors(sim, ref, joint_w, dof_w, params), params)

"""ADD's environment side: the DeepMimic tracking env whose steps carry the *difference* between
the reference frame and the simulated frame at the same instant.

ADD (adversarial differential discriminator, reference notes §3.6) replaces DeepMimic's
hand-tuned tracking reward by a discriminator that has learned what "no difference" looks like.
Everything else is DeepMimic's: target observations, RSI, pose termination and SUCC at the end
of a clip. The env reward is 0 (a goal adds its own); the learner rewards the difference.

One frame (``disc_global_obs=False``, the default, in the character's own heading frame):

- root height (the root position with x, y zeroed; all three with ``disc_global_obs``);
- root rotation (tan-norm; heading removed unless global);
- every non-root body's local rotation (tan-norm);
- every non-root body's position relative to the root;
- root linear and angular velocity;
- joint velocities (``disc_dof_vel``).

The step's ``extras["disc_obs"]`` is ``frame(reference) - frame(simulation)``: exactly zero when
the robot is where the clip is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mimic_lit.envs.observations import CharState
from mimic_lit.envs.spec import DiscObsSpec
from mimic_lit.envs.tasks import Goal
from mimic_lit.envs.tracking import TrackingConfig, TrackingEnv
from mimic_lit.motion.library import MotionFrame, MotionLibrary
from mimic_lit.sim.base import SimConfig
from mimic_lit.rotations import heading_quat_inv, quat_mul, quat_to_tan_norm, rotate_per_env

__all__ = ["ADDConfig", "ADDEnv", "add_frame_obs"]


@dataclass
class ADDConfig(TrackingConfig):
    """Options of the ADD env: the tracking env's (DeepMimic targets, RSI, termination) plus the
    discriminator frame's.

    Attributes:
        disc_global_obs: positions and velocities in world axes instead of the heading frame.
        disc_dof_vel: include joint velocities in the frame.
    """

    disc_global_obs: bool = False
    disc_dof_vel: bool = True


def add_frame_obs(
    root_pos: torch.Tensor,
    root_quat: torch.Tensor,
    local_tan: torch.Tensor,
    body_pos: torch.Tensor,
    root_lin_vel: torch.Tensor,
    root_ang_vel: torch.Tensor,
    joint_vel: torch.Tensor,
    global_obs: bool = False,
    dof_vel: bool = True,
) -> torch.Tensor:
    """(N, D) one ADD frame (see the module docstring) from root state (N, 3/4), local tan-norms
    (N, B - 1, 6), all body positions (N, B, 3, root first) and joint velocities (N, dofs)."""
    n = root_pos.shape[0]
    heading = None if global_obs else heading_quat_inv(root_quat)
    pos = root_pos if global_obs else torch.cat([torch.zeros_like(root_pos[:, :2]), root_pos[:, 2:3]], -1)
    rot = root_quat if heading is None else quat_mul(heading, root_quat)
    rel = body_pos[:, 1:] - root_pos.unsqueeze(1)
    parts = [
        pos,
        quat_to_tan_norm(rot),
        local_tan.reshape(n, -1),
        rotate_per_env(heading, rel).reshape(n, -1),
        rotate_per_env(heading, root_lin_vel),
        rotate_per_env(heading, root_ang_vel),
    ]
    if dof_vel:
        parts.append(joint_vel)
    return torch.cat(parts, dim=-1)


class ADDEnv(TrackingEnv):
    """DeepMimic tracking env for ADD: env reward 0 (a goal adds its own), tracking errors still
    reported, and every step hands the learner ``extras["disc_obs"]``, the reference frame minus
    the simulated frame (see the module docstring)."""

    def __init__(self, sim, motion, config: ADDConfig | None = None, goal: Goal | None = None) -> None:
        super().__init__(sim, motion, config or ADDConfig(), goal)

    @property
    def disc_obs_dim(self) -> int:
        b = self.motion.skeleton.num_bodies
        dofs = self.motion.skeleton.num_joint_dofs if self.config.disc_dof_vel else 0
        return 3 + 6 + 6 * (b - 1) + 3 * (b - 1) + 6 + dofs

    def _spec_fields(self) -> dict[str, Any]:
        return super()._spec_fields() | {"disc_obs": DiscObsSpec(self.disc_obs_dim, "difference"), "batch_extras": ("disc_obs",)}

    def _reward(self, state: CharState, ref: CharState) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """No env reward: the learner's discriminator rewards the difference to the reference."""
        return torch.zeros(self.num_envs, dtype=self._dtype, device=self.device), {}

    def _extras(
        self, state: CharState, body_pos: torch.Tensor, frame: MotionFrame, local_rot: torch.Tensor, *_: Any
    ) -> dict[str, torch.Tensor]:
        cfg = self.config
        opts = {"global_obs": cfg.disc_global_obs, "dof_vel": cfg.disc_dof_vel}
        sim = add_frame_obs(
            state.root_pos, state.root_quat, quat_to_tan_norm(state.local_rot), body_pos,
            state.root_lin_vel, state.root_ang_vel, state.joint_vel, **opts,
        )  # fmt: skip
        ref = add_frame_obs(
            frame.root_pos[:, 0], frame.root_quat[:, 0], local_rot[:, 0, :, 4:], frame.body_pos[:, 0],
            frame.root_lin_vel[:, 0], frame.root_ang_vel[:, 0], frame.joint_vel[:, 0], **opts,
        )  # fmt: skip
        return {"disc_obs": ref - sim}

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", disc_obs_dim={self.disc_obs_dim})"


ADDConfig.env_class = ADDEnv

"""Done flags of a character env's step: why each episode ends (:class:`~mimic_lit.envs.protocol.Done`).

In rising priority (a later one overrides): ``TIME`` once the episode lasted its step limit;
``SUCC`` where the task says so (the end of a non-looping clip for tracking, a goal reached);
``FAIL`` if the simulator diverged, or (with early termination) if a body that is not a contact
body pushes on the ground harder than a threshold in any axis, or a body is farther than a
distance from its reference. Early termination is suppressed on the first step after a reset (the
transition out of the t = 0 state), so a reference pose that starts slightly in the ground cannot
end an episode before the policy acted.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mimic_lit.envs.observations import CharState
from mimic_lit.envs.protocol import Done
from mimic_lit.rotations import quat_rotate_inverse
from mimic_lit.sim.base import Simulator

__all__ = ["Termination", "done_flags"]


@dataclass(frozen=True)
class Termination:
    """When a step fails an episode early (falls and lost tracking).

    Attributes:
        fall_ids: (F,) bodies that must not touch the ground.
        contact_force_threshold: ground force (N, any axis) on one of them that means a fall.
        pose: also fail when a body is ``pose_dist`` from its reference.
        pose_dist: that distance in metres.
        global_obs: compare body positions in world axes; otherwise relative to each root, in its
            own root frame.
    """

    fall_ids: torch.Tensor
    contact_force_threshold: float
    pose: bool
    pose_dist: float
    global_obs: bool

    def early(
        self,
        sim: Simulator,
        state: CharState,
        body_pos: torch.Tensor,
        ref: CharState,
        ref_body_pos: torch.Tensor,
    ) -> torch.Tensor:
        """(N,) bool: a fall (the simulator's contact forces) or, with ``pose``, lost tracking of the
        state reached (body positions (N, B, 3)) against the reference (its (N, B, 3) bodies)."""
        early = torch.zeros(body_pos.shape[0], dtype=torch.bool, device=body_pos.device)
        if self.fall_ids.numel():
            force = sim.contact_forces.index_select(1, self.fall_ids)
            early |= (force.abs() > self.contact_force_threshold).flatten(1).any(-1)
        if self.pose:
            if self.global_obs:
                diff = body_pos - ref_body_pos
            else:  # root-relative, each in its own root frame
                rel = body_pos - state.root_pos.unsqueeze(1)
                ref_rel = ref_body_pos - ref_body_pos[:, :1]
                diff = _rotate_inv_per_env(state.root_quat, rel) - _rotate_inv_per_env(ref.root_quat, ref_rel)
            early |= diff.square().sum(-1).amax(-1) > self.pose_dist**2
        return early


def done_flags(
    steps: torch.Tensor,
    max_steps: int,
    success: torch.Tensor | None,
    diverged: torch.Tensor,
    early: torch.Tensor | None,
) -> torch.Tensor:
    """(N,) int64 done flags, priority FAIL > SUCC > TIME.

    Args:
        steps: (N,) control steps since each env's reset (1 on the step out of the reset).
        max_steps: ``TIME`` from this many steps on.
        success: (N,) bool ``SUCC`` conditions, or ``None``.
        diverged: (N,) bool simulator divergence: always ``FAIL``.
        early: (N,) bool early termination (:meth:`Termination.early`), or ``None`` when off;
            ignored on the step out of the reset.
    """
    done = torch.where(steps >= max_steps, int(Done.TIME), int(Done.NULL))
    if success is not None:
        done = torch.where(success, int(Done.SUCC), done)
    fail = diverged
    if early is not None:
        fail = fail | (early & (steps > 1))  # never on the step out of the reset (t = 0) state
    return torch.where(fail, int(Done.FAIL), done)


def _rotate_inv_per_env(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors ``v`` (N, M, 3) by the inverse of one quaternion per env ``q`` (N, 4)."""
    return quat_rotate_inverse(q.unsqueeze(1).expand(v.shape[:-1] + (4,)), v)

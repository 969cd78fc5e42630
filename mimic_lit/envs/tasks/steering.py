"""Steering task (MimicKit ``task_steering_env``): move at a target speed along a target direction.

Targets per env: a ground-plane direction ``d`` (uniform angle), a speed ``v*`` ~ U[speed_min,
speed_max] and a facing direction (``d`` itself unless ``rand_face_dir``), redrawn every
U[change_time_min, change_time_max] seconds.

Observation (5): ``d`` in the heading frame (2), ``v*`` (1), facing direction in the heading frame (2).

Reward: ``w_vel exp(-vel_scale |v* d - v_xy|^2) + w_face max(0, face . heading_dir)``, where
``v_xy`` is the finite-difference root velocity and the velocity term is 0 while ``v_xy . d < 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mimic_lit.envs.tasks.base import (
    Goal,
    GoalConfig,
    check_range,
    heading_dir_xy,
    horizontal_velocity,
    to_heading_frame_xy,
    unit_xy,
)
from mimic_lit.errors import MimicLitError

__all__ = ["SteeringConfig", "SteeringGoal"]


@dataclass
class SteeringConfig(GoalConfig):
    """Steering targets and reward; defaults are MimicKit's humanoid values.

    The humanoid runs at 0.5-5 m/s; for the G1 use a speed range of about 0.3-1.2 m/s.
    MimicKit's sword-shield humanoid uses 1.4-1.7 m/s, ``rand_face_dir=True``, ``vel_scale=2.0``.

    Attributes:
        speed_min, speed_max: range of the target speed ``v*`` (m/s).
        change_time_min, change_time_max: range of the time between two target draws (s).
        rand_face_dir: draw the facing direction independently instead of facing along ``d``.
        vel_scale: ``s`` in the velocity term ``exp(-s |v* d - v_xy|^2)``.
        w_vel, w_face: weights of the velocity and facing terms (sum 1 keeps the reward in [0, 1]).
    """

    speed_min: float = 0.5
    speed_max: float = 5.0
    change_time_min: float = 4.0
    change_time_max: float = 7.0
    rand_face_dir: bool = False
    vel_scale: float = 0.5
    w_vel: float = 0.7
    w_face: float = 0.3

    def __post_init__(self) -> None:
        """Fail early, on one line, on ranges or weights that cannot work."""
        check_range("steering speed", self.speed_min, self.speed_max)
        check_range("steering change_time", self.change_time_min, self.change_time_max)
        if self.vel_scale < 0 or self.w_vel < 0 or self.w_face < 0:
            raise MimicLitError("steering vel_scale and weights must be non-negative")


class SteeringGoal(Goal):
    """N steering targets (direction, speed, facing) with timers; see the module docstring."""

    _state_keys = ("tar_dir", "tar_speed", "face_dir")

    def __init__(
        self,
        num_envs: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
        config: SteeringConfig | None = None,
    ) -> None:
        """Targets start facing +x at ``speed_min`` with expired timers, until ``reset`` draws them."""
        super().__init__(num_envs, device, dtype, seed)
        self.config = config or SteeringConfig()
        self.change_time = (self.config.change_time_min, self.config.change_time_max)
        self.weights = {"vel": self.config.w_vel, "face": self.config.w_face}
        x_axis = torch.tensor([1.0, 0.0], device=self.device, dtype=dtype)
        self.tar_dir = x_axis.repeat(self.num_envs, 1)
        self.tar_speed = torch.full((self.num_envs,), self.config.speed_min, device=self.device, dtype=dtype)
        self.face_dir = x_axis.repeat(self.num_envs, 1)

    @property
    def obs_dim(self) -> int:
        """Local direction (2) + speed (1) + local facing (2)."""
        return 5

    def _draw_targets(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Uniform direction, uniform speed, then (only if ``rand_face_dir``) a uniform facing angle."""
        k = ids.numel()
        direction = unit_xy(self._uniform(k, -torch.pi, torch.pi))
        self.tar_dir[ids] = direction
        self.tar_speed[ids] = self._uniform(k, self.config.speed_min, self.config.speed_max)
        if self.config.rand_face_dir:
            self.face_dir[ids] = unit_xy(self._uniform(k, -torch.pi, torch.pi))
        else:
            self.face_dir[ids] = direction

    def observe(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N, 5) target direction, speed and facing, directions in the character's heading frame."""
        local_dir = to_heading_frame_xy(root_quat, self.tar_dir)
        local_face = to_heading_frame_xy(root_quat, self.face_dir)
        return torch.cat([local_dir, self.tar_speed.unsqueeze(-1), local_face], dim=-1)

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        """``vel``: closeness of the ground velocity to ``v* d`` (0 if moving against ``d``); ``face``."""
        vel = horizontal_velocity(prev_root_pos, root_pos, dt)
        err = (self.tar_speed.unsqueeze(-1) * self.tar_dir - vel).square().sum(-1)
        along = (vel * self.tar_dir).sum(-1)
        vel_term = torch.where(along < 0, torch.zeros_like(err), torch.exp(-self.config.vel_scale * err))
        face_term = (self.face_dir * heading_dir_xy(root_quat)).sum(-1).clamp(0.0, 1.0)
        return {"vel": vel_term, "face": face_term}


SteeringConfig.goal_class = SteeringGoal

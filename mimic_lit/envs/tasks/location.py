"""Location task (MimicKit ``task_location_env``): walk to a target point on the ground.

Target per env: a point at distance U[dist_min, dist_max] and uniform angle around the root
(drawn at reset and every U[change_time_min, change_time_max] seconds).

Observation (2): target xy minus root xy, in the character's heading frame.

Reward, with ``delta`` the root-to-target xy, ``d = delta / |delta|`` and ``v`` the
finite-difference root xy velocity::

    r = w_pos exp(-0.5 |delta|^2) + w_vel exp(-4 max(0, v* - d.v)^2) + w_face max(0, d . heading_dir)

The velocity term is 0 while ``d.v <= 0``. Within ``dist_threshold`` of the target (``|delta|^2 <
dist_threshold^2``) the velocity and facing terms are 1, so the character may stand still there.
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

__all__ = ["LocationConfig", "LocationGoal"]

_POS_SCALE = 0.5  # MimicKit's position-term scale, exp(-0.5 |delta|^2)
_VEL_SCALE = 4.0  # MimicKit's velocity-term scale, exp(-4 shortfall^2)


@dataclass
class LocationConfig(GoalConfig):
    """Location targets and reward; defaults are MimicKit's humanoid values.

    Attributes:
        dist_min, dist_max: range of the target's distance from the root when drawn (m).
        change_time_min, change_time_max: range of the time between two target draws (s).
        speed: ``v*``, the speed towards the target that earns the full velocity term (m/s).
        dist_threshold: radius around the target counting as reached (m): there the velocity and
            facing terms are 1 and :meth:`LocationGoal.success` is True.
        w_pos, w_vel, w_face: term weights (sum 1 keeps the reward in [0, 1]).
    """

    dist_max: float = 10.0
    dist_min: float = 0.0
    change_time_min: float = 5.0
    change_time_max: float = 10.0
    speed: float = 1.0
    dist_threshold: float = 0.5
    w_pos: float = 0.5
    w_vel: float = 0.4
    w_face: float = 0.1

    def __post_init__(self) -> None:
        """Fail early, on one line, on ranges or weights that cannot work."""
        check_range("location dist", self.dist_min, self.dist_max)
        check_range("location change_time", self.change_time_min, self.change_time_max)
        if min(self.speed, self.dist_threshold, self.w_pos, self.w_vel, self.w_face) < 0:
            raise MimicLitError("location speed, dist_threshold and weights must be non-negative")


class LocationGoal(Goal):
    """N ground targets with timers; see the module docstring."""

    _state_keys = ("tar_xy",)

    def __init__(
        self,
        num_envs: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
        config: LocationConfig | None = None,
    ) -> None:
        """Targets start at the world origin with expired timers, until ``reset`` draws them."""
        super().__init__(num_envs, device, dtype, seed)
        self.config = config or LocationConfig()
        self.change_time = (self.config.change_time_min, self.config.change_time_max)
        self.weights = {"pos": self.config.w_pos, "vel": self.config.w_vel, "face": self.config.w_face}
        self.tar_xy = torch.zeros(self.num_envs, 2, device=self.device, dtype=dtype)

    @property
    def obs_dim(self) -> int:
        """Target xy relative to the root, heading frame."""
        return 2

    def _draw_targets(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Uniform distance, then uniform angle, around each env's current root."""
        k = ids.numel()
        dist = self._uniform(k, self.config.dist_min, self.config.dist_max)
        angle = self._uniform(k, -torch.pi, torch.pi)
        self.tar_xy[ids] = root_pos[:, :2].to(self.dtype) + dist.unsqueeze(-1) * unit_xy(angle)

    def observe(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N, 2) target minus root, in the character's heading frame."""
        return to_heading_frame_xy(root_quat, self.tar_xy - root_pos[:, :2])

    def marker_xy(self) -> torch.Tensor:
        """(N, 2) the target location."""
        return self.tar_xy

    @property
    def marker_radius(self) -> float:
        """``dist_threshold``: the target counts as reached within it."""
        return float(self.config.dist_threshold)

    def _reached(self, root_pos: torch.Tensor) -> torch.Tensor:
        """(N,) bool: root within ``dist_threshold`` of the target (squared distances compared)."""
        dist_sq = (self.tar_xy - root_pos[:, :2]).square().sum(-1)
        return dist_sq < self.config.dist_threshold**2

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        """``pos``: closeness to the target; ``vel``: speed towards it; ``face``: heading towards it."""
        delta = self.tar_xy - root_pos[:, :2]
        dist_sq = delta.square().sum(-1)
        to_target = delta / dist_sq.sqrt().clamp_min(1e-8).unsqueeze(-1)
        along = (to_target * horizontal_velocity(prev_root_pos, root_pos, dt)).sum(-1)
        shortfall = (self.config.speed - along).clamp_min(0.0)
        vel_term = torch.where(along <= 0, torch.zeros_like(along), torch.exp(-_VEL_SCALE * shortfall.square()))
        face_term = (to_target * heading_dir_xy(root_quat)).sum(-1).clamp(0.0, 1.0)
        reached = self._reached(root_pos)
        ones = torch.ones_like(vel_term)
        return {
            "pos": torch.exp(-_POS_SCALE * dist_sq),
            "vel": torch.where(reached, ones, vel_term),
            "face": torch.where(reached, ones, face_term),
        }

    def success(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N,) bool: root within ``dist_threshold`` of the target."""
        return self._reached(root_pos)


LocationConfig.goal_class = LocationGoal

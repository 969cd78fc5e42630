"""Ball dribbling: move a real MuJoCo ball to a goal on the ground.

The goal asks for its ball (``DribbleConfig.ball``) in the simulator through
:meth:`DribbleGoal.scene_objects`, reads the ball's state from the simulator it is bound to,
places it in front of the character at every episode start, and draws a goal
``dist_min..dist_max`` metres from the character. The episode succeeds (``SUCC``) when the ball's
centre is within ``goal_radius`` of the goal on the ground plane. Logged per step and averaged by
evaluation: ``goal_ball_dist``, the ball's ground distance from the goal (m).

Observation (8), in the character's heading frame: ball position minus root (3), ball linear
velocity (3), goal minus root (2, ground plane).

Reward terms, each in [0, 1] (no MimicKit counterpart; designed for this task):

- ``ball_vel``: the ball rolls toward the goal at ``ball_speed``:
  ``exp(-vel_scale * max(0, v* - d . v_ball)^2)``, 0 when it rolls away (``d . v_ball <= 0``);
- ``near_ball``: the character stays close to the ball: ``exp(-near_scale * |ball - root|^2)``
  (ground plane), so it learns to follow and touch it;
- ``ball_goal``: ``exp(-goal_scale * |goal - ball|^2)``, progress of the ball itself.

Within ``goal_radius`` every term is 1.

Options for a ball policy that walks to the ball first (all off by default):

- ``ball_placement: around``: the ball starts ``ball_dist_min..ball_dist_max`` metres from the
  character at any bearing (instead of ``ball_offset`` in front);
- ``behind_ball``: the character stands on the goal line behind the ball, ``behind_offset``
  metres from it: ``exp(-behind_scale * |root - (ball - behind_offset d)|^2)``, weight ``w_behind_ball``;
- ``success_bonus``: added to the reward on the step the ball scores, so ending the episode by
  scoring is worth more than lingering near the goal;
- ``max_ball_dist``: the ball farther than this from the character (ground plane) ends the
  episode as a failure (``FAIL``, not a fall).
"""

# No ``from __future__ import annotations`` here: the parser must see ``ball``'s real type to turn a
# recipe's ``ball: {...}`` into a BallConfig inside the goal's ``init_args``.
from dataclasses import dataclass, field
from typing import Any

import math

import torch

from mimic_lit.envs.tasks.base import Goal, GoalConfig, check_range, to_heading_frame_xy, unit_xy
from mimic_lit.errors import MimicLitError
from mimic_lit.rotations import heading_quat_inv, rotate_per_env, yaw_from_quat
from mimic_lit.sim.base import BallConfig

__all__ = ["DribbleConfig", "DribbleGoal"]


@dataclass
class DribbleConfig(GoalConfig):
    """Goal placement, the ball, its placement and the reward of the dribbling goal.

    Attributes:
        dist_min, dist_max: goal distance from the character at episode start (m).
        angle_range: goal direction within ±angle_range of the character's heading (rad).
        ball_offset: ball placed this far in front of the character at episode start (m).
        goal_radius: the ball within this distance of the goal ends the episode with SUCC (m).
        ball_speed: ``v*``, the ball speed toward the goal that earns the full velocity term (m/s).
        vel_scale, near_scale, goal_scale: exponential scales of the three terms.
        w_ball_vel, w_near_ball, w_ball_goal: term weights (sum 1 keeps the reward in [0, 1]).
        ball_placement: ``front`` (``ball_offset`` ahead of the character) or ``around``
            (``ball_dist_min..ball_dist_max`` away at a bearing within ±``ball_bearing_range``).
        ball_dist_min, ball_dist_max, ball_bearing_range: the ``around`` placement (m, m, rad).
        w_behind_ball, behind_scale, behind_offset: the behind-the-ball term (off at weight 0).
        success_bonus: reward added on the step the ball scores.
        max_ball_dist: ball-character distance that ends the episode as a failure (m; ``inf``: never).
        ball: the ball the simulator adds to every environment (default: a size-5 soccer ball).
    """

    dist_min: float = 2.0
    dist_max: float = 5.0
    angle_range: float = 3.14159
    ball_offset: float = 0.45
    goal_radius: float = 0.5
    ball_speed: float = 0.8
    vel_scale: float = 2.0
    near_scale: float = 0.5
    goal_scale: float = 0.1
    w_ball_vel: float = 0.4
    w_near_ball: float = 0.2
    w_ball_goal: float = 0.4
    ball_placement: str = "front"
    ball_dist_min: float = 0.3
    ball_dist_max: float = 1.0
    ball_bearing_range: float = 3.14159
    w_behind_ball: float = 0.0
    behind_scale: float = 2.0
    behind_offset: float = 0.3
    success_bonus: float = 0.0
    max_ball_dist: float = math.inf
    ball: BallConfig = field(default_factory=BallConfig)

    def __post_init__(self) -> None:
        check_range("dribble dist", self.dist_min, self.dist_max)
        values = (self.angle_range, self.ball_offset, self.goal_radius, self.ball_speed, self.vel_scale,
                  self.near_scale, self.goal_scale, self.w_ball_vel, self.w_near_ball, self.w_ball_goal)
        values += (self.w_behind_ball, self.behind_scale, self.behind_offset, self.success_bonus, self.ball_bearing_range)
        if min(values) < 0:
            raise MimicLitError("dribble distances, speeds, scales and weights must be non-negative")
        if self.ball_placement not in ("front", "around"):
            raise MimicLitError(f"dribble ball_placement must be 'front' or 'around', got {self.ball_placement!r}")
        check_range("dribble ball_dist", self.ball_dist_min, self.ball_dist_max)
        if not self.max_ball_dist > 0:
            raise MimicLitError(f"dribble max_ball_dist must be positive (inf: never), got {self.max_ball_dist}")


class DribbleGoal(Goal):
    """N goals for N balls; bind the simulator that holds the balls with :meth:`bind` first."""

    _state_keys = ("goal_xy",)
    metric_names = ("goal_ball_dist",)

    def __init__(
        self,
        num_envs: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
        config: DribbleConfig | None = None,
    ) -> None:
        super().__init__(num_envs, device, dtype, seed)
        self.config = config or DribbleConfig()
        self.change_time = (float("inf"), float("inf"))  # one goal per episode
        self.time_left.fill_(float("inf"))
        self.weights = {
            "ball_vel": self.config.w_ball_vel,
            "near_ball": self.config.w_near_ball,
            "ball_goal": self.config.w_ball_goal,
        }
        if self.config.w_behind_ball > 0:
            self.weights["behind_ball"] = self.config.w_behind_ball
        self.goal_xy = torch.zeros(self.num_envs, 2, device=self.device, dtype=dtype)
        self.sim: Any = None

    def scene_objects(self) -> tuple[BallConfig]:
        """The ball, one per environment."""
        return (self.config.ball,)

    def bind(self, sim: Any) -> None:
        """Use the balls of ``sim`` (a simulator built with :meth:`scene_objects`)."""
        if not sim.has_ball:
            raise MimicLitError("the dribble goal needs a simulator built with its ball (scene_objects())")
        if sim.num_envs != self.num_envs:
            raise MimicLitError(f"dribble goal for {self.num_envs} envs bound to a simulator with {sim.num_envs}")
        self.sim = sim

    def _ball(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.sim is None:
            raise MimicLitError("DribbleGoal.bind(sim) must be called before the goal is used")
        return self.sim.ball_pos.to(self.dtype), self.sim.ball_lin_vel.to(self.dtype)

    @property
    def obs_dim(self) -> int:
        """Ball position (3) and velocity (3), goal (2), all relative to the character's heading frame."""
        return 8

    def _draw_targets(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Goal at a random distance and direction around the heading; the ball, at rest, in front
        (or around the character, ``ball_placement: around``)."""
        cfg, k = self.config, ids.numel()
        yaw = yaw_from_quat(root_quat).to(self.dtype)
        dist = self._uniform(k, cfg.dist_min, cfg.dist_max)
        angle = yaw + self._uniform(k, -cfg.angle_range, cfg.angle_range)
        root_xy = root_pos[:, :2].to(self.dtype)
        self.goal_xy[ids] = root_xy + dist.unsqueeze(-1) * unit_xy(angle)
        if self.sim is not None:
            radius = float(self.sim.ball_radius)
            if cfg.ball_placement == "around":
                ball_dist = self._uniform(k, cfg.ball_dist_min, cfg.ball_dist_max)
                bearing = yaw + self._uniform(k, -cfg.ball_bearing_range, cfg.ball_bearing_range)
                ball_xy = root_xy + ball_dist.unsqueeze(-1) * unit_xy(bearing)
            else:
                ball_xy = root_xy + cfg.ball_offset * unit_xy(yaw)
            ball = torch.cat([ball_xy, torch.full((k, 1), radius, dtype=self.dtype, device=self.device)], dim=-1)
            self.sim.reset_ball(ids, ball)

    def _resample(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """New goal and ball; the timer stays infinite (one goal per episode)."""
        self._draw_targets(ids, root_pos, root_quat)

    def observe(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        ball_pos, ball_vel = self._ball()
        heading = heading_quat_inv(root_quat)
        return torch.cat(
            [
                rotate_per_env(heading, ball_pos - root_pos),
                rotate_per_env(heading, ball_vel),
                to_heading_frame_xy(root_quat, self.goal_xy - root_pos[:, :2]),
            ],
            dim=-1,
        )

    def _scored(self, ball_xy: torch.Tensor) -> torch.Tensor:
        return (self.goal_xy - ball_xy).square().sum(-1) < self.config.goal_radius**2

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        cfg = self.config
        ball_pos, ball_vel = self._ball()
        to_goal = self.goal_xy - ball_pos[:, :2]
        goal_sq = to_goal.square().sum(-1)
        d = to_goal / goal_sq.sqrt().clamp_min(1e-8).unsqueeze(-1)
        along = (d * ball_vel[:, :2]).sum(-1)
        shortfall = (cfg.ball_speed - along).clamp_min(0.0)
        vel = torch.where(along <= 0, torch.zeros_like(along), torch.exp(-cfg.vel_scale * shortfall.square()))
        near = torch.exp(-cfg.near_scale * (ball_pos[:, :2] - root_pos[:, :2]).square().sum(-1))
        scored = self._scored(ball_pos[:, :2])
        ones = torch.ones_like(vel)
        terms = {
            "ball_vel": torch.where(scored, ones, vel),
            "near_ball": torch.where(scored, ones, near),
            "ball_goal": torch.where(scored, ones, torch.exp(-cfg.goal_scale * goal_sq)),
        }
        if "behind_ball" in self.weights:
            spot = ball_pos[:, :2] - cfg.behind_offset * d
            behind = torch.exp(-cfg.behind_scale * (root_pos[:, :2] - spot).square().sum(-1))
            terms["behind_ball"] = torch.where(scored, ones, behind)
        return terms

    def reward(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> torch.Tensor:
        """The weighted terms, plus ``success_bonus`` where the ball scored."""
        reward = super().reward(prev_root_pos, root_pos, root_quat, dt)
        if self.config.success_bonus > 0:
            reward = reward + self.config.success_bonus * self.success(root_pos, root_quat).to(reward.dtype)
        return reward

    def success(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N,) bool: the ball is within ``goal_radius`` of the goal."""
        ball_pos, _ = self._ball()
        return self._scored(ball_pos[:, :2])

    def done(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N,) bool: a scored ball ends the episode (``SUCC``)."""
        return self.success(root_pos, root_quat)

    def failed(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N,) bool: the ball is farther than ``max_ball_dist`` from the character (ground plane)."""
        if math.isinf(self.config.max_ball_dist):
            return super().failed(root_pos, root_quat)
        ball_pos, _ = self._ball()
        return (ball_pos[:, :2] - root_pos[:, :2]).square().sum(-1) > self.config.max_ball_dist**2

    def marker_xy(self) -> torch.Tensor:
        """(N, 2) the goal the ball must reach."""
        return self.goal_xy

    @property
    def marker_radius(self) -> float:
        """``goal_radius``: the ball within it scores."""
        return float(self.config.goal_radius)

    def metrics(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """``goal_ball_dist``: (N,) ground-plane distance of each ball from its goal (m)."""
        ball_pos, _ = self._ball()
        return {"goal_ball_dist": (self.goal_xy - ball_pos[:, :2]).norm(dim=-1)}


DribbleConfig.goal_class = DribbleGoal

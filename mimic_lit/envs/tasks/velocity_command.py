"""Velocity-command goal: follow a commanded forward, lateral and yaw-rate velocity.

The locomotion skill a higher-level policy (or a joystick) steers: per env a command
``(vx, vy, wz)``, forward and lateral speed in the character's heading frame (m/s) and yaw rate
(rad/s), each uniform in its range, redrawn every U[change_time_min, change_time_max] seconds. A
``zero_prob`` share of the draws is the zero command, so the skill also learns to stand still.

Observation (3): the command itself (it is already in the heading frame).

Reward: ``w_lin exp(-lin_scale |(vx, vy) - v_heading|^2) + w_yaw exp(-yaw_scale (wz - w_z)^2)``,
with the root's linear velocity expressed in the heading frame and its world-frame angular
velocity about z, both read from the simulator after the step (instantaneous, not finite
differences). Metrics: the absolute errors of each command component (``cmd_vx_err``,
``cmd_vy_err`` in m/s, ``cmd_yaw_rate_err`` in rad/s), averaged per episode by evaluation.

``mimic-lit play`` draws arrows on the floor (see :meth:`VelocityCommandGoal.arrows`): straight
ones from the root for the commanded and the actual ground velocity, 1 m long per m/s, and curved
ones around the root for the commanded and actual yaw rate, starting in front of the character and
sweeping the angle it turns in one second (counter-clockwise = turning left; at most three
quarters of a turn).
"""

import math
from dataclasses import dataclass
from typing import Any

import torch

from mimic_lit.envs.tasks.base import (
    Goal, GoalConfig, check_range, floor_arc, floor_arrow, heading_dir_xy, to_heading_frame_xy,
)
from mimic_lit.errors import MimicLitError
from mimic_lit.rotations import yaw_from_quat

__all__ = ["VelocityCommandConfig", "VelocityCommandGoal"]

#: Radius (m) of the yaw-rate arcs drawn around the root, and their largest sweep (rad; a robot
#: spinning faster, e.g. while falling, would draw overlapping turns).
TURN_RADIUS, MAX_SWEEP = 0.6, 1.5 * math.pi
#: Heights (m) of the command's arrows and of the actual motion's, apart so both stay visible
#: when the character follows its command exactly.
COMMAND_HEIGHT, ACTUAL_HEIGHT = 0.04, 0.12


@dataclass
class VelocityCommandConfig(GoalConfig):
    """Command ranges, resampling and reward of the velocity-command goal.

    Defaults suit a G1 or K1 walking: forward -0.5 to 1.0 m/s, lateral +-0.3 m/s, yaw rate
    +-0.8 rad/s, a new command every 3-6 s, one draw in ten standing still.

    Attributes:
        vx_min, vx_max: forward speed range in the heading frame (m/s).
        vy_min, vy_max: lateral speed range (m/s, positive = left).
        wz_min, wz_max: yaw rate range (rad/s, positive = counter-clockwise).
        zero_prob: share of draws that are the zero command (stand still).
        change_time_min, change_time_max: seconds between two draws.
        lin_scale, yaw_scale: exponential scales of the two reward terms.
        w_lin, w_yaw: their weights (sum 1 keeps the reward in [0, 1]).
    """

    vx_min: float = -0.5
    vx_max: float = 1.0
    vy_min: float = -0.3
    vy_max: float = 0.3
    wz_min: float = -0.8
    wz_max: float = 0.8
    zero_prob: float = 0.1
    change_time_min: float = 3.0
    change_time_max: float = 6.0
    lin_scale: float = 4.0
    yaw_scale: float = 4.0
    w_lin: float = 0.7
    w_yaw: float = 0.3

    def __post_init__(self) -> None:
        """Fail early, on one line, on ranges or weights that cannot work."""
        check_range("velocity_command vx", self.vx_min, self.vx_max, min_value=-float("inf"))
        check_range("velocity_command vy", self.vy_min, self.vy_max, min_value=-float("inf"))
        check_range("velocity_command wz", self.wz_min, self.wz_max, min_value=-float("inf"))
        check_range("velocity_command change_time", self.change_time_min, self.change_time_max)
        if not 0.0 <= self.zero_prob <= 1.0:
            raise MimicLitError(f"velocity_command zero_prob must lie in [0, 1], got {self.zero_prob}")
        if min(self.lin_scale, self.yaw_scale, self.w_lin, self.w_yaw) < 0:
            raise MimicLitError("velocity_command scales and weights must be non-negative")


class VelocityCommandGoal(Goal):
    """N velocity commands with timers; see the module docstring."""

    _state_keys = ("command",)
    metric_names = ("cmd_vx_err", "cmd_vy_err", "cmd_yaw_rate_err")

    def __init__(
        self,
        num_envs: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
        config: VelocityCommandConfig | None = None,
    ) -> None:
        """Commands start at zero with expired timers, until ``reset`` draws them."""
        super().__init__(num_envs, device, dtype, seed)
        self.config = config or VelocityCommandConfig()
        self.change_time = (self.config.change_time_min, self.config.change_time_max)
        self.weights = {"lin_vel": self.config.w_lin, "yaw_rate": self.config.w_yaw}
        self.command = torch.zeros(self.num_envs, 3, device=self.device, dtype=dtype)
        self.sim: Any = None

    @property
    def obs_dim(self) -> int:
        """The command: forward, lateral, yaw rate."""
        return 3

    def bind(self, sim: Any) -> None:
        """Read the root velocities of ``sim`` (any object with ``root_lin_vel``, ``root_ang_vel``)."""
        if sim.num_envs != self.num_envs:
            raise MimicLitError(f"velocity-command goal for {self.num_envs} envs bound to a simulator with {sim.num_envs}")
        self.sim = sim

    def _draw_targets(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Uniform forward, lateral and yaw-rate commands, then the zero command for a ``zero_prob`` share."""
        cfg, k = self.config, ids.numel()
        command = torch.stack(
            [
                self._uniform(k, cfg.vx_min, cfg.vx_max),
                self._uniform(k, cfg.vy_min, cfg.vy_max),
                self._uniform(k, cfg.wz_min, cfg.wz_max),
            ],
            dim=-1,
        )
        still = self._uniform(k, 0.0, 1.0) < cfg.zero_prob
        self.command[ids] = torch.where(still.unsqueeze(-1), torch.zeros_like(command), command)

    def observe(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N, 3) the command."""
        return self.command.clone()

    def velocity_command(self) -> torch.Tensor:
        """(N, 3) the command, in the heading frame."""
        return self.command

    def arrows(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """``command`` and ``velocity``: straight arrows of the commanded (turned from the heading
        frame to the world) and the actual ground velocity; ``turn command`` and ``turning``: arcs
        of the commanded and actual yaw rate. The actual ones need a bound simulator."""
        yaw = yaw_from_quat(root_quat).to(self.dtype)
        forward = heading_dir_xy(root_quat).to(self.dtype)
        left = torch.stack([-forward[:, 1], forward[:, 0]], dim=-1)
        root_xy = root_pos[:, :2].to(self.dtype)
        cmd = self.command
        out = {"command": floor_arrow(root_xy, cmd[:, 0:1] * forward + cmd[:, 1:2] * left, COMMAND_HEIGHT)}
        if self.sim is not None:
            out["velocity"] = floor_arrow(root_xy, self.sim.root_lin_vel[:, :2].to(self.dtype), ACTUAL_HEIGHT)
        out["turn command"] = floor_arc(root_xy, TURN_RADIUS, yaw, cmd[:, 2].clamp(-MAX_SWEEP, MAX_SWEEP), COMMAND_HEIGHT)
        if self.sim is not None:
            yaw_rate = self.sim.root_ang_vel[:, 2].to(self.dtype).clamp(-MAX_SWEEP, MAX_SWEEP)
            out["turning"] = floor_arc(root_xy, TURN_RADIUS, yaw, yaw_rate, ACTUAL_HEIGHT)
        return out

    def _velocity(self, root_quat: torch.Tensor) -> torch.Tensor:
        """(N, 3) the root's planar velocity in the heading frame and its yaw rate, now."""
        if self.sim is None:
            raise MimicLitError("the velocity-command goal reads the simulator's velocities: bind(sim) first")
        lin = to_heading_frame_xy(root_quat, self.sim.root_lin_vel[:, :2].to(self.dtype))
        return torch.cat([lin, self.sim.root_ang_vel[:, 2:3].to(self.dtype)], dim=-1)

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        """``lin_vel``: closeness of the heading-frame velocity to (vx, vy); ``yaw_rate``: to wz."""
        err = self._velocity(root_quat) - self.command
        lin = torch.exp(-self.config.lin_scale * err[:, :2].square().sum(-1))
        yaw = torch.exp(-self.config.yaw_scale * err[:, 2].square())
        return {"lin_vel": lin, "yaw_rate": yaw}

    def metrics(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Absolute error of each command component, of the state reached."""
        err = (self._velocity(root_quat) - self.command).abs()
        return dict(zip(self.metric_names, err.unbind(-1)))


VelocityCommandConfig.goal_class = VelocityCommandGoal

"""Velocity-command goal: follow a commanded forward, lateral and yaw-rate velocity.

The locomotion skill a higher-level policy (or a joystick) steers: per env a command
``(vx, vy, wz)``, forward and lateral speed in the character's heading frame (m/s) and yaw rate
(rad/s), each uniform in its range, redrawn every U[change_time_min, change_time_max] seconds. A
``zero_prob`` share of the draws is the zero command, so the skill also learns to stand still.

Observation (3): the command itself (it is already in the heading frame).

Reward: ``w_lin exp(-lin_scale |(vx, vy) - v_heading|^2) + w_yaw exp(-yaw_scale (wz - w_z)^2)``,
with the root's linear velocity expressed in the heading frame and its world-frame angular
velocity about z, both read from the simulator after the step (not finite differences).
Metrics: the absolute errors of each command component (``cmd_vx_err``, ``cmd_vy_err`` in m/s,
``cmd_yaw_rate_err`` in rad/s), averaged per episode by evaluation.

Standing still under a walking command earns a lot from these kernels (``exp(-8 * 0.3^2)`` = 0.49
of the best for a 0.3 m/s command), and a robot that risks a step risks a fall: a young policy
learns to stand. ``still_baseline: b`` rescales each term as ``(k - b k0) / (1 - b k0)``, floored
at 0, with ``k0`` the kernel of standing still (the command's own size). Exact tracking still earns
1, standing still under a walking command earns little (0.16 above, with ``b = 0.8``), and
standing still under the zero command still earns 1.

A walking body sways: the pelvis of the shipped K1 clips turns at 0.8 rad/s on average (std
1.2 rad/s) while the walker heads straight. With ``smoothing_time`` > 0 the reward and the metrics
use the root velocity averaged over about that many seconds (an exponential moving average of the
world-frame velocity, turned into the current heading frame), i.e. over a stride: a command is
about where the robot goes, and a natural gait is not penalised for its sway. The metrics then
add the instantaneous errors as ``cmd_*_err_now``. ``smoothing_time: 0`` (the default) uses the
instantaneous velocity.

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
        smoothing_time: seconds over which reward and metrics average the velocity (0: instantaneous).
        still_baseline: share ``b`` of the standing-still reward taken off each term (see the module
            docstring); 0 keeps the plain kernels.
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
    smoothing_time: float = 0.0
    still_baseline: float = 0.0

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
        if not 0.0 <= self.still_baseline < 1.0:
            raise MimicLitError(f"velocity_command still_baseline must lie in [0, 1), got {self.still_baseline}")
        if not self.smoothing_time >= 0.0:
            raise MimicLitError(f"velocity_command smoothing_time must be >= 0 s, got {self.smoothing_time}")


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
        #: world-frame (vx, vy) and yaw rate averaged over ``smoothing_time`` (see :meth:`track`)
        self.smoothed = torch.zeros(self.num_envs, 3, device=self.device, dtype=dtype)
        if self.config.smoothing_time > 0:
            self._state_keys = self._state_keys + ("smoothed",)
            self.metric_names = self.metric_names + tuple(f"{name}_now" for name in self.metric_names)
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

    def _world_velocity(self) -> torch.Tensor:
        """(N, 3) the root's world-frame planar velocity and yaw rate, now."""
        if self.sim is None:
            raise MimicLitError("the velocity-command goal reads the simulator's velocities: bind(sim) first")
        return torch.cat([self.sim.root_lin_vel[:, :2], self.sim.root_ang_vel[:, 2:3]], dim=-1).to(self.dtype)

    @staticmethod
    def _in_heading_frame(velocity: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N, 3) world-frame (vx, vy, wz) with (vx, vy) turned into the heading frame."""
        return torch.cat([to_heading_frame_xy(root_quat, velocity[:, :2]), velocity[:, 2:3]], dim=-1)

    def _velocity(self, root_quat: torch.Tensor) -> torch.Tensor:
        """(N, 3) the velocity the command is compared with: smoothed (see the module docstring) or now."""
        source = self.smoothed if self.config.smoothing_time > 0 else self._world_velocity()
        return self._in_heading_frame(source, root_quat)

    def track(self, dt: float) -> None:
        """Move the averaged velocity one step of ``dt`` seconds toward the simulator's (a no-op
        without smoothing). Called once per control step, by :meth:`reward_terms`."""
        if self.config.smoothing_time > 0:
            alpha = min(1.0, float(dt) / self.config.smoothing_time)
            self.smoothed.lerp_(self._world_velocity(), alpha)

    def reset(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """New commands; the averaged velocity restarts at the (already reset) simulator's."""
        super().reset(ids, root_pos, root_quat)
        self.restart_average(ids)

    def restart_average(self, ids: torch.Tensor) -> None:
        """Set the averaged velocity of envs ``ids`` to the simulator's current one."""
        if self.config.smoothing_time > 0 and self.sim is not None and ids.numel() > 0:
            ids = ids.to(device=self.device, dtype=torch.long)
            self.smoothed[ids] = self._world_velocity()[ids]

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        """``lin_vel``: closeness of the heading-frame velocity to (vx, vy); ``yaw_rate``: to wz.
        Advances the averaged velocity first (:meth:`track`)."""
        self.track(dt)
        cfg = self.config
        err = self._velocity(root_quat) - self.command
        lin = torch.exp(-cfg.lin_scale * err[:, :2].square().sum(-1))
        yaw = torch.exp(-cfg.yaw_scale * err[:, 2].square())
        if cfg.still_baseline > 0:  # what standing still would earn, partly taken off
            b = cfg.still_baseline
            lin_still = b * torch.exp(-cfg.lin_scale * self.command[:, :2].square().sum(-1))
            yaw_still = b * torch.exp(-cfg.yaw_scale * self.command[:, 2].square())
            lin = ((lin - lin_still) / (1.0 - lin_still)).clamp_min(0.0)
            yaw = ((yaw - yaw_still) / (1.0 - yaw_still)).clamp_min(0.0)
        return {"lin_vel": lin, "yaw_rate": yaw}

    def metrics(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Absolute error of each command component, of the state reached (with smoothing: of the
        averaged velocity, then of the instantaneous one as ``*_now``)."""
        err = (self._velocity(root_quat) - self.command).abs().unbind(-1)
        if self.config.smoothing_time > 0:
            now = (self._in_heading_frame(self._world_velocity(), root_quat) - self.command).abs().unbind(-1)
            err = err + now
        return dict(zip(self.metric_names, err))


VelocityCommandConfig.goal_class = VelocityCommandGoal

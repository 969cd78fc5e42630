"""Fine-tune a command walk under its trained ball policy: the second stage of hierarchical dribbling.

A ball policy (``recipes/amp_<robot>_dribble.yaml``) learns which velocity commands bring the
ball to the goal, with the walk frozen. The walk never saw a ball: it was trained on random
commands. This goal lets the walk learn the task too. Its commands come from the **frozen** ball
policy instead of a random draw, and its reward adds the ball task's reward to the command
tracking, so the walk learns to touch the ball the way the commands mean.

The walk's observation is unchanged (the character and its 3-number command), so ``init_from``
starts the fine-tuning from the walk's checkpoint exactly, every tensor copied (the walk's
discriminator included, so its style keeps being rewarded). The result is used like the walk
itself: point the ball policy's ``llc_ckpt_path`` at the fine-tuned checkpoint.

The ball policy picks a command every ``llc_steps`` control steps from what it observes in
:class:`~mimic_lit.envs.command_hlc.CommandHLCEnv` (task goal, robot state, current command), with
its mean action. Reward: ``command_weight`` times the command-tracking reward plus ``task_weight``
times the task goal's reward (its success bonus included). The task goal ends and fails episodes
and gives the metrics, as in the ball policy's env.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from mimic_lit.envs.command_hlc import CommandedTaskGoal, residual_command, robot_state_obs
from mimic_lit.envs.hlc import _resolve_existing
from mimic_lit.envs.tasks.base import Goal, GoalConfig
from mimic_lit.envs.tasks.velocity_command import VelocityCommandGoal
from mimic_lit.errors import MimicLitError

__all__ = ["BallPolicyCommandsConfig", "BallPolicyCommands"]


@dataclass
class BallPolicyCommandsConfig(GoalConfig):
    """A walk's goal whose commands come from a frozen ball policy.

    Attributes:
        hlc_config: the ball policy's recipe (a ``CommandHLCConfig`` task, e.g. ``recipes/amp_k1_dribble.yaml``).
        hlc_ckpt_path: its trained checkpoint.
        command_weight: weight of the command-tracking reward.
        task_weight: weight of the task goal's reward (the ball policy's goal, e.g. dribbling).
        hlc_quick: read ``hlc_config`` with ``--quick`` (set by ``--quick``): a quick run's ball policy.
    """

    hlc_config: str = ""
    hlc_ckpt_path: str = ""
    hlc_quick: bool = False
    command_weight: float = 0.5
    task_weight: float = 0.5
    #: the loaded ball policy and its data module, shared by the goals this config builds
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("hlc_config", "hlc_ckpt_path"):
            if not getattr(self, name):
                raise MimicLitError(f"task.goal.{name} is required: the ball policy's {name[4:].replace('_', ' ')}")
        if min(self.command_weight, self.task_weight) < 0:
            raise MimicLitError("ball-policy commands: command_weight and task_weight must be non-negative")

    def high_level(self) -> tuple[Any, Any]:
        """(frozen ball policy, its recipe's task config), loaded once."""
        if "hlc" not in self._cache:
            from mimic_lit.checkpoint import load_policy
            from mimic_lit.envs.command_hlc import CommandHLCConfig

            config = _resolve_existing(self.hlc_config, "ball-policy recipe")
            try:
                ckpt = _resolve_existing(self.hlc_ckpt_path, "ball-policy checkpoint")
            except MimicLitError as exc:
                raise MimicLitError(f"{exc}: train the ball policy first (mimic-lit fit --config {self.hlc_config})") from None
            hlc, data = load_policy(config, ckpt, what="ball-policy checkpoint", quick=self.hlc_quick)
            if not isinstance(data.task, CommandHLCConfig):
                raise MimicLitError(f"'{self.hlc_config}' is not a ball-policy recipe: its task is not a CommandHLCConfig")
            for p in hlc.parameters():
                p.requires_grad_(False)
            hlc.eval()
            self._cache["hlc"] = (hlc, data.task)
        return self._cache["hlc"]

    def build(self, num_envs: int, device: torch.device | str, dtype: torch.dtype, seed: int) -> "BallPolicyCommands":
        hlc, task = self.high_level()
        walk_goal = task.low_level()[1].task.goal
        command = walk_goal.build(num_envs, device, dtype, seed + 31)
        goal = task.goal.build(num_envs, device, dtype, seed + 37)
        return BallPolicyCommands(command, goal, hlc, task.llc_steps, self, residual=task.residual)


class BallPolicyCommands(CommandedTaskGoal):
    """N commands set by a frozen ball policy every ``llc_steps`` control steps; see the module
    docstring. What the walk observes and what the task gives pass through as in a ball policy's
    inner env (:class:`~mimic_lit.envs.command_hlc.CommandedTaskGoal`)."""

    def __init__(
        self,
        command: VelocityCommandGoal,
        task: Goal,
        hlc: Any,
        llc_steps: int,
        config: BallPolicyCommandsConfig,
        residual: bool = False,
    ) -> None:
        super().__init__(command, task)
        self.hlc, self.llc_steps, self.config = hlc, int(llc_steps), config
        cfg = command.config
        low = torch.tensor([cfg.vx_min, cfg.vy_min, cfg.wz_min], device=self.device, dtype=self.dtype)
        high = torch.tensor([cfg.vx_max, cfg.vy_max, cfg.wz_max], device=self.device, dtype=self.dtype)
        self._mid, self._half = 0.5 * (high + low), 0.5 * (high - low)
        #: control steps until each env's next ball-policy decision
        self.steps_left = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self.residual = bool(residual)  # the ball policy corrects the scripted dribbler (its recipe's task.residual)

    # ------------------------------------------------------------------ the ball policy
    @torch.no_grad()
    def decide(self, ids: torch.Tensor) -> None:
        """New commands for envs ``ids`` from the ball policy's mean action on what it observes now."""
        if ids.numel() == 0:
            return
        sim = self.command_goal.sim  # bound with the walk's simulator (CommandedTaskGoal.bind)
        if sim is None:
            raise MimicLitError("ball-policy commands read the simulator: bind(sim) first")
        obs = torch.cat(
            [
                self.task.observe(sim.root_pos, sim.root_quat),
                robot_state_obs(sim).to(self.dtype),
                self.command_goal.command,
            ],
            dim=-1,
        ).index_select(0, ids)
        action = self.hlc.act(obs.to(self.hlc.device)).to(self._mid)
        if self.residual:
            command = residual_command(obs, action, self._mid, self._half)
        else:
            command = self._mid + self._half * action.clamp(-1.0, 1.0)
        self.command_goal.command[ids] = command.to(self.dtype)
        self.steps_left[ids] = self.llc_steps

    # ------------------------------------------------------------------ the goal API
    def _draw_targets(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        raise MimicLitError("ball-policy commands draw no targets of their own")  # reset/advance are overridden

    def reset(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """New task targets (ball, goal) and, from the ball policy, a first command (with the
        command at rest, as the ball policy's episodes start)."""
        ids = ids.to(device=self.device, dtype=torch.long)
        if ids.numel() == 0:
            return
        self.task.reset(ids, root_pos, root_quat)
        self.command_goal.command[ids] = 0.0
        self.command_goal.restart_average(ids)
        self.decide(ids)

    def advance(self, dt: float, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Move the task's timers; the envs whose command is due get the ball policy's next one."""
        self.task.advance(dt, root_pos, root_quat)
        self.steps_left -= 1
        self.decide(torch.nonzero(self.steps_left <= 0, as_tuple=False).squeeze(-1))

    def reward(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> torch.Tensor:
        """``command_weight`` x command tracking + ``task_weight`` x the task's reward."""
        follow = self.command_goal.reward(prev_root_pos, root_pos, root_quat, dt)
        task = self.task.reward(prev_root_pos, root_pos, root_quat, dt)
        return self.config.command_weight * follow + self.config.task_weight * task

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        raise MimicLitError("ball-policy commands combine two goals' rewards: use reward()")

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "steps_left": self.steps_left.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "steps_left" not in state:
            raise MimicLitError("ball-policy commands state is missing 'steps_left'")
        super().load_state_dict(state)
        self.steps_left.copy_(state["steps_left"].to(self.steps_left.device))


BallPolicyCommandsConfig.goal_class = BallPolicyCommands

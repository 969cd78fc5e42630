"""A ball policy over a locomotion skill: a high-level controller whose actions are velocity commands.

The low level is a frozen command-following policy (an AMP recipe with the
:class:`~mimic_lit.envs.tasks.VelocityCommandConfig` goal, e.g. ``recipes/amp_k1_locomotion.yaml``):
it observes the character and a command ``(vx, vy, wz)`` and walks. The high-level policy picks that
command every ``llc_steps`` control steps (5-10 Hz) to solve a task goal (the dribble goal), and
the low-level policy follows it in between.

What the high level observes (all in the character's heading frame): the task goal's observation
(ball position and velocity, goal position for dribbling), then the robot's state: root linear and
angular velocity, root height, the gravity direction in the root frame (it tilts before a fall)
and the command being followed. Its action (3 numbers, clipped to [-1, 1]) maps linearly onto the
low-level recipe's command ranges, so 0 is the middle of each range. Its reward is the task goal's
reward averaged over the control steps of one action.

The character settings of the inner env (robot, observations, actions, command ranges) are read
from the low-level recipe, so they cannot drift from what the skill was trained with; this task
only sets the episode, the start poses and the task goal.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from mimic_lit.envs.hlc import HighLevelEnv, HighLevelStep, _resolve_existing
from mimic_lit.envs.protocol import StepResult
from mimic_lit.envs.spec import EnvSpec, ObsBlock
from mimic_lit.envs.task import EnvTask, sim_dtype
from mimic_lit.envs.tasks.base import Goal, GoalConfig
from mimic_lit.envs.tasks.velocity_command import VelocityCommandConfig, VelocityCommandGoal
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.library import MotionLibrary
from mimic_lit.rotations import heading_quat_inv, quat_rotate_inverse, rotate_per_env
from mimic_lit.sim.base import SimConfig

__all__ = ["CommandHLCConfig", "CommandHLCEnv", "CommandedTaskGoal", "residual_command", "robot_state_obs", "scripted_command"]

#: the simulator options a high-level recipe may set differently from its low-level recipe
_FREE_SIM_FIELDS = ("num_envs", "nthread", "seed", "device", "backend", "dtype")


@dataclass
class CommandHLCConfig(EnvTask):
    """Options of a ball policy (any task goal) over a frozen command-following skill.

    Attributes:
        llc_config: recipe of the low-level skill (an AMP recipe with a ``VelocityCommandConfig`` goal).
        llc_ckpt_path: its checkpoint (a training checkpoint or a policy file from ``mimic-lit export --skill``).
        llc_steps: control steps per high-level action (the K1 and G1 control at 50 Hz: 5 = 10 Hz).
        llc_quick: read ``llc_config`` with ``--quick`` (set by ``--quick``): a quick run's skill.
        goal: the task the high level solves (``{class_path: mimic_lit.envs.tasks.DribbleConfig, ...}``).
        episode_length: episode time limit in seconds.
        default_reset_prob: share of episodes starting from the standing pose (the rest from a clip
            frame); ``None`` keeps the low-level recipe's.
        motion: clips the non-standing starts come from; empty = the low-level recipe's.
        rand_reset: start at random clip times (evaluation and training).
        seed: seed of the env's generators (starts, goal placements).
        residual: the high level's action corrects the scripted dribbler's command instead of
            being the command: command = script + half-range x action (clipped to the ranges), so
            an untrained policy (actions near 0) already plays the baseline and learning improves on it.
    """

    llc_config: str = ""
    llc_ckpt_path: str = ""
    llc_steps: int = 5
    llc_quick: bool = False
    goal: GoalConfig | None = None
    episode_length: float = 20.0
    default_reset_prob: float | None = 1.0
    motion: str = ""
    rand_reset: bool = True
    seed: int = 0
    residual: bool = False
    #: the loaded low-level method and data module, shared by the copies the data module makes
    _llc_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from mimic_lit.config_checks import require_at_least, require_in_range, require_optional, require_positive

        require_at_least(self.llc_steps, "task.llc_steps", 1)
        require_positive(self.episode_length, "task.episode_length")
        require_optional(require_in_range, self.default_reset_prob, "task.default_reset_prob", 0.0, 1.0)
        for name in ("llc_config", "llc_ckpt_path"):
            if not getattr(self, name):
                raise MimicLitError(f"task.{name} is required: the low-level command skill's {name[4:].replace('_', ' ')}")
        if self.goal is None:
            raise MimicLitError(
                "task.goal is required: the task the high level solves, e.g. "
                "{class_path: mimic_lit.envs.tasks.DribbleConfig, init_args: {...}}"
            )

    # ------------------------------------------------------------------ the low level
    def low_level(self) -> tuple[Any, Any]:
        """(frozen low-level method, its recipe's data module), loaded once."""
        if "llc" not in self._llc_cache:
            from mimic_lit.checkpoint import load_policy, resolve_shipped_skill

            config = _resolve_existing(self.llc_config, "low-level recipe")
            try:
                ckpt = _resolve_existing(str(resolve_shipped_skill(self.llc_ckpt_path)), "low-level checkpoint")
            except MimicLitError as exc:
                raise MimicLitError(
                    f"{exc}: train the walk first (mimic-lit fit --config {self.llc_config}), or set "
                    "task.llc_ckpt_path to a trained walk or a skill file (mimic-lit export --format skill)"
                ) from None
            llc, data = load_policy(config, ckpt, what="low-level checkpoint", quick=self.llc_quick)
            goal = getattr(data.task, "goal", None)
            if not isinstance(goal, VelocityCommandConfig):
                raise MimicLitError(
                    f"low-level recipe '{self.llc_config}' has no velocity-command goal: a command skill is trained "
                    "with task.goal: {class_path: mimic_lit.envs.tasks.VelocityCommandConfig}"
                )
            for p in llc.parameters():
                p.requires_grad_(False)
            self._llc_cache["llc"] = (llc, data)
        return self._llc_cache["llc"]

    def motion_source(self) -> str:
        """``motion``, or the low-level recipe's clips."""
        return self.motion or self.low_level()[1].task.motion

    def inner_task(self) -> Any:
        """The low-level recipe's task with this task's episode, starts and seed, without its goal."""
        _, data = self.low_level()
        changes: dict[str, Any] = {
            "episode_length": self.episode_length, "rand_reset": self.rand_reset, "seed": self.seed,
            "motion": self.motion_source(), "goal": None,
        }  # fmt: skip
        if self.default_reset_prob is not None:
            changes["default_reset_prob"] = self.default_reset_prob
        return dataclasses.replace(data.task, **changes)

    def check_sim(self, sim_config: SimConfig) -> None:
        """One line naming the simulator options that differ from the low-level recipe's."""
        _, data = self.low_level()
        mine, theirs = dataclasses.asdict(sim_config), dataclasses.asdict(data.sim)
        differ = [k for k in mine if k not in _FREE_SIM_FIELDS and mine[k] != theirs.get(k)]
        if differ:
            shown = ", ".join(f"sim.{k}={mine[k]!r} (low level: {theirs.get(k)!r})" for k in differ)
            raise MimicLitError(f"the high-level recipe's simulator differs from the low-level recipe's: {shown}")

    def make_env(self, sim_config: SimConfig, motion: MotionLibrary) -> "CommandHLCEnv":
        """The low-level recipe's env holding the task goal and a command set by the high level."""
        self.check_sim(sim_config)
        llc, data = self.low_level()
        n, device, dtype = sim_config.num_envs, torch.device(sim_config.device), sim_dtype(sim_config)
        command = data.task.goal.build(n, device, dtype, self.seed + 31)
        task_goal = self.goal.build(n, device, dtype, self.seed + 37)
        goal = CommandedTaskGoal(command, task_goal)
        env = self.inner_task().make_env(sim_config, motion, goal=goal)
        if self.residual and not hasattr(task_goal, "goal_xy"):
            raise MimicLitError("task.residual corrects the scripted dribbler: it needs the dribble goal")
        return CommandHLCEnv(env, llc, goal, self.llc_steps, residual=self.residual)


class CommandedTaskGoal(Goal):
    """The goal of the inner env: the low-level policy observes the command (as in its training),
    the task goal gives the reward, the ends, the metrics and the scene objects."""

    def __init__(self, command: VelocityCommandGoal, task: Goal) -> None:
        super().__init__(task.num_envs, task.device, task.dtype)
        self.command_goal, self.task = command, task
        self.change_time = (math.inf, math.inf)
        self.time_left.fill_(math.inf)
        self.command_goal.time_left.fill_(math.inf)  # the high level sets commands, no timer redraws them
        self.metric_names = tuple(task.metric_names) + tuple(command.metric_names)

    @property
    def command(self) -> torch.Tensor:
        """(N, 3) the command the low level follows."""
        return self.command_goal.command

    def set_command(self, command: torch.Tensor) -> None:
        self.command_goal.command.copy_(command)

    @property
    def obs_dim(self) -> int:
        return self.command_goal.obs_dim

    def observe(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        return self.command_goal.observe(root_pos, root_quat)

    def scene_objects(self) -> tuple[object, ...]:
        return tuple(self.task.scene_objects()) + tuple(self.command_goal.scene_objects())

    def bind(self, sim: Any) -> None:
        self.task.bind(sim)
        self.command_goal.bind(sim)

    def reset(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """New task targets; the command stops (zero) until the high level's next action."""
        self.task.reset(ids, root_pos, root_quat)
        self.command_goal.command[ids.to(device=self.device, dtype=torch.long)] = 0.0
        self.command_goal.restart_average(ids)

    def advance(self, dt: float, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        self.task.advance(dt, root_pos, root_quat)

    def reward(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> torch.Tensor:
        """The task's reward (the command's averaged velocity, if any, moves one step too)."""
        self.command_goal.track(dt)
        return self.task.reward(prev_root_pos, root_pos, root_quat, dt)

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        self.command_goal.track(dt)
        return self.task.reward_terms(prev_root_pos, root_pos, root_quat, dt)

    def success(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        return self.task.success(root_pos, root_quat)

    def done(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        return self.task.done(root_pos, root_quat)

    def failed(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        return self.task.failed(root_pos, root_quat)

    def metrics(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The task's metrics and how well the low level follows the command."""
        return {**self.task.metrics(root_pos, root_quat), **self.command_goal.metrics(root_pos, root_quat)}

    def marker_xy(self) -> torch.Tensor | None:
        return self.task.marker_xy()

    def velocity_command(self) -> torch.Tensor | None:
        """The high level's command, for ``mimic-lit play``."""
        return self.command_goal.velocity_command()

    def arrows(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The task's arrows and the command's (commanded and actual velocity and turning)."""
        return {**self.task.arrows(root_pos, root_quat), **self.command_goal.arrows(root_pos, root_quat)}

    @property
    def marker_radius(self) -> float:
        return self.task.marker_radius

    def state_dict(self) -> dict[str, Any]:
        return {"task": self.task.state_dict(), "command": self.command_goal.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("task", "command"):
            if key not in state:
                raise MimicLitError(f"commanded-goal state is missing {key!r}")
        self.task.load_state_dict(state["task"])
        self.command_goal.load_state_dict(state["command"])


def scripted_command(high_obs: torch.Tensor, mid: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
    """(N, 3) the scripted dribbler's command (its default settings) for ball-policy observations,
    clipped to the ranges ``mid`` +- ``half``."""
    from mimic_lit.methods.scripted import dribble_commands

    command, _ = dribble_commands(high_obs[:, 0:2], high_obs[:, 6:8])
    return torch.maximum(torch.minimum(command.to(mid), mid + half), mid - half)


def residual_command(high_obs: torch.Tensor, actions: torch.Tensor, mid: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
    """(N, 3) the script's command corrected by residual ``actions`` in [-1, 1]: script + half x action, clipped."""
    base = scripted_command(high_obs, mid, half)
    chosen = base + half * actions.to(base).clamp(-1.0, 1.0)
    return torch.maximum(torch.minimum(chosen, mid + half), mid - half)


#: size of :func:`robot_state_obs`
ROBOT_STATE_DIM = 10


def robot_state_obs(sim: Any) -> torch.Tensor:
    """(N, 10) the robot as a ball policy needs it: root linear and angular velocity in the heading
    frame (3 + 3), root height (1), gravity direction in the root frame (3)."""
    quat = sim.root_quat
    heading = heading_quat_inv(quat)
    down = torch.zeros_like(sim.root_pos)
    down[:, 2] = -1.0
    return torch.cat(
        [
            rotate_per_env(heading, sim.root_lin_vel),
            rotate_per_env(heading, sim.root_ang_vel),
            sim.root_pos[:, 2:3],
            quat_rotate_inverse(quat, down),
        ],
        dim=-1,
    )


class CommandHLCEnv(HighLevelEnv):
    """An env whose actions are velocity commands for a frozen low-level policy (module docstring).

    Args:
        env: the low-level recipe's env, built with ``goal`` (it observes the character and the command).
        llc: the low-level method with its checkpoint's weights (``act`` and ``obs_dim`` used).
        goal: the inner env's :class:`CommandedTaskGoal`.
        llc_steps: control steps per high-level action.
        residual: actions correct the scripted dribbler's command (:class:`CommandHLCConfig`).
    """

    def __init__(self, env: Any, llc: Any, goal: CommandedTaskGoal, llc_steps: int = 5, residual: bool = False) -> None:
        if llc_steps < 1:
            raise MimicLitError(f"llc_steps must be >= 1, got {llc_steps}")
        if llc.obs_dim != env.obs_dim:
            raise MimicLitError(
                f"the low-level policy observes {llc.obs_dim} numbers, the env built from its recipe gives {env.obs_dim}: "
                "was the checkpoint trained with another recipe?"
            )
        self.env, self.llc, self.goal, self.llc_steps = env, llc, goal, int(llc_steps)
        self.residual = bool(residual)
        cfg: VelocityCommandConfig = goal.command_goal.config
        low = torch.tensor([cfg.vx_min, cfg.vy_min, cfg.wz_min], device=env.device, dtype=goal.dtype)
        high = torch.tensor([cfg.vx_max, cfg.vy_max, cfg.wz_max], device=env.device, dtype=goal.dtype)
        self.command_mid, self.command_half = 0.5 * (high + low), 0.5 * (high - low)
        llc.eval()
        self._obs: torch.Tensor | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def obs_dim(self) -> int:
        return int(self.goal.task.obs_dim) + ROBOT_STATE_DIM + 3

    @property
    def action_dim(self) -> int:
        return 3

    @property
    def control_dt(self) -> float:
        return self.env.control_dt * self.llc_steps

    @property
    def spec(self) -> EnvSpec:
        """High-level sizes and step; the task goal's and the command's blocks; no discriminator."""
        inner = self.env.spec
        task_dim = int(self.goal.task.obs_dim)
        blocks = (
            ObsBlock(f"goal/{type(self.goal.task).__name__}", 0, task_dim),
            ObsBlock("robot_state", task_dim, task_dim + ROBOT_STATE_DIM),
            ObsBlock("command", task_dim + ROBOT_STATE_DIM, self.obs_dim),
        )
        return EnvSpec(
            num_envs=self.num_envs, obs_dim=self.obs_dim, action_dim=self.action_dim, control_dt=self.control_dt,
            obs_blocks=blocks, robot=inner.robot, goal_dim=task_dim, tracks_reference=False,
            eval_metrics=tuple(self.goal.metric_names), command_ranges=self.command_ranges,
            residual_commands=self.residual,
        )  # fmt: skip

    @property
    def command_ranges(self) -> tuple[tuple[float, float], ...]:
        """(low, high) of vx (m/s), vy (m/s) and wz (rad/s): the skill's command ranges."""
        cfg: VelocityCommandConfig = self.goal.command_goal.config
        return ((cfg.vx_min, cfg.vx_max), (cfg.vy_min, cfg.vy_max), (cfg.wz_min, cfg.wz_max))

    # ------------------------------------------------------------------ commands
    def command_from_action(self, actions: torch.Tensor) -> torch.Tensor:
        """(N, 3) commands for high-level actions: [-1, 1] per component onto the skill's ranges."""
        return self.command_mid + self.command_half * actions.to(self.command_mid).clamp(-1.0, 1.0)

    def base_command(self, high_obs: torch.Tensor) -> torch.Tensor:
        """(N, 3) what the scripted dribbler commands for high-level observations, clipped to the
        skill's ranges: the command a residual action corrects."""
        return scripted_command(high_obs, self.command_mid, self.command_half)

    def action_from_command(self, command: torch.Tensor) -> torch.Tensor:
        """(N, 3) the high-level actions that give ``command`` (clipped to the skill's ranges)."""
        return ((command.to(self.command_mid) - self.command_mid) / self.command_half).clamp(-1.0, 1.0)

    # ------------------------------------------------------------------ stepping
    def _high(self) -> torch.Tensor:
        sim = self.env.sim
        task = self.goal.task.observe(sim.root_pos, sim.root_quat)
        return torch.cat([task, robot_state_obs(sim).to(task.dtype), self.goal.command.to(task.dtype)], dim=-1)

    def reset(self) -> torch.Tensor:
        self._obs = self.env.reset()
        return self._high()

    def observe(self) -> torch.Tensor:
        self._obs = self.env.observe()
        return self._high()

    @torch.no_grad()
    def step(self, actions: torch.Tensor) -> StepResult:
        """Set the commands from ``actions``, run the low-level policy ``llc_steps`` control steps.
        An episode ending in one of them ends the high-level step; later steps of that env (its
        next episode) earn nothing."""
        env = self.env
        if self._obs is None:
            self._obs = env.observe()
        if self.residual:  # a correction of the script's command, on what the policy saw
            chosen = residual_command(self._high(), actions.to(env.device), self.command_mid, self.command_half)
        else:
            chosen = self.command_from_action(actions.to(env.device))
        self.goal.set_command(chosen)
        obs = self._obs.clone()
        obs[:, -3:] = chosen.to(obs.dtype)  # the command is the last block of the low-level observation
        acc = HighLevelStep(self.num_envs, obs.dtype, env.device)
        for _ in range(self.llc_steps):
            res = env.step(self.llc.act(obs))
            self._control_step_done(res)
            acc.add(res)
            # Envs that reset got the zero command: the chosen one holds until the next action.
            self.goal.set_command(chosen)
            obs = res.obs.clone()
            obs[:, -3:] = chosen.to(obs.dtype)
        self._obs = obs
        # The inner env has already reset the envs that ended, so their last state is gone: the
        # terminal observation is the new episode's. Only a ``TIME`` end bootstraps from it (one
        # high-level step in a whole episode); falls, lost balls and goals do not.
        return acc.result(self._high())

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return f"CommandHLCEnv(llc_steps={self.llc_steps}, env={self.env!r})"

"""A high-level controller's environment: a task solved by choosing skill latents for a frozen
ASE low-level policy.

The high-level policy observes the character and the goal (an :class:`~mimic_lit.envs.ase.ASEEnv`
observation without its latent) and acts with a latent direction (``latent_dim`` numbers,
normalised onto the sphere). The frozen low-level policy (actor + observation normaliser of an
ASE checkpoint) then drives the robot for ``llc_steps`` control steps with that latent. The
high-level reward is the mean task reward of those steps. An episode that ends in one of them
ends the high-level step with the same flag; the steps after it (already in the next episode)
earn nothing, and that env's per-step ``info`` values (a goal's metrics) are those of the state
its episode ended in.

MimicKit has no high-level controller (its issue #83); this follows the ASE paper's set-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from mimic_lit.envs.ase import ASEConfig, ASEEnv
from mimic_lit.envs.protocol import Done, StepResult
from mimic_lit.envs.spec import EnvSpec
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.library import MotionLibrary
from mimic_lit.sim.base import SimConfig

__all__ = ["HLCConfig", "HLCEnv", "HighLevelEnv", "HighLevelStep"]


@dataclass
class HLCConfig(ASEConfig):
    """Options of a high-level controller's env: the ASE env with a goal (its character settings
    must be the low-level recipe's), and the frozen low-level policy.

    Attributes:
        llc_config: recipe the low-level ASE policy was trained with.
        llc_ckpt_path: its checkpoint.
        llc_steps: low-level control steps per high-level action.
        llc_quick: read ``llc_config`` with ``--quick`` (:mod:`mimic_lit.quick`; ``--quick`` sets it):
            the low-level policy of a quick run was trained quick-sized.
    """

    llc_config: str = ""
    llc_ckpt_path: str = ""
    llc_steps: int = 5
    llc_quick: bool = False
    #: the loaded low-level policy, shared by the copies the data module makes (train and eval env)
    _llc_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from mimic_lit.config_checks import require_at_least

        super().__post_init__()
        require_at_least(self.llc_steps, "task.llc_steps", 1)
        for name in ("llc_config", "llc_ckpt_path"):
            if not getattr(self, name):
                raise MimicLitError(f"task.{name} is required: the low-level ASE {name[4:].replace('_', ' ')}")

    def low_level_policy(self) -> Any:
        """The frozen low-level ASE method (loaded once)."""
        if "llc" not in self._llc_cache:
            from mimic_lit.checkpoint import load_policy

            config = _resolve_existing(self.llc_config, "low-level recipe")
            ckpt = _resolve_existing(self.llc_ckpt_path, "low-level checkpoint")
            llc, _ = load_policy(config, ckpt, what="low-level checkpoint", quick=self.llc_quick)
            if llc.latent_dim is None:
                raise MimicLitError(f"'{ckpt}' is not an ASE checkpoint: a high-level controller needs skill latents")
            self._llc_cache["llc"] = llc
        return self._llc_cache["llc"]

    def make_env(self, sim_config: SimConfig, motion: MotionLibrary) -> "HLCEnv":
        """The ASE env with the goal, driven through the low-level policy."""
        env = ASEConfig.make_env(self, sim_config, motion)
        return HLCEnv(env, self.low_level_policy(), self.llc_steps)


def _resolve_existing(path: str, what: str) -> str:
    """``path`` as given if it exists (absolute or relative to the working directory), else
    relative to the source checkout holding ``recipes/`` (so repository recipes run from anywhere)."""
    given = Path(path).expanduser()
    if given.exists():
        return str(given)
    checkout = Path(__file__).resolve().parents[2] / given
    if not given.is_absolute() and checkout.exists():
        return str(checkout)
    raise MimicLitError(f"{what} '{path}' does not exist (relative paths are taken from the working directory)")

_EPISODE_KEYS = ("episode_length", "episode_return", "fell")


class HighLevelStep:
    """The control steps of one high-level action, folded into one :class:`StepResult`.

    Reward: the mean over the steps of the episode the action started in. Done: the first end
    flag; the steps after it (already in the next episode) earn nothing. Info: the last step's,
    except that an env whose episode ended reports the per-step values (a goal's metrics) of the
    state it ended in, and its episode values (length, return, fell).
    """

    def __init__(self, n: int, dtype: torch.dtype, device: torch.device) -> None:
        self.n = n
        self.done = torch.full((n,), int(Done.NULL), dtype=torch.long, device=device)
        self.reward_sum = torch.zeros(n, dtype=dtype, device=device)
        self.steps = torch.zeros(n, dtype=dtype, device=device)
        self.terminal: torch.Tensor | None = None
        self.episode: dict[str, torch.Tensor] = {}
        self.at_end: dict[str, torch.Tensor] = {}
        self.info: dict[str, torch.Tensor] = {}

    def add(self, res: StepResult) -> torch.Tensor:
        """Fold in one control step; returns (N,) bool: the envs whose episode ended at it."""
        live = self.done == int(Done.NULL)
        self.reward_sum += torch.where(live, res.reward, torch.zeros_like(res.reward))
        self.steps += live.to(self.steps.dtype)
        ended = live & (res.done != int(Done.NULL))
        if bool(ended.any()):
            self.done = torch.where(ended, res.done, self.done)
            for key in _EPISODE_KEYS:
                if key in res.info:
                    old = self.episode.get(key, torch.full_like(res.info[key], float("nan")))
                    self.episode[key] = torch.where(ended, res.info[key], old)
            for key, value in res.info.items():
                if key not in _EPISODE_KEYS and isinstance(value, torch.Tensor) and value.shape == (self.n,):
                    self.at_end[key] = torch.where(ended, value, self.at_end.get(key, value))
        self.info = {k: v for k, v in res.info.items() if k not in _EPISODE_KEYS}
        return ended

    def set_terminal(self, ended: torch.Tensor, high_obs: torch.Tensor) -> None:
        """The high-level observation of the state the ``ended`` envs' episodes ended in."""
        if self.terminal is None:
            self.terminal = high_obs
        else:
            self.terminal = torch.where(ended.unsqueeze(1), high_obs, self.terminal)

    def result(self, high_obs: torch.Tensor) -> StepResult:
        """The high-level step, with ``high_obs`` the observation after it."""
        info = dict(self.info)
        over = self.done != int(Done.NULL)
        for key, value in self.at_end.items():  # an ended episode's metrics are those of its last state
            if key in info:
                info[key] = torch.where(over, value, info[key])
        nan = torch.full((self.n,), float("nan"), dtype=high_obs.dtype, device=high_obs.device)
        for key in _EPISODE_KEYS:
            info[key] = self.episode.get(key, nan)
        terminal = high_obs if self.terminal is None else torch.where(over.unsqueeze(1), self.terminal, high_obs)
        return StepResult(obs=high_obs, reward=self.reward_sum / self.steps.clamp_min(1.0), done=self.done,
                          terminal_obs=terminal, info=info)


class HighLevelEnv:
    """What every high-level env passes through from the low-level env it drives (``self.env``):
    sizes, device, simulator, the reference and clip time (for ``mimic-lit play``), and its state
    with the low-level observation for checkpoints. Subclasses define observations, actions and
    :meth:`step` (folding the control steps with :class:`HighLevelStep`)."""

    env: Any
    _obs: torch.Tensor | None
    #: called with every control step's result inside :meth:`step`, so ``mimic-lit play`` records
    #: each control step (50 Hz on the K1 and G1), not only each high-level one; ``None``: nothing
    control_step_hook: Callable[[StepResult], None] | None = None

    @property
    def num_envs(self) -> int:
        return self.env.num_envs

    @property
    def inner_control_dt(self) -> float:
        """Seconds per control step of the low-level env (``control_dt`` is per high-level step)."""
        return float(self.env.control_dt)

    def _control_step_done(self, res: StepResult) -> None:
        """Hand one control step's result to :attr:`control_step_hook`, if any."""
        if self.control_step_hook is not None:
            self.control_step_hook(res)

    @property
    def device(self) -> torch.device:
        return self.env.device

    @property
    def sim(self) -> Any:
        return self.env.sim

    @property
    def tracks_reference(self) -> bool:
        return False

    def rollout_extras(self, num_samples: int) -> dict[str, torch.Tensor]:
        """None: the high-level learner needs nothing besides the steps."""
        return {}

    def reference_frame(self):
        return self.env.reference_frame()

    @property
    def motion_time(self) -> torch.Tensor:
        return self.env.motion_time

    def state_dict(self) -> dict[str, Any]:
        return {"env": self.env.state_dict(), "obs": None if self._obs is None else self._obs.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.env.load_state_dict(state["env"])
        self._obs = None if state["obs"] is None else state["obs"].to(self.device).clone()


class HLCEnv(HighLevelEnv):
    """:class:`ASEEnv` with a goal, driven through a frozen low-level ASE policy (module docstring).

    Args:
        env: the env the low-level policy acts in; its latents are set by this class.
        llc: the low-level ASE method with its checkpoint's weights (``act`` and ``obs_dim`` used).
        llc_steps: low-level control steps per high-level action.
    """

    def __init__(self, env: ASEEnv, llc: Any, llc_steps: int = 5) -> None:
        if llc_steps < 1:
            raise MimicLitError(f"llc_steps must be >= 1, got {llc_steps}")
        if env.goal is None:
            raise MimicLitError(
                "a high-level controller needs a goal (task.goal: {class_path: mimic_lit.envs.tasks.DribbleConfig}, "
                "or SteeringConfig, LocationConfig...)"
            )
        self.env = env
        self.llc = llc
        self.llc_steps = int(llc_steps)
        self._char_dim = env.layout.dim
        self._k = env.latent_dim
        expected = self._char_dim + self._k
        if llc.obs_dim != expected:
            raise MimicLitError(
                f"the low-level policy observes {llc.obs_dim} numbers, this env's character + latent is {expected}: "
                "give the high-level recipe the same task settings (robot, global_obs, latent_dim, ...) as the "
                "low-level recipe"
            )
        for p in llc.parameters():
            p.requires_grad_(False)
        llc.eval()
        self._hold = 10**9  # latents change only when this class sets them
        self._obs: torch.Tensor | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def obs_dim(self) -> int:
        return self.env.obs_dim - self._k

    @property
    def action_dim(self) -> int:
        return self._k

    @property
    def control_dt(self) -> float:
        return self.env.control_dt * self.llc_steps

    @property
    def spec(self) -> EnvSpec:
        """The ASE env's spec without the latent: observations, actions (latents) and step length
        are the high-level ones; no discriminator (the high level is plain PPO/AWR)."""
        inner = self.env.spec
        blocks = tuple(b for b in inner.obs_blocks if b.name != "latent")
        return EnvSpec(
            num_envs=self.num_envs, obs_dim=self.obs_dim, action_dim=self.action_dim, control_dt=self.control_dt,
            obs_blocks=blocks, robot=inner.robot, goal_dim=inner.goal_dim, tracks_reference=False,
            eval_metrics=inner.eval_metrics,
        )  # fmt: skip

    @property
    def goal(self):
        return self.env.goal

    # ------------------------------------------------------------------ stepping
    def _high(self, obs: torch.Tensor) -> torch.Tensor:
        return obs[:, : -self._k]

    def _low(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.cat([obs[:, : self._char_dim], obs[:, -self._k :]], dim=-1)

    def reset(self) -> torch.Tensor:
        self._obs = self.env.reset()
        return self._high(self._obs)

    def observe(self) -> torch.Tensor:
        self._obs = self.env.observe()
        return self._high(self._obs)

    @torch.no_grad()
    def step(self, actions: torch.Tensor) -> StepResult:
        """Set the latents from ``actions``, run the low-level policy ``llc_steps`` steps."""
        env = self.env
        if self._obs is None:
            self._obs = env.observe()
        env.set_latents(actions.to(env.device), hold_steps=self._hold)
        chosen = env.latents.clone()
        obs = torch.cat([self._obs[:, : -self._k], chosen], dim=-1)
        acc = HighLevelStep(self.num_envs, obs.dtype, env.device)
        for _ in range(self.llc_steps):
            res = env.step(self.llc.act(self._low(obs)))
            self._control_step_done(res)
            ended = acc.add(res)
            if bool(ended.any()):
                acc.set_terminal(ended, self._high(res.terminal_obs))
            # An env that reset drew a fresh latent: the chosen one stays until the next action.
            env.set_latents(chosen, hold_steps=self._hold)
            obs = torch.cat([res.obs[:, : -self._k], chosen], dim=-1)
        self._obs = obs
        return acc.result(self._high(obs))

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return f"HLCEnv(llc_steps={self.llc_steps}, latent_dim={self._k}, env={self.env!r})"

"""A high-level controller's environment: a task solved by choosing skill latents for a frozen
ASE low-level policy.

The high-level policy observes the character and the goal (an :class:`~mimic_lit.envs.ase.ASEEnv`
observation without its latent) and acts with a latent direction (``latent_dim`` numbers,
normalised onto the sphere). The frozen low-level policy (actor + observation normaliser of an
ASE checkpoint) then drives the robot for ``llc_steps`` control steps with that latent. The
high-level reward is the mean task reward of those steps. An episode that ends in one of them
ends the high-level step with the same flag; the steps after it (already in the next episode)
earn nothing.

MimicKit has no high-level controller (its issue #83); this follows the ASE paper's set-up.
"""

from __future__ import annotations

from typing import Any

import torch

from mimic_lit.envs.ase import ASEEnv
from mimic_lit.envs.protocol import Done, StepResult
from mimic_lit.errors import MimicLitError

__all__ = ["HLCEnv"]

_EPISODE_KEYS = ("episode_length", "episode_return", "fell")


class HLCEnv:
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
            raise MimicLitError("a high-level controller needs a goal (task.goal: steering, location or dribble)")
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
    def num_envs(self) -> int:
        return self.env.num_envs

    @property
    def obs_dim(self) -> int:
        return self.env.obs_dim - self._k

    @property
    def action_dim(self) -> int:
        return self._k

    @property
    def device(self) -> torch.device:
        return self.env.device

    @property
    def control_dt(self) -> float:
        return self.env.control_dt * self.llc_steps

    @property
    def sim(self):
        return self.env.sim

    @property
    def goal(self):
        return self.env.goal

    @property
    def tracks_reference(self) -> bool:
        return False

    # ------------------------------------------------------------------ passthrough for tools (play)
    def reference_frame(self):
        return self.env.reference_frame()

    @property
    def motion_time(self) -> torch.Tensor:
        return self.env.motion_time

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
        n = self.num_envs
        done = torch.full((n,), int(Done.NULL), dtype=torch.long, device=env.device)
        reward_sum = torch.zeros(n, dtype=obs.dtype, device=env.device)
        steps = torch.zeros(n, dtype=obs.dtype, device=env.device)
        terminal = None
        episode: dict[str, torch.Tensor] = {}
        info: dict[str, torch.Tensor] = {}
        for _ in range(self.llc_steps):
            res = env.step(self.llc.act(self._low(obs)))
            live = done == int(Done.NULL)
            reward_sum += torch.where(live, res.reward, torch.zeros_like(res.reward))
            steps += live.to(steps.dtype)
            ended = live & (res.done != int(Done.NULL))
            if bool(ended.any()):
                done = torch.where(ended, res.done, done)
                term = self._high(res.terminal_obs)
                terminal = term if terminal is None else torch.where(ended.unsqueeze(1), term, terminal)
                for key in _EPISODE_KEYS:
                    if key in res.info:
                        old = episode.get(key, torch.full_like(res.info[key], float("nan")))
                        episode[key] = torch.where(ended, res.info[key], old)
            info = {k: v for k, v in res.info.items() if k not in _EPISODE_KEYS}
            # An env that reset drew a fresh latent: the chosen one stays until the next action.
            env.set_latents(chosen, hold_steps=self._hold)
            obs = torch.cat([res.obs[:, : -self._k], chosen], dim=-1)
        self._obs = obs
        high = self._high(obs)
        nan = torch.full((n,), float("nan"), dtype=obs.dtype, device=env.device)
        for key in _EPISODE_KEYS:
            info[key] = episode.get(key, nan)
        return StepResult(
            obs=high,
            reward=reward_sum / steps.clamp_min(1.0),
            done=done,
            terminal_obs=high if terminal is None else torch.where((done != 0).unsqueeze(1), terminal, high),
            info=info,
        )

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        return {"env": self.env.state_dict(), "obs": None if self._obs is None else self._obs.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.env.load_state_dict(state["env"])
        self._obs = None if state["obs"] is None else state["obs"].to(self.device).clone()

    def __repr__(self) -> str:
        return f"HLCEnv(llc_steps={self.llc_steps}, latent_dim={self._k}, env={self.env!r})"

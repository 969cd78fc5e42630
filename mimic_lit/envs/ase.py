"""ASE's environment side: AMP's env plus a skill latent per environment.

Each env holds a latent ``z`` on the unit sphere of ``latent_dim`` dimensions (MimicKit: 64),
drawn as a normalised Gaussian at every episode start and again every
``U[latent_time_min, latent_time_max]`` seconds (MimicKit: 0-5 s). The latent is appended to
every observation, after the character's (and a goal's, if any), so the policy is conditioned
on it; the learner's observation normaliser leaves those dims as they are. Each step also hands
the learner the latent the action was taken with (``extras["latent"]``) beside the
discriminator observation of the state reached, for the encoder's reward.

As in MimicKit, the ASE recipes start half of the episodes from the default standing pose
(``default_reset_prob: 0.5``, a :class:`~mimic_lit.envs.tracking.TrackingConfig` option) and the
other half from a reference frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from mimic_lit.envs.amp import AMPConfig, AMPEnv
from mimic_lit.envs.protocol import StepResult
from mimic_lit.envs.spec import ObsBlock
from mimic_lit.envs.tasks import Goal
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.library import MotionLibrary
from mimic_lit.sim.base import SimConfig

__all__ = ["ASEConfig", "ASEEnv", "sample_unit_latents"]


@dataclass
class ASEConfig(AMPConfig):
    """Options of the ASE env: AMP's plus the latent.

    Attributes:
        latent_dim: size of the skill latent (MimicKit: 64).
        latent_time_min, latent_time_max: a latent is kept for U[min, max] seconds (MimicKit: 0, 5),
            at least one control step.
    """

    latent_dim: int = 64
    latent_time_min: float = 0.0
    latent_time_max: float = 5.0

    def __post_init__(self) -> None:
        from mimic_lit.config_checks import require_at_least, require_nonnegative

        super().__post_init__()
        require_at_least(self.latent_dim, "task.latent_dim", 1)
        require_nonnegative(self.latent_time_min, "task.latent_time_min")
        require_nonnegative(self.latent_time_max, "task.latent_time_max")  # min <= max: checked by the env


def sample_unit_latents(n: int, dim: int, generator: torch.Generator, device, dtype) -> torch.Tensor:
    """(n, dim) latents uniform on the unit sphere (normalised Gaussian samples)."""
    z = torch.randn(n, dim, generator=generator, device=device, dtype=dtype)
    return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-8)


class ASEEnv(AMPEnv):
    """:class:`AMPEnv` whose observations end with a per-env skill latent (see module docstring)."""

    def __init__(self, sim, motion, config: ASEConfig | None = None, goal: Goal | None = None) -> None:
        config = config or ASEConfig()
        if config.latent_dim < 1:
            raise MimicLitError(f"latent_dim must be >= 1, got {config.latent_dim}")
        if not 0.0 <= config.latent_time_min <= config.latent_time_max:
            raise MimicLitError(
                f"need 0 <= latent_time_min <= latent_time_max, got {config.latent_time_min}, {config.latent_time_max}"
            )
        self._z: torch.Tensor | None = None  # set before super() resets anything
        super().__init__(sim, motion, config, goal)
        self._latent_gen = torch.Generator(device=self.device)
        self._latent_gen.manual_seed(int(config.seed) + 6007)
        self._z = torch.zeros(self.num_envs, config.latent_dim, dtype=self._dtype, device=self.device)
        self._latent_steps_left = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self._draw_latents(self._all)

    # ------------------------------------------------------------------ latents
    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    @property
    def latents(self) -> torch.Tensor:
        """(N, latent_dim) the latent each env acts with now."""
        return self._z

    def set_latents(self, z: torch.Tensor, hold_steps: int | None = None) -> None:
        """Impose latents ``z`` (N, latent_dim), normalised here; ``hold_steps`` (default: their
        drawn schedule) before the env draws new ones. A high-level controller sets them every
        step with a large ``hold_steps``."""
        z = z.to(self._z)
        self._z.copy_(z / z.norm(dim=-1, keepdim=True).clamp_min(1e-8))
        if hold_steps is not None:
            self._latent_steps_left.fill_(int(hold_steps))

    def _draw_latents(self, ids: torch.Tensor) -> None:
        cfg = self.config
        k = ids.numel()
        z = sample_unit_latents(k, cfg.latent_dim, self._latent_gen, self.device, self._dtype)
        self._z.index_copy_(0, ids, z)
        u = torch.rand(k, generator=self._latent_gen, device=self.device, dtype=torch.float64)
        seconds = cfg.latent_time_min + u * (cfg.latent_time_max - cfg.latent_time_min)
        steps = torch.round(seconds / self._dt).long().clamp_min(1)
        self._latent_steps_left.index_copy_(0, ids, steps)

    def _spec_fields(self) -> dict[str, Any]:
        fields = super()._spec_fields()
        start = fields["obs_dim"] - self.latent_dim
        blocks = fields["obs_blocks"] + (ObsBlock("latent", start, start + self.latent_dim),)
        return fields | {"obs_blocks": blocks, "latent_dim": self.latent_dim, "batch_extras": ("disc_obs", "demo_disc_obs", "latent")}

    # ------------------------------------------------------------------ hooks
    @property
    def _obs_extra_dim(self) -> int:
        return int(self.config.latent_dim)

    def _obs_extra(self, env_ids: torch.Tensor | None = None) -> torch.Tensor | None:
        if self._z is None:  # only while the base class is being built
            return torch.zeros(
                self.num_envs if env_ids is None else env_ids.numel(), self.config.latent_dim, dtype=self._dtype,
                device=self.device,
            )  # fmt: skip
        return self._z if env_ids is None else self._z.index_select(0, env_ids)

    def _reset_envs(self, ids: torch.Tensor) -> torch.Tensor:
        if self._z is not None:
            self._draw_latents(ids)  # before the observation that shows the new latent
        return super()._reset_envs(ids)

    def step(self, actions: torch.Tensor) -> StepResult:
        """AMP's step; the latent used goes with the step, expired latents are redrawn (and shown
        in the returned observation; envs that reset got new ones already)."""
        used = self._z.clone()
        self._latent_steps_left -= 1
        res = super().step(actions)
        expired = (self._latent_steps_left <= 0).nonzero().squeeze(1)
        if expired.numel():
            self._draw_latents(expired)
            res.obs[expired, -self.latent_dim :] = self._z.index_select(0, expired)
        res.extras["latent"] = used
        return res

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["latents"] = self._z.clone()
        state["latent_steps_left"] = self._latent_steps_left.clone()
        state["latent_generator"] = self._latent_gen.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._z = state["latents"].to(self.device, self._dtype).clone()
        self._latent_steps_left = state["latent_steps_left"].to(self.device).clone()
        self._latent_gen.set_state(state["latent_generator"])

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", latent_dim={self.latent_dim})"


ASEConfig.env_class = ASEEnv

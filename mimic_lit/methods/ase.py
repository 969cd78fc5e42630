"""`ASE`: adversarial skill embeddings. AMP's discriminator keeps the motion natural; a skill
latent ``z`` (from :class:`~mimic_lit.envs.ase.ASEEnv`) conditions actor and critic, and an
encoder learns to recover ``z`` from the motion it produced, which rewards the policy for making
different latents look different.

Defaults follow MimicKit's ASE (reference notes §3.5):

- encoder: an MLP on the normalised discriminator observation, output L2-normalised to ``ẑ``,
  with its own optimiser (lr 5e-5); loss ``-mean(z . ẑ)``; it steps with the discriminator;
- encoder reward ``r_E = max(0, z . ẑ)``;
- reward ``task_reward_weight r_task + disc_reward_weight r_D + enc_reward_weight r_E``
  (0 / 0.5 / 0.5);
- diversity loss on the actor: for a fresh latent ``z'``,
  ``(diversity_target - mean_i(mu(s, z')_i - mu(s, z)_i)^2 / (0.5 - 0.5 z . z' + 1e-5))^2``
  with weight 0.01, so that distant latents give distant actions.

The latent's observation dims are not normalised (``obs_passthrough``).
"""

from __future__ import annotations

from typing import Any

import torch

from mimic_lit.config_checks import check_network, check_optimizer, require_nonnegative
from mimic_lit.envs.spec import RolloutSpec
from mimic_lit.errors import MimicLitError
from mimic_lit.methods.amp import AMP
from mimic_lit.methods.base import NetworkConfig, OptimizerConfig
from mimic_lit.nn.mlp import build_mlp
from mimic_lit.rl.storage import RolloutStorage

__all__ = ["ASE", "SkillEncoder", "diversity_loss", "encoder_reward"]


class SkillEncoder(torch.nn.Module):
    """MLP from a (normalised) discriminator observation to a unit-norm latent estimate ``ẑ``."""

    def __init__(self, in_dim: int, latent_dim: int, hidden: list[int], activation: str = "relu") -> None:
        super().__init__()
        self.trunk = build_mlp(in_dim, hidden, act=activation)
        width = hidden[-1] if hidden else in_dim
        self.output = torch.nn.Linear(width, latent_dim)
        torch.nn.init.uniform_(self.output.weight, -0.1, 0.1)  # MimicKit's encoder output init
        torch.nn.init.zeros_(self.output.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.output(self.trunk(x))
        return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def encoder_reward(z: torch.Tensor, z_hat: torch.Tensor) -> torch.Tensor:
    """(B,) ``max(0, z . ẑ)``: 1 when the encoder recovers the latent exactly."""
    return (z * z_hat).sum(-1).clamp_min(0.0)


def diversity_loss(
    mu: torch.Tensor, mu_other: torch.Tensor, z: torch.Tensor, z_other: torch.Tensor, target: float = 1.0
) -> torch.Tensor:
    """ASE's diversity loss: action distance per latent distance should be ``target``."""
    a_diff = (mu_other - mu).square().mean(-1)
    z_diff = 0.5 - 0.5 * (z * z_other).sum(-1)
    return (target - a_diff / (z_diff + 1e-5)).square().mean()


class ASE(AMP):
    """Latent-conditioned actor and critic, AMP discriminator, skill encoder (see module docstring).

    Args (besides :class:`~mimic_lit.methods.amp.AMP`'s, whose reward weights default to 0 / 0.5):
        encoder: encoder MLP (MimicKit: [1024, 1024]).
        encoder_optim: its optimiser (MimicKit: lr 5e-5).
        enc_reward_weight: weight of the encoder reward.
        diversity_weight, diversity_target: the diversity loss's weight and target ratio.
    """

    task_class_path = "mimic_lit.envs.ase.ASEConfig"

    def __init__(
        self,
        *args: Any,
        encoder: NetworkConfig | None = None,
        encoder_optim: OptimizerConfig | None = None,
        enc_reward_weight: float = 0.5,
        diversity_weight: float = 0.01,
        diversity_target: float = 1.0,
        task_reward_weight: float = 0.0,
        disc_reward_weight: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, task_reward_weight=task_reward_weight, disc_reward_weight=disc_reward_weight, **kwargs)
        self.encoder_config = encoder or NetworkConfig(hidden=[1024, 1024])
        self.encoder_optim_config = encoder_optim or OptimizerConfig(lr=5e-5)
        self.enc_reward_weight = float(enc_reward_weight)
        self.diversity_weight = float(diversity_weight)
        self.diversity_target = float(diversity_target)
        check_network(self.encoder_config, "model.encoder")
        check_optimizer(self.encoder_optim_config, "model.encoder_optim")
        for name in ("enc_reward_weight", "diversity_weight", "diversity_target"):
            require_nonnegative(getattr(self, name), f"model.{name}")
        self.latent_dim: int | None = None
        self.encoder: SkillEncoder | None = None
        self.latent_generator = torch.Generator()
        self.latent_generator.manual_seed(1)
        self._iteration_latents: torch.Tensor | None = None
        self._pending_latent_generator: torch.Tensor | None = None  # from a checkpoint, applied at train start

    # ------------------------------------------------------------------ networks
    @property
    def obs_passthrough(self) -> int:  # type: ignore[override]
        return int(self.latent_dim or 0)

    def set_latent_dim(self, latent_dim: int) -> None:
        if self.latent_dim is not None and self.latent_dim != int(latent_dim):
            raise MimicLitError(f"the networks were built for {self.latent_dim}-d latents, the env has {latent_dim}")
        self.latent_dim = int(latent_dim)

    def build_disc(self, disc_obs_dim: int) -> None:
        super().build_disc(disc_obs_dim)
        if self.encoder is None:
            if self.latent_dim is None:
                raise MimicLitError("set the latent size (set_latent_dim) before building the encoder")
            cfg = self.encoder_config
            self.encoder = SkillEncoder(disc_obs_dim, self.latent_dim, cfg.hidden, cfg.activation)

    def connect(self, spec: RolloutSpec) -> None:
        if spec.env.latent_dim is None:
            raise MimicLitError(f"ASE needs skill latents in its env (data.init_args.task.class_path: {self.task_class_path})")
        self.set_latent_dim(spec.env.latent_dim)
        super().connect(spec)
        self.latent_generator.manual_seed(int(spec.seed) + 130363)

    def configure_optimizers(self):
        return [*super().configure_optimizers(), self._make_optimizer(self.encoder.parameters(), self.encoder_optim_config)]

    # ------------------------------------------------------------------ rewards
    @torch.no_grad()
    def shape_rewards(self, storage: RolloutStorage) -> dict[str, torch.Tensor]:
        """AMP's task + style rewards plus ``enc_reward_weight`` times the encoder reward."""
        logs = super().shape_rewards(storage)
        z = storage.extras["latent"].reshape(storage.num_samples, -1)
        z_hat = self.encoder(self.disc_normalizer.normalize(self._iteration_policy_obs))
        r_enc = encoder_reward(z, z_hat).reshape(storage.rewards.shape)
        storage.rewards = storage.rewards + self.enc_reward_weight * r_enc
        self._iteration_latents = z
        return logs | {"rollout/enc_reward": r_enc}

    # ------------------------------------------------------------------ update
    def actor_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss, parts = super().actor_loss(batch)
        if self.diversity_weight == 0.0:
            return loss, parts
        obs = batch["obs"]
        k = self.latent_dim
        z = obs[:, -k:]
        z_other = torch.randn(obs.shape[0], k, generator=self.latent_generator).to(obs)
        z_other = z_other / z_other.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        mu = self.actor(obs).mode()
        mu_other = self.actor(torch.cat([obs[:, :-k], z_other], dim=-1)).mode()
        div = diversity_loss(mu, mu_other, z, z_other, self.diversity_target)
        return loss + self.diversity_weight * div, parts | {"diversity_loss": div.detach()}

    def _disc_step(self, policy_obs: torch.Tensor) -> None:
        """AMP's discriminator step, then one encoder step on as many of the iteration's samples."""
        super()._disc_step(policy_obs)
        enc_opt = self.optimizers()[3]
        m = min(self.disc_batch_size, policy_obs.shape[0])
        pick = torch.randint(policy_obs.shape[0], (m,), generator=self.disc_generator).to(policy_obs.device)
        z = self._iteration_latents[pick].to(policy_obs)
        z_hat = self.encoder(self.disc_normalizer.normalize(policy_obs[pick]))
        loss = -(z * z_hat).sum(-1).mean()
        enc_opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        enc_opt.step()
        self._accumulate({"enc_loss": loss, "enc_reward": encoder_reward(z, z_hat.detach()).mean()})

    # ------------------------------------------------------------------ checkpointing
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["mimic_lit"]["latent_dim"] = self.latent_dim
        checkpoint["mimic_lit"]["latent_generator"] = self.latent_generator.get_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint.get("mimic_lit") or {}
        if state.get("latent_dim") is None:
            raise MimicLitError("this checkpoint has no skill latent: it was not written by ASE")
        self.set_latent_dim(state["latent_dim"])
        super().on_load_checkpoint(checkpoint)
        self._pending_latent_generator = state.get("latent_generator")  # none in a policy-only skill file

    def on_train_start(self) -> None:
        super().on_train_start()
        pending = self._pending_latent_generator
        if pending is not None:
            self.latent_generator.set_state(pending)
            self._pending_latent_generator = None

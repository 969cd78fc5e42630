"""`RLModule`: the LightningModule every on-policy method builds on (actor, critic, PPO or AWR).

One Lightning epoch is one RL iteration. The data module owns the environments and serves a
:class:`~mimic_lit.rl.collector.RolloutCollector` as the training dataloader: at the start of the
epoch it steps the envs with this module's policy, then every batch it yields is one minibatch,
and :meth:`RLModule.training_step` makes one actor and one critic optimiser step on it (manual
optimisation). Validation and test batches are deterministic episodes on the evaluation envs,
scored with :class:`~mimic_lit.metrics.TrackingMetrics`.

Networks are built when the data module connects the env (:meth:`RLModule.connect`, with the
env's :class:`~mimic_lit.envs.spec.RolloutSpec`), or, when loading a checkpoint without a
trainer, from the sizes saved in it. The method never reaches into the data module or the env:
what the update needs travels in the rollout batches. Checkpoints add the global
RNG states and those sizes; the data module adds the collector's generator, counters and the
environment state, so ``--ckpt_path last`` continues bit-identically.
"""

from __future__ import annotations

import contextlib
import random
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from lightning.pytorch import LightningModule

from mimic_lit.callbacks.throughput import ThroughputMeter
from mimic_lit.envs.spec import RolloutSpec, require_spec
from mimic_lit.errors import MimicLitError
from mimic_lit.methods.awr import awr_actor_loss
from mimic_lit.methods.ppo import ppo_actor_loss, value_loss
from mimic_lit.metrics.tracking import TrackingMetrics
from mimic_lit.nn.mlp import Actor, Critic
from mimic_lit.rl.distributions import DiagGaussian
from mimic_lit.rl.normalizer import Normalizer
from mimic_lit.rl.storage import RolloutStorage

# Rollout statistics are all-reduced by the collector before they are logged, so every rank logs the
# same number; Lightning cannot know that and would suggest sync_dist=True for each of them.
warnings.filterwarnings("ignore", message=r".*sync_dist=True.* when logging on epoch level in distributed")


@dataclass
class NetworkConfig:
    """An MLP: hidden layer widths and activation (relu, elu, tanh, silu, gelu, leaky_relu)."""

    hidden: list[int] = field(default_factory=lambda: [256, 256])
    activation: str = "relu"


@dataclass
class OptimizerConfig:
    """One network's optimiser: ``adam`` (AdamW) or ``sgd`` (momentum), and gradient-norm clipping."""

    name: Literal["adam", "sgd"] = "adam"
    lr: float = 2e-4
    momentum: float = 0.9
    weight_decay: float = 0.0
    grad_clip: float | None = None


@dataclass
class PPOConfig:
    """Clipped-surrogate options: ratio clip ε and the clip of normalised advantages."""

    clip_ratio: float = 0.2
    adv_clip: float | None = 4.0


@dataclass
class AWRConfig:
    """AWR options: temperature of exp(Â / T) on normalised advantages and the weight cap."""

    temperature: float = 1.0
    max_weight: float = 20.0


def allow_partial_backward_under_ddp(strategy: object) -> None:
    """Let DDP average gradients of backward passes that touch only some networks.

    AMP, ADD and ASE step several optimisers from separate losses in one ``training_step`` (actor
    and critic, then a discriminator or an encoder several times). Plain DDP expects each backward
    to reach every parameter and raises otherwise, so unless the user chose explicitly, DDP is told to
    find the parameters each backward used (``find_unused_parameters``): their gradients are averaged
    over ranks, the others are left alone. Called from ``setup``, before Lightning wraps the model.
    """
    from lightning.pytorch.strategies import DDPStrategy

    if isinstance(strategy, DDPStrategy):
        strategy._ddp_kwargs.setdefault("find_unused_parameters", True)


class RLModule(LightningModule):
    """Actor-critic learner with PPO or AWR updates; works with any :class:`VecEnv` data module.

    Args:
        algorithm: ``ppo`` (clipped surrogate) or ``awr`` (advantage-weighted regression).
        actor: actor MLP; the mean head is initialised U(±0.01).
        critic: critic MLP.
        actor_optim: actor optimiser (separate from the critic's); default Adam, lr 2e-4.
        critic_optim: critic optimiser; default Adam, lr 1e-3.
        action_std: Gaussian std in normalised action units (fixed unless ``learn_std``).
        learn_std: learn a per-dimension log-std instead of the fixed one.
        discount: γ.
        td_lambda: λ of the TD(λ) returns.
        action_bound_weight: weight of the penalty on action means outside [−1, 1].
        entropy_weight: entropy bonus weight (0: off).
        ppo: PPO options (used when ``algorithm == "ppo"``).
        awr: AWR options (used when ``algorithm == "awr"``).
        normalizer_samples: observation normaliser freezes after this many samples.
        init_from: a checkpoint whose networks start this run (fine-tuning, e.g. a locomotion
            policy on a task whose observation adds goal inputs); see
            :mod:`mimic_lit.methods.warm_start`. Ignored when a run resumes from its own checkpoint.
    """

    #: whether ``training_step`` runs backward passes that reach only some networks (see
    #: :func:`allow_partial_backward_under_ddp`); actor + critic alone share one backward.
    separate_backward_passes = False

    def __init__(
        self,
        algorithm: Literal["ppo", "awr"] = "ppo",
        actor: NetworkConfig | None = None,
        critic: NetworkConfig | None = None,
        actor_optim: OptimizerConfig | None = None,
        critic_optim: OptimizerConfig | None = None,
        action_std: float = 0.05,
        learn_std: bool = False,
        discount: float = 0.99,
        td_lambda: float = 0.95,
        action_bound_weight: float = 10.0,
        entropy_weight: float = 0.0,
        ppo: PPOConfig | None = None,
        awr: AWRConfig | None = None,
        normalizer_samples: float = 1e8,
        init_from: str | None = None,
    ) -> None:
        super().__init__()
        if algorithm not in ("ppo", "awr"):
            raise MimicLitError(f"algorithm must be 'ppo' or 'awr', got '{algorithm}'")
        self.automatic_optimization = False
        self.algorithm = algorithm
        self.actor_config = actor or NetworkConfig()
        self.critic_config = critic or NetworkConfig()
        self.actor_optim_config = actor_optim or OptimizerConfig()
        self.critic_optim_config = critic_optim or OptimizerConfig(lr=1e-3)
        self.action_std = float(action_std)
        self.learn_std = bool(learn_std)
        self.discount = float(discount)
        self.td_lambda = float(td_lambda)
        self.action_bound_weight = float(action_bound_weight)
        self.entropy_weight = float(entropy_weight)
        self.ppo_config = ppo or PPOConfig()
        self.awr_config = awr or AWRConfig()
        self.normalizer_samples = float(normalizer_samples)
        self.init_from = init_from
        self._check_options()

        self.obs_dim: int | None = None
        self.action_dim: int | None = None
        self.obs_normalizer: Normalizer | None = None
        self.actor: Actor | None = None
        self.critic: Critic | None = None
        self.val_metrics = TrackingMetrics()
        self.test_metrics = TrackingMetrics()
        self.iteration_samples = 0.0
        self._rollout_stats: dict[str, float] = {}
        self._train_sums: dict[str, torch.Tensor] = {}
        self._train_counts: dict[str, int] = {}
        self._pending_rng: dict[str, Any] | None = None
        self.rollout_spec: RolloutSpec | None = None

    #: trailing observation dims the normaliser leaves as they are (ASE's latent)
    def _check_options(self) -> None:
        """One line naming the field (``model.<field>``) for a numeric option that cannot work."""
        from mimic_lit.config_checks import (
            check_network,
            check_optimizer,
            require_in_range,
            require_nonnegative,
            require_optional,
            require_positive,
        )

        check_network(self.actor_config, "model.actor")
        check_network(self.critic_config, "model.critic")
        check_optimizer(self.actor_optim_config, "model.actor_optim")
        check_optimizer(self.critic_optim_config, "model.critic_optim")
        require_positive(self.action_std, "model.action_std")
        require_in_range(self.discount, "model.discount", 0.0, 1.0, low_open=True)
        require_in_range(self.td_lambda, "model.td_lambda", 0.0, 1.0)
        require_nonnegative(self.action_bound_weight, "model.action_bound_weight")
        require_nonnegative(self.entropy_weight, "model.entropy_weight")
        require_positive(self.ppo_config.clip_ratio, "model.ppo.clip_ratio")
        require_optional(require_positive, self.ppo_config.adv_clip, "model.ppo.adv_clip")
        require_positive(self.awr_config.temperature, "model.awr.temperature")
        require_positive(self.awr_config.max_weight, "model.awr.max_weight")
        require_nonnegative(self.normalizer_samples, "model.normalizer_samples")

    obs_passthrough: int = 0

    # ------------------------------------------------------------------ networks
    def build(self, obs_dim: int, action_dim: int) -> None:
        """Create normaliser, actor and critic for these sizes (no-op if already built for them)."""
        if self.actor is not None:
            if (self.obs_dim, self.action_dim) != (obs_dim, action_dim):
                raise MimicLitError(
                    f"networks were built for obs/action sizes {self.obs_dim}/{self.action_dim}, "
                    f"the environment has {obs_dim}/{action_dim}"
                )
            return
        self.obs_dim, self.action_dim = int(obs_dim), int(action_dim)
        self.obs_normalizer = Normalizer(obs_dim, max_samples=self.normalizer_samples, passthrough=self.obs_passthrough)
        a, c = self.actor_config, self.critic_config
        self.actor = Actor(obs_dim, action_dim, a.hidden, a.activation, 0.01, self.action_std, self.learn_std)
        self.critic = Critic(obs_dim, c.hidden, c.activation)

    def connect(self, spec: RolloutSpec) -> None:
        """Learn the env's sizes and the rollout schedule (called once by the data module's
        ``setup``, before this module's); build the networks. One-line error if the env does not
        fit this method."""
        self.rollout_spec = spec
        self.build(spec.env.obs_dim, spec.env.action_dim)
        names, goal = tuple(spec.env.eval_metrics), spec.env.goal_dim > 0
        if (names, goal) != (self.val_metrics.metric_names, self.val_metrics.goal):  # the env's per-step metrics
            self.val_metrics, self.test_metrics = TrackingMetrics(names, goal), TrackingMetrics(names, goal)

    def setup(self, stage: str) -> None:
        require_spec(self.rollout_spec, type(self).__name__)
        if self.separate_backward_passes:
            allow_partial_backward_under_ddp(self.trainer.strategy)

    def configure_callbacks(self) -> list:
        return [ThroughputMeter()]

    # ------------------------------------------------------------------ acting (RolloutAgent)
    def _precision_context(self):
        """The trainer's autocast (``--trainer.precision bf16-mixed``/``16-mixed``) for rollout
        forward passes, which run outside ``training_step``; a no-op at 32-bit or without a trainer."""
        trainer = self._trainer
        return trainer.precision_plugin.forward_context() if trainer is not None else contextlib.nullcontext()

    def policy(self, obs_n: torch.Tensor) -> DiagGaussian:
        """Action distribution for normalised observations."""
        with self._precision_context():
            dist = self.actor(obs_n)
        if dist.mean.dtype != torch.float32:  # sample and score actions in float32 as at 32-bit
            dist = DiagGaussian(dist.mean.float(), dist.log_std.float())
        return dist

    def value(self, obs_n: torch.Tensor) -> torch.Tensor:
        """(B,) state values for normalised observations (float32 under mixed precision too)."""
        with self._precision_context():
            return self.critic(obs_n).float()

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Normalised actions for raw observations (the deployed policy: normaliser + actor)."""
        dist = self.actor(self.obs_normalizer.normalize(obs))
        return dist.mode() if deterministic else dist.sample()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.act(obs)

    def shape_rewards(self, storage: RolloutStorage) -> dict[str, torch.Tensor]:
        """Rewrite ``storage.rewards`` after a rollout, before the returns (AMP adds its style
        reward); the tensors returned are averaged into the logged rollout statistics. Here: the
        env rewards stay."""
        return {}

    def on_rollout_stats(self, stats: dict[str, float]) -> None:
        stats = dict(stats)
        self.iteration_samples = stats.pop("iteration_samples", 0.0)
        self._rollout_stats = stats

    # ------------------------------------------------------------------ optimisation
    def _make_optimizer(self, params, cfg: OptimizerConfig) -> torch.optim.Optimizer:
        if cfg.name == "adam":
            return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.name == "sgd":
            return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        raise MimicLitError(f"optimizer name must be 'adam' or 'sgd', got '{cfg.name}'")

    def configure_optimizers(self):
        return [
            self._make_optimizer(self.actor.parameters(), self.actor_optim_config),
            self._make_optimizer(self.critic.parameters(), self.critic_optim_config),
        ]

    def actor_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The configured algorithm's actor loss on a minibatch."""
        dist = self.actor(batch["obs"])
        if self.algorithm == "ppo":
            return ppo_actor_loss(
                dist, batch["actions"], batch["log_probs"], batch["advantages"],
                self.ppo_config.clip_ratio, self.ppo_config.adv_clip, self.action_bound_weight, self.entropy_weight,
            )
        return awr_actor_loss(
            dist, batch["actions"], batch["advantages"],
            self.awr_config.temperature, self.awr_config.max_weight, self.action_bound_weight, self.entropy_weight,
        )

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        actor_opt, critic_opt = self.optimizers()[:2]  # methods may add more (a discriminator's)
        critic_loss = value_loss(self.critic(batch["obs"]), batch["returns"])
        actor_loss, parts = self.actor_loss(batch)
        actor_opt.zero_grad(set_to_none=True)
        critic_opt.zero_grad(set_to_none=True)
        # Actor and critic share no parameters: one backward of the sum gives each its own gradient.
        self.manual_backward(actor_loss + critic_loss)
        for opt, cfg in ((actor_opt, self.actor_optim_config), (critic_opt, self.critic_optim_config)):
            if cfg.grad_clip:
                self.clip_gradients(opt, gradient_clip_val=cfg.grad_clip, gradient_clip_algorithm="norm")
        actor_opt.step()
        critic_opt.step()
        self._accumulate({"actor_loss": actor_loss, "critic_loss": critic_loss, **parts})

    def _accumulate(self, values: dict[str, torch.Tensor]) -> None:
        """Add one update step's losses to the epoch sums; each value is averaged over the steps
        that reported it (a discriminator may step less often than the actor)."""
        for k, v in values.items():
            v = v.detach()
            self._train_sums[k] = self._train_sums[k] + v if k in self._train_sums else v
            self._train_counts[k] = self._train_counts.get(k, 0) + 1

    def on_train_epoch_start(self) -> None:
        self._train_sums, self._train_counts = {}, {}

    def on_train_epoch_end(self) -> None:
        logs = {f"train/{k}": (v / self._train_counts[k]).float() for k, v in self._train_sums.items()}
        self.log_dict(logs, on_epoch=True, sync_dist=True)
        stats = self._rollout_stats
        for key, value in stats.items():
            bar = key in ("rollout/reward", "episode/length_s")
            self.log(key, float(value), on_epoch=True, prog_bar=bar)
        self.log("iteration", float(self.current_epoch + 1), on_epoch=True)

    # ------------------------------------------------------------------ evaluation
    def _eval_step(self, batch: dict[str, torch.Tensor], metrics: TrackingMetrics) -> None:
        if batch["steps"].numel():
            metrics.update(batch)

    def _eval_epoch_end(self, metrics: TrackingMetrics, prefix: str) -> None:
        values = metrics.compute()
        for k, v in values.items():
            self.log(f"{prefix}/{k}", float(v), prog_bar=k in ("episode_length_s", "body_pos_err"))
        metrics.reset()

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics)

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end(self.val_metrics, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics)

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end(self.test_metrics, "test")

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        """Per-episode results of the deterministic evaluation episodes (``mimic-lit predict``):
        length, return, fall/success flags, steps and per-episode error sums, on the CPU."""
        return {k: v.detach().cpu() for k, v in batch.items()}

    # ------------------------------------------------------------------ checkpointing
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        np_state = np.random.get_state()
        checkpoint["mimic_lit"] = {
            "obs_dim": self.obs_dim,
            "action_dim": self.action_dim,
            "rng": {
                "torch": torch.get_rng_state(),
                "numpy": {
                    "keys": torch.from_numpy(np_state[1].astype(np.int64)),
                    "pos": int(np_state[2]),
                    "has_gauss": int(np_state[3]),
                    "cached_gaussian": float(np_state[4]),
                },
                "python": random.getstate(),
            },
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        from mimic_lit.checkpoint_io import upgrade_checkpoint

        upgrade_checkpoint(checkpoint)
        state = checkpoint.get("mimic_lit")
        if state is None:
            raise MimicLitError("this checkpoint was not written by a mimic-lit RL method (no 'mimic_lit' entry)")
        self.build(state["obs_dim"], state["action_dim"])
        # Applied when training starts, after Lightning's own restore and sanity checks (a skill
        # file, policy weights only, has no random state).
        self._pending_rng = state.get("rng")

    def on_fit_start(self) -> None:
        if self.init_from and self.trainer.ckpt_path is None:  # a resumed run has its own weights
            from lightning.pytorch.utilities import rank_zero_info

            from mimic_lit.methods.warm_start import warm_start

            report = warm_start(self, self.init_from)
            counts = {how: sum(v == how for v in report.values()) for how in ("copied", "widened", "skipped")}
            rank_zero_info(
                f"init_from {self.init_from}: {counts['copied']} tensors copied, {counts['widened']} widened "
                f"(new observation inputs start at zero weight), {counts['skipped']} kept as initialised"
            )

    def on_train_start(self) -> None:
        rng, self._pending_rng = self._pending_rng, None
        if rng is None:
            return
        torch.set_rng_state(rng["torch"])
        np_rng = rng["numpy"]
        np.random.set_state(
            ("MT19937", np_rng["keys"].numpy().astype(np.uint32), np_rng["pos"], np_rng["has_gauss"], np_rng["cached_gaussian"])
        )
        random.setstate(_as_python_state(rng["python"]))


def _as_python_state(state: Any) -> tuple:
    """``random.setstate`` wants nested tuples; checkpoints may hand back lists."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)

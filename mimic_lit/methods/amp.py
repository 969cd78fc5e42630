"""`AMP`: adversarial motion priors. A discriminator learns to tell the policy's motion from the
clips; its confidence becomes a style reward, mixed with the env's task reward.

Defaults follow MimicKit's AMP agent (reference notes §3.4):

- reward ``r = task_reward_weight * r_task + disc_reward_weight * r_D`` with
  ``r_D = -log(max(1 - sigmoid(D(s)), 1e-4)) * disc_reward_scale`` (scale 2);
- discriminator loss ``0.5 [BCE(D(policy), 0) + BCE(D(demo), 1)]`` plus ``disc_grad_penalty``
  times ``0.5 [E|grad D(demo)|^2 + E|grad D(policy)|^2]`` (on both sets, as MimicKit), plus
  ``disc_logit_reg`` times the squared output-layer weights, optimiser weight decay 1e-4;
- a replay buffer of earlier policies' discriminator observations as extra negatives: every
  sample until it is full, then ``disc_replay_samples`` per iteration;
- a running normaliser of discriminator observations, fed with demo samples.

Each iteration takes ``disc_updates`` discriminator steps (MimicKit: 2 epochs x 2 minibatches),
spread evenly over the actor/critic minibatch steps. A step uses ``disc_batch_size`` policy
samples drawn from the whole iteration, as many replayed ones, and as many demo samples drawn
from the iteration's demo pool.
The buffer defaults to 32,768 samples instead of MimicKit's 200,000: a G1 history is 2,390
floats, so 200,000 would hold 1.9 GB in memory and in every checkpoint.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from mimic_lit.config_checks import check_network, check_optimizer, require_at_least, require_nonnegative
from mimic_lit.envs.spec import RolloutSpec
from mimic_lit.errors import MimicLitError
from mimic_lit.methods.base import NetworkConfig, OptimizerConfig, RLModule
from mimic_lit.nn.mlp import Discriminator
from mimic_lit.rl.normalizer import Normalizer
from mimic_lit.rl.replay import ReplayBuffer
from mimic_lit.rl.storage import RolloutStorage

__all__ = ["AMP", "disc_reward", "disc_loss_terms"]


def disc_reward(logits: torch.Tensor, scale: float = 2.0) -> torch.Tensor:
    """Style reward ``-log(max(1 - sigmoid(logit), 1e-4)) * scale``: rises monotonically with the logit."""
    prob = torch.sigmoid(logits)
    return -torch.log(torch.clamp_min(1.0 - prob, 1e-4)) * scale


def _grad_sq_norm(logits: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """(B,) squared norm of d logit / d input per sample (graph kept for the penalty's gradient)."""
    (grad,) = torch.autograd.grad(logits.sum(), inputs, create_graph=True)
    return grad.square().sum(-1)


def disc_loss_terms(
    disc: Discriminator, positives: torch.Tensor, negatives: torch.Tensor
) -> dict[str, torch.Tensor]:
    """BCE loss, gradient penalties and diagnostics for normalised demo (positive) and policy
    (negative) observations; inputs are taken as leaves so the penalty sees d D / d x."""
    pos = positives.detach().requires_grad_(True)
    neg = negatives.detach().requires_grad_(True)
    pos_logit, neg_logit = disc(pos), disc(neg)
    bce = 0.5 * (
        F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit))
        + F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit))
    )
    gp_pos, gp_neg = _grad_sq_norm(pos_logit, pos).mean(), _grad_sq_norm(neg_logit, neg).mean()
    return {
        "bce": bce,
        "grad_penalty": 0.5 * (gp_pos + gp_neg),
        "grad_penalty_demo": gp_pos,
        "logit_demo": pos_logit.mean(),
        "logit_policy": neg_logit.mean(),
        "acc_demo": (pos_logit > 0).float().mean(),
        "acc_policy": (neg_logit < 0).float().mean(),
    }


def disc_steps_at(batch_idx: int, updates: int, steps: int) -> int:
    """Discriminator steps to take at minibatch ``batch_idx`` of ``steps`` so that ``updates``
    are spread evenly over an iteration (the last minibatch takes any remainder)."""
    i = min(batch_idx, steps - 1)
    stop = updates if batch_idx >= steps - 1 else (i + 1) * updates // steps
    return stop - i * updates // steps


class AMP(RLModule):
    """Actor, critic and discriminator; PPO or AWR on task + style rewards (see module docstring).

    Args (besides :class:`RLModule`'s):
        disc: discriminator MLP (MimicKit: [1024, 512]).
        disc_optim: its optimiser (MimicKit: lr 2.5e-4, weight decay 1e-4).
        disc_grad_penalty: weight of the gradient penalty (MimicKit: humanoid 5, G1 10).
        disc_logit_reg: weight of the squared output-layer weights.
        disc_reward_scale: scale of the style reward.
        task_reward_weight, disc_reward_weight: mix of the env's task reward and the style reward.
        disc_buffer_size: replay buffer capacity (samples).
        disc_replay_samples: policy samples added to the full buffer per iteration.
        disc_normalizer_samples: the discriminator normaliser freezes after this many demo samples.
        disc_updates: discriminator steps per iteration (MimicKit: 2 epochs x 2 minibatches = 4).
        disc_batch_size: samples of each set (policy, replay, demo) per discriminator step; the
            policy ones are a random subset of the iteration's. The gradient penalty needs a double
            backward through a wide input (a G1 history is 2,390 numbers), so on a CPU this is
            where the discriminator's cost is set.
    """

    def __init__(
        self,
        *args: Any,
        disc: NetworkConfig | None = None,
        disc_optim: OptimizerConfig | None = None,
        disc_grad_penalty: float = 5.0,
        disc_logit_reg: float = 0.01,
        disc_reward_scale: float = 2.0,
        task_reward_weight: float = 0.0,
        disc_reward_weight: float = 1.0,
        disc_buffer_size: int = 32768,
        disc_replay_samples: int = 1000,
        disc_normalizer_samples: float = 1e8,
        disc_batch_size: int = 512,
        disc_updates: int = 4,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.disc_config = disc or NetworkConfig(hidden=[1024, 512])
        self.disc_optim_config = disc_optim or OptimizerConfig(lr=2.5e-4, weight_decay=1e-4)
        self.disc_grad_penalty = float(disc_grad_penalty)
        self.disc_logit_reg = float(disc_logit_reg)
        self.disc_reward_scale = float(disc_reward_scale)
        self.task_reward_weight = float(task_reward_weight)
        self.disc_reward_weight = float(disc_reward_weight)
        check_network(self.disc_config, "model.disc")
        check_optimizer(self.disc_optim_config, "model.disc_optim")
        for name in ("disc_grad_penalty", "disc_logit_reg", "disc_reward_scale", "task_reward_weight", "disc_reward_weight"):
            require_nonnegative(getattr(self, name), f"model.{name}")
        self.disc_buffer_size = require_at_least(disc_buffer_size, "model.disc_buffer_size", 1)
        self.disc_replay_samples = require_at_least(disc_replay_samples, "model.disc_replay_samples", 1)
        self.disc_normalizer_samples = float(require_nonnegative(disc_normalizer_samples, "model.disc_normalizer_samples"))
        self.disc_batch_size = require_at_least(disc_batch_size, "model.disc_batch_size", 1)
        self.disc_updates = require_at_least(disc_updates, "model.disc_updates", 1)
        self._steps_per_iteration = 1
        self.disc_obs_dim: int | None = None
        self.disc: Discriminator | None = None
        self.disc_normalizer: Normalizer | None = None
        self.replay: ReplayBuffer | None = None
        self.disc_generator = torch.Generator()
        self.disc_generator.manual_seed(0)
        self._demo_pool: torch.Tensor | None = None
        self._iteration_policy_obs: torch.Tensor | None = None
        self._pending_disc_generator: torch.Tensor | None = None  # from a checkpoint, applied at train start

    # ------------------------------------------------------------------ networks
    def build_disc(self, disc_obs_dim: int) -> None:
        """Create the discriminator, its normaliser and the replay buffer (no-op if built for this size)."""
        if self.disc is not None:
            if self.disc_obs_dim != disc_obs_dim:
                raise MimicLitError(
                    f"the discriminator was built for {self.disc_obs_dim} inputs, the environment has {disc_obs_dim}"
                )
            return
        self.disc_obs_dim = int(disc_obs_dim)
        self.disc = Discriminator(disc_obs_dim, self.disc_config.hidden, self.disc_config.activation)
        self.disc_normalizer = self._make_disc_normalizer(disc_obs_dim)
        self.replay = ReplayBuffer(self.disc_buffer_size, disc_obs_dim, self.disc_replay_samples)

    def _make_disc_normalizer(self, dim: int) -> Normalizer:
        """Running mean/std of the discriminator's inputs (fed demo samples)."""
        return Normalizer(dim, max_samples=self.disc_normalizer_samples)

    #: the task config whose env emits what this method's discriminator needs (for error messages)
    task_class_path = "mimic_lit.envs.amp.AMPConfig"
    disc_input = "state"  #: must equal the env's ``EnvSpec.disc_obs.kind``
    separate_backward_passes = True  #: discriminator steps (and ASE's encoder) have their own losses

    def connect(self, spec: RolloutSpec) -> None:
        disc = spec.env.disc_obs
        if disc is None or disc.kind != self.disc_input:
            got = "none" if disc is None else disc.kind
            raise MimicLitError(
                f"{type(self).__name__} needs an env whose discriminator observations are '{self.disc_input}' "
                f"(data.init_args.task.class_path: {self.task_class_path}); this env's are {got}"
            )
        super().connect(spec)
        self.build_disc(disc.size)
        self._steps_per_iteration = int(spec.minibatches_per_iteration)
        self.disc_generator.manual_seed(int(spec.seed) + 104729)

    def configure_optimizers(self):
        return [*super().configure_optimizers(), self._make_optimizer(self.disc.parameters(), self.disc_optim_config)]

    # ------------------------------------------------------------------ rewards (after each rollout)
    @torch.no_grad()
    def shape_rewards(self, storage: RolloutStorage) -> dict[str, torch.Tensor]:
        """Replace the env rewards by task + style rewards, and draw this iteration's demo pool."""
        policy_obs = storage.extras["disc_obs"].reshape(storage.num_samples, -1)
        self._prepare_positives(policy_obs, storage)
        self._iteration_policy_obs = policy_obs
        logits = self.disc(self.disc_normalizer.normalize(policy_obs)).reshape(storage.rewards.shape)
        style = disc_reward(logits, self.disc_reward_scale)
        task = storage.rewards.clone()
        storage.rewards = self.task_reward_weight * task + self.disc_reward_weight * style
        return {"rollout/disc_reward": style, "rollout/task_reward": task, "rollout/disc_logit": logits}

    def _prepare_positives(self, policy_obs: torch.Tensor, storage: RolloutStorage) -> None:
        """Take the iteration's demo pool (one demo sample per rollout sample, drawn by the env
        after the rollout: ``storage.rollout_extras["demo_disc_obs"]``) and feed the normaliser."""
        demo = storage.rollout_extras["demo_disc_obs"]
        self.disc_normalizer.update(demo)
        self._demo_pool = demo

    def _positives(self, m: int, device: torch.device) -> torch.Tensor:
        """``m`` demo samples of the iteration's pool for one discriminator step."""
        pick = torch.randint(self._demo_pool.shape[0], (m,), generator=self.disc_generator).to(self._demo_pool.device)
        return self._demo_pool[pick].to(device)

    # ------------------------------------------------------------------ update
    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        super().training_step(batch, batch_idx)
        for _ in range(disc_steps_at(batch_idx, self.disc_updates, self._steps_per_iteration)):
            self._disc_step(self._iteration_policy_obs)

    def _disc_step(self, policy_obs: torch.Tensor) -> None:
        disc_opt = self.optimizers()[2]
        gen = self.disc_generator
        m = min(self.disc_batch_size, policy_obs.shape[0])
        if m < policy_obs.shape[0]:
            keep = torch.randint(policy_obs.shape[0], (m,), generator=gen).to(policy_obs.device)
            policy_obs = policy_obs[keep]
        negatives = policy_obs
        if len(self.replay) > 0:
            negatives = torch.cat([policy_obs, self.replay.sample(m, gen).to(policy_obs)], 0)
        positives = self._positives(m, policy_obs.device)
        norm = self.disc_normalizer.normalize
        terms = disc_loss_terms(self.disc, norm(positives), norm(negatives))
        logit_reg = self.disc.output.weight.square().sum()
        loss = terms["bce"] + self.disc_grad_penalty * terms["grad_penalty"] + self.disc_logit_reg * logit_reg
        disc_opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if self.disc_optim_config.grad_clip:
            self.clip_gradients(disc_opt, gradient_clip_val=self.disc_optim_config.grad_clip, gradient_clip_algorithm="norm")
        disc_opt.step()
        self._accumulate({f"disc_{k}": v for k, v in terms.items()} | {"disc_loss": loss})

    def on_train_epoch_end(self) -> None:
        # The iteration's policy samples join the replay buffer after its updates, as in MimicKit.
        if self._iteration_policy_obs is not None:
            self.replay.push(self._iteration_policy_obs, self.disc_generator)
            self._iteration_policy_obs = None
        super().on_train_epoch_end()

    # ------------------------------------------------------------------ checkpointing
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["mimic_lit"]["disc_obs_dim"] = self.disc_obs_dim
        checkpoint["mimic_lit"]["disc_generator"] = self.disc_generator.get_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        state = checkpoint["mimic_lit"]
        if state.get("disc_obs_dim") is None:
            raise MimicLitError("this checkpoint has no discriminator: it was not written by AMP")
        self.build_disc(state["disc_obs_dim"])
        self._pending_disc_generator = state.get("disc_generator")  # none in a policy-only skill file

    def on_train_start(self) -> None:
        super().on_train_start()
        pending = self._pending_disc_generator
        if pending is not None:
            self.disc_generator.set_state(pending)
            self._pending_disc_generator = None

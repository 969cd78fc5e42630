"""`ADD`: the adversarial differential discriminator. A discriminator learns to tell "no
difference to the reference" from the policy's differences; its confidence is the tracking
reward, so DeepMimic's hand-tuned reward weights and scales are not needed.

It is :class:`~mimic_lit.methods.amp.AMP` with three changes (reference notes §3.6):

- the discriminator's input is the env's difference ``reference frame - simulated frame``
  (:class:`~mimic_lit.envs.add.ADDEnv`), scaled per dimension by its running mean magnitude
  (:class:`~mimic_lit.rl.normalizer.MeanAbsNormalizer`, no centring, fed with the policy's
  differences);
- the single positive sample is the zero vector, the negatives are the iteration's differences
  plus as many replayed ones;
- the gradient penalty ``0.5 [E|grad D(diff)|^2 + |grad D(0)|^2]`` (the same formula as AMP's,
  on these sets), weight 2 by default (MimicKit's humanoid and G1).

The style reward formula, replay buffer, logit regularisation, optimiser and update schedule are
AMP's; the task/discriminator reward weights default to 0 / 1.
"""

from __future__ import annotations

from typing import Any

import torch

from mimic_lit.methods.amp import AMP
from mimic_lit.rl.storage import RolloutStorage
from mimic_lit.rl.normalizer import MeanAbsNormalizer, Normalizer

__all__ = ["ADD"]


class ADD(AMP):
    """DeepMimic-style tracking with an adversarial differential discriminator (see module docstring).

    Args: as :class:`~mimic_lit.methods.amp.AMP`, with ADD's defaults: ``disc_grad_penalty`` 2,
    ``task_reward_weight`` 0, ``disc_reward_weight`` 1.
    """

    task_class_path = "mimic_lit.envs.add.ADDConfig"
    disc_input = "difference"

    def __init__(
        self,
        *args: Any,
        disc_grad_penalty: float = 2.0,
        task_reward_weight: float = 0.0,
        disc_reward_weight: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            *args,
            disc_grad_penalty=disc_grad_penalty,
            task_reward_weight=task_reward_weight,
            disc_reward_weight=disc_reward_weight,
            **kwargs,
        )

    def _make_disc_normalizer(self, dim: int) -> Normalizer:
        """Mean-magnitude scaling without centring: a zero difference stays exactly zero."""
        return MeanAbsNormalizer(dim, max_samples=self.disc_normalizer_samples)

    def _prepare_positives(self, policy_obs: torch.Tensor, storage: RolloutStorage) -> None:
        """No demo pool: the positive is the zero difference; the normaliser sees the policy's."""
        self.disc_normalizer.update(policy_obs)

    def _positives(self, m: int, device: torch.device) -> torch.Tensor:
        """The single positive sample: the zero vector (the reference itself)."""
        return torch.zeros(1, self.disc_obs_dim, device=device)

"""Rollout storage: (T, N) tensors of one RL iteration and the shuffled minibatches drawn from it."""

from __future__ import annotations

from typing import Iterator

import torch

from mimic_lit.rl.returns import normalize_advantages, td_lambda_returns


class RolloutStorage:
    """Pre-allocated buffers for ``horizon`` (T) steps of ``num_envs`` (N) environments.

    ``obs`` holds observations already normalised with the statistics the policy used while
    acting, so the update sees exactly the inputs that produced ``log_probs`` and ``values``.
    """

    FIELDS = ("obs", "actions", "log_probs", "values", "rewards", "dones", "next_values")

    def __init__(self, horizon: int, num_envs: int, obs_dim: int, action_dim: int, device: torch.device | str = "cpu"):
        self.horizon, self.num_envs = int(horizon), int(num_envs)
        t, n = self.horizon, self.num_envs
        self.obs = torch.zeros(t, n, obs_dim, device=device)
        self.actions = torch.zeros(t, n, action_dim, device=device)
        self.log_probs = torch.zeros(t, n, device=device)
        self.values = torch.zeros(t, n, device=device)
        self.rewards = torch.zeros(t, n, device=device)
        self.dones = torch.zeros(t, n, dtype=torch.long, device=device)
        self.next_values = torch.zeros(t, n, device=device)
        self.returns = torch.zeros(t, n, device=device)
        self.advantages = torch.zeros(t, n, device=device)
        #: per-step tensors the env hands the learner (``StepResult.extras``), (T, N, ...) each
        self.extras: dict[str, torch.Tensor] = {}
        #: per-rollout tensors the env draws once after the rollout (``VecEnv.rollout_extras``, e.g.
        #: AMP's demo samples), (T·N, ...) each; for the reward shaping, not split into minibatches
        self.rollout_extras: dict[str, torch.Tensor] = {}

    def store_extras(self, t: int, extras: dict[str, torch.Tensor]) -> None:
        """Write step ``t``'s extras; buffers are allocated at the first step that has them."""
        for name, value in extras.items():
            buf = self.extras.get(name)
            if buf is None or buf.shape[2:] != value.shape[1:]:
                buf = self.extras[name] = value.new_zeros((self.horizon,) + tuple(value.shape))
            buf[t] = value

    @property
    def num_samples(self) -> int:
        return self.horizon * self.num_envs

    def compute_returns(self, gamma: float, lam: float) -> None:
        """Fill ``returns`` (TD(λ)) and ``advantages`` (R − V, normalised over all ranks, not clipped)."""
        self.returns = td_lambda_returns(self.rewards, self.next_values, self.dones, gamma, lam)
        self.advantages = normalize_advantages(self.returns - self.values)

    def flat(self) -> dict[str, torch.Tensor]:
        """Every per-sample field as (T·N, ...) tensors, for the update."""
        keys = ("obs", "actions", "log_probs", "values", "returns", "advantages")
        out = {k: getattr(self, k).reshape(self.num_samples, *getattr(self, k).shape[2:]) for k in keys}
        out.update({k: v.reshape(self.num_samples, *v.shape[2:]) for k, v in self.extras.items()})
        return out

    def minibatches(
        self, num_minibatches: int, epochs: int, generator: torch.Generator | None = None
    ) -> Iterator[dict[str, torch.Tensor]]:
        """``epochs`` passes over all samples, each a fresh permutation split into ``num_minibatches``."""
        data = self.flat()
        total = self.num_samples
        if not 1 <= num_minibatches <= total:
            raise ValueError(f"num_minibatches must lie in [1, {total}], got {num_minibatches}")
        size = total // num_minibatches  # a remainder of < num_minibatches samples is left out per pass
        for _ in range(epochs):
            perm = torch.randperm(total, generator=generator).to(self.obs.device)
            for i in range(num_minibatches):
                idx = perm[i * size : (i + 1) * size]
                yield {k: v[idx] for k, v in data.items()}

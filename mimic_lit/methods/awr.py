"""AWR actor update (on-policy, as MimicKit): advantage-weighted log-likelihood of the taken actions."""

from __future__ import annotations

import torch

from mimic_lit.methods.ppo import action_bound_loss
from mimic_lit.rl.distributions import DiagGaussian


def awr_weights(advantages: torch.Tensor, temperature: float = 1.0, max_weight: float = 20.0) -> torch.Tensor:
    """w = min(exp(Â / temperature), max_weight) for normalised advantages Â (not clipped)."""
    return (advantages / temperature).clamp(max=80.0).exp().clamp(max=max_weight)


def awr_actor_loss(
    dist: DiagGaussian,
    actions: torch.Tensor,
    advantages: torch.Tensor,
    temperature: float = 1.0,
    max_weight: float = 20.0,
    bound_weight: float = 10.0,
    entropy_weight: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """−mean(w · log π(a|s)) + ``bound_weight`` · action-bound penalty − ``entropy_weight`` · entropy."""
    weights = awr_weights(advantages, temperature, max_weight).detach()
    weighted = -(weights * dist.log_prob(actions)).mean()
    bound = action_bound_loss(dist.mean).mean()
    entropy = dist.entropy().mean()
    loss = weighted + bound_weight * bound
    if entropy_weight:
        loss = loss - entropy_weight * entropy
    info = {
        "weighted_nll": weighted.detach(),
        "bound": bound.detach(),
        "entropy": entropy.detach(),
        "weight_mean": weights.mean(),
        "weight_clip_frac": (weights >= max_weight).float().mean(),
    }
    return loss, info

"""PPO pieces shared by every method: clipped surrogate, value loss, action-bound penalty."""

from __future__ import annotations

import torch

from mimic_lit.rl.distributions import DiagGaussian


def action_bound_loss(mean: torch.Tensor, bound: float = 1.0) -> torch.Tensor:
    """(B,) Σ_i [min(μ_i + b, 0)² + max(μ_i − b, 0)²]: zero inside [−b, b], quadratic outside.

    Keeps the Gaussian mean inside the normalised action range (the env clips actions there, so
    a mean outside it gets no gradient from the surrogate).
    """
    below = (mean + bound).clamp(max=0.0)
    above = (mean - bound).clamp(min=0.0)
    return (below * below + above * above).sum(-1)


def value_loss(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """Mean squared error to the TD(λ) returns (no value clipping, as MimicKit)."""
    return (values - returns).pow(2).mean()


def clipped_surrogate(
    log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor, clip_ratio: float = 0.2
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """−mean(min(ρA, clip(ρ, 1 ± ε)A)) with ρ = π/π_old; also the clip fraction and mean ratio."""
    ratio = (log_probs - old_log_probs).exp()
    unclipped = ratio * advantages
    clipped = ratio.clamp(1.0 - clip_ratio, 1.0 + clip_ratio) * advantages
    loss = -torch.minimum(unclipped, clipped).mean()
    with torch.no_grad():
        clip_frac = ((ratio - 1.0).abs() > clip_ratio).float().mean()
    return loss, {"clip_frac": clip_frac, "ratio": ratio.detach().mean()}


def ppo_actor_loss(
    dist: DiagGaussian,
    actions: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    clip_ratio: float = 0.2,
    adv_clip: float | None = 4.0,
    bound_weight: float = 10.0,
    entropy_weight: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO actor loss on normalised advantages (clipped to ±``adv_clip``): surrogate
    + ``bound_weight`` · action-bound penalty − ``entropy_weight`` · entropy; returns (loss, parts)."""
    if adv_clip is not None:
        advantages = advantages.clamp(-adv_clip, adv_clip)
    surrogate, info = clipped_surrogate(dist.log_prob(actions), old_log_probs, advantages, clip_ratio)
    bound = action_bound_loss(dist.mean).mean()
    entropy = dist.entropy().mean()
    loss = surrogate + bound_weight * bound
    if entropy_weight:
        loss = loss - entropy_weight * entropy
    return loss, {"surrogate": surrogate.detach(), "bound": bound.detach(), "entropy": entropy.detach(), **info}

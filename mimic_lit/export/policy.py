"""The deployable policy: observation normaliser + actor mean + action-to-PD-target map in one module.

A robot runs ``joint_targets = policy(raw_observation)`` and nothing else: the running statistics
of the observation normaliser, the clipping, the deterministic action (the Gaussian's mean) and the
affine map to PD position targets are all inside, so an ONNX or TorchScript file of this module is
the whole controller. :func:`policy_metadata` says what the inputs and outputs mean.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from mimic_lit.errors import MimicLitError

__all__ = ["DeployedPolicy", "deployed_policy"]


class DeployedPolicy(nn.Module):
    """``obs`` (B, obs_dim) raw observations -> (``actions`` (B, D) normalised, unclipped;
    ``joint_targets`` (B, D) PD position targets [rad] of the clipped actions).

    Args:
        trunk: the actor's MLP (a copy: the module owns it).
        mean: the actor's mean layer (a copy).
        obs_mean: (obs_dim,) normaliser mean.
        obs_std: (obs_dim,) normaliser std.
        obs_clip: clip of the normalised observation, in std units.
        action_offset: (D,) PD target of action 0: ``target = offset + scale * clip(action, -1, 1)``.
        action_scale: (D,) PD target change per unit of action.
    """

    def __init__(
        self,
        trunk: nn.Module,
        mean: nn.Module,
        obs_mean: torch.Tensor,
        obs_std: torch.Tensor,
        obs_clip: float,
        action_offset: torch.Tensor,
        action_scale: torch.Tensor,
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.mean = mean
        self.obs_clip = float(obs_clip)
        self.register_buffer("obs_mean", obs_mean.detach().float().clone())
        self.register_buffer("obs_std", obs_std.detach().float().clone())
        self.register_buffer("action_offset", action_offset.detach().float().clone())
        self.register_buffer("action_scale", action_scale.detach().float().clone())

    @property
    def obs_dim(self) -> int:
        return int(self.obs_mean.shape[0])

    @property
    def action_dim(self) -> int:
        return int(self.action_offset.shape[0])

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        obs_n = ((obs - self.obs_mean) / self.obs_std).clamp(-self.obs_clip, self.obs_clip)
        actions = self.mean(self.trunk(obs_n))
        targets = self.action_offset + self.action_scale * actions.clamp(-1.0, 1.0)
        return actions, targets


def deployed_policy(model: Any, action_offset: torch.Tensor, action_scale: torch.Tensor) -> DeployedPolicy:
    """The :class:`DeployedPolicy` of a trained method (any :class:`~mimic_lit.methods.base.RLModule`),
    on the CPU in float32 and in eval mode; the method itself is left untouched."""
    actor, norm = getattr(model, "actor", None), getattr(model, "obs_normalizer", None)
    if actor is None or norm is None:
        raise MimicLitError(f"{type(model).__name__} has no built actor and observation normaliser to export")
    policy = DeployedPolicy(
        copy.deepcopy(actor.trunk).float().cpu(),
        copy.deepcopy(actor.mean).float().cpu(),
        norm.mean.cpu(),
        norm.std.cpu(),
        norm.clip,
        torch.as_tensor(action_offset).cpu(),
        torch.as_tensor(action_scale).cpu(),
    )
    if policy.action_dim != actor.mean.out_features:
        raise MimicLitError(
            f"the action map has {policy.action_dim} joints but the policy outputs {actor.mean.out_features}"
        )
    return policy.eval()

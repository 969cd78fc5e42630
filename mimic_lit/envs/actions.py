"""Normalised policy actions <-> PD position targets, from the robot's joint limits.

Policies act in a normalised space where [-1, 1] covers each joint's range enlarged by a margin
(MimicKit's hinge rule): centre ``c = (lo + hi) / 2`` (or 0 with ``zero_center``, or a given pose
such as the robot's default standing pose, as legged_gym centres its actions), half-width
``s = hinge_scale * max(|hi - c|, |lo - c|)``; target = ``c + s * a`` with ``a`` clipped to
[-1, 1]. Learners use :attr:`ActionMapping.offset` / :attr:`ActionMapping.scale` as the fixed
action normaliser, and penalise the policy mean leaving [-1, 1] in this space.

Every hinge is treated alike, including the DeepMimic humanoid's hinge triples (MimicKit models
those as 3-D exp-map joints with a symmetric 1.2x bound; our MJCF has three 1-DoF hinges instead).
A joint the MJCF leaves unlimited gets centre 0 and half-width ``hinge_scale * pi``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mimic_lit.errors import MimicLitError

__all__ = ["ActionMapping"]


@dataclass(frozen=True)
class ActionMapping:
    """Fixed affine map between normalised actions (N, D) and PD targets (N, D), batched.

    Attributes:
        offset: (D,) PD target of action 0 (the range centre).
        scale: (D,) PD target change per unit of normalised action (the enlarged half-width).
    """

    offset: torch.Tensor
    scale: torch.Tensor

    @classmethod
    def from_limits(
        cls,
        limits: np.ndarray | torch.Tensor,
        hinge_scale: float = 1.4,
        zero_center: bool = False,
        *,
        center: np.ndarray | torch.Tensor | None = None,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> "ActionMapping":
        """Mapping for joints with ``limits`` (D, 2) = (lower, upper); +-inf marks an unlimited joint.
        ``center`` (D,): the PD target of action 0 instead of mid-range (it must lie in the limits)."""
        lim = np.asarray(torch.as_tensor(limits).cpu(), dtype=np.float64)
        if lim.ndim != 2 or lim.shape[1] != 2:
            raise MimicLitError(f"joint limits must have shape (D, 2), got {lim.shape}")
        if not hinge_scale > 0:
            raise MimicLitError(f"action_hinge_scale must be > 0, got {hinge_scale}")
        lo, hi = lim[:, 0], lim[:, 1]
        limited = np.isfinite(lo) & np.isfinite(hi)
        with np.errstate(invalid="ignore"):
            centre = np.where(limited, 0.5 * (lo + hi), 0.0)
        if zero_center and center is not None:
            raise MimicLitError("give one action centre: zero_center or center, not both")
        if zero_center:
            centre = np.zeros_like(centre)
        if center is not None:
            centre = np.asarray(torch.as_tensor(center).cpu(), dtype=np.float64).reshape(-1)
            if centre.shape != lo.shape:
                raise MimicLitError(f"action centre has {centre.size} values for {lo.size} joints")
            outside = limited & ((centre < lo - 1e-9) | (centre > hi + 1e-9))
            if outside.any():
                raise MimicLitError(f"action centre lies outside the joint limits at joints {np.flatnonzero(outside).tolist()}")
        with np.errstate(invalid="ignore"):
            half = np.maximum(np.abs(hi - centre), np.abs(lo - centre))
        half = np.where(limited, half, math.pi)
        half = np.where(half > 0, half, 1.0)  # a degenerate range [c, c] still maps 1:1
        return cls(
            offset=torch.as_tensor(centre, dtype=dtype, device=device),
            scale=torch.as_tensor(hinge_scale * half, dtype=dtype, device=device),
        )

    @property
    def action_dim(self) -> int:
        return int(self.offset.shape[0])

    @property
    def low(self) -> torch.Tensor:
        """(D,) smallest PD target an action can produce."""
        return self.offset - self.scale

    @property
    def high(self) -> torch.Tensor:
        """(D,) largest PD target an action can produce."""
        return self.offset + self.scale

    def to_targets(self, actions: torch.Tensor) -> torch.Tensor:
        """PD targets of normalised ``actions`` (..., D), which are clipped to [-1, 1] first."""
        if actions.shape[-1] != self.action_dim:
            raise MimicLitError(f"actions must have {self.action_dim} columns, got shape {tuple(actions.shape)}")
        a = actions.to(self.offset.dtype).clamp(-1.0, 1.0)
        return torch.addcmul(self.offset, a, self.scale)

    def to_actions(self, targets: torch.Tensor) -> torch.Tensor:
        """Normalised actions (unclipped) that produce PD ``targets`` (..., D)."""
        return (targets.to(self.offset.dtype) - self.offset) / self.scale

"""Diagonal Gaussian policy head over normalised actions: fixed std (MimicKit) or learned log-std."""

from __future__ import annotations

import math

import torch
from torch import nn

_LOG_2PI = math.log(2.0 * math.pi)


class DiagGaussian:
    """A batch of diagonal Gaussians; log-probabilities and entropies sum over action dimensions."""

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self.mean = mean
        self.log_std = log_std.expand_as(mean)

    @property
    def std(self) -> torch.Tensor:
        return self.log_std.exp()

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.mean + self.std * noise

    def mode(self) -> torch.Tensor:
        return self.mean

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        z = (actions - self.mean) / self.std
        return (-0.5 * z * z - self.log_std - 0.5 * _LOG_2PI).sum(-1)

    def entropy(self) -> torch.Tensor:
        return (self.log_std + 0.5 * (1.0 + _LOG_2PI)).sum(-1)


class GaussianHead(nn.Module):
    """Turns action means into a :class:`DiagGaussian`.

    ``learn_std=False`` (default, as MimicKit) keeps ``std`` fixed in a buffer, so exploration does
    not collapse or grow; ``learn_std=True`` makes the per-dimension log-std a parameter,
    initialised at ``log(std)``.
    """

    def __init__(self, action_dim: int, std: float = 0.05, learn_std: bool = False) -> None:
        super().__init__()
        if std <= 0:
            raise ValueError(f"action std must be positive, got {std}")
        init = torch.full((action_dim,), math.log(std))
        self.learn_std = bool(learn_std)
        if self.learn_std:
            self.log_std = nn.Parameter(init)
        else:
            self.register_buffer("log_std", init)

    def forward(self, mean: torch.Tensor) -> DiagGaussian:
        return DiagGaussian(mean, self.log_std)

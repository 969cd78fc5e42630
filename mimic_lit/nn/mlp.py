"""MLP builder and the actor/critic networks the RL methods share."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mimic_lit.rl.distributions import DiagGaussian, GaussianHead

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
}


def activation(name: str) -> nn.Module:
    """The activation module called ``name`` (relu, elu, tanh, silu, gelu, leaky_relu)."""
    try:
        return _ACTIVATIONS[name.lower()]()
    except KeyError:
        raise ValueError(f"unknown activation '{name}'; choose one of: {', '.join(sorted(_ACTIVATIONS))}") from None


def build_mlp(in_dim: int, hidden: Sequence[int], out_dim: int | None = None, act: str = "relu") -> nn.Sequential:
    """Linear + activation per hidden size, then a linear output layer if ``out_dim`` is given."""
    layers: list[nn.Module] = []
    last = in_dim
    for width in hidden:
        layers += [nn.Linear(last, int(width)), activation(act)]
        last = int(width)
    if out_dim is not None:
        layers.append(nn.Linear(last, out_dim))
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """Gaussian policy over normalised actions: MLP trunk, mean head initialised U(±``init_scale``)
    (near-zero actions, i.e. the middle of the joint ranges, at the start) and a
    :class:`GaussianHead` (fixed or learned std)."""

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden: Sequence[int] = (256, 256),
        act: str = "relu",
        init_scale: float = 0.01,
        action_std: float = 0.05,
        learn_std: bool = False,
    ) -> None:
        super().__init__()
        self.trunk = build_mlp(obs_dim, hidden, None, act)
        self.mean = nn.Linear(int(hidden[-1]) if hidden else obs_dim, action_dim)
        nn.init.uniform_(self.mean.weight, -init_scale, init_scale)
        nn.init.zeros_(self.mean.bias)
        self.head = GaussianHead(action_dim, action_std, learn_std)

    def forward(self, obs_n: torch.Tensor) -> DiagGaussian:
        return self.head(self.mean(self.trunk(obs_n)))


class Critic(nn.Module):
    """State-value network V(s) on normalised observations; returns (B,)."""

    def __init__(self, obs_dim: int, hidden: Sequence[int] = (256, 256), act: str = "relu") -> None:
        super().__init__()
        self.net = build_mlp(obs_dim, hidden, 1, act)

    def forward(self, obs_n: torch.Tensor) -> torch.Tensor:
        return self.net(obs_n).squeeze(-1)


class Discriminator(nn.Module):
    """Logit D(s) (B,) of "this came from the motion data" for normalised discriminator observations.

    ``output`` is the last linear layer, kept apart because its weights carry the logit
    regularisation of AMP.
    """

    def __init__(self, obs_dim: int, hidden: Sequence[int] = (1024, 512), act: str = "relu") -> None:
        super().__init__()
        self.trunk = build_mlp(obs_dim, hidden, None, act)
        self.output = nn.Linear(int(hidden[-1]) if hidden else obs_dim, 1)
        nn.init.uniform_(self.output.weight, -1.0, 1.0)  # MimicKit's disc head init scale
        nn.init.zeros_(self.output.bias)

    def forward(self, obs_n: torch.Tensor) -> torch.Tensor:
        return self.output(self.trunk(obs_n)).squeeze(-1)

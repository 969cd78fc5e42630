"""Neural network builders: MLPs, the Gaussian actor and the critic."""

from mimic_lit.nn.mlp import Actor, Critic, activation, build_mlp

__all__ = ["Actor", "Critic", "activation", "build_mlp"]

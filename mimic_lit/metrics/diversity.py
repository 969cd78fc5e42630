"""How different the motions of an ASE policy are for different latents.

:func:`latent_diversity` starts every environment of an ASE env from one and the same state,
holds a different latent in each, plays the deterministic policy, and measures the mean
pairwise distance between the resulting body trajectories. A policy that ignores its latent
scores 0; one whose latents select different skills scores high.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mimic_lit.envs.protocol import Done
from mimic_lit.errors import MimicLitError

__all__ = ["DiversityResult", "latent_diversity"]


@dataclass
class DiversityResult:
    """Mean pairwise distance of body positions (m), averaged over bodies and the common steps,
    and the number of steps every rollout lasted (a fall ends one)."""

    mean_pairwise_distance: float
    steps: int
    num_latents: int


@torch.no_grad()
def latent_diversity(model, env, latents: torch.Tensor, steps: int) -> DiversityResult:
    """Play ``model`` (an ASE method) in ``env`` (an :class:`~mimic_lit.envs.ase.ASEEnv` with as
    many environments as ``latents`` rows) for up to ``steps`` control steps from env 0's reset
    state, one latent per environment, and measure how far apart the body trajectories go."""
    n = env.num_envs
    if latents.shape != (n, env.latent_dim):
        raise MimicLitError(f"need latents of shape ({n}, {env.latent_dim}), got {tuple(latents.shape)}")
    if n < 2:
        raise MimicLitError("diversity needs at least two latents")
    env.reset()
    sim = env.sim
    every = torch.arange(n)
    sim.reset(every, sim.qpos[:1].expand(n, -1).clone(), sim.qvel[:1].expand(n, -1).clone())
    env.set_latents(latents, hold_steps=10**9)
    obs = env.observe()
    trajectories = [sim.body_pos.clone()]
    alive = torch.ones(n, dtype=torch.bool)
    for _ in range(steps):
        res = env.step(model.act(obs))
        alive &= (res.done == int(Done.NULL)).cpu()
        if not bool(alive.all()):
            break
        env.set_latents(latents, hold_steps=10**9)
        obs = res.obs
        trajectories.append(sim.body_pos.clone())
    traj = torch.stack(trajectories, dim=1).double()  # (n, T, B, 3)
    gaps = (traj.unsqueeze(0) - traj.unsqueeze(1)).norm(dim=-1).mean(dim=(-1, -2))  # (n, n)
    pairs = torch.triu_indices(n, n, offset=1)
    return DiversityResult(float(gaps[pairs[0], pairs[1]].mean()), len(trajectories) - 1, n)

"""TD(λ) returns and advantages for (T, N) rollouts with MimicKit's done semantics.

Per step t of environment n the collector stores the reward r_t, the done flag d_t and the value
of the state the transition reached, ``next_value`` v'_t:

- d_t = NULL: v'_t = V(s_{t+1}) (the next observation of the same episode);
- d_t = TIME: v'_t = V(terminal_obs), the true final state: a time-out is not a real end, so the
  return bootstraps from it;
- d_t = FAIL or SUCC: v'_t = 0 (the terminal rewards of DeepMimic are 0).

The λ-return is R_t = r_t + γ·[(1 − λ_t)·v'_t + λ_t·R_{t+1}], with λ_t = 0 wherever the episode
ended at t (the return is cut there) and R_T = v'_{T-1} at the end of the rollout. Advantages are
A_t = R_t − V(s_t); this is GAE(λ) written as a return.
"""

from __future__ import annotations

import torch

from mimic_lit.envs.protocol import Done
from mimic_lit.rl.normalizer import all_reduce_sum


def terminal_values(done: torch.Tensor, bootstrap: torch.Tensor, next_obs_value: torch.Tensor) -> torch.Tensor:
    """v'_t from the done flags: ``next_obs_value`` where running, ``bootstrap`` = V(terminal_obs) on
    TIME, 0 on FAIL/SUCC."""
    out = torch.where(done == int(Done.TIME), bootstrap, next_obs_value)
    return torch.where((done == int(Done.FAIL)) | (done == int(Done.SUCC)), torch.zeros_like(out), out)


def td_lambda_returns(
    rewards: torch.Tensor, next_values: torch.Tensor, dones: torch.Tensor, gamma: float = 0.99, lam: float = 0.95
) -> torch.Tensor:
    """λ-returns R (T, N) from rewards, next-state values v' and done flags, all (T, N) (see module doc)."""
    if not (rewards.shape == next_values.shape == dones.shape) or rewards.dim() != 2:
        raise ValueError(f"expected equal (T, N) shapes, got {rewards.shape}, {next_values.shape}, {dones.shape}")
    running = (dones == int(Done.NULL)).to(rewards.dtype)
    returns = torch.empty_like(rewards)
    ret = next_values[-1]
    for t in range(rewards.shape[0] - 1, -1, -1):  # a loop over time, batched over environments
        lam_t = lam * running[t]
        ret = rewards[t] + gamma * ((1.0 - lam_t) * next_values[t] + lam_t * ret)
        returns[t] = ret
    return returns


def normalize_advantages(adv: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """(A − mean) / std over all samples of every DDP rank (statistics all-reduced)."""
    a = adv.reshape(-1).to(torch.float64)
    stats = all_reduce_sum(torch.stack([a.new_tensor(float(a.numel())), a.sum(), (a * a).sum()]))
    mean = stats[1] / stats[0]
    var = (stats[2] / stats[0] - mean * mean).clamp(min=0.0)
    return ((adv - mean.to(adv.dtype)) / (var.sqrt().to(adv.dtype) + eps)).to(adv.dtype)

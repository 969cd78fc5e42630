"""Replay buffer of past policy samples for discriminators (AMP, ASE, ADD): negatives that keep
the discriminator from forgetting what earlier policies did."""

from __future__ import annotations

import torch
from torch import nn


class ReplayBuffer(nn.Module):
    """Fixed-capacity ring of (dim,) samples; its contents are buffers, so they are checkpointed.

    MimicKit's schedule: until the buffer is full every sample of an iteration is pushed; after
    that only ``samples_per_push`` random ones, so old policies fade out slowly.
    """

    def __init__(self, capacity: int, dim: int, samples_per_push: int = 1000) -> None:
        super().__init__()
        if capacity < 1 or samples_per_push < 1:
            raise ValueError("capacity and samples_per_push must be >= 1")
        self.capacity, self.dim, self.samples_per_push = int(capacity), int(dim), int(samples_per_push)
        self.register_buffer("data", torch.zeros(self.capacity, self.dim))
        self.register_buffer("size", torch.zeros((), dtype=torch.long))
        self.register_buffer("head", torch.zeros((), dtype=torch.long))

    def __len__(self) -> int:
        return int(self.size)

    @property
    def full(self) -> bool:
        return int(self.size) >= self.capacity

    @torch.no_grad()
    def push(self, x: torch.Tensor, generator: torch.Generator | None = None) -> None:
        """Add an iteration's samples ``x`` (n, dim): all of them before the buffer is full, then
        ``samples_per_push`` drawn at random."""
        x = x.reshape(-1, self.dim)
        if self.full and x.shape[0] > self.samples_per_push:
            pick = torch.randperm(x.shape[0], generator=generator)[: self.samples_per_push]
            x = x[pick.to(x.device)]
        x = x[-self.capacity :]
        n = x.shape[0]
        idx = (int(self.head) + torch.arange(n, device=self.data.device)) % self.capacity
        self.data[idx] = x.to(self.data.dtype)
        self.head.fill_((int(self.head) + n) % self.capacity)
        self.size.fill_(min(self.capacity, int(self.size) + n))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n, dim) samples drawn uniformly with replacement; the buffer must not be empty."""
        if int(self.size) == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        idx = torch.randint(int(self.size), (n,), generator=generator)
        return self.data[idx.to(self.data.device)]

    def extra_repr(self) -> str:
        return f"capacity={self.capacity}, dim={self.dim}, samples_per_push={self.samples_per_push}"

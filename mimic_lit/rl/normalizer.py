"""Running mean/std observation normaliser, synchronised across DDP ranks, plus small
``torch.distributed`` helpers that are no-ops in a single process."""

from __future__ import annotations

import torch
from torch import nn


def dist_ready() -> bool:
    """Whether a ``torch.distributed`` process group is running (DDP)."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def world_size() -> int:
    """Number of DDP ranks (1 without a process group)."""
    return torch.distributed.get_world_size() if dist_ready() else 1


def _needs_cuda_copy(x: torch.Tensor) -> bool:
    """A CPU tensor under a process group that carries only CUDA tensors (plain NCCL, ``strategy: ddp``
    on GPUs) must travel through the rank's GPU."""
    return x.device.type == "cpu" and "gloo" not in str(torch.distributed.get_backend()) and torch.cuda.is_available()


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum ``x`` over ranks (a copy on ``x``'s device; ``x`` itself is left alone). Identity without DDP."""
    if not dist_ready():
        return x
    if _needs_cuda_copy(x):
        y = x.to(torch.device("cuda", torch.cuda.current_device()))
        torch.distributed.all_reduce(y, op=torch.distributed.ReduceOp.SUM)
        return y.cpu()
    y = x.clone()
    torch.distributed.all_reduce(y, op=torch.distributed.ReduceOp.SUM)
    return y


class Normalizer(nn.Module):
    """Per-dimension running mean/std: ``normalize(x) = clip((x - mean) / max(std, min_std), ±clip)``.

    Sums are kept in float64 so millions of samples do not lose precision. :meth:`update` adds a
    batch of samples (all-reduced over DDP ranks first, so every rank holds identical statistics)
    until ``max_samples`` have been seen; after that the statistics are frozen, as in MimicKit,
    so the policy's input scale stops moving. All statistics are buffers: they live in the
    module's ``state_dict`` and so in every checkpoint.
    """

    def __init__(
        self, dim: int, clip: float = 10.0, min_std: float = 1e-4, max_samples: float = 1e8, passthrough: int = 0
    ) -> None:
        super().__init__()
        if not 0 <= passthrough <= dim:
            raise ValueError(f"passthrough must be in [0, {dim}], got {passthrough}")
        self.dim = int(dim)
        self.passthrough = int(passthrough)  # the last dims pass unchanged (ASE's unit-norm latent)
        self.clip = float(clip)
        self.min_std = float(min_std)
        self.max_samples = float(max_samples)
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("sum", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("sumsq", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    @property
    def frozen(self) -> bool:
        """True once ``max_samples`` samples have been accumulated."""
        return float(self.count) >= self.max_samples

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Add samples ``x`` (..., dim) from this rank (and, under DDP, every other rank's)."""
        if self.frozen:
            return
        x = x.reshape(-1, self.dim).float()
        # Batch mean and centred sum of squares in float32 (fast, and accurate because centred),
        # turned into float64 sums for the running totals.
        n = x.shape[0]
        mean = x.sum(0) / n
        m2 = (x - mean).square().sum(0)
        mean64 = mean.double()
        count = torch.tensor([float(n)], dtype=torch.float64, device=x.device)
        stats = torch.cat([count, mean64 * n, m2.double() + n * mean64 * mean64])
        stats = all_reduce_sum(stats.to(self.sum.device))
        self.count += stats[0]
        self.sum += stats[1 : 1 + self.dim]
        self.sumsq += stats[1 + self.dim :]
        self._refresh()

    @torch.no_grad()
    def sync(self) -> None:
        """Make every rank's statistics rank 0's (for statistics loaded or built outside :meth:`update`)."""
        if dist_ready():
            for buf in (self.count, self.sum, self.sumsq):
                torch.distributed.broadcast(buf, src=0)
            self._refresh()

    def _refresh(self) -> None:
        n = self.count.clamp(min=1.0)
        mean = self.sum / n
        var = (self.sumsq / n - mean * mean).clamp(min=0.0)
        self.mean.copy_(mean.to(self.mean.dtype))
        self.std.copy_(var.sqrt().clamp(min=self.min_std).to(self.std.dtype))
        if self.passthrough:
            self.mean[-self.passthrough :] = 0.0
            self.std[-self.passthrough :] = 1.0

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` in normalised units, clipped to ±``clip``."""
        return ((x - self.mean) / self.std).clamp(-self.clip, self.clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.normalize(x)

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, clip={self.clip}, min_std={self.min_std}, max_samples={self.max_samples:g}, "
            f"passthrough={self.passthrough}"
        )


class MeanAbsNormalizer(Normalizer):
    """Per-dimension scale only: ``normalize(x) = clip(x / max(mean |x|, min_std), ±clip)``.

    ADD's discriminator sees differences between the reference and the simulated state, whose
    ideal value is exactly zero; centring them would move that zero, so they are only scaled by
    their running mean magnitude (MimicKit's ``DiffNormalizer``). ``sum`` holds the running sum
    of ``|x|``; ``mean`` stays zero and ``std`` holds the scale, so :meth:`normalize` is shared.
    """

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Add samples ``x`` (..., dim) from this rank (and, under DDP, every other rank's)."""
        if self.frozen:
            return
        x = x.reshape(-1, self.dim).float()
        count = torch.tensor([float(x.shape[0])], dtype=torch.float64, device=x.device)
        stats = all_reduce_sum(torch.cat([count, x.abs().sum(0).double()]).to(self.sum.device))
        self.count += stats[0]
        self.sum += stats[1:]
        self._refresh()

    def _refresh(self) -> None:
        scale = self.sum / self.count.clamp(min=1.0)
        self.mean.zero_()
        self.std.copy_(scale.clamp(min=self.min_std).to(self.std.dtype))

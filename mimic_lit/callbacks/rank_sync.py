"""DDP safety net: check that every rank still holds the same weights and normaliser statistics.

Under DDP each rank collects its own rollouts but must apply identical updates; a method that
forgets to average a gradient, or a normaliser that skips its all-reduce, makes the ranks drift
apart silently and the run then trains N different policies. This callback compares them after
every few iterations and stops the run with a message naming the first tensor that differs.
"""

from __future__ import annotations

from pathlib import Path

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from mimic_lit.errors import MimicLitError
from mimic_lit.rl.normalizer import Normalizer, dist_ready


def synced_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The tensors DDP ranks must agree on: every parameter and every normaliser buffer."""
    state = {name: p.detach() for name, p in module.named_parameters()}
    for prefix, sub in module.named_modules():
        if isinstance(sub, Normalizer):
            for name, buf in sub.named_buffers(recurse=False):
                state[f"{prefix}.{name}"] = buf.detach()
    return state


def first_mismatch(
    names: list[str], sizes: list[int], gathered: torch.Tensor, atol: float
) -> tuple[float, str | None]:
    """(largest absolute difference to rank 0, name of the first tensor above ``atol`` or None)
    for ``gathered`` (ranks, total) holding each rank's flattened tensors in ``names`` order."""
    diff = (gathered - gathered[:1]).abs().amax(dim=0)
    worst = float(diff.max()) if diff.numel() else 0.0
    if not worst > atol and worst == worst:  # NaN counts as a mismatch
        return worst, None
    for name, chunk in zip(names, torch.split(diff, sizes)):
        if chunk.numel() and not float(chunk.max()) <= atol:
            return worst, name
    return worst, names[-1] if names else None


class RankSyncCheck(Callback):
    """After every ``every_n_iterations`` training iterations, all-gather the parameters and the
    normaliser statistics of every rank and raise :class:`MimicLitError` if any differ from rank 0's
    by more than ``atol``. Logs ``ddp/max_rank_diff``. No-op without a process group.

    ``dump_dir``: also save each rank's tensors there (``rank<r>_iter<k>.pt``), for tests and
    post-mortems. Cost: one all-gather of the model per check (a few MB for the G1).
    """

    def __init__(self, every_n_iterations: int = 10, atol: float = 0.0, dump_dir: str | None = None) -> None:
        if every_n_iterations < 1:
            raise MimicLitError(f"every_n_iterations must be >= 1, got {every_n_iterations}")
        self.every_n_iterations = int(every_n_iterations)
        self.atol = float(atol)
        self.dump_dir = dump_dir
        self.checks = 0

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if (trainer.current_epoch + 1) % self.every_n_iterations:
            return
        state = synced_state(pl_module)
        if self.dump_dir is not None:
            out = Path(self.dump_dir)
            out.mkdir(parents=True, exist_ok=True)
            torch.save({k: v.cpu().clone() for k, v in state.items()}, out / f"rank{trainer.global_rank}_iter{trainer.current_epoch + 1}.pt")
        if not dist_ready() or trainer.world_size < 2:
            return
        names = list(state)
        flat = torch.cat([state[k].reshape(-1).double() for k in names]) if names else torch.zeros(0)
        gathered = pl_module.all_gather(flat)  # (ranks, total) on the module's device
        worst, bad = first_mismatch(names, [state[k].numel() for k in names], gathered, self.atol)
        self.checks += 1
        pl_module.log("ddp/max_rank_diff", worst, on_epoch=True, rank_zero_only=True)
        if bad is not None:
            raise MimicLitError(
                f"DDP ranks disagree after iteration {trainer.current_epoch + 1}: '{bad}' differs from rank 0 "
                f"by up to {worst:.3g} (tolerance {self.atol:g}); gradients or statistics are not being averaged"
            )

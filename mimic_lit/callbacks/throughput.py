"""End-to-end training throughput: samples per second of wall time, per RL iteration."""

from __future__ import annotations

import time

from lightning.pytorch import Callback, LightningModule, Trainer


class ThroughputMeter(Callback):
    """Logs ``perf/samples_per_s`` (rollout + update, validation excluded; all ranks' samples) and
    ``perf/iteration_s`` at the end of every training epoch (= RL iteration).

    The samples of the iteration come from ``pl_module.iteration_samples`` (set by the rollout).
    """

    def __init__(self, prog_bar: bool = True) -> None:
        self.prog_bar = prog_bar
        self._start = 0.0
        self._val_time = 0.0
        self._val_start: float | None = None

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start = time.perf_counter()
        self._val_time = 0.0

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._val_start = time.perf_counter()

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._val_start is not None:
            self._val_time += time.perf_counter() - self._val_start
            self._val_start = None

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        elapsed = max(time.perf_counter() - self._start - self._val_time, 1e-9)
        samples = float(getattr(pl_module, "iteration_samples", 0.0))
        pl_module.log("perf/samples_per_s", samples / elapsed, prog_bar=self.prog_bar, on_epoch=True)
        pl_module.log("perf/iteration_s", elapsed, on_epoch=True)

"""Run ``mimic-lit <args>`` with two probes for tests/test_checkpointing.py (not a test module).

- Prints ``iteration done: N`` on stdout as soon as the update of iteration N is finished, before
  the checkpoint callback decides whether to save it: the test knows how much work a kill threw away.
- ``CRASH_AT_SAVE=k``: the k-th checkpoint file write of the process writes the first half of its
  bytes, flushes them to disk and SIGKILLs the process, the way a kill or a power cut in the middle
  of the write would.

    python tests/fit_probe.py fit --config recipes/deepmimic_g1_walk.yaml --quick ...
"""

from __future__ import annotations

import io
import os
import signal
import sys

import torch
from lightning.pytorch.plugins.io.torch_plugin import TorchCheckpointIO

from mimic_lit.callbacks.checkpoint import RunCheckpoint
from mimic_lit.cli import main

_on_epoch_end = RunCheckpoint.on_train_epoch_end


def _announce(self, trainer, pl_module) -> None:
    print(f"iteration done: {trainer.current_epoch + 1}", flush=True)
    _on_epoch_end(self, trainer, pl_module)


_save = TorchCheckpointIO.save_checkpoint
_crash_at = int(os.environ.get("CRASH_AT_SAVE", "0"))
_writes = 0


def _save_or_crash(self, checkpoint, path, storage_options=None) -> None:
    global _writes
    _writes += 1
    if _writes == _crash_at:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            os.fsync(f.fileno())
        print(f"crashing in checkpoint write {_writes}: {path}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    _save(self, checkpoint, path, storage_options)


RunCheckpoint.on_train_epoch_end = _announce
TorchCheckpointIO.save_checkpoint = _save_or_crash

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Leave no empty run folder behind when a command fails before it produced anything.

A ``fit`` that stops on a bad option during setup has already created
``<default_root_dir>/lightning_logs/version_<k>/`` with nothing in it but the saved ``config.yaml``
(and an empty TensorBoard file); the next run then becomes ``version_<k+1>`` and the folder list
fills with runs that never ran. :class:`FailedRunCleanup` records which folders existed before the
command and, when it fails before any batch completed, removes the folders **this** command created
that hold nothing but those files. Folders that existed before, and any folder holding anything
else (a checkpoint, logged metrics), are never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, Trainer

__all__ = ["FailedRunCleanup"]

#: Files a run writes before its first batch: the saved config, hyper-parameters, TensorBoard's file.
_SETUP_FILES = ("config.yaml", "hparams.yaml")
_SETUP_PREFIXES = ("events.out.tfevents.",)


def _only_setup_files(folder: Path) -> bool:
    for entry in folder.iterdir():
        if not entry.is_file():
            return False
        if entry.name not in _SETUP_FILES and not entry.name.startswith(_SETUP_PREFIXES):
            return False
    return True


class FailedRunCleanup(Callback):
    """Notes whether any batch completed; :meth:`clean` removes this run's empty folders after a failure.

    Add it to the trainer's callbacks before the command runs (it keeps no checkpoint state).
    """

    def __init__(self, trainer: Trainer) -> None:
        self.progressed = False
        self.root = Path(trainer.default_root_dir).absolute()
        # folders above the run folder that do not exist yet (runs/ for runs/<name>) are this run's too
        self._parents = [p for p in self.root.parents if not p.exists()]
        self._existed = {p for p in self._candidates(trainer) if p.exists()}
        logs = self.root / "lightning_logs"
        self._existed |= set(logs.iterdir()) if logs.is_dir() else set()

    def _candidates(self, trainer: Trainer) -> list[Path]:
        folders = [*self._parents, self.root, self.root / "lightning_logs", self.root / "checkpoints"]
        for callback in trainer.callbacks:
            directory = getattr(callback, "directory", None)  # RunCheckpoint's folder
            if callable(directory):
                try:
                    folders.append(Path(directory(trainer)).absolute())
                except Exception:  # noqa: BLE001 - a folder we cannot name is one we do not remove
                    pass
        return folders

    def _note(self, *_: Any, **__: Any) -> None:
        self.progressed = True

    on_train_batch_end = on_validation_batch_end = on_test_batch_end = on_predict_batch_end = _note

    def clean(self, trainer: Trainer) -> list[Path]:
        """Remove what this failed run created and left empty; returns the removed folders."""
        if self.progressed or not trainer.is_global_zero:
            return []
        removed: list[Path] = []
        logs = self.root / "lightning_logs"
        versions = [p for p in logs.iterdir() if p.is_dir()] if logs.is_dir() else []
        for folder in versions:
            if folder not in self._existed and _only_setup_files(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        # then the parents this run created, if nothing else is in them (deepest first)
        for folder in sorted(self._candidates(trainer), key=lambda p: len(p.parts), reverse=True):
            if folder not in self._existed and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                removed.append(folder)
        return removed

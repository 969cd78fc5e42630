"""The Lightning side of ``mimic-lit``: ``fit``, ``validate``, ``test`` and ``predict``.

:class:`MimicLitCLI` is a ``LightningCLI`` in subclass mode for both the model and the datamodule, so
a recipe (or the command line) names the classes it wants::

    model:
      class_path: mimic_lit.methods.deepmimic.DeepMimic   # any LightningModule
      init_args: {...}
    data:
      class_path: mimic_lit.datamodule.ImitationDataModule       # any LightningDataModule
      init_args: {...}

and ``mimic-lit fit --config recipes/<name>.yaml`` runs it. This module imports lightning (and so
torch): ``mimic_lit.cli`` imports it only when one of these four subcommands is asked for.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import LightningDataModule, LightningModule
from lightning.pytorch.cli import LightningCLI


class MimicLitCLI(LightningCLI):
    """``LightningCLI`` with mimic-lit's defaults: any ``LightningModule`` / ``LightningDataModule``
    chosen by class path, ``--config`` files, and the run's resolved config saved next to its logs
    (overwriting the copy a resumed run left there)."""

    def __init__(self, args: list[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("subclass_mode_model", True)
        kwargs.setdefault("subclass_mode_data", True)
        kwargs.setdefault("save_config_kwargs", {"overwrite": True})
        kwargs.setdefault("parser_kwargs", {"prog": "mimic-lit"})
        super().__init__(LightningModule, LightningDataModule, args=args, **kwargs)


def run_lightning(argv: list[str]) -> int:
    """Run ``mimic-lit <fit|validate|test|predict> ...``; returns the exit code."""
    import sys

    # LightningCLI warns when it is given args while the process has others (a notebook kernel's,
    # a test runner's): it then reads ``argv`` as the process's own arguments, restored after.
    saved = sys.argv
    sys.argv = [saved[0] if saved else "mimic-lit", *argv]
    try:
        MimicLitCLI(args=None)
    finally:
        sys.argv = saved
    return 0

"""Run folders for ``mimic-lit fit``: one checkpoint policy, resume with ``--ckpt_path last``, and no
silent overwrite of another run.

A run lives in ``trainer.default_root_dir`` (the recipes set ``runs/<name>``): its checkpoint in
``checkpoints/last.ckpt`` (written by :class:`~mimic_lit.callbacks.RunCheckpoint`), its logs and
saved config in ``lightning_logs/version_<k>/``. Before a ``fit`` starts:

- makes sure the fit has a ``RunCheckpoint`` (:func:`add_run_checkpoint`, before the trainer is
  built: a recipe without one gets the default, instead of Lightning's default ``ModelCheckpoint``
  that would write a second, versioned set of files);
- turns ``--ckpt_path last`` into the run's ``last.ckpt``, or says on one line that a new run starts
  when there is none;
- refuses, with one line, a fit that would overwrite another run's ``last.ckpt``: a fresh fit (no
  ``--ckpt_path``) into a folder that already holds one, or a fit resuming some other file there.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from mimic_lit.callbacks.checkpoint import EXIT_CODE_SIGINT, RunCheckpoint
from mimic_lit.errors import MimicLitError

#: ``--ckpt_path`` values Lightning resolves itself: passed through untouched.
LIGHTNING_SPECIAL = ("best", "hpc")


def _note(message: str) -> None:
    """One line on stderr, from the first process only."""
    if getattr(rank_zero_only, "rank", 0) == 0:
        print(f"mimic-lit: {message}", file=sys.stderr, flush=True)


def _as_list(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Iterable) and not isinstance(callbacks, Callback):
        return list(callbacks)
    return [callbacks]


def run_checkpoint(trainer: Trainer) -> RunCheckpoint | None:
    """The fit's :class:`RunCheckpoint`, or ``None``."""
    found = [cb for cb in trainer.callbacks if isinstance(cb, RunCheckpoint)]
    if len(found) > 1:
        raise MimicLitError(
            "trainer.callbacks has more than one RunCheckpoint; keep one (they would write the same last.ckpt)"
        )
    return found[0] if found else None


def add_run_checkpoint(trainer_config: Any) -> None:
    """Give a fit's trainer config (its instantiated ``callbacks``) a :class:`RunCheckpoint` if it has
    none, before the ``Trainer`` is built: a user's own recipe is then as safe as the shipped ones,
    and Lightning does not add its default ``ModelCheckpoint`` (which would write a second, versioned
    set of files under ``lightning_logs/version_<k>/checkpoints/``). Nothing is added with
    ``enable_checkpointing: false``. A configured ``ModelCheckpoint`` stays (see
    :func:`check_checkpoint_callbacks`)."""
    if trainer_config.get("enable_checkpointing") is False:
        return
    callbacks = _as_list(trainer_config.get("callbacks"))
    if not any(isinstance(cb, RunCheckpoint) for cb in callbacks):
        trainer_config["callbacks"] = [*callbacks, RunCheckpoint()]


def check_checkpoint_callbacks(trainer: Trainer, run: RunCheckpoint) -> None:
    """Refuse a ``ModelCheckpoint`` that would write ``last.ckpt`` into the run checkpoint's folder
    as well (it would then write ``last-v1.ckpt`` and the two would disagree)."""
    folder = run.directory(trainer).resolve()
    for cb in trainer.callbacks:
        if isinstance(cb, ModelCheckpoint) and cb.save_last and cb.dirpath and Path(cb.dirpath).resolve() == folder:
            raise MimicLitError(
                f"trainer.callbacks: a ModelCheckpoint with save_last also writes {run.last_path(trainer)}; "
                "remove it (RunCheckpoint writes last.ckpt) or give it another dirpath"
            )


def _refuse(last: Path, why: str = "") -> MimicLitError:
    return MimicLitError(
        f"{last} exists{why}: pass --ckpt_path last to resume it, or another --trainer.default_root_dir for a new run"
    )


def resolve_ckpt_path(run: RunCheckpoint, trainer: Trainer, ckpt_path: str | Path | None) -> str | None:
    """The checkpoint a fit should start from, after the refuse-on-existing rule.

    - ``"last"``: the run's ``last.ckpt`` if it exists, else ``None`` (a new run, said on one line);
    - ``None`` (a fresh fit): refused if the run folder already holds ``last.ckpt``;
    - a path: refused if the run folder holds a ``last.ckpt`` that is another file (it would be
      overwritten by a different run);
    - ``"best"``, ``"hpc"``: Lightning's own, unchanged.
    """
    last = run.last_path(trainer)
    if ckpt_path is None:
        if last.is_file():
            raise _refuse(last)
        return None
    text = str(ckpt_path)
    if text == "last":
        if last.is_file():
            _note(f"resuming from {last}")
            return str(last)
        _note(f"no checkpoint at {last}: starting a new run")
        return None
    if text in LIGHTNING_SPECIAL or "://" in text:
        return text
    if last.is_file() and Path(text).resolve() != last.resolve():
        raise _refuse(last, f" (continuing {text} here would overwrite it)")
    return text


def prepare_fit(trainer: Trainer, ckpt_path: str | Path | None) -> str | None:
    """Check the fit's checkpointing (see the module docstring); returns the ``ckpt_path`` to use."""
    run = run_checkpoint(trainer)
    if run is None:  # checkpointing switched off
        return None if ckpt_path is None else str(ckpt_path)
    check_checkpoint_callbacks(trainer, run)
    return resolve_ckpt_path(run, trainer, ckpt_path)


def exit_code_after_fit(trainer: Trainer) -> int:
    """0, or :data:`~mimic_lit.callbacks.checkpoint.EXIT_CODE_SIGINT` when Ctrl-C stopped the run
    (after saving it): scripts that chain commands then stop too."""
    run = run_checkpoint(trainer)
    return EXIT_CODE_SIGINT if run is not None and run.stopped_by == signal.SIGINT else 0

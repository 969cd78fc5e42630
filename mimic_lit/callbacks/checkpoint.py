"""``RunCheckpoint``: the run's ``last.ckpt``, written often and atomically, and a clean stop on signals.

A long RL run must survive being killed. This callback writes ``<dirpath>/last.ckpt`` (by default
``<trainer.default_root_dir>/checkpoints/last.ckpt``):

- at the end of every ``every_n_iterations``-th iteration and/or after ``every_minutes`` minutes,
  whichever comes first (one training epoch is one RL iteration), and at the end of ``fit``;
- atomically: every rank calls ``trainer.save_checkpoint`` (the data module all-gathers the
  environments of every rank), rank 0's file goes to a temporary name in the same folder, is
  flushed to disk and only then renamed over ``last.ckpt``. A kill at any moment leaves either the
  previous ``last.ckpt`` or the new one, never a truncated file;
- on SIGINT (Ctrl-C), SIGTERM or SIGUSR1 it finishes the current iteration, saves, and stops the
  trainer cleanly. The ranks of a DDP run agree on the stop, so a signal to any rank stops all of
  them at the same iteration. A second Ctrl-C stops at once (``last.ckpt`` then stays the previous
  save). Under SLURM, SIGUSR1 (``#SBATCH --signal=SIGUSR1@90``) also requeues the job after the
  save (``slurm_requeue``).

Lightning's own signal handling is set aside while training runs: its SIGTERM handler would stop
the run after the current minibatch, in the middle of an iteration, and its SLURM SIGUSR1 handler
would save ``hpc_ckpt_<n>.ckpt`` from inside the signal handler while the ranks may be at different
points. The handlers that were installed before are put back when training ends.

The schedule depends only on the iteration number (and the clock), so the callback needs no state
to resume exactly; its ``state_dict`` records the number of iterations in the file (``iterations``)
for tools and tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import Checkpoint

from mimic_lit.errors import MimicLitError

#: The signals that ask for a save at the end of the current iteration and a clean stop.
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGUSR1", None)) if s is not None
)
#: Exit code of a run stopped by Ctrl-C (SIGINT) after its checkpoint was saved: the shell
#: convention for "interrupted by the user", so ``mimic-lit fit ... && next-step`` does not go on.
#: SIGTERM and SIGUSR1 stops exit with 0: the run ended as asked, with nothing lost.
EXIT_CODE_SIGINT = 130


def iterations_in(checkpoint: dict[str, Any]) -> int:
    """Number of RL iterations (training epochs) whose update a Lightning checkpoint contains.

    A checkpoint written at the end of an iteration records it as processed but not yet completed
    (Lightning's ``epoch`` field then lags by one); one written at the end of ``fit`` as completed.
    """
    try:
        current = checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]
        return int(max(current["processed"], current["completed"]))
    except (KeyError, TypeError):
        return int(checkpoint.get("epoch", 0))


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to disk; a no-op where the OS cannot fsync it."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class RunCheckpoint(Checkpoint):
    """Write the run's ``last.ckpt`` every ``every_n_iterations`` iterations and/or every
    ``every_minutes`` minutes (whichever comes first), at the end of ``fit``, and when the run is
    asked to stop by SIGINT, SIGTERM or SIGUSR1 (then at the end of the current iteration, before a
    clean stop).

    Args:
        every_n_iterations: save after every N-th iteration; ``None``: no iteration schedule.
        every_minutes: also save when this many minutes passed since the last save; ``None``: off.
        dirpath: folder of ``last.ckpt``; default ``<trainer.default_root_dir>/checkpoints``.
        slurm_requeue: in a SLURM job, requeue it (``scontrol requeue``) after a SIGUSR1 stop, so
            that it resumes from ``last.ckpt`` when it starts again.
    """

    FILE_NAME = "last.ckpt"
    TEMP_NAME = ".last.ckpt.tmp"  # same folder, so the rename is atomic; not a *.ckpt name

    def __init__(
        self,
        every_n_iterations: int | None = 1,
        every_minutes: float | None = None,
        dirpath: str | None = None,
        slurm_requeue: bool = True,
    ) -> None:
        if every_n_iterations is not None and (isinstance(every_n_iterations, bool) or int(every_n_iterations) < 1):
            raise MimicLitError(f"every_n_iterations must be >= 1 or null, got {every_n_iterations} (RunCheckpoint)")
        if every_minutes is not None and not float(every_minutes) > 0:
            raise MimicLitError(f"every_minutes must be > 0 or null, got {every_minutes} (RunCheckpoint)")
        if every_n_iterations is None and every_minutes is None:
            raise MimicLitError("RunCheckpoint needs every_n_iterations or every_minutes (both are null)")
        self.every_n_iterations = None if every_n_iterations is None else int(every_n_iterations)
        self.every_minutes = None if every_minutes is None else float(every_minutes)
        self.dirpath = dirpath
        self.slurm_requeue = bool(slurm_requeue)
        self.saved_iterations: int | None = None  # iterations in last.ckpt (this process's knowledge)
        self.stopped_by: signal.Signals | None = None  # set when a signal stopped the run
        self._requested: signal.Signals | None = None  # signal received, not yet acted on
        self._previous: dict[signal.Signals, Any] = {}  # handlers we replaced
        self._last_save = time.monotonic()

    # ------------------------------------------------------------------ paths
    def directory(self, trainer: Trainer) -> Path:
        """The folder ``last.ckpt`` goes to."""
        return Path(self.dirpath) if self.dirpath is not None else Path(trainer.default_root_dir) / "checkpoints"

    def last_path(self, trainer: Trainer) -> Path:
        """``<directory>/last.ckpt``."""
        return self.directory(trainer) / self.FILE_NAME

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {"iterations": self.saved_iterations}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        pass  # the schedule is keyed on the iteration number: nothing to restore

    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        done = iterations_in(checkpoint)
        self.saved_iterations = done
        max_epochs = trainer.max_epochs
        if max_epochs is not None and max_epochs >= 0 and done > max_epochs:
            path = trainer.ckpt_path or "the checkpoint"
            raise MimicLitError(
                f"{path} has already trained {done} iterations, more than --trainer.max_epochs {max_epochs}: "
                f"pass --trainer.max_epochs {done + 1} or more to continue it"
            )

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        sig = signal.Signals(signum)
        if sig == signal.SIGINT and self._requested is not None:
            self._restore_handlers()  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        if self._requested is None:
            self._requested = sig
            again = " (Ctrl-C again to stop at once, without saving)" if sig == signal.SIGINT else ""
            print(f"mimic-lit: got {sig.name}: saving a checkpoint at the end of this iteration, then stopping{again}",
                  file=sys.stderr, flush=True)

    def _install_handlers(self, trainer: Trainer) -> None:
        """Replace the handlers of :data:`STOP_SIGNALS` (Lightning's included) while training runs."""
        if self._previous or threading.current_thread() is not threading.main_thread():
            return
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._on_signal)
        # A SIGTERM that reached Lightning's handler before ours was installed becomes our request,
        # instead of stopping the run in the middle of its first iteration.
        connector = getattr(trainer, "_signal_connector", None)
        if connector is not None and getattr(connector, "received_sigterm", False):
            connector.received_sigterm = False
            self._requested = signal.SIGTERM

    def _restore_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, handler in self._previous.items():
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous = {}

    # ------------------------------------------------------------------ saving
    def save(self, trainer: Trainer, iterations: int) -> Path:
        """Write ``last.ckpt`` atomically (call on every rank); returns its path."""
        folder = self.directory(trainer)
        final, temp = folder / self.FILE_NAME, folder / self.TEMP_NAME
        self.saved_iterations = iterations  # before the dump, so the file records it
        # A save, not a load: weights_only=False here asks Lightning to *write* the full training state
        # (optimisers, loops, env state), not only the weights. Every rank dumps; rank 0 writes; barrier.
        trainer.save_checkpoint(temp, weights_only=False)
        if trainer.is_global_zero:
            _fsync(temp)
            os.replace(temp, final)
            _fsync(folder)
        self._last_save = time.monotonic()
        return final

    def _time_due(self) -> bool:
        return self.every_minutes is not None and time.monotonic() - self._last_save >= 60.0 * self.every_minutes

    # ------------------------------------------------------------------ hooks
    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._last_save = time.monotonic()
        self.stopped_by = None
        self._requested = None

    def on_sanity_check_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._install_handlers(trainer)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._install_handlers(trainer)  # after Lightning registered its own (trainer._run)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        done = trainer.current_epoch + 1  # iterations finished, this one included
        strategy = trainer.strategy
        # Every decision that leads to a save is agreed by all ranks: they all take part in it.
        stop = strategy.reduce_boolean_decision(self._requested is not None, all=False)
        due = self.every_n_iterations is not None and done % self.every_n_iterations == 0
        if self.every_minutes is not None:
            due = strategy.reduce_boolean_decision(self._time_due(), all=False) or due
        if stop:
            self.stopped_by = self._requested or self.stopped_by or signal.SIGTERM
            trainer.should_stop = True
            self.save(trainer, done)
            return
        last = trainer.max_epochs is not None and trainer.max_epochs >= 0 and done >= trainer.max_epochs
        if due and not last:  # the final iteration is saved by on_train_end, once
            self.save(trainer, done)

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        done = trainer.current_epoch
        missing = self.saved_iterations != done or not self.last_path(trainer).is_file()
        if trainer.strategy.reduce_boolean_decision(missing, all=False):  # agreed: every rank saves
            self.save(trainer, done)
        self._restore_handlers()
        if self.stopped_by is not None and trainer.is_global_zero:
            how = "Ctrl-C" if self.stopped_by == signal.SIGINT else self.stopped_by.name
            print(f"mimic-lit: stopped by {how} after iteration {done}; checkpoint: {self.last_path(trainer)}; "
                  "resume with the same command and --ckpt_path last", file=sys.stderr, flush=True)
        if self.stopped_by == getattr(signal, "SIGUSR1", None) and self.slurm_requeue and trainer.is_global_zero:
            _slurm_requeue()

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self._restore_handlers()
        if isinstance(exception, KeyboardInterrupt) and trainer.is_global_zero and self.saved_iterations:
            print(f"mimic-lit: stopped at once; {self.last_path(trainer)} holds iteration {self.saved_iterations}",
                  file=sys.stderr, flush=True)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._restore_handlers()


def _slurm_requeue() -> None:
    """``scontrol requeue`` this SLURM job (its array task), if running in one."""
    job = os.environ.get("SLURM_JOB_ID")
    if os.environ.get("SLURM_ARRAY_JOB_ID") and os.environ.get("SLURM_ARRAY_TASK_ID"):
        job = f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    if not job:
        return
    try:
        code = subprocess.call(["scontrol", "requeue", job])
    except OSError as exc:
        print(f"mimic-lit: could not requeue SLURM job {job}: {exc}", file=sys.stderr, flush=True)
        return
    result = "requeued" if code == 0 else f"requeue failed (scontrol exit code {code})"
    print(f"mimic-lit: SLURM job {job} {result}", file=sys.stderr, flush=True)

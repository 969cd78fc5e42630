"""Writing output files the same way in every command: checked first, written atomically.

Every file a ``mimic-lit`` command writes (clips, videos, exported policies, reports, prediction
tables) goes through :func:`check_output` and :func:`atomic_output`, so all commands share one
set of rules:

- **Missing folders are created.** ``--out runs/eval/walk.mp4`` creates ``runs/eval/`` (as the
  training runs create theirs); folders created for a write that then fails are removed again.
- **Nothing is overwritten** unless the command was given ``--overwrite``; that is checked before
  any slow work.
- **Atomic.** The data goes to a hidden temporary file beside the target (``.<name>.<random><suffix>``)
  that is renamed onto the target only when complete. An error, Ctrl-C or ``SIGTERM`` (a
  ``kill``, a cluster's time limit) deletes the temporary file and leaves any existing file as it
  was, so a reader never sees half a file.
- **Usual permissions.** The file gets the mode a plain ``open()`` gives (``0666`` minus the umask,
  usually ``0644``), whatever the temporary file had.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from mimic_lit.errors import MimicLitError

__all__ = ["Terminated", "atomic_output", "check_output", "terminate_raises", "write_text"]


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives ``SIGTERM`` during a write.

    A subclass of ``KeyboardInterrupt``, so code that already cleans up after Ctrl-C cleans up
    after a ``kill`` in the same way; the CLI reports it and exits with 143 (128 + SIGTERM).
    """


def check_output(path: str | os.PathLike, *, overwrite: bool, what: str = "--out") -> Path:
    """Check an output path before any work; returns it as a :class:`~pathlib.Path`.

    Refuses a folder, an existing file (unless ``overwrite``), and a path whose nearest existing
    ancestor is not a folder. Missing folders are not created here: :func:`atomic_output` creates
    them when the file is written, so a command that fails earlier leaves nothing behind.
    """
    path = Path(path)
    if path.is_dir():
        raise MimicLitError(f"{what} '{path}' is a folder, not a file")
    if path.exists() and not overwrite:
        raise MimicLitError(f"'{path}' already exists; pass --overwrite to replace it")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise MimicLitError(f"cannot write {what} '{path}': '{parent}' is not a folder")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing ancestors; returns the ones created, deepest first."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MimicLitError(f"cannot create the output folder '{folder}' ({exc.strerror or exc})") from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            return


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """While active, ``SIGTERM`` raises :class:`Terminated` in the main thread instead of killing
    the process outright, so ``finally`` blocks and context managers run.

    Does nothing outside the main thread, or when another handler (a training callback's) already
    owns ``SIGTERM``; the previous handler is restored on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise Terminated(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``path`` (same suffix) to write to; on success give it
    the usual permissions and rename it onto ``path``.

    On any exception, including Ctrl-C and ``SIGTERM`` (see :func:`terminate_raises`), the
    temporary file is deleted, folders created for it are removed, and ``path`` is untouched.
    Writers that add files of their own beside the one they are given must remove them.
    """
    path = Path(path)
    with terminate_raises():
        created = _make_parents(path.parent)
        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
        except OSError as exc:
            _remove_empty(created)
            raise MimicLitError(f"cannot write '{path}' ({exc.strerror or exc})") from None
        os.close(fd)
        tmp = Path(tmp_name)
        ok = False
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give what open() would
            os.replace(tmp, path)
            ok = True
        finally:
            if not ok:
                tmp.unlink(missing_ok=True)
                _remove_empty(created)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path

"""Read checkpoints safely: tensors and plain values only, and one clear line for a bad file.

A ``.ckpt`` file is a pickle, and a pickle is a small program that may import and call anything
(``os.system`` included). Every checkpoint mimic-lit reads goes through :func:`load_checkpoint`,
which loads it with ``torch.load(weights_only=True)``: PyTorch's restricted unpickler that builds
tensors, numbers, strings and containers, and refuses anything else **before** calling it. A file
that asks for anything else is refused; mimic-lit never falls back to an unrestricted load.

Every way a file can be wrong becomes one :class:`~mimic_lit.errors.MimicLitError` line naming the
file: missing, a folder, empty, truncated or damaged, random bytes, a text file, a pickle that asks
to run code, or a PyTorch file that is not a Lightning checkpoint (no ``state_dict``).

:func:`check_ckpt_path` does the same check for the ``--ckpt_path`` of ``mimic-lit fit``,
``validate``, ``test`` and ``predict`` before Lightning (which also loads with
``weights_only=True``) touches the file.
"""

from __future__ import annotations

import io
import os
import pickletools
import re
import warnings
from pathlib import Path
from typing import Any

from mimic_lit.errors import MimicLitError

__all__ = ["CheckpointError", "check_ckpt_path", "load_checkpoint", "upgrade_checkpoint"]

_ZIP_MAGIC = b"PK\x03\x04"
#: ``--ckpt_path`` values that are not files: Lightning resolves them itself.
_NOT_FILES = ("last", "best", "hpc")
_UNSUPPORTED_GLOBAL = re.compile(r"(?:unsupported|Unsupported) (?:GLOBAL|global:?)\s*(?:GLOBAL\s*)?([\w.]+)")


class CheckpointError(MimicLitError):
    """A checkpoint file is missing, damaged, not a checkpoint, or asks to run code when loaded."""


def _refuse_code(where: str, name: str | None) -> CheckpointError:
    asked = f" ('{name}')" if name else ""
    return CheckpointError(
        f"{where} asks to run code{asked} when loaded; refusing: a checkpoint may only hold tensors and "
        "plain values, and mimic-lit never runs code from a file"
    )


def _pickle_globals(head: bytes) -> tuple[bool, list[str]]:
    """(whether ``head`` parses as a pickle, the globals it imports) without running any of it.

    ``pickletools.genops`` only decodes opcodes; it never imports or calls. ``STACK_GLOBAL`` takes
    its module and name from the two strings pushed before it.
    """
    names: list[str] = []
    strings: list[str] = []
    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(head)):
            if opcode.name == "GLOBAL" and isinstance(arg, str):
                names.append(arg.replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL":
                names.append(".".join(strings[-2:]) if len(strings) >= 2 else "?")
            elif isinstance(arg, str):
                strings.append(arg)
            if opcode.name == "STOP":
                return True, names
    except Exception:  # not a pickle (or cut short): genops raises ValueError and friends
        return False, names
    return False, names


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the sample is fine
        return exc.start >= len(head) - 3
    return True


def _explain(path: Path, where: str, exc: BaseException) -> CheckpointError:
    """The one line for a file that ``torch.load(weights_only=True)`` could not read."""
    text = str(exc)
    found = _UNSUPPORTED_GLOBAL.search(text)
    if found:
        return _refuse_code(where, found.group(1))
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    if head.startswith(_ZIP_MAGIC):
        if "failed locating file" in text or "file not found" in text:
            return CheckpointError(f"{where} is a zip archive but not a PyTorch checkpoint")
        return CheckpointError(f"{where} is truncated or damaged (not a complete checkpoint file)")
    is_pickle, names = _pickle_globals(head)
    if names:
        return _refuse_code(where, names[0])
    if is_pickle:
        return CheckpointError(f"{where} is a plain pickle, not a PyTorch checkpoint")
    if _looks_like_text(head[:4096]):
        return CheckpointError(f"{where} is a text file, not a checkpoint")
    return CheckpointError(f"{where} is damaged or not a checkpoint (unrecognised bytes)")


def load_checkpoint(path: str | os.PathLike, what: str = "checkpoint") -> dict[str, Any]:
    """Load the Lightning checkpoint ``path`` onto the CPU with ``weights_only=True``.

    ``what`` names the file's role in error messages (``"checkpoint"``, ``"init_from checkpoint"``,
    ``"low-level checkpoint"``). Returns the checkpoint dict; raises :class:`CheckpointError` with
    one line for a missing, damaged or unsafe file, or one without a ``state_dict``.
    """
    import torch

    path = Path(path)
    where = f"{what} '{path}'"
    if not path.exists():
        raise CheckpointError(f"{where} does not exist")
    if path.is_dir():
        raise CheckpointError(f"{where} is a folder, not a checkpoint file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"{where} cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise CheckpointError(f"{where} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": the one line says it all
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError as exc:
        raise CheckpointError(f"{where} cannot be read (permission denied)") from exc
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # torch raises RuntimeError, UnpicklingError, EOFError, KeyError, ...
        raise _explain(path, where, exc) from exc
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{where} is not a Lightning checkpoint (no 'state_dict')")
    return ckpt


def check_ckpt_path(ckpt_path: str | os.PathLike | None, what: str = "checkpoint") -> None:
    """Check ``--ckpt_path`` with :func:`load_checkpoint` before Lightning loads it.

    ``None``, Lightning's own names (``last``, ``best``, ``hpc``) and URLs are left to Lightning.
    """
    if ckpt_path is None:
        return
    text = str(ckpt_path)
    if text in _NOT_FILES or "://" in text:
        return
    load_checkpoint(text, what)


#: Lightning keeps a data module's state under its class name; earlier versions had one data module per method
_RETIRED_DATA_MODULE_KEYS = ("AMPDataModule", "ADDDataModule", "ASEDataModule", "HLCDataModule")


def upgrade_checkpoint(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Bring a checkpoint of an earlier layout to today's, in place: the environment state saved by
    a per-method data module moves to ``ImitationDataModule``, the one data module now, so an old
    run resumes exactly. Called from the method's ``on_load_checkpoint``, before Lightning restores
    the data module."""
    for key in _RETIRED_DATA_MODULE_KEYS:
        if key in checkpoint and "ImitationDataModule" not in checkpoint:
            checkpoint["ImitationDataModule"] = checkpoint.pop(key)
    return checkpoint


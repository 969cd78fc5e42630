"""Restricted unpicklers: read motion pickles (plain or joblib) without running code from the file.

A pickle is a small program: every ``GLOBAL`` opcode names a callable that the unpickler imports and
calls. These unpicklers resolve names only from a fixed allow-list (builtin containers and scalars,
numpy arrays/dtypes/scalars under their numpy 1.x and 2.x module paths, ``OrderedDict``, and for
joblib files joblib's array placeholder) and raise :class:`UnsafePickleError` naming anything else,
before it is imported or called. Files are read into memory first (motion files are small), and
gzip/bz2/xz/zlib-compressed joblib files are decompressed with a size cap.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import os
import pickle
import zlib
from pathlib import Path
from typing import Any, Callable

from mimic_lit.errors import MotionFormatError, UnsafePickleError

MAX_BYTES = 1 << 30  # refuse files (or decompressed streams) above 1 GiB: motion clips are far smaller


def _attr(module: str, name: str) -> Callable[[], Any]:
    """Resolver for ``module.name`` that imports lazily (numpy is only imported when a pickle needs it)."""
    return lambda: getattr(importlib.import_module(module), name)


def _numpy_core(submodule: str, name: str) -> Callable[[], Any]:
    """Resolver for numpy's private core helpers, whose module moved from ``numpy.core`` to ``numpy._core``."""

    def resolve() -> Any:
        try:
            mod = importlib.import_module(f"numpy._core.{submodule}")
        except ImportError:  # numpy < 1.26 has no numpy._core
            mod = importlib.import_module(f"numpy.core.{submodule}")
        return getattr(mod, name)

    return resolve


_BUILTINS = (
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "bytearray",
    "bytes",
    "str",
    "int",
    "float",
    "complex",
    "bool",
)

#: (module, name) a pickle may reference -> resolver of the object it gets instead.
SAFE_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    **{(mod, n): _attr("builtins", n) for n in _BUILTINS for mod in ("builtins", "__builtin__")},  # protocol < 3
    ("collections", "OrderedDict"): _attr("collections", "OrderedDict"),
    # protocol <= 2 encodes bytes as _codecs.encode(str, "latin1"); it only converts text to bytes
    ("_codecs", "encode"): _attr("_codecs", "encode"),
    ("numpy", "ndarray"): _attr("numpy", "ndarray"),
    ("numpy", "dtype"): _attr("numpy", "dtype"),
    **{
        (f"{root}.{sub}", name): _numpy_core(sub, name)
        for root in ("numpy.core", "numpy._core")
        for sub, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer"))
    },
}

_JOBLIB_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")


def _refuse(where: str, module: str, name: str) -> UnsafePickleError:
    return UnsafePickleError(
        f"'{where}': refusing to load '{module}.{name}' from a pickle; only builtin containers, numbers and "
        "numpy arrays are allowed (convert the file to .npz with a trusted tool if you need more)"
    )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` only hands out allow-listed objects."""

    def __init__(self, file: io.BytesIO, where: str) -> None:
        super().__init__(file)
        self._where = where

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle hook
        resolver = SAFE_GLOBALS.get((module, name))
        if resolver is None:
            raise _refuse(self._where, module, name)
        return resolver()

    def persistent_load(self, pid: Any) -> Any:
        raise _refuse(self._where, "persistent_id", str(pid)[:40])


# ------------------------------------------------------------------------------------------ file bytes
def _decompress(data: bytes, where: str) -> bytes:
    """Undo gzip/bz2/xz/lzma/zlib compression (what ``joblib.dump(compress=...)`` writes); cap the size."""
    opener: Callable[[io.BytesIO], Any] | None = None
    if data[:2] == b"\x1f\x8b":
        opener = lambda f: gzip.GzipFile(fileobj=f)  # noqa: E731
    elif data[:3] == b"BZh":
        opener = bz2.BZ2File
    elif data[:6] == b"\xfd7zXZ\x00" or data[:3] == b"\x5d\x00\x00":
        opener = lzma.LZMAFile
    elif data[:1] == b"\x78" and len(data) > 1 and (data[0] * 256 + data[1]) % 31 == 0:
        try:
            d = zlib.decompressobj()
            out = d.decompress(data, MAX_BYTES + 1)
        except zlib.error:
            return data
        if len(out) > MAX_BYTES:
            raise MotionFormatError(f"'{where}': decompressed pickle is larger than {MAX_BYTES >> 20} MiB")
        return out
    if opener is None:
        return data
    try:
        with opener(io.BytesIO(data)) as f:
            out = f.read(MAX_BYTES + 1)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise MotionFormatError(f"'{where}': corrupt compressed pickle ({_one_line(exc)})") from None
    if len(out) > MAX_BYTES:
        raise MotionFormatError(f"'{where}': decompressed pickle is larger than {MAX_BYTES >> 20} MiB")
    return out


def read_pickle_bytes(path: str | os.PathLike) -> bytes:
    """The (decompressed) bytes of a pickle file; raises ``MotionFormatError`` if missing or too big."""
    path = Path(path)
    if not path.is_file():
        raise MotionFormatError(f"motion file not found: '{path}'")
    if path.stat().st_size > MAX_BYTES:
        raise MotionFormatError(f"'{path}': file is larger than {MAX_BYTES >> 20} MiB")
    return _decompress(path.read_bytes(), str(path))


def is_joblib_pickle(data: bytes) -> bool:
    """Whether (decompressed) pickle bytes hold joblib's array placeholders, so need joblib's reader."""
    return b"NumpyArrayWrapper" in data and b"joblib.numpy_pickle" in data


# ------------------------------------------------------------------------------------------ loaders
def _run(load: Callable[[], Any], where: str) -> Any:
    try:
        return load()
    except UnsafePickleError:
        raise
    except MotionFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure (incl. RecursionError, MemoryError) means a bad file
        raise MotionFormatError(f"'{where}': not a readable pickle ({_one_line(exc)})") from None


def safe_loads(data: bytes, where: str = "<bytes>") -> Any:
    """Unpickle ``data`` allowing only :data:`SAFE_GLOBALS`; ``where`` names the source in errors."""
    return _run(lambda: _SafeUnpickler(io.BytesIO(data), where).load(), where)


def safe_load_pickle(path: str | os.PathLike) -> Any:
    """Read a plain pickle file with the restricted unpickler (never executes code from the file)."""
    return safe_loads(read_pickle_bytes(path), str(path))


def _joblib_unpickler_class() -> type:
    """Build (once) a subclass of joblib's unpickler with the allow-list and checked array headers."""
    global _JOBLIB_CLASS
    if _JOBLIB_CLASS is not None:
        return _JOBLIB_CLASS
    import numpy as np
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler

    class RestrictedJoblibUnpickler(NumpyUnpickler):
        """joblib's unpickler with ``find_class`` limited to the allow-list plus its array placeholder.

        Before joblib turns a placeholder into an array, its header (class, dtype, shape, order) is
        checked, so a crafted file cannot request a huge allocation or an ndarray subclass.
        """

        dispatch = NumpyUnpickler.dispatch.copy()

        def __init__(self, data: bytes, where: str) -> None:
            super().__init__(where, io.BytesIO(data), ensure_native_byte_order=True, mmap_mode=None)
            self._where = where
            self._size = len(data)

        def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle hook
            if (module, name) == _JOBLIB_WRAPPER:
                return NumpyArrayWrapper
            resolver = SAFE_GLOBALS.get((module, name))
            if resolver is None:
                raise _refuse(self._where, module, name)
            return resolver()

        def persistent_load(self, pid: Any) -> Any:
            raise _refuse(self._where, "persistent_id", str(pid)[:40])

        def load_build(self) -> None:
            state, obj = self.stack[-1], self.stack[-2]
            if isinstance(obj, NumpyArrayWrapper):
                self._check_wrapper_state(state)
            NumpyUnpickler.load_build(self)

        dispatch[pickle.BUILD[0]] = load_build

        def _check_wrapper_state(self, state: Any) -> None:
            bad = f"'{self._where}': malformed joblib array header"
            if not isinstance(state, dict):
                raise MotionFormatError(bad)
            allowed = {"subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"}
            if set(state) - allowed or state.get("subclass") is not np.ndarray:
                raise MotionFormatError(f"{bad} (fields {sorted(state)})")
            dtype, shape = state.get("dtype"), state.get("shape")
            if not isinstance(dtype, np.dtype) or state.get("order") not in ("C", "F"):
                raise MotionFormatError(f"{bad} (dtype/order)")
            if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
                raise MotionFormatError(f"{bad} (shape {shape!r})")
            count = 1
            for s in shape:
                count *= s
            if not dtype.hasobject and count * dtype.itemsize > self._size:
                raise MotionFormatError(f"{bad} (shape {shape} needs more bytes than the file holds)")

    _JOBLIB_CLASS = RestrictedJoblibUnpickler
    return _JOBLIB_CLASS


_JOBLIB_CLASS: type | None = None


def safe_loads_joblib(data: bytes, where: str = "<bytes>") -> Any:
    """Like :func:`safe_loads` for (decompressed) ``joblib.dump`` output."""
    cls = _joblib_unpickler_class()
    return _run(lambda: cls(data, where).load(), where)


def safe_load_joblib(path: str | os.PathLike) -> Any:
    """Read a ``joblib.dump`` file (e.g. ASAP/PHC motion pkls) without executing code from it."""
    return safe_loads_joblib(read_pickle_bytes(path), str(path))


def safe_load_any(path: str | os.PathLike) -> Any:
    """Read a plain or joblib pickle, choosing the restricted reader from the file's content."""
    data = read_pickle_bytes(path)
    if is_joblib_pickle(data):
        return safe_loads_joblib(data, str(path))
    return safe_loads(data, str(path))

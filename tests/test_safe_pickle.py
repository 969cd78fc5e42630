"""The restricted unpicklers read real motion pickles and refuse anything that could run code."""

from __future__ import annotations

import collections
import os
import pickle
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from mimic_lit.errors import MotionFormatError, UnsafePickleError
from mimic_lit.motion.formats import load_motion
from mimic_lit.motion.formats.safe_pickle import (
    SAFE_GLOBALS,
    safe_load_any,
    safe_load_joblib,
    safe_load_pickle,
    safe_loads,
)
from mimic_lit.motion.shipped import SOURCE_DIR

ASAP_FILES = sorted((SOURCE_DIR / "asap").rglob("*.pkl"))


def _one_line(exc_info: pytest.ExceptionInfo) -> str:
    msg = str(exc_info.value)
    assert msg and "\n" not in msg
    return msg


class _SystemCall:
    """Unpickling this runs ``os.system`` with a command that creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _OpenFile:
    """Unpickling this opens (creates) the marker file for writing."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


class _Eval:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w')",))


@pytest.mark.parametrize("payload_cls, refused", [(_SystemCall, "system"), (_OpenFile, "open"), (_Eval, "eval")])
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, payload_cls, refused, protocol):
    marker = tmp_path / "pwned"
    evil = {"fps": 30, "root_pos": np.zeros((2, 3)), "payload": payload_cls(marker)}
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(evil, protocol=protocol))
    for reader in (safe_load_pickle, safe_load_any, load_motion):
        with pytest.raises(UnsafePickleError) as exc:
            reader(path)
        msg = _one_line(exc)
        assert refused in msg and str(path) in msg
    assert not marker.exists()


def test_malicious_joblib_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    joblib.dump({"clip": {"dof": np.zeros((3, 23)), "root_rot": np.zeros((3, 4)), "x": _SystemCall(marker)}}, path)
    assert b"NumpyArrayWrapper" in path.read_bytes()  # a real joblib file with array placeholders
    for reader in (safe_load_joblib, safe_load_any, load_motion):
        with pytest.raises(UnsafePickleError) as exc:
            reader(path)
        assert "system" in _one_line(exc)
    assert not marker.exists()
    # compressed joblib files go through the same restricted reader
    zpath = tmp_path / "evil_z.pkl"
    joblib.dump({"x": _SystemCall(marker)}, zpath, compress=("gzip", 3))
    with pytest.raises(UnsafePickleError):
        safe_load_any(zpath)
    assert not marker.exists()


def test_refused_module_is_never_imported(tmp_path, monkeypatch):
    """A pickle naming a module whose import has side effects is refused before the import happens."""
    marker = tmp_path / "imported"
    (tmp_path / "evil_module_xyz.py").write_text(f"open({str(marker)!r}, 'w').close()\nvalue = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = b"cevil_module_xyz\nvalue\n."  # protocol-0 GLOBAL opcode
    with pytest.raises(UnsafePickleError) as exc:
        safe_loads(data, "crafted")
    assert "evil_module_xyz.value" in _one_line(exc)
    assert not marker.exists() and "evil_module_xyz" not in sys.modules


def test_joblib_array_header_is_checked(tmp_path):
    """A joblib placeholder claiming a huge array (or an ndarray subclass) is rejected, not allocated."""
    from joblib.numpy_pickle import NumpyArrayWrapper

    wrapper = NumpyArrayWrapper(np.ndarray, (10**12,), "C", np.dtype("f8"))
    path = tmp_path / "huge.pkl"
    path.write_bytes(pickle.dumps({"a": wrapper}, protocol=4))
    with pytest.raises(MotionFormatError) as exc:
        safe_load_joblib(path)
    assert "joblib array header" in _one_line(exc)

    sub = NumpyArrayWrapper(np.memmap, (3,), "C", np.dtype("f8"))
    path.write_bytes(pickle.dumps({"a": sub}, protocol=4) + b"NumpyArrayWrapper")
    with pytest.raises(UnsafePickleError) as exc:
        safe_load_joblib(path)
    assert "memmap" in _one_line(exc)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_allowed_types_round_trip(protocol):
    obj = {
        "f64": np.arange(6.0).reshape(2, 3),
        "f32_fortran": np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "ints": np.array([1, 2, 3], dtype=np.int16),
        "strs": np.array(["a", "bc"]),
        "objs": np.array([{"k": 1}, [2]], dtype=object),
        "scalar": np.float64(2.5),
        "od": collections.OrderedDict(a=1, b=(2.0, None)),
        "misc": [1, 2.0, "x", b"raw", bytearray(b"ba"), {1, 2}, frozenset({3}), True, None, 1 + 2j],
    }
    back = safe_loads(pickle.dumps(obj, protocol=protocol))
    assert back.keys() == obj.keys()
    for key in ("f64", "f32_fortran", "ints", "strs"):
        np.testing.assert_array_equal(back[key], obj[key])
        assert back[key].dtype == obj[key].dtype
    assert back["objs"][0] == {"k": 1} and back["scalar"] == 2.5
    assert back["od"] == obj["od"] and back["misc"] == obj["misc"]


@pytest.mark.parametrize("compress", [0, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3), ("zlib", 3)])
def test_joblib_files_read_like_joblib(tmp_path, compress):
    obj = {"a": np.arange(10.0), "b": {"c": np.ones((2, 2), dtype=np.float32)}, "fps": 30}
    path = tmp_path / "x.pkl"
    joblib.dump(obj, path, compress=compress)
    back = safe_load_any(path)
    np.testing.assert_array_equal(back["a"], obj["a"])
    np.testing.assert_array_equal(back["b"]["c"], obj["b"]["c"])
    assert back["fps"] == 30


def test_real_asap_files_match_joblib():
    assert len(ASAP_FILES) == 15
    path = ASAP_FILES[0]
    ours, ref = safe_load_joblib(path), joblib.load(path)
    assert ours.keys() == ref.keys()
    for key, entry in ref.items():
        for field, value in entry.items():
            np.testing.assert_array_equal(ours[key][field], value)


@pytest.mark.parametrize("joblib_file", [False, True])
def test_truncated_pickle_is_a_one_line_error(tmp_path, joblib_file):
    path = tmp_path / "cut.pkl"
    if joblib_file:
        joblib.dump({"a": np.arange(1000.0)}, path)
    else:
        path.write_bytes(pickle.dumps({"frames": [[0.0] * 35] * 10, "fps": 30, "loop_mode": 1}, protocol=4))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MotionFormatError) as exc:
        safe_load_any(path)
    msg = _one_line(exc)
    assert str(path) in msg and not isinstance(exc.value, UnsafePickleError)


def test_garbage_and_missing_files(tmp_path):
    path = tmp_path / "noise.pkl"
    path.write_bytes(np.random.default_rng(0).bytes(256))
    with pytest.raises(MotionFormatError) as exc:
        safe_load_pickle(path)
    _one_line(exc)
    with pytest.raises(MotionFormatError) as exc:
        safe_load_pickle(tmp_path / "absent.pkl")
    assert "not found" in _one_line(exc)


def test_allow_list_has_no_callables_that_reach_the_system():
    modules = {m for m, _ in SAFE_GLOBALS}
    assert not modules & {"os", "posix", "nt", "subprocess", "sys", "shutil", "importlib", "runpy", "copyreg"}
    assert ("builtins", "eval") not in SAFE_GLOBALS and ("builtins", "getattr") not in SAFE_GLOBALS
    assert ("builtins", "open") not in SAFE_GLOBALS and ("builtins", "__import__") not in SAFE_GLOBALS

"""Checkpoints are read with ``weights_only=True`` everywhere, and a bad file gives one line.

One real checkpoint is trained once (a tiny quick recipe); from it the tests make a truncated copy
(half its bytes, as ``head -c`` leaves after an interrupted copy), and beside it random bytes, a
text file and a malicious checkpoint whose unpickling runs ``touch PWNED``. Every command that takes
a checkpoint (``fit --ckpt_path``, ``validate``, ``test``, ``predict``, ``play``, ``export``,
``init_from``, the HLC task's ``llc_ckpt_path``) must answer each of them with the exact
one-line ``error:``, exit code 2, no traceback, no ``PWNED`` file, no new file or folder, and the
bad file unchanged. Most commands run in-process (``mimic_lit.cli.main``); one subprocess per error
class shows what reaches a terminal.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mimic_lit.checkpoint_io import CheckpointError, check_ckpt_path, load_checkpoint
from mimic_lit.cli import main

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "deepmimic_humanoid_walk.yaml"  # always with --quick
HLC_RECIPE = REPO / "recipes" / "ase_g1_dribble_hlc.yaml"
TINY = ["--data.init_args.sim.num_envs", "4", "--data.init_args.horizon", "4", "--data.init_args.val_episodes", "1"]
REFUSE = "a checkpoint may only hold tensors and plain values, and mimic-lit never runs code from a file"


class _RunsCode:
    """Unpickling this object runs ``touch <marker>`` (what a malicious checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> set[str]:
    """Every file and folder under ``root`` (to show a failed command created nothing)."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def log_to_current_stderr() -> None:
    """Point Lightning's log handlers at the current ``sys.stderr`` (pytest's capture of this test):
    they keep the stream they were created with, which an earlier test's capture has closed."""
    import logging

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.stream = sys.stderr  # not setStream: it flushes the closed one


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}, check=False,
    )


@pytest.fixture(scope="module")
def real_ckpt(tmp_path_factory) -> Path:
    """``last.ckpt`` of one tiny DeepMimic iteration (a real ``mimic-lit fit``)."""
    root = tmp_path_factory.mktemp("real")
    proc = run_cli("fit", "--config", str(RECIPE), "--quick", "--trainer.max_epochs", "1", "--trainer.default_root_dir", "run",
                   *TINY, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = root / "run" / "checkpoints" / "last.ckpt"
    assert path.is_file()
    return path


@pytest.fixture(scope="module")
def bad(tmp_path_factory, real_ckpt) -> dict[str, Path]:
    """The bad files, in a folder ``bad/`` of their own; ``PWNED`` would appear in ``bad/``'s parent."""
    root = tmp_path_factory.mktemp("work")
    folder = root / "bad"
    folder.mkdir()
    data = real_ckpt.read_bytes()
    files = {
        "truncated": folder / "truncated.ckpt",
        "random": folder / "random.ckpt",
        "text": folder / "text.ckpt",
        "malicious": folder / "malicious.ckpt",
    }
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["random"].write_bytes(np.random.default_rng(0).bytes(4096))
    files["text"].write_text("model: DeepMimic\nthis is not a checkpoint\n")
    torch.save({"state_dict": {}, "epoch": 3, "payload": _RunsCode(root / "PWNED")}, files["malicious"])
    return files


def expected_line(kind: str, shown: str, what: str = "checkpoint") -> str:
    where = f"{what} '{shown}'"
    return {
        "truncated": f"error: {where} is truncated or damaged (not a complete checkpoint file)",
        "random": f"error: {where} is damaged or not a checkpoint (unrecognised bytes)",
        "text": f"error: {where} is a text file, not a checkpoint",
        "malicious": f"error: {where} asks to run code ('posix.system') when loaded; refusing: {REFUSE}",
    }[kind]


# ------------------------------------------------------------------------------------ the loader
def test_real_checkpoints_load_with_weights_only(real_ckpt):
    ckpt = load_checkpoint(real_ckpt)
    assert ckpt["state_dict"] and "mimic_lit" in ckpt and ckpt["epoch"] == 1
    assert all(isinstance(v, torch.Tensor) for v in ckpt["state_dict"].values())


def test_the_malicious_checkpoint_really_runs_code_when_loaded_unsafely(bad, tmp_path):
    """The test file is a real attack: an unrestricted load runs its command (so the tests below
    that find no PWNED file mean something)."""
    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": _RunsCode(tmp_path / "PWNED")}, evil)
    torch.load(evil, weights_only=False)
    assert (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("kind", ["truncated", "random", "text", "malicious"])
def test_load_checkpoint_one_line_per_damage(bad, kind):
    path = bad[kind]
    before = sha256(path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert f"error: {info.value}" == expected_line(kind, str(path))
    assert "weights_only" not in str(info.value)  # never suggests an unsafe load
    assert sha256(path) == before
    assert not (path.parent.parent / "PWNED").exists()


def test_load_checkpoint_other_problems(tmp_path):
    with pytest.raises(CheckpointError, match=r"^checkpoint 'nope.ckpt' does not exist$"):
        load_checkpoint("nope.ckpt")
    with pytest.raises(CheckpointError, match=r"is a folder, not a checkpoint file$"):
        load_checkpoint(tmp_path)
    (tmp_path / "empty.ckpt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"^checkpoint '.*empty.ckpt' is empty$"):
        load_checkpoint(tmp_path / "empty.ckpt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match=r"^init_from checkpoint '.*plain.pt' is not a Lightning checkpoint \(no 'state_dict'\)$"):
        load_checkpoint(tmp_path / "plain.pt", "init_from checkpoint")
    # a plain (non-zip) pickle that imports os.system: refused without running it
    import pickle

    with open(tmp_path / "legacy.ckpt", "wb") as f:
        pickle.dump(_RunsCode(tmp_path / "PWNED"), f)
    with pytest.raises(CheckpointError, match=r"asks to run code \('posix.system'\)"):
        load_checkpoint(tmp_path / "legacy.ckpt")
    assert not (tmp_path / "PWNED").exists()


def test_check_ckpt_path_leaves_lightning_names_alone(tmp_path):
    for name in (None, "last", "best", "hpc", "s3://bucket/x.ckpt"):
        check_ckpt_path(name)
    with pytest.raises(CheckpointError, match="does not exist"):
        check_ckpt_path(tmp_path / "x.ckpt")


# ------------------------------------------------------------------------------ every command
def _commands(path: str) -> dict[str, tuple[list[str], str]]:
    """command name -> (argv, the role the error names the file by)."""
    return {
        "fit --ckpt_path": (["fit", "--config", str(RECIPE), "--quick", "--trainer.default_root_dir", "runs/x", *TINY,
                             "--ckpt_path", path], "checkpoint"),
        "validate": (["validate", "--config", str(RECIPE), "--quick", *TINY, "--ckpt_path", path], "checkpoint"),
        "test": (["test", "--config", str(RECIPE), "--quick", *TINY, "--ckpt_path", path], "checkpoint"),
        "predict": (["predict", "--config", str(RECIPE), "--quick", *TINY, "--ckpt_path", path], "checkpoint"),
        "play": (["play", "--config", str(RECIPE), "--quick", "--ckpt_path", path, "--out", "out.mp4"], "checkpoint"),
        "export": (["export", "--config", str(RECIPE), "--quick", "--ckpt_path", path, "--out", "policy.onnx"], "checkpoint"),
        "init_from": (["fit", "--config", str(RECIPE), "--quick", "--trainer.default_root_dir", "runs/y", *TINY,
                       "--trainer.max_epochs", "1", "--model.init_args.init_from", path], "init_from checkpoint"),
        "llc_ckpt_path": (["fit", "--config", str(HLC_RECIPE), "--quick", "--trainer.default_root_dir", "runs/z", *TINY,
                           "--data.init_args.task.init_args.llc_ckpt_path", path], "low-level checkpoint"),
    }


COMMANDS = list(_commands("x"))


@pytest.mark.parametrize("kind", ["malicious", "truncated", "random", "text"])
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_bad_checkpoints_on_one_line(bad, kind, command, capsys, monkeypatch):
    work = bad[kind].parent.parent
    monkeypatch.chdir(work)
    shown = f"bad/{bad[kind].name}"
    argv, what = _commands(shown)[command]
    before, files = sha256(bad[kind]), tree(work)
    log_to_current_stderr()
    code = main(argv)
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, err[-2000:]
    assert errors == [expected_line(kind, shown, what)], err[-2000:]
    assert "Traceback" not in err
    assert not (work / "PWNED").exists()
    assert sha256(bad[kind]) == before
    assert tree(work) == files  # no output, no run folder, no PWNED


@pytest.mark.parametrize(
    "kind, argv",
    [
        ("malicious", ["play", "--config", str(RECIPE), "--quick", "--ckpt_path", "bad/malicious.ckpt"]),
        ("truncated", ["fit", "--config", str(RECIPE), "--quick", "--trainer.default_root_dir", "runs/x", "--ckpt_path",
                       "bad/truncated.ckpt"]),
    ],
)
def test_a_terminal_sees_one_line(bad, kind, argv):
    """As a user runs it: the whole stderr is the one line, exit code 2."""
    work = bad[kind].parent.parent
    files = tree(work)
    proc = run_cli(*argv, cwd=work)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [expected_line(kind, f"bad/{bad[kind].name}")]
    assert not (work / "PWNED").exists()
    assert tree(work) == files


def test_debug_shows_the_traceback(bad):
    work = bad["truncated"].parent.parent
    proc = run_cli("export", "--config", str(RECIPE), "--quick", "--ckpt_path", "bad/truncated.ckpt", cwd=work,
                   env={"MIMIC_LIT_DEBUG": "1"})
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "PytorchStreamReader" in proc.stderr
    assert "is truncated or damaged" in proc.stderr


def test_weights_only_false_is_refused(real_ckpt, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code = main(["validate", "--config", str(RECIPE), "--quick", *TINY, "--ckpt_path", str(real_ckpt), "--weights_only", "false"])
    assert code == 2
    assert "error: --weights_only false is not supported" in capsys.readouterr().err


# ----------------------------------------------------------------------------- exported policies
@pytest.fixture(scope="module")
def exported(tmp_path_factory, real_ckpt) -> Path:
    folder = tmp_path_factory.mktemp("exported")
    assert main(["export", "--config", str(RECIPE), "--quick", "--ckpt_path", str(real_ckpt), "--out",
                 str(folder / "policy.onnx"), "--check-samples", "10"]) == 0
    return folder / "policy.onnx"


def test_sim2sim_refuses_damaged_policies_on_one_line(exported, tmp_path):
    data = exported.read_bytes()
    (tmp_path / "truncated.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.onnx").write_text("not a network\n")
    (tmp_path / "text.pt").write_text("not a network\n")
    import onnx

    model = onnx.load(str(exported))
    model.graph.node[0].op_type = "NoSuchOperator"  # parses, but onnxruntime cannot run it
    onnx.save(model, str(tmp_path / "bad_graph.onnx"))
    cases = {
        "truncated.onnx": "error: exported policy 'truncated.onnx' is not a valid ONNX file (truncated, damaged or another format)",
        "text.onnx": "error: exported policy 'text.onnx' is not a valid ONNX file (truncated, damaged or another format)",
        "text.pt": "error: exported policy 'text.pt' is neither ONNX nor TorchScript (truncated, damaged or another format)",
        "bad_graph.onnx": "error: exported policy 'bad_graph.onnx' cannot be loaded by onnxruntime ([ONNXRuntimeError]",
    }
    files = tree(tmp_path)
    for name, line in cases.items():
        before = sha256(tmp_path / name)
        proc = run_cli("sim2sim", "--policy", name, "--report", "report.json", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(line), proc.stderr
        assert sha256(tmp_path / name) == before
    assert tree(tmp_path) == files

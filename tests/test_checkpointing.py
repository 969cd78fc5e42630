"""Runs that survive kills: real ``mimic-lit fit`` subprocesses on a quick recipe, killed with SIGKILL,
SIGTERM, or in the middle of a checkpoint write, then resumed with ``--ckpt_path last``.

Every resumed run must end with the same parameters (``torch.equal``) as an uninterrupted run of
the same length, and lose at most the iteration in progress (SIGKILL) or nothing (SIGTERM). The
subprocesses run ``tests/fit_probe.py``, which prints ``iteration done: N`` when the update of
iteration N is finished (before the checkpoint callback runs), so the test knows how much work was
done when the kill landed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mimic_lit.callbacks.checkpoint import RunCheckpoint, iterations_in
from mimic_lit.errors import MimicLitError

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "fit_probe.py"
RECIPE = ROOT / "recipes" / "deepmimic_g1_walk.yaml"  # run with --quick (first in SMALL)
RUN = Path("runs") / "quick_deepmimic_g1_walk"  # the quick run folder, relative to the cwd
ITERATIONS = 8  # every run below ends after this many iterations
SMALL = [
    "--quick", "--data.init_args.sim.num_envs", "4", "--model.init_args.actor.hidden", "[16]",
    "--model.init_args.critic.hidden", "[16]", "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
]  # fmt: skip
MARKER = re.compile(r"^iteration done: (\d+)$", re.M)


class Fit:
    """A ``mimic-lit fit`` subprocess of the recipe with --quick in ``cwd``; stdout and stderr go to files."""

    def __init__(self, cwd: Path, *extra: str, env: dict[str, str] | None = None, tag: str = "fit") -> None:
        self.out, self.err = cwd / f"{tag}.out", cwd / f"{tag}.err"
        cmd = [sys.executable, str(PROBE), "fit", "--config", str(RECIPE), *SMALL,
               "--trainer.max_epochs", str(ITERATIONS), *extra]  # fmt: skip
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env={**os.environ, **(env or {})})

    def iterations(self) -> list[int]:
        """The iterations whose update finished, from the probe's markers."""
        return [int(n) for n in MARKER.findall(self.out.read_text())]

    def wait_for_iteration(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.iterations() or max(self.iterations()) < n:
            assert self.proc.poll() is None, f"exited early ({self.proc.returncode}): {self.err.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.02)

    def wait(self, timeout: float = 180.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stderr(self) -> str:
        return self.err.read_text()


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_same_parameters(a: dict, b: dict) -> None:
    assert a["state_dict"].keys() == b["state_dict"].keys()
    different = [k for k in a["state_dict"] if not torch.equal(a["state_dict"][k], b["state_dict"][k])]
    assert not different, f"parameters differ from the uninterrupted run: {different[:5]}"


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """An uninterrupted run of ITERATIONS iterations; returns its folder (the cwd of the run)."""
    cwd = tmp_path_factory.mktemp("straight")
    fit = Fit(cwd)
    assert fit.wait() == 0, fit.stderr()[-3000:]
    assert fit.iterations() == list(range(1, ITERATIONS + 1))
    return cwd


def _resume_and_compare(cwd: Path, straight: Path, saved: int) -> None:
    """Resume with --ckpt_path last: it continues after iteration ``saved`` and ends equal to ``straight``."""
    fit = Fit(cwd, "--ckpt_path", "last", tag="resume")
    assert fit.wait() == 0, fit.stderr()[-3000:]
    assert f"mimic-lit: resuming from {RUN / 'checkpoints' / 'last.ckpt'}" in fit.stderr()
    assert fit.iterations() == list(range(saved + 1, ITERATIONS + 1))  # nothing redone, nothing skipped
    final = _load(cwd / RUN / "checkpoints" / "last.ckpt")
    assert iterations_in(final) == final["epoch"] == ITERATIONS
    _assert_same_parameters(final, _load(straight / RUN / "checkpoints" / "last.ckpt"))
    assert sorted(p.name for p in (cwd / RUN / "checkpoints").iterdir() if p.suffix == ".ckpt") == ["last.ckpt"]


@pytest.mark.slow
def test_sigkill_loses_at_most_the_current_iteration_and_resumes_exactly(tmp_path: Path, straight: Path):
    fit = Fit(tmp_path)
    fit.wait_for_iteration(3)
    time.sleep(0.15)  # land somewhere in the next iteration (or its checkpoint write)
    fit.proc.send_signal(signal.SIGKILL)
    assert fit.wait() == -signal.SIGKILL
    done = max(fit.iterations())
    saved = iterations_in(_load(tmp_path / RUN / "checkpoints" / "last.ckpt"))
    lost = done - saved
    print(f"SIGKILL after {done} finished iterations: last.ckpt holds {saved}, {lost} lost")
    assert 0 <= lost <= 1 and saved >= 2
    _resume_and_compare(tmp_path, straight, saved)


@pytest.mark.slow
def test_sigterm_saves_the_current_iteration_and_exits_0(tmp_path: Path, straight: Path):
    fit = Fit(tmp_path)
    fit.wait_for_iteration(3)
    fit.proc.send_signal(signal.SIGTERM)
    assert fit.wait() == 0, fit.stderr()[-3000:]
    done = max(fit.iterations())
    assert done < ITERATIONS, "the run ended before the signal could stop it"
    saved = iterations_in(_load(tmp_path / RUN / "checkpoints" / "last.ckpt"))
    print(f"SIGTERM: {done} finished iterations, last.ckpt holds {saved}, {done - saved} lost")
    assert saved == done  # nothing lost
    last = RUN / "checkpoints" / "last.ckpt"
    assert (f"mimic-lit: stopped by SIGTERM after iteration {done}; checkpoint: {last}; "
            "resume with the same command and --ckpt_path last") in fit.stderr()  # fmt: skip
    assert "Traceback" not in fit.stderr()
    _resume_and_compare(tmp_path, straight, saved)


@pytest.mark.slow
def test_a_kill_inside_the_checkpoint_write_keeps_the_previous_checkpoint(tmp_path: Path, straight: Path):
    fit = Fit(tmp_path, env={"CRASH_AT_SAVE": "4"})  # the 4th write: iteration 4's checkpoint
    assert fit.wait() == -signal.SIGKILL
    folder = tmp_path / RUN / "checkpoints"
    with pytest.raises(Exception):  # the write really was cut in half
        torch.load(folder / RunCheckpoint.TEMP_NAME, map_location="cpu", weights_only=True)
    previous = _load(folder / "last.ckpt")  # intact, and safe to load
    saved = iterations_in(previous)
    done = max(fit.iterations())
    print(f"kill inside checkpoint write: {done} finished iterations, last.ckpt holds {saved}, {done - saved} lost")
    assert (done, saved) == (4, 3)
    _resume_and_compare(tmp_path, straight, saved)


@pytest.mark.slow
def test_a_second_fresh_fit_refuses_and_a_lower_max_epochs_errors(tmp_path: Path, straight: Path):
    shutil.copytree(straight / "runs", tmp_path / "runs")
    last = tmp_path / RUN / "checkpoints" / "last.ckpt"
    before = _sha(last)
    versions = sorted(p.name for p in (tmp_path / RUN / "lightning_logs").iterdir())

    fresh = Fit(tmp_path, tag="fresh")
    assert fresh.wait() == 2
    assert _error_lines(fresh.stderr()) == [
        f"error: {RUN / 'checkpoints' / 'last.ckpt'} exists: pass --ckpt_path last to resume it, "
        "or another --trainer.default_root_dir for a new run"
    ]
    assert "Traceback" not in fresh.stderr() and fresh.iterations() == []

    lower = Fit(tmp_path, "--ckpt_path", "last", "--trainer.max_epochs", "3", tag="lower")
    assert lower.wait() == 2
    assert _error_lines(lower.stderr()) == [
        f"error: {RUN / 'checkpoints' / 'last.ckpt'} has already trained {ITERATIONS} iterations, more than "
        f"--trainer.max_epochs 3: pass --trainer.max_epochs {ITERATIONS + 1} or more to continue it"
    ]
    assert "Traceback" not in lower.stderr() and lower.iterations() == []
    assert _sha(last) == before
    assert sorted(p.name for p in last.parent.iterdir()) == ["last.ckpt"]
    assert sorted(p.name for p in (tmp_path / RUN / "lightning_logs").iterdir())[: len(versions)] == versions


@pytest.mark.slow
def test_ckpt_path_last_without_a_checkpoint_starts_a_new_run_under_default_root_dir(tmp_path: Path):
    fit = Fit(tmp_path, "--ckpt_path", "last", "--trainer.default_root_dir", "elsewhere", "--trainer.max_epochs", "1")
    assert fit.wait() == 0, fit.stderr()[-3000:]
    assert "mimic-lit: no checkpoint at elsewhere/checkpoints/last.ckpt: starting a new run" in fit.stderr()
    assert fit.iterations() == [1]
    written = sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".out", ".err")
    )
    assert not (tmp_path / "runs").exists()
    assert all(p.startswith("elsewhere/") for p in written), written
    assert "elsewhere/checkpoints/last.ckpt" in written
    assert "elsewhere/lightning_logs/version_0/config.yaml" in written
    assert any(p.startswith("elsewhere/lightning_logs/version_0/events.out.tfevents") for p in written)
    assert iterations_in(_load(tmp_path / "elsewhere" / "checkpoints" / "last.ckpt")) == 1


def test_a_recipe_without_a_checkpoint_callback_gets_run_checkpoint(tmp_path: Path, monkeypatch):
    """A user's own recipe without callbacks: one RunCheckpoint, not Lightning's versioned default."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from mimic_lit.commands.train import MimicLitCLI

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["mimic-lit"])
    cli = MimicLitCLI(args=["fit", "--config", str(RECIPE), *SMALL, "--trainer.callbacks=[]", "--trainer.max_epochs", "1"])
    assert [type(cb) for cb in cli.trainer.callbacks if isinstance(cb, (RunCheckpoint, ModelCheckpoint))] == [RunCheckpoint]
    ckpts = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.ckpt"))
    assert ckpts == [str(RUN / "checkpoints" / "last.ckpt")]


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [(["2", "null"], [2, 3]), (["null", "1e-9"], [1, 2, 3]), (["null", "60"], [3])],
    ids=["every_2_iterations", "every_instant", "every_hour"],
)
def test_the_schedule_saves_by_iterations_or_minutes_and_at_the_end(tmp_path: Path, monkeypatch, schedule, expected):
    """Which iterations are written: every N-th, every M minutes, and always the last one (once)."""
    from mimic_lit.commands.train import MimicLitCLI

    saved: list[int] = []
    original = RunCheckpoint.save
    monkeypatch.setattr(RunCheckpoint, "save", lambda self, trainer, n: (saved.append(n), original(self, trainer, n))[1])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["mimic-lit"])
    MimicLitCLI(args=["fit", "--config", str(RECIPE), *SMALL, "--trainer.max_epochs", "3",
                      "--trainer.callbacks.init_args.every_n_iterations", schedule[0],
                      "--trainer.callbacks.init_args.every_minutes", schedule[1]])  # fmt: skip
    assert saved == expected
    assert iterations_in(_load(tmp_path / RUN / "checkpoints" / "last.ckpt")) == 3


def test_run_checkpoint_rejects_a_schedule_that_never_saves():
    with pytest.raises(MimicLitError, match="every_n_iterations must be >= 1"):
        RunCheckpoint(every_n_iterations=0)
    with pytest.raises(MimicLitError, match="every_minutes must be > 0"):
        RunCheckpoint(every_minutes=0)
    with pytest.raises(MimicLitError, match="needs every_n_iterations or every_minutes"):
        RunCheckpoint(every_n_iterations=None)
    assert RunCheckpoint(every_n_iterations=None, every_minutes=5).every_minutes == 5.0


def test_iterations_in_counts_an_epoch_end_checkpoint_as_done():
    at_epoch_end = {"epoch": 2, "loops": {"fit_loop": {"epoch_progress": {"current": {"processed": 3, "completed": 2}}}}}
    at_fit_end = {"epoch": 3, "loops": {"fit_loop": {"epoch_progress": {"current": {"processed": 3, "completed": 3}}}}}
    assert iterations_in(at_epoch_end) == iterations_in(at_fit_end) == 3
    assert iterations_in({"epoch": 5}) == 5

"""Output files, the same rules in every command (mimic_lit.fileio): missing folders are created,
files get the permissions a plain ``open()`` gives, and an error, Ctrl-C or ``SIGTERM`` during a
write leaves neither a temporary file nor half an output behind."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mimic_lit.errors import MimicLitError
from mimic_lit.fileio import atomic_output, check_output
from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.formats import save_gmr_pkl, save_mimickit_pkl
from mimic_lit.robots import get_robot


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mimic_lit.cli", *args], check=False, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env={**os.environ})


@pytest.fixture
def g1_stand(tmp_path) -> Path:
    """A 10-frame G1 clip (default pose, sliding forward) saved as .npz."""
    spec = get_robot("g1")
    q = np.repeat(spec.default_pose[None], 10, axis=0)
    q[:, 0] = 0.02 * np.arange(10)
    return MotionClip.from_qpos(q, fps=30.0, robot="g1", name="stand").save(tmp_path / "stand.npz")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_writer_gives_the_permissions_open_gives(tmp_path, g1_stand):
    clip = MotionClip.load(g1_stand)
    old = os.umask(0o027)
    try:
        expected = 0o666 & ~0o027
        written = [
            clip.save(tmp_path / "out" / "clip.npz"),
            save_gmr_pkl(clip, tmp_path / "out" / "gmr.pkl"),
            save_mimickit_pkl(clip, tmp_path / "out" / "mimickit.pkl"),
        ]
        with open(tmp_path / "out" / "plain.txt", "w") as fh:
            fh.write("reference")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "out" / "plain.txt") == expected
    for path in written:
        assert _mode(path) == expected, f"{path.name}: {oct(_mode(path))}"


def test_atomic_output_creates_folders_and_cleans_up_after_a_failure(tmp_path):
    target = tmp_path / "a" / "b" / "result.txt"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            assert tmp.parent == target.parent and tmp.name.startswith(".result.") and tmp.suffix == ".txt"
            tmp.write_text("half")
            raise RuntimeError("the writer failed")
    assert list(tmp_path.iterdir()) == []  # no temporary file, and the folders made for it are gone
    with atomic_output(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and sorted(p.name for p in target.parent.iterdir()) == ["result.txt"]
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C: the old file stays as it was
        with atomic_output(target) as tmp:
            tmp.write_text("new")
            raise KeyboardInterrupt
    assert target.read_text() == "whole" and sorted(p.name for p in target.parent.iterdir()) == ["result.txt"]


def test_check_output_refuses_overwrites_folders_and_files_in_the_way(tmp_path):
    (tmp_path / "old.npz").write_bytes(b"x")
    with pytest.raises(MimicLitError, match="already exists; pass --overwrite"):
        check_output(tmp_path / "old.npz", overwrite=False)
    assert check_output(tmp_path / "old.npz", overwrite=True) == tmp_path / "old.npz"
    with pytest.raises(MimicLitError, match="is a folder"):
        check_output(tmp_path, overwrite=True)
    with pytest.raises(MimicLitError, match="is not a folder"):
        check_output(tmp_path / "old.npz" / "sub" / "clip.npz", overwrite=False)
    assert check_output(tmp_path / "new" / "deeper" / "clip.npz", overwrite=False).name == "clip.npz"
    assert not (tmp_path / "new").exists()  # created only when the file is written


def test_commands_create_a_missing_output_folder(tmp_path, g1_stand):
    """One rule for every command: ``--out`` in a folder that does not exist yet creates it."""
    proc = run_cli("convert", "--in", str(g1_stand), "--out", str(tmp_path / "c" / "d" / "clip.npz"))
    assert proc.returncode == 0, proc.stderr
    assert MotionClip.load(tmp_path / "c" / "d" / "clip.npz").num_frames == 10
    proc = run_cli("convert", "--in", str(g1_stand), "--to", "gmr", "--out", str(tmp_path / "g" / "clip.pkl"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "g" / "clip.pkl").is_file()
    proc = run_cli("clean-motion", "--in", str(g1_stand), "--out", str(tmp_path / "clean" / "clip.npz"),
                   "--report", str(tmp_path / "reports" / "clean.json"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "clean" / "clip.npz").is_file() and (tmp_path / "reports" / "clean.json").is_file()
    hidden = [p for p in tmp_path.rglob(".*")]
    assert hidden == [], hidden


@pytest.mark.render
def test_view_motion_creates_a_missing_output_folder(tmp_path, g1_stand):
    out = tmp_path / "videos" / "new" / "stand.gif"
    proc = run_cli("view-motion", "--motion", str(g1_stand), "--out", str(out), "--width", "32", "--height", "24",
                   "--quality", "fast")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:6] == b"GIF89a" and _mode(out) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.render
def test_sigterm_during_view_motion_leaves_no_temporary_or_partial_file(tmp_path):
    """A real render killed with SIGTERM (a ``kill``, a cluster's time limit) mid-way cleans up."""
    folder = tmp_path / "renders"
    out = folder / "walk.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mimic_lit.cli", "view-motion", "--motion", "g1/kimodo_walk", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        temporary: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            temporary = list(folder.glob(".walk.*.mp4")) if folder.is_dir() else []
            if temporary and temporary[0].stat().st_size > 0:  # frames are being encoded
                break
            time.sleep(0.05)
        assert temporary and proc.poll() is None, "the render never started (or finished too fast to interrupt)"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "error: terminated" and "Traceback" not in stderr
    assert not out.exists()
    assert not folder.exists() or list(folder.iterdir()) == []
    assert list(tmp_path.iterdir()) in ([], [folder]) and not any(tmp_path.rglob("*.mp4"))

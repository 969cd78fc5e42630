"""MotionClip: validation names the bad field, save/load round-trips, bad files fail cleanly."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from mimic_lit.errors import MotionFormatError
from mimic_lit.motion.clip import MotionClip
from mimic_lit.robots import get_robot


def test_save_load_round_trip(tmp_path, g1_clip):
    path = g1_clip.save(tmp_path / "walk.npz")
    back = MotionClip.load(path, get_robot("g1"))
    np.testing.assert_array_equal(back.qpos, g1_clip.qpos)
    assert back.fps == 30.0 and back.loop == "clamp" and back.robot == "g1"
    assert back.joint_names == get_robot("g1").joint_names
    assert back.duration == pytest.approx(19 / 30)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda c: setattr(c, "fps", 0.0), "fps"),
        (lambda c: setattr(c, "fps", -30.0), "fps"),
        (lambda c: c.root_pos.__setitem__((3, 1), np.nan), "root_pos"),
        (lambda c: c.joint_pos.__setitem__((5, 2), np.inf), "joint_pos"),
        (lambda c: c.root_quat.__setitem__((2, 0), 3.0), "root_quat"),
        (lambda c: setattr(c, "root_pos", c.root_pos[:, :2]), "root_pos"),
        (lambda c: setattr(c, "joint_pos", c.joint_pos[:-1]), "joint_pos"),
        (lambda c: setattr(c, "loop", "bounce"), "loop"),
    ],
)
def test_validation_names_the_field(g1_clip, mutate, field):
    mutate(g1_clip)
    with pytest.raises(MotionFormatError) as exc:
        g1_clip.validate(get_robot("g1"))
    assert f"'{field}'" in _one_line(exc)


def test_wrong_joint_count_for_robot(g1_clip):
    with pytest.raises(MotionFormatError) as exc:
        MotionClip(fps=30, root_pos=g1_clip.root_pos, root_quat=g1_clip.root_quat, joint_pos=g1_clip.joint_pos).validate(
            get_robot("k1")
        )
    msg = _one_line(exc)
    assert "29" in msg and "22" in msg and "k1" in msg


def test_small_quaternion_noise_is_renormalised(g1_clip):
    g1_clip.root_quat = g1_clip.root_quat * (1 + 5e-4)
    g1_clip.validate()
    np.testing.assert_allclose(np.linalg.norm(g1_clip.root_quat, axis=1), 1.0, atol=1e-12)


def test_missing_file(tmp_path):
    with pytest.raises(MotionFormatError) as exc:
        MotionClip.load(tmp_path / "nope.npz")
    assert "not found" in _one_line(exc)


def test_truncated_npz(tmp_path, g1_clip):
    path = g1_clip.save(tmp_path / "clip.npz")
    data = path.read_bytes()
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(MotionFormatError) as exc:
        MotionClip.load(bad)
    assert "truncated.npz" in _one_line(exc)


def test_npz_missing_field(tmp_path, g1_clip):
    path = tmp_path / "partial.npz"
    np.savez(path, fps=30.0, root_pos=g1_clip.root_pos, root_quat=g1_clip.root_quat)
    with pytest.raises(MotionFormatError) as exc:
        MotionClip.load(path)
    assert "'joint_pos'" in _one_line(exc)


def test_npz_with_pickled_object_is_refused(tmp_path, g1_clip):
    path = tmp_path / "objects.npz"
    np.savez(path, fps=30.0, root_pos=g1_clip.root_pos, root_quat=g1_clip.root_quat,
             joint_pos=np.array([object()] * 3, dtype=object))
    with pytest.raises(MotionFormatError):
        MotionClip.load(path)


def test_failed_save_keeps_existing_file(tmp_path, g1_clip):
    path = g1_clip.save(tmp_path / "keep.npz")
    before = path.read_bytes()
    g1_clip.root_pos[0, 0] = np.nan
    with pytest.raises(MotionFormatError):
        g1_clip.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.npz"]  # no temp file left behind
    with zipfile.ZipFile(path) as z:
        assert "root_pos.npy" in z.namelist()


def test_save_refuses_overwrite_when_asked(tmp_path, g1_clip):
    path = g1_clip.save(tmp_path / "a.npz")
    with pytest.raises(MotionFormatError):
        g1_clip.save(path, overwrite=False)


def test_slice(g1_clip):
    part = g1_clip.slice(5, 10)
    assert part.num_frames == 5
    np.testing.assert_array_equal(part.root_pos, g1_clip.root_pos[5:10])


def _damaged_files(folder, clip) -> dict[str, tuple[object, str]]:
    """Damaged .npz files a user meets: name -> (path, the reason the error gives)."""
    real = clip.save(folder / "real.npz").read_bytes()
    text = folder / "notes.npz"
    text.write_text("this is a text file, renamed\n")
    noise = folder / "noise.npz"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    truncated = folder / "truncated.npz"
    truncated.write_bytes(real[: len(real) // 2])
    objects = folder / "objects.npz"
    np.savez(objects, fps=np.array([{"run": "code"}], dtype=object), root_pos=clip.root_pos,
             root_quat=clip.root_quat, joint_pos=clip.joint_pos)
    return {
        "text": (text, "not a zip archive of arrays"),
        "random bytes": (noise, "not a zip archive of arrays"),
        "truncated": (truncated, "damaged or truncated archive"),
        "pickled objects": (objects, "it holds Python objects, which mimic-lit never loads"),
    }


def test_damaged_npz_files_are_not_valid_clips_and_nothing_is_unpickled(tmp_path, g1_clip, monkeypatch):
    """Never numpy's advice to load the file with allow_pickle=True; and no unpickling is tried."""
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("a clip file was unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    for name, (path, why) in _damaged_files(tmp_path, g1_clip).items():
        with pytest.raises(MotionFormatError) as exc:
            MotionClip.load(path)
        message = _one_line(exc)
        assert message.startswith(f"'{path}' is not a valid .npz clip ("), (name, message)
        assert why in message, (name, message)
        assert "allow_pickle" not in message and "pickle.load" not in message, (name, message)


def test_damaged_npz_files_are_one_line_errors_on_the_command_line(tmp_path, g1_clip):
    import hashlib
    import subprocess
    import sys

    for name, (path, why) in _damaged_files(tmp_path, g1_clip).items():
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        proc = subprocess.run([sys.executable, "-m", "mimic_lit.cli", "check-motion", "--robot", "g1", "--motion",
                               str(path)], check=False, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (name, proc.stderr)
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: '{path}' is not a valid .npz clip ({why}"), (name, lines)
        assert "allow_pickle" not in proc.stderr and "Traceback" not in proc.stderr
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before

"""view-motion: real offscreen rendering to real files, and the kinematic checks behind --kinematic-check."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mimic_lit.motion.checks import PENETRATION_TOL, check_clip
from mimic_lit.motion.clip import MotionClip
from mimic_lit.robots import get_robot


def run_cli(*args: str, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", *args],
        check=False, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )


def standing_clip(robot: str = "g1", frames: int = 10, dz: float = 0.0, fps: float = 30.0) -> MotionClip:
    """The robot's default pose, sliding forward 2 cm a frame, root shifted up by ``dz``."""
    spec = get_robot(robot)
    q = np.repeat(spec.default_pose[None], frames, axis=0)
    q[:, 0] = 0.02 * np.arange(frames)
    q[:, 2] += dz
    return MotionClip.from_qpos(q, fps=fps, robot=robot, name=f"{robot}_stand")


# ------------------------------------------------------------------------------------ rendering
@pytest.fixture(scope="module")
def short_clip_file(tmp_path_factory):
    """A 10-frame G1 clip (30 fps) with some leg motion, saved as .npz."""
    clip = standing_clip("g1", frames=10)
    knee = list(get_robot("g1").joint_names).index("left_knee_joint")
    clip.joint_pos[:, knee] = np.linspace(0.3, 1.0, 10)
    return clip.save(tmp_path_factory.mktemp("clips") / "short.npz")


def _gif_frames(path):
    from PIL import Image

    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


def _mp4_frames(path):
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return [np.frombuffer(b, dtype=np.uint8).reshape(h, w, 3) for b in reader]


@pytest.mark.render
@pytest.mark.parametrize(("suffix", "quality"), [(".gif", "fast"), (".mp4", "high")])
def test_render_short_clip_decodes(short_clip_file, tmp_path, suffix, quality):
    out = tmp_path / f"short{suffix}"
    proc = run_cli("view-motion", "--motion", str(short_clip_file), "--out", str(out),
                   "--width", "96", "--height", "72", "--fps", "30", "--quality", quality)
    assert proc.returncode == 0, proc.stderr
    frames = _gif_frames(out) if suffix == ".gif" else _mp4_frames(out)
    assert len(frames) == 10
    assert frames[0].shape == (72, 96, 3)
    for f in frames:
        assert f.std() > 10, "uniform frame: nothing rendered"
    # The knee bends over the clip: the frames must not all be the same picture.
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 0.5
    assert not list(tmp_path.glob(".short.*")), "temporary file left behind"
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask, "output should get the usual file permissions"


@pytest.mark.render
def test_robot_is_visible_in_the_frame():
    """A render with the robot differs from one with the robot moved away, around the image centre."""
    from mimic_lit.render.renderer import MotionRenderer

    spec = get_robot("g1")
    with MotionRenderer("g1", 80, 60, quality="fast") as renderer:
        lookat = np.array([0.0, 0.0, 0.6])
        with_robot = renderer.render(spec.default_pose, lookat, 2.5, 105.0, -12.0)
        away = spec.default_pose.copy()
        away[2] -= 50.0  # far under the floor
        empty = renderer.render(away, lookat, 2.5, 105.0, -12.0)
    diff = np.abs(with_robot.astype(int) - empty.astype(int)).sum(-1) > 30
    assert 0.03 < diff.mean() < 0.6, diff.mean()
    centre = diff[:, 25:55]
    assert centre.mean() > diff[:, :15].mean(), "robot not in the middle of the image"


@pytest.mark.render
def test_refuses_to_overwrite_without_flag(short_clip_file, tmp_path):
    out = tmp_path / "keep.gif"
    out.write_bytes(b"precious")
    proc = run_cli("view-motion", "--motion", str(short_clip_file), "--out", str(out), "--width", "32", "--height", "24")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "--overwrite" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert out.read_bytes() == b"precious"
    proc = run_cli("view-motion", "--motion", str(short_clip_file), "--out", str(out), "--width", "32", "--height", "24",
                   "--quality", "fast", "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:6] == b"GIF89a"


def test_output_checks_happen_before_loading(tmp_path):
    assert run_cli("view-motion", "--motion", "g1/kimodo_walk", "--out", str(tmp_path / "x.avi")).returncode == 2
    proc = run_cli("view-motion", "--motion", "g1/kimodo_walk", "--out", str(tmp_path / "x.mp4"),
                   "--width", "33", "--height", "24")
    assert proc.returncode == 2 and "even" in proc.stderr


def test_bad_gl_backend_is_one_line_error(short_clip_file, tmp_path):
    proc = run_cli("view-motion", "--motion", str(short_clip_file), "--out", str(tmp_path / "x.gif"),
                   env={"MUJOCO_GL": "bogus"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "MUJOCO_GL=bogus" in proc.stderr and "Traceback" not in proc.stderr


def test_gl_probe_reports_failures():
    from mimic_lit.render.gl import probe_backend

    reason = probe_backend("bogus")
    assert reason is not None and "bogus" in reason


def test_no_working_gl_backend_is_a_clear_error(monkeypatch):
    from mimic_lit.render import gl

    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(gl, "_chosen", None)
    monkeypatch.setattr(gl, "CANDIDATES", ("bogus1", "bogus2"))
    with pytest.raises(gl.RenderBackendError, match="no offscreen OpenGL backend works.*bogus1.*bogus2.*libosmesa6"):
        gl.ensure_gl_backend()
    assert "MUJOCO_GL" not in os.environ


@pytest.mark.render
def test_falls_back_to_osmesa_when_egl_is_broken():
    from mimic_lit.render.gl import probe_backend

    if probe_backend("osmesa") is not None:
        pytest.skip("OSMesa (libosmesa6) is not installed here")
    env = {k: v for k, v in os.environ.items() if k != "MUJOCO_GL"}
    env["__EGL_VENDOR_LIBRARY_FILENAMES"] = "/nonexistent/egl_vendor.json"  # glvnd finds no EGL driver
    code = "from mimic_lit.render.gl import ensure_gl_backend; print('BACKEND', ensure_gl_backend())"
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "BACKEND osmesa" in proc.stdout


# ------------------------------------------------------------------------------------ playback
def test_resampling_interpolates_and_slerps():
    from mimic_lit.render.playback import output_times, sample_qpos

    clip = standing_clip("g1", frames=3, fps=10.0)
    clip.root_quat[1] = [np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)]  # 90 deg yaw at t = 0.1 s
    clip.joint_pos[1, 0] = 1.0
    times = output_times(clip, 20.0)
    np.testing.assert_allclose(times, [0.0, 0.05, 0.1, 0.15, 0.2])
    q = sample_qpos(clip, times)
    np.testing.assert_allclose(q[1, 0], 0.01)  # halfway between 0 and 2 cm
    np.testing.assert_allclose(q[1, 7], 0.5 * (clip.joint_pos[0, 0] + 1.0))
    np.testing.assert_allclose(q[1, 3:7], [np.cos(np.pi / 8), 0, 0, np.sin(np.pi / 8)], atol=1e-12)  # 45 deg
    np.testing.assert_allclose(np.linalg.norm(q[:, 3:7], axis=1), 1.0)
    assert len(output_times(clip, 30.0, start=0.05, end=0.15)) == 4


# ------------------------------------------------------------------------------------ checks
def test_check_clean_clip():
    report = check_clip(standing_clip("g1", frames=10))
    assert report.num_frames == 10
    assert abs(report.lowest_point) < 0.01  # the default pose stands on the floor
    assert report.penetration_frames == 0 and report.penetration_depth < 0.01
    assert report.joint_limit_violations == 0 and report.worst_joint is None
    assert report.issues() == []


@pytest.mark.parametrize("robot", ["g1", "humanoid"])
def test_check_detects_known_penetration(robot):
    base = check_clip(standing_clip(robot))
    lowered = check_clip(standing_clip(robot, dz=-0.05))
    assert lowered.lowest_point == pytest.approx(base.lowest_point - 0.05, abs=1e-9)
    assert lowered.penetration_depth == pytest.approx(0.05 - base.lowest_point, abs=1e-9)
    assert 0.045 < lowered.penetration_depth < 0.055
    assert lowered.penetration_frames == 10 and lowered.penetration_pct == 100.0
    assert lowered.foot_height_min == pytest.approx(base.foot_height_min - 0.05, abs=1e-9)
    assert lowered.root_height_min == pytest.approx(base.root_height_min - 0.05)
    assert any("penetration" in issue for issue in lowered.issues())
    raised = check_clip(standing_clip(robot, dz=0.10))
    assert raised.penetration_frames == 0
    assert any("never touch" in issue for issue in raised.issues())


def test_check_detects_known_joint_limit_violation():
    spec = get_robot("g1")
    clip = standing_clip("g1", frames=10)
    j = list(spec.joint_names).index("left_knee_joint")
    upper = spec.joint_limits[j, 1]
    clip.joint_pos[3:6, j] = upper + 0.2
    clip.joint_pos[7, j] = upper + 0.1
    report = check_clip(clip)
    assert report.joint_limit_violations == 4
    assert report.joint_limit_frames == 4
    assert report.worst_joint == "left_knee_joint"
    assert report.worst_joint_excess == pytest.approx(0.2)
    assert report.worst_joint_frame in (3, 4, 5)
    assert report.violations_per_joint == {"left_knee_joint": 4}


@pytest.mark.parametrize("robot", ["g1", "humanoid", "t1"])
def test_lowest_point_matches_mujoco_contacts(robot):
    """Our per-geom lowest point agrees with MuJoCo's own collision distances against the floor."""
    import mujoco

    from mimic_lit.sim.scene import SceneConfig, build_scene

    spec = get_robot(robot)
    rng = np.random.default_rng(3)
    q = spec.default_pose.copy()
    lo, hi = spec.joint_limits.T
    q[7:] = np.clip(q[7:] + rng.normal(0, 0.3, q[7:].shape), lo, hi)
    yaw_pitch = np.array([np.cos(0.3), 0.1, 0.2, np.sin(0.3)])
    q[3:7] = yaw_pitch / np.linalg.norm(yaw_pitch)
    clip = MotionClip.from_qpos(q[None], fps=30.0, robot=robot)
    report = check_clip(clip)
    # Sink the robot 2 cm below the floor and ask MuJoCo for the deepest floor contact.
    q[2] -= report.lowest_point + 0.02
    model = build_scene(spec, SceneConfig(control_mode="pos", visual=False))
    model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_FILTERPARENT
    data = mujoco.MjData(model)
    data.qpos[:] = q
    mujoco.mj_forward(model, data)
    floor = [g for g in range(model.ngeom) if model.geom_bodyid[g] == 0 and model.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    dists = [c.dist for c in data.contact[: data.ncon] if c.geom1 in floor or c.geom2 in floor]
    assert dists, "no floor contact"
    assert min(dists) == pytest.approx(-0.02, abs=2e-4)


def test_kinematic_check_cli_prints_numbers(short_clip_file):
    proc = run_cli("view-motion", "--motion", str(short_clip_file), "--kinematic-check")
    assert proc.returncode == 0, proc.stderr
    for label in ("root height", "lowest foot point", "ground penetration", "joint-limit violations"):
        assert label in proc.stdout
    proc = run_cli("view-motion", "--motion", str(short_clip_file), "--kinematic-check", "--json")
    report = json.loads(proc.stdout)[0]
    assert report["num_frames"] == 10 and report["robot"] == "g1"
    assert report["penetration_depth"] >= 0 and report["joint_limit_violations"] == 0


def test_check_motion_strict_exit_code(tmp_path):
    bad = standing_clip("g1", dz=-0.05).save(tmp_path / "sunk.npz")
    good = standing_clip("g1").save(tmp_path / "good.npz")
    assert run_cli("check-motion", "--motion", str(good), "--strict").returncode == 0
    proc = run_cli("check-motion", "--motion", str(good), str(bad), "--strict")
    assert proc.returncode == 1
    assert "sunk" in proc.stdout and f"-{100 * PENETRATION_TOL:.0f} cm" in proc.stdout

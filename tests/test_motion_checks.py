"""The motion quality report: foot sliding in stance, velocity spikes, self-collisions, floating,
thresholds and the check-motion exit code and plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mimic_lit.cli import main
from mimic_lit.motion.checks import CheckThresholds, check_clip
from mimic_lit.motion.clip import MotionClip
from mimic_lit.robots import get_robot


def standing(frames: int = 31, drift_speed: float = 0.0, dz: float = 0.0) -> MotionClip:
    """The G1's default pose at 30 fps, its root drifting forward at ``drift_speed`` m/s."""
    spec = get_robot("g1")
    q = np.repeat(spec.default_pose[None], frames, axis=0)
    q[:, 0] = drift_speed * np.arange(frames) / 30.0
    q[:, 2] += dz
    return MotionClip.from_qpos(q, fps=30.0, robot="g1", name="stand")


def test_feet_sliding_while_standing_is_measured_per_stance_phase():
    still = check_clip(standing())
    assert still.stance_phases == 2 and still.foot_slide_max < 1e-9 and still.passed, still.issues()
    sliding = check_clip(standing(drift_speed=0.1))  # both feet planted, 10 cm/s: 10 cm over the second
    assert sliding.stance_phases == 2
    assert sliding.foot_slide_mean == pytest.approx(0.1, abs=0.005)
    assert any("feet slide" in issue for issue in sliding.issues())
    lenient = check_clip(standing(drift_speed=0.1), thresholds=CheckThresholds(foot_slide=0.2))
    assert lenient.passed


def test_a_frame_jump_is_a_velocity_spike():
    clip = standing(frames=10)
    knee = list(get_robot("g1").joint_names).index("left_knee_joint")
    clip.joint_pos[5, knee] += 1.5  # 45 rad/s into the frame and out of it
    report = check_clip(clip)
    assert report.speed_spike_frames == 2 and report.max_joint_speed == pytest.approx(45.0, rel=1e-6)
    assert any("velocity spikes" in issue for issue in report.issues())


def test_an_arm_inside_the_torso_is_a_self_collision():
    clip = standing(frames=5)
    roll = list(get_robot("g1").joint_names).index("left_shoulder_roll_joint")
    clip.joint_pos[2:4, roll] = -0.6  # the upper arm swings into the torso
    report = check_clip(clip)
    assert report.self_collision_frames == 2 and report.self_collision_depth > 0.05
    assert set(report.self_collision_pair) == {"torso_link", "left_shoulder_yaw_link"}
    assert check_clip(standing(frames=5)).self_collision_frames == 0


def test_a_hovering_clip_floats():
    report = check_clip(standing(dz=0.03))
    assert report.float_height == pytest.approx(0.03, abs=0.005)
    assert any("float" in issue for issue in report.issues())


def test_check_motion_exit_code_thresholds_and_plot(tmp_path: Path):
    good = standing().save(tmp_path / "good.npz")
    slide = standing(drift_speed=0.1).save(tmp_path / "slide.npz")
    assert main(["check-motion", "--motion", str(good)]) == 0
    assert main(["check-motion", "--motion", str(good), str(slide)]) == 1  # a failing clip fails the command
    assert main(["check-motion", "--in", str(slide)]) == 1  # --in, as retarget and clean-motion spell it
    assert main(["check-motion", "--motion", str(slide), "--max-foot-slide", "0.2"]) == 0
    assert main(["check-motion", "--motion", str(slide), "--report-only"]) == 0
    assert main(["check-motion", "--motion", str(slide), "--plot", str(tmp_path / "plots"), "--report-only"]) == 0
    png = tmp_path / "plots" / "g1_slide.png"
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] > 400 and im.size[1] > 300

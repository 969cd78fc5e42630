"""clean-motion: feet put on the floor and locked in stance, limits clamped, trimming, the command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mimic_lit.cli import main
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.checks import check_clip
from mimic_lit.motion.clean import CleanConfig, clean_clip
from mimic_lit.motion.clip import MotionClip
from mimic_lit.robots import get_robot


def standing(frames: int = 31, drift_speed: float = 0.0, dz: float = 0.0) -> MotionClip:
    spec = get_robot("g1")
    q = np.repeat(spec.default_pose[None], frames, axis=0)
    q[:, 0] = drift_speed * np.arange(frames) / 30.0
    q[:, 2] += dz
    return MotionClip.from_qpos(q, fps=30.0, robot="g1", name="stand")


def test_a_sunk_sliding_stance_is_lifted_onto_the_floor_and_locked():
    bad = standing(drift_speed=0.1, dz=-0.03)
    before = check_clip(bad)
    assert before.penetration_depth > 0.02 and before.foot_slide_mean > 0.09
    after = check_clip(clean_clip(bad))
    assert after.penetration_depth < 1e-3 and after.float_height < 2e-3
    assert after.foot_slide_mean < 0.005
    assert after.passed, after.issues()


def test_limits_are_clamped_and_trimming_cuts_frames():
    clip = standing(frames=30)
    knee = list(get_robot("g1").joint_names).index("left_knee_joint")
    clip.joint_pos[10, knee] = 5.0  # far past the knee's range
    cleaned = clean_clip(clip, CleanConfig(trim_start=0.1, trim_end=0.2, foot_lock=False))
    assert cleaned.num_frames == 30 - 3 - 6
    assert check_clip(cleaned).joint_limit_violations == 0
    assert clip.joint_pos[10, knee] == 5.0  # the input is not changed
    with pytest.raises(MimicLitError, match="leaves"):
        clean_clip(clip, CleanConfig(trim_start=0.5, trim_end=0.5))


def test_clean_motion_command_writes_clips_and_a_before_after_report(tmp_path: Path):
    src = tmp_path / "raw"
    src.mkdir()
    standing(drift_speed=0.1, dz=-0.03).save(src / "bad.npz")
    out, report = tmp_path / "clean", tmp_path / "report.json"
    assert main(["clean-motion", "--in", str(src), "--out", str(out), "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data[0]["clip"] == "bad" and not data[0]["before"]["passed"] and data[0]["after"]["passed"]
    assert check_clip(MotionClip.load(out / "bad.npz")).passed
    assert main(["clean-motion", "--in", str(src), "--out", str(out)]) == 2  # outputs exist

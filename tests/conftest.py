"""Shared test fixtures: small clips built from robot specs, tmp paths, fixed seeds."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def g1_clip(rng):
    """A 20-frame G1 clip: default pose with small random joint motion, walking forward slowly."""
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.robots import get_robot

    robot = get_robot("g1")
    q = np.repeat(robot.default_pose[None], 20, axis=0)
    q[:, 0] = np.linspace(0.0, 0.5, 20)
    q[:, 7:] += rng.normal(0.0, 0.05, size=q[:, 7:].shape)
    return MotionClip.from_qpos(q, fps=30.0, robot="g1", name="synthetic", joint_names=robot.joint_names)

"""Robot specs: every shipped robot compiles from package data and its tables are consistent."""

from __future__ import annotations

import itertools

import mujoco
import numpy as np
import pytest

from mimic_lit.errors import UnknownRobotError
from mimic_lit.robots import get_robot, robot_names
from mimic_lit.robots.spec import ROBOT_DATA_DIR
from mimic_lit.sim.scene import SceneConfig, build_scene

EXPECTED = {"humanoid": 28, "g1": 29, "k1": 22, "t1": 23}


def test_registry_lists_the_four_robots():
    assert robot_names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_spec_tables(name):
    robot = get_robot(name)
    n = EXPECTED[name]
    assert robot.num_joints == n and robot.num_joint_coords == n and robot.num_dofs == n
    assert robot.kp.shape == (n,) and (robot.kp > 0).all() and (robot.kd > 0).all()
    assert robot.effort_limit.shape == (n,) and np.isfinite(robot.effort_limit).all() and (robot.effort_limit > 0).all()
    robot.body_ids(robot.key_bodies + robot.contact_bodies + robot.foot_bodies)
    pose = robot.default_pose
    assert pose.shape == (7 + n,)
    lo, hi = robot.joint_limits.T
    assert ((pose[7:] >= lo - 1e-9) & (pose[7:] <= hi + 1e-9)).all(), "default pose outside joint limits"
    # the asset ships inside the package, with its licence beside it
    assert robot.mjcf_path.is_relative_to(ROBOT_DATA_DIR)
    assert any(p.name.upper().startswith("LICENSE") for p in robot.mjcf_path.parent.iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_default_pose_has_feet_on_the_floor(name):
    """The default root height puts the lowest corner of the foot collision geoms within 1.5 cm of z=0."""
    robot = get_robot(name)
    model = robot.model
    data = mujoco.MjData(model)
    data.qpos[:] = robot.default_pose
    mujoco.mj_kinematics(model, data)
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))
    lowest = np.inf
    for b in robot.body_ids(robot.foot_bodies):
        for g in np.flatnonzero((model.geom_bodyid == b) & ((model.geom_contype | model.geom_conaffinity) > 0)):
            corners = model.geom_aabb[g, :3] + signs * model.geom_aabb[g, 3:]
            world = data.geom_xpos[g] + corners @ data.geom_xmat[g].reshape(3, 3).T
            lowest = min(lowest, world[:, 2].min())
    assert abs(lowest) < 0.015, lowest


def test_unknown_robot_is_one_line():
    with pytest.raises(UnknownRobotError) as exc:
        get_robot("asimo")
    msg = str(exc.value)
    assert "\n" not in msg and "asimo" in msg and "g1" in msg


@pytest.mark.parametrize("mode", ["pos", "vel", "torque", "none"])
def test_scene_control_modes(mode):
    model = build_scene("humanoid", SceneConfig(control_mode=mode))
    assert model.nu == (0 if mode == "none" else 28)
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    # PD gains live in actuators only: no passive joint springs left over from the MJCF
    assert np.all(model.jnt_stiffness == 0) and np.all(model.dof_damping == 0)
    floors = [g for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    assert len(floors) == 1


def test_k1_keeps_its_own_ground_plane():
    model = build_scene("k1")
    floors = [g for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    assert len(floors) == 1


def test_humanoid_holds_default_pose_under_pd():
    robot = get_robot("humanoid")
    model = build_scene(robot)
    data = mujoco.MjData(model)
    data.qpos[:] = robot.default_pose
    data.ctrl[:] = robot.default_pose[7:]
    mujoco.mj_step(model, data, int(1.0 / model.opt.timestep))
    assert np.isfinite(data.qpos).all()
    assert data.qpos[2] > 0.8  # still standing after 1 s
    assert np.abs(data.qpos[7:] - robot.default_pose[7:]).max() < 0.1

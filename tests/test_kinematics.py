"""Skeleton parsing, forward kinematics and body velocities checked against MuJoCo itself."""

from __future__ import annotations


import mujoco
import numpy as np
import pytest
import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.kinematics import (
    body_velocities,
    clip_velocities,
    forward_kinematics,
    forward_kinematics_with_velocities,
)
from mimic_lit.motion.shipped import shipped_clip_paths
from mimic_lit.motion.skeleton import JointType, Skeleton
from mimic_lit.robots import get_robot
from mimic_lit.rotations import quat_rotate

ROBOTS = ["humanoid", "g1", "k1", "t1"]

# Every joint feature the FK must handle: 3 hinges in one body (one with ref), off-centre anchors,
# ball joints (one after a slide in the same body), slides with ref, a fixed body, childclass
# defaults, euler / axisangle / quat body frames.
GENERAL_MJCF = """
<mujoco model="general">
  <compiler angle="radian"/>
  <default><default class="arm"><joint axis="0 1 0" range="-1 1"/></default></default>
  <worldbody>
    <body name="root" pos="0 0 1" euler="0.1 0.2 0.3">
      <freejoint/>
      <geom type="sphere" size="0.1"/>
      <body name="a" pos="0.1 0.2 -0.1" quat="0.9 0.1 0.3 0.2" childclass="arm">
        <joint name="a1" type="hinge" axis="1 0 0" pos="0.05 0 0.02"/>
        <joint name="a2" type="hinge" pos="0 0.03 0" ref="0.4"/>
        <joint name="a3" type="hinge" axis="0.3 0.4 0.5"/>
        <geom type="capsule" size="0.03" fromto="0 0 0 0 0 -0.3"/>
        <body name="b" pos="0 0 -0.3" euler="0.5 0 0">
          <joint name="bb" type="ball" pos="0.01 0.02 0.03" range="0 1"/>
          <geom type="sphere" size="0.05"/>
          <body name="c" pos="0.1 0 0">
            <joint name="cs" type="slide" axis="0 0 1" ref="0.05"/>
            <joint name="ch" type="hinge" axis="0 1 1" pos="0.02 0 0"/>
            <geom type="sphere" size="0.05"/>
            <body name="fixed" pos="0.2 0.1 0" axisangle="0 0 1 0.7"><geom type="sphere" size="0.02"/></body>
          </body>
        </body>
      </body>
      <body name="d" pos="-0.1 0 0">
        <joint name="dball" type="ball"/>
        <geom type="sphere" size="0.05"/>
        <body name="e" pos="0 0 -0.2">
          <joint name="es" type="slide" axis="1 0 0" pos="0.1 0.1 0.1"/>
          <joint name="eb" type="ball" pos="0 0.1 0"/>
          <geom type="sphere" size="0.05"/>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


@pytest.fixture(scope="module")
def general(tmp_path_factory) -> tuple[Skeleton, mujoco.MjModel]:
    path = tmp_path_factory.mktemp("mjcf") / "general.xml"
    path.write_text(GENERAL_MJCF)
    return Skeleton.from_mjcf(path), mujoco.MjModel.from_xml_path(str(path))


def _model(robot: str) -> mujoco.MjModel:
    return get_robot(robot).model


def random_qpos(skel: Skeleton, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 7 + D) poses: random root, every joint uniform within its limits (ball: random rotation)."""
    q = np.zeros((n, 7 + skel.num_joint_coords))
    q[:, :3] = rng.normal(0, 1, (n, 3))
    quat = rng.normal(size=(n, 4))
    q[:, 3:7] = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    for j in skel.joints:
        col = 7 + j.qpos_adr
        if j.type == JointType.BALL:
            b = rng.normal(size=(n, 4))
            q[:, col : col + 4] = b / np.linalg.norm(b, axis=1, keepdims=True)
        else:
            lo, hi = j.range if j.range is not None else (-np.pi, np.pi)
            q[:, col] = rng.uniform(lo, hi, n)
    return q


def mujoco_bodies(model: mujoco.MjModel, qpos: np.ndarray, qvel: np.ndarray | None = None):
    """xpos, xquat (and world angular/linear velocity of each body origin) from MuJoCo, per row."""
    data = mujoco.MjData(model)
    n, nb = len(qpos), model.nbody - 1
    pos, quat = np.empty((n, nb, 3)), np.empty((n, nb, 4))
    ang, lin = np.empty((n, nb, 3)), np.empty((n, nb, 3))
    res = np.zeros(6)
    for i in range(n):
        data.qpos[:] = qpos[i]
        if qvel is None:
            mujoco.mj_kinematics(model, data)
        else:
            data.qvel[:] = qvel[i]
            mujoco.mj_kinematics(model, data)
            mujoco.mj_comPos(model, data)
            mujoco.mj_comVel(model, data)
            for b in range(1, model.nbody):
                mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, b, res, 0)
                ang[i, b - 1], lin[i, b - 1] = res[:3], res[3:]
        pos[i], quat[i] = data.xpos[1:], data.xquat[1:]
    return (pos, quat) if qvel is None else (pos, quat, lin, ang)


def fk_np(skel: Skeleton, qpos: np.ndarray, dtype=torch.float64):
    q = torch.as_tensor(qpos, dtype=dtype)
    p, r = forward_kinematics(skel, q[:, :3], q[:, 3:7], q[:, 7:])
    return p.double().numpy(), r.double().numpy()


def quat_err(a: np.ndarray, b: np.ndarray) -> float:
    """Largest rotation difference proxy: 1 - |<a, b>| (q and -q are the same rotation)."""
    return float((1.0 - np.abs((a * b).sum(-1))).max())


# --------------------------------------------------------------------------------------- skeleton
@pytest.mark.parametrize("robot", ROBOTS)
def test_skeleton_matches_robot(robot):
    spec = get_robot(robot)
    skel = Skeleton.from_robot(robot)
    assert Skeleton.from_robot(spec) is skel  # cached
    assert skel.body_names == spec.body_names
    assert skel.joint_names == spec.joint_names
    assert skel.num_joint_coords == spec.num_joint_coords
    assert skel.num_joint_dofs == spec.num_dofs
    assert skel.root_body == spec.root_body and skel.parents[0] == -1
    # parents come before children; levels group bodies by depth
    assert all(skel.parents[b] < b for b in range(1, skel.num_bodies))
    for d, level in enumerate(skel.levels):
        assert all(skel.depth[b] == d for b in level)
        if d:
            assert all(skel.depth[skel.parents[b]] == d - 1 for b in level)
    assert sorted(np.concatenate(skel.levels).tolist()) == list(range(skel.num_bodies))
    cols = np.concatenate([np.arange(s.start, s.stop) for s in skel.joint_qpos_slices])
    assert cols.tolist() == list(range(skel.num_joint_coords))
    for name in spec.key_bodies:
        assert skel.body_names[skel.body_index(name)] == name
        assert skel.body_index(name) == spec.body_ids([name])[0] - 1


def test_skeleton_humanoid_layout():
    skel = Skeleton.from_robot("humanoid")
    assert skel.max_joints_per_body == 3  # spherical joints as 3 hinges
    fixed = {skel.body_names[b] for b in np.flatnonzero(skel.is_fixed)}
    assert fixed == {"right_hand", "left_hand"}
    assert all(j.type == JointType.HINGE for j in skel.joints)


def test_skeleton_general_joints(general):
    skel, model = general
    types = [j.type for j in skel.joints]
    assert types.count(JointType.BALL) == 3 and types.count(JointType.SLIDE) == 2
    assert skel.joints[skel.joint_index("a2")].qpos0 == pytest.approx(0.4)
    assert skel.joints[skel.joint_index("a2")].axis == pytest.approx((0.0, 1.0, 0.0))  # from childclass
    assert skel.joints[skel.joint_index("a1")].anchor == pytest.approx((0.05, 0.0, 0.02))
    assert skel.num_joint_coords == model.nq - 7 and skel.num_joint_dofs == model.nv - 6
    assert skel.is_fixed[skel.body_index("fixed")] and not skel.is_fixed[skel.body_index("c")]
    assert skel.ball_coord_columns.shape == (3, 4)


def test_skeleton_errors(tmp_path):
    with pytest.raises(MimicLitError, match="not found"):
        Skeleton.from_mjcf(tmp_path / "missing.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body><joint type='nonsense'/></body></worldbody></mujoco>")
    with pytest.raises(MimicLitError, match="cannot compile"):
        Skeleton.from_mjcf(bad)
    fixed_base = tmp_path / "arm.xml"
    fixed_base.write_text(
        "<mujoco><worldbody><body name='a'><joint type='hinge'/><geom size='0.1'/></body></worldbody></mujoco>"
    )
    with pytest.raises(MimicLitError, match="free joint"):
        Skeleton.from_mjcf(fixed_base)
    with pytest.raises(MimicLitError, match="no body 'nose'"):
        Skeleton.from_robot("g1").body_index("nose")
    skel = Skeleton.from_robot("g1")
    with pytest.raises(MimicLitError, match="columns"):
        forward_kinematics(skel, torch.zeros(1, 3), torch.zeros(1, 4), torch.zeros(1, 5))


# --------------------------------------------------------------------------------------- forward kinematics
@pytest.mark.parametrize("robot", ROBOTS)
def test_fk_matches_mujoco_on_shipped_clips(robot):
    paths = shipped_clip_paths(robot)
    if not paths:
        pytest.skip(f"no shipped clips for {robot}")
    skel, model = Skeleton.from_robot(robot), _model(robot)
    worst_pos, worst_quat, frames = 0.0, 0.0, 0
    for path in paths:
        qpos = MotionClip.load(path, get_robot(robot)).qpos
        ref_pos, ref_quat = mujoco_bodies(model, qpos)
        pos, quat = fk_np(skel, qpos)
        worst_pos = max(worst_pos, float(np.abs(pos - ref_pos).max()))
        worst_quat = max(worst_quat, quat_err(quat, ref_quat))
        frames += len(qpos)
    assert worst_pos < 1e-5, f"{robot}: FK differs from mj_kinematics by {worst_pos:.2e} m over {frames} frames"
    assert worst_quat < 1e-10


@pytest.mark.parametrize("robot", ROBOTS)
def test_fk_matches_mujoco_on_random_poses(robot):
    skel, model = Skeleton.from_robot(robot), _model(robot)
    qpos = random_qpos(skel, 64, np.random.default_rng(1))
    ref_pos, ref_quat = mujoco_bodies(model, qpos)
    pos, quat = fk_np(skel, qpos)
    assert np.abs(pos - ref_pos).max() < 1e-9
    assert quat_err(quat, ref_quat) < 1e-12
    pos32, quat32 = fk_np(skel, qpos, torch.float32)
    assert np.abs(pos32 - ref_pos).max() < 1e-5
    assert quat_err(quat32, ref_quat) < 1e-5


def test_fk_general_joints_match_mujoco(general):
    skel, model = general
    qpos = random_qpos(skel, 64, np.random.default_rng(2))
    ref_pos, ref_quat = mujoco_bodies(model, qpos)
    pos, quat = fk_np(skel, qpos)
    assert np.abs(pos - ref_pos).max() < 1e-9
    assert quat_err(quat, ref_quat) < 1e-12


def test_fk_batch_shapes_and_gradients(general):
    skel, _ = general
    qpos = torch.as_tensor(random_qpos(skel, 6, np.random.default_rng(4)))
    flat_pos, flat_quat = forward_kinematics(skel, qpos[:, :3], qpos[:, 3:7], qpos[:, 7:])
    q = qpos.reshape(2, 3, -1)
    pos, quat = forward_kinematics(skel, q[..., :3], q[..., 3:7], q[..., 7:])
    assert pos.shape == (2, 3, skel.num_bodies, 3) and quat.shape == (2, 3, skel.num_bodies, 4)
    torch.testing.assert_close(pos.reshape(6, -1, 3), flat_pos)
    one_pos, _ = forward_kinematics(skel, qpos[0, :3], qpos[0, 3:7], qpos[0, 7:])
    assert one_pos.shape == (skel.num_bodies, 3)
    torch.testing.assert_close(one_pos, flat_pos[0])

    root = qpos[:2, :3].clone().requires_grad_(True)
    joints = qpos[:2, 7:].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda r, j: forward_kinematics(skel, r, qpos[:2, 3:7], j), (root, joints), fast_mode=True
    )


# --------------------------------------------------------------------------------------- velocities
def _velocity_case(skel: Skeleton, model: mujoco.MjModel, seed: int, n: int = 24):
    rng = np.random.default_rng(seed)
    qpos = random_qpos(skel, n, rng)
    qvel = rng.normal(0, 2.0, (n, model.nv))
    ref = mujoco_bodies(model, qpos, qvel)
    q, v = torch.as_tensor(qpos), torch.as_tensor(qvel)
    # MuJoCo's free-joint angular velocity is in the root frame; ours is world-frame.
    root_ang_world = quat_rotate(q[:, 3:7], v[:, 3:6])
    state = forward_kinematics_with_velocities(skel, q[:, :3], q[:, 3:7], q[:, 7:], v[:, :3], root_ang_world, v[:, 6:])
    return ref, state


@pytest.mark.parametrize("robot", ROBOTS)
def test_body_velocities_match_mujoco(robot):
    skel, model = Skeleton.from_robot(robot), _model(robot)
    (ref_pos, _, ref_lin, ref_ang), state = _velocity_case(skel, model, seed=5)
    assert np.abs(state.pos.numpy() - ref_pos).max() < 1e-9
    assert np.abs(state.lin_vel.numpy() - ref_lin).max() < 1e-6
    assert np.abs(state.ang_vel.numpy() - ref_ang).max() < 1e-6


def test_body_velocities_general_joints_match_mujoco(general):
    skel, model = general
    (_, _, ref_lin, ref_ang), state = _velocity_case(skel, model, seed=6)
    assert np.abs(state.lin_vel.numpy() - ref_lin).max() < 1e-6
    assert np.abs(state.ang_vel.numpy() - ref_ang).max() < 1e-6
    q = torch.as_tensor(random_qpos(skel, 2, np.random.default_rng(7)))
    zero3 = torch.zeros(2, 3, dtype=torch.float64)
    lin, ang = body_velocities(
        skel, q[:, :3], q[:, 3:7], q[:, 7:], zero3, zero3, torch.zeros(2, skel.num_joint_dofs, dtype=torch.float64)
    )
    assert lin.abs().max() == 0 and ang.abs().max() == 0  # at rest


def _smooth_clip(skel: Skeleton, fps: float, n: int):
    """A smooth analytic motion: root translating and spinning about z, joints as sines."""
    t = torch.arange(n, dtype=torch.float64) / fps
    root_pos = torch.stack([0.8 * t, 0.1 * torch.sin(t), 0.9 + 0.05 * torch.cos(2 * t)], -1)
    yaw = 0.7 * t
    root_quat = torch.stack([torch.cos(yaw / 2), 0 * t, 0 * t, torch.sin(yaw / 2)], -1)
    joint_pos = torch.zeros(n, skel.num_joint_coords, dtype=torch.float64)
    for k, j in enumerate(skel.joints):
        if j.type == JointType.BALL:
            half = 0.5 * 0.4 * torch.sin(t + k)  # rotation about a fixed axis
            axis = torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64) / 3.0
            joint_pos[:, j.qpos_adr] = torch.cos(half)
            joint_pos[:, j.qpos_adr + 1 : j.qpos_adr + 4] = axis * torch.sin(half)[:, None]
        else:
            joint_pos[:, j.qpos_adr] = 0.3 * torch.sin(1.5 * t + k)
    return t, root_pos, root_quat, joint_pos


def test_clip_velocities_are_consistent_with_exact_velocities(general):
    skel, _ = general
    fps = 240.0
    t, root_pos, root_quat, joint_pos = _smooth_clip(skel, fps, 200)
    vel = clip_velocities(skel, root_pos, root_quat, joint_pos, fps, bodies=True)
    inner = slice(1, -1)
    # analytic root velocities
    expected_lin = torch.stack([0.8 + 0 * t, 0.1 * torch.cos(t), -0.1 * torch.sin(2 * t)], -1)
    torch.testing.assert_close(vel.root_lin_vel[inner], expected_lin[inner], atol=1e-4, rtol=0)
    spin = torch.tensor([0, 0, 0.7], dtype=torch.float64).expand(198, 3)
    torch.testing.assert_close(vel.root_ang_vel[inner], spin, atol=1e-9, rtol=0)
    # differenced body velocities agree with the exact twist propagation fed with differenced joint rates
    state = forward_kinematics_with_velocities(
        skel, root_pos, root_quat, joint_pos, vel.root_lin_vel, vel.root_ang_vel, vel.joint_vel
    )
    torch.testing.assert_close(vel.body_lin_vel[inner], state.lin_vel[inner], atol=2e-4, rtol=0)
    torch.testing.assert_close(vel.body_ang_vel[inner], state.ang_vel[inner], atol=2e-4, rtol=0)
    # ends use one-sided differences: still close at 240 fps
    torch.testing.assert_close(vel.root_lin_vel[[0, -1]], expected_lin[[0, -1]], atol=2e-3, rtol=0)


def test_clip_velocities_do_not_cross_clip_boundaries():
    skel = Skeleton.from_robot("k1")
    _, rp, rq, jp = _smooth_clip(skel, 30.0, 12)
    a = clip_velocities(skel, rp[:7], rq[:7], jp[:7], 30.0)
    b = clip_velocities(skel, rp[7:] + 5.0, rq[7:], jp[7:], 60.0)
    one = clip_velocities(skel, rp[:11], rq[:11], jp[:11], 1.0, lengths=[1, 10])
    assert one.root_lin_vel[0].abs().max() == 0  # a one-frame clip is at rest
    both = clip_velocities(
        skel, torch.cat([rp[:7], rp[7:] + 5.0]), rq, jp, torch.tensor([30.0, 60.0]), lengths=[7, 5]
    )
    torch.testing.assert_close(both.root_lin_vel, torch.cat([a.root_lin_vel, b.root_lin_vel]))
    torch.testing.assert_close(both.joint_vel, torch.cat([a.joint_vel, b.joint_vel]))
    with pytest.raises(MimicLitError, match="add up"):
        clip_velocities(skel, rp, rq, jp, 30.0, lengths=[3, 3])

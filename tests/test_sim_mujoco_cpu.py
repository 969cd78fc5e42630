"""MujocoCPU backend on real MuJoCo: shapes, resets, kinematics, control modes, contacts,
divergence handling and determinism."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.rotations import quat_rotate
from mimic_lit.sim import base as sim_base
from mimic_lit.sim.base import SimConfig, SimConfigError, Simulator, compute_substeps, make_simulator
from mimic_lit.sim.mujoco_cpu import MujocoCPU

ROBOTS = ("humanoid", "g1", "k1", "t1")

GETTERS = {  # name -> shape given (N, nq, D, B)
    "root_pos": lambda n, nq, d, b: (n, 3),
    "root_quat": lambda n, nq, d, b: (n, 4),
    "root_lin_vel": lambda n, nq, d, b: (n, 3),
    "root_ang_vel": lambda n, nq, d, b: (n, 3),
    "joint_pos": lambda n, nq, d, b: (n, nq - 7),
    "joint_vel": lambda n, nq, d, b: (n, d),
    "qpos": lambda n, nq, d, b: (n, nq),
    "qvel": lambda n, nq, d, b: (n, d + 6),
    "body_pos": lambda n, nq, d, b: (n, b, 3),
    "body_quat": lambda n, nq, d, b: (n, b, 4),
    "body_lin_vel": lambda n, nq, d, b: (n, b, 3),
    "body_ang_vel": lambda n, nq, d, b: (n, b, 3),
    "contact_forces": lambda n, nq, d, b: (n, b, 3),
    "joint_torque": lambda n, nq, d, b: (n, d),
}


@pytest.fixture(autouse=True)
def _tmp_cwd(tmp_path, monkeypatch):
    """Run in a temporary directory: MuJoCo would write MUJOCO_LOG.TXT into the working directory."""
    monkeypatch.chdir(tmp_path)


def make(robot: str = "g1", n: int = 4, **kw) -> MujocoCPU:
    return MujocoCPU(SimConfig(robot=robot, num_envs=n, **kw))


def default_actions(sim: MujocoCPU) -> torch.Tensor:
    return torch.as_tensor(sim.robot.default_pose[7:], dtype=torch.float64).repeat(sim.num_envs, 1)


def noisy_actions(sim: MujocoCPU, gen: torch.Generator, scale: float = 0.3) -> torch.Tensor:
    return default_actions(sim) + scale * torch.randn((sim.num_envs, sim.num_dofs), generator=gen, dtype=torch.float64)


# ---------------------------------------------------------------------------- construction
def test_factory_returns_a_simulator():
    sim = make_simulator(SimConfig(robot="humanoid", num_envs=2))
    assert isinstance(sim, MujocoCPU) and isinstance(sim, Simulator)
    assert sim.substeps == 4 and sim.control_dt == pytest.approx(1 / 30) and sim.sim_dt == pytest.approx(1 / 120)
    assert sim.body_names == sim.robot.body_names and sim.num_bodies == len(sim.body_names)
    assert sim.joint_names == sim.robot.joint_names


def test_factory_errors_are_one_clear_line(monkeypatch):
    with pytest.raises(SimConfigError, match="unknown simulator backend 'bullet'.*mujoco_cpu"):
        make_simulator(SimConfig(backend="bullet"))
    monkeypatch.setitem(sim_base._BACKENDS, "fake_gpu", ("mimic_lit.sim._no_such_module", "X", "pip install fake"))
    with pytest.raises(SimConfigError, match="not available.*pip install fake"):
        make_simulator(SimConfig(backend="fake_gpu"))
    assert issubclass(SimConfigError, MimicLitError)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(control_dt=0.02, sim_dt=0.003), "not an integer multiple"),
        (dict(num_envs=0), "num_envs"),
        (dict(control_mode="pd"), "control_mode"),
        (dict(dtype="float16"), "dtype"),
        (dict(robot="r2d2"), "unknown robot"),
    ],
)
def test_bad_config(kw, match):
    with pytest.raises(MimicLitError, match=match):
        MujocoCPU(SimConfig(**{"robot": "humanoid", **kw}))


def test_substeps():
    assert compute_substeps(0.02, 0.005) == 4
    assert compute_substeps(1 / 30, 1 / 120) == 4
    assert compute_substeps(0.01, 0.01) == 1
    with pytest.raises(SimConfigError):
        compute_substeps(0.02, 0.0)


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("robot", ROBOTS)
def test_getter_shapes_and_dtypes(robot):
    sim = make(robot, n=3)
    sim.step(default_actions(sim))
    n, nq, d, b = 3, 7 + sim.robot.num_joint_coords, sim.num_dofs, sim.num_bodies
    assert b == len(sim.robot.body_names) and d == sim.robot.num_dofs
    for name, shape in GETTERS.items():
        t = getattr(sim, name)
        assert tuple(t.shape) == shape(n, nq, d, b), name
        assert t.dtype == torch.float32 and t.device == torch.device("cpu"), name
        assert torch.isfinite(t).all(), name
    for name in ("ground_contact", "diverged"):
        t = getattr(sim, name)
        assert t.dtype == torch.bool
    assert sim.ground_contact.shape == (n, b) and sim.diverged.shape == (n,)
    assert sim.diverged_count == 0
    assert torch.allclose(sim.root_quat.norm(dim=-1), torch.ones(n), atol=1e-5)


def test_float64_and_snapshots():
    sim = make("humanoid", n=2, dtype="float64")
    assert sim.root_pos.dtype == torch.float64 and sim.body_quat.dtype == torch.float64
    before = sim.body_pos
    before_copy = before.clone()
    sim.step(default_actions(sim) + 0.5)
    assert torch.equal(before, before_copy), "a tensor returned before a step must not change"
    assert not torch.equal(sim.body_pos, before)


# ---------------------------------------------------------------------------- reset
def test_reset_sets_exactly_the_given_state_and_nothing_else():
    sim = make("g1", n=5, dtype="float64")
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        sim.step(noisy_actions(sim, gen))
    qpos0, qvel0, body0 = sim.qpos.clone(), sim.qvel.clone(), sim.body_pos.clone()
    ids = torch.tensor([3, 0])  # unsorted on purpose
    rng = np.random.default_rng(1)
    qpos = np.tile(sim.robot.default_pose, (2, 1))
    qpos[:, :3] += rng.normal(0, 0.1, (2, 3))
    quat = rng.normal(size=(2, 4))
    qpos[:, 3:7] = quat / np.linalg.norm(quat, axis=1, keepdims=True)
    qpos[:, 7:] += rng.normal(0, 0.1, (2, sim.num_dofs))
    qvel = rng.normal(0, 0.5, (2, sim.num_dofs + 6))
    sim.reset(ids, torch.from_numpy(qpos), torch.from_numpy(qvel))
    assert torch.equal(sim.qpos[ids], torch.from_numpy(qpos))
    assert torch.equal(sim.qvel[ids], torch.from_numpy(qvel))
    assert torch.equal(sim.root_pos[ids], torch.from_numpy(qpos[:, :3]))
    assert torch.equal(sim.joint_vel[ids], torch.from_numpy(qvel[:, 6:]))
    others = [1, 2, 4]
    assert torch.equal(sim.qpos[others], qpos0[others]) and torch.equal(sim.qvel[others], qvel0[others])
    assert torch.equal(sim.body_pos[others], body0[others])
    # contacts and torques of freshly reset envs read as zero until the next step
    assert not sim.ground_contact[ids].any() and (sim.joint_torque[ids] == 0).all()
    # qvel=None means zero velocity
    sim.reset(torch.tensor([2]), torch.from_numpy(qpos[:1]))
    assert (sim.qvel[2] == 0).all()


def test_reset_rejects_bad_input():
    sim = make("humanoid", n=3)
    q = torch.as_tensor(sim.robot.default_pose).repeat(2, 1)
    with pytest.raises(SimConfigError, match="repeat"):
        sim.reset(torch.tensor([1, 1]), q)
    with pytest.raises(SimConfigError, match=r"lie in \[0, 3\)"):
        sim.reset(torch.tensor([1, 3]), q)
    with pytest.raises(SimConfigError, match="qpos must have shape"):
        sim.reset(torch.tensor([0, 1]), q[:, :-1])
    with pytest.raises(SimConfigError, match="qvel must have shape"):
        sim.reset(torch.tensor([0, 1]), q, torch.zeros(2, 3))
    with pytest.raises(SimConfigError, match="integer index"):
        sim.reset(torch.tensor([True, False, True]), q)
    with pytest.raises(SimConfigError, match="actions must have shape"):
        sim.step(torch.zeros(3, 5))
    sim.reset(torch.tensor([], dtype=torch.long), q[:0])  # no-op


def test_reading_after_reset_does_not_change_the_trajectory():
    """Body outputs of reset envs are computed lazily; whether they were read must not matter."""

    def run(read: bool, nthread: int) -> list[torch.Tensor]:
        sim = make("g1", n=6, dtype="float64", nthread=nthread)
        gen = torch.Generator().manual_seed(0)
        q = torch.as_tensor(sim.robot.default_pose).repeat(2, 1)
        q[:, 2] += 0.05
        for i in range(12):
            sim.step(noisy_actions(sim, gen, 0.4))
            if i % 4 == 1:
                sim.reset(torch.tensor([4, 1]), q, torch.full((2, sim.num_dofs + 6), 0.1, dtype=torch.float64))
                if read:
                    sim.body_pos
        return [sim.qpos, sim.qvel, sim.body_lin_vel, sim.contact_forces]

    a, b, c = run(False, 2), run(True, 2), run(False, 1)
    for x, y, z in zip(a, b, c):
        assert torch.equal(x, y) and torch.equal(x, z)


# ---------------------------------------------------------------------------- kinematics
def test_body_states_match_mujoco():
    sim = make("g1", n=3, dtype="float64")
    gen = torch.Generator().manual_seed(2)
    for _ in range(15):
        sim.step(noisy_actions(sim, gen, 0.5))
    m = sim.model
    d = mujoco.MjData(m)
    vel = np.zeros(6)
    for e in range(sim.num_envs):
        d.qpos[:] = sim.qpos[e].numpy()
        d.qvel[:] = sim.qvel[e].numpy()
        mujoco.mj_kinematics(m, d)
        assert np.array_equal(sim.body_pos[e].numpy(), d.xpos[1:])
        assert np.array_equal(sim.body_quat[e].numpy(), d.xquat[1:])
        mujoco.mj_forward(m, d)
        for b in range(1, m.nbody):
            mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_XBODY, b, vel, 0)
            np.testing.assert_allclose(sim.body_ang_vel[e, b - 1].numpy(), vel[:3], atol=1e-10)
            np.testing.assert_allclose(sim.body_lin_vel[e, b - 1].numpy(), vel[3:], atol=1e-10)
    # root getters are the root body's, angular velocity in the world frame
    assert torch.equal(sim.root_pos, sim.body_pos[:, 0])
    torch.testing.assert_close(sim.root_lin_vel, sim.body_lin_vel[:, 0], atol=1e-10, rtol=0)
    torch.testing.assert_close(sim.root_ang_vel, quat_rotate(sim.root_quat, sim.qvel[:, 3:6]), atol=1e-10, rtol=0)


# ---------------------------------------------------------------------------- control modes
# Joint offsets from the G1's default pose that keep the limbs clear of the body (random offsets
# often drive an arm into the torso, and self-collision then holds it off target).
G1_POSE_OFFSETS = {
    "left_shoulder_pitch_joint": -0.3, "right_shoulder_pitch_joint": -0.3,
    "left_shoulder_roll_joint": 0.3, "right_shoulder_roll_joint": -0.3,
    "left_elbow_joint": -0.4, "right_elbow_joint": -0.4,
    "left_wrist_roll_joint": 0.3, "right_wrist_roll_joint": -0.3,
    "left_hip_pitch_joint": -0.3, "right_hip_pitch_joint": -0.3,
    "left_knee_joint": 0.3, "right_knee_joint": 0.3,
    "left_ankle_pitch_joint": 0.15, "right_ankle_pitch_joint": 0.15,
    "waist_yaw_joint": 0.2,
}


def test_pos_mode_drives_joints_to_targets():
    """G1 floating without gravity: the PD actuators bring every joint close to its target."""
    sim = make("g1", n=2, gravity=False, dtype="float64")
    q = torch.as_tensor(sim.robot.default_pose).repeat(2, 1)
    q[:, 2] = 3.0  # far from the floor
    sim.reset(torch.arange(2), q)
    target = q[:, 7:].clone()
    for name, offset in G1_POSE_OFFSETS.items():
        target[0, sim.joint_names.index(name)] += offset
        target[1, sim.joint_names.index(name)] += 0.5 * offset
    start_err = (sim.joint_pos - target).abs().max()
    for _ in range(100):  # 2 s
        sim.step(target)
    err = (sim.joint_pos - target).abs()
    assert start_err >= 0.4 and err.max() < 0.01, err.max()
    assert sim.joint_vel.abs().max() < 0.01
    assert sim.diverged_count == 0


def test_vel_mode_tracks_target_velocity():
    sim = make("humanoid", n=1, control_mode="vel", gravity=False, dtype="float64")
    q = torch.as_tensor(sim.robot.default_pose)[None].clone()
    q[:, 2] = 3.0
    sim.reset(torch.tensor([0]), q)
    j = sim.joint_names.index("right_elbow")
    target = torch.zeros(1, sim.num_dofs, dtype=torch.float64)
    target[0, j] = 0.5  # the elbow bends one way only, from 0 (straight) to 2.79 rad
    for _ in range(3):
        sim.step(target)
    assert sim.joint_vel[0, j] == pytest.approx(0.5, abs=0.05)
    others = torch.ones(sim.num_dofs, dtype=torch.bool)
    others[j] = False
    assert sim.joint_vel[0, others].abs().max() < 0.1


def test_torque_mode_clips_at_the_effort_limit():
    sim = make("g1", n=2, control_mode="torque", dtype="float64")
    limit = torch.as_tensor(sim.robot.effort_limit)
    actions = torch.zeros(2, sim.num_dofs, dtype=torch.float64)
    actions[0] = 1e6
    actions[1, :3] = -1e6
    actions[1, 3:] = 0.5 * limit[3:]
    sim.step(actions)
    torch.testing.assert_close(sim.joint_torque[0], limit, rtol=0, atol=1e-9)
    torch.testing.assert_close(sim.joint_torque[1, :3], -limit[:3], rtol=0, atol=1e-9)
    torch.testing.assert_close(sim.joint_torque[1, 3:], 0.5 * limit[3:], rtol=0, atol=1e-9)


def test_none_mode_ignores_actions():
    sim = make("humanoid", n=2, control_mode="none")
    sim.step(torch.full((2, sim.num_dofs), 100.0))
    sim.step(None)
    assert (sim.joint_torque == 0).all() and sim.joint_torque.shape == (2, sim.num_dofs)


# ---------------------------------------------------------------------------- contacts
def test_g1_standing_touches_ground_with_feet_only():
    sim = make("g1", n=2, dtype="float64")
    for _ in range(10):  # 0.2 s holding the default pose
        sim.step(default_actions(sim))
    names = sim.body_names
    feet = [names.index(b) for b in sim.robot.foot_bodies]
    touching = sim.ground_contact
    assert touching[:, feet].all()
    for name in ("pelvis", "torso_link", "head_link"):
        assert not touching[:, names.index(name)].any(), name
    allowed = torch.zeros(sim.num_bodies, dtype=torch.bool)
    allowed[[names.index(b) for b in sim.robot.contact_bodies]] = True
    assert not touching[:, ~allowed].any()
    # the ground pushes the feet up with about the robot's weight, and nothing else
    weight = float(sim.model.body_subtreemass[1]) * 9.81
    fz = sim.contact_forces[..., 2]
    assert (fz[:, feet] > 0).all()
    assert fz.sum(dim=1).numpy() == pytest.approx([weight, weight], rel=0.3)
    assert (sim.contact_forces[:, ~touching[0]] == 0).all()


# ---------------------------------------------------------------------------- divergence
def test_divergence_resets_only_the_bad_envs(tmp_path):
    sim = make("g1", n=4, dtype="float64")
    ref = make("g1", n=4, dtype="float64")
    gen = torch.Generator().manual_seed(4)
    for _ in range(3):
        a = noisy_actions(sim, gen)
        sim.step(a)
        ref.step(a)
    q = sim.qpos[[1, 2]].clone()
    v = sim.qvel[[1, 2]].clone()
    v[0, 10] = float("nan")  # env 1: NaN velocity
    v[1, 0] = 1e8  # env 2: huge velocity
    sim.reset(torch.tensor([1, 2]), q, v)
    a = noisy_actions(sim, gen)
    sim.step(a)
    ref.step(a)
    assert sim.diverged.tolist() == [False, True, True, False]
    assert sim.diverged_count == 2
    # the others continued bit for bit as if nothing had happened
    for e in (0, 3):
        assert torch.equal(sim.qpos[e], ref.qpos[e]) and torch.equal(sim.qvel[e], ref.qvel[e])
        assert torch.equal(sim.body_pos[e], ref.body_pos[e])
    # the bad ones are back in the default pose, at rest, and everything is finite
    default = torch.as_tensor(sim.robot.default_pose)
    assert torch.equal(sim.qpos[[1, 2]], default.expand(2, -1)) and (sim.qvel[[1, 2]] == 0).all()
    for name in GETTERS:
        assert torch.isfinite(getattr(sim, name)).all(), name
    sim.step(noisy_actions(sim, gen))
    assert not sim.diverged.any() and sim.diverged_count == 2
    # a NaN action (a policy bug) is caught the same way
    a = noisy_actions(sim, gen)
    a[3, 5] = float("nan")
    sim.step(a)
    assert sim.diverged.tolist() == [False, False, False, True] and sim.diverged_count == 3
    assert not (tmp_path / "MUJOCO_LOG.TXT").exists(), "MuJoCo's log is off by default"


def test_divergence_threshold_catches_large_finite_velocities():
    sim = make("humanoid", n=2, divergence_threshold=50.0)
    q = torch.as_tensor(sim.robot.default_pose)[None]
    v = torch.zeros(1, sim.num_dofs + 6)
    v[0, 8] = 200.0  # a spinning limb, finite for MuJoCo
    sim.reset(torch.tensor([1]), q, v)
    sim.step(default_actions(sim))
    assert sim.diverged.tolist() == [False, True] and sim.diverged_count == 1


# ---------------------------------------------------------------------------- determinism
def test_same_inputs_give_bit_identical_states():
    def run(nthread: int) -> list[torch.Tensor]:
        sim = make("g1", n=5, nthread=nthread)
        gen = torch.Generator().manual_seed(7)
        for _ in range(10):
            sim.step(noisy_actions(sim, gen, 0.5))
        return [sim.qpos, sim.qvel, sim.body_pos, sim.body_quat, sim.contact_forces, sim.joint_torque]

    a, b, c = run(2), run(2), run(1)
    for x, y, z in zip(a, b, c):
        assert torch.equal(x, y) and torch.equal(x, z)


def test_sim_config_fills_from_yaml():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--sim", type=SimConfig, default=SimConfig())
    yaml = "sim:\n  robot: humanoid\n  num_envs: 8\n  control_dt: 0.02\n  dtype: float64\n"
    cfg = parser.instantiate(parser.parse_string(yaml))
    assert cfg.sim == SimConfig(robot="humanoid", num_envs=8, control_dt=0.02, dtype="float64")


def test_state_dict_resumes_bit_identically():
    """A simulator restored from a state_dict continues exactly like the original (exact resume)."""
    from mimic_lit.sim.base import SimConfig, make_simulator

    cfg = SimConfig(robot="g1", num_envs=6, nthread=2)
    gen = torch.Generator().manual_seed(3)
    a = make_simulator(cfg)
    default = torch.as_tensor(a.robot.default_pose[7:], dtype=torch.float32)
    targets = [default + 0.3 * torch.randn(6, a.num_dofs, generator=gen) for _ in range(12)]
    for t in targets[:6]:
        a.step(t)
    state = a.state_dict()
    contacts_before = a.contact_forces.clone()
    b = make_simulator(cfg)
    b.load_state_dict(state)
    assert torch.equal(b.contact_forces, contacts_before)
    assert torch.equal(b.body_pos, a.body_pos)
    for t in targets[6:]:
        a.step(t)
        b.step(t)
    for name in ("qpos", "qvel", "body_pos", "body_lin_vel", "contact_forces", "joint_torque"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    with pytest.raises(MimicLitError):
        make_simulator(SimConfig(robot="g1", num_envs=5)).load_state_dict(state)

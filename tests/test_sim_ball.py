"""The optional soccer ball of the MuJoCo CPU simulator (a ``BallConfig`` scene object), on real MuJoCo."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from mimic_lit.sim.base import BallConfig, SimConfig, SimConfigError
from mimic_lit.sim.mujoco_cpu import MujocoCPU
from mimic_lit.sim.scene import BALL_NAME, SceneConfig, build_scene

ROBOT_GETTERS = (
    "root_pos", "root_quat", "root_lin_vel", "root_ang_vel", "joint_pos", "joint_vel", "qpos", "qvel",
    "body_pos", "body_quat", "body_lin_vel", "body_ang_vel", "contact_forces", "joint_torque", "ground_contact",
)
BALL_GETTERS = {"ball_pos": 3, "ball_quat": 4, "ball_lin_vel": 3, "ball_ang_vel": 3}
FAR = BallConfig(default_pos=(20.0, 0.0))  # far from the robot: the two never touch


@pytest.fixture(autouse=True)
def _tmp_cwd(tmp_path, monkeypatch):
    """Run in a temporary directory: MuJoCo would write MUJOCO_LOG.TXT into the working directory."""
    monkeypatch.chdir(tmp_path)


def make(n: int = 2, ball: BallConfig | None = BallConfig(), **kw) -> MujocoCPU:
    kw.setdefault("dtype", "float64")
    kw.setdefault("nthread", 1)
    return MujocoCPU(SimConfig(robot="g1", num_envs=n, **kw), objects=[] if ball is None else [ball])


def hold(sim: MujocoCPU) -> torch.Tensor:
    """Actions holding the default pose."""
    return torch.as_tensor(sim.robot.default_pose[7:], dtype=torch.float64).repeat(sim.num_envs, 1)


def noisy(sim: MujocoCPU, gen: torch.Generator, scale: float = 0.3) -> torch.Tensor:
    return hold(sim) + scale * torch.randn((sim.num_envs, sim.num_dofs), generator=gen, dtype=torch.float64)


def ball_touches(sim: MujocoCPU, env: int) -> set[str]:
    """Names of the bodies whose geoms touch env's ball at its current state (MuJoCo collision pass)."""
    m = sim.model
    d = mujoco.MjData(m)
    d.qpos[:] = np.concatenate([sim.qpos[env].numpy(), sim.ball_pos[env].numpy(), sim.ball_quat[env].numpy()])
    mujoco.mj_kinematics(m, d)
    mujoco.mj_collision(m, d)
    ball = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, BALL_NAME)
    out = set()
    for c in d.contact[: d.ncon]:
        if ball in (c.geom1, c.geom2):
            other = c.geom2 if c.geom1 == ball else c.geom1
            out.add(mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_BODY, int(m.geom_bodyid[other])))
    return out


# ---------------------------------------------------------------------------- scene
def test_scene_appends_the_ball_after_the_robot():
    plain = build_scene("g1", SceneConfig(visual=False))
    cfg = BallConfig()
    m = build_scene("g1", SceneConfig(visual=False, ball=cfg))
    assert (m.nq, m.nv, m.nbody, m.nu) == (plain.nq + 7, plain.nv + 6, plain.nbody + 1, plain.nu)
    for i in range(plain.nbody):  # robot bodies keep their ids
        assert m.body(i).name == plain.body(i).name
    b = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, BALL_NAME)
    assert b == m.nbody - 1 and m.body_rootid[b] == b
    j = m.body_jntadr[b]
    assert m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE and m.jnt_qposadr[j] == plain.nq and m.jnt_dofadr[j] == plain.nv
    np.testing.assert_array_equal(m.qpos0[: plain.nq], plain.qpos0)
    np.testing.assert_allclose(m.qpos0[plain.nq :], [0.5, 0.0, cfg.radius, 1, 0, 0, 0])
    g = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, BALL_NAME)
    assert m.geom_type[g] == mujoco.mjtGeom.mjGEOM_SPHERE and m.geom_size[g, 0] == pytest.approx(0.11)
    assert m.geom_condim[g] == 6 and m.geom_priority[g] > 0
    np.testing.assert_allclose(m.geom_friction[g], [cfg.friction, cfg.torsional_friction, cfg.rolling_friction])
    assert m.body_mass[b] == pytest.approx(0.43)
    np.testing.assert_allclose(m.body_inertia[b], 2 / 3 * 0.43 * 0.11**2, rtol=1e-6)  # thin shell


# ---------------------------------------------------------------------------- at rest
def test_ball_rests_on_the_floor():
    sim = make(n=2)
    assert sim.has_ball
    for name, w in BALL_GETTERS.items():
        t = getattr(sim, name)
        assert t.shape == (2, w) and t.dtype == torch.float64, name
    np.testing.assert_array_equal(sim.ball_pos.numpy(), [[0.5, 0.0, 0.11]] * 2)
    for _ in range(50):  # 1 s of the robot holding its pose
        sim.step(hold(sim))
    assert sim.ball_pos[:, 2].numpy() == pytest.approx([0.11, 0.11], abs=1e-3)
    np.testing.assert_allclose(sim.ball_pos[:, :2].numpy(), [[0.5, 0.0]] * 2, rtol=0, atol=1e-4)
    assert sim.ball_lin_vel.abs().max() < 1e-3 and sim.ball_ang_vel.abs().max() < 1e-3
    assert torch.allclose(sim.ball_quat, torch.tensor([1.0, 0, 0, 0], dtype=torch.float64), atol=1e-4)
    assert sim.diverged_count == 0


def test_robot_tensors_are_unchanged_by_a_far_ball():
    """Same shapes with and without a ball; with the ball far away, the same values (up to the
    round-off of solving the ball's floor contact in the same constraint problem)."""
    gen_a, gen_b = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    a, b = make(n=3, ball=None), make(n=3, ball=FAR)
    assert (a.num_bodies, a.num_dofs, a.body_names) == (b.num_bodies, b.num_dofs, b.body_names)
    for name in ROBOT_GETTERS:
        assert torch.equal(getattr(a, name), getattr(b, name)), name  # before any step: exactly
    for _ in range(20):
        a.step(noisy(a, gen_a))
        b.step(noisy(b, gen_b))
    for name in ROBOT_GETTERS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype, name
        if x.dtype == torch.bool:
            assert torch.equal(x, y), name
        else:
            torch.testing.assert_close(x, y, rtol=0, atol=1e-8, msg=name)
    np.testing.assert_allclose(b.ball_pos[:, :2].numpy(), [[20.0, 0.0]] * 3, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------- rolling
def test_kicked_ball_rolls_decelerates_and_stops():
    sim = make(n=1)
    x0 = 1.0  # in front of the robot, rolling away from it
    sim.reset_ball(torch.tensor([0]), torch.tensor([[x0, 0.0, 0.11]]), torch.tensor([[2.0, 0.0, 0.0]]))
    xs, speeds = [], []
    for i in range(int(10.0 / sim.control_dt)):
        sim.step(hold(sim))
        xs.append(float(sim.ball_pos[0, 0]))
        speeds.append(float(sim.ball_lin_vel[0].norm()))
        if i == int(1.0 / sim.control_dt):  # rolling, not sliding: v = w x (0, 0, r), up to the
            # ~5 % creep that rolling friction causes in MuJoCo's (default) pyramidal friction cone
            assert float(sim.ball_ang_vel[0, 1]) * 0.11 == pytest.approx(float(sim.ball_lin_vel[0, 0]), rel=0.08)
    xs, speeds = np.array(xs), np.array(speeds)
    distance = xs[-1] - x0
    stopped = int(np.argmax(speeds < 1e-3))
    t_stop = (stopped + 1) * sim.control_dt
    print(f"ball kicked at 2 m/s: rolled {distance:.2f} m, stopped (< 1 mm/s) after {t_stop:.1f} s")
    assert (np.diff(xs) >= -1e-9).all(), "the ball must keep rolling forward"
    rolling = int(0.5 / sim.control_dt)  # after the skid (and the small bounces while it grips)
    assert (np.diff(speeds[rolling:]) <= 1e-4).all(), "once rolling, the ball must only slow down"
    assert speeds[rolling] < 1.3, "the skid turns 2 m/s into rolling at about 0.6 x 2 m/s"
    assert 2.0 < distance < 4.5
    assert 0 < stopped and speeds[-1] < 1e-3
    assert abs(float(sim.ball_pos[0, 1])) < 1e-6 and float(sim.ball_pos[0, 2]) == pytest.approx(0.11, abs=1e-3)


def test_reset_ball_puts_it_where_asked_and_touches_nothing_else():
    sim = make(n=4)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        sim.step(noisy(sim, gen))
    robot = {name: getattr(sim, name).clone() for name in ROBOT_GETTERS}
    ball = {name: getattr(sim, name).clone() for name in BALL_GETTERS}
    ids = torch.tensor([3, 1])  # unsorted on purpose
    pos = torch.tensor([[1.0, 2.0, 0.3], [-1.0, 0.5, 0.11]], dtype=torch.float64)
    lin = torch.tensor([[0.5, -0.2, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    ang = torch.tensor([[0.0, 3.0, 0.0], [1.0, 0.0, -2.0]], dtype=torch.float64)
    sim.reset_ball(ids, pos, lin, ang)
    assert torch.equal(sim.ball_pos[ids], pos)
    assert torch.equal(sim.ball_quat[ids], torch.tensor([[1.0, 0, 0, 0]] * 2, dtype=torch.float64))
    assert torch.equal(sim.ball_lin_vel[ids], lin)
    torch.testing.assert_close(sim.ball_ang_vel[ids], ang, rtol=0, atol=1e-12)
    for name in BALL_GETTERS:  # the other environments' balls
        assert torch.equal(getattr(sim, name)[[0, 2]], ball[name][[0, 2]]), name
    for name in ROBOT_GETTERS:  # every robot, contacts and torques included
        assert torch.equal(getattr(sim, name), robot[name]), name
    # lin_vel=None: at rest
    sim.reset_ball(torch.tensor([0]), pos[:1])
    assert torch.equal(sim.ball_pos[0], pos[0])
    assert (sim.ball_lin_vel[0] == 0).all() and (sim.ball_ang_vel[0] == 0).all()
    # resetting the robot leaves its ball alone
    before = sim.ball_pos.clone()
    sim.reset(torch.tensor([1, 3]), torch.as_tensor(sim.robot.default_pose).repeat(2, 1))
    assert torch.equal(sim.ball_pos, before)
    sim.step(hold(sim))
    assert sim.ball_pos[3, 0] > pos[0, 0], "the ball keeps its velocity through a robot reset"
    with pytest.raises(SimConfigError, match="pos must have shape"):
        sim.reset_ball(ids, pos[:, :2])
    with pytest.raises(SimConfigError, match="repeat"):
        sim.reset_ball(torch.tensor([1, 1]), pos)
    sim.reset_ball(torch.tensor([], dtype=torch.long), pos[:0])  # no-op


# ---------------------------------------------------------------------------- contacts
def test_ball_against_a_floating_robot_is_no_ground_contact():
    """Without gravity, far above the floor, a ball thrown at the pelvis: its contacts with robot
    bodies must not show up in the ground-contact sensors (the floor is the only ground)."""
    sim = make(n=1, gravity=False)
    q = torch.as_tensor(sim.robot.default_pose)[None].clone()
    q[0, 2] = 3.0
    sim.reset(torch.tensor([0]), q)
    sim.reset_ball(torch.tensor([0]), torch.tensor([[0.5, 0.0, 3.0]]), torch.tensor([[-3.0, 0.0, 0.0]]))
    touched = set()
    for _ in range(15):
        sim.step(hold(sim))
        touched |= ball_touches(sim, 0)
        assert not sim.ground_contact.any() and (sim.contact_forces == 0).all()
    assert touched and "world" not in touched, touched
    assert float(sim.ball_lin_vel[0, 0]) > -2.0, "the ball must have bounced off the robot"


def test_ball_rolled_into_the_foot_is_no_ground_contact():
    """G1 standing; a ball rolled into its right foot hits the shin (knee link): that body must
    not report ground contact, and only the feet touch the ground, as without a ball."""
    sim = make(n=1)
    for _ in range(10):
        sim.step(hold(sim))
    names = sim.body_names
    feet = [names.index(b) for b in sim.robot.foot_bodies]
    sim.reset_ball(torch.tensor([0]), torch.tensor([[0.6, -0.119, 0.11]]), torch.tensor([[-1.5, 0.0, 0.0]]))
    touched: set[str] = set()
    for _ in range(30):
        sim.step(hold(sim))
        robot_touched = ball_touches(sim, 0) - {"world"}
        touched |= robot_touched
        gc = sim.ground_contact[0]
        assert gc[feet].all()
        others = torch.ones(sim.num_bodies, dtype=torch.bool)
        others[feet] = False
        assert not gc[others].any(), [names[i] for i in torch.nonzero(gc & others).flatten()]
        assert (sim.contact_forces[0, others] == 0).all()
        for body in robot_touched:
            assert not gc[names.index(body)], body
    assert touched, "the ball must have hit the robot"


# ---------------------------------------------------------------------------- divergence, checkpoints
def test_divergence_puts_the_ball_back():
    sim = make(n=3)
    pos = torch.tensor([[1.0, 1.0, 0.11], [2.0, 0.0, 0.11], [-1.0, 0.0, 0.11]])
    vel = torch.tensor([[0.0, 0.5, 0.0], [1e8, 0.0, 0.0], [0.0, 0.0, 0.0]])  # env 1: huge ball velocity
    sim.reset_ball(torch.arange(3), pos, vel)
    qvel = torch.zeros(1, sim.num_dofs + 6)
    qvel[0, 10] = float("nan")  # env 2: the robot diverges, its ball is fine
    sim.reset(torch.tensor([2]), torch.as_tensor(sim.robot.default_pose)[None], qvel)
    sim.step(hold(sim))
    assert sim.diverged.tolist() == [False, True, True] and sim.diverged_count == 2
    for e in (1, 2):  # robot and ball back in their default states, at rest
        np.testing.assert_array_equal(sim.ball_pos[e].numpy(), [0.5, 0.0, 0.11])
        assert (sim.ball_lin_vel[e] == 0).all() and (sim.ball_quat[e].numpy() == [1, 0, 0, 0]).all()
        assert torch.equal(sim.qpos[e], torch.as_tensor(sim.robot.default_pose)) and (sim.qvel[e] == 0).all()
    assert float(sim.ball_pos[0, 1]) > 1.0, "the healthy env's ball keeps rolling"


def test_state_dict_with_ball_resumes_bit_identically():
    cfg = SimConfig(robot="g1", num_envs=3, nthread=2)
    gen = torch.Generator().manual_seed(3)
    a = MujocoCPU(cfg, objects=[BallConfig()])
    targets = [hold(a).float() + 0.3 * torch.randn(3, a.num_dofs, generator=gen) for _ in range(12)]
    pos = torch.tensor([[0.6, -0.1, 0.11], [1.0, 0.5, 0.11]])  # env 0: rolled into the robot's right foot
    a.reset_ball(torch.tensor([0, 2]), pos, torch.tensor([[-1.5, 0.0, 0.0], [0.5, 1.0, 0.0]]))
    for t in targets[:6]:
        a.step(t)
    state = a.state_dict()
    assert state["ball"] is True
    b = MujocoCPU(cfg, objects=[BallConfig()])
    b.load_state_dict(state)
    for name in (*BALL_GETTERS, "qpos", "qvel", "body_pos", "contact_forces"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    for t in targets[6:]:
        a.step(t)
        b.step(t)
    for name in (*BALL_GETTERS, "qpos", "qvel", "body_pos", "body_lin_vel", "contact_forces", "joint_torque"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    no_ball = MujocoCPU(SimConfig(robot="g1", num_envs=3))
    with pytest.raises(SimConfigError, match="ball"):
        no_ball.load_state_dict(state)
    with pytest.raises(SimConfigError, match="ball"):
        b.load_state_dict(no_ball.state_dict())


# ---------------------------------------------------------------------------- no ball
def test_simulator_without_a_ball_refuses_ball_calls():
    sim = make(n=2, ball=None)
    assert not sim.has_ball and "ball" not in sim.state_dict()
    for name in BALL_GETTERS:
        with pytest.raises(SimConfigError, match="no ball"):
            getattr(sim, name)
    with pytest.raises(SimConfigError, match="no ball"):
        sim.reset_ball(torch.tensor([0]), torch.zeros(1, 3))


def test_ball_config_fills_from_yaml_inside_the_dribble_goal():
    from jsonargparse import ArgumentParser

    from mimic_lit.envs.tracking import TrackingConfig

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--task", type=TrackingConfig, default=TrackingConfig())
    text = (
        "task:\n  goal:\n    class_path: mimic_lit.envs.tasks.DribbleConfig\n"
        "    init_args:\n      ball:\n        radius: 0.1\n        default_pos: [1.0, 0.5]\n"
    )
    cfg = parser.instantiate(parser.parse_string(text))
    assert cfg.task.goal.ball == BallConfig(radius=0.1, default_pos=(1.0, 0.5))
    sim_parser = ArgumentParser(exit_on_error=False)
    sim_parser.add_argument("--sim", type=SimConfig, default=SimConfig())
    with pytest.raises(Exception, match="ball"):  # the simulator has no ball option: the goal brings it
        sim_parser.parse_string("sim:\n  ball:\n    radius: 0.1\n")


def test_scene_objects_other_than_one_ball_are_refused():
    from mimic_lit.sim.base import scene_ball

    assert scene_ball(()) is None and scene_ball([BallConfig()]) == BallConfig()
    with pytest.raises(SimConfigError, match="at most one ball"):
        scene_ball([BallConfig(), BallConfig()])
    with pytest.raises(SimConfigError, match="dict"):
        scene_ball([{"radius": 0.1}])

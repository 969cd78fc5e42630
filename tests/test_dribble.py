"""The dribble goal on a real MuJoCo ball: placement, observation, reward terms, SUCC, resume."""

from __future__ import annotations

import pytest
import torch

from mimic_lit.envs.task import make_env as build_env
from mimic_lit.envs.amp import AMPConfig
from mimic_lit.envs.protocol import Done
from mimic_lit.envs.tasks import DribbleConfig
from mimic_lit.errors import MimicLitError
from mimic_lit.envs.tracking import TrackingConfig, TrackingEnv
from mimic_lit.motion.loading import load_motion_library
from mimic_lit.sim.base import SimConfig, make_simulator

G1_WALK = "shipped:g1/kimodo_walk"


def make_env(n: int = 3, **dribble):
    sim = SimConfig(robot="g1", num_envs=n, nthread=1)
    task = AMPConfig(motion=G1_WALK, disc_steps=2, goal=DribbleConfig(**dribble), goal_reward_weight=1.0,
                     global_obs=False)
    return build_env(sim, task)


def test_the_goal_puts_its_ball_in_the_simulator_and_reports_its_distance():
    env = make_env(2)
    assert env.sim.has_ball and env.sim.ball_config == env.goal.config.ball
    assert env.spec.eval_metrics == ("goal_ball_dist",)  # AMP tracks no reference: only the goal's metric
    env.reset()
    res = env.step(torch.zeros(2, env.action_dim))
    ball = env.sim.ball_pos[:, :2]
    assert torch.allclose(res.info["goal_ball_dist"], (env.goal.goal_xy - ball).norm(dim=-1), atol=1e-5)


def test_dribble_needs_a_simulator_with_its_ball():
    sim = make_simulator(SimConfig(robot="g1", num_envs=2, nthread=1))  # built without the goal's objects
    with pytest.raises(MimicLitError, match="ball"):
        TrackingEnv(sim, load_motion_library(G1_WALK, "g1"), TrackingConfig(motion=G1_WALK, goal=DribbleConfig()))


def test_reset_puts_the_ball_in_front_and_the_goal_in_range():
    env = make_env(4, dist_min=2.0, dist_max=3.0, ball_offset=0.45)
    obs = env.reset()
    goal = env.goal
    root = env.sim.root_pos
    ball = env.sim.ball_pos
    d_ball = (ball[:, :2] - root[:, :2]).norm(dim=-1)
    assert torch.allclose(d_ball, torch.full((4,), 0.45), atol=1e-4)
    assert torch.allclose(ball[:, 2], torch.full((4,), env.sim.ball_radius), atol=1e-4)
    d_goal = (goal.goal_xy - root[:, :2]).norm(dim=-1)
    assert (d_goal >= 2.0 - 1e-4).all() and (d_goal <= 3.0 + 1e-4).all()
    # observation: ball straight ahead in the heading frame (x ~ 0.45, y ~ 0), at rest, goal 2-3 m away
    o = obs[:, -8:]
    assert torch.allclose(o[:, 0], torch.full((4,), 0.45), atol=1e-3) and o[:, 1].abs().max() < 1e-3
    assert o[:, 3:6].abs().max() < 1e-4
    assert torch.allclose(o[:, 6:8].norm(dim=-1), d_goal, atol=1e-4)


def test_reward_terms_follow_the_ball_and_the_goal():
    env = make_env(2)
    env.reset()
    goal = env.goal
    root = env.sim.root_pos
    ball_start = env.sim.ball_pos.clone()
    # roll ball 0 toward its goal and ball 1 away from it, both at 0.8 m/s
    d = goal.goal_xy - ball_start[:, :2]
    d = d / d.norm(dim=-1, keepdim=True)
    vel = torch.zeros(2, 3)
    vel[0, :2], vel[1, :2] = 0.8 * d[0], -0.8 * d[1]
    env.sim.reset_ball(torch.arange(2), ball_start, vel)
    terms = goal.reward_terms(root, root, env.sim.root_quat, env.control_dt)
    assert terms["ball_vel"][0] > 0.9 and terms["ball_vel"][1] == 0.0
    near = terms["near_ball"]
    assert torch.allclose(near, torch.exp(-0.5 * (ball_start[:, :2] - root[:, :2]).square().sum(-1)), atol=1e-4)
    assert (terms["ball_goal"] < 1).all()
    # the ball on the goal: every term is 1 and the episode ends with SUCC
    on_goal = torch.cat([goal.goal_xy, torch.full((2, 1), env.sim.ball_radius)], -1)
    env.sim.reset_ball(torch.arange(2), on_goal)
    assert goal.success(root, env.sim.root_quat).all()
    res = env.step(torch.zeros(2, env.action_dim))
    assert (res.done == int(Done.SUCC)).all()
    assert torch.allclose(res.info["goal_reward"], torch.ones(2))


def test_dribble_env_resumes_bit_identically():
    env = make_env(2)
    env.reset()
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        env.step(torch.randn(2, env.action_dim, generator=gen) * 0.2)
    state = env.state_dict()
    twin = make_env(2)
    twin.reset()
    twin.load_state_dict(state)
    for _ in range(10):
        a = torch.randn(2, env.action_dim, generator=gen) * 0.2
        r1, r2 = env.step(a), twin.step(a)
        assert torch.equal(r1.obs, r2.obs) and torch.equal(r1.reward, r2.reward)
        assert torch.equal(env.sim.ball_pos, twin.sim.ball_pos)

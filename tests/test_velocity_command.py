"""The velocity-command goal: heading-frame errors, resampling, the zero command, and composing
with a real AMP env."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from mimic_lit.envs.tasks import VelocityCommandConfig, VelocityCommandGoal
from mimic_lit.errors import MimicLitError


def yaw_quat(yaw: torch.Tensor) -> torch.Tensor:
    """(N, 4) w, x, y, z quaternions of rotations by ``yaw`` about z."""
    half = 0.5 * yaw
    return torch.stack([torch.cos(half), torch.zeros_like(half), torch.zeros_like(half), torch.sin(half)], -1)


def goal_with_sim(n: int, **config) -> tuple[VelocityCommandGoal, SimpleNamespace]:
    sim = SimpleNamespace(num_envs=n, root_lin_vel=torch.zeros(n, 3), root_ang_vel=torch.zeros(n, 3))
    goal = VelocityCommandGoal(n, seed=3, config=VelocityCommandConfig(**config))
    goal.bind(sim)
    return goal, sim


def test_errors_are_measured_in_the_heading_frame():
    """A robot turned by yaw, moving along its own heading at the commanded speed and turning at
    the commanded rate, tracks the command exactly whatever its world heading."""
    n = 4
    yaw = torch.tensor([0.0, 0.5 * math.pi, math.pi, -2.0])
    goal, sim = goal_with_sim(n)
    goal.command[:] = torch.tensor([0.8, 0.1, 0.3])
    heading, left = torch.stack([yaw.cos(), yaw.sin()], -1), torch.stack([-yaw.sin(), yaw.cos()], -1)
    sim.root_lin_vel[:, :2] = 0.8 * heading + 0.1 * left
    sim.root_ang_vel[:, 2] = 0.3
    quat, pos = yaw_quat(yaw), torch.zeros(n, 3)
    terms = goal.reward_terms(pos, pos, quat, 0.02)
    assert torch.allclose(terms["lin_vel"], torch.ones(n), atol=1e-5)
    assert torch.allclose(terms["yaw_rate"], torch.ones(n), atol=1e-6)
    assert torch.allclose(goal.reward(pos, pos, quat, 0.02), torch.ones(n), atol=1e-5)
    errors = goal.metrics(pos, quat)
    assert set(errors) == {"cmd_vx_err", "cmd_vy_err", "cmd_yaw_rate_err"}
    assert all(float(e.abs().max()) < 1e-5 for e in errors.values())
    # moving sideways instead of forward: the forward error is the commanded speed, in every heading
    sim.root_lin_vel[:, :2] = 0.1 * left
    errors = goal.metrics(pos, quat)
    assert torch.allclose(errors["cmd_vx_err"], torch.full((n,), 0.8), atol=1e-5)
    expected = math.exp(-4.0 * 0.8**2)
    assert torch.allclose(goal.reward_terms(pos, pos, quat, 0.02)["lin_vel"], torch.full((n,), expected), atol=1e-5)


def test_commands_are_drawn_in_range_and_only_expired_timers_redraw():
    n = 64
    goal, _ = goal_with_sim(n, change_time_min=0.1, change_time_max=0.3, zero_prob=0.0)
    pos, quat = torch.zeros(n, 3), yaw_quat(torch.zeros(n))
    goal.reset(torch.arange(n), pos, quat)
    cfg = goal.config
    for column, (low, high) in enumerate([(cfg.vx_min, cfg.vx_max), (cfg.vy_min, cfg.vy_max), (cfg.wz_min, cfg.wz_max)]):
        assert float(goal.command[:, column].min()) >= low and float(goal.command[:, column].max()) <= high
    assert torch.allclose(goal.observe(pos, quat), goal.command)
    before, left = goal.command.clone(), goal.time_left.clone()
    goal.advance(0.15, pos, quat)
    expired = left <= 0.15
    assert 0 < int(expired.sum()) < n
    assert torch.equal(goal.command[~expired], before[~expired])
    assert bool((goal.command[expired] != before[expired]).any(-1).all())
    assert bool((goal.time_left[expired] >= 0.1).all())


def test_the_zero_command_means_stand_still():
    n = 16
    goal, sim = goal_with_sim(n, zero_prob=1.0)
    pos, quat = torch.zeros(n, 3), yaw_quat(torch.zeros(n))
    goal.reset(torch.arange(n), pos, quat)
    assert torch.equal(goal.command, torch.zeros(n, 3))
    assert torch.allclose(goal.reward(pos, pos, quat, 0.02), torch.ones(n))  # standing still: full reward
    sim.root_lin_vel[:, 0] = 0.5  # drifting forward is penalised
    assert bool((goal.reward(pos, pos, quat, 0.02) < 1.0).all())
    some = VelocityCommandGoal(2000, seed=1, config=VelocityCommandConfig(zero_prob=0.25))
    some.reset(torch.arange(2000), torch.zeros(2000, 3), yaw_quat(torch.zeros(2000)))
    share = float((some.command.abs().sum(-1) == 0).float().mean())
    assert abs(share - 0.25) < 0.04


def test_bad_options_and_an_unbound_goal_are_one_line_errors():
    with pytest.raises(MimicLitError, match="zero_prob"):
        VelocityCommandConfig(zero_prob=1.5)
    with pytest.raises(MimicLitError, match="vx"):
        VelocityCommandConfig(vx_min=1.0, vx_max=0.5)
    goal = VelocityCommandGoal(2)
    with pytest.raises(MimicLitError, match="bind"):
        goal.metrics(torch.zeros(2, 3), yaw_quat(torch.zeros(2)))


def test_the_goal_composes_with_an_amp_env_and_resumes_exactly():
    from mimic_lit.envs.amp import AMPConfig
    from mimic_lit.envs.task import make_env
    from mimic_lit.sim.base import SimConfig

    def build():
        task = AMPConfig(motion="shipped:humanoid/walk", disc_steps=2, goal_reward_weight=0.5,
                         goal=VelocityCommandConfig(change_time_min=0.05, change_time_max=0.1))
        return make_env(SimConfig(robot="humanoid", num_envs=3, nthread=1), task)

    env = build()
    assert env.spec.goal_dim == 3 and env.spec.eval_metrics[-3:] == VelocityCommandGoal.metric_names
    obs = env.reset()
    assert torch.allclose(obs[:, -3:], env.goal.command)
    res = env.step(torch.zeros(3, env.action_dim))
    for name in VelocityCommandGoal.metric_names:
        assert res.info[name].shape == (3,) and bool(torch.isfinite(res.info[name]).all())
    assert torch.allclose(res.reward, 0.5 * res.info["goal_reward"])
    for _ in range(4):
        env.step(torch.zeros(3, env.action_dim))
    state = env.state_dict()
    twin = build()
    twin.load_state_dict(state)
    for _ in range(6):  # commands redraw every 0.05-0.1 s: both draw the same
        a, b = env.step(torch.zeros(3, env.action_dim)), twin.step(torch.zeros(3, env.action_dim))
        assert torch.equal(a.obs, b.obs) and torch.equal(a.reward, b.reward)

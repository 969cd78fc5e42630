"""The velocity-command goal: heading-frame errors, resampling, the zero command, composing
with a real AMP env, and the arrows ``mimic-lit play`` draws."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
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


def test_smoothing_averages_out_a_sway_and_follows_a_steady_turn():
    """With smoothing_time a pelvis swaying +-1 rad/s about a steady 0.4 rad/s turn is scored on the
    turn, the instantaneous error is reported apart, and a reset restarts the average."""
    n, dt = 2, 0.02
    goal, sim = goal_with_sim(n, smoothing_time=0.5)
    assert goal.metric_names[3:] == ("cmd_vx_err_now", "cmd_vy_err_now", "cmd_yaw_rate_err_now")
    pos, quat = torch.zeros(n, 3), yaw_quat(torch.zeros(n))
    sim.root_ang_vel[:, 2] = 0.4
    goal.reset(torch.arange(n), pos, quat)  # the average starts at the current velocity
    goal.command[:] = torch.tensor([0.0, 0.0, 0.4])
    goal.time_left.fill_(math.inf)
    assert torch.allclose(goal.smoothed[:, 2], torch.full((n,), 0.4))
    errs, now = [], []
    for step in range(200):  # 4 s of a 1.25 Hz sway (a stride of 0.8 s)
        sim.root_ang_vel[:, 2] = 0.4 + math.sin(2 * math.pi * 1.25 * step * dt)
        goal.reward_terms(pos, pos, quat, dt)
        m = goal.metrics(pos, quat)
        errs.append(float(m["cmd_yaw_rate_err"].mean()))
        now.append(float(m["cmd_yaw_rate_err_now"].mean()))
    assert np.mean(errs[50:]) < 0.2 < 0.5 < np.mean(now[50:])  # the sway is scored 4x smaller
    state = goal.state_dict()
    assert torch.equal(state["smoothed"], goal.smoothed)
    sim.root_ang_vel[:, 2] = -0.7
    goal.reset(torch.tensor([1]), pos[:1], quat[:1])
    assert float(goal.smoothed[1, 2]) == pytest.approx(-0.7) and float(goal.smoothed[0, 2]) != pytest.approx(-0.7)
    with pytest.raises(MimicLitError, match="smoothing_time"):
        VelocityCommandConfig(smoothing_time=-1.0)


def test_still_baseline_takes_the_standing_reward_off_a_walking_command():
    n = 3
    goal, sim = goal_with_sim(n, still_baseline=0.8, lin_scale=8.0, yaw_scale=4.0)
    goal.command[:] = torch.tensor([[0.3, 0.0, 0.0], [0.0, 0.0, 0.0], [0.3, 0.0, 0.4]])
    pos, quat = torch.zeros(n, 3), yaw_quat(torch.zeros(n))
    still = goal.reward_terms(pos, pos, quat, 0.02)  # standing still
    k0 = 0.8 * math.exp(-8.0 * 0.09)
    assert float(still["lin_vel"][0]) == pytest.approx((math.exp(-8.0 * 0.09) - k0) / (1 - k0), abs=1e-5)
    assert float(still["lin_vel"][0]) < 0.2 and float(still["lin_vel"][1]) == pytest.approx(1.0)  # the zero command: 1
    sim.root_lin_vel[:, 0] = 0.3
    sim.root_ang_vel[:, 2] = 0.4
    walking = goal.reward_terms(pos, pos, quat, 0.02)
    assert float(walking["lin_vel"][0]) == pytest.approx(1.0) and float(walking["yaw_rate"][2]) == pytest.approx(1.0)
    sim.root_lin_vel[:, 0] = -0.5  # the wrong way: floored at 0, never a penalty that pays for falling
    assert float(goal.reward_terms(pos, pos, quat, 0.02)["lin_vel"][0]) == 0.0
    with pytest.raises(MimicLitError, match="still_baseline"):
        VelocityCommandConfig(still_baseline=1.0)


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


def test_arrows_show_the_command_in_the_world_frame_and_the_actual_motion():
    """A forward command for a character yawed by 90 degrees points along +y; a lateral one to its
    left; the actual velocity is the simulator's; yaw rates are arcs from the heading."""
    from mimic_lit.envs.tasks.velocity_command import ACTUAL_HEIGHT, COMMAND_HEIGHT, TURN_RADIUS

    n = 2
    yaw = torch.tensor([0.5 * math.pi, 0.0])
    goal, sim = goal_with_sim(n)
    goal.command[:] = torch.tensor([[1.0, 0.0, 0.6], [0.0, 0.5, -0.4]])
    sim.root_lin_vel[:] = torch.tensor([[0.2, 0.9, 0.3], [0.0, 0.0, 0.0]])
    sim.root_ang_vel[:, 2] = torch.tensor([0.5, 0.0])
    pos = torch.tensor([[1.0, 2.0, 0.9], [-1.0, 0.0, 0.9]])
    arrows = goal.arrows(pos, yaw_quat(yaw))
    assert list(arrows) == ["command", "velocity", "turn command", "turning"]
    command = arrows["command"]
    assert command.shape == (n, 2, 3)
    assert torch.allclose(command[:, 0], torch.tensor([[1.0, 2.0, COMMAND_HEIGHT], [-1.0, 0.0, COMMAND_HEIGHT]]))
    assert torch.allclose(command[:, 1] - command[:, 0], torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.5, 0.0]]), atol=1e-6)
    velocity = arrows["velocity"]
    assert torch.allclose(velocity[0, 1] - velocity[0, 0], torch.tensor([0.2, 0.9, 0.0]))  # planar: no z
    assert float(velocity[0, 0, 2]) == pytest.approx(ACTUAL_HEIGHT)
    turn = arrows["turn command"]
    assert turn.ndim == 3 and turn.shape[0] == n and turn.shape[1] > 2 and turn.shape[2] == 3
    radius = (turn[..., :2] - pos[:, None, :2]).norm(dim=-1)
    assert torch.allclose(radius, torch.full_like(radius, TURN_RADIUS), atol=1e-5)
    # starts in front of the character, ends where its heading is after turning for one second
    angle = lambda p: torch.atan2(p[:, 1] - pos[:, 1], p[:, 0] - pos[:, 0])  # noqa: E731
    assert torch.allclose(angle(turn[:, 0]), yaw, atol=1e-5)
    assert torch.allclose(angle(turn[:, -1]), yaw + goal.command[:, 2], atol=1e-5)
    assert torch.allclose(angle(arrows["turning"][:, -1]), yaw + sim.root_ang_vel[:, 2], atol=1e-5)
    assert torch.equal(goal.velocity_command(), goal.command)
    unbound = VelocityCommandGoal(n)
    assert list(unbound.arrows(pos, yaw_quat(yaw))) == ["command", "turn command"]  # no simulator to read


def test_play_records_the_command_arrows_of_a_real_amp_env():
    """record_episode keeps, per step, the command arrow turned to the character's heading, the
    simulator's velocity, and the command; the summary averages the command errors."""
    from mimic_lit.envs.amp import AMPConfig
    from mimic_lit.envs.task import make_env
    from mimic_lit.play import record_episode
    from mimic_lit.rotations import yaw_from_quat
    from mimic_lit.sim.base import SimConfig

    goal = VelocityCommandConfig(vx_min=1.0, vx_max=1.0, vy_min=0.0, vy_max=0.0, wz_min=0.0, wz_max=0.0, zero_prob=0.0)
    task = AMPConfig(motion="shipped:humanoid/walk", disc_steps=2, goal=goal)
    env = make_env(SimConfig(robot="humanoid", num_envs=2, nthread=1), task)

    class Still:
        def act(self, obs, deterministic=True):
            return torch.zeros(obs.shape[0], env.action_dim)

    rec = record_episode(Still(), env, max_seconds=0.2)
    t = rec.sim_qpos.shape[0]
    assert t >= 2 and set(rec.arrows) == {"command", "velocity", "turn command", "turning"}
    assert rec.arrows["command"].shape == (t, 2, 3) and rec.command.shape == (t, 3)
    assert (rec.command == [1.0, 0.0, 0.0]).all()
    yaw = yaw_from_quat(torch.as_tensor(rec.sim_qpos[:, 3:7])).numpy()
    command = rec.arrows["command"]
    np.testing.assert_allclose(command[:, 0, :2], rec.sim_qpos[:, :2], atol=1e-6)  # from the root
    np.testing.assert_allclose(command[:, 1, :2] - command[:, 0, :2], np.stack([np.cos(yaw), np.sin(yaw)], 1), atol=1e-5)
    summary = rec.summary()
    assert {"mean_cmd_vx_err", "mean_cmd_vy_err", "mean_cmd_yaw_rate_err"} <= set(summary)
    assert rec.command_text().endswith("vx +1.00 m/s, vy +0.00 m/s, wz +0.00 rad/s")

    # The character yawed by 90 degrees in the real simulator: a forward command points along +y.
    qpos = env.sim.qpos.clone()
    qpos[:, 3:7] = yaw_quat(torch.full((2,), 0.5 * math.pi)).to(qpos.dtype)
    env.sim.reset(torch.arange(2), qpos)
    arrow = env.goal.arrows(env.sim.root_pos, env.sim.root_quat)["command"]
    assert torch.allclose(arrow[:, 1] - arrow[:, 0], torch.tensor([0.0, 1.0, 0.0]).to(arrow.dtype).expand(2, 3), atol=1e-5)

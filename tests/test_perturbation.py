"""Random pushes (domain randomisation): off by default, they shove the root's horizontal velocity
on each env's own timer, and a run with them resumes exactly."""

from __future__ import annotations

import pytest
import torch

from mimic_lit.envs.amp import AMPConfig
from mimic_lit.envs.task import make_env
from mimic_lit.errors import MimicLitError
from mimic_lit.sim.base import SimConfig


def build(**options):
    task = AMPConfig(motion="shipped:humanoid/walk", disc_steps=2, default_reset_prob=1.0, **options)
    return make_env(SimConfig(robot="humanoid", num_envs=4, nthread=1), task)


def test_pushes_are_off_by_default_and_change_the_root_velocity_when_on():
    plain, pushed = build(), build(push_interval=0.1, push_velocity=1.0)
    assert plain.pushes is None and "pushes" not in plain.state_dict()
    plain.reset(), pushed.reset()
    zero = torch.zeros(4, plain.action_dim)
    for _ in range(8):  # 0.27 s at 30 Hz: every env's timer (0.05-0.15 s) has run out at least once
        a, b = plain.step(zero), pushed.step(zero)
    assert pushed.pushes.count >= 4
    horizontal = (pushed.sim.root_lin_vel[:, :2] - plain.sim.root_lin_vel[:, :2]).norm(dim=-1)
    assert bool((horizontal > 1e-3).all())  # every pushed env moves differently from its unpushed twin


def test_a_run_with_pushes_resumes_exactly():
    env = build(push_interval=0.1, push_velocity=0.8)
    env.reset()
    zero = torch.zeros(4, env.action_dim)
    for _ in range(3):
        env.step(zero)
    twin = build(push_interval=0.1, push_velocity=0.8)
    twin.load_state_dict(env.state_dict())
    for _ in range(6):
        a, b = env.step(zero), twin.step(zero)
        assert torch.equal(a.obs, b.obs) and torch.equal(a.reward, b.reward)
    assert env.pushes.count == twin.pushes.count > 0


def test_bad_push_options_are_one_line_errors():
    with pytest.raises(MimicLitError, match="push_interval"):
        AMPConfig(push_interval=-1.0)
    with pytest.raises(MimicLitError, match="push_velocity"):
        AMPConfig(push_velocity=-0.1)
    with pytest.raises(MimicLitError, match="push timers"):
        build(push_interval=0.1).load_state_dict(build().state_dict())

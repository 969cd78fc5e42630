"""AMP pieces: discriminator observations (env vs demo), gradient penalty, style reward, replay buffer."""

from __future__ import annotations

import math

import pytest
import torch

from mimic_lit.envs.task import make_env as build_env
from mimic_lit.envs.amp import AMPConfig, AMPEnv
from mimic_lit.methods.amp import AMP, disc_loss_terms, disc_reward
from mimic_lit.nn.mlp import Discriminator
from mimic_lit.rl.replay import ReplayBuffer
from mimic_lit.rl.storage import RolloutStorage
from mimic_lit.sim.base import SimConfig
from mimic_lit.rotations import quat_rotate_inverse

HUMANOID_WALK = "shipped:humanoid/walk"


def make_env(n: int = 2, **kw) -> AMPEnv:
    return build_env(SimConfig(robot="humanoid", num_envs=n, nthread=1), AMPConfig(motion=HUMANOID_WALK, **kw))


def put_sim_at_reference(env: AMPEnv, clips: torch.Tensor, times: torch.Tensor) -> None:
    """Set every env's simulator state to the reference frame of ``clips`` at ``times``."""
    f = env.motion.get_frames(clips, times)
    ang_local = quat_rotate_inverse(f.root_quat, f.root_ang_vel)  # MuJoCo's free-joint angular velocity is local
    qpos = torch.cat([f.root_pos, f.root_quat, f.joint_pos], -1)
    qvel = torch.cat([f.root_lin_vel, ang_local, f.joint_vel], -1)
    env.sim.reset(torch.arange(env.num_envs), qpos, qvel)


@pytest.mark.parametrize("global_obs", [True, False])
def test_env_disc_obs_equal_demo_disc_obs_when_sim_follows_the_reference(global_obs: bool):
    env = make_env(2, disc_steps=4, disc_global_obs=global_obs)
    env.reset()
    clips = torch.zeros(2, dtype=torch.long)
    t_end = torch.tensor([0.5, 0.9])
    k = env.config.disc_steps
    for j in range(k):  # the simulated history: the reference frames leading up to t_end
        put_sim_at_reference(env, clips, t_end - (k - 1 - j) * env.control_dt)
        state, _ = env._sim_state()
        sim_obs = env._extras(state)["disc_obs"]
    demo = env._disc_obs(env._reference_history(clips, t_end))
    assert sim_obs.shape == demo.shape == (2, env.disc_obs_dim)
    assert torch.allclose(sim_obs, demo, atol=2e-4), (sim_obs - demo).abs().max()
    # and a different time gives a different observation (the comparison can fail)
    other = env._disc_obs(env._reference_history(clips, t_end + 0.2))
    assert (other - sim_obs).abs().max() > 1e-2


def test_demo_sampler_uses_the_same_function_on_drawn_clip_times():
    env = make_env(2, disc_steps=3)
    state = env._demo_gen.get_state()
    demo = env.demo_disc_obs(64)
    env._demo_gen.set_state(state)
    clips, newest = env.demo_windows(64)
    times = env.demo_window_times(clips, newest)
    assert times.min() >= 0 and (times <= env.motion.clip_duration[clips] + 1e-6).all()
    assert (times < 3 * env.control_dt).any()  # windows clamped at the clip start are drawn too
    # the precomputed table gives what forward kinematics of the K frames gives at those times
    exact = env._disc_obs(env._reference_history(clips, times))
    assert torch.allclose(demo, exact, atol=1e-5), (demo - exact).abs().max()
    assert not torch.allclose(demo[:32], demo[32:], atol=1e-2)


def test_demo_windows_cover_each_clip_in_proportion_to_its_weight():
    env = build_env(
        SimConfig(robot="g1", num_envs=1, nthread=1), AMPConfig(motion="shipped:datasets/g1_locomotion", disc_steps=2)
    )
    clips, newest = env.demo_windows(20000)
    share = torch.bincount(clips, minlength=env.motion.num_clips).double() / 20000
    assert torch.allclose(share, env.motion.weights.double(), atol=0.02)
    rel = env.demo_window_times(clips, newest) / env.motion.clip_duration[clips]
    assert rel.min() < 0.02 and rel.max() > 0.98  # the whole clip is used, start to end


def test_history_is_prefilled_from_the_reference_on_reset():
    env = make_env(3, disc_steps=5)
    env.reset()
    expected = env._disc_obs(env._reference_history(env.clip_ids, env.motion_time))
    assert torch.allclose(env.disc_obs(), expected)


def test_amp_env_steps_carry_disc_obs_and_zero_reward_and_no_clip_end_success():
    env = make_env(2, disc_steps=2, episode_length=3.0)
    env.reset()
    for _ in range(80):  # past the 1.27 s walk clip
        res = env.step(torch.zeros(2, env.action_dim))
        assert res.extras["disc_obs"].shape == (2, env.disc_obs_dim)
        assert torch.equal(res.reward, torch.zeros(2))
        assert not (res.done == 2).any()  # never SUCC


def test_gradient_penalty_is_taken_on_the_real_samples():
    torch.manual_seed(0)
    disc = Discriminator(6, hidden=[], act="relu")  # linear: D(x) = w.x + b, so |grad D|^2 = |w|^2
    pos, neg = torch.randn(8, 6), torch.randn(8, 6)
    terms = disc_loss_terms(disc, pos, neg)
    w2 = disc.output.weight.square().sum()
    assert torch.allclose(terms["grad_penalty_demo"], w2) and torch.allclose(terms["grad_penalty"], w2)
    # a non-linear disc: the demo penalty is the mean |dD/dx|^2 at the demo samples, not elsewhere
    disc = Discriminator(6, hidden=[16], act="tanh")
    terms = disc_loss_terms(disc, pos, neg)
    x = pos.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(disc(x).sum(), x)
    assert torch.allclose(terms["grad_penalty_demo"], g.square().sum(-1).mean(), atol=1e-6)
    x = neg.clone().requires_grad_(True)
    (g_neg,) = torch.autograd.grad(disc(x).sum(), x)
    assert not torch.allclose(terms["grad_penalty_demo"], g_neg.square().sum(-1).mean())
    # the penalty has a gradient w.r.t. the discriminator's weights (it is trained)
    terms["grad_penalty"].backward()
    assert disc.output.weight.grad is not None and disc.output.weight.grad.abs().sum() > 0


def test_style_reward_is_monotone_in_the_logit_and_capped():
    logits = torch.linspace(-20, 20, 401)
    r = disc_reward(logits, scale=2.0)
    assert (r[1:] >= r[:-1]).all() and (r[1:] > r[:-1]).any()
    assert abs(float(r[-1]) - 2.0 * -math.log(1e-4)) < 1e-4  # the 1e-4 floor
    assert torch.allclose(disc_reward(torch.zeros(1)), torch.tensor([2.0 * 0.6931472]), atol=1e-6)


def test_replay_buffer_takes_everything_until_full_then_a_subset():
    buf = ReplayBuffer(capacity=10, dim=2, samples_per_push=3)
    gen = torch.Generator().manual_seed(0)
    buf.push(torch.arange(12.0).reshape(6, 2), gen)
    assert len(buf) == 6 and not buf.full
    buf.push(torch.arange(100.0, 112.0).reshape(6, 2), gen)  # 4 fit, then it wraps over the oldest
    assert len(buf) == 10 and buf.full and int(buf.head) == 2
    assert torch.equal(buf.data[0], torch.tensor([108.0, 109.0]))
    before = buf.data.clone()
    buf.push(torch.full((50, 2), -1.0), gen)  # full: only 3 of the 50
    assert int((buf.data != before).any(-1).sum()) == 3
    copy = ReplayBuffer(capacity=10, dim=2, samples_per_push=3)
    copy.load_state_dict(buf.state_dict())
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(buf.sample(7, g1), copy.sample(7, g2))
    with pytest.raises(RuntimeError):
        ReplayBuffer(4, 2).sample(1)


def test_shape_rewards_mixes_task_and_style_rewards():
    env = make_env(2, disc_steps=2)
    env.reset()
    amp = AMP(task_reward_weight=0.3, disc_reward_weight=0.7)
    amp.build(env.obs_dim, env.action_dim)
    amp.build_disc(env.disc_obs_dim)
    st = RolloutStorage(3, 2, env.obs_dim, env.action_dim)
    for t in range(3):
        res = env.step(torch.zeros(2, env.action_dim))
        st.store_extras(t, res.extras)
    st.rollout_extras = env.rollout_extras(st.num_samples)  # what the collector does after a rollout
    st.rewards = torch.rand(3, 2, generator=torch.Generator().manual_seed(0))
    task = st.rewards.clone()
    stats = amp.shape_rewards(st)
    style = disc_reward(amp.disc(amp.disc_normalizer.normalize(st.extras["disc_obs"].reshape(6, -1))).reshape(3, 2))
    assert torch.allclose(st.rewards, 0.3 * task + 0.7 * style, atol=1e-6)
    assert torch.allclose(stats["rollout/disc_reward"], style, atol=1e-6)
    assert amp._demo_pool is st.rollout_extras["demo_disc_obs"] and amp._demo_pool.shape == (6, env.disc_obs_dim)
    assert float(amp.disc_normalizer.count) == 6


def test_goal_observation_and_reward_join_the_env_and_resume_exactly():
    from mimic_lit.envs.tasks import SteeringConfig

    def build() -> AMPEnv:
        return build_env(
            SimConfig(robot="humanoid", num_envs=3, nthread=1),
            AMPConfig(motion=HUMANOID_WALK, disc_steps=2, goal_reward_weight=0.5,
                      goal=SteeringConfig(change_time_min=0.1, change_time_max=0.2)),
        )

    env = build()
    plain = make_env(3, disc_steps=2)
    assert env.obs_dim == plain.obs_dim + 5
    obs = env.reset()
    assert torch.allclose(obs[:, -5:], env.goal.observe(env.sim.root_pos, env.sim.root_quat), atol=1e-5)
    res = env.step(torch.zeros(3, env.action_dim))
    assert torch.allclose(res.reward, 0.5 * res.info["goal_reward"])
    assert res.info["goal_reward"].gt(0).any()
    # save mid-run, continue both: identical observations and rewards (targets resample every 0.1-0.2 s)
    for _ in range(5):
        env.step(torch.zeros(3, env.action_dim))
    state = env.state_dict()
    twin = build()
    twin.reset()
    twin.load_state_dict(state)
    actions = torch.randn(12, 3, env.action_dim, generator=torch.Generator().manual_seed(0)) * 0.3
    for a in actions:
        r1, r2 = env.step(a), twin.step(a)
        assert torch.equal(r1.obs, r2.obs) and torch.equal(r1.reward, r2.reward)


def test_goals_compose_with_deepmimic_tracking():
    from mimic_lit.envs.tasks import LocationConfig
    from mimic_lit.envs.tracking import TrackingConfig

    sim = SimConfig(robot="humanoid", num_envs=2, nthread=1)
    plain = build_env(sim, TrackingConfig(motion=HUMANOID_WALK))
    env = build_env(sim, TrackingConfig(motion=HUMANOID_WALK, goal_reward_weight=0.25,
                                        goal=LocationConfig(dist_min=1.0, dist_max=2.0)))
    assert env.obs_dim == plain.obs_dim + 2
    plain.reset(), env.reset()
    a = torch.zeros(2, env.action_dim)
    r_plain, r_goal = plain.step(a), env.step(a)  # same seeds: same RSI draws, same physics
    assert torch.allclose(r_goal.reward, r_plain.reward + 0.25 * r_goal.info["goal_reward"], atol=1e-6)
    assert torch.equal(r_goal.obs[:, : plain.obs_dim], r_plain.obs)


@pytest.mark.parametrize("updates,steps", [(4, 12), (12, 12), (5, 3), (1, 8), (7, 7)])
def test_disc_updates_are_spread_over_the_iteration_and_sum_to_the_setting(updates: int, steps: int):
    from mimic_lit.methods.amp import disc_steps_at

    per_step = [disc_steps_at(i, updates, steps) for i in range(steps)]
    assert sum(per_step) == updates
    assert max(per_step) - min(per_step) <= 1  # even spread
    assert all(n >= 0 for n in per_step)

"""ASE pieces: latents on the unit sphere in the observation, encoder reward, diversity loss."""

from __future__ import annotations

import torch

from mimic_lit.envs.task import make_env as build_env
from mimic_lit.envs.ase import ASEConfig, ASEEnv, sample_unit_latents
from mimic_lit.envs.tasks import LocationConfig
from mimic_lit.methods.ase import ASE, SkillEncoder, diversity_loss, encoder_reward
from mimic_lit.rl.normalizer import Normalizer
from mimic_lit.sim.base import SimConfig


def make_env(n: int = 4, **kw) -> ASEEnv:
    kw.setdefault("latent_dim", 8)
    return build_env(
        SimConfig(robot="humanoid", num_envs=n, nthread=1), ASEConfig(motion="shipped:humanoid/walk", disc_steps=2, **kw)
    )


def test_latents_stay_unit_norm_are_observed_and_go_with_the_step_that_used_them():
    env = make_env(4, latent_time_min=0.05, latent_time_max=0.15, episode_length=0.5)
    obs = env.reset()
    k = env.latent_dim
    assert env.obs_dim == obs.shape[1] and torch.equal(obs[:, -k:], env.latents)
    changes = 0
    for _ in range(40):  # past redraws (every 2-5 steps) and time-limit resets (15 steps)
        before = env.latents.clone()
        res = env.step(0.1 * torch.randn(4, env.action_dim))
        assert torch.equal(res.extras["latent"], before)  # the latent the action was taken with
        assert torch.equal(res.obs[:, -k:], env.latents)  # the next action's latent is observed
        norms = env.latents.norm(dim=-1)
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
        changes += int((env.latents != before).any(-1).sum())
    assert changes >= 40  # redrawn on schedule, not just at resets
    env.set_latents(3.0 * torch.ones(4, k), hold_steps=100)
    assert torch.allclose(env.latents.norm(dim=-1), torch.ones(4))
    assert torch.equal(env.observe()[:, -k:], env.latents)


def test_sampled_latents_cover_the_sphere_uniformly():
    z = sample_unit_latents(20000, 3, torch.Generator().manual_seed(0), "cpu", torch.float32)
    assert torch.allclose(z.norm(dim=-1), torch.ones(20000), atol=1e-5)
    assert z.mean(0).abs().max() < 0.02  # no preferred direction


def test_ase_env_state_round_trip_restores_latents_and_their_schedule():
    a = make_env(3, latent_time_min=0.05, latent_time_max=0.2)
    a.reset()
    for _ in range(3):
        a.step(torch.zeros(3, a.action_dim))
    state = a.state_dict()
    b = make_env(3, latent_time_min=0.05, latent_time_max=0.2, seed=5)
    b.reset()
    b.load_state_dict(state)
    for _ in range(8):
        ra, rb = a.step(torch.zeros(3, a.action_dim)), b.step(torch.zeros(3, b.action_dim))
        assert torch.equal(ra.extras["latent"], rb.extras["latent"]) and torch.allclose(ra.obs, rb.obs)


def test_encoder_reward_is_maximal_when_the_encoder_predicts_the_latent():
    z = sample_unit_latents(64, 16, torch.Generator().manual_seed(1), "cpu", torch.float32)
    assert torch.allclose(encoder_reward(z, z), torch.ones(64))
    other = sample_unit_latents(64, 16, torch.Generator().manual_seed(2), "cpu", torch.float32)
    partial = (z + 0.5 * other) / (z + 0.5 * other).norm(dim=-1, keepdim=True)
    assert (encoder_reward(z, other) < 1.0).all() and (encoder_reward(z, -z) == 0.0).all()
    assert (encoder_reward(z, partial) < 1.0).all() and (encoder_reward(z, partial) > encoder_reward(z, other)).all()
    enc = SkillEncoder(10, 16, [32])
    assert torch.allclose(enc(torch.randn(5, 10)).norm(dim=-1), torch.ones(5))


def test_diversity_loss_is_zero_at_the_target_ratio_and_grows_away_from_it():
    z = torch.tensor([[1.0, 0.0]])
    z_other = torch.tensor([[0.0, 1.0]])  # z_diff = 0.5
    mu = torch.zeros(1, 2)
    at_target = torch.full((1, 2), 0.5**0.5)  # a_diff = 0.5 -> ratio ~1
    assert diversity_loss(mu, at_target, z, z_other, 1.0) < 1e-3
    assert diversity_loss(mu, mu, z, z_other, 1.0) > 0.99  # identical actions for distant latents


def test_observation_normaliser_leaves_the_latent_dims_alone():
    norm = Normalizer(6, passthrough=2)
    x = torch.randn(100, 6) * 5 + 3
    norm.update(x)
    out = norm.normalize(x)
    assert torch.equal(out[:, -2:], x[:, -2:].clamp(-10, 10))
    assert out[:, :4].mean(0).abs().max() < 1e-4
    module = ASE()
    module.set_latent_dim(8)
    module.build(20, 3)
    assert module.obs_normalizer.passthrough == 8


def test_high_level_env_holds_the_chosen_latent_for_the_low_level_steps():
    import pytest

    from mimic_lit.envs.hlc import HLCEnv
    from mimic_lit.errors import MimicLitError

    env = build_env(
        SimConfig(robot="humanoid", num_envs=3, nthread=1),
        ASEConfig(motion="shipped:humanoid/walk", disc_steps=2, latent_dim=8, goal=LocationConfig(), episode_length=0.4),
    )
    llc = ASE()
    llc.set_latent_dim(8)
    llc.build(env.layout.dim + 8, env.action_dim)
    seen = []
    act = llc.act
    llc.act = lambda obs: seen.append(obs.clone()) or act(obs)  # record what the low level observes
    hlc = HLCEnv(env, llc, llc_steps=3)
    assert hlc.obs_dim == env.obs_dim - 8 and hlc.action_dim == 8
    assert hlc.control_dt == pytest.approx(3 * env.control_dt)
    obs = hlc.reset()
    assert obs.shape == (3, hlc.obs_dim)
    ended = 0
    for _ in range(6):  # 18 control steps: every env passes its 12-step time limit once
        action = torch.randn(3, 8)
        seen.clear()
        res = hlc.step(action)
        chosen = action / action.norm(dim=-1, keepdim=True)
        assert len(seen) == 3
        for low_obs in seen:  # character obs + the chosen latent, never the goal
            assert low_obs.shape == (3, env.layout.dim + 8)
            assert torch.allclose(low_obs[:, -8:], chosen, atol=1e-6)
        assert torch.allclose(env.latents, chosen, atol=1e-6)  # even for envs that reset meanwhile
        assert res.obs.shape == (3, hlc.obs_dim) and res.reward.shape == (3,)
        ended += int((res.done != 0).sum())
        assert torch.isnan(res.info["episode_length"]).sum() == int((res.done == 0).sum())
    assert ended >= 3
    bad = ASE()
    bad.set_latent_dim(8)
    bad.build(env.layout.dim + 8 + 2, env.action_dim)  # trained with a goal in its obs: not a skill policy
    with pytest.raises(MimicLitError, match="low-level policy observes"):
        HLCEnv(env, bad)


def test_high_level_step_reports_an_ended_episode_s_metrics_from_its_last_state():
    """An episode that ends inside a high-level step: its per-step metrics (what evaluation sums and
    takes as ``final_<metric>``) are those of the low-level step it ended in, not of the next episode."""
    from mimic_lit.envs.hlc import HLCEnv

    env = build_env(
        SimConfig(robot="humanoid", num_envs=2, nthread=1),
        ASEConfig(motion="shipped:humanoid/walk", disc_steps=2, latent_dim=8, goal=LocationConfig(), episode_length=0.5),
    )
    llc = ASE()
    llc.set_latent_dim(8)
    llc.build(env.layout.dim + 8, env.action_dim)
    lows = []
    step = env.step
    env.step = lambda actions: lows.append(step(actions)) or lows[-1]
    hlc = HLCEnv(env, llc, llc_steps=4)
    hlc.reset()
    checked = 0
    for _ in range(5):  # 15-step episodes: the first ends at the 3rd of 4 low-level steps of the 4th
        lows.clear()
        res = hlc.step(torch.randn(2, 8))
        for i in range(2):
            ends = [j for j, low in enumerate(lows) if low.done[i] != 0]
            at = ends[0] if ends else len(lows) - 1
            for key in ("goal_reward", "goal_success"):  # per-step values of the location goal
                assert res.info[key][i] == lows[at].info[key][i], key
            checked += bool(ends) and ends[0] < len(lows) - 1
    assert checked >= 1


def test_latent_diversity_is_zero_for_one_latent_and_positive_for_different_ones():
    from mimic_lit.metrics.diversity import latent_diversity

    env = make_env(4, latent_dim=8)
    torch.manual_seed(0)
    model = ASE()
    model.set_latent_dim(8)
    model.build(env.obs_dim, env.action_dim)
    with torch.no_grad():  # the output layer starts near zero; scale it so actions depend visibly on the latent
        model.actor.mean.weight.mul_(30.0)
    one = sample_unit_latents(1, 8, torch.Generator().manual_seed(3), "cpu", torch.float32).expand(4, 8)
    same = latent_diversity(model, env, one.clone(), steps=10)
    assert same.steps >= 5 and same.mean_pairwise_distance < 1e-9
    different = sample_unit_latents(4, 8, torch.Generator().manual_seed(4), "cpu", torch.float32)
    apart = latent_diversity(model, env, different, steps=10)
    assert apart.mean_pairwise_distance > 1e-3, apart


def test_default_pose_resets_start_a_share_of_episodes_standing_still():
    env = make_env(64, default_reset_prob=0.5)
    obs = env.reset()
    standing = env._last_standing
    assert standing is not None and 20 < int(standing.sum()) < 44
    pose = torch.as_tensor(env.sim.robot.default_pose, dtype=env.sim.qpos.dtype)
    q = env.sim.qpos
    assert torch.allclose(q[standing, 7:], pose[7:].expand(int(standing.sum()), -1), atol=1e-6)
    assert torch.allclose(q[standing, 2], pose[2].expand(int(standing.sum())), atol=1e-6)
    assert env.sim.qvel[standing].abs().max() < 1e-9
    assert not torch.allclose(q[~standing, 7:], pose[7:].expand(int((~standing).sum()), -1), atol=1e-3)
    # the observation and the discriminator history describe the simulator, also for standing starts
    assert torch.allclose(obs, env.observe(), atol=1e-4)
    hist = env._hist[standing]
    assert torch.allclose(hist[:, 0], hist[:, -1])  # standing still: every frame the same
    assert make_env(4).reset() is not None and make_env(4)._last_standing is None  # off: no draw

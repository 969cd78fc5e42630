"""The RL core on hand-computed cases: TD(λ) with FAIL vs TIME endings, normaliser, PPO and AWR pieces."""

from __future__ import annotations

import math

import pytest
import torch

from mimic_lit.envs.protocol import Done
from mimic_lit.methods.awr import awr_actor_loss, awr_weights
from mimic_lit.methods.ppo import action_bound_loss, clipped_surrogate, ppo_actor_loss, value_loss
from mimic_lit.nn.mlp import Actor, Critic, build_mlp
from mimic_lit.rl.distributions import DiagGaussian, GaussianHead
from mimic_lit.rl.normalizer import Normalizer
from mimic_lit.rl.returns import normalize_advantages, td_lambda_returns, terminal_values
from mimic_lit.rl.storage import RolloutStorage

N, F, T, S = int(Done.NULL), int(Done.FAIL), int(Done.TIME), int(Done.SUCC)


# ---------------------------------------------------------------------- returns
def _hand_trajectory():
    """Two envs, three steps, reward 1 everywhere, V(s_0..s_2) = 2, 4, 6 and V(s_3) = 8.

    Env 0 FAILs at t = 1, env 1 hits the time limit at t = 1 with V(terminal_obs) = 10. After
    either ending, s_2 already belongs to a new episode: its value 6 must not leak into t = 1.
    """
    rewards = torch.ones(3, 2)
    dones = torch.tensor([[N, N], [F, T], [N, N]])
    next_obs_values = torch.tensor([[4.0, 4.0], [6.0, 6.0], [8.0, 8.0]])
    bootstrap = torch.tensor([[0.0, 0.0], [0.0, 10.0], [0.0, 0.0]])
    return rewards, dones, next_obs_values, bootstrap


def test_terminal_values_fail_is_zero_time_bootstraps():
    _, dones, nxt, boot = _hand_trajectory()
    v = terminal_values(dones, boot, nxt)
    assert v.tolist() == [[4.0, 4.0], [0.0, 10.0], [8.0, 8.0]]
    succ = terminal_values(torch.tensor([[S]]), torch.tensor([[3.0]]), torch.tensor([[5.0]]))
    assert succ.item() == 0.0


def test_td_lambda_fail_vs_time_hand_computed():
    rewards, dones, nxt, boot = _hand_trajectory()
    gamma, lam = 0.5, 0.5
    returns = td_lambda_returns(rewards, terminal_values(dones, boot, nxt), dones, gamma, lam)
    # t=2: 1 + 0.5*8 = 5 for both.
    # FAIL env: t=1: 1 + 0.5*0 = 1; t=0: 1 + 0.5*(0.5*4 + 0.5*1) = 2.25.
    # TIME env: t=1: 1 + 0.5*10 = 6; t=0: 1 + 0.5*(0.5*4 + 0.5*6) = 3.5.
    expected = torch.tensor([[2.25, 3.5], [1.0, 6.0], [5.0, 5.0]])
    torch.testing.assert_close(returns, expected)


def test_td_lambda_limits_match_td0_and_monte_carlo():
    torch.manual_seed(0)
    r = torch.rand(6, 3)
    nv = torch.rand(6, 3)
    dones = torch.full((6, 3), N)
    td0 = td_lambda_returns(r, nv, dones, gamma=0.9, lam=0.0)
    torch.testing.assert_close(td0, r + 0.9 * nv)
    mc = td_lambda_returns(r, nv, dones, gamma=0.9, lam=1.0)
    expected = nv[-1].clone()
    for t in range(5, -1, -1):
        expected = r[t] + 0.9 * expected
        torch.testing.assert_close(mc[t], expected)


def test_advantage_normalisation():
    adv = torch.tensor([1.0, 2.0, 3.0, 4.0])
    out = normalize_advantages(adv)
    assert abs(out.mean().item()) < 1e-6
    assert out.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-4)


def test_storage_minibatches_cover_every_sample_each_epoch():
    st = RolloutStorage(horizon=4, num_envs=3, obs_dim=2, action_dim=1)
    st.obs[..., 0] = torch.arange(12.0).reshape(4, 3)
    st.rewards[:] = 1.0
    st.compute_returns(0.9, 0.95)
    gen = torch.Generator().manual_seed(0)
    batches = list(st.minibatches(num_minibatches=3, epochs=2, generator=gen))
    assert len(batches) == 6
    for epoch in (batches[:3], batches[3:]):
        seen = torch.cat([b["obs"][:, 0] for b in epoch]).sort().values
        assert seen.tolist() == list(range(12))
    assert set(batches[0]) == {"obs", "actions", "log_probs", "values", "returns", "advantages"}


# ---------------------------------------------------------------------- normaliser
def test_normalizer_statistics_match_numpy():
    torch.manual_seed(0)
    x = torch.randn(500, 3) * torch.tensor([2.0, 0.5, 0.0]) + torch.tensor([1.0, -3.0, 7.0])
    norm = Normalizer(3)
    norm.update(x[:200])
    norm.update(x[200:])
    assert norm.count.item() == 500
    torch.testing.assert_close(norm.mean, x.mean(0), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(norm.std[:2], x.std(0, unbiased=False)[:2], atol=1e-5, rtol=1e-5)
    assert norm.std[2].item() == pytest.approx(1e-4)  # constant dimension: min std
    y = norm.normalize(x)
    assert y[:, :2].mean(0).abs().max() < 1e-4
    assert y.abs().max() <= 10.0  # the constant dim is clipped, not blown up
    assert norm.normalize(torch.tensor([[1.0 + 100.0, -3.0, 7.0]]))[0, 0].item() == 10.0


def test_normalizer_freezes_after_max_samples_and_round_trips_state():
    norm = Normalizer(2, max_samples=10)
    norm.update(torch.ones(10, 2))
    assert norm.frozen
    norm.update(torch.full((5, 2), 100.0))
    assert norm.count.item() == 10 and norm.mean.tolist() == [1.0, 1.0]
    other = Normalizer(2, max_samples=10)
    other.load_state_dict(norm.state_dict())
    assert torch.equal(other.mean, norm.mean) and other.frozen
    assert norm.sum.dtype == torch.float64


# ---------------------------------------------------------------------- distributions, networks
def test_gaussian_log_prob_matches_torch_normal():
    mean = torch.tensor([[0.1, -0.2, 0.3]])
    dist = GaussianHead(3, std=0.05)(mean)
    a = torch.tensor([[0.12, -0.25, 0.3]])
    ref = torch.distributions.Normal(mean, 0.05)
    torch.testing.assert_close(dist.log_prob(a), ref.log_prob(a).sum(-1))
    torch.testing.assert_close(dist.entropy(), ref.entropy().sum(-1))
    gen = torch.Generator().manual_seed(0)
    samples = torch.cat([dist.sample(gen) for _ in range(4000)])
    assert (samples.std(0) - 0.05).abs().max() < 0.005


def test_fixed_std_is_a_buffer_learned_std_a_parameter():
    fixed = GaussianHead(4, std=0.05)
    assert not list(fixed.parameters()) and "log_std" in fixed.state_dict()
    learned = GaussianHead(4, std=0.2, learn_std=True)
    (p,) = learned.parameters()
    assert torch.allclose(p.exp(), torch.full((4,), 0.2))


def test_actor_critic_shapes_and_small_initial_mean():
    torch.manual_seed(0)
    actor, critic = Actor(10, 3, hidden=[32, 16]), Critic(10, hidden=[32])
    x = torch.randn(7, 10)
    dist = actor(x)
    assert dist.mean.shape == (7, 3) and critic(x).shape == (7,)
    assert actor.mean.weight.abs().max() <= 0.01
    assert dist.mean.abs().max() < 0.2
    assert [type(m).__name__ for m in build_mlp(3, [4, 5], 2, "elu")] == ["Linear", "ELU", "Linear", "ELU", "Linear"]


# ---------------------------------------------------------------------- PPO, AWR
def test_clipped_surrogate_hand_computed():
    ratio = torch.tensor([0.5, 1.0, 1.5])
    adv = torch.tensor([1.0, -1.0, 1.0])
    loss, info = clipped_surrogate(ratio.log(), torch.zeros(3), adv, clip_ratio=0.2)
    # min(0.5, 0.8) = 0.5; min(-1, -1) = -1; min(1.5, 1.2) = 1.2  -> -(0.7 / 3)
    assert loss.item() == pytest.approx(-0.7 / 3)
    assert info["clip_frac"].item() == pytest.approx(2 / 3)


def test_clipped_surrogate_gradient_vanishes_outside_the_clip():
    logp = torch.tensor([math.log(1.5), math.log(0.5)], requires_grad=True)
    loss, _ = clipped_surrogate(logp, torch.zeros(2), torch.tensor([1.0, -1.0]), 0.2)
    loss.backward()
    assert logp.grad.abs().max().item() == 0.0


def test_action_bound_penalty():
    mean = torch.tensor([[0.5, 1.5, -2.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(action_bound_loss(mean), torch.tensor([0.25 + 1.0, 0.0]))


def test_ppo_actor_loss_combines_surrogate_bound_and_adv_clip():
    mean = torch.tensor([[1.5, 0.0]])
    dist = DiagGaussian(mean, torch.full((2,), math.log(0.1)))
    a = mean.clone()
    old = dist.log_prob(a)
    loss, parts = ppo_actor_loss(dist, a, old, torch.tensor([10.0]), adv_clip=4.0, bound_weight=10.0)
    # ratio 1, advantage clipped to 4 -> surrogate -4; bound 0.25 * 10
    assert parts["surrogate"].item() == pytest.approx(-4.0)
    assert loss.item() == pytest.approx(-4.0 + 2.5)
    assert value_loss(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 1.0])).item() == pytest.approx(2.5)


def test_awr_weights_and_loss():
    adv = torch.tensor([0.0, 1.0, 10.0, -2.0])
    w = awr_weights(adv, temperature=1.0, max_weight=20.0)
    torch.testing.assert_close(w, torch.tensor([1.0, math.e, 20.0, math.exp(-2.0)]))
    torch.testing.assert_close(awr_weights(adv, temperature=2.0)[1], torch.tensor(math.exp(0.5)))
    mean = torch.zeros(4, 1, requires_grad=True)
    dist = DiagGaussian(mean, torch.zeros(1))
    actions = torch.ones(4, 1)
    loss, _ = awr_actor_loss(dist, actions, adv, bound_weight=0.0)
    expected = -(w * dist.log_prob(actions)).mean()
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()  # pulls every mean towards its action, most where the weight is largest
    g = -mean.grad.squeeze(1)
    assert (g > 0).all() and g.argmax().item() == 2


def test_tracking_metrics_average_errors_over_steps_and_rates_over_episodes():
    from mimic_lit.metrics import TrackingMetrics

    m = TrackingMetrics(["body_pos_err", "goal_ball_dist"])
    m.update({"length_s": torch.tensor([1.0, 3.0]), "fell": torch.tensor([1.0, 0.0]), "succeeded": torch.tensor([0.0, 1.0]),
              "return": torch.tensor([2.0, 4.0]), "steps": torch.tensor([10.0, 30.0]),
              "goal_ball_dist_sum": torch.tensor([20.0, 20.0])})
    m.update({"length_s": torch.tensor([2.0]), "fell": torch.tensor([0.0]), "succeeded": torch.tensor([1.0]),
              "return": torch.tensor([0.0]), "steps": torch.tensor([10.0]), "goal_ball_dist_sum": torch.tensor([10.0])})
    out = m.compute()
    assert out["episodes"] == 3 and out["episode_length_s"] == 2.0
    assert torch.isclose(out["success_rate"], torch.tensor(2 / 3, dtype=torch.float64))
    assert torch.isclose(out["fall_rate"], torch.tensor(1 / 3, dtype=torch.float64))
    assert out["goal_ball_dist"] == 1.0  # 50 m over 50 steps
    assert "body_pos_err" not in out  # not reported by these episodes
    assert "joint_err" not in out  # not a metric of this env

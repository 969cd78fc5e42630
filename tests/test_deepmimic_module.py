"""The RL module and collector with a real Lightning Trainer on a small linear env whose optimal
actions are known: it must learn, bootstrap TIME endings, and resume exactly."""

from __future__ import annotations

from typing import Any

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from mimic_lit.envs.protocol import Done, StepResult, VecEnv
from mimic_lit.envs.spec import EnvSpec, ObsBlock, RolloutSpec
from mimic_lit.methods import NetworkConfig, OptimizerConfig, RLModule
from mimic_lit.rl.collector import EvaluationRollouts, RolloutCollector


class LinearEnv:
    """s' = 0.8 s + 0.6 ε; the best action is a* = W s; reward exp(−4 ‖a − a*‖²).

    Episodes end with TIME after ``episode_steps`` steps, or with FAIL when an action misses a*
    by more than ``fail_dist``. The info dict reports the action error as ``body_pos_err`` so the
    evaluation metrics have something to average.
    """

    obs_dim, action_dim, control_dt = 4, 2, 0.1

    def __init__(self, num_envs: int = 16, episode_steps: int = 16, fail_dist: float = 1.2, seed: int = 0) -> None:
        self._n = num_envs
        self.episode_steps = episode_steps
        self.fail_dist = fail_dist
        self.gen = torch.Generator().manual_seed(seed)
        self.w = torch.tensor([[0.5, -0.3, 0.0, 0.2], [0.0, 0.4, 0.4, -0.3]])
        self.s = torch.zeros(num_envs, 4)
        self.t = torch.zeros(num_envs, dtype=torch.long)

    num_envs = property(lambda self: self._n)
    device = property(lambda self: torch.device("cpu"))

    def reset(self) -> torch.Tensor:
        self.s = torch.randn(self._n, 4, generator=self.gen)
        self.t.zero_()
        return self.s.clone()

    def best_action(self, s: torch.Tensor) -> torch.Tensor:
        return s @ self.w.T

    def step(self, actions: torch.Tensor) -> StepResult:
        err = (actions.clamp(-1, 1) - self.best_action(self.s)).norm(dim=-1)
        reward = torch.exp(-4.0 * err * err)
        self.t += 1
        self.s = 0.8 * self.s + 0.6 * torch.randn(self._n, 4, generator=self.gen)
        done = torch.full((self._n,), int(Done.NULL), dtype=torch.long)
        done[self.t >= self.episode_steps] = int(Done.TIME)
        done[err > self.fail_dist] = int(Done.FAIL)
        terminal = self.s.clone()
        ended = done != int(Done.NULL)
        self.s[ended] = torch.randn(int(ended.sum()), 4, generator=self.gen)
        self.t[ended] = 0
        return StepResult(self.s.clone(), reward, done, terminal, {"body_pos_err": err})

    @property
    def spec(self) -> EnvSpec:
        return EnvSpec(self._n, 4, 2, self.control_dt, (ObsBlock("state", 0, 4),), eval_metrics=("body_pos_err",))

    def rollout_extras(self, num_samples: int) -> dict[str, torch.Tensor]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"s": self.s.clone(), "t": self.t.clone(), "gen": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.s, self.t = state["s"].clone(), state["t"].clone()
        self.gen.set_state(state["gen"])


class LinearData(L.LightningDataModule):
    """Minimal data module around :class:`LinearEnv` (the contract ``RLModule`` needs)."""

    def __init__(self, horizon: int = 16, epochs: int = 2, minibatches: int = 2, num_envs: int = 16, seed: int = 0):
        super().__init__()
        self.env = LinearEnv(num_envs, seed=seed)
        self.collector = RolloutCollector(self.env, self._agent, horizon, epochs, minibatches, seed)
        self.evaluation = EvaluationRollouts(LinearEnv(8, seed=99), self._agent, episodes=8)

    def _agent(self):
        return self.trainer.lightning_module

    def setup(self, stage: str) -> None:
        self.trainer.lightning_module.connect(RolloutSpec(self.env.spec, self.collector.update_epochs * self.collector.num_minibatches))

    def train_dataloader(self):
        return DataLoader(self.collector, batch_size=None, generator=torch.Generator())

    def val_dataloader(self):
        return DataLoader(self.evaluation, batch_size=None, generator=torch.Generator())

    def state_dict(self):
        return {"collector": self.collector.state_dict()}

    def load_state_dict(self, state):
        self.collector.load_state_dict(state["collector"])


def _module(algorithm: str = "ppo", lr: float = 3e-3) -> RLModule:
    net = NetworkConfig(hidden=[64, 64], activation="tanh")
    opt = OptimizerConfig(name="adam", lr=lr, grad_clip=1.0)
    return RLModule(algorithm=algorithm, actor=net, critic=net, actor_optim=opt, critic_optim=opt, action_std=0.1)


def _trainer(tmp_path, epochs: int, **kw) -> L.Trainer:
    kw.setdefault("logger", False)
    kw.setdefault("enable_checkpointing", False)
    return L.Trainer(
        max_epochs=epochs, accelerator="cpu", default_root_dir=tmp_path, enable_progress_bar=False,
        enable_model_summary=False, num_sanity_val_steps=0, log_every_n_steps=1, **kw,
    )


def test_linear_env_is_a_vecenv():
    assert isinstance(LinearEnv(), VecEnv)


@pytest.mark.parametrize("algorithm", ["ppo", "awr"])
def test_module_learns_the_linear_env(tmp_path, algorithm):
    L.seed_everything(0)
    model, data = _module(algorithm), LinearData()
    trainer = _trainer(tmp_path, epochs=1, limit_val_batches=0)
    trainer.fit(model, data)
    first = trainer.logged_metrics["rollout/reward"].item()
    trainer = _trainer(tmp_path, epochs=100, check_val_every_n_epoch=100)
    trainer.fit(model, data)  # 100 iterations x 4 minibatches = 400 actor and critic updates
    last = trainer.logged_metrics["rollout/reward"].item()
    val = trainer.logged_metrics
    # PPO reaches ~0.79 and AWR ~0.73 of the ~0.93 that the exploration noise allows
    assert last > {"ppo": 0.75, "awr": 0.68}[algorithm] and last > first + 0.4, (first, last)
    # deterministic evaluation: the mean action is close to the best one
    assert val["val/body_pos_err"].item() < 0.25
    assert val["val/fall_rate"].item() == 0.0
    obs = torch.randn(256, 4, generator=torch.Generator().manual_seed(1))
    err = (model.act(obs) - data.env.best_action(obs)).norm(dim=-1).mean()
    assert err < 0.25, err


class _Recorder:
    """A fixed agent that records nothing but gives known values: V(s) = s[:, 0]."""

    def __init__(self):
        from mimic_lit.nn.mlp import Actor
        from mimic_lit.rl.normalizer import Normalizer

        self.obs_normalizer = Normalizer(4)
        self.actor = Actor(4, 2, hidden=[8])
        self.discount, self.td_lambda = 0.9, 0.8
        self.stats = None

    def policy(self, obs_n):
        return self.actor(obs_n)

    def value(self, obs_n):
        return obs_n[:, 0]

    def shape_rewards(self, storage):
        return {}

    def on_rollout_stats(self, stats):
        self.stats = stats


def test_collector_bootstraps_time_and_cuts_fail():
    env = LinearEnv(num_envs=8, episode_steps=3, fail_dist=1e9)
    agent = _Recorder()
    coll = RolloutCollector(env, lambda: agent, horizon=7, update_epochs=1, num_minibatches=1)
    stats = coll.collect(agent)
    st = coll.storage
    dones = st.dones
    assert (dones == int(Done.TIME)).sum() == 2 * 8  # steps 3 and 6 of every env
    # next_values: V(next obs) while running, V(terminal_obs) = its first coordinate at TIME
    # (the normaliser is still at identity during the first rollout), which differs from
    # V(first obs of the new episode) stored at the following step.
    running = dones[:-1] == int(Done.NULL)
    torch.testing.assert_close(st.next_values[:-1][running], st.values[1:][running])
    timeout = dones[:-1] == int(Done.TIME)
    assert not torch.allclose(st.next_values[:-1][timeout], st.values[1:][timeout])
    assert stats["episode/length_s"] == pytest.approx(0.3)
    assert stats["iteration_samples"] == 7 * 8
    # the normaliser was updated from the raw observations after the rollout
    assert agent.obs_normalizer.count.item() == 7 * 8

    env_f = LinearEnv(num_envs=8, episode_steps=100, fail_dist=0.0)  # every step FAILs
    coll_f = RolloutCollector(env_f, lambda: agent, horizon=4, update_epochs=1, num_minibatches=1)
    stats = coll_f.collect(agent)
    assert (coll_f.storage.next_values == 0).all()
    torch.testing.assert_close(coll_f.storage.returns, coll_f.storage.rewards)
    assert stats["episode/fall_rate"] == 1.0


def test_exact_resume_on_the_linear_env(tmp_path):
    """2 iterations, checkpoint, 2 more == 4 straight: every parameter and buffer equal."""

    def run(epochs: int, root, ckpt=None):
        L.seed_everything(3)
        model, data = _module(), LinearData(seed=5)
        cb = L.pytorch.callbacks.ModelCheckpoint(dirpath=root, save_last=True, save_on_train_epoch_end=True)
        trainer = _trainer(root, epochs, enable_checkpointing=True, callbacks=[cb], limit_val_batches=1)
        trainer.fit(model, data, ckpt_path=ckpt)
        return model, data

    straight, _ = run(4, tmp_path / "a")
    run(2, tmp_path / "b")
    resumed, data = run(4, tmp_path / "b", ckpt=str(tmp_path / "b" / "last.ckpt"))
    a, b = straight.state_dict(), resumed.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert data.collector.iterations == 4 and data.collector.total_samples == 4 * 16 * 16

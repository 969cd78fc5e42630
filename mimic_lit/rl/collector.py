"""Rollout collection as torch ``IterableDataset`` s: one ``__iter__`` = one RL iteration.

:class:`RolloutCollector` steps a :class:`~mimic_lit.envs.protocol.VecEnv` with the learner's
current stochastic policy for ``horizon`` steps, updates the observation normaliser, computes
TD(λ) returns and normalised advantages, then yields shuffled minibatches for ``update_epochs``
passes. :class:`EvaluationRollouts` runs deterministic episodes for validation/testing and yields
per-episode results.

Neither holds the learner: each iteration asks ``get_agent()`` (the data module passes a function
that returns ``trainer.lightning_module``) for the object that acts, so the dataset never pickles or
pins a model, and DDP's wrapped module is never bypassed for training. The agent must provide
what :class:`RolloutAgent` lists.
"""

from __future__ import annotations

import copy
import random
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Protocol

import numpy as np
import torch
from torch.utils.data import IterableDataset

from mimic_lit.envs.protocol import Done, VecEnv
from mimic_lit.rl.distributions import DiagGaussian
from mimic_lit.rl.normalizer import Normalizer, all_reduce_sum
from mimic_lit.rl.returns import terminal_values
from mimic_lit.rl.storage import RolloutStorage

#: ``info`` keys that describe whole episodes (valid only where the episode ended), not steps.
EPISODE_INFO_KEYS = ("episode_length", "episode_return", "fell")
_EPISODE_STATS = ("episode/return", "episode/length_s", "episode/fall_rate", "episode/success_rate")


class RolloutAgent(Protocol):
    """What the collectors need from a learner (``RLModule`` implements it)."""

    obs_normalizer: Normalizer
    discount: float
    td_lambda: float

    def policy(self, obs_n: torch.Tensor) -> DiagGaussian:
        """Action distribution for normalised observations."""
        ...

    def value(self, obs_n: torch.Tensor) -> torch.Tensor:
        """(B,) critic values for normalised observations."""
        ...

    def shape_rewards(self, storage: RolloutStorage) -> dict[str, torch.Tensor]:
        """Rewrite ``storage.rewards`` after the rollout, before the returns (AMP adds its
        discriminator reward there); the tensors returned are averaged into the logged rollout
        statistics under their keys."""
        ...

    def on_rollout_stats(self, stats: dict[str, float]) -> None:
        """Receive the iteration's rollout statistics (already reduced over ranks) for logging."""
        ...


class _StatSums:
    """Named (sum, count) pairs, all-reduced over DDP ranks in one call."""

    def __init__(self) -> None:
        self.sums: dict[str, list[torch.Tensor]] = {}

    def add(self, name: str, total: torch.Tensor | float, count: torch.Tensor | float) -> None:
        entry = self.sums.setdefault(name, [torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)])
        entry[0] += torch.as_tensor(total, dtype=torch.float64).detach().cpu()
        entry[1] += torch.as_tensor(count, dtype=torch.float64).detach().cpu()

    def reduce(self) -> dict[str, float]:
        if not self.sums:
            return {}
        names = sorted(self.sums)
        flat = torch.stack([torch.stack(self.sums[k]) for k in names])
        flat = all_reduce_sum(flat)
        return {k: float(flat[i, 0] / flat[i, 1]) for i, k in enumerate(names) if flat[i, 1] > 0}


class _InfoMeans:
    """Running sums of the per-step (N,) float diagnostics of ``info``: one stacked add per step."""

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.keys: list[str] | None = None
        self.sums: torch.Tensor | None = None
        self.steps = 0

    def add(self, info: dict[str, Any]) -> None:
        if self.keys is None:
            self.keys = [
                k for k, v in info.items()
                if k not in EPISODE_INFO_KEYS and isinstance(v, torch.Tensor) and v.is_floating_point()
                and v.shape == (self.num_envs,)
            ]
        if not self.keys:
            return
        step = torch.stack([info[k] for k in self.keys]).sum(1, dtype=torch.float64)
        self.sums = step if self.sums is None else self.sums + step
        self.steps += 1

    def into(self, stats: _StatSums) -> None:
        if self.sums is not None:
            sums = self.sums.cpu()
            for key, total in zip(self.keys, sums):
                stats.add(f"env/{key}", total, self.steps * self.num_envs)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (``None``: unchanged), then restore them."""
    before = torch.get_num_threads()
    if n is not None and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class RolloutCollector(IterableDataset):
    """One RL iteration per ``__iter__``: rollout, returns, then ``update_epochs × num_minibatches``
    minibatches (dicts of tensors: obs (normalised), actions, log_probs, values, returns,
    advantages).

    Args:
        env: the training environments (owned by the data module).
        get_agent: returns the current :class:`RolloutAgent` (the LightningModule).
        horizon: environment steps per iteration (T); samples per iteration = T × N.
        update_epochs: passes over the rollout.
        num_minibatches: minibatches per pass.
        seed: seed of the collector's own generator (action noise and minibatch shuffling).
        rollout_threads: torch intra-op threads while stepping (restored afterwards); ``None``
            leaves them alone. The default 1 keeps torch's OpenMP workers from spinning on the
            cores the simulator's threads need; the rollout's tensors are small anyway.
    """

    def __init__(
        self,
        env: VecEnv,
        get_agent: Callable[[], RolloutAgent],
        horizon: int = 32,
        update_epochs: int = 5,
        num_minibatches: int = 4,
        seed: int = 0,
        rollout_threads: int | None = 1,
    ) -> None:
        super().__init__()
        if horizon < 1 or update_epochs < 1 or num_minibatches < 1:
            raise ValueError("horizon, update_epochs and num_minibatches must be >= 1")
        self.env = env
        self.get_agent = get_agent
        self.horizon = int(horizon)
        self.update_epochs = int(update_epochs)
        self.num_minibatches = int(num_minibatches)
        self.rollout_threads = rollout_threads
        self.generator = torch.Generator(device="cpu")
        self.generator.manual_seed(int(seed))
        n = env.num_envs
        self._obs: torch.Tensor | None = None  # observation to act on next (raw)
        self._ep_return = torch.zeros(n, dtype=torch.float64)
        self._ep_steps = torch.zeros(n, dtype=torch.long)
        self.total_samples = 0  # over all ranks
        self.iterations = 0
        self.storage = RolloutStorage(self.horizon, n, env.obs_dim, env.action_dim, env.device)
        self._raw_obs = torch.zeros(self.horizon, n, env.obs_dim, device=env.device)

    def __len__(self) -> int:
        return self.update_epochs * self.num_minibatches

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        agent = self.get_agent()
        with torch_threads(self.rollout_threads):
            stats = self.collect(agent)
        agent.on_rollout_stats(stats)
        yield from self.storage.minibatches(self.num_minibatches, self.update_epochs, self.generator)

    # ------------------------------------------------------------------ rollout
    @torch.no_grad()
    def collect(self, agent: RolloutAgent) -> dict[str, float]:
        """Fill the storage with one rollout and compute returns; returns the reduced statistics."""
        env, st = self.env, self.storage
        start = time.perf_counter()
        if self._obs is None:
            self._obs = env.reset()
        n, device = env.num_envs, env.device
        norm = agent.obs_normalizer
        stats = _StatSums()
        for key in _EPISODE_STATS:  # every rank reduces the same keys, episodes ended or not
            stats.add(key, 0.0, 0.0)
        boot = torch.zeros(self.horizon, n, device=device)
        info_means = _InfoMeans(n)
        for t in range(self.horizon):
            obs = self._obs
            obs_n = norm.normalize(obs)
            dist = agent.policy(obs_n)
            actions = dist.sample(self.generator if device.type == "cpu" else None)
            self._raw_obs[t] = obs
            st.obs[t] = obs_n
            st.actions[t] = actions
            st.log_probs[t] = dist.log_prob(actions)
            st.values[t] = agent.value(obs_n)
            res = env.step(actions)
            st.rewards[t] = res.reward
            st.dones[t] = res.done
            if res.extras:
                st.store_extras(t, res.extras)
            timeout = res.done == int(Done.TIME)
            if bool(timeout.any()):
                ids = timeout.nonzero().squeeze(-1)
                boot[t, ids] = agent.value(norm.normalize(res.terminal_obs[ids]))
            self._obs = res.obs
            self._track_episodes(res, stats)
            info_means.add(res.info)
        last_value = agent.value(norm.normalize(self._obs))
        next_obs_values = torch.cat([st.values[1:], last_value[None]], 0)
        st.next_values = terminal_values(st.dones, boot, next_obs_values)
        st.rollout_extras = env.rollout_extras(st.num_samples)  # e.g. AMP's demo samples
        for key, values in agent.shape_rewards(st).items():  # e.g. AMP: task reward + discriminator reward
            stats.add(key, values.sum(), values.numel())

        st.compute_returns(agent.discount, agent.td_lambda)
        norm.update(self._raw_obs)  # affects the next rollout; this one's inputs stay as stored
        elapsed = time.perf_counter() - start

        info_means.into(stats)
        stats.add("rollout/reward", st.rewards.sum(), st.rewards.numel())
        stats.add("rollout/value", st.values.sum(), st.values.numel())
        stats.add("rollout/return", st.returns.sum(), st.returns.numel())
        stats.add("rollout/action_mean_abs", st.actions.abs().mean(-1).sum(), st.actions.shape[0] * n)
        samples = all_reduce_sum(torch.tensor(float(st.num_samples), dtype=torch.float64))
        out = stats.reduce()
        self.total_samples += int(samples)
        self.iterations += 1
        out["rollout/samples_per_s"] = float(samples) / max(elapsed, 1e-9)
        out["samples"] = float(self.total_samples)
        out["iteration_samples"] = float(samples)
        return out

    def _track_episodes(self, res, stats: _StatSums) -> None:
        self._ep_return += res.reward.detach().cpu().to(torch.float64)
        self._ep_steps += 1
        done = (res.done != int(Done.NULL)).cpu()
        if not bool(done.any()):
            return
        k = done.sum()
        flags = res.done.cpu()[done]
        stats.add("episode/return", self._ep_return[done].sum(), k)
        stats.add("episode/length_s", self._ep_steps[done].sum().double() * self.env.control_dt, k)
        stats.add("episode/fall_rate", ended_fell(res.info, done, flags).sum(), k)
        stats.add("episode/success_rate", (flags == int(Done.SUCC)).sum(), k)
        self._ep_return[done] = 0.0
        self._ep_steps[done] = 0

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Generator, current observation, episode accumulators, counters and the env's own state."""
        return {
            "generator": self.generator.get_state(),
            "obs": None if self._obs is None else self._obs.detach().cpu().clone(),
            "ep_return": self._ep_return.clone(),
            "ep_steps": self._ep_steps.clone(),
            "total_samples": self.total_samples,
            "iterations": self.iterations,
            "env": self.env.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.env.load_state_dict(state["env"])
        self.generator.set_state(state["generator"])
        self._obs = None if state["obs"] is None else state["obs"].to(self.env.device)
        self._ep_return.copy_(state["ep_return"])
        self._ep_steps.copy_(state["ep_steps"])
        self.total_samples = int(state["total_samples"])
        self.iterations = int(state["iterations"])


def ended_fell(info: dict[str, Any], ended: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """(k,) float64 0/1: whether each of the ``ended`` (N,) episodes (their done ``flags``, (k,))
    fell. The env's ``info["fell"]`` where it gives one (a goal may end an episode with ``FAIL``
    while the character stands: a failure, not a fall), else ``done == FAIL``."""
    fail = (flags == int(Done.FAIL)).double()
    fell = info.get("fell")
    if not isinstance(fell, torch.Tensor) or fell.shape != ended.shape:
        return fail
    given = fell.detach().cpu().double()[ended]
    return torch.where(torch.isnan(given), fail, given)


# ---------------------------------------------------------------------- evaluation
def _global_rng_state() -> tuple:
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def _set_global_rng_state(state: tuple) -> None:
    random.setstate(state[0])
    np.random.set_state(state[1])
    torch.set_rng_state(state[2])


class EvaluationRollouts(IterableDataset):
    """Deterministic (policy mean) episodes on the evaluation environments; one ``__iter__`` runs
    them and yields one dict of per-episode tensors.

    Every run starts from the same environment state and global RNG seed, so successive
    validations evaluate the same episodes and are comparable; the global RNG state is restored
    afterwards, so evaluation never changes the training run. Exactly ``episodes`` episodes are
    counted: each environment its first ``episodes // N`` episodes, the first ``episodes % N``
    environments one more (fixed quotas, not the first episodes to end, so short episodes are not
    favoured); ``max_steps`` bounds the run.

    Yielded keys: ``length_s``, ``fell`` (0/1: the env's ``info["fell"]`` where it gives one, else
    ``done == FAIL``), ``succeeded`` (0/1: clip end for tracking, goal reached for goals that end on
    success), ``return``, ``steps``, and, for each per-step ``info`` value the env's spec names for
    evaluation (``EnvSpec.eval_metrics``: tracking errors, a goal's metrics), ``<key>_sum`` (sum
    over the episode's steps) and ``final_<key>`` (its value at the episode's last step).
    """

    def __init__(
        self,
        env: VecEnv,
        get_agent: Callable[[], RolloutAgent],
        episodes: int = 32,
        seed: int = 0,
        max_steps: int = 10_000,
        rollout_threads: int | None = 1,
    ) -> None:
        super().__init__()
        self.env = env
        self.metric_names = tuple(env.spec.eval_metrics)
        self.get_agent = get_agent
        self.episodes = int(episodes)
        self.seed = int(seed)
        self.max_steps = int(max_steps)
        self.rollout_threads = rollout_threads
        self._initial_state = copy.deepcopy(env.state_dict())

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        saved = _global_rng_state()
        try:
            torch.manual_seed(self.seed)
            np.random.seed(self.seed % 2**32)
            random.seed(self.seed)
            self.env.load_state_dict(self._initial_state)
            with torch_threads(self.rollout_threads):
                result = self.run(self.get_agent())
        finally:
            _set_global_rng_state(saved)
        yield result

    @torch.no_grad()
    def run(self, agent: RolloutAgent) -> dict[str, torch.Tensor]:
        env = self.env
        n = env.num_envs
        quota = torch.full((n,), self.episodes // n, dtype=torch.long)
        quota[: self.episodes % n] += 1
        obs = env.reset()
        finished = torch.zeros(n, dtype=torch.long)
        ep_return = torch.zeros(n, dtype=torch.float64)
        ep_steps = torch.zeros(n, dtype=torch.long)
        err_sums: dict[str, torch.Tensor] = {}
        out: dict[str, list[torch.Tensor]] = {"length_s": [], "fell": [], "succeeded": [], "return": [], "steps": []}
        for _ in range(self.max_steps):
            if bool((finished >= quota).all()):
                break
            res = env.step(agent.policy(agent.obs_normalizer.normalize(obs)).mode())
            obs = res.obs
            ep_return += res.reward.cpu().double()
            ep_steps += 1
            last: dict[str, torch.Tensor] = {}
            for key in self.metric_names:
                acc = err_sums.setdefault(key, torch.zeros(n, dtype=torch.float64))
                last[key] = res.info[key].detach().cpu().double()
                acc += last[key]
            done = (res.done != int(Done.NULL)).cpu()
            keep = done & (finished < quota)
            if bool(keep.any()):
                flags = res.done.cpu()[keep]
                out["length_s"].append(ep_steps[keep].double() * env.control_dt)
                out["fell"].append(ended_fell(res.info, keep, flags))
                out["succeeded"].append((flags == int(Done.SUCC)).double())
                out["return"].append(ep_return[keep].clone())
                out["steps"].append(ep_steps[keep].double())
                for key, acc in err_sums.items():
                    out.setdefault(f"{key}_sum", []).append(acc[keep].clone())
                    out.setdefault(f"final_{key}", []).append(last[key][keep])
            finished += done.long()
            ep_return[done] = 0.0
            ep_steps[done] = 0
            for acc in err_sums.values():
                acc[done] = 0.0
        return {k: torch.cat(v) if v else torch.zeros(0, dtype=torch.float64) for k, v in out.items()}

"""Evaluation with confidence intervals: the interval formulas against hand-computed values, the
metric's sum states combining like one pass (as DDP ranks do), the evaluation episodes' ``fell``
and ``final_<metric>``, and ``mimic-lit validate`` of a real goal recipe printing and writing the
summary."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from mimic_lit.envs.protocol import Done, StepResult
from mimic_lit.envs.spec import EnvSpec, ObsBlock
from mimic_lit.metrics import TrackingMetrics, format_summary, summary
from mimic_lit.metrics.intervals import mean_half_width, ratio_half_width, wilson_interval
from mimic_lit.rl.collector import EvaluationRollouts, ended_fell
from mimic_lit.rl.distributions import DiagGaussian

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- interval formulas
def test_wilson_interval_matches_hand_computed_values():
    # 8 of 10: p = 0.8, z² = 3.8416; centre = (0.8 + 0.19208) / 1.38416 = 0.716738,
    # half = 1.96 / 1.38416 * sqrt(0.016 + 0.009604) = 0.226581
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.490157, abs=1e-6) and hi == pytest.approx(0.943319, abs=1e-6)
    # 0 of 10: [0, z² / (n + z²)] = [0, 3.8416 / 13.8416]
    lo, hi = wilson_interval(0, 10)
    assert lo == pytest.approx(0.0, abs=1e-12) and hi == pytest.approx(0.277540, abs=1e-6)
    lo, hi = wilson_interval(10, 10)
    assert lo == pytest.approx(1 - 0.277540, abs=1e-6) and hi == pytest.approx(1.0, abs=1e-12)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_mean_and_ratio_half_widths_match_direct_computation():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    # s = sqrt(5/3) = 1.290994; 1.96 * s / 2 = 1.265174
    assert mean_half_width(float(x.sum()), float((x * x).sum()), 4) == pytest.approx(1.265174, abs=1e-6)
    assert math.isnan(mean_half_width(1.0, 1.0, 1))
    y, steps = torch.tensor([3.0, 10.0, 4.0], dtype=torch.float64), torch.tensor([10.0, 20.0, 5.0], dtype=torch.float64)
    r = y.sum() / steps.sum()
    resid = y - r * steps
    direct = 1.96 * math.sqrt(float((resid * resid).sum()) / 2 / 3) / float(steps.mean())
    got = ratio_half_width(float(y.sum()), float(steps.sum()), float((y * y).sum()), float((y * steps).sum()),
                           float((steps * steps).sum()), 3)
    assert got == pytest.approx(direct, rel=1e-12)


# ---------------------------------------------------------------------- TrackingMetrics
def _episodes(n: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    steps = torch.randint(5, 50, (n,), generator=g).double()
    f64 = torch.float64
    succeeded = (torch.rand(n, generator=g, dtype=f64) < 0.4).double()
    fell = (1 - succeeded) * (torch.rand(n, generator=g, dtype=f64) < 0.3).double()
    return {
        "length_s": steps * 0.03, "fell": fell, "succeeded": succeeded, "return": torch.randn(n, generator=g, dtype=f64) * 5,
        "steps": steps, "goal_ball_dist_sum": steps * torch.rand(n, generator=g, dtype=f64) * 3,
        "final_goal_ball_dist": torch.rand(n, generator=g, dtype=f64) * 2,
    }


def test_interval_states_of_two_ranks_combine_like_one_pass():
    a, b = _episodes(7, 0), _episodes(5, 1)
    whole = TrackingMetrics(["goal_ball_dist"], goal=True)
    whole.update({k: torch.cat([a[k], b[k]]) for k in a})
    ranks = [TrackingMetrics(["goal_ball_dist"], goal=True) for _ in range(2)]
    ranks[0].update(a)
    ranks[1].update(b)
    merged = TrackingMetrics(["goal_ball_dist"], goal=True)
    for name, fx in merged._reductions.items():  # every state is a sum (dist_reduce_fx="sum")
        assert fx is torch.sum or getattr(fx, "__name__", "") in ("dim_zero_sum", "sum"), name
        setattr(merged, name, getattr(ranks[0], name) + getattr(ranks[1], name))
    merged._update_count = 2  # as after the ranks' updates and the sync
    one, two = whole.compute(), merged.compute()
    assert set(one) == set(two)
    for key in one:
        assert float(two[key]) == pytest.approx(float(one[key]), rel=1e-12, abs=1e-12), key


def test_metrics_report_intervals_against_the_episodes_themselves():
    eps = _episodes(12, 3)
    m = TrackingMetrics(["goal_ball_dist"], goal=True)
    m.update(eps)
    out = {k: float(v) for k, v in m.compute().items()}
    n = 12
    length = eps["length_s"]
    assert out["episode_length_s_ci95"] == pytest.approx(1.96 * float(length.std()) / math.sqrt(n), rel=1e-9)
    k = float(eps["succeeded"].sum())
    assert (out["success_rate_ci95_lo"], out["success_rate_ci95_hi"]) == pytest.approx(wilson_interval(k, n))
    assert (out["fall_rate_ci95_lo"], out["fall_rate_ci95_hi"]) == pytest.approx(wilson_interval(float(eps["fell"].sum()), n))
    final = eps["final_goal_ball_dist"]
    assert out["final_goal_ball_dist"] == pytest.approx(float(final.mean()))
    assert out["final_goal_ball_dist_ci95"] == pytest.approx(1.96 * float(final.std()) / math.sqrt(n), rel=1e-9)
    wins = length[eps["succeeded"] > 0]
    assert out["time_to_goal_s"] == pytest.approx(float(wins.mean()))
    assert out["time_to_goal_s_ci95"] == pytest.approx(1.96 * float(wins.std()) / math.sqrt(len(wins)), rel=1e-9)
    assert out["goal_ball_dist"] == pytest.approx(float(eps["goal_ball_dist_sum"].sum() / eps["steps"].sum()))
    assert out["goal_ball_dist_ci95"] > 0


def test_time_to_goal_only_for_goals_and_only_when_one_succeeded():
    eps = _episodes(6, 4)
    plain = TrackingMetrics(["goal_ball_dist"])
    plain.update(eps)
    assert "time_to_goal_s" not in plain.compute()  # a tracking task: success is the clip's end
    none = TrackingMetrics(["goal_ball_dist"], goal=True)
    none.update({**eps, "succeeded": torch.zeros(6, dtype=torch.float64)})
    out = none.compute()
    assert "time_to_goal_s" not in out and "time_to_goal_s_ci95" not in out
    assert float(out["success_rate_ci95_lo"]) == 0.0 and float(out["success_rate_ci95_hi"]) > 0.3
    single = TrackingMetrics(["goal_ball_dist"], goal=True)
    single.update({k: v[:1] for k, v in eps.items()})
    assert "episode_length_s_ci95" not in single.compute()  # one episode: no spread to estimate


def test_summary_is_flat_json_with_intervals_as_pairs():
    m = TrackingMetrics(["goal_ball_dist"], goal=True)
    m.update(_episodes(20, 5))
    values = {f"val/{k}": v for k, v in m.compute().items()}
    values["train/actor_loss"] = torch.tensor(1.0)
    result = summary(values, "val/")
    assert list(result)[:3] == ["episodes", "success_rate", "ci95_success"]
    assert result["episodes"] == 20 and isinstance(result["episodes"], int)
    assert result["ci95_success"] == [float(values["val/success_rate_ci95_lo"]), float(values["val/success_rate_ci95_hi"])]
    assert "ci95_fall" in result and "actor_loss" not in result
    half = float(values["val/goal_ball_dist_ci95"])
    lo, hi = result["ci95_goal_ball_dist"]
    assert (hi - lo) / 2 == pytest.approx(half) and (hi + lo) / 2 == pytest.approx(result["goal_ball_dist"])
    assert {"final_goal_ball_dist", "ci95_final_goal_ball_dist", "time_to_goal_s", "ci95_time_to_goal_s"} <= set(result)
    json.dumps(result, allow_nan=False)
    text = format_summary(result, "validate")
    assert text.startswith("validate: 20 episodes") and "success rate" in text and "ball-goal distance (m)" in text
    assert "±" in text and "final ball-goal distance (m)" in text


# ---------------------------------------------------------------------- evaluation episodes
class ScriptedEnv:
    """Env ``i`` ends every episode after ``i + 2`` steps with ``FAIL``; ``info["fell"]`` says
    0 for env 0 (a goal ended it, the robot stands), 1 for env 1, NaN for env 2 (not given);
    ``dist`` is the episode's step count so far (its final value = the episode's steps)."""

    obs_dim, action_dim, control_dt = 2, 1, 0.5

    def __init__(self, fell: tuple[float, ...] = (0.0, 1.0, math.nan), with_fell: bool = True) -> None:
        self._n = len(fell)
        self.fell = torch.tensor(fell)
        self.with_fell = with_fell
        self.t = torch.zeros(self._n)

    num_envs = property(lambda self: self._n)
    device = property(lambda self: torch.device("cpu"))

    def reset(self) -> torch.Tensor:
        self.t.zero_()
        return torch.zeros(self._n, 2)

    def step(self, actions: torch.Tensor) -> StepResult:
        self.t += 1
        ended = self.t >= torch.arange(self._n) + 2
        done = torch.where(ended, int(Done.FAIL), int(Done.NULL)).long()
        info = {"dist": self.t.clone()}
        if self.with_fell:
            info["fell"] = torch.where(ended, self.fell, torch.full_like(self.fell, math.nan))
        self.t[ended] = 0
        obs = torch.zeros(self._n, 2)
        return StepResult(obs, torch.ones(self._n), done, obs, info)

    @property
    def spec(self) -> EnvSpec:
        return EnvSpec(self._n, 2, 1, self.control_dt, (ObsBlock("state", 0, 2),), eval_metrics=("dist",))

    def state_dict(self) -> dict[str, Any]:
        return {"t": self.t.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t = state["t"].clone()


class MeanAgent:
    """The policy's mean is 0; the normaliser passes observations through."""

    class obs_normalizer:  # noqa: N801
        @staticmethod
        def normalize(obs: torch.Tensor) -> torch.Tensor:
            return obs

    @staticmethod
    def policy(obs: torch.Tensor) -> DiagGaussian:
        return DiagGaussian(torch.zeros(obs.shape[0], 1), torch.zeros(1))


def _run(env: ScriptedEnv, episodes: int) -> dict[str, torch.Tensor]:
    (result,) = list(EvaluationRollouts(env, lambda: MeanAgent(), episodes=episodes))
    return result


def test_fell_comes_from_the_env_where_it_says_and_final_metric_is_the_last_step():
    out = _run(ScriptedEnv(), 3)
    order = torch.argsort(out["steps"])  # env 0 ends first (2 steps), then env 1 (3), env 2 (4)
    assert out["steps"][order].tolist() == [2.0, 3.0, 4.0]
    assert out["fell"][order].tolist() == [0.0, 1.0, 1.0]  # env 0: FAIL but standing; env 2: no info -> FAIL
    assert out["succeeded"].tolist() == [0.0, 0.0, 0.0]
    assert out["final_dist"][order].tolist() == [2.0, 3.0, 4.0]
    assert out["dist_sum"][order].tolist() == [3.0, 6.0, 10.0]
    without = _run(ScriptedEnv(with_fell=False), 3)
    assert without["fell"].tolist() == [1.0, 1.0, 1.0]  # no info["fell"]: done == FAIL


def test_exactly_the_requested_episodes_are_counted():
    out = _run(ScriptedEnv(), 5)  # quotas 2, 2, 1
    assert out["steps"].numel() == 5
    assert sorted(out["steps"].tolist()) == [2.0, 2.0, 3.0, 3.0, 4.0]


def test_ended_fell_prefers_the_env_and_falls_back_per_episode():
    ended = torch.tensor([True, False, True, True])
    flags = torch.tensor([int(Done.FAIL), int(Done.SUCC), int(Done.FAIL)])
    info = {"fell": torch.tensor([0.0, math.nan, math.nan, 1.0])}
    assert ended_fell(info, ended, flags).tolist() == [0.0, 0.0, 1.0]
    assert ended_fell({}, ended, flags).tolist() == [1.0, 0.0, 1.0]


# ---------------------------------------------------------------------- the real command
RECIPE = ROOT / "recipes" / "amp_g1_dribble_flat.yaml"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def _validate(work: Path, monkeypatch, capsys, *extra: str) -> tuple[int, str, str]:
    from mimic_lit import cli

    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "argv", ["mimic-lit"])
    code = cli.main(["validate", "--config", str(RECIPE), "--quick", *QUIET, "--trainer.logger", "false", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_a_goal_recipe_prints_and_writes_the_summary(tmp_path, monkeypatch, capsys):
    """An untrained quick dribble policy, 3 episodes (``eval_episodes``; training validation keeps
    ``val_episodes``): the summary has the rates, their intervals and the goal's metrics, and the
    fixed evaluation seed makes a second run write the same numbers."""
    code, out, err = _validate(tmp_path, monkeypatch, capsys, "--data.init_args.eval_episodes", "3", "--out", "res/a.json")
    assert code == 0, err[-3000:]
    assert "validate: 3 episodes (95 % confidence intervals)" in out and "wrote res/a.json" in out
    result = json.loads((tmp_path / "res" / "a.json").read_text())
    assert result["episodes"] == 3
    for key in ("success_rate", "fall_rate", "ci95_success", "ci95_fall", "episode_length_s", "ci95_episode_length_s",
                "goal_ball_dist", "ci95_goal_ball_dist", "final_goal_ball_dist", "ci95_final_goal_ball_dist"):
        assert key in result, key
    lo, hi = result["ci95_success"]
    assert 0.0 <= lo <= result["success_rate"] <= hi <= 1.0
    # an existing --out is refused before anything runs; --overwrite replaces it with the same numbers
    code, _, err = _validate(tmp_path, monkeypatch, capsys, "--data.init_args.eval_episodes", "3", "--out", "res/a.json")
    assert code == 2 and "already exists" in err
    code, _, err = _validate(tmp_path, monkeypatch, capsys, "--data.init_args.eval_episodes", "3", "--out", "res/a.json",
                             "--overwrite")
    assert code == 0, err[-3000:]
    assert json.loads((tmp_path / "res" / "a.json").read_text()) == result


def test_goal_evaluation_draws_its_placements_from_the_fixed_evaluation_seed():
    """The evaluation env's goal is drawn from its own generator, seeded from the evaluation seed:
    different per env, the same every time the env is built."""
    from mimic_lit.checkpoint import build_from_recipe
    from mimic_lit.datamodule import _EVAL_SEED_OFFSET

    _, dm = build_from_recipe(str(RECIPE), {"sim.num_envs": 4}, quick=True)
    targets = []
    for _ in range(2):
        env = dm.build_env(4, _EVAL_SEED_OFFSET, True)
        env.reset()
        targets.append(env.goal.marker_xy().clone())
    train = dm.build_env(4, 0)
    train.reset()
    assert torch.equal(targets[0], targets[1])
    assert len({tuple(row.tolist()) for row in targets[0]}) == 4  # every env its own placement
    assert not torch.equal(targets[0], train.goal.marker_xy())  # not the training env's draws


def test_quick_shrinks_the_standalone_evaluation_too():
    from mimic_lit.quick import QUICK_VALUES

    assert ("data", ("eval_episodes",)) in {(s, k) for s, k, _, _ in QUICK_VALUES}

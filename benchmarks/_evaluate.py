"""Shared by the learning benchmarks: evaluation episodes with 95 % intervals, and what a run cost.

Evaluation plays ``episodes`` deterministic episodes (the policy's mean action) on a fresh env
built from the recipe with a fixed evaluation seed, so every benchmark and every checkpoint is
scored on the same starts, and summarises them as ``mimic-lit validate`` does
(:func:`mimic_lit.metrics.summary`: rates with Wilson intervals, means with ± half-widths).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

from learn_g1_walk import read_scalars

#: evaluation envs are seeded apart from any training env
EVAL_SEED = 20261203


def build_eval_env(recipe: str | Path, num_envs: int, overrides: dict[str, Any] | None = None, quick: bool = False):
    """The recipe's env with ``num_envs`` environments and the evaluation seed (``overrides``:
    dotted keys under ``data.init_args``, e.g. ``{"task.default_reset_prob": 1.0}``)."""
    from mimic_lit.checkpoint import build_from_recipe
    from mimic_lit.envs.task import make_env

    _, data = build_from_recipe(recipe, overrides, quick=quick)
    sim = dataclasses.replace(data.sim, num_envs=int(num_envs), seed=EVAL_SEED, nthread=1)
    task = copy.copy(data.task)
    task.seed = EVAL_SEED
    return make_env(sim, task)


def evaluate(env: Any, agent: Any, episodes: int) -> dict[str, Any]:
    """The summary of ``episodes`` deterministic episodes of ``agent`` on ``env`` (fixed seed)."""
    from mimic_lit.metrics import TrackingMetrics, summary
    from mimic_lit.rl.collector import EvaluationRollouts

    rollouts = EvaluationRollouts(env, lambda: agent, episodes=episodes, seed=EVAL_SEED, max_steps=100_000)
    batch = next(iter(rollouts))
    metrics = TrackingMetrics(env.spec.eval_metrics, goal=env.spec.goal_dim > 0)
    metrics.update(batch)
    return summary({k: v for k, v in metrics.compute().items()})


def run_cost(run_dir: str | Path) -> dict[str, float]:
    """Samples and wall minutes of a training run folder, from its TensorBoard logs (all versions,
    so a run resumed across sessions counts every part): the sum of ``perf/iteration_s``."""
    series = read_scalars(Path(run_dir))
    samples = max((v for _, v in series.get("samples", [])), default=0.0)
    seconds = sum(v for _, v in series.get("perf/iteration_s", []))
    return {"samples": float(samples), "wall_minutes": seconds / 60.0, "iterations": len(series.get("perf/iteration_s", []))}


def write_result(path: str | Path, result: dict[str, Any]) -> Path:
    """``docs/results/<benchmark>.json``: the final figures, so runs can be compared."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


def pct(summary: dict[str, Any], key: str, ci: str) -> str:
    """``12.0 % [7.0, 19.9]`` for a rate and its interval."""
    lo, hi = summary.get(ci) or (float("nan"), float("nan"))
    return f"{100 * summary[key]:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"


def mean_ci(summary: dict[str, Any], key: str, digits: int = 3) -> str:
    """``0.123 ± 0.010`` for a mean and its interval."""
    value = summary.get(key)
    if value is None:
        return "n/a"
    lo, hi = summary.get(f"ci95_{key}") or (value, value)
    return f"{value:.{digits}f} ± {(hi - lo) / 2:.{digits}f}"

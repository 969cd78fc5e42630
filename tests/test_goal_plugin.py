"""A goal is a plug-in: one file outside the package (tests/plugins/reach_goal.py) defines it, a recipe
selects it by class path, and it trains through the real CLI with its metric evaluated and logged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tests" / "plugins"
RECIPE = ROOT / "recipes" / "deepmimic_humanoid_walk.yaml"  # a recipe without a goal, run with --quick
#: where a recipe's goal sits, as a command-line key
GOAL_KEY = "--data.init_args.task.init_args.goal"


def _package_status() -> str:
    """``git status`` of the package and the recipes ('' outside a git checkout)."""
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--", "mimic_lit", "recipes"], cwd=ROOT, capture_output=True, text=True
    )
    return proc.stdout if proc.returncode == 0 else ""


def test_plugin_goal_composes_with_the_env():
    sys.path.insert(0, str(PLUGINS))
    try:
        from reach_goal import ReachConfig, ReachGoal

        from mimic_lit.envs.protocol import Done
        from mimic_lit.envs.task import make_env
        from mimic_lit.envs.tracking import TrackingConfig
        from mimic_lit.sim.base import SimConfig
    finally:
        sys.path.remove(str(PLUGINS))
    env = make_env(
        SimConfig(robot="humanoid", num_envs=3, nthread=1),
        TrackingConfig(motion="shipped:humanoid/walk", goal=ReachConfig(dist_min=1.0, dist_max=1.5)),
    )
    assert isinstance(env.goal, ReachGoal)
    assert env.spec.eval_metrics == ("body_pos_err", "joint_err", "root_pos_err", "reach_dist")
    env.reset()
    res = env.step(torch.zeros(3, env.action_dim))
    dist = res.info["reach_dist"]
    assert dist.shape == (3,) and ((dist > 0.5) & (dist < 2.5)).all()
    env.goal.point_xy.copy_(env.sim.root_pos[:, :2])  # every point reached: the goal ends the episodes
    assert (env.step(torch.zeros(3, env.action_dim)).done == int(Done.SUCC)).all()


def test_plugin_goal_trains_through_the_cli_with_no_package_change(tmp_path: Path):
    before = _package_status()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGINS), str(ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(RECIPE), "--quick", "--trainer.max_epochs", "2",
         GOAL_KEY, '{"class_path": "reach_goal.ReachConfig", "init_args": {"dist_max": 2.0}}',
         "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (tmp_path / "runs").rglob("events.out.tfevents.*")
    acc = EventAccumulator(str(events))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "val/reach_dist" in tags and "val/body_pos_err" in tags  # the goal's metric beside the tracking errors
    assert all(0.0 < e.value < 5.0 for e in acc.Scalars("val/reach_dist"))
    config = next((tmp_path / "runs").rglob("config.yaml")).read_text()
    assert "reach_goal.ReachConfig" in config and "dist_max: 2.0" in config
    assert _package_status() == before  # the goal needed no file of the package

"""Every quick recipe through the real CLI: 2 iterations with finite losses, a checkpoint and logged
metrics, and exact resume (2 iterations + resume from last.ckpt + 2 more == 4 straight)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mimic_lit.commands.train import MimicLitCLI

ROOT = Path(__file__).resolve().parents[1]
QUICK = sorted((ROOT / "recipes" / "quick").glob("*.yaml"))
FULL = sorted((ROOT / "recipes").glob("*.yaml"))
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
FINGERPRINT_RTOL = 1e-5  # the refactoring check itself uses 1e-6: scripts/quick_fingerprints.py check


def _fingerprints_module():
    """``scripts/quick_fingerprints.py``, which records what every quick recipe logs in 2 iterations."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("quick_fingerprints", ROOT / "scripts" / "quick_fingerprints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fit(recipe: Path, cwd: Path, *extra: str) -> MimicLitCLI:
    """``mimic-lit fit --config <recipe> ...`` in-process (imports and compiled models are reused), in ``cwd``."""
    old, argv = os.getcwd(), sys.argv
    os.chdir(cwd)
    sys.argv = ["mimic-lit"]  # LightningCLI warns when pytest's own argv sits next to args=
    try:
        return MimicLitCLI(args=["fit", "--config", str(recipe), *QUIET, *extra])
    finally:
        os.chdir(old)
        sys.argv = argv


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _scalars(logdir: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = logdir.rglob("events.out.tfevents.*")
    acc = EventAccumulator(str(events))
    acc.Reload()
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _assert_same_tensors(a, b, where: str = "") -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same_tensors(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_quick_recipes_exist_for_every_recipe():
    assert {p.name for p in QUICK} >= {"deepmimic_g1_walk.yaml", "deepmimic_humanoid_walk.yaml", "deepmimic_humanoid_spinkick.yaml"}
    assert {p.name for p in FULL} == {p.name for p in QUICK}


@pytest.mark.parametrize("recipe", QUICK, ids=[p.stem for p in QUICK])
def test_quick_recipe_runs_and_resumes_exactly(recipe: Path, tmp_path: Path):
    name = f"quick_{recipe.stem}"
    straight, split = tmp_path / "straight", tmp_path / "split"
    straight.mkdir(), split.mkdir()
    if "llc_ckpt_path" in recipe.read_text():  # a high-level controller: train its low-level policy first
        for cwd in (split, straight):
            _fit(ROOT / "recipes" / "quick" / "ase_g1.yaml", cwd, "--trainer.max_epochs", "1")

    # 2 iterations: finite losses, metrics in TensorBoard, a checkpoint
    cli = _fit(recipe, split)
    metrics = cli.trainer.logged_metrics
    keys = ["train/actor_loss", "train/critic_loss", "rollout/reward", "perf/samples_per_s", "val/success_rate"]
    if recipe.stem.startswith(("amp_", "add_", "ase_")) and "hlc" not in recipe.stem:
        keys += ["train/disc_loss", "train/disc_grad_penalty", "train/disc_acc_demo", "rollout/disc_reward"]
    if recipe.stem.startswith(("amp_", "ase_")):  # (and the high-level controller over ASE)
        assert "val/body_pos_err" not in metrics  # AMP tracks no clip: no tracking error to report
    else:
        keys += ["val/body_pos_err"]
    if "dribble" in recipe.stem:
        keys += ["val/goal_ball_dist"]
    if recipe.stem.startswith("ase_") and "hlc" not in recipe.stem:
        keys += ["train/enc_loss", "train/diversity_loss", "rollout/enc_reward"]
    for key in keys:
        assert key in metrics and math.isfinite(float(metrics[key])), key
    ckpt = split / "runs" / name / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    scalars = _scalars(split / "runs" / name)
    assert len(scalars["train/actor_loss"]) == 2 and all(map(math.isfinite, scalars["train/critic_loss"]))
    assert "val/fall_rate" in scalars and "episode/length_s" in scalars or "rollout/reward" in scalars
    # the same numbers as recorded: a change of behaviour shows up here, named by the scalar
    fp = _fingerprints_module()
    recorded = json.loads(fp.FINGERPRINTS.read_text()).get(recipe.stem)
    assert recorded is not None, f"no fingerprint for {recipe.stem}: python scripts/quick_fingerprints.py record --only {recipe.stem}"
    diff = fp.differences(recorded, fp.fingerprint(scalars), FINGERPRINT_RTOL)
    assert not diff, "logged numbers changed:\n" + "\n".join(diff)
    assert _load(ckpt)["epoch"] == 2  # epochs completed

    # resume from last.ckpt for 2 more, versus 4 straight
    _fit(recipe, split, "--trainer.max_epochs", "4", "--ckpt_path", "last")
    _fit(recipe, straight, "--trainer.max_epochs", "4")
    a = _load(straight / "runs" / name / "checkpoints" / "last.ckpt")
    b = _load(ckpt)
    assert a["epoch"] == b["epoch"] == 4
    _assert_same_tensors(a["state_dict"], b["state_dict"], "state_dict")
    _assert_same_tensors(a["optimizer_states"], b["optimizer_states"], "optimizer_states")
    dm_key = type(cli.datamodule).__name__  # Lightning stores the data module under its class name
    _assert_same_tensors(a[dm_key], b[dm_key], "datamodule")
    _assert_same_tensors(a["mimic_lit"], b["mimic_lit"], "mimic_lit")


def test_awr_fragment_and_console_command(tmp_path: Path):
    """The user's path: `mimic-lit fit --config <recipe> --config configs/methods/awr.yaml` in a subprocess."""
    recipe = ROOT / "recipes" / "quick" / "deepmimic_humanoid_walk.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(recipe), "--config", str(ROOT / "configs/methods/awr.yaml"),
         "--trainer.max_epochs", "1", *QUIET],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = (tmp_path / "runs" / "quick_deepmimic_humanoid_walk" / "lightning_logs" / "version_0" / "config.yaml").read_text()
    assert "algorithm: awr" in config
    scalars = _scalars(tmp_path / "runs" / "quick_deepmimic_humanoid_walk")
    assert "train/weight_mean" in scalars and all(map(math.isfinite, scalars["train/actor_loss"]))


def test_wandb_offline_logger(tmp_path: Path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    recipe = ROOT / "recipes" / "quick" / "deepmimic_g1_walk.yaml"
    cli = _fit(recipe, tmp_path, "--trainer.max_epochs", "1", "--config", str(ROOT / "configs/trainers/wandb_offline.yaml"))
    assert type(cli.trainer.logger).__name__ == "WandbLogger"
    assert list((tmp_path / "runs").rglob("*.wandb")), "no offline wandb run written"

"""Every recipe through the real CLI with ``--quick``: 2 iterations with finite losses, a checkpoint and
logged metrics, and exact resume (2 iterations + resume from last.ckpt + 2 more == 4 straight); and what
``--quick`` sets, and leaves to the options after it."""

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
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
FINGERPRINT_RTOL = 1e-5  # the refactoring check itself uses 1e-6: scripts/quick_fingerprints.py check
#: with other MuJoCo/torch/numpy releases than the recorded ones, contact-rich runs differ in the
#: last digits and chaos amplifies them over two iterations (MuJoCo 4.0.0 -> 4.0.1: ~1e-4 on a K1
#: dribble); a change of behaviour of ours still moves the numbers by far more
OTHER_LIBRARIES_RTOL = 5e-2


def _fingerprints_module():
    """``scripts/quick_fingerprints.py``, which records what every recipe logs in its 2 quick iterations."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("quick_fingerprints", ROOT / "scripts" / "quick_fingerprints.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fit(recipe: Path, cwd: Path, *extra: str) -> MimicLitCLI:
    """``mimic-lit fit --config <recipe> --quick ...`` in-process (imports and compiled models are reused), in ``cwd``."""
    old, argv = os.getcwd(), sys.argv
    os.chdir(cwd)
    sys.argv = ["mimic-lit"]  # LightningCLI warns when pytest's own argv sits next to args=
    try:
        return MimicLitCLI(args=["fit", "--config", str(recipe), "--quick", *QUIET, *extra])
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


def _printed_config(capsys, *args: str) -> dict:
    """The config ``mimic-lit fit <args> --print_config`` prints (parsed only: nothing is built or run)."""
    import yaml

    argv = sys.argv
    sys.argv = ["mimic-lit"]
    try:
        with pytest.raises(SystemExit):
            MimicLitCLI(args=["fit", *args, "--print_config"])
    finally:
        sys.argv = argv
    return yaml.safe_load(capsys.readouterr().out)


def test_recipes_exist():
    assert {p.name for p in RECIPES} >= {"deepmimic_g1_walk.yaml", "deepmimic_humanoid_walk.yaml", "deepmimic_humanoid_spinkick.yaml"}
    assert not (ROOT / "recipes" / "quick").exists()  # one recipe per experiment; --quick makes its CI size


def test_quick_shrinks_the_recipe_and_leaves_later_options_alone(capsys):
    recipe = str(ROOT / "recipes" / "amp_humanoid_walk.yaml")
    full = _printed_config(capsys, "--config", recipe)
    cfg = _printed_config(
        capsys, "--config", recipe, "--data.init_args.horizon", "16", "--quick",
        "--trainer.max_epochs", "5", "--model.init_args.actor.hidden", "[32]", "--data.init_args.sim.num_envs", "3",
        "--data.init_args.task.init_args.disc_steps", "6",
    )  # fmt: skip
    model, data = cfg["model"]["init_args"], cfg["data"]["init_args"]
    task, full_task = data["task"]["init_args"], full["data"]["init_args"]["task"]["init_args"]
    # options after --quick win
    assert cfg["trainer"]["max_epochs"] == 5 and model["actor"]["hidden"] == [32]
    assert data["sim"]["num_envs"] == 3 and task["disc_steps"] == 6
    # --quick shrinks everything before it, an option given before it included
    assert data["horizon"] == 8 and data["val_episodes"] == 2 and task["episode_length"] == 2.0
    assert model["critic"]["hidden"] == [64, 64] and model["disc"]["hidden"] == [64, 32]
    assert model["disc_buffer_size"] == 96 and model["disc_replay_samples"] == 16
    assert cfg["trainer"]["default_root_dir"] == "runs/quick_amp_humanoid_walk"
    # and leaves the recipe's other settings as they are
    assert model["actor_optim"] == full["model"]["init_args"]["actor_optim"]
    assert task["disc_global_obs"] == full_task["disc_global_obs"]


def test_quick_sets_only_keys_the_recipe_classes_take(capsys):
    cfg = _printed_config(capsys, "--config", str(ROOT / "recipes" / "deepmimic_g1_walk.yaml"), "--quick")
    assert "disc_buffer_size" not in cfg["model"]["init_args"]
    assert "disc_steps" not in cfg["data"]["init_args"]["task"]["init_args"]
    assert cfg["data"]["init_args"]["sim"]["num_envs"] == 8
    hlc = _printed_config(capsys, "--config", str(ROOT / "recipes" / "ase_g1_dribble_hlc.yaml"), "--quick")
    hlc = hlc["data"]["init_args"]["task"]["init_args"]
    assert hlc["llc_quick"] is True and hlc["llc_steps"] == 2 and hlc["latent_dim"] == 8
    assert hlc["llc_config"] == "recipes/ase_g1.yaml"  # read with --quick: llc_quick
    assert hlc["llc_ckpt_path"] == "runs/quick_ase_g1/checkpoints/last.ckpt"  # the quick run of the low-level recipe


def test_quick_before_the_recipe_is_one_error_line(capsys):
    from mimic_lit import cli

    assert cli.main(["fit", "--quick", "--config", str(ROOT / "recipes" / "deepmimic_g1_walk.yaml")]) == 2
    assert capsys.readouterr().err == "error: --quick shrinks the recipe given before it: put it after --config <recipe>\n"


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.stem for p in RECIPES])
def test_quick_recipe_runs_and_resumes_exactly(recipe: Path, tmp_path: Path):
    name = f"quick_{recipe.stem}"
    straight, split = tmp_path / "straight", tmp_path / "split"
    straight.mkdir(), split.mkdir()
    low_level = _fingerprints_module().low_level_recipe(recipe)
    for before in _fingerprints_module().prerequisite_recipes(recipe):  # e.g. a ball policy's walk, trained first
        for cwd in (split, straight):
            _fit(before, cwd, "--trainer.max_epochs", "1")

    # 2 iterations: finite losses, metrics in TensorBoard, a checkpoint
    cli = _fit(recipe, split)
    metrics = cli.trainer.logged_metrics
    keys = ["train/actor_loss", "train/critic_loss", "rollout/reward", "perf/samples_per_s", "val/success_rate"]
    high_level = low_level is not None
    if recipe.stem.startswith(("amp_", "add_", "ase_")) and not high_level:
        keys += ["train/disc_loss", "train/disc_grad_penalty", "train/disc_acc_demo", "rollout/disc_reward"]
    if recipe.stem.startswith(("amp_", "ase_")):  # (and the high-level controllers over AMP and ASE skills)
        assert "val/body_pos_err" not in metrics  # AMP tracks no clip: no tracking error to report
    else:
        keys += ["val/body_pos_err"]
    if "dribble" in recipe.stem:
        keys += ["val/goal_ball_dist"]
    if recipe.stem.startswith("ase_") and not high_level:
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
    fingerprints = json.loads(fp.FINGERPRINTS.read_text())
    recorded = fingerprints.get(recipe.stem)
    assert recorded is not None, f"no fingerprint for {recipe.stem}: python scripts/quick_fingerprints.py record --only {recipe.stem}"
    same_libraries = fingerprints.get(fp.VERSIONS_KEY) == fp.library_versions()
    diff = fp.differences(recorded, fp.fingerprint(scalars), FINGERPRINT_RTOL if same_libraries else OTHER_LIBRARIES_RTOL)
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
    recipe = ROOT / "recipes" / "deepmimic_humanoid_walk.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(recipe), "--quick", "--config", str(ROOT / "configs/methods/awr.yaml"),
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
    recipe = ROOT / "recipes" / "deepmimic_g1_walk.yaml"
    cli = _fit(recipe, tmp_path, "--trainer.max_epochs", "1", "--config", str(ROOT / "configs/trainers/wandb_offline.yaml"))
    assert type(cli.trainer.logger).__name__ == "WandbLogger"
    assert list((tmp_path / "runs").rglob("*.wandb")), "no offline wandb run written"

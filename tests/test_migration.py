"""Recipes and checkpoints of the earlier layout (one data module per method, task options without
a class): old checkpoints resume, old recipes fail with one line that says what to write now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from mimic_lit.checkpoint_io import upgrade_checkpoint

ROOT = Path(__file__).resolve().parents[1]


def test_a_per_method_data_module_state_moves_to_the_one_data_module():
    env_state = {"collectors": [{"iterations": 3}]}
    ckpt = {"state_dict": {}, "AMPDataModule": env_state}
    assert upgrade_checkpoint(ckpt) is ckpt
    assert ckpt["ImitationDataModule"] is env_state and "AMPDataModule" not in ckpt
    current = {"ImitationDataModule": {"collectors": []}}
    assert upgrade_checkpoint(dict(current)) == current  # today's layout is left alone


def _old_recipe(tmp_path: Path, stem: str, data_class: str) -> Path:
    """A recipe in the earlier layout: the method's own data module and the task options inline."""
    recipe = yaml.safe_load((ROOT / "recipes" / f"{stem}.yaml").read_text())
    data = recipe["data"]
    data["class_path"] = f"mimic_lit.datamodule.{data_class}"
    data["init_args"]["task"] = data["init_args"]["task"]["init_args"]
    path = tmp_path / f"old_{stem}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.parametrize(
    ("stem", "data_class", "expected"),
    [
        ("amp_g1_location", "AMPDataModule", "mimic_lit.envs.amp.AMPConfig"),
        ("ase_humanoid", "ASEDataModule", "mimic_lit.envs.ase.ASEConfig"),
        ("deepmimic_k1_walk", "ImitationDataModule", "mimic_lit.envs.tracking.TrackingConfig"),
    ],
)
def test_an_old_recipe_fails_with_one_line_naming_the_new_form(tmp_path, stem, data_class, expected):
    recipe = _old_recipe(tmp_path, stem, data_class)
    out = subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(recipe)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert expected in lines[0] and "class_path" in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "runs").exists()


def _fit(cwd: Path, *args: str) -> None:
    quiet = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
    out = subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(AMP), "--quick", *quiet, *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]


AMP = ROOT / "recipes" / "amp_g1_location.yaml"  # trained with --quick


def test_an_old_checkpoint_resumes_with_todays_recipe(tmp_path):
    """A checkpoint whose env state sits under a retired data module's name continues exactly as the
    same checkpoint under today's name (had the env state been skipped, the envs would restart)."""
    _fit(tmp_path, "--trainer.default_root_dir", "first")
    ckpt = tmp_path / "first" / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt, weights_only=True)
    state["AMPDataModule"] = state.pop("ImitationDataModule")
    old = tmp_path / "old_layout.ckpt"
    torch.save(state, old)
    for name, path in (("today", ckpt), ("old", old)):
        _fit(tmp_path, "--trainer.default_root_dir", name, "--trainer.max_epochs", "3", "--ckpt_path", str(path))
    a = torch.load(tmp_path / "today" / "checkpoints" / "last.ckpt", weights_only=True)
    b = torch.load(tmp_path / "old" / "checkpoints" / "last.ckpt", weights_only=True)
    assert a["epoch"] == b["epoch"] == 3
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    env_a, env_b = (c["ImitationDataModule"]["collectors"][0] for c in (a, b))
    assert torch.equal(env_a["obs"], env_b["obs"]) and env_a["iterations"] == env_b["iterations"] == 3

"""``mimic_lit.quick``: run folders, low-level checkpoints, sections left at their class default, and
``play``/``export``'s ``build_from_recipe(quick=True)`` (the CLI's ``--quick`` is in test_recipes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jsonargparse import Namespace

from mimic_lit.errors import MimicLitError
from mimic_lit.quick import last_config_stem, quick_ckpt_path, quick_overrides, quick_path, split_quick

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_folders_and_low_level_checkpoints():
    assert quick_path("runs/ase_g1", "x") == "runs/quick_ase_g1"
    assert quick_path("runs/quick_ase_g1", "x") == "runs/quick_ase_g1"  # twice is harmless
    assert quick_path(None, "runs/quick_mine") == "runs/quick_mine"
    assert quick_ckpt_path("runs/ase_g1/checkpoints/last.ckpt") == "runs/quick_ase_g1/checkpoints/last.ckpt"
    assert quick_ckpt_path("/models/llc.ckpt") == "/models/llc.ckpt"  # not in a run folder: as given


def test_split_quick_and_the_recipe_name():
    assert split_quick(["fit", "--config", "a.yaml"]) is None
    assert split_quick(["fit", "-c", "a.yaml", "--quick", "--x", "1", "--quick"]) == (["fit", "-c", "a.yaml"], ["--x", "1"])
    with pytest.raises(MimicLitError, match="after --config"):
        split_quick(["fit", "--quick", "--config", "a.yaml"])
    assert last_config_stem(["fit", "--config", "r/a.yaml", "--config=r/b.yaml"]) == "b"


def test_a_section_left_at_its_class_default_gets_the_quick_value_below_it():
    cfg = Namespace()
    cfg["model.class_path"] = "mimic_lit.methods.ASE"
    cfg["model.init_args.encoder"] = None  # NetworkConfig | None: the class default
    cfg["data.init_args.task.init_args.disc_steps"] = 10  # a task given by class_path
    cfg["data.init_args.sim"] = None
    out = quick_overrides(cfg, "mine")
    assert out == {
        "model.init_args.encoder.hidden": [32],
        "data.init_args.task.init_args.disc_steps": 4,
        "data.init_args.sim.num_envs": 8,
    }


def test_build_from_recipe_quick_shrinks_what_the_recipe_left_out(tmp_path):
    from mimic_lit.checkpoint import build_from_recipe

    recipe = yaml.safe_load((ROOT / "recipes" / "ase_humanoid.yaml").read_text())
    del recipe["model"]["init_args"]["encoder"]  # the class default: 1024-1024
    path = tmp_path / "ase.yaml"
    path.write_text(yaml.safe_dump(recipe))
    model, dm = build_from_recipe(path, {"sim.num_envs": 1}, quick=True)
    assert model.encoder_config.hidden == [32] and model.actor_config.hidden == [64, 64]
    assert dm.task.latent_dim == 8 and dm.sim.num_envs == 1  # the caller's overrides win over --quick

"""``mimic-lit play``: a checkpoint from a real quick-recipe run is replayed and rendered beside its reference."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from mimic_lit.cli import main
from mimic_lit.commands.train import MimicLitCLI
from mimic_lit.play import load_policy, record_episode

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "quick" / "deepmimic_g1_walk.yaml"


def test_play_records_and_renders_policy_beside_reference(tmp_path: Path):
    old, argv = os.getcwd(), sys.argv
    os.chdir(tmp_path)
    sys.argv = ["mimic-lit"]
    try:
        MimicLitCLI(args=["fit", "--config", str(RECIPE), "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"])
    finally:
        os.chdir(old)
        sys.argv = argv
    ckpt = tmp_path / "runs" / "quick_deepmimic_g1_walk" / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()

    model, dm = load_policy(RECIPE, ckpt, {"sim.num_envs": 1})
    env = dm.build_env(1, 0, rand_reset=False)
    rec = record_episode(model, env, max_seconds=0.3)
    assert rec.sim_qpos.shape == rec.ref_qpos.shape and rec.sim_qpos.shape[0] >= 2
    # reference state initialisation: the first simulated pose is the reference's first frame
    np.testing.assert_allclose(rec.sim_qpos[0], rec.ref_qpos[0], atol=1e-5)
    assert rec.times[0] == 0.0 and np.all(np.diff(rec.times) > 0)

    out = tmp_path / "play.gif"
    code = main(["play", "--config", str(RECIPE), "--ckpt_path", str(ckpt), "--out", str(out),
                 "--seconds", "0.3", "--width", "64", "--height", "48", "--quality", "fast"])
    assert code == 0
    with Image.open(out) as gif:
        assert gif.size == (128, 48)  # two panels side by side
        assert gif.n_frames >= 2

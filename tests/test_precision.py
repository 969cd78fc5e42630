"""``--trainer.precision bf16-mixed``: the networks run under bfloat16 autocast in the rollout and in
the update, while weights, actions, values and returns stay float32."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback

from mimic_lit.commands.train import MimicLitCLI

ROOT = Path(__file__).resolve().parent.parent


class RecordActorDtypes(Callback):
    """Records the dtype of the actor's first layer output, split by rollout (no grad) and update."""

    def __init__(self) -> None:
        self.seen: dict[str, set[torch.dtype]] = {"rollout": set(), "update": set()}

    def on_fit_start(self, trainer, pl_module) -> None:
        def hook(_module, _inputs, output):
            self.seen["update" if torch.is_grad_enabled() else "rollout"].add(output.dtype)

        pl_module.actor.trunk[0].register_forward_hook(hook)


def _fit(recipe: str, precision: str, cwd: Path) -> tuple[MimicLitCLI, RecordActorDtypes]:
    old, argv = os.getcwd(), sys.argv
    os.chdir(cwd)
    sys.argv = ["mimic-lit"]
    try:
        cli = MimicLitCLI(
            args=["--config", str(ROOT / "recipes" / f"{recipe}.yaml"), "--quick", "--trainer.precision", precision,
                  "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"],
            run=False,
        )  # fmt: skip
        recorder = RecordActorDtypes()
        cli.trainer.callbacks.append(recorder)
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    finally:
        os.chdir(old)
        sys.argv = argv
    return cli, recorder


@pytest.mark.parametrize("recipe", ["deepmimic_g1_walk", "amp_g1_steering"])
def test_bf16_mixed_autocasts_rollout_and_update(recipe: str, tmp_path: Path):
    cli, recorder = _fit(recipe, "bf16-mixed", tmp_path)
    assert recorder.seen == {"rollout": {torch.bfloat16}, "update": {torch.bfloat16}}
    metrics = cli.trainer.callback_metrics
    assert all(math.isfinite(float(metrics[k])) for k in ("train/actor_loss", "train/critic_loss"))
    assert all(p.dtype == torch.float32 for p in cli.model.parameters())
    storage = cli.datamodule.collector.storage
    assert storage.actions.dtype == storage.returns.dtype == torch.float32


def test_default_precision_stays_float32(tmp_path: Path):
    _, recorder = _fit("deepmimic_g1_walk", "32-true", tmp_path)
    assert recorder.seen == {"rollout": {torch.float32}, "update": {torch.float32}}

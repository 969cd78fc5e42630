"""Data-parallel training on CPU: 2 gloo processes (configs/trainers/ddp_cpu.yaml), real recipes.

Each rank steps its own environments (seeded by rank) and the ranks must still apply identical
updates: :class:`~mimic_lit.callbacks.RankSyncCheck` dumps every rank's parameters and normaliser
statistics after each iteration, and the tests compare the dumps.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mimic_lit.callbacks.rank_sync import first_mismatch, synced_state

ROOT = Path(__file__).resolve().parent.parent
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
SAMPLES_PER_RANK_ITERATION = 8 * 8  # --quick: 8 envs x 8 steps


def _fit_ddp(recipe: str, cwd: Path) -> Path:
    """Train ``recipes/<recipe>.yaml --quick`` for its 2 iterations on 2 CPU ranks; returns the dump folder."""
    dump = cwd / "ranks"
    cmd = [
        sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(ROOT / "recipes" / f"{recipe}.yaml"), "--quick",
        "--config", str(ROOT / "configs" / "trainers" / "ddp_cpu.yaml"), *QUIET,
        "--trainer.callbacks+=mimic_lit.callbacks.RankSyncCheck", "--trainer.callbacks.every_n_iterations", "1",
        "--trainer.callbacks.dump_dir", str(dump),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sync_dist=True" not in proc.stderr  # already-reduced statistics do not warn
    assert "did not find any unused parameters" not in proc.stderr  # DeepMimic: plain DDP
    return dump


def _dumps(dump: Path, iteration: int) -> list[dict[str, torch.Tensor]]:
    return [torch.load(dump / f"rank{r}_iter{iteration}.pt", weights_only=True) for r in (0, 1)]


def _assert_ranks_identical_and_updated(dump: Path) -> dict[str, torch.Tensor]:
    first, last = _dumps(dump, 1), _dumps(dump, 2)
    for rank0, rank1 in (first, last):
        assert rank0.keys() == rank1.keys()
        different = [k for k in rank0 if not torch.equal(rank0[k], rank1[k])]
        assert not different, f"ranks differ in {different[:5]}"
    changed = [k for k in first[0] if k.startswith("actor.") and not torch.equal(first[0][k], last[0][k])]
    assert changed, "the actor did not change between iterations 1 and 2"
    return last[0]


@pytest.mark.slow
def test_ddp_deepmimic_two_cpu_ranks(tmp_path: Path):
    dump = _fit_ddp("deepmimic_g1_walk", tmp_path)
    state = _assert_ranks_identical_and_updated(dump)
    # The normaliser saw both ranks' samples: 2 iterations x 2 ranks x 64.
    assert state["obs_normalizer.count"].item() == 2 * 2 * SAMPLES_PER_RANK_ITERATION
    ckpt = torch.load(tmp_path / "runs" / "quick_deepmimic_g1_walk" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 2
    collectors = ckpt["ImitationDataModule"]["collectors"]  # one checkpoint holding every rank's envs
    assert [c["total_samples"] for c in collectors] == [2 * 2 * SAMPLES_PER_RANK_ITERATION] * 2
    assert not torch.equal(collectors[0]["env"]["sim"]["batch_state"], collectors[1]["env"]["sim"]["batch_state"])
    assert torch.equal(ckpt["state_dict"]["actor.mean.weight"], state["actor.mean.weight"])


@pytest.mark.slow
def test_ddp_amp_two_cpu_ranks(tmp_path: Path):
    """AMP steps the discriminator from its own losses: DDP must average those gradients too."""
    dump = _fit_ddp("amp_g1_steering", tmp_path)
    state = _assert_ranks_identical_and_updated(dump)
    assert any(k.startswith("disc.") for k in state)
    assert state["obs_normalizer.count"].item() == 2 * 2 * SAMPLES_PER_RANK_ITERATION
    assert state["disc_normalizer.count"].item() == 2 * 2 * SAMPLES_PER_RANK_ITERATION  # demo samples, all ranks


def test_rank_sync_check_names_the_tensor_that_drifted():
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    state = synced_state(module)
    names, sizes = list(state), [t.numel() for t in state.values()]
    flat = torch.cat([t.reshape(-1).double() for t in state.values()])
    same = torch.stack([flat, flat.clone()])
    assert first_mismatch(names, sizes, same, 0.0) == (0.0, None)
    drifted = same.clone()
    drifted[1, sizes[0] + sizes[1] + 1] += 1e-3  # second layer's weight, on rank 1
    worst, name = first_mismatch(names, sizes, drifted, 0.0)
    assert name == "1.weight" and worst == pytest.approx(1e-3)
    assert first_mismatch(names, sizes, drifted, 1e-2)[1] is None  # within tolerance
    drifted[1, 0] = float("nan")
    assert first_mismatch(names, sizes, drifted, 1e-2)[1] == "0.weight"

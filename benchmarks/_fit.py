"""Shared by the throughput benchmarks: run ``mimic-lit fit`` in a fresh folder and read its speed."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from learn_g1_walk import read_scalars


def fit_throughput(recipe: Path, iterations: int, *extra: str) -> tuple[float, list[float], float]:
    """(median ``perf/samples_per_s`` after the first iteration, every iteration's value, wall seconds)
    of ``mimic-lit fit --config recipe`` for ``iterations`` iterations, no validation, ``extra`` args."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cmd = [
            sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(recipe), *extra,
            "--trainer.max_epochs", str(iterations), "--trainer.limit_val_batches", "0",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
        ]  # fmt: skip
        print(" ".join(cmd[3:]), flush=True)
        subprocess.run(cmd, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        rates = [v for _, v in read_scalars(Path(tmp)).get("perf/samples_per_s", [])]
    if not rates:
        raise SystemExit("the training run logged no perf/samples_per_s")
    return statistics.median(rates[1:] or rates), rates, wall

"""Does data-parallel training scale on CPU? DeepMimic G1 training throughput, 1 vs 2 processes.

Three runs of ``recipes/deepmimic_g1_walk.yaml`` (no validation, same iterations):

- ``1 process, 1 core``: N envs, 1 MuJoCo thread, 1 torch thread (what one DDP rank does alone);
- ``1 process, all cores``: 2N envs, MuJoCo and torch on every core (the single-process default);
- ``DDP``: ``configs/trainers/ddp_cpu.yaml`` (or ``--ranks`` processes, gloo), N envs per rank,
  1 thread each, so the same 2N envs per iteration as the second run.

Samples/s is the median of ``perf/samples_per_s`` (all ranks' samples) after the first iteration.
Scaling efficiency = DDP / (ranks x one-core run). Written into the ``## DDP throughput (CPU)``
section of docs/benchmarks.md.

    python benchmarks/ddp_throughput.py                 # 2 ranks x 128 envs
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from pathlib import Path

from _report import publish  # benchmarks/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fit import fit_throughput  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## DDP throughput (CPU)"
RECIPE = ROOT / "recipes" / "deepmimic_g1_walk.yaml"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs-per-rank", type=int, default=128)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--iterations", type=int, default=8)
    p.add_argument("--no-docs", action="store_true")
    return p.parse_args()


def run(label: str, iterations: int, *extra: str) -> tuple[str, float, list[float], float]:
    """(label, median samples/s after warm-up, every iteration's samples/s, wall s) of one fit."""
    median, rates, wall = fit_throughput(RECIPE, iterations, *extra)
    print(f"[{label}] {median:,.0f} samples/s", flush=True)
    return label, median, rates, wall


def main() -> None:
    args = parse_args()
    n, r, it = args.envs_per_rank, args.ranks, args.iterations
    cores = len(os.sched_getaffinity(0))
    one = run("1 process, 1 core", it, "--data.init_args.sim.num_envs", str(n), "--data.init_args.sim.nthread", "1",
              "--data.init_args.torch_threads", "1")  # fmt: skip
    full = run(f"1 process, {cores} cores", it, "--data.init_args.sim.num_envs", str(r * n),
               "--data.init_args.sim.nthread", str(cores), "--data.init_args.torch_threads", str(cores))  # fmt: skip
    ddp = run(f"DDP, {r} processes x 1 core", it, "--config", str(ROOT / "configs" / "trainers" / "ddp_cpu.yaml"),
              "--trainer.devices", str(r), "--data.init_args.sim.num_envs", str(n))  # fmt: skip
    rows = []
    for (label, median, rates, wall), envs in ((one, n), (full, r * n), (ddp, r * n)):
        rows.append(f"| {label} | {envs} | {median:,.0f} | {min(rates[1:] or rates):,.0f}-{max(rates[1:] or rates):,.0f} | {wall:.0f} |")
    eff = ddp[1] / (r * one[1])
    text = "\n".join([
        SECTION,
        "",
        f"Written by `benchmarks/ddp_throughput.py` on {dt.date.today()}: `recipes/deepmimic_g1_walk.yaml`, {it} "
        f"iterations of 32 steps, no validation, {cores} CPU cores ({platform.machine()}). Samples/s: median of "
        "iterations 2 onwards, all ranks' samples.",
        "",
        "| run | envs per iteration | samples/s | range | wall (s) |",
        "|---|---:|---:|---:|---:|",
        *rows,
        "",
        f"Scaling efficiency of DDP: {ddp[1]:,.0f} / ({r} x {one[1]:,.0f}) = **{100 * eff:.0f} %**; "
        f"DDP vs one process on all cores: {ddp[1] / full[1]:.2f}x.",
        "",
        f"Command: `python benchmarks/ddp_throughput.py --envs-per-rank {n} --ranks {r} --iterations {it}`",
        "",
    ])
    publish(SECTION, text, not args.no_docs)


if __name__ == "__main__":
    main()

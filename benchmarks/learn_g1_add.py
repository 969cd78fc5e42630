"""Learning benchmark: ADD against DeepMimic on the G1 walk clip, at the same sample budget.

Trains ``recipes/deepmimic_g1_walk.yaml`` and ``recipes/add_g1_walk.yaml`` one after the other
for the same number of RL iterations (8192 samples each), exactly as a user would
(``mimic-lit fit``), validating every ``--val-every`` iterations on episodes that start at the
clip's first frame. Reads the TensorBoard logs back and plots, against samples, the tracking
error of the deterministic validation episodes and of the training rollouts, the episode length
and the validation fall rate, both methods side by side. Writes a PNG and the
``## Learning: ADD vs DeepMimic, G1 walk`` section of docs/benchmarks.md (issue 5).

    python benchmarks/learn_g1_add.py --samples 3e6
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import sys
from pathlib import Path

from _report import publish  # benchmarks/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_g1_walk import read_scalars  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Learning: ADD vs DeepMimic, G1 walk"
SAMPLES_PER_ITERATION = 8192  # 256 envs x 32 steps in both recipes
RECIPES = {"DeepMimic": "deepmimic_g1_walk.yaml", "ADD": "add_g1_walk.yaml"}
CURVES = {  # label -> (tag, scale)
    "validation body position error (cm)": ("val/body_pos_err", 100.0),
    "training body position error (cm)": ("env/body_pos_err", 100.0),
    "training episode length (s)": ("episode/length_s", 1.0),
    "validation fall rate (%)": ("val/fall_rate", 100.0),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=float, default=3e6, help="sample budget of each method")
    p.add_argument("--val-every", type=int, default=25, help="validate every this many iterations")
    p.add_argument("--val-episodes", type=int, default=16)
    p.add_argument("--out", default=str(ROOT / "runs" / "learn_g1_add"), help="working folder for logs")
    p.add_argument("--plot", default=str(ROOT / "docs" / "assets" / "learn_g1_add.png"))
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    return p.parse_args()


def train(method: str, iterations: int, args: argparse.Namespace) -> float:
    """Train one recipe for ``iterations`` in its own folder; returns the wall seconds."""
    import subprocess
    import time

    out = Path(args.out) / method.lower()
    out.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("mimic-lit")
    cmd = [
        str(exe), "fit", "--config", str(ROOT / "recipes" / RECIPES[method]),
        "--trainer.max_epochs", str(iterations), "--trainer.check_val_every_n_epoch", str(args.val_every),
        "--data.init_args.val_rand_reset", "false", "--data.init_args.val_episodes", str(args.val_episodes),
    ]  # fmt: skip
    print("running:", " ".join(cmd), f"(in {out})", flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=out, check=True)
    return time.perf_counter() - t0


def curves_of(logdir: Path) -> dict[str, list[tuple[float, float]]]:
    series = read_scalars(logdir)
    samples = dict(series["samples"])
    out = {}
    for label, (tag, scale) in CURVES.items():
        out[label] = [(samples[s], v * scale) for s, v in series.get(tag, []) if s in samples]
    return out


def main() -> None:
    args = parse_args()
    iterations = math.ceil(args.samples / SAMPLES_PER_ITERATION)
    walls = {m: train(m, iterations, args) for m in RECIPES}
    curves = {m: curves_of(Path(args.out) / m.lower()) for m in RECIPES}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVES), figsize=(4.2 * len(CURVES), 3.4))
    for ax, label in zip(axes, CURVES):
        for method, style in zip(RECIPES, ("-", "--")):
            pts = curves[method][label]
            ax.plot([p[0] / 1e6 for p in pts], [p[1] for p in pts], style, lw=1.2, label=method)
        ax.set_xlabel("samples (millions)")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"G1 walk: DeepMimic vs ADD, {iterations * SAMPLES_PER_ITERATION / 1e6:.1f} M samples each (2-core CPU)")
    fig.tight_layout()
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=100)

    def last(method: str, label: str, k: int) -> float:
        vals = [v for _, v in curves[method][label][-k:]]
        return sum(vals) / max(len(vals), 1) if vals else float("nan")

    rows = [
        f"| {m} | {walls[m] / 60:.1f} | {last(m, 'validation body position error (cm)', 1):.1f} | "
        f"{last(m, 'validation fall rate (%)', 1):.0f} | {last(m, 'training body position error (cm)', 10):.1f} | "
        f"{last(m, 'training episode length (s)', 10):.2f} |"
        for m in RECIPES
    ]
    text = "\n".join([
        SECTION,
        "",
        f"Written by `benchmarks/learn_g1_add.py` on {dt.date.today()}: `recipes/deepmimic_g1_walk.yaml` and "
        f"`recipes/add_g1_walk.yaml`, {iterations} iterations ({iterations * SAMPLES_PER_ITERATION / 1e6:.2f} M "
        f"samples) each, on {os.cpu_count()} CPU cores ({platform.machine()}). Validation: {args.val_episodes} "
        "deterministic episodes from the clip's first frame, every "
        f"{args.val_every} iterations. Training values: mean of the last 10 iterations.",
        "",
        f"![DeepMimic vs ADD](assets/{Path(args.plot).name})",
        "",
        "| method | wall (min) | final validation body error (cm) | final validation falls (%) | "
        "training body error (cm) | training episode length (s) |",
        "|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Command: `python benchmarks/learn_g1_add.py --samples {args.samples:g}`",
        "",
    ])
    publish(SECTION, text, not args.no_docs)


if __name__ == "__main__":
    main()

"""Learning benchmark of the flat dribble recipe: ``recipes/amp_g1_dribble_flat.yaml`` for a wall-clock budget.

Runs ``mimic-lit fit`` exactly as a user would, with ``--trainer.max_time``, then reads the
TensorBoard logs and records, per RL iteration of the training rollouts (stochastic policy):
episode success rate (the ball reached the goal), fall rate, mean ball-to-goal distance over all
steps, and the discriminator (style) reward. Writes a PNG and the ``## Learning: flat AMP G1 dribble``
section of docs/benchmarks.md. Issue 4's goal: >= 50 % success with < 10 % falls within 2 hours
on the 2-core CPU machine.

    python benchmarks/learn_g1_dribble_flat.py --minutes 120
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
from learn_g1_walk import fit_with_budget, read_scalars  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Learning: flat AMP G1 dribble"
CURVES = {  # label -> (tag, scale)
    "success rate (%)": ("episode/success_rate", 100.0),
    "fall rate (%)": ("episode/fall_rate", 100.0),
    "ball-goal distance (m)": ("env/goal_ball_dist", 1.0),
    "style reward": ("rollout/disc_reward", 1.0),
    "episode length (s)": ("episode/length_s", 1.0),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=120.0, help="wall-clock training budget")
    p.add_argument("--recipe", default=str(ROOT / "recipes" / "amp_g1_dribble_flat.yaml"))
    p.add_argument("--out", default=str(ROOT / "runs" / "learn_g1_dribble"), help="working folder for logs")
    p.add_argument("--plot", default=str(ROOT / "docs" / "assets" / "learn_g1_dribble.png"))
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    p.add_argument("extra", nargs="*", help="extra `mimic-lit fit` arguments")
    return p.parse_args()


def run(args: argparse.Namespace) -> float:
    """Train the recipe without validation runs (the curve comes from the training rollouts)."""
    return fit_with_budget(args.recipe, args.minutes, args.out, ["--trainer.check_val_every_n_epoch", "1000000", *args.extra])


def main() -> None:
    args = parse_args()
    wall = run(args)
    series = read_scalars(Path(args.out))
    if "samples" not in series:
        raise SystemExit(f"no 'samples' series; available: {sorted(series)}")
    samples = dict(series["samples"])
    missing = [tag for tag, _ in CURVES.values() if tag not in series]
    if missing:
        raise SystemExit(f"series {missing} not logged; available: {sorted(series)}")
    curves = {
        label: [(samples[s], v * scale) for s, v in series[tag] if s in samples] for label, (tag, scale) in CURVES.items()
    }

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 3.4))
    for ax, (label, points) in zip(axes, curves.items()):
        ax.plot([p[0] / 1e6 for p in points], [p[1] for p in points], lw=1)
        ax.set_xlabel("samples (millions)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    fig.suptitle(f"AMP G1 dribble on a 2-core CPU: {wall / 60:.0f} min, training rollouts (stochastic policy)")
    fig.tight_layout()
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=100)

    def last(label: str, k: int = 10) -> float:
        vals = [v for _, v in curves[label][-k:]]
        return sum(vals) / max(len(vals), 1)

    n_iter = len(curves["success rate (%)"])
    every = max(1, n_iter // 15)
    rows = [
        f"| {curves['success rate (%)'][i][0] / 1e6:.2f} | "
        + " | ".join(f"{curves[label][i][1]:.2f}" for label in CURVES)
        + " |"
        for i in list(range(0, n_iter, every))[:-1] + [n_iter - 1]
    ]
    total_samples = max(samples.values())
    text = "\n".join([
        SECTION,
        "",
        f"Written by `benchmarks/learn_g1_dribble_flat.py` on {dt.date.today()}: `recipes/amp_g1_dribble_flat.yaml` trained for "
        f"{wall / 60:.1f} min of wall time ({total_samples / 1e6:.2f} M samples) on {os.cpu_count()} CPU cores "
        f"({platform.machine()}). Numbers are from the training rollouts (stochastic policy), per iteration.",
        "",
        f"Last 10 iterations: success {last('success rate (%)'):.1f} %, falls {last('fall rate (%)'):.1f} %, "
        f"ball-goal distance {last('ball-goal distance (m)'):.2f} m, style reward {last('style reward'):.3f}, "
        f"episode length {last('episode length (s)'):.2f} s. Goal (issue 4): >= 50 % success with < 10 % falls "
        "within 2 hours.",
        "",
        f"![learning curve](assets/{Path(args.plot).name})",
        "",
        "| samples (M) | " + " | ".join(CURVES) + " |",
        "|---:|" + "---:|" * len(CURVES),
        *rows,
        "",
        f"Command: `python benchmarks/learn_g1_dribble_flat.py --minutes {args.minutes:g}`",
        "",
    ])
    publish(SECTION, text, not args.no_docs)


if __name__ == "__main__":
    main()

"""Learning-quality benchmark: train ``recipes/deepmimic_g1_walk.yaml`` for a fixed wall-clock budget.

Runs the recipe exactly as a user would (``mimic-lit fit``) with ``--trainer.max_time``, then reads
the TensorBoard logs back and records the learning curve (samples, mean episode length in seconds,
mean per-body position error in cm, fall rate) as a PNG and as a section of ``docs/benchmarks.md``.
The goal stated in issue 3: >= 90 % of validation episodes complete the clip without falling, with a
mean body position error <= 10 cm, after 60 minutes on the 2-core CPU machine.

    pip install -e ".[bench]"
    python benchmarks/learn_g1_walk.py --minutes 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from _report import publish  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Learning: DeepMimic G1 walk"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget")
    p.add_argument("--recipe", default=str(ROOT / "recipes" / "deepmimic_g1_walk.yaml"))
    p.add_argument("--out", default=str(ROOT / "runs" / "learn_g1_walk"), help="working folder for logs and checkpoints")
    p.add_argument("--plot", default=str(ROOT / "docs" / "assets" / "learn_g1_walk.png"))
    p.add_argument("--val-episodes", type=int, default=32, help="validation episodes, each from the clip's first frame")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    p.add_argument("extra", nargs="*", help="extra `mimic-lit fit` arguments, e.g. --trainer.check_val_every_n_epoch 10")
    return p.parse_args()


def fit_with_budget(recipe: str, minutes: float, out: str | Path, extra: list[str]) -> float:
    """``mimic-lit fit --config recipe --trainer.max_time ...`` in ``out`` (relative paths of the recipe
    resolve there); returns the wall seconds. Shared by the learning benchmarks."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    total = int(round(minutes * 60))
    max_time = f"00:{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    exe = Path(sys.executable).with_name("mimic-lit")
    cmd = [str(exe), "fit", "--config", str(Path(recipe).resolve()), "--trainer.max_time", max_time, *extra]
    print("running:", " ".join(cmd), f"(in {out})", flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=out, check=True)
    return time.perf_counter() - t0


def run_fit(args: argparse.Namespace) -> float:
    """Train the recipe; validation episodes start at the first frame, so "no fall" means the whole clip."""
    val = ["--data.init_args.val_rand_reset", "false", "--data.init_args.val_episodes", str(args.val_episodes)]
    return fit_with_budget(args.recipe, args.minutes, args.out, [*val, *args.extra])


def read_scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    """All scalar series of every TensorBoard event file below ``logdir``, keyed by tag."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    series: dict[str, list[tuple[int, float]]] = {}
    for events in sorted(logdir.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events.parent), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            series.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return {k: sorted(v) for k, v in series.items()}


def find(series: dict[str, list[tuple[int, float]]], *patterns: str) -> str | None:
    """The first tag matching one of the regex ``patterns`` (tags differ slightly across loggers)."""
    for pat in patterns:
        for tag in series:
            if re.fullmatch(pat, tag):
                return tag
    return None


def main() -> None:
    args = parse_args()
    wall = run_fit(args)
    series = read_scalars(Path(args.out))
    samples_tag = find(series, r"train/samples", r".*samples(_total)?")
    tags = {
        "episode length (s)": find(series, r"val/episode_length_s", r"val/episode_length.*"),
        "body position error (cm)": find(series, r"val/body_pos_err", r"val/.*body_pos.*"),
        "fall rate": find(series, r"val/fall_rate", r"val/.*fall.*"),
    }
    if samples_tag is None or any(v is None for v in tags.values()):
        raise SystemExit(f"expected tags not found; available: {sorted(series)}")
    step_to_samples = dict(series[samples_tag])
    steps_sorted = sorted(step_to_samples)

    def samples_at(step: int) -> float:
        # the validation step index is a global step: use the last training sample count at or before it
        import bisect

        i = bisect.bisect_right(steps_sorted, step) - 1
        return step_to_samples[steps_sorted[max(i, 0)]]

    curve = {name: [(samples_at(s), v) for s, v in series[tag]] for name, tag in tags.items()}
    scale = {"body position error (cm)": 100.0}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, (name, points) in zip(axes, curve.items()):
        xs = [p[0] / 1e6 for p in points]
        ys = [p[1] * scale.get(name, 1.0) for p in points]
        ax.plot(xs, ys, marker="o", ms=3)
        ax.set_xlabel("samples (millions)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.suptitle(f"DeepMimic G1 walk on a 2-core CPU: {wall / 60:.0f} min, validation episodes (deterministic policy)")
    fig.tight_layout()
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=110)
    print("wrote", args.plot)

    final = {name: points[-1][1] * scale.get(name, 1.0) for name, points in curve.items()}
    total_samples = max(v for _, v in series[samples_tag])
    rows = []
    for i, (x, _) in enumerate(curve["episode length (s)"]):
        rows.append(
            f"| {x / 1e6:.2f} | {curve['episode length (s)'][i][1]:.2f} | "
            f"{100 * curve['body position error (cm)'][i][1]:.1f} | {100 * curve['fall rate'][i][1]:.0f} % |"
        )
    text = "\n".join(
        [
            SECTION,
            "",
            f"Written by `benchmarks/learn_g1_walk.py` on {dt.date.today()}: `{args.recipe}` trained for "
            f"{wall / 60:.1f} min of wall time ({total_samples / 1e6:.2f} M samples) on {os.cpu_count()} CPU cores "
            f"({platform.processor() or platform.machine()}). Validation: {args.val_episodes} deterministic episodes, "
            "each starting at the clip's first frame, so an episode without a fall walked the whole clip.",
            "",
            f"Final: mean episode length {final['episode length (s)']:.2f} s, mean body position error "
            f"{final['body position error (cm)']:.1f} cm, fall rate {100 * final['fall rate']:.0f} %. "
            "Goal: fall rate <= 10 % with error <= 10 cm.",
            "",
            f"![learning curve](assets/{Path(args.plot).name})",
            "",
            "| samples (M) | episode length (s) | body pos. error (cm) | falls |",
            "|---:|---:|---:|---:|",
            *rows,
            "",
            f"Command: `python benchmarks/learn_g1_walk.py --minutes {args.minutes:g}`",
            "",
        ]
    )
    publish(SECTION, text, not args.no_docs)




if __name__ == "__main__":
    main()

"""Learning benchmark: does cleaning a retargeted clip make it easier to track? (issue 6)

Takes a raw G1 clip (default: the shipped ``g1/asap_walk_level4``, a video-based retarget whose
feet float 5 cm and slide 6 cm per stance; or, with ``--bvh``, a human BVH clip retargeted by
``mimic-lit retarget --source bvh``), cleans a copy (``mimic-lit clean-motion``), then trains ``recipes/deepmimic_g1_walk.yaml``
on each for the same number of iterations and compares how often episodes end early (falls or
lost tracking) and how long they last, from the training rollouts, plus a final deterministic
validation. Writes a PNG and the ``## Learning: cleaned vs raw retarget`` section of
docs/benchmarks.md.

    python benchmarks/learn_clean_vs_raw.py --samples 4e6
    python benchmarks/learn_clean_vs_raw.py --bvh ../shared/data/human_mocap/cmu_bvh/10_04.bvh --samples 2e6

Each source writes its own section, so the BVH and the shipped-clip runs sit side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

from _report import publish  # benchmarks/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_g1_walk import read_scalars  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION_BVH = "## Learning: cleaned vs raw retarget"  # shipped clips: "## Learning: cleaned vs raw clip (<name>)"
SAMPLES_PER_ITERATION = 8192
CURVES = {  # label -> (tag, scale)
    "early terminations (% of episodes)": ("episode/fall_rate", 100.0),
    "episode length (s)": ("episode/length_s", 1.0),
    "body position error (cm)": ("env/body_pos_err", 100.0),
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--clip", default="g1/asap_walk_level4", help="raw G1 clip: shipped name or .npz file")
    src.add_argument("--bvh", help="human BVH clip to retarget to the G1 instead of --clip")
    p.add_argument("--samples", type=float, default=2e6, help="sample budget of each run")
    p.add_argument("--out", default=str(ROOT / "runs" / "learn_clean_vs_raw"))
    p.add_argument("--plot", default=None, help="PNG path (default: docs/assets/learn_clean_vs_raw[_<clip>].png)")
    p.add_argument("--seed", type=int, default=0, help="seed_everything and the data module's seed of both runs")
    p.add_argument("--episodes", type=int, default=64, help="random-start evaluation episodes per policy")
    p.add_argument("--reuse", action="store_true", help="evaluate and report finished runs in --out, do not train")
    p.add_argument("--no-docs", action="store_true")
    return p.parse_args()


def cli(*args: str, cwd: Path | None = None) -> None:
    exe = Path(sys.executable).with_name("mimic-lit")
    print("running: mimic-lit", " ".join(args), flush=True)
    subprocess.run([str(exe), *args], cwd=cwd, check=True)


def training_wall(run_dir: Path) -> float:
    """Seconds between the first and the last TensorBoard event of the run (training and validation)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    times = []
    for events in run_dir.rglob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events.parent), size_guidance={"scalars": 0})
        acc.Reload()
        times += [e.wall_time for tag in acc.Tags()["scalars"] for e in acc.Scalars(tag)]
    return max(times) - min(times) if times else float("nan")


def random_start_eval(run_dir: Path, episodes: int) -> dict[str, float]:
    """Deterministic policy, ``episodes`` episodes started at random times of its own clip
    (``Trainer.validate``, as ``mimic-lit validate`` runs it): fall rate, length, body error."""
    from lightning import Trainer

    from mimic_lit.checkpoint import load_policy

    run = next(run_dir.rglob("checkpoints/last.ckpt")).parent.parent
    n = min(episodes, 16)
    model, data = load_policy(str(run / "lightning_logs" / "version_0" / "config.yaml"), str(run / "checkpoints" / "last.ckpt"),
                              {"sim.num_envs": n, "eval_episodes": episodes, "val_rand_reset": True, "val_num_envs": n})
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    out = trainer.validate(model, datamodule=data, verbose=False)[0]
    return {k: float(v) for k, v in out.items()}


def main() -> None:
    args = parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    raw, clean = out / "raw.npz", out / "clean.npz"
    if args.bvh:
        cli("retarget", "--source", "bvh", "--robot", "g1", "--in", args.bvh, "--out", str(raw), "--overwrite")
        source, kind = Path(args.bvh).name, "bvh"
    else:
        from mimic_lit.commands._motion_arg import load_motion_arg

        load_motion_arg(args.clip, "g1").save(raw)
        source, kind = args.clip, "clip"
    cli("check-motion", "--motion", str(raw), "--report-only")
    cli("clean-motion", "--in", str(raw), "--out", str(clean), "--overwrite")
    if args.plot is None:  # one picture per source, so the sections of several runs keep theirs
        suffix = "" if kind == "bvh" else "_" + Path(source).stem
        args.plot = str(ROOT / "docs" / "assets" / f"learn_clean_vs_raw{suffix}.png")
    heading = SECTION_BVH if kind == "bvh" else f"## Learning: cleaned vs raw clip ({Path(source).stem})"
    iterations = math.ceil(args.samples / SAMPLES_PER_ITERATION)
    walls, curves = {}, {}
    for label, clip in (("raw", raw), ("cleaned", clean)):
        run_dir = out / label
        run_dir.mkdir(exist_ok=True)
        if not args.reuse:
            cli("fit", "--config", str(ROOT / "recipes" / "deepmimic_g1_walk.yaml"), "--trainer.max_epochs",
                str(iterations), "--trainer.check_val_every_n_epoch", str(iterations), "--data.init_args.task.motion",
                str(clip), "--data.init_args.val_rand_reset", "false", "--seed_everything", str(args.seed),
                "--data.init_args.seed", str(args.seed), cwd=run_dir)  # fmt: skip
        walls[label] = training_wall(run_dir)
        series = read_scalars(run_dir)
        samples = dict(series["samples"])
        curves[label] = {
            name: [(samples[s], v * scale) for s, v in series.get(tag, []) if s in samples]
            for name, (tag, scale) in CURVES.items()
        }
        curves[label]["val"] = {k: series[k][-1][1] for k in ("val/fall_rate", "val/episode_length_s", "val/body_pos_err") if k in series}
        curves[label]["eval"] = random_start_eval(run_dir, args.episodes)
        print(label, "random-start evaluation:", curves[label]["eval"], flush=True)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVES), figsize=(4.4 * len(CURVES), 3.4))
    for ax, name in zip(axes, CURVES):
        for label, style in (("raw", "--"), ("cleaned", "-")):
            pts = curves[label][name]
            ax.plot([p[0] / 1e6 for p in pts], [p[1] for p in pts], style, lw=1.2, label=label)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("samples (millions)")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"DeepMimic on the G1 tracking {Path(source).stem}: raw vs cleaned")
    fig.tight_layout()
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=100)

    def mean_last(label: str, name: str, k: int = 10) -> float:
        vals = [v for _, v in curves[label][name][-k:]]
        return sum(vals) / max(len(vals), 1)

    rows = []
    for label in ("raw", "cleaned"):
        val, ev = curves[label]["val"], curves[label]["eval"]
        rows.append(
            f"| {label} | {walls[label] / 60:.1f} | {mean_last(label, 'early terminations (% of episodes)'):.1f} | "
            f"{mean_last(label, 'episode length (s)'):.2f} | {100 * val.get('val/fall_rate', float('nan')):.0f} | "
            f"{val.get('val/episode_length_s', float('nan')):.2f} | {100 * val.get('val/body_pos_err', float('nan')):.1f} | "
            f"{100 * ev.get('val/fall_rate', float('nan')):.0f} | {ev.get('val/episode_length_s', float('nan')):.2f} | "
            f"{100 * ev.get('val/body_pos_err', float('nan')):.1f} |"
        )
    text = "\n".join([
        heading,
        "",
        f"Written by `benchmarks/learn_clean_vs_raw.py` on {dt.date.today()}: "
        + (f"`{source}` retargeted to the G1 (`mimic-lit retarget --source bvh`)" if kind == "bvh" else f"the G1 clip `{source}`")
        + ", cleaned by `mimic-lit clean-motion`; then the same `recipes/deepmimic_g1_walk.yaml` trained "
        f"{iterations} iterations ({iterations * SAMPLES_PER_ITERATION / 1e6:.2f} M samples) on the raw and on the "
        f"cleaned clip, {os.cpu_count()} CPU cores ({platform.machine()}). Training values: mean of the last 10 "
        "iterations; validation: the deterministic policy from the clip's first frame (one trajectory); random start: "
        f"the deterministic policy in {args.episodes} episodes started at random times of its own clip.",
        "",
        f"![cleaned vs raw](assets/{Path(args.plot).name})",
        "",
        "| clip | wall (min) | early terminations (%) | episode length (s) | validation falls (%) | "
        "validation episode (s) | validation body error (cm) | random-start falls (%) | random-start episode (s) | "
        "random-start body error (cm) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Command: `python benchmarks/learn_clean_vs_raw.py "
        + (f"--bvh {args.bvh} " if kind == "bvh" else f"--clip {args.clip} ")
        + f"--samples {args.samples:g}" + (f" --seed {args.seed}" if args.seed else "") + "`",
        "",
    ])
    publish(heading, text, not args.no_docs)


if __name__ == "__main__":
    main()

"""Learning benchmark of ASE: how different the motions of different latents become over training.

Trains an ASE recipe (default ``recipes/ase_humanoid.yaml``) for a wall-clock budget, keeping a
checkpoint every ``--every`` iterations. Each checkpoint is then played from one start state with
``--latents`` fixed latents (one per environment, deterministic policy, up to ``--seconds``) and
scored by :func:`mimic_lit.metrics.diversity.latent_diversity`: the mean pairwise distance of the
body trajectories. Plots diversity, rollout length and the style/encoder rewards against samples,
and writes the ``## Learning: ASE skill diversity`` section of docs/benchmarks.md (issue 5).

    python benchmarks/learn_ase_diversity.py --minutes 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
from pathlib import Path

import yaml
from _report import publish  # benchmarks/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_g1_walk import fit_with_budget, read_scalars  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Learning: ASE skill diversity"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0, help="wall-clock training budget")
    p.add_argument("--recipe", default=str(ROOT / "recipes" / "ase_humanoid.yaml"))
    p.add_argument("--every", type=int, default=25, help="keep a checkpoint every this many iterations")
    p.add_argument("--latents", type=int, default=8, help="latents compared per checkpoint")
    p.add_argument("--seconds", type=float, default=3.0, help="length of each diversity rollout")
    p.add_argument("--out", default=str(ROOT / "runs" / "learn_ase_diversity"), help="working folder")
    p.add_argument("--plot", default=str(ROOT / "docs" / "assets" / "learn_ase_diversity.png"))
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    return p.parse_args()


def periodic_recipe(recipe: Path, out: Path, every: int) -> Path:
    """The recipe plus a ``ModelCheckpoint`` keeping ``checkpoints/epoch=<k>.ckpt`` every ``every``
    iterations (next to the run folder; the recipe's own ``last.ckpt`` is unchanged)."""
    data = yaml.safe_load(recipe.read_text())
    data["trainer"].setdefault("callbacks", []).append({
        "class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
        "init_args": {"save_top_k": -1, "every_n_epochs": every, "filename": "{epoch}", "dirpath": "checkpoints",
                      "save_on_train_epoch_end": True},
    })
    path = out / f"periodic_{recipe.name}"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def score(recipe: Path, ckpt: Path, args: argparse.Namespace):
    import torch

    from mimic_lit.envs.ase import sample_unit_latents
    from mimic_lit.metrics.diversity import latent_diversity
    from mimic_lit.checkpoint import load_policy

    model, dm = load_policy(recipe, ckpt, {"sim.num_envs": args.latents, "sim.nthread": 1})
    env = dm.build_env(args.latents, 0, rand_reset=False)
    latents = sample_unit_latents(args.latents, env.latent_dim, torch.Generator().manual_seed(0), env.device, torch.float32)
    return latent_diversity(model, env, latents, int(round(args.seconds / env.control_dt)))


def main() -> None:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    recipe = periodic_recipe(Path(args.recipe), out, args.every)
    wall = fit_with_budget(str(recipe), args.minutes, out, ["--trainer.check_val_every_n_epoch", "1000000"])
    series = read_scalars(out)
    samples = dict(series["samples"])
    per_iteration = samples[min(samples)]
    points = []
    for ckpt in sorted((out / "checkpoints").glob("epoch=*.ckpt"), key=lambda p: int(re.findall(r"\d+", p.stem)[0])):
        epoch = int(re.findall(r"\d+", ckpt.stem)[0])
        result = score(Path(args.recipe), ckpt, args)
        points.append(((epoch + 1) * per_iteration, result))
        print(f"epoch {epoch}: diversity {result.mean_pairwise_distance:.3f} m over {result.steps} steps", flush=True)
    if not points:
        raise SystemExit("no checkpoints were written: train longer or lower --every")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rewards = {
        label: [(samples[s], v) for s, v in series.get(tag, []) if s in samples]
        for label, tag in (("style reward", "rollout/disc_reward"), ("encoder reward", "rollout/enc_reward"))
    }
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[0].plot([p[0] / 1e6 for p in points], [p[1].mean_pairwise_distance for p in points], "o-")
    axes[0].set_title(f"diversity: mean pairwise body distance (m), {args.latents} latents")
    axes[1].plot([p[0] / 1e6 for p in points], [p[1].steps * 1.0 for p in points], "o-")
    axes[1].set_title("common rollout length (steps)")
    for label, pts in rewards.items():
        axes[2].plot([p[0] / 1e6 for p in pts], [p[1] for p in pts], lw=1, label=label)
    axes[2].legend()
    axes[2].set_title("rewards (training rollouts)")
    for ax in axes:
        ax.set_xlabel("samples (millions)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{Path(args.recipe).name} on a 2-core CPU, {wall / 60:.0f} min")
    fig.tight_layout()
    Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=100)

    rows = [f"| {s / 1e6:.2f} | {r.mean_pairwise_distance:.3f} | {r.steps} |" for s, r in points]
    text = "\n".join([
        SECTION,
        "",
        f"Written by `benchmarks/learn_ase_diversity.py` on {dt.date.today()}: `{Path(args.recipe).name}` trained "
        f"for {wall / 60:.1f} min ({max(samples.values()) / 1e6:.2f} M samples) on {os.cpu_count()} CPU cores "
        f"({platform.machine()}). Each checkpoint plays {args.latents} fixed latents from one start state for up to "
        f"{args.seconds:g} s (deterministic policy); diversity is the mean pairwise distance of their body "
        "trajectories, over the steps all of them lasted.",
        "",
        f"![ASE diversity](assets/{Path(args.plot).name})",
        "",
        "| samples (M) | diversity (m) | common steps |",
        "|---:|---:|---:|",
        *rows,
        "",
        f"Command: `python benchmarks/learn_ase_diversity.py --minutes {args.minutes:g}`",
        "",
    ])
    publish(SECTION, text, not args.no_docs)


if __name__ == "__main__":
    main()

"""Export benchmark: a trained checkpoint exported to ONNX, checked against the torch policy, and run
in plain MuJoCo (``mimic-lit sim2sim``) against ``mimic-lit validate`` of the same checkpoint.

Two comparisons, each on the same episodes in both: every episode from the clip's first frame
(deterministic, so one episode), and ``--episodes`` from random clip times (validation draws its
start times with its own generator, sim2sim with its own: the same distribution, not the same
draws). Writes the ``## Export and sim2sim`` section of docs/benchmarks.md (issue 7).

    python benchmarks/learn_g1_walk.py --minutes 60      # makes the checkpoint (or pass --ckpt)
    python benchmarks/export_sim2sim.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

from _report import publish  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Export and sim2sim"
RUN = ROOT / "runs" / "learn_g1_walk" / "runs" / "deepmimic_g1_walk"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(RUN / "lightning_logs" / "version_0" / "config.yaml"), help="recipe of the checkpoint")
    p.add_argument("--ckpt", default=str(RUN / "checkpoints" / "last.ckpt"), help="checkpoint to export")
    p.add_argument("--episodes", type=int, default=32, help="random-start episodes of each")
    p.add_argument("--out", default=str(ROOT / "runs" / "export_sim2sim"), help="working folder")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    return p.parse_args()


def validate(config: str, ckpt: str, episodes: int, rand_reset: bool) -> dict[str, float]:
    """``mimic-lit validate``'s numbers for the checkpoint (Trainer.validate on the recipe's data module)."""
    from lightning import Trainer

    from mimic_lit.checkpoint import load_policy

    n = min(episodes, 16)
    model, data = load_policy(config, ckpt, {"sim.num_envs": n, "eval_episodes": episodes, "val_rand_reset": rand_reset,
                                             "val_num_envs": n})
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    out = trainer.validate(model, datamodule=data, verbose=False)[0]
    return {k.removeprefix("val/"): float(v) for k, v in out.items()}


def main() -> None:
    args = parse_args()
    from mimic_lit.export import export_checkpoint
    from mimic_lit.export.sim2sim import Sim2Sim

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = export_checkpoint(args.config, args.ckpt, "onnx", out / "policy.onnx", check_samples=1000)
    export_s = time.perf_counter() - start
    runner = Sim2Sim(result.path)
    rows = []
    for label, rand, n in (("first frame, 1 episode", False, 1), (f"random start, {args.episodes} episodes", True, args.episodes)):
        framework = validate(args.config, args.ckpt, n, rand)
        s2s = runner.evaluate(n, random_start=rand, seed=0).summary()
        rows.append((label, framework, s2s))
        print(label, framework, s2s, flush=True)

    def cell(f: dict, s: dict, key: str, scale: float, fmt: str) -> str:
        a, b = f[key] * scale, s[key] * scale
        rel = f" ({100 * (b - a) / a:+.1f} %)" if a else ""
        return f"{a:{fmt}} / {b:{fmt}}{rel}"

    table = [
        "| episodes | body error (cm) | joint error (rad) | root error (cm) | episode length (s) | falls |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, f, s in rows:
        table.append(
            f"| {label} | {cell(f, s, 'body_pos_err', 100, '.2f')} | {cell(f, s, 'joint_err', 1, '.3f')} | "
            f"{cell(f, s, 'root_pos_err', 100, '.2f')} | {f['episode_length_s']:.2f} / {s['episode_length_s']:.2f} | "
            f"{f['fall_rate']:.0%} / {s['fall_rate']:.0%} |"
        )
    size = result.path.stat().st_size / 1024
    text = "\n".join([
        SECTION,
        "",
        f"Written by `benchmarks/export_sim2sim.py` on {dt.date.today()} ({os.cpu_count()} CPU cores, "
        f"{platform.machine()}): the DeepMimic G1 walk checkpoint of the learning benchmark above, exported "
        f"with `mimic-lit export` to ONNX ({size:.0f} KiB, {export_s:.0f} s including the check). Its actions "
        f"differ from the torch policy's by at most {result.max_abs_diff:.1e} on {result.checked} observations "
        "(half from a rollout, half random).",
        "",
        "Each cell is `mimic-lit validate` / `mimic-lit sim2sim` (onnxruntime, one plain MuJoCo `MjData`, "
        "no Lightning) on the same checkpoint; errors are averaged over every step, as validation does. "
        "From the first frame both play the same deterministic episode; from random starts each draws "
        "its own start times.",
        "",
        *table,
        "",
        "Command: `python benchmarks/export_sim2sim.py`",
        "",
    ])
    publish(SECTION, text, not args.no_docs)


if __name__ == "__main__":
    main()

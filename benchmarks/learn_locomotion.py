"""Learning benchmark of a command-following walk (``recipes/amp_<robot>_locomotion.yaml``).

Trains (or continues, ``--ckpt_path last``) the recipe for ``--minutes`` of wall time, then
evaluates its checkpoint on ``--episodes`` episodes of 20 s from the standing pose, with
commands drawn from the recipe's ranges and redrawn every 3-6 s, exactly as the ball policy
will use the walk. Reports the mean forward-speed, lateral-speed and yaw-rate errors and the
fall rate with 95 % intervals, draws the training curve, and writes the
``## Learning: <ROBOT> command walk`` section of docs/benchmarks.md and
docs/results/learn_<robot>_locomotion.json. With ``--ship`` and the goal met, the walk is
exported as the package's skill file (``shipped:skills/amp_<robot>_locomotion.ckpt``).

    python benchmarks/learn_locomotion.py --robot k1 --minutes 120
    python benchmarks/learn_locomotion.py --robot k1 --minutes 0     # evaluate the run as it is
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _evaluate import build_eval_env, evaluate, mean_ci, pct, run_cost, write_result  # noqa: E402
from _report import publish  # noqa: E402
from learn_g1_walk import read_scalars  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: the acceptance goal of a walk a ball policy can steer
GOAL = {"cmd_vx_err": 0.15, "cmd_yaw_rate_err": 0.2, "fall_rate": 0.05}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--robot", choices=("k1", "g1"), default="k1")
    p.add_argument("--minutes", type=float, default=0.0, help="train (or continue) this long first; 0: evaluate only")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--run", default=None, help="run folder (default: runs/amp_<robot>_locomotion, the recipe's)")
    p.add_argument("--fit-args", default="", help="extra `mimic-lit fit` options the run was started with (quoted)")
    p.add_argument("--ship", action="store_true", help="export the walk into the package when the goal is met")
    p.add_argument("--note", default="", help="a sentence on the run's history for the docs (e.g. a setting changed when resumed)")
    p.add_argument("--started-from", default=None, metavar="RUN",
                   help="run folder whose networks started this run (init_from): its samples and time count too")
    p.add_argument("--no-docs", action="store_true", help="print, do not write docs/")
    return p.parse_args()


def train(recipe: Path, run_dir: Path, minutes: float, *extra: str) -> None:
    """``mimic-lit fit`` for ``minutes`` (continued from the run's last.ckpt if there is one), stopped by SIGINT."""
    cmd = [sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(recipe), "--trainer.enable_progress_bar", "false", *extra]
    if (run_dir / "checkpoints" / "last.ckpt").is_file():
        cmd += ["--ckpt_path", "last"]
    proc = subprocess.Popen(cmd, cwd=ROOT)
    try:
        proc.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        proc.send_signal(2)  # saves at the end of the iteration and stops
        proc.wait()


def plot(run_dir: Path, out: Path, robot: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = read_scalars(run_dir)
    samples = dict(series.get("samples", []))
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, (tags, title) in zip(
        axes,
        [
            (("env/cmd_vx_err", "env/cmd_yaw_rate_err"), "command error (training)"),
            (("episode/fall_rate",), "fall rate (training)"),
            (("rollout/disc_reward",), "style reward"),
        ],
    ):
        for tag in tags:
            points = [(samples.get(step), v) for step, v in series.get(tag, []) if step in samples]
            if points:
                xs, ys = zip(*points)
                ax.plot([x / 1e6 for x in xs], ys, label=tag.split("/")[-1], lw=0.8)
        ax.set_title(title)
        ax.set_xlabel("samples (M)")
        ax.legend(fontsize=7)
    fig.suptitle(f"{robot.upper()} command walk")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    args = parse_args()
    name = f"amp_{args.robot}_locomotion"
    recipe = ROOT / "recipes" / f"{name}.yaml"
    run_dir = Path(args.run).resolve() if args.run else ROOT / "runs" / name
    extra = args.fit_args.split()
    if args.minutes > 0:
        train(recipe, run_dir, args.minutes, *extra, "--trainer.default_root_dir", str(run_dir))
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        raise SystemExit(f"no checkpoint at {ckpt}: train first (--minutes)")
    cost = run_cost(run_dir)
    earlier = run_cost(Path(args.started_from)) if args.started_from else None
    if earlier is not None:  # the walk's total cost includes the run its networks came from
        cost = {k: cost[k] + earlier[k] for k in cost}

    from mimic_lit.checkpoint import load_policy

    t0 = time.perf_counter()
    policy, _ = load_policy(recipe, ckpt)  # the evaluation uses the recipe's command ranges and starts
    env = build_eval_env(recipe, min(args.episodes, 100), {"task.default_reset_prob": 1.0, "task.episode_length": 20.0})
    result = evaluate(env, policy, args.episodes)
    eval_s = time.perf_counter() - t0
    met = all(result[k] <= v for k, v in GOAL.items())
    if not args.no_docs:
        plot(run_dir, ROOT / "docs" / "assets" / f"learn_{args.robot}_locomotion.png", args.robot)
    record = {
        "benchmark": f"learn_{args.robot}_locomotion", "date": str(dt.date.today()), "recipe": f"recipes/{name}.yaml",
        "samples": cost["samples"], "wall_minutes": round(cost["wall_minutes"], 1), "goal": GOAL, "goal_met": met,
        "start": "standing, 20 s episodes, commands redrawn every 3-6 s",
        "started_from": None if earlier is None else {"run": Path(args.started_from).name, **earlier},
        "note": args.note or None, **result,
    }  # fmt: skip
    if not args.no_docs:
        write_result(ROOT / "docs" / "results" / f"learn_{args.robot}_locomotion.json", record)
    if args.ship and met:
        out = ROOT / "mimic_lit" / "data" / "skills" / f"{name}.ckpt"
        subprocess.run([sys.executable, "-m", "mimic_lit.cli", "export", "--config", str(recipe), "--ckpt_path", str(ckpt),
                        "--format", "skill", "--out", str(out), "--overwrite"], check=True, cwd=ROOT)
    robot = args.robot.upper()
    text = "\n".join([
        f"## Learning: {robot} command walk",
        "",
        f"Written by `benchmarks/learn_locomotion.py --robot {args.robot}` on {dt.date.today()}: `recipes/{name}.yaml` "
        f"trained for {cost['samples'] / 1e6:.2f} M samples in {cost['wall_minutes']:.0f} min of training wall time "
        f"({cost['iterations']} iterations, possibly over several sessions, resumed with `--ckpt_path last`) on "
        f"{platform.machine()} CPU cores shared with other work"
        + (
            f", counting {earlier['samples'] / 1e6:.2f} M samples ({earlier['wall_minutes']:.0f} min) of the run its networks "
            "started from (`--model.init_args.init_from`), trained with an earlier version of the recipe"
            if earlier is not None
            else ""
        )
        + f". Evaluation: {result['episodes']} deterministic episodes "
        "of 20 s from the standing pose, commands drawn from the recipe's ranges and redrawn every 3-6 s, fixed seed; "
        "95 % intervals.",
        "",
        *([args.note, ""] if args.note else []),
        f"![learning curve](assets/learn_{args.robot}_locomotion.png)",
        "",
        "| forward-speed error (m/s) | lateral-speed error (m/s) | yaw-rate error (rad/s) | falls | episode length (s) |",
        "|---|---|---|---|---|",
        f"| {mean_ci(result, 'cmd_vx_err')} | {mean_ci(result, 'cmd_vy_err')} | {mean_ci(result, 'cmd_yaw_rate_err')} | "
        f"{pct(result, 'fall_rate', 'ci95_fall')} | {mean_ci(result, 'episode_length_s', 1)} |",
        "",
        *(
            [
                "Errors are of the velocity averaged over a stride (the recipe's `smoothing_time`); of the "
                f"instantaneous pelvis velocity, which sways with every step, they are {mean_ci(result, 'cmd_vx_err_now')} m/s "
                f"forward, {mean_ci(result, 'cmd_vy_err_now')} m/s lateral and {mean_ci(result, 'cmd_yaw_rate_err_now')} rad/s in yaw.",
                "",
            ]
            if "cmd_vx_err_now" in result
            else []
        ),
        f"Goal: forward error <= {GOAL['cmd_vx_err']} m/s, yaw-rate error <= {GOAL['cmd_yaw_rate_err']} rad/s, "
        f"falls <= {100 * GOAL['fall_rate']:.0f} %: **{'met' if met else 'not met'}**. Evaluation took {eval_s:.0f} s.",
        "",
        f"Command: `python benchmarks/learn_locomotion.py --robot {args.robot} --minutes {args.minutes:g}"
        + (f" --fit-args '{args.fit_args}'" if args.fit_args else "")
        + (f" --started-from {args.started_from}" if args.started_from else "") + "`",
    ])  # fmt: skip
    publish(f"## Learning: {robot} command walk", text, write_docs=not args.no_docs)


if __name__ == "__main__":
    main()

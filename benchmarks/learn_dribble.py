"""Learning benchmark of hierarchical dribbling (``recipes/amp_<robot>_dribble.yaml``).

The ball policy drives the frozen command walk of ``recipes/amp_<robot>_locomotion.yaml`` (train
and evaluate that first with ``benchmarks/learn_locomotion.py``). This script trains (or
continues) the ball policy for ``--minutes``, then scores on the same ``--episodes`` evaluation
episodes (robot standing, ball 0.3-1 m away at any bearing, goal 2-5 m away, fixed seed):

- the scripted baseline (``mimic_lit.methods.ScriptedDribble``) on the same walk;
- the learned ball policy (its run's last checkpoint).

It reports success, falls, time to goal and final ball-goal distance with 95 % intervals, the
CPU cost of the walk and of the ball policy, and writes the ``## Learning: <ROBOT> dribble``
section of docs/benchmarks.md and docs/results/learn_<robot>_dribble.json (``success_rate``,
``fall_rate``, ``episodes``, ``samples``, ``wall_minutes``, ``ci95_success`` for the learned
policy, plus the baseline's and the costs).

    python benchmarks/learn_dribble.py --robot k1 --minutes 60
    python benchmarks/learn_dribble.py --robot k1 --minutes 0 --scripted-only   # the baseline alone
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _evaluate import build_eval_env, evaluate, mean_ci, pct, run_cost, write_result  # noqa: E402
from _report import publish  # noqa: E402
from learn_g1_walk import read_scalars  # noqa: E402
from learn_locomotion import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOAL = {"success_rate": 0.5, "fall_rate": 0.1}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--robot", choices=("k1", "g1"), default="k1")
    p.add_argument("--minutes", type=float, default=0.0, help="train (or continue) the ball policy this long first")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--scripted-only", action="store_true", help="score the scripted baseline only")
    p.add_argument("--no-docs", action="store_true", help="print, do not write docs/")
    return p.parse_args()


def walk_cost(robot: str) -> dict:
    """Samples and wall minutes of the walk: as its benchmark recorded them (which counts a run its
    networks started from), else from its run folder."""
    import json

    recorded = ROOT / "docs" / "results" / f"learn_{robot}_locomotion.json"
    if recorded.is_file():
        walk = json.loads(recorded.read_text())
        return {"samples": float(walk["samples"]), "wall_minutes": float(walk["wall_minutes"])}
    return run_cost(ROOT / "runs" / f"amp_{robot}_locomotion")


def scripted(recipe: Path, episodes: int) -> dict:
    from mimic_lit.envs.spec import RolloutSpec
    from mimic_lit.methods.scripted import ScriptedDribble

    env = build_eval_env(recipe, min(episodes, 100))
    agent = ScriptedDribble()
    agent.connect(RolloutSpec(env.spec, 1, 0))
    return evaluate(env, agent, episodes)


def learned(recipe: Path, ckpt: Path, episodes: int) -> dict:
    from mimic_lit.checkpoint import load_policy

    policy, _ = load_policy(recipe, ckpt)
    return evaluate(build_eval_env(recipe, min(episodes, 100)), policy, episodes)


def success_curve(run_dir: Path, scale: float = 1.0, offset: float = 0.0) -> tuple[list[float], list[float]]:
    """(control steps in M, training success rate) of a run; ``scale`` control steps per sample."""
    series = read_scalars(run_dir)
    samples = dict(series.get("samples", []))
    points = [(offset + scale * samples[s], v) for s, v in series.get("episode/success_rate", []) if s in samples]
    return [x / 1e6 for x, _ in points], [v for _, v in points]


def plot_comparison(robot: str, skill_samples: float, scripted_rate: float, out: Path) -> bool:
    """Success against total control steps: flat AMP (``amp_<robot>_dribble_flat``) and the walk +
    ball policy (the walk's samples first); False when neither run exists."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flat = success_curve(ROOT / "runs" / f"amp_{robot}_dribble_flat")
    hier = success_curve(ROOT / "runs" / f"amp_{robot}_dribble", 5.0, skill_samples)
    if not flat[0] and not hier[0]:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.4))
    if flat[0]:
        ax.plot(*flat, lw=0.8, label="flat AMP")
    if hier[0]:
        ax.plot(*hier, lw=0.8, label="walk + ball policy")
    ax.axvline(skill_samples / 1e6, color="grey", ls=":", lw=0.8, label="walk trained")
    ax.axhline(scripted_rate, color="k", ls="--", lw=0.8, label="scripted baseline")
    ax.set_xlabel("control steps simulated (M)")
    ax.set_ylabel("success rate (training)")
    ax.set_title(f"{robot.upper()} dribbling at equal simulation cost")
    ax.legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return True


def row(name: str, r: dict) -> str:
    return (f"| {name} | {pct(r, 'success_rate', 'ci95_success')} | {pct(r, 'fall_rate', 'ci95_fall')} | "
            f"{mean_ci(r, 'time_to_goal_s', 1)} | {mean_ci(r, 'final_goal_ball_dist', 2)} |")


def main() -> None:
    args = parse_args()
    name = f"amp_{args.robot}_dribble"
    recipe = ROOT / "recipes" / f"{name}.yaml"
    run_dir = ROOT / "runs" / name
    skill_cost = walk_cost(args.robot)
    if args.minutes > 0 and not args.scripted_only:
        train(recipe, run_dir, args.minutes)
    base = scripted(recipe, args.episodes)
    rows = [row("scripted baseline", base)]
    record: dict = {"benchmark": f"learn_{args.robot}_dribble", "date": str(dt.date.today()), "recipe": f"recipes/{name}.yaml",
                    "goal": GOAL, "scripted": base, "skill": skill_cost}
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if not args.scripted_only and ckpt.is_file():
        mine = learned(recipe, ckpt, args.episodes)
        hl_cost = run_cost(run_dir)
        llc_steps = 5
        rows.append(row("learned ball policy", mine))
        record.update({
            "success_rate": mine["success_rate"], "fall_rate": mine["fall_rate"], "episodes": mine["episodes"],
            "ci95_success": mine["ci95_success"], "samples": skill_cost["samples"] + llc_steps * hl_cost["samples"],
            "wall_minutes": round(skill_cost["wall_minutes"] + hl_cost["wall_minutes"], 1), "ball_policy": {**hl_cost, **mine},
            "goal_met": mine["success_rate"] >= GOAL["success_rate"] and mine["fall_rate"] < GOAL["fall_rate"],
            "beats_scripted": mine["success_rate"] > base["success_rate"],
        })  # fmt: skip
    plotted = False
    if not args.no_docs:
        write_result(ROOT / "docs" / "results" / f"learn_{args.robot}_dribble.json", record)
        plotted = plot_comparison(args.robot, skill_cost["samples"], base["success_rate"],
                                  ROOT / "docs" / "assets" / f"compare_{args.robot}_dribble.png")
    robot = args.robot.upper()
    lines = [
        f"## Learning: {robot} dribble",
        "",
        f"Written by `benchmarks/learn_dribble.py --robot {args.robot}` on {dt.date.today()}: `recipes/{name}.yaml`, a "
        f"ball policy over the frozen walk of `recipes/amp_{args.robot}_locomotion.yaml` (that walk: "
        f"{skill_cost['samples'] / 1e6:.2f} M samples, {skill_cost['wall_minutes']:.0f} min). Evaluation: "
        f"{base['episodes']} deterministic episodes with a fixed seed, the robot standing, the ball 0.3-1 m away at any "
        "bearing, the goal 2-5 m away, 30 s at most; 95 % intervals.",
        "",
        "| controller | success | falls | time to goal (s) | final ball-goal distance (m) |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    if "ball_policy" in record:
        bp = record["ball_policy"]
        lines.append(
            f"Ball policy: {bp['samples'] / 1e6:.2f} M decisions ({bp['samples'] * 5 / 1e6:.1f} M control steps) in "
            f"{bp['wall_minutes']:.0f} min. Total: {record['samples'] / 1e6:.1f} M control steps, "
            f"{record['wall_minutes']:.0f} min. Goal (success >= 50 %, falls < 10 %, better than the scripted "
            f"baseline): **{'met' if record['goal_met'] and record['beats_scripted'] else 'not met'}**."
        )
    else:
        lines.append("No ball policy has been trained yet: the scripted baseline alone.")
    if plotted:
        lines += ["", f"![flat vs hierarchical](assets/compare_{args.robot}_dribble.png)"]
    lines += ["", f"Command: `python benchmarks/learn_dribble.py --robot {args.robot} --minutes {args.minutes:g}`"]
    publish(f"## Learning: {robot} dribble", "\n".join(lines), write_docs=not args.no_docs)


if __name__ == "__main__":
    main()

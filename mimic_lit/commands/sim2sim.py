"""Run an exported tracking policy in plain MuJoCo, without Lightning, and report its tracking errors.

The policy file (from ``mimic-lit export``) is run with onnxruntime (``.onnx``) or TorchScript
(``.pt``) on one MuJoCo simulation of its robot, built from the robot's MJCF and the PD gains,
torque limits and periods in the file's metadata, tracking the reference clip (--motion, default
the training motion). Episodes end at the clip's end, at the time limit or with a fall, as in
training. Errors are averaged over every step, as ``mimic-lit validate`` does: compare the two
for the same checkpoint (``--data.init_args.val_rand_reset false`` makes validation start every
episode at the clip's first frame, this command's default).

examples:
  mimic-lit sim2sim --policy g1_walk.onnx
  mimic-lit sim2sim --policy g1_walk.onnx --motion shipped:g1/deepmimic_walk --episodes 16 --random-start
  mimic-lit sim2sim --policy g1_walk.pt --report sim2sim.json
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (imports nothing heavy, so ``--help`` is instant)."""
    parser.add_argument("--policy", required=True, metavar="FILE", help="exported policy (.onnx or TorchScript .pt)")
    parser.add_argument("--robot", default=None,
                        help="robot the policy must be for (checked against its metadata; default: the metadata's)")
    parser.add_argument("--motion", default=None, metavar="CLIP",
                        help="clip or dataset to track (default: the training motion in the metadata)")
    parser.add_argument("--episodes", type=int, default=1, help="episodes to play (default: 1)")
    parser.add_argument("--random-start", action="store_true",
                        help="start episodes at random clip times, as in training (default: the first frame)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="time limit per episode (default: the training episode length)")
    parser.add_argument("--seed", type=int, default=0, help="seed of clip and start-time draws")
    parser.add_argument("--report", default=None, metavar="JSON", help="also write the summary and episodes as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace --report if it exists")


def run(args: argparse.Namespace) -> int:
    """Play the episodes, print the summary; returns 0."""
    import json

    from rich.progress import Progress

    from mimic_lit.errors import MimicLitError
    from mimic_lit.export.sim2sim import Sim2Sim
    from mimic_lit.fileio import check_output, write_text

    if args.episodes < 1:
        raise MimicLitError(f"--episodes must be >= 1, got {args.episodes}")
    if args.seconds is not None and args.seconds <= 0:
        raise MimicLitError(f"--seconds must be > 0, got {args.seconds}")
    if args.report:
        check_output(args.report, overwrite=args.overwrite, what="--report")
    runner = Sim2Sim(args.policy, args.motion)
    if args.robot is not None and args.robot != runner.meta["robot"]:
        raise MimicLitError(f"'{args.policy}' is a policy for '{runner.meta['robot']}', not '{args.robot}'")
    with Progress(transient=True) as progress:
        task = progress.add_task("episodes", total=args.episodes)
        report = runner.evaluate(args.episodes, args.random_start, args.seed, args.seconds,
                                 progress=lambda i: progress.update(task, completed=i))
    summary = report.summary()
    print(f"{runner.meta['method']} policy on {runner.meta['robot']}, plain MuJoCo "
          f"({runner.substeps} x {runner.meta['sim_dt'] * 1000:.2f} ms physics steps per control step):")
    print(f"  episodes {summary['episodes']:.0f}, length {summary['episode_length_s']:.2f} s, "
          f"falls {summary['fall_rate']:.0%}, reached clip end {summary['success_rate']:.0%}")
    print(f"  body position error {summary['body_pos_err'] * 100:.2f} cm, joint error "
          f"{summary['joint_err']:.3f} rad, root position error {summary['root_pos_err'] * 100:.2f} cm")
    if args.report:
        episodes = [
            {"start_time": e.start_time, "length_s": e.length_s, "end": e.end,
             **{f"mean_{k}": float(v.mean()) for k, v in e.errors.items()}}
            for e in report.episodes
        ]
        write_text(args.report, json.dumps({"summary": summary, "episodes": episodes}, indent=2))
        print(f"wrote {args.report}")
    return 0

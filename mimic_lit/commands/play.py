"""Play a trained policy in the simulator and render it beside the reference motion (MP4/GIF).

The method and environment are rebuilt from the recipe (--config: the recipe the run was trained
with, or the config.yaml the run saved beside its logs), the weights and observation normaliser are
loaded from --ckpt_path, and one episode is played from the clip's first frame with the
deterministic policy (the action mean). The video shows the simulated robot on the left and the
reference on the right, each followed by its own camera from the same direction (AMP policies
track no clip: they are shown alone). A ball in the simulator is drawn, and a goal with a point
(dribble goal, location target) as a green disc of its success radius. A velocity command is drawn
as arrows on the floor, with a colour key: straight ones for the commanded (orange) and actual
(blue) velocity, curved ones around the robot for the commanded (yellow) and actual (cyan)
turning. The episode's length, how it ended and its mean tracking errors (or final ball-goal
distance, or mean command errors and the commands) are printed.

examples:
  mimic-lit play --config recipes/deepmimic_g1_walk.yaml \\
      --ckpt_path runs/deepmimic_g1_walk/checkpoints/last.ckpt --out walk_policy.mp4
  mimic-lit play --config recipes/deepmimic_g1_walk.yaml --ckpt_path last.ckpt --out run.gif \\
      --motion shipped:g1/kimodo_run --seconds 4
  mimic-lit play --config recipes/amp_k1_dribble.yaml \\
      --ckpt_path runs/amp_k1_dribble/checkpoints/last.ckpt --out dribble.gif
  mimic-lit play --config recipes/amp_k1_dribble.yaml --scripted --out scripted.gif
  mimic-lit play --config recipes/amp_k1_locomotion.yaml \\
      --ckpt_path runs/amp_k1_locomotion/checkpoints/last.ckpt --out commands.mp4 --seconds 12
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (imports nothing heavy, so ``--help`` is instant)."""
    parser.add_argument("--config", required=True, metavar="YAML", help="recipe the policy was trained with")
    parser.add_argument("--ckpt_path", "--ckpt-path", default=None, metavar="CKPT", help="checkpoint (e.g. last.ckpt)")
    parser.add_argument("--scripted", action="store_true",
                        help="play the scripted dribbling baseline over the recipe's walk instead of a checkpoint "
                             "(ball-policy recipes: amp_g1_dribble, amp_k1_dribble)")
    parser.add_argument("--quick", action="store_true",
                        help="the recipe as `mimic-lit fit --quick` shrank it (a checkpoint of a quick run)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="output video, .mp4 or .gif (without it, only the episode summary is printed)")
    parser.add_argument("--motion", default=None, metavar="CLIP",
                        help="track this clip instead of the recipe's (same robot), e.g. shipped:g1/kimodo_run")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this many seconds (default: when the episode ends)")
    parser.add_argument("--random-start", action="store_true",
                        help="start at a random time of the clip, as in training (default: its first frame)")
    parser.add_argument("--stochastic", action="store_true", help="sample actions instead of the mean")
    parser.add_argument("--seed", type=int, default=0, help="seed of the episode (random start, action noise)")
    parser.add_argument("--no-reference", action="store_true", help="render the policy alone")
    parser.add_argument("--fps", type=float, default=30.0,
                        help="approximate output frame rate; frames are a subsample of the control steps (default: 30)")
    parser.add_argument("--width", type=int, default=480, help="panel width in pixels (default: 480)")
    parser.add_argument("--height", type=int, default=360, help="panel height in pixels (default: 360)")
    parser.add_argument("--quality", choices=("high", "fast"), default="high",
                        help="high: with shadows (default); fast: no shadows, faster on a CPU")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace) -> int:
    """Play, print the summary, render; returns 0."""
    from mimic_lit.errors import MimicLitError

    if args.seconds is not None and args.seconds <= 0:
        raise MimicLitError(f"--seconds must be > 0, got {args.seconds}")
    if args.fps <= 0:
        raise MimicLitError(f"--fps must be > 0, got {args.fps}")
    if (args.ckpt_path is None) == (not args.scripted):
        raise MimicLitError("give one of --ckpt_path (a trained policy) and --scripted (the scripted dribbling baseline)")
    if args.out is not None:
        from mimic_lit.render.gl import ensure_gl_backend
        from mimic_lit.render.video import check_output_path

        check_output_path(args.out, overwrite=args.overwrite)  # fail before the slow part
        ensure_gl_backend()  # before mujoco is imported

    import torch

    from mimic_lit.checkpoint import load_policy
    from mimic_lit.play import record_episode

    torch.manual_seed(args.seed)
    overrides = {"sim.num_envs": 1, "sim.nthread": 1, "task.seed": args.seed, "sim.seed": args.seed}
    if args.motion is not None:
        overrides["task.motion"] = args.motion
    if args.scripted:
        model, env = _scripted(args, overrides)
    else:
        model, dm = load_policy(args.config, args.ckpt_path, overrides, quick=args.quick)
        env = dm.build_env(1, 0, rand_reset=args.random_start)
    record = record_episode(model, env, args.seconds, deterministic=not args.stochastic)
    summary = record.summary()
    print("episode: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()))
    commands = record.command_text()
    if commands is not None:
        print(f"commands: {commands}")
    if args.out is not None:
        _render(record, env, args)
    return 0


def _scripted(args: argparse.Namespace, overrides: dict):
    """(the scripted baseline connected to the recipe's env, that env)."""
    from mimic_lit.checkpoint import build_from_recipe
    from mimic_lit.envs.spec import RolloutSpec
    from mimic_lit.methods.scripted import ScriptedDribble

    _, dm = build_from_recipe(args.config, overrides, quick=args.quick)
    env = dm.build_env(1, 0, rand_reset=args.random_start)
    model = ScriptedDribble()
    model.connect(RolloutSpec(env.spec, 1, 0))  # a one-line error unless the env is a ball policy's
    return model, env


def _render(record, env, args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from mimic_lit.render.compare import render_side_by_side
    from mimic_lit.sim.base import scene_ball

    import numpy as np

    rate = 1.0 / record.control_dt
    stride = max(1, round(rate / args.fps))
    panels = [("policy", record.sim_qpos_with_ball[::stride])]
    markers = [None]
    if record.marker_xy is not None:
        xy = record.marker_xy[::stride]
        markers[0] = np.concatenate([xy, np.full((xy.shape[0], 1), env.goal.marker_radius)], axis=1)
    arrows = [{label: a[::stride] for label, a in record.arrows.items()}]
    if not args.no_reference and env.spec.tracks_reference:  # AMP policies track no clip
        panels.append(("reference", record.ref_qpos[::stride]))
        markers.append(None)
        arrows.append(None)
    console = Console(stderr=True)
    with Progress(
        TextColumn("rendering"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=console, transient=True,
    ) as bar:
        task = bar.add_task("play", total=None)
        result = render_side_by_side(
            panels, args.out, env.sim.robot, rate / stride, width=args.width, height=args.height,
            quality=args.quality, overwrite=args.overwrite, progress=lambda i, n: bar.update(task, completed=i, total=n),
            ball=scene_ball(env.goal.scene_objects()) if env.goal is not None else None, markers=markers,
            arrows=arrows,
        )
    console.print(
        f"wrote {result.path} ({result.frames} frames at {result.fps:g} fps, {result.bytes / 1e6:.2f} MB) "
        f"in {result.seconds:.1f} s"
    )

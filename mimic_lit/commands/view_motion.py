"""Render a motion clip on its robot to an MP4 or GIF, and/or check it kinematically.

The clip is played back kinematically (poses set frame by frame, no physics), resampled at --fps,
and rendered offscreen with MuJoCo (EGL or OSMesa; MUJOCO_GL is respected). --kinematic-check
prints foot heights, ground penetration, joint-limit violations and root height; it works without
--out, and then nothing is rendered.

examples:
  mimic-lit view-motion --motion g1/kimodo_walk --out walk.mp4
  mimic-lit view-motion --robot g1 --motion clip.csv --out clip.gif --width 480 --height 360
  mimic-lit view-motion --motion humanoid/spinkick --kinematic-check
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (imports nothing heavy, so ``--help`` is instant)."""
    parser.add_argument("--motion", required=True, metavar="FILE|ROBOT/CLIP",
                        help="motion file (.npz, DeepMimic .txt, .csv, .pkl) or shipped clip name, e.g. g1/kimodo_walk")
    parser.add_argument("--robot", default=None,
                        help="robot (humanoid, g1, k1, t1); default: the clip's own robot")
    parser.add_argument("--out", default=None, metavar="FILE", help="output video, .mp4 or .gif")
    parser.add_argument("--fps", type=float, default=30.0, help="output frame rate (default: 30)")
    parser.add_argument("--width", type=int, default=640, help="image width in pixels (default: 640)")
    parser.add_argument("--height", type=int, default=480, help="image height in pixels (default: 480)")
    parser.add_argument("--camera", choices=("track", "fixed"), default="track",
                        help="track: follow the robot smoothly (default); fixed: one shot framing the whole path")
    parser.add_argument("--quality", choices=("high", "fast"), default="high",
                        help="high: with shadows (default); fast: no shadows, ~3x faster on a CPU")
    parser.add_argument("--start", type=float, default=0.0, help="start time in seconds (default: 0)")
    parser.add_argument("--end", type=float, default=None, help="end time in seconds (default: end of the clip)")
    parser.add_argument("--kinematic-check", action="store_true",
                        help="print foot height, ground penetration, joint-limit and root-height checks")
    parser.add_argument("--json", action="store_true", help="with --kinematic-check: print the report as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace) -> int:
    """Check and/or render the clip; returns 0 (problems in a clip are reported, not failures)."""
    from mimic_lit.errors import MimicLitError

    if args.out is None and not args.kinematic_check:
        raise MimicLitError("nothing to do: pass --out FILE (.mp4 or .gif) and/or --kinematic-check")
    if args.out is not None:
        from mimic_lit.render.gl import ensure_gl_backend
        from mimic_lit.render.video import check_output_path

        # Fail on a bad --out before loading anything, and choose the GL backend before mujoco loads.
        check_output_path(args.out, overwrite=args.overwrite)
        ensure_gl_backend()

    from mimic_lit.commands._motion_arg import load_motion_arg

    clip = load_motion_arg(args.motion, args.robot)

    if args.kinematic_check:
        from mimic_lit.commands.check_motion import motion_label, print_reports
        from mimic_lit.motion.checks import check_clip

        print_reports([check_clip(clip, name=motion_label(args.motion))], as_json=args.json)

    if args.out is not None:
        _render(clip, args)
    return 0


def _render(clip, args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from mimic_lit.render.renderer import render_clip

    console = Console(stderr=True)
    with Progress(
        TextColumn("rendering {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=console, transient=True,
    ) as bar:
        task = bar.add_task(clip.name or "clip", total=None)
        result = render_clip(
            clip, args.out, fps=args.fps, width=args.width, height=args.height, camera=args.camera,
            quality=args.quality, start=args.start, end=args.end, overwrite=args.overwrite,
            progress=lambda i, n: bar.update(task, completed=i, total=n),
        )
    console.print(
        f"wrote {result.path} ({result.frames} frames at {result.fps:g} fps, {result.bytes / 1e6:.2f} MB) "
        f"in {result.seconds:.1f} s ({result.render_fps:.1f} frames/s, MUJOCO_GL={result.backend})"
    )

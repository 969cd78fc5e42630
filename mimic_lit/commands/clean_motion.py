"""Clean clips so a policy can track them: feet on the floor, no foot sliding in stance, inside the
joint limits, optionally smoothed and trimmed; prints a before/after quality report.

Steps (see mimic_lit.motion.clean): trim, clamp joint limits, smooth (--smooth SIGMA frames), lock
each stance foot in place by whole-body IK (mink), and correct the root height per frame so stance
feet touch the floor and nothing goes below it. --in may be a folder (every .npz in it is cleaned
into the --out folder). --report FILE writes both reports of every clip as JSON.

examples:
  mimic-lit clean-motion --in g1_walk.npz --out g1_walk_clean.npz
  mimic-lit clean-motion --in retargeted/ --out cleaned/ --smooth 1.0 --report cleaning.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "fix foot penetration, floating and sliding, smooth, clamp joint limits"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (imports nothing heavy, so ``--help`` is instant)."""
    parser.add_argument("--in", dest="input", required=True, metavar="PATH", help="clip (.npz, shipped name) or folder")
    parser.add_argument("--out", required=True, metavar="PATH", help="output clip (.npz), or folder when --in is one")
    parser.add_argument("--robot", default=None, help="robot of the clips (default: each clip's own)")
    parser.add_argument("--trim-start", type=float, default=0.0, metavar="S", help="seconds cut from the start")
    parser.add_argument("--trim-end", type=float, default=0.0, metavar="S", help="seconds cut from the end")
    parser.add_argument("--smooth", type=float, default=0.0, metavar="SIGMA",
                        help="Gaussian smoothing of root position and joint angles, in frames (default: off)")
    parser.add_argument("--no-foot-lock", action="store_true", help="do not hold stance feet in place")
    parser.add_argument("--no-ground", action="store_true", help="do not correct the root height")
    parser.add_argument("--no-clamp", action="store_true", help="do not clamp joints to their limits")
    parser.add_argument("--report", default=None, metavar="JSON", help="write the before/after reports here")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def run(args: argparse.Namespace) -> int:
    """Clean every input; prints the before/after table. Returns 0."""
    import json

    from rich.console import Console
    from rich.table import Table

    from mimic_lit.commands._motion_arg import load_motion_arg
    from mimic_lit.errors import MimicLitError
    from mimic_lit.fileio import check_output, write_text
    from mimic_lit.motion.checks import check_clip
    from mimic_lit.motion.clean import CleanConfig, clean_clip

    src, out = Path(args.input).expanduser(), Path(args.out).expanduser()
    if src.is_dir():
        pairs = [(str(p), out / p.name) for p in sorted(src.glob("*.npz"))]
        if not pairs:
            raise MimicLitError(f"no .npz clips in '{src}'")
        if out.suffix:
            raise MimicLitError(f"--in is a folder, so --out must be a folder too, got '{out}'")
    else:
        if out.suffix.lower() != ".npz":
            raise MimicLitError(f"--out must end in .npz, got '{out}'")
        pairs = [(args.input, out)]
    for _, dst in pairs:
        check_output(dst, overwrite=args.overwrite)
    if args.report:
        check_output(args.report, overwrite=args.overwrite, what="--report")
    if args.smooth < 0:
        raise MimicLitError(f"--smooth must be >= 0, got {args.smooth}")
    config = CleanConfig(
        trim_start=args.trim_start, trim_end=args.trim_end, clamp_limits=not args.no_clamp, smooth_sigma=args.smooth,
        foot_lock=not args.no_foot_lock, ground=not args.no_ground,
    )  # fmt: skip
    console = Console(soft_wrap=False, width=None if Console().is_terminal else 140)
    table = Table(title="clean-motion: before -> after (cm)", title_justify="left")
    for col in ("clip", "penetration max", "penetration mean", "float", "foot slide", "limit violations", "issues left"):
        table.add_column(col, justify="left" if col in ("clip", "issues left") else "right")
    reports = []
    for spec, dst in pairs:
        clip = load_motion_arg(spec, args.robot)
        name = Path(spec).stem if Path(spec).suffix else Path(spec).name
        before = check_clip(clip, name=name)
        cleaned = clean_clip(clip, config)
        cleaned.save(dst, overwrite=True)
        after = check_clip(cleaned, name=name)
        reports.append({"clip": name, "out": str(dst), "before": before.to_dict(), "after": after.to_dict()})

        def pair(f, b=before, a=after) -> str:
            return f"{100 * f(b):.2f} -> {100 * f(a):.2f}"

        table.add_row(
            name, pair(lambda r: r.penetration_depth), pair(lambda r: r.penetration_mean), pair(lambda r: r.float_height),
            pair(lambda r: r.foot_slide_mean), f"{before.joint_limit_violations} -> {after.joint_limit_violations}",
            "; ".join(after.issues()) or "none",
        )  # fmt: skip
    console.print(table)
    if args.report:
        write_text(args.report, json.dumps(reports, indent=2))
        console.print(f"wrote {args.report}")
    return 0

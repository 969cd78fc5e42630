"""Convert a motion file (DeepMimic .txt, qpos .csv, ASAP/MimicKit/GMR .pkl, .npz) into a mimic-lit .npz
clip, or (--to mimickit|gmr) into a MimicKit or GMR .pkl, so clips move both ways.

Examples: ``mimic-lit convert --in walk.csv --robot g1 --layout protomotions --out walk.npz``;
``mimic-lit convert --in g1/deepmimic_walk --to mimickit --out walk.pkl``.
The output is written atomically, only after the input converted and validated, and an existing
output is kept unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "convert a motion file (DeepMimic txt, CSV, ASAP/MimicKit/GMR pkl, npz) to a mimic-lit .npz clip"
_FORMAT_CHOICES = ("auto", "npz", "deepmimic", "csv", "asap", "mimickit", "gmr")  # kept in sync by a test
_LAYOUT_CHOICES = ("protomotions", "g1_moves", "beyondmimic", "booster")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``convert`` options on ``parser`` (no heavy imports here: ``--help`` stays instant)."""
    parser.add_argument("--in", dest="input", required=True, metavar="FILE", help="input motion file")
    parser.add_argument("--out", required=True, metavar="FILE", help="output clip (.npz, or .pkl with --to)")
    parser.add_argument("--to", default="npz", choices=("npz", "mimickit", "gmr"),
                        help="output format: mimic-lit .npz (default), MimicKit .pkl (exp-map frames) or GMR .pkl")
    parser.add_argument(
        "--robot", default=None, help="robot the motion is for (humanoid, g1, k1, t1); inferred when the format says"
    )
    parser.add_argument(
        "--format",
        default="auto",
        choices=_FORMAT_CHOICES,
        help="input format (default: from the extension; pickles by content)",
    )
    parser.add_argument(
        "--layout",
        default=None,
        choices=_LAYOUT_CHOICES,
        help="CSV layout: quaternion order and frame rate of a known source",
    )
    parser.add_argument(
        "--quat-order",
        dest="quat_order",
        default=None,
        choices=("wxyz", "xyzw"),
        help="CSV root quaternion order (overrides --layout)",
    )
    parser.add_argument("--fps", type=float, default=None, help="CSV frame rate (overrides --layout)")
    parser.add_argument("--key", default=None, help="clip to take from a multi-clip pickle (ASAP)")
    parser.add_argument(
        "--loop",
        default=None,
        choices=("wrap", "clamp"),
        help="loop mode of the clip (default: what the file says, else clamp)",
    )
    parser.add_argument("--name", default=None, help="clip name stored in the file (default: input name)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")


def run(args: argparse.Namespace) -> int:
    """Convert ``args.input`` to ``args.out``; raises ``MimicLitError`` (one line) on bad input."""
    from mimic_lit.errors import MimicLitError
    from mimic_lit.fileio import check_output
    from mimic_lit.motion.formats import load_motion

    out = Path(args.out)
    suffix = ".npz" if args.to == "npz" else ".pkl"
    if out.suffix.lower() != suffix:
        raise MimicLitError(f"--out must end in {suffix} for --to {args.to}, got '{out}'")
    if not Path(args.input).is_file():
        from mimic_lit.commands._motion_arg import resolve_motion_path

        path, implied = resolve_motion_path(args.input, args.robot)  # shipped names (g1/deepmimic_walk) too
        args.input, args.robot = str(path), args.robot or implied
    check_output(out, overwrite=args.overwrite)
    if Path(args.input).resolve() == out.resolve():
        raise MimicLitError(f"--in and --out are the same file '{out}'")
    options = {
        "layout": args.layout,
        "quat_order": args.quat_order,
        "fps": args.fps,
        "key": args.key,
        "loop": args.loop,
        "name": args.name,
    }
    clip = load_motion(args.input, robot=args.robot, format=args.format, **options)
    if not clip.source:
        clip.source = str(args.input)
    if args.to == "mimickit":
        from mimic_lit.motion.formats import save_mimickit_pkl

        save_mimickit_pkl(clip, out)
    elif args.to == "gmr":
        from mimic_lit.motion.formats import save_gmr_pkl

        save_gmr_pkl(clip, out)
    else:
        clip.save(out, overwrite=args.overwrite)
    print(
        f"wrote {out}: robot {clip.robot}, {clip.num_frames} frames at {clip.fps:g} fps "
        f"({clip.duration:.2f} s), loop {clip.loop}"
    )
    return 0

"""Retarget motion onto a robot by per-frame inverse kinematics (mink), with real resampling.

The source skeleton's bodies drive the robot's through a body map (shipped maps in
``mimic_lit/data/retarget/``, or --map FILE): joint centres by position, pelvis, torso and feet
also by orientation, all scaled by the ratio of the leg lengths. Joint limits are enforced, and
the clip is shifted so the robot's feet stand on the ground. --in may be a folder: every motion
file in it is retargeted into the --out folder, with a progress bar. A summary per clip gives the
mean distance to the targets and the kinematic checks of ``mimic-lit check-motion``.

Sources:
  deepmimic   DeepMimic humanoid clips: .txt files, humanoid .npz clips, or shipped names
              (humanoid/walk)
  gmr-pkl     a GMR output pickle (already robot motion): resampled to --fps, robot checked
  bvh         BVH motion capture; CMU files (cgspeed joint names) use the shipped cmu maps,
              any other skeleton needs --map (its source name is "bvh"); --bvh-unit sets metres
              per file unit (default: CMU's 0.056444, else 0.01)
  smplx-npz   not implemented: forward kinematics of SMPL-X needs the SMPL-X body model, which
              mimic-lit cannot ship or download

examples:
  mimic-lit retarget --source deepmimic --robot g1 --in humanoid/walk --out g1_walk.npz
  mimic-lit retarget --source deepmimic --robot k1 --in DeepMimic/data/motions --out k1_clips/ --fps 30
  mimic-lit retarget --source bvh --robot g1 --in cmu/10_04.bvh --out g1_cmu_walk.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "retarget human motion to a robot by inverse kinematics"
SOURCES = ("deepmimic", "bvh", "smplx-npz", "gmr-pkl")
_EXTENSIONS = {"deepmimic": (".txt", ".npz"), "gmr-pkl": (".pkl",), "bvh": (".bvh",), "smplx-npz": (".npz",)}
_MAP_DIR = Path(__file__).resolve().parent.parent / "data" / "retarget"


def map_robots() -> list[str]:
    """Robots that a shipped body map targets (``<source>_to_<robot>.yaml``), without importing
    the retargeting stack."""
    return sorted({p.stem.partition("_to_")[2] for p in _MAP_DIR.glob("*_to_*.yaml")})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (imports nothing heavy, so ``--help`` is instant)."""
    parser.add_argument("--source", required=True, choices=SOURCES, help="what --in holds")
    parser.add_argument("--robot", required=True,
                        help=f"target robot: {', '.join(map_robots())} (the robots with a shipped body map)")
    parser.add_argument("--in", dest="input", required=True, metavar="PATH",
                        help="motion file, shipped clip name (humanoid/walk) or folder of motion files")
    parser.add_argument("--out", required=True, metavar="PATH", help="output clip (.npz), or folder when --in is one")
    parser.add_argument("--fps", type=float, default=30.0, help="output frame rate; the source is resampled (default: 30)")
    parser.add_argument("--map", dest="map_path", default=None, metavar="YAML",
                        help="body map (default: the shipped one for this source and robot)")
    parser.add_argument("--iterations", type=int, default=8, help="IK iterations per frame (default: 8)")
    parser.add_argument("--bvh-unit", type=float, default=None, metavar="M",
                        help="BVH: metres per file unit (default: CMU's 0.056444 for CMU skeletons, else 0.01)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def _inputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """(input, output path) pairs; a folder --in gives one pair per motion file in it."""
    from mimic_lit.errors import MimicLitError

    src = Path(args.input).expanduser()
    out = Path(args.out).expanduser()
    if src.is_dir():
        files = sorted(p for p in src.iterdir() if p.suffix.lower() in _EXTENSIONS[args.source] and p.is_file())
        if not files:
            raise MimicLitError(f"no {'/'.join(_EXTENSIONS[args.source])} files in '{src}'")
        if out.suffix:
            raise MimicLitError(f"--in is a folder, so --out must be a folder too, got '{out}'")
        return [(str(p), out / f"{p.stem}.npz") for p in files]
    if out.suffix.lower() != ".npz":
        raise MimicLitError(f"--out must end in .npz, got '{out}'")
    return [(args.input, out)]


def _load_source_clip(spec: str, source: str):
    """A robot-space clip from a file or a shipped name (deepmimic: the humanoid; gmr-pkl: a robot)."""
    from mimic_lit.commands._motion_arg import resolve_motion_path
    from mimic_lit.motion.formats import load_motion

    if source == "deepmimic":
        path, _ = resolve_motion_path(spec, "humanoid")
        return load_motion(path, robot="humanoid")
    path, _ = resolve_motion_path(spec, None)
    return load_motion(path, format="gmr")


def run(args: argparse.Namespace) -> int:
    """Retarget every input; prints one summary line per clip. Returns 0, or 1 if a clip failed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from mimic_lit.errors import MimicLitError
    from mimic_lit.fileio import check_output
    from mimic_lit.robots import get_robot

    if args.fps <= 0:
        raise MimicLitError(f"--fps must be > 0, got {args.fps}")
    if args.iterations < 1:
        raise MimicLitError(f"--iterations must be >= 1, got {args.iterations}")
    if args.source == "smplx-npz":
        raise MimicLitError(
            "--source smplx-npz is not implemented: SMPL-X forward kinematics needs the SMPL-X body model, which "
            "mimic-lit can neither ship nor download; retarget with GMR and use --source gmr-pkl"
        )
    robot = get_robot(args.robot).name
    if args.source != "gmr-pkl" and args.map_path is None and robot not in map_robots():
        raise MimicLitError(
            f"there is no retargeting map to '{robot}' yet; shipped maps target {', '.join(map_robots())} "
            "(or write one and pass --map FILE)"
        )
    pairs = _inputs(args)
    for _, out in pairs:
        check_output(out, overwrite=args.overwrite)
    console = Console(stderr=True)
    failures = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:  # fmt: skip
        clips_task = bar.add_task("clips", total=len(pairs)) if len(pairs) > 1 else None
        for spec, out in pairs:
            frames_task = bar.add_task(Path(spec).name, total=None)
            try:
                line = _retarget_one(args, robot, spec, out, lambda i, n: bar.update(frames_task, completed=i, total=n))
            except MimicLitError as exc:
                if len(pairs) == 1:
                    raise
                failures += 1
                line = f"{Path(spec).name}: FAILED: {exc}"
            bar.remove_task(frames_task)
            console.print(line)
            if clips_task is not None:
                bar.advance(clips_task)
    return 1 if failures else 0


def _retarget_one(args: argparse.Namespace, robot: str, spec: str, out: Path, progress) -> str:
    """Retarget one input to ``out``; returns its summary line."""
    from mimic_lit.errors import MimicLitError
    from mimic_lit.motion.clip import MotionClip
    from mimic_lit.render.playback import output_times, sample_qpos
    from mimic_lit.retarget import load_retarget_map, retarget_motion, shipped_map_path, source_from_clip

    name = Path(spec).stem if Path(spec).suffix else Path(spec).name
    if args.source == "bvh":
        from mimic_lit.retarget.bvh import load_bvh_source

        source = load_bvh_source(spec, fps=args.fps, unit=args.bvh_unit)
        if source.name != "cmu" and args.map_path is None:
            raise MimicLitError(f"'{spec}' is not a CMU skeleton: give its body map with --map (see mimic_lit/data/retarget)")
        mapping = load_retarget_map(args.map_path or shipped_map_path(source.name, robot))
        result = retarget_motion(source, robot, mapping, iterations=args.iterations, progress=progress)
        return _finish(result.clip, robot, name, out, _ik_summary(result))
    clip = _load_source_clip(spec, args.source)
    if args.source == "gmr-pkl":
        if clip.robot != robot:
            raise MimicLitError(f"'{spec}' holds {clip.robot} motion, not {robot}: GMR output is already retargeted")
        times = output_times(clip, args.fps)
        from mimic_lit.render.playback import ball_joint_columns
        from mimic_lit.robots import get_robot

        qpos = sample_qpos(clip, times, ball_joint_columns(get_robot(robot).model))
        result_clip = MotionClip.from_qpos(qpos, args.fps, robot=robot, name=clip.name or name, loop=clip.loop,
                                           source=clip.source or spec, joint_names=clip.joint_names)  # fmt: skip
        summary = f"resampled {clip.fps:g} -> {args.fps:g} fps"
    else:
        mapping = load_retarget_map(args.map_path or shipped_map_path("humanoid", robot))
        source = source_from_clip(clip, fps=args.fps)
        if not source.clip_name:
            source.clip_name = name
        result = retarget_motion(source, robot, mapping, iterations=args.iterations, progress=progress)
        result_clip = result.clip
        summary = _ik_summary(result)
    return _finish(result_clip, robot, name, out, summary)


def _ik_summary(result) -> str:
    import numpy as np

    return (
        f"scale {result.scale:.3f}, target distance {100 * float(np.mean(result.position_error)):.1f} cm, "
        f"ground shift {100 * result.ground_shift:+.1f} cm"
    )


def _finish(result_clip, robot: str, name: str, out: Path, summary: str) -> str:
    """Save the clip and check it; returns the summary line."""
    from mimic_lit.motion.checks import check_clip

    result_clip.save(out, overwrite=True)
    report = check_clip(result_clip, robot, name=name)
    issues = "; ".join(report.issues()) or "no issues"
    return (
        f"{name}: {result_clip.num_frames} frames at {result_clip.fps:g} fps -> {out} ({summary}; "
        f"penetration {100 * report.penetration_depth:.1f} cm, joint-limit violations {report.joint_limit_violations}; "
        f"{issues})"
    )

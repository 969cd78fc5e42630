"""Kinematic checks of one or more clips: foot heights, ground penetration, joint limits, root height.

Each clip is replayed on its robot (no physics) and measured; see mimic_lit.motion.checks for the
definitions. Problems are reported, not fixed (clean-motion fixes them). With --strict the exit code
is 1 when any clip has a problem, so the command can guard a data pipeline.

examples:
  mimic-lit check-motion --motion g1/kimodo_walk humanoid/run
  mimic-lit check-motion --shipped g1
  mimic-lit check-motion --list
"""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mimic_lit.motion.checks import MotionCheckReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options (imports nothing heavy, so ``--help`` is instant)."""
    parser.add_argument("--motion", nargs="+", default=[], metavar="FILE|ROBOT/CLIP",
                        help="motion files or shipped clip names (e.g. g1/kimodo_walk)")
    parser.add_argument("--robot", default=None, help="robot for all clips; default: each clip's own robot")
    parser.add_argument("--shipped", nargs="?", const="all", default=None, metavar="ROBOT",
                        help="check every shipped clip (of ROBOT, or of all robots)")
    parser.add_argument("--list", action="store_true", help="list the shipped clips and exit")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--strict", action="store_true", help="exit with code 1 if any clip has a problem")


def run(args: argparse.Namespace) -> int:
    from mimic_lit.errors import MimicLitError
    from mimic_lit.motion.shipped import shipped_clip_paths

    if args.list:
        for path in shipped_clip_paths():
            print(f"{path.parent.name}/{path.stem}")
        return 0
    motions = list(args.motion)
    if args.shipped is not None:
        robot = None if args.shipped == "all" else args.shipped
        if robot is not None:
            from mimic_lit.robots import get_robot

            robot = get_robot(robot).name
        motions += [f"{p.parent.name}/{p.stem}" for p in shipped_clip_paths(robot)]
    if not motions:
        raise MimicLitError("nothing to check: pass --motion FILE... or --shipped [ROBOT]")

    from mimic_lit.commands._motion_arg import load_motion_arg
    from mimic_lit.motion.checks import check_clip

    reports = [check_clip(load_motion_arg(m, args.robot), name=motion_label(m)) for m in motions]
    print_reports(reports, as_json=args.json)
    return 1 if args.strict and any(r.issues() for r in reports) else 0


def print_reports(reports: list[MotionCheckReport], *, as_json: bool = False) -> None:
    """Print reports as JSON, or as a rich table: metric rows for one clip, one row per clip for many."""
    if as_json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
        return
    from rich.console import Console

    console = Console(soft_wrap=False)
    if not console.is_terminal:  # piped or captured: don't squeeze the table into 80 columns
        console = Console(soft_wrap=False, width=160)
    console.print(_single_table(reports[0]) if len(reports) == 1 else _multi_table(reports))
    if len(reports) > 1:
        for r in reports:
            for issue in r.issues():
                console.print(f"[yellow]{r.robot}/{r.clip}[/yellow]: {issue}")


def _single_table(r: MotionCheckReport):
    from rich.table import Table

    table = Table(title=f"kinematic check: {r.robot}/{r.clip}", title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value")
    table.add_row("frames", f"{r.num_frames} at {r.fps:g} fps ({r.duration:.2f} s)")
    table.add_row("root height", f"{100 * r.root_height_min:.1f} .. {100 * r.root_height_max:.1f} cm")
    table.add_row("lowest foot point", f"{_cm(r.foot_height_min)} .. {_cm(r.foot_height_max)} cm")
    table.add_row("swing foot max height", f"{_cm(r.swing_height_max)} cm")
    table.add_row("lowest body point", f"{_cm(r.lowest_point)} cm ({r.lowest_body})")
    pen = r.penetration_frames > 0
    table.add_row("ground penetration", _flag(f"{100 * r.penetration_depth:.1f} cm deep, {r.penetration_frames} frames "
                                              f"({r.penetration_pct:.0f}%) below -1 cm", pen))
    lim = r.joint_limit_violations > 0
    table.add_row("joint-limit violations", _flag(f"{r.joint_limit_violations} in {r.joint_limit_frames} frames "
                                                  f"({r.joint_limit_pct:.0f}%)", lim))
    if r.worst_joint:
        table.add_row("worst joint", _flag(f"{r.worst_joint} +{r.worst_joint_excess:.3f} rad "
                                           f"({_deg(r.worst_joint_excess)}) at frame {r.worst_joint_frame}", True))
    issues = r.issues()
    table.add_row("verdict", _flag("; ".join(issues), True) if issues else "[green]ok[/green]")
    return table


def _multi_table(reports: list[MotionCheckReport]):
    from rich.table import Table

    table = Table(title="kinematic check (heights in cm)", title_justify="left")
    for name, justify in (("clip", "left"), ("frames", "right"), ("root z", "right"), ("foot z", "right"), ("swing", "right"),
                          ("penetr.", "right"), ("<-1cm", "right"), ("limits", "right"), ("worst joint", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in reports:
        pen = r.penetration_frames > 0
        lim = r.joint_limit_violations > 0
        table.add_row(
            f"{r.robot}/{r.clip}",
            str(r.num_frames),
            f"{100 * r.root_height_min:.0f}..{100 * r.root_height_max:.0f}",
            f"{_cm(r.foot_height_min)}..{_cm(r.foot_height_max)}",
            f"{_cm(r.swing_height_max)}",
            _flag(f"{100 * r.penetration_depth:.1f}", pen),
            _flag(f"{r.penetration_pct:.0f}%", pen),
            _flag(f"{r.joint_limit_pct:.0f}%", lim),
            f"{r.worst_joint} {_deg(r.worst_joint_excess)}" if r.worst_joint else "-",
        )
    return table


def motion_label(motion: str) -> str:
    """Report label: a file's stem (clips saved from one source often share a stored name), or the clip name."""
    from pathlib import Path

    path = Path(motion)
    return path.stem if path.is_file() else path.name


def _cm(x: float) -> str:
    return f"{100 * x:+.1f}"


def _deg(rad: float) -> str:
    return f"{math.degrees(rad):.1f} deg"


def _flag(text: str, bad: bool) -> str:
    return f"[yellow]{text}[/yellow]" if bad else text

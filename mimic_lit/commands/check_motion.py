"""Quality report of one or more clips: ground penetration, floating, foot sliding in stance,
joint limits, velocity spikes, self-collisions.

Each clip is replayed on its robot (no physics) and measured; see mimic_lit.motion.checks for the
definitions. Problems are reported, not fixed (clean-motion fixes them). The exit code is 1 when
any clip fails a threshold (so the command can guard a data pipeline), unless --report-only.
--plot DIR writes one PNG per clip: foot heights with the stance phases, the lowest point, the
root height and the fastest joint over time.

examples:
  mimic-lit check-motion --motion g1/kimodo_walk humanoid/run
  mimic-lit check-motion --motion my_clips/*.npz --max-foot-slide 0.03 --plot reports/
  mimic-lit check-motion --shipped g1 --report-only
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
    parser.add_argument("--motion", "--in", dest="motion", nargs="+", default=[], metavar="FILE|ROBOT/CLIP",
                        help="motion files or shipped clip names (e.g. g1/kimodo_walk); --in is the same "
                        "option, as in retarget and clean-motion")
    parser.add_argument("--robot", default=None, help="robot for all clips; default: each clip's own robot")
    parser.add_argument("--shipped", nargs="?", const="all", default=None, metavar="ROBOT",
                        help="check every shipped clip (of ROBOT, or of all robots)")
    parser.add_argument("--list", action="store_true", help="list the shipped clips and exit")
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument("--report-only", action="store_true", help="exit with code 0 even when clips fail")
    parser.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)  # the default since 0.x; kept for scripts
    parser.add_argument("--plot", default=None, metavar="DIR", help="write a PNG per clip into DIR (needs matplotlib)")
    parser.add_argument("--max-penetration", type=float, default=None, metavar="M",
                        help="deepest allowed ground penetration (default 0.01 m)")
    parser.add_argument("--max-mean-penetration", type=float, default=None, metavar="M",
                        help="allowed mean ground penetration (default 0.01 m)")
    parser.add_argument("--max-float", type=float, default=None, metavar="M",
                        help="allowed median height of the lowest foot point (default 0.02 m)")
    parser.add_argument("--max-foot-slide", type=float, default=None, metavar="M",
                        help="allowed mean foot travel per stance phase (default 0.02 m)")
    parser.add_argument("--max-joint-speed", type=float, default=None, metavar="RAD_S",
                        help="joint speed counted as a spike (default 30 rad/s)")


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

    thresholds = _thresholds(args)
    reports = [check_clip(load_motion_arg(m, args.robot), name=motion_label(m), thresholds=thresholds) for m in motions]
    print_reports(reports, as_json=args.json)
    if args.plot:
        from pathlib import Path

        for r in reports:
            path = plot_report(r, Path(args.plot) / f"{r.robot}_{r.clip}.png")
            if not args.json:
                print(f"wrote {path}")
    return 1 if not args.report_only and any(r.issues() for r in reports) else 0


def _thresholds(args: argparse.Namespace):
    """:class:`CheckThresholds` with the command-line overrides."""
    import dataclasses

    from mimic_lit.errors import MimicLitError
    from mimic_lit.motion.checks import CheckThresholds

    overrides = {
        "penetration_depth": args.max_penetration, "penetration_mean": args.max_mean_penetration,
        "float_height": args.max_float, "foot_slide": args.max_foot_slide, "joint_speed": args.max_joint_speed,
    }  # fmt: skip
    given = {k: float(v) for k, v in overrides.items() if v is not None}
    bad = [k for k, v in given.items() if not v > 0]
    if bad:
        raise MimicLitError(f"thresholds must be > 0: {', '.join(bad)}")
    return dataclasses.replace(CheckThresholds(), **given)


def plot_report(r: MotionCheckReport, path):
    """One PNG of a report's per-frame series; returns its path."""
    try:
        import matplotlib
    except ImportError:
        from mimic_lit.errors import MimicLitError

        raise MimicLitError("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = r.traces
    t = tr["time"]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    for k in range(tr["foot_height"].shape[1]):
        axes[0].plot(t, 100 * tr["foot_height"][:, k], lw=1.2, label=f"foot {k + 1} sole")
    axes[0].plot(t, 100 * tr["lowest_point"], "k:", lw=1, label="lowest point")
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].axhline(-100 * r.thresholds.penetration_depth, color="red", lw=0.8, ls="--", label="penetration limit")
    axes[0].set_ylabel("height (cm)")
    axes[0].legend(fontsize=8, ncol=4)
    axes[1].plot(t, 100 * tr["root_height"], lw=1.2)
    axes[1].set_ylabel("root height (cm)")
    axes[2].plot(t, tr["joint_speed"], lw=1.2)
    axes[2].axhline(r.thresholds.joint_speed, color="red", lw=0.8, ls="--")
    axes[2].set_ylabel("fastest joint (rad/s)")
    axes[2].set_xlabel("time (s)")
    import textwrap

    verdict = "; ".join(r.issues()) or "passed"
    fig.suptitle(textwrap.fill(f"{r.robot}/{r.clip}: {verdict}", 120), fontsize=9)
    fig.tight_layout()
    from mimic_lit.fileio import atomic_output

    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
    return path


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
    th = r.thresholds
    table.add_row("mean penetration", _flag(f"{100 * r.penetration_mean:.2f} cm", r.penetration_mean > th.penetration_mean))
    table.add_row("float (median lowest foot)", _flag(f"{100 * r.float_height:.1f} cm", r.float_height > th.float_height))
    table.add_row("foot slide per stance", _flag(f"{100 * r.foot_slide_mean:.1f} cm mean, {100 * r.foot_slide_max:.1f} cm max "
                                                 f"({r.stance_phases} phases)", r.foot_slide_mean > th.foot_slide))
    table.add_row("fastest joint / root", _flag(f"{r.max_joint_speed:.1f} rad/s / {r.max_root_speed:.2f} m/s",
                                                r.speed_spike_frames > 0))
    pair = "/".join(r.self_collision_pair) if r.self_collision_pair else "-"
    table.add_row("self-collision", _flag(f"{r.self_collision_frames} frames, {100 * r.self_collision_depth:.1f} cm ({pair})",
                                          r.self_collision_frames > 0))
    issues = r.issues()
    table.add_row("verdict", _flag("; ".join(issues), True) if issues else "[green]ok[/green]")
    return table


def _multi_table(reports: list[MotionCheckReport]):
    from rich.table import Table

    table = Table(title="kinematic check (heights in cm)", title_justify="left")
    for name, justify in (("clip", "left"), ("frames", "right"), ("root z", "right"), ("foot z", "right"), ("swing", "right"),
                          ("penetr.", "right"), ("<-1cm", "right"), ("slide", "right"), ("limits", "right"),
                          ("spikes", "right"), ("self-coll.", "right"), ("worst joint", "left")):
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
            _flag(f"{100 * r.foot_slide_mean:.1f}", r.foot_slide_mean > r.thresholds.foot_slide),
            _flag(f"{r.joint_limit_pct:.0f}%", lim),
            _flag(str(r.speed_spike_frames), r.speed_spike_frames > 0),
            _flag(str(r.self_collision_frames), r.self_collision_frames > 0),
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

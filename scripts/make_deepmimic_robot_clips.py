"""Make the shipped G1 and K1 versions of the DeepMimic walk, run, kick, spinkick, turn and long-walk clips.

Each DeepMimic humanoid clip (MIT, kept in ``mimic_lit/data/motions/sources/deepmimic``) is retargeted onto the
robot (``mimic-lit retarget`` at 30 fps), cleaned (``mimic-lit clean-motion``: feet on the floor,
locked in stance), checked (``mimic-lit check-motion``), and written to
``mimic_lit/data/motions/<robot>/deepmimic_<name>.npz``. The turn is the 6-second window of
``long/humanoid3d_long_walk2`` with the largest heading change; ``long_walk{1,2,3}{,_mirror}`` are
the whole long walks (walking with many turns, and their left-right mirrors). Prints the before/after
numbers as the Markdown table of docs/data.md.

    python scripts/make_deepmimic_robot_clips.py   # sources: mimic_lit/data/motions/sources/deepmimic
    python scripts/make_deepmimic_robot_clips.py --clips long_walk3 --robots k1   # one clip, one robot
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLIPS = {  # name -> (file, loop)
    "walk": ("humanoid3d_walk.txt", "wrap"),
    "run": ("humanoid3d_run.txt", "wrap"),
    "kick": ("humanoid3d_kick.txt", "clamp"),
    "spinkick": ("humanoid3d_spinkick.txt", "clamp"),
    "turn": ("long/humanoid3d_long_walk2.txt", "clamp"),
    **{f"long_walk{i}{m}": (f"long/humanoid3d_long_walk{i}{m}.txt", "clamp") for i in (1, 2, 3) for m in ("", "_mirror")},
}
TURN_WINDOW = 6.0  # seconds


def turn_window(clip) -> tuple[float, float]:
    """(start, end) seconds of the TURN_WINDOW with the largest heading change."""
    q = clip.root_quat
    heading = np.unwrap(np.arctan2(2 * (q[:, 0] * q[:, 3] + q[:, 1] * q[:, 2]), 1 - 2 * (q[:, 2] ** 2 + q[:, 3] ** 2)))
    n = int(TURN_WINDOW * clip.fps)
    change = np.abs(heading[n:] - heading[:-n])
    start = int(np.argmax(change))
    return start / clip.fps, (start + n) / clip.fps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default=str(ROOT / "mimic_lit" / "data" / "motions" / "sources" / "deepmimic"))
    p.add_argument("--robots", nargs="+", default=["g1", "k1"])
    p.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS), help="which clips to make (default: all)")
    args = p.parse_args()

    from mimic_lit.motion.checks import check_clip
    from mimic_lit.motion.clean import CleanConfig, clean_clip
    from mimic_lit.motion.formats import load_motion
    from mimic_lit.retarget import load_retarget_map, retarget_motion, shipped_map_path, source_from_clip

    rows = []
    for name in args.clips:
        file, loop = CLIPS[name]
        human = load_motion(Path(args.source) / file, robot="humanoid", loop=loop, name=name)
        trim = (0.0, 0.0)
        if name == "turn":
            start, end = turn_window(human)
            trim = (start, human.duration - end)
        for robot in args.robots:
            raw = retarget_motion(source_from_clip(human, fps=30), robot, load_retarget_map(shipped_map_path("humanoid", robot)))
            raw.clip.name = f"deepmimic_{name}"
            clean = clean_clip(raw.clip, CleanConfig(trim_start=trim[0], trim_end=trim[1]))
            clean.loop = loop if trim == (0.0, 0.0) else "clamp"
            clean.source = f"sources/deepmimic/{file} (MIT), retargeted to {robot} and cleaned by scripts/make_deepmimic_robot_clips.py"
            before, after = check_clip(raw.clip), check_clip(clean)
            out = ROOT / "mimic_lit" / "data" / "motions" / robot / f"deepmimic_{name}.npz"
            clean.save(out, overwrite=True)
            rows.append(
                f"| `{robot}/deepmimic_{name}` | {clean.duration:.2f} | {100 * before.penetration_mean:.2f} / "
                f"{100 * after.penetration_mean:.2f} | {100 * before.foot_slide_mean:.1f} / {100 * after.foot_slide_mean:.1f} | "
                f"{after.joint_limit_violations} | {after.self_collision_frames} | {'; '.join(after.issues()) or 'passes'} |"
            )
            print(rows[-1], flush=True)
    print()
    print("| clip | s | mean penetration cm (raw / cleaned) | foot slide cm per stance (raw / cleaned) | "
          "limit violations | self-collision frames | check-motion |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

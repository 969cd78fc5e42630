"""Rebuild the shipped clips (``mimic_lit/data/motions/<robot>/*.npz``) from the raw sources.

Run from the repository root: ``python tools/build_shipped_clips.py``. It converts every DeepMimic
``humanoid3d_*.txt`` to the ``humanoid`` robot and the ASAP, ProtoMotions/Kimodo and G1 Moves files
to the ``g1``, records each clip's provenance in its ``source`` field, and prints a table with the
lowest foot point per clip (a quick check that the feet meet the floor).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.formats import load_motion
from mimic_lit.motion.formats.asap_pkl import load_asap_pkl_all
from mimic_lit.motion.shipped import MOTION_DIR, SOURCE_DIR
from mimic_lit.robots import get_robot

LICENCES = {
    "deepmimic": "DeepMimic (xbpeng/DeepMimic), MIT",
    "asap": "ASAP (LeCAR-Lab/ASAP), MIT",
    "protomotions_kimodo": "ProtoMotions Kimodo (NVlabs/ProtoMotions), Apache-2.0",
    "g1_moves": "G1 Moves (experientialtech/g1-moves), CC BY 4.0",
}


def _provenance(path: Path, folder: str, detail: str) -> str:
    rel = path.relative_to(SOURCE_DIR).as_posix()
    return f"sources/{rel} [{LICENCES[folder]}]; {detail}"


def humanoid_clips() -> list[MotionClip]:
    """Every DeepMimic clip as a humanoid clip named after the file without ``humanoid3d_``."""
    clips = []
    for path in sorted((SOURCE_DIR / "deepmimic").glob("humanoid3d_*.txt")):
        if path.stem == "humanoid3d_ctrl":
            continue
        clip = load_motion(path, "humanoid")
        clip.source = _provenance(path, "deepmimic", clip.source)
        clips.append(clip)
    return clips


def g1_clips() -> list[MotionClip]:
    """ASAP (``asap_<motion>``), Kimodo (``kimodo_<motion>``) and G1 Moves (``g1moves_<move>``) clips."""
    clips = []
    for path in sorted((SOURCE_DIR / "asap").rglob("*.pkl")):
        for key, clip in load_asap_pkl_all(path, "g1").items():
            m = re.search(r"video_(.+?)_filter", key)
            clip.name = "asap_" + (m.group(1) if m else key)
            clip.source = _provenance(path, "asap", clip.source)
            clips.append(clip)
    for path in sorted((SOURCE_DIR / "protomotions_kimodo").rglob("output_*.csv")):
        clip = load_motion(path, "g1", layout="protomotions", name="kimodo_" + path.stem.removeprefix("output_"))
        clip.source = _provenance(path, "protomotions_kimodo", clip.source)
        clips.append(clip)
    for path in sorted((SOURCE_DIR / "g1_moves").rglob("*.csv")):
        clip = load_motion(path, "g1", layout="g1_moves", name="g1moves_" + path.stem.lower())
        clip.source = _provenance(path, "g1_moves", clip.source)
        clips.append(clip)
    return clips


def min_foot_height(clip: MotionClip) -> float:
    """Lowest point of the foot bodies' sphere/box geoms over the clip (metres; mesh geoms are skipped)."""
    import mujoco

    robot = get_robot(clip.robot)
    m = robot.model
    d = mujoco.MjData(m)
    feet = set(robot.body_ids(robot.foot_bodies))
    kinds = (int(mujoco.mjtGeom.mjGEOM_SPHERE), int(mujoco.mjtGeom.mjGEOM_BOX))
    geoms = [g for g in range(m.ngeom) if int(m.geom_bodyid[g]) in feet and int(m.geom_type[g]) in kinds]
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    lowest = np.inf
    for q in clip.qpos:
        d.qpos[:] = q
        mujoco.mj_kinematics(m, d)
        for g in geoms:
            if int(m.geom_type[g]) == kinds[0]:
                z = d.geom_xpos[g, 2] - m.geom_size[g, 0]
            else:
                pts = d.geom_xpos[g] + (corners * m.geom_size[g]) @ d.geom_xmat[g].reshape(3, 3).T
                z = pts[:, 2].min()
            lowest = min(lowest, float(z))
    return lowest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=MOTION_DIR, help="where <robot>/<name>.npz go")
    parser.add_argument("--no-foot-check", action="store_true", help="skip the foot-height column")
    args = parser.parse_args(argv)

    clips = humanoid_clips() + g1_clips()
    names = [(c.robot, c.name) for c in clips]
    if len(set(names)) != len(names):
        raise SystemExit(f"duplicate clip names: {sorted(n for n in names if names.count(n) > 1)}")
    print(f"{'robot':9s} {'clip':32s} {'frames':>6s} {'fps':>7s} {'dur s':>6s} {'loop':5s} {'foot min m':>10s}")
    for clip in clips:
        out = args.out_dir / clip.robot / f"{clip.name}.npz"
        clip.save(out, overwrite=True)
        back = MotionClip.load(out, get_robot(clip.robot))
        assert np.allclose(back.qpos, clip.qpos, rtol=0, atol=1e-12), out
        foot = "" if args.no_foot_check else f"{min_foot_height(clip):+10.3f}"
        print(
            f"{clip.robot:9s} {clip.name:32s} {clip.num_frames:6d} {clip.fps:7.3f} {clip.duration:6.2f} "
            f"{clip.loop:5s} {foot}"
        )
    print(f"wrote {len(clips)} clips under {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

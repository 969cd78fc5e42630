"""Shared ``--motion`` handling for the motion tools: a file path or the name of a shipped clip.

Accepted forms, tried in this order:

1. a path to an existing file in any format :func:`mimic_lit.motion.formats.load_motion` reads;
2. ``<robot>/<clip>`` naming a shipped clip, e.g. ``g1/kimodo_walk`` or ``humanoid/walk``;
3. ``<clip>`` alone when ``--robot`` is given, e.g. ``--robot g1 --motion kimodo_walk``.

Anything else is a one-line error that says the file does not exist and lists the shipped clips.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mimic_lit.motion.clip import MotionClip


def _looks_like_name(text: str) -> bool:
    return not Path(text).suffix and text.count("/") <= 1 and "\\" not in text


def resolve_motion_path(motion: str, robot: str | None) -> tuple[Path, str | None]:
    """(file to load, robot implied by a shipped name or ``robot``) for a ``--motion`` value."""
    from mimic_lit.errors import MotionFormatError
    from mimic_lit.motion.shipped import shipped_clip, shipped_clip_paths
    from mimic_lit.robots import get_robot, robot_names

    path = Path(motion).expanduser()
    if path.is_file():
        return path, robot
    if path.is_dir():
        raise MotionFormatError(f"--motion '{motion}' is a directory, not a motion file")
    if _looks_like_name(motion):
        if "/" in motion:
            owner, name = motion.split("/")
            if owner in robot_names():
                if robot is not None and get_robot(robot).name != owner:
                    raise MotionFormatError(f"--motion '{motion}' is a clip of robot '{owner}' but --robot is '{robot}'")
                return shipped_clip(owner, name), owner
        elif robot is not None:
            spec = get_robot(robot)
            return shipped_clip(spec.name, motion), spec.name
    examples = ", ".join(f"{p.parent.name}/{p.stem}" for p in shipped_clip_paths()[:3])
    raise MotionFormatError(
        f"motion file not found: '{motion}' (a shipped clip is named <robot>/<clip>, e.g. {examples}; "
        "`mimic-lit check-motion --list` lists them)"
    )


def load_motion_arg(motion: str, robot: str | None) -> MotionClip:
    """Load the clip a ``--motion`` value names, validated against its robot.

    The robot is ``robot`` if given, else the one a shipped name implies, else the one stored in the
    file; a clip with no robot anywhere is an error asking for ``--robot``.
    """
    from mimic_lit.errors import MimicLitError
    from mimic_lit.robots import get_robot

    if robot is not None:
        robot = get_robot(robot).name  # unknown names fail here, before any file is read
    path, robot = resolve_motion_path(motion, robot)
    try:
        from mimic_lit.motion.formats import load_motion
    except ImportError:  # formats package not installed in this build: .npz only
        from mimic_lit.motion.clip import MotionClip

        clip = MotionClip.load(path, get_robot(robot) if robot else None)
    else:
        clip = load_motion(path, robot=robot)
    robot = robot or clip.robot
    if not robot:
        raise MimicLitError(f"'{path}' does not say which robot it is for; pass --robot")
    clip.validate(get_robot(robot), where=str(path))
    clip.robot = get_robot(robot).name
    return clip

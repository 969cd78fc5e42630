"""Which source body drives which robot body, and how strongly: a retargeting map.

A map is a small YAML file (shipped ones live in ``mimic_lit/data/retarget/``)::

    source: humanoid          # the source skeleton (a robot name, or a BVH skeleton's name)
    robot: g1
    root: {robot: pelvis, source: pelvis}
    hips: {robot: [left_hip_roll_link, right_hip_roll_link], source: [left_thigh, right_thigh]}
    legs: [left_ankle_roll_link, right_ankle_roll_link]   # robot bodies whose chain sets the scale
    source_legs: [left_foot, right_foot]
    posture_weight: 0.05
    avoid:                    # robot body groups the IK keeps apart (collision avoidance)
      - [[left_elbow_link], [pelvis, left_hip_roll_link]]
    targets:
      - {robot: left_knee_link, source: left_shin, position: 1.0}
      - {robot: left_ankle_roll_link, source: left_foot, position: 1.0, orientation: 0.5}

Position targets are source body positions scaled by the ratio of the two skeletons' leg lengths
(hip to ankle, measured in the rest poses), so the feet stay on the ground and the stride scales
with the robot. Orientation targets are source body orientations times a fixed offset, the
rotation between the two bodies in their rest poses (so each skeleton's own axis conventions do
not matter; use them for bodies that are upright and forward-facing in both rest poses: pelvis,
torso, feet). The root target is placed so that the robot's hip centre follows the scaled
source hip centre.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mimic_lit.errors import MimicLitError

__all__ = ["BodyTarget", "RetargetMap", "load_retarget_map", "shipped_map_path"]

MAP_DIR = Path(__file__).resolve().parent.parent / "data" / "retarget"


@dataclass(frozen=True)
class BodyTarget:
    """One robot body driven by one source body (weights are IK task costs; 0 disables a term)."""

    robot: str
    source: str
    position: float = 1.0
    orientation: float = 0.0


@dataclass(frozen=True)
class RetargetMap:
    """A source skeleton → robot mapping (see the module docstring for the meaning of each field)."""

    source: str
    robot: str
    root_robot: str
    root_source: str
    hips_robot: tuple[str, str]
    hips_source: tuple[str, str]
    ankles_robot: tuple[str, str]
    ankles_source: tuple[str, str]
    targets: tuple[BodyTarget, ...]
    posture_weight: float = 0.05
    root_position: float = 1.0
    root_orientation: float = 1.0
    scale: float | None = None  # None: the leg-length ratio
    avoid: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()  # body groups kept apart (arms vs hips)
    notes: str = field(default="", compare=False)

    @classmethod
    def from_dict(cls, data: dict, where: str = "map") -> "RetargetMap":
        try:
            targets = tuple(
                BodyTarget(
                    robot=str(t["robot"]), source=str(t["source"]),
                    position=float(t.get("position", 1.0)), orientation=float(t.get("orientation", 0.0)),
                )  # fmt: skip
                for t in data["targets"]
            )
            root, hips = data["root"], data["hips"]
            return cls(
                source=str(data["source"]),
                robot=str(data["robot"]),
                root_robot=str(root["robot"]),
                root_source=str(root["source"]),
                hips_robot=tuple(hips["robot"]),
                hips_source=tuple(hips["source"]),
                ankles_robot=tuple(data["legs"]),
                ankles_source=tuple(data["source_legs"]),
                targets=targets,
                posture_weight=float(data.get("posture_weight", 0.05)),
                root_position=float(root.get("position", 1.0)),
                root_orientation=float(root.get("orientation", 1.0)),
                scale=None if data.get("scale") is None else float(data["scale"]),
                avoid=tuple((tuple(a), tuple(b)) for a, b in data.get("avoid", [])),
                notes=str(data.get("notes", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MimicLitError(f"{where}: not a retargeting map ({type(exc).__name__}: {exc})") from None

    def check_bodies(self, robot_bodies: set[str], source_bodies: set[str]) -> None:
        """Raise a clear error naming every body the map refers to that a skeleton lacks."""
        robot_used = {self.root_robot, *self.hips_robot, *self.ankles_robot, *(t.robot for t in self.targets)}
        robot_used |= {b for a_group, b_group in self.avoid for b in (*a_group, *b_group)}
        source_used = {self.root_source, *self.hips_source, *self.ankles_source, *(t.source for t in self.targets)}
        missing = [f"robot body '{b}'" for b in sorted(robot_used - robot_bodies)]
        missing += [f"source body '{b}'" for b in sorted(source_used - source_bodies)]
        if missing:
            raise MimicLitError(f"retargeting map {self.source} -> {self.robot}: unknown {', '.join(missing)}")


def shipped_map_path(source: str, robot: str) -> Path:
    """Path of the default map from ``source`` to ``robot``: the robot spec's ``retarget_maps[source]``
    (a clear error lists the shipped ones)."""
    from mimic_lit.errors import UnknownRobotError
    from mimic_lit.robots import get_robot

    try:
        rel = get_robot(robot).retarget_maps.get(source)
    except UnknownRobotError:
        rel = None
    path = MAP_DIR / rel if rel else None
    if path is None or not path.is_file():
        have = sorted(p.stem for p in MAP_DIR.glob("*_to_*.yaml"))
        raise MimicLitError(f"no shipped retargeting map from '{source}' to '{robot}'; shipped: {', '.join(have)}")
    return path


def load_retarget_map(path: str | os.PathLike) -> RetargetMap:
    """Read a map YAML file."""
    path = Path(path)
    if not path.is_file():
        raise MimicLitError(f"retargeting map '{path}' does not exist")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise MimicLitError(f"{path}: not a retargeting map (expected a mapping at the top level)")
    return RetargetMap.from_dict(data, str(path))

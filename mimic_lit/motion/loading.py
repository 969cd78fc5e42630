"""`load_motion_library`: the motion library of a recipe's ``motion`` for the simulator's robot."""

from __future__ import annotations

from pathlib import Path

import torch

from mimic_lit.errors import MimicLitError, MotionRobotUnnamedError
from mimic_lit.motion.library import MotionLibrary
from mimic_lit.motion.shipped import resolve_dataset
from mimic_lit.robots import RobotSpec, get_robot

__all__ = ["load_motion_library"]


def load_motion_library(
    motion: str, robot: "str | RobotSpec", *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> MotionLibrary:
    """Library of ``motion`` (clip or dataset YAML) for ``robot``; one-line error if it is another robot's."""
    if not motion:
        raise MimicLitError(
            "no motion given: set the tracking config's 'motion' (clip, shipped:<robot>/<name> or .yaml)"
        )
    motion = resolve_dataset(motion)
    is_yaml = Path(motion).suffix.lower() in (".yaml", ".yml")

    def build(robot_arg: RobotSpec | None) -> MotionLibrary:
        if is_yaml:
            return MotionLibrary.from_dataset_yaml(motion, robot=robot_arg, device=device, dtype=dtype)
        return MotionLibrary([motion], robot=robot_arg, device=device, dtype=dtype)

    spec = get_robot(robot)
    try:
        lib = build(None)
    except MotionRobotUnnamedError:  # clips without a robot name: assume the simulator's
        lib = build(spec)
    if lib.robot.name != spec.name:
        raise MimicLitError(f"motion '{motion}' is for robot '{lib.robot.name}' but the simulator runs '{spec.name}'")
    if lib.robot is not spec:  # a robot given by a YAML spec under a shipped robot's name: use its model
        lib = build(spec)
    return lib

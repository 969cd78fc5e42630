"""Goals on top of a motion prior (MimicKit's steering and location, velocity commands, ball
dribbling), pure batched torch.

See :class:`~mimic_lit.envs.tasks.base.Goal` for the API an env drives and
:class:`~mimic_lit.envs.tasks.base.GoalConfig` for how a recipe selects one (``task.goal:
{class_path: <config class>, init_args: {...}}``); a goal defined in any importable module works
the same way.
"""

from __future__ import annotations

from mimic_lit.envs.tasks.base import Goal, GoalConfig
from mimic_lit.envs.tasks.dribble import DribbleConfig, DribbleGoal
from mimic_lit.envs.tasks.location import LocationConfig, LocationGoal
from mimic_lit.envs.tasks.steering import SteeringConfig, SteeringGoal
from mimic_lit.envs.tasks.velocity_command import VelocityCommandConfig, VelocityCommandGoal

__all__ = [
    "DribbleConfig",
    "DribbleGoal",
    "Goal",
    "GoalConfig",
    "LocationConfig",
    "LocationGoal",
    "SteeringConfig",
    "SteeringGoal",
    "VelocityCommandConfig",
    "VelocityCommandGoal",
]

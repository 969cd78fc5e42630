"""AMP-style task objectives (MimicKit's steering and location), pure batched torch.

:func:`make_task` builds one by name from :data:`TASKS`; see :class:`~mimic_lit.envs.tasks.base.Task`
for the API an env drives (``reset``, ``observe``, ``reward``, ``advance``, ``success``).
"""

from __future__ import annotations

from typing import Any

from mimic_lit.envs.tasks.base import Task
from mimic_lit.envs.tasks.dribble import DribbleConfig, DribbleTask
from mimic_lit.envs.tasks.location import LocationConfig, LocationTask
from mimic_lit.envs.tasks.steering import SteeringConfig, SteeringTask
from mimic_lit.errors import MimicLitError

__all__ = ["TASKS", "DribbleConfig", "DribbleTask", "LocationConfig", "LocationTask", "SteeringConfig", "SteeringTask", "Task", "make_task"]

#: Task name -> class, for configs and the CLI.
TASKS: dict[str, type[Task]] = {"steering": SteeringTask, "location": LocationTask, "dribble": DribbleTask}


def make_task(name: str, **kwargs: Any) -> Task:
    """Build the task registered as ``name``; ``kwargs`` go to its constructor (num_envs, seed, config...)."""
    if name not in TASKS:
        raise MimicLitError(f"unknown task {name!r}; valid names: {', '.join(sorted(TASKS))}")
    return TASKS[name](**kwargs)

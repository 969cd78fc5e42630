"""`EnvTask`: the base of every ``data.task`` config; a task knows how to build its env.

A recipe picks the env by the task's class path (``task: {class_path: ..., init_args: ...}``),
so a new method's env side is one file: its config (a subclass of :class:`EnvTask`, usually a
dataclass) and its env. The data module only calls :meth:`EnvTask.make_env`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from mimic_lit.envs.protocol import VecEnv
    from mimic_lit.motion.library import MotionLibrary
    from mimic_lit.sim.base import SimConfig

__all__ = ["EnvTask", "make_env"]


class EnvTask:
    """Options of one kind of environment. Subclasses are dataclasses with a ``motion`` field,
    a ``seed`` field and a ``rand_reset`` field, and implement :meth:`make_env`."""

    motion: str
    seed: int
    rand_reset: bool

    def make_env(self, sim_config: "SimConfig", motion: "MotionLibrary") -> "VecEnv":
        """The env of these options over a new simulator of ``sim_config`` and the clips ``motion``."""
        raise NotImplementedError

    def motion_source(self) -> str:
        """The clip or dataset :func:`make_env` loads (``motion``; a task may derive it elsewhere)."""
        return self.motion


def sim_dtype(sim_config: "SimConfig") -> torch.dtype:
    """The torch dtype the simulator's tensors use."""
    return torch.float32 if sim_config.dtype == "float32" else torch.float64


def make_env(sim_config: "SimConfig", task: EnvTask) -> "VecEnv":
    """Load the task's motion (``task.motion_source()``) for the simulator's robot, then build the task's env (a one-line error
    if the motion is another robot's)."""
    from mimic_lit.motion.loading import load_motion_library

    motion = load_motion_library(task.motion_source(), sim_config.robot_spec, device=sim_config.device, dtype=sim_dtype(sim_config))
    return task.make_env(sim_config, motion)

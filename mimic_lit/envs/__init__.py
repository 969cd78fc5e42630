"""Task logic in batched torch over a simulator: observations, rewards, done flags, resets.

- :mod:`~mimic_lit.envs.protocol`: the ``VecEnv`` contract every learner uses.
- :mod:`~mimic_lit.envs.character`: ``CharacterEnv``, the base of every motion env (simulator,
  resets from the reference, termination, goal, checkpointing); :mod:`~mimic_lit.envs.reference`
  and :mod:`~mimic_lit.envs.termination` hold its reference window and done flags.
- :mod:`~mimic_lit.envs.tracking`: ``TrackingEnv``, DeepMimic motion tracking.
- :mod:`~mimic_lit.envs.observations`, :mod:`~mimic_lit.envs.rewards`,
  :mod:`~mimic_lit.envs.actions`: pure batched building blocks, shared with AMP-style tasks.

Names are imported lazily so ``import mimic_lit.envs`` stays cheap (no MuJoCo import).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Done": "mimic_lit.envs.protocol",
    "StepResult": "mimic_lit.envs.protocol",
    "VecEnv": "mimic_lit.envs.protocol",
    "ActionMapping": "mimic_lit.envs.actions",
    "ObsLayout": "mimic_lit.envs.observations",
    "CharacterEnv": "mimic_lit.envs.character",
    "TrackingConfig": "mimic_lit.envs.tracking",
    "TrackingEnv": "mimic_lit.envs.tracking",
    "EnvSpec": "mimic_lit.envs.spec",
    "EnvTask": "mimic_lit.envs.task",
    "make_env": "mimic_lit.envs.task",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mimic_lit.envs' has no attribute '{name}'")

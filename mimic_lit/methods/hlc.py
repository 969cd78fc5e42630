"""`HLC`: a high-level controller learned with PPO or AWR on a task, acting through skill latents.

The learner is the shared actor-critic core; what makes it high-level is its task,
:class:`~mimic_lit.envs.hlc.HLCConfig`, whose env (:class:`~mimic_lit.envs.hlc.HLCEnv`)
turns each action into a latent for a frozen ASE low-level policy and rewards the task.
"""

from __future__ import annotations

from mimic_lit.methods.base import RLModule

__all__ = ["HLC"]


class HLC(RLModule):
    """High-level task policy over a frozen ASE skill policy (see :class:`RLModule` for args)."""

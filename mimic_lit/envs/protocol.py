"""What a learner sees of an environment: the batched `VecEnv` contract between envs and methods.

Methods (``mimic_lit.methods``) and the rollout collector (``mimic_lit.rl.collector``) only use this
protocol, so every task (tracking, AMP tasks, ...) plugs into every learner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol, runtime_checkable

import torch

from mimic_lit.envs.spec import EnvSpec


class Done(IntEnum):
    """Why an episode ended at a step (MimicKit's done flags)."""

    NULL = 0  #: still running
    FAIL = 1  #: failure (fall, tracking lost): terminal, value 0
    SUCC = 2  #: task or clip completed: terminal, value 0
    TIME = 3  #: time limit: NOT terminal for the return, bootstrap with V(terminal_obs)


@dataclass
class StepResult:
    """Everything :meth:`VecEnv.step` returns, batched over N environments.

    Attributes:
        obs: (N, obs_dim) observations to act on next; for environments whose episode just ended
            these already belong to the new episode (environments reset themselves).
        reward: (N,) reward of the transition.
        done: (N,) int64 :class:`Done` flags of the transition.
        terminal_obs: (N, obs_dim) observation of the state the transition reached, before any
            reset; equals ``obs`` where ``done == NULL``. Used to bootstrap ``TIME`` endings.
        info: per-step diagnostics (tensors of shape (N,) or scalars), e.g. tracking errors; the
            collector averages them into logged metrics.
        extras: per-step tensors (N, ...) the learner needs with each transition, e.g. AMP's
            discriminator observation of the state reached; the collector stores them.
    """

    obs: torch.Tensor
    reward: torch.Tensor
    done: torch.Tensor
    terminal_obs: torch.Tensor
    info: dict[str, torch.Tensor] = field(default_factory=dict)
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


@runtime_checkable
class VecEnv(Protocol):
    """N environments of one task, stepped together with normalised actions in [-1, 1] (soft)."""

    @property
    def num_envs(self) -> int: ...

    @property
    def obs_dim(self) -> int: ...

    @property
    def action_dim(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    @property
    def control_dt(self) -> float: ...

    def reset(self) -> torch.Tensor:
        """Start a new episode in every environment; returns (N, obs_dim) observations."""
        ...

    def step(self, actions: torch.Tensor) -> StepResult:
        """Apply (N, action_dim) normalised actions for one control step; auto-resets ended episodes."""
        ...

    @property
    def spec(self) -> EnvSpec:
        """Sizes and contents of this env, handed to the method once by the data module."""
        ...

    def rollout_extras(self, num_samples: int) -> dict[str, torch.Tensor]:
        """Tensors (``num_samples``, ...) the learner's update needs besides the steps', drawn once
        after each rollout (AMP's demo samples); usually none."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically after :meth:`load_state_dict`."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...

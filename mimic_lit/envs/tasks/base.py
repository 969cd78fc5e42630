"""Base class of AMP-style task objectives (steering, location): targets, timers, obs and reward.

A task is pure batched torch over N environments and knows nothing of the simulator: the env
passes root positions and rotations in (world frame, z up, quaternions (w, x, y, z)) and gets
observations, rewards and success flags back. Every env owns a countdown timer; when it runs
out, :meth:`Task.advance` draws a new target for that env only.

Per control step an env is expected to call ``reward`` (for the step just taken), then
``advance`` (timers and resampling), then ``observe`` (for the next action); ``reset`` at the
start of every episode.
"""

from __future__ import annotations

from typing import Any

import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.rotations import heading_quat_inv, rotate_per_env, yaw_from_quat

__all__ = ["Task", "check_range", "heading_dir_xy", "horizontal_velocity", "to_heading_frame_xy", "unit_xy"]


def unit_xy(angle: torch.Tensor) -> torch.Tensor:
    """(..., 2) unit vector ``(cos, sin)`` of ``angle`` (...), the ground-plane direction of a yaw."""
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)


def heading_dir_xy(root_quat: torch.Tensor) -> torch.Tensor:
    """(N, 2) ground-plane unit direction of the body x axis, so facing rewards ignore tilt."""
    return unit_xy(yaw_from_quat(root_quat))


def to_heading_frame_xy(root_quat: torch.Tensor, v_xy: torch.Tensor) -> torch.Tensor:
    """(N, 2) ground-plane vectors ``v_xy`` (N, 2) expressed in each character's heading frame."""
    v = torch.cat([v_xy, torch.zeros_like(v_xy[:, :1])], dim=-1)
    return rotate_per_env(heading_quat_inv(root_quat), v)[:, :2]


def horizontal_velocity(prev_root_pos: torch.Tensor, root_pos: torch.Tensor, dt: float) -> torch.Tensor:
    """(N, 2) finite-difference root velocity in the ground plane, as MimicKit's task rewards use."""
    if dt <= 0:
        raise MimicLitError(f"dt must be positive, got {dt}")
    return (root_pos[:, :2] - prev_root_pos[:, :2]) / dt


def check_range(name: str, low: float, high: float, min_value: float = 0.0) -> None:
    """Raise a one-line error if the config range ``[low, high]`` is empty or starts below ``min_value``."""
    if not (min_value <= low <= high):
        raise MimicLitError(f"{name} needs {min_value} <= min <= max, got [{low}, {high}]")


class Task:
    """N task instances with per-env targets and resampling timers; subclasses define the objective.

    Subclasses set ``change_time`` (min, max) seconds and ``weights`` (term name -> weight), list
    their target tensors in ``_state_keys``, and implement ``obs_dim``, ``_draw_targets``,
    ``observe`` and ``reward_terms``.
    """

    #: Names of the tensor attributes saved by :meth:`state_dict` besides the timers.
    _state_keys: tuple[str, ...] = ()

    def __init__(
        self,
        num_envs: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> None:
        """Allocate timers and a private generator so draws are reproducible and independent of torch's."""
        if num_envs <= 0:
            raise MimicLitError(f"num_envs must be positive, got {num_envs}")
        self.num_envs = int(num_envs)
        self.device = torch.device(device)
        self.dtype = dtype
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(int(seed))
        # Zero = expired: the first ``advance`` draws targets for envs never reset.
        self.time_left = torch.zeros(self.num_envs, device=self.device, dtype=dtype)
        self.change_time: tuple[float, float] = (1.0, 1.0)
        self.weights: dict[str, float] = {}

    # -- to implement -----------------------------------------------------------------------

    @property
    def obs_dim(self) -> int:
        """Size of the task observation appended to the character observation."""
        raise NotImplementedError

    def _draw_targets(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Draw new targets for envs ``ids`` whose roots are ``root_pos`` (k, 3), ``root_quat`` (k, 4)."""
        raise NotImplementedError

    def observe(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N, obs_dim) task observation in each character's heading frame."""
        raise NotImplementedError

    def reward_terms(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> dict[str, torch.Tensor]:
        """Unweighted reward terms, each (N,) in [0, 1], keyed like ``weights`` (also for logging)."""
        raise NotImplementedError

    def success(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N,) bool: whether each env currently meets its objective (default: never)."""
        return torch.zeros(root_pos.shape[0], dtype=torch.bool, device=root_pos.device)

    # -- shared logic -----------------------------------------------------------------------

    def marker_xy(self) -> torch.Tensor | None:
        """(N, 2) world point the goal is about (a target, a goal), drawn by ``mimic-lit play``;
        ``None`` when the goal has no point (steering)."""
        return None

    def _uniform(self, k: int, low: float, high: float) -> torch.Tensor:
        """(k,) samples of U[low, high) from the task's own generator."""
        u = torch.rand(k, generator=self.generator, device=self.device, dtype=self.dtype)
        return low + (high - low) * u

    def _resample(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """New targets, then new timers, for envs ``ids`` (a fixed draw order keeps runs reproducible)."""
        self._draw_targets(ids, root_pos, root_quat)
        self.time_left[ids] = self._uniform(ids.numel(), *self.change_time)

    def reset(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Draw new targets and timers for envs ``ids`` starting an episode; roots are (k, 3), (k, 4)."""
        ids = ids.to(device=self.device, dtype=torch.long)
        if ids.numel() == 0:
            return
        self._resample(ids, root_pos, root_quat)

    def advance(self, dt: float, root_pos: torch.Tensor, root_quat: torch.Tensor) -> None:
        """Count timers down by ``dt`` and resample, in one draw, the envs whose timer ran out."""
        self.time_left -= dt
        ids = torch.nonzero(self.time_left <= 0, as_tuple=False).squeeze(-1)
        if ids.numel() == 0:
            return
        self._resample(ids, root_pos[ids], root_quat[ids])

    def reward(
        self, prev_root_pos: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor, dt: float
    ) -> torch.Tensor:
        """(N,) weighted sum of :meth:`reward_terms`; in [0, 1] when the weights sum to 1."""
        terms = self.reward_terms(prev_root_pos, root_pos, root_quat, dt)
        return sum(self.weights[name] * term for name, term in terms.items())

    def state_dict(self) -> dict[str, Any]:
        """Copies of every tensor and the generator state, so a rollout resumes bit-identically."""
        state = {key: getattr(self, key).clone() for key in ("time_left",) + self._state_keys}
        state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved; shapes must match this task's ``num_envs``."""
        keys = ("time_left",) + self._state_keys
        missing = [k for k in keys + ("generator",) if k not in state]
        if missing:
            raise MimicLitError(f"task state is missing {', '.join(missing)}")
        for key in keys:
            current = getattr(self, key)
            value = state[key]
            if tuple(value.shape) != tuple(current.shape):
                got, want = tuple(value.shape), tuple(current.shape)
                raise MimicLitError(f"task state {key!r} has shape {got}, expected {want}")
            setattr(self, key, value.to(device=self.device, dtype=current.dtype).clone())
        self.generator.set_state(state["generator"].cpu())

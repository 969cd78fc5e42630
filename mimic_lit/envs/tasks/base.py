"""The goal plug-in API: :class:`Goal` (N goal instances in batched torch) and :class:`GoalConfig`
(its options, as a recipe gives them).

A goal is pure batched torch over N environments and knows nothing of the simulator's insides:
the env passes root positions and rotations in (world frame, z up, quaternions (w, x, y, z)) and
gets observations, rewards, success and end flags, and logged metrics back. A goal that needs
objects in the simulator (the dribble ball) lists them in :meth:`Goal.scene_objects`; the env
builds the simulator with them and hands it to :meth:`Goal.bind`. Every env owns a countdown
timer; when it runs out, :meth:`Goal.advance` draws a new target for that env only.

A recipe selects a goal by the import path of its config class, so a goal defined in any
importable module works without changing this package::

    task:
      goal:
        class_path: mimic_lit.envs.tasks.LocationConfig
        init_args: {dist_max: 5.0}

Per control step an env calls ``reward`` (for the step just taken), ``success``, ``done``,
``failed`` and ``metrics`` (of the state reached), then ``advance`` (timers and resampling), then ``observe``
(for the next action); ``reset`` at the start of every episode.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.rotations import heading_quat_inv, rotate_per_env, yaw_from_quat

__all__ = [
    "Goal",
    "GoalConfig",
    "check_range",
    "floor_arc",
    "floor_arrow",
    "heading_dir_xy",
    "horizontal_velocity",
    "to_heading_frame_xy",
    "unit_xy",
]


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


def floor_arrow(origin_xy: torch.Tensor, vector_xy: torch.Tensor, height: float) -> torch.Tensor:
    """(N, 2, 3) straight arrows for :meth:`Goal.arrows`, from ``origin_xy`` (N, 2) along the
    ground-plane ``vector_xy`` (N, 2), ``height`` metres above the floor."""
    start = torch.cat([origin_xy, torch.full_like(origin_xy[:, :1], height)], dim=-1)
    end = torch.cat([origin_xy + vector_xy, start[:, 2:]], dim=-1)
    return torch.stack([start, end], dim=1)


def floor_arc(
    centre_xy: torch.Tensor, radius: float, start_yaw: torch.Tensor, sweep: torch.Tensor, height: float, points: int = 17
) -> torch.Tensor:
    """(N, points, 3) curved arrows for :meth:`Goal.arrows`: arcs of ``radius`` about ``centre_xy``
    (N, 2), from the direction ``start_yaw`` (N,) through ``sweep`` (N,) radians (positive:
    counter-clockwise), ``height`` metres above the floor."""
    t = torch.linspace(0.0, 1.0, points, device=centre_xy.device, dtype=centre_xy.dtype)
    yaw = start_yaw.unsqueeze(-1) + sweep.unsqueeze(-1) * t  # (N, points)
    xy = centre_xy.unsqueeze(1) + radius * unit_xy(yaw)
    return torch.cat([xy, torch.full_like(xy[..., :1], height)], dim=-1)


def check_range(name: str, low: float, high: float, min_value: float = 0.0) -> None:
    """Raise a one-line error if the config range ``[low, high]`` is empty or starts below ``min_value``."""
    if not (min_value <= low <= high):
        raise MimicLitError(f"{name} needs {min_value} <= min <= max, got [{low}, {high}]")


class GoalConfig:
    """Options of a goal; subclasses are dataclasses whose fields a recipe sets under
    ``task.goal.init_args``, and name the goal they build in ``goal_class``."""

    #: the :class:`Goal` subclass :meth:`build` makes (its ``__init__`` takes ``config=`` this object)
    goal_class: ClassVar[type["Goal"]]

    def build(self, num_envs: int, device: torch.device | str, dtype: torch.dtype, seed: int) -> "Goal":
        """The goal for ``num_envs`` environments, drawing from its own generator seeded with ``seed``."""
        return self.goal_class(num_envs, device=device, dtype=dtype, seed=seed, config=self)


class Goal:
    """N goal instances with per-env targets and resampling timers; subclasses define the objective.

    Subclasses set ``change_time`` (min, max) seconds and ``weights`` (term name -> weight), list
    their target tensors in ``_state_keys``, and implement ``obs_dim``, ``_draw_targets``,
    ``observe`` and ``reward_terms``; optionally ``success``, ``done``, ``failed``, ``metric_names`` with
    ``metrics``, ``scene_objects``, ``bind``, and for ``mimic-lit play`` ``marker_xy``,
    ``velocity_command`` and ``arrows``.
    """

    #: Names of the tensor attributes saved by :meth:`state_dict` besides the timers.
    _state_keys: tuple[str, ...] = ()
    #: Per-step values :meth:`metrics` reports: logged in the step info and averaged per episode
    #: by evaluation (``val/<name>``).
    metric_names: tuple[str, ...] = ()

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
        """(N,) bool: whether each env currently meets its objective, logged as ``goal_success``
        (default: never)."""
        return torch.zeros(root_pos.shape[0], dtype=torch.bool, device=root_pos.device)

    def done(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N,) bool: envs whose episode this goal ends now, with ``SUCC`` (default: none; the
        goal's targets are redrawn and the episode goes on)."""
        return torch.zeros(root_pos.shape[0], dtype=torch.bool, device=root_pos.device)

    def failed(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """(N,) bool: envs whose episode this goal ends now as a failure of the task (``FAIL``, e.g.
        the dribble ball lost), although the character did not fall (default: none)."""
        return torch.zeros(root_pos.shape[0], dtype=torch.bool, device=root_pos.device)

    def metrics(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-step (N,) values keyed by :attr:`metric_names`, of the state reached (default: none)."""
        return {}

    def scene_objects(self) -> tuple[object, ...]:
        """Objects the simulator must hold besides the robot, e.g. a
        :class:`~mimic_lit.sim.base.BallConfig` (default: none)."""
        return ()

    def bind(self, sim: Any) -> None:
        """Called once with the simulator built with :meth:`scene_objects` (default: nothing to do)."""

    # -- shared logic -----------------------------------------------------------------------

    def marker_xy(self) -> torch.Tensor | None:
        """(N, 2) world point the goal is about (a target, a goal), drawn by ``mimic-lit play``;
        ``None`` when the goal has no point (steering)."""
        return None

    @property
    def marker_radius(self) -> float:
        """Radius (m) of the floor disc ``mimic-lit play`` draws at :meth:`marker_xy`: the goal's
        success radius where it has one."""
        return 0.3

    def velocity_command(self) -> torch.Tensor | None:
        """(N, 3) the (forward m/s, lateral m/s, yaw rate rad/s) command the character is asked to
        follow, in its heading frame, for ``mimic-lit play``'s summary; ``None`` when the goal gives none."""
        return None

    def arrows(self, root_pos: torch.Tensor, root_quat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Arrows ``mimic-lit play`` draws, by label: (N, K, 3) world points (K >= 2, the same for
        every step) of a path drawn with an arrowhead at its last point: a straight arrow
        (:func:`floor_arrow`) or a curved one (:func:`floor_arc`). By convention a velocity is drawn
        as the way it goes in one second (1 m per m/s, an arc of 1 rad per rad/s). Called only by
        ``mimic-lit play``, never in training (default: none)."""
        return {}

    def _uniform(self, k: int, low: float, high: float) -> torch.Tensor:
        """(k,) samples of U[low, high) from the goal's own generator."""
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
        """Restore what :meth:`state_dict` saved; shapes must match this goal's ``num_envs``."""
        keys = ("time_left",) + self._state_keys
        missing = [k for k in keys + ("generator",) if k not in state]
        if missing:
            raise MimicLitError(f"goal state is missing {', '.join(missing)}")
        for key in keys:
            current = getattr(self, key)
            value = state[key]
            if tuple(value.shape) != tuple(current.shape):
                got, want = tuple(value.shape), tuple(current.shape)
                raise MimicLitError(f"goal state {key!r} has shape {got}, expected {want}")
            setattr(self, key, value.to(device=self.device, dtype=current.dtype).clone())
        self.generator.set_state(state["generator"].cpu())

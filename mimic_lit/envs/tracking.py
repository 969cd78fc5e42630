"""`TrackingEnv`: DeepMimic motion tracking over a batched `Simulator` and a `MotionLibrary`.

One :meth:`TrackingEnv.step` for all N environments, in batched torch (no per-env Python loop):

1. normalised actions -> PD targets (:class:`~mimic_lit.envs.actions.ActionMapping`), one
   ``sim.step``;
2. the reference now and ``target_steps`` frames ahead, from a per-env window of reference
   frames at consecutive control steps that slides by one column per step and is extended by
   ``CHUNK`` columns in one ``MotionLibrary.get_frames`` call when it runs short (kinematics
   cost is mostly per call); with ``target_dt`` other than the control period every frame is
   queried afresh each step, still in one call;
3. reward (:mod:`~mimic_lit.envs.rewards`), observation (:mod:`~mimic_lit.envs.observations`),
   done flags (:class:`~mimic_lit.envs.protocol.Done`), tracking diagnostics;
4. ended environments are restarted by reference state initialisation in one ``sim.reset`` call,
   after their ``terminal_obs`` was taken; the (clip, time) draws and their reference slots are
   pre-drawn in batches of N, so resets rarely cost a kinematics call of their own.

Done flags, in rising priority (a later one overrides): ``TIME`` once the episode lasted
``episode_length``; ``SUCC`` once the reference time passed the end of a non-looping ("clamp")
clip; ``FAIL`` if the simulator diverged, or (with ``early_termination``) if a body that is not a
contact body pushes on the ground harder than ``contact_force_threshold`` in any axis, or a body
is farther than ``pose_termination_dist`` from its reference. Early termination is suppressed on
the first step after a reset (the transition out of the t = 0 state), so a reference pose that
starts slightly in the ground cannot end an episode before the policy acted.

Reference time of an env = its motion time offset (sampled at reset) + its episode time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from mimic_lit.envs.actions import ActionMapping
from mimic_lit.envs.observations import CharState, ObsLayout, char_obs, target_obs
from mimic_lit.envs.protocol import Done, StepResult
from mimic_lit.envs.spec import EnvSpec, ObsBlock
from mimic_lit.envs.task import EnvTask
from mimic_lit.envs.tasks import DribbleConfig, LocationConfig, SteeringConfig, Task, make_task
from mimic_lit.envs.rewards import (
    TERM_NAMES,
    RewardParams,
    body_weights,
    dof_weights,
    quat_diff_angle,
    reward_from_errors,
    tracking_errors,
)
from mimic_lit.errors import MimicLitError, MotionRobotUnnamedError
from mimic_lit.motion.library import MotionFrame, MotionLibrary
from mimic_lit.motion.shipped import resolve_dataset
from mimic_lit.robots import RobotSpec, get_robot
from mimic_lit.sim.base import SimConfig, Simulator, make_simulator
from mimic_lit.rotations import local_rotations, quat_mul, quat_rotate_inverse, quat_to_tan_norm, yaw_from_quat

__all__ = ["TrackingConfig", "TrackingEnv", "load_motion_library"]


@dataclass
class TrackingConfig(EnvTask):
    """Options of the DeepMimic tracking task (defaults: MimicKit's DeepMimic env configs).

    Attributes:
        motion: a clip (``.npz`` path or ``shipped:<robot>/<name>``) or a dataset (``.yaml`` path or
            ``shipped:datasets/<name>``).
        episode_length: episode time limit in seconds (ends with ``TIME``).
        target_steps: reference frames observed ahead, in multiples of ``target_dt``.
        target_dt: spacing of those frames in seconds; ``None`` = the control period.
        global_obs: observe (and track) the root in world axes; otherwise in the heading frame.
        root_height_obs: observe (and track) the root height.
        reward_*_w, reward_*_scale: weight and exponential scale of each reward term.
        joint_err_weights: body-name regex -> weight of that body's rotation (and its DoF
            velocities) in the pose/velocity errors; ``None`` = the robot's MimicKit list
            (:attr:`~mimic_lit.robots.RobotSpec.joint_err_weights`); unmatched bodies get 1.
        key_bodies: bodies tracked by position (observation and reward); ``None`` = the robot's.
        contact_bodies: bodies allowed to touch the ground; ``None`` = the robot's. An empty list
            makes any ground contact a fall; for rolls and get-ups turn ``early_termination`` off.
        early_termination: end episodes with ``FAIL`` on falls and lost tracking.
        pose_termination: also ``FAIL`` when a body is ``pose_termination_dist`` from its reference.
        pose_termination_dist: that distance in metres.
        contact_force_threshold: ground force (N, any axis) on a non-contact body that means a fall.
        rand_reset: reference state init at a random time of the clip; ``False`` starts at 0.
        default_reset_prob: share of resets that start from the robot's default standing pose
            (at rest, placed and turned like the drawn reference frame) instead of the reference
            state (MimicKit's ASE: 0.5), so a policy also learns to start from standing.
        action_hinge_scale: enlargement of each joint range mapped to actions in [-1, 1].
        zero_center_action: centre the action range on joint angle 0 instead of mid-range.
        seed: seed of the env's own generator (clip and time sampling); offset it per DDP rank.
        goal: a task objective on top of the motion (``steering``, ``location`` or ``dribble``, which
            needs a ball in the simulator; ``None``: none).
            Its observation is appended to the policy observation and ``goal_reward_weight``
            times its reward is added to the env reward.
        goal_reward_weight: weight of the goal reward in the env reward.
        steering, location, dribble: options of those goals (``None``: their defaults).
    """

    motion: str = "shipped:g1/kimodo_walk"
    episode_length: float = 10.0
    target_steps: list[int] = field(default_factory=lambda: [1, 2, 3])
    target_dt: float | None = None
    global_obs: bool = True
    root_height_obs: bool = True
    reward_pose_w: float = 0.5
    reward_vel_w: float = 0.1
    reward_root_pose_w: float = 0.15
    reward_root_vel_w: float = 0.1
    reward_key_pos_w: float = 0.15
    reward_pose_scale: float = 0.25
    reward_vel_scale: float = 0.01
    reward_root_pose_scale: float = 5.0
    reward_root_vel_scale: float = 1.0
    reward_key_pos_scale: float = 10.0
    joint_err_weights: dict[str, float] | None = None
    key_bodies: list[str] | None = None
    contact_bodies: list[str] | None = None
    early_termination: bool = True
    pose_termination: bool = True
    pose_termination_dist: float = 1.0
    contact_force_threshold: float = 0.1
    rand_reset: bool = True
    default_reset_prob: float = 0.0
    action_hinge_scale: float = 1.4
    zero_center_action: bool = False
    seed: int = 0
    goal: str | None = None
    goal_reward_weight: float = 1.0
    steering: SteeringConfig | None = None
    location: LocationConfig | None = None
    dribble: DribbleConfig | None = None

    def __post_init__(self) -> None:
        """Check every numeric option now, on one line naming the field (``task.<field>``)."""
        from mimic_lit.config_checks import (
            require_at_least,
            require_in_range,
            require_nonnegative,
            require_optional,
            require_positive,
        )

        require_positive(self.episode_length, "task.episode_length")
        for step in self.target_steps:
            require_at_least(step, "task.target_steps", 0)
        require_optional(require_positive, self.target_dt, "task.target_dt")
        for part in ("pose", "vel", "root_pose", "root_vel", "key_pos"):
            require_nonnegative(getattr(self, f"reward_{part}_w"), f"task.reward_{part}_w")
            require_nonnegative(getattr(self, f"reward_{part}_scale"), f"task.reward_{part}_scale")
        require_positive(self.pose_termination_dist, "task.pose_termination_dist")
        require_nonnegative(self.contact_force_threshold, "task.contact_force_threshold")
        require_in_range(self.default_reset_prob, "task.default_reset_prob", 0.0, 1.0)
        require_positive(self.action_hinge_scale, "task.action_hinge_scale")
        require_nonnegative(self.goal_reward_weight, "task.goal_reward_weight")

    def make_env(self, sim_config: SimConfig, motion: MotionLibrary) -> "TrackingEnv":
        """A :class:`TrackingEnv` over a new simulator."""
        return TrackingEnv(make_simulator(sim_config), motion, self)

    def make_goal(self, num_envs: int, device: torch.device, dtype: torch.dtype) -> Task | None:
        """The configured goal for ``num_envs`` environments (its own seed derived from ``seed``)."""
        if self.goal is None:
            return None
        options = {"steering": self.steering, "location": self.location, "dribble": self.dribble}.get(self.goal)
        return make_task(self.goal, num_envs=num_envs, device=device, dtype=dtype, seed=self.seed + 31, config=options)

    def reward_params(self) -> RewardParams:
        """The reward's weights, scales and tracking switches."""
        return RewardParams(
            weights=(
                self.reward_pose_w,
                self.reward_vel_w,
                self.reward_root_pose_w,
                self.reward_root_vel_w,
                self.reward_key_pos_w,
            ),
            scales=(
                self.reward_pose_scale,
                self.reward_vel_scale,
                self.reward_root_pose_scale,
                self.reward_root_vel_scale,
                self.reward_key_pos_scale,
            ),
            track_root=self.global_obs,
            track_height=self.root_height_obs,
        )


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


class TrackingEnv:
    """N environments tracking reference motions; implements :class:`~mimic_lit.envs.protocol.VecEnv`.

    ``StepResult.info`` holds (N,) tensors: ``reward_<term>`` for the five reward terms (each in
    [0, 1], unweighted); ``body_pos_err`` (mean distance of the bodies to their reference, both
    taken relative to their root, m), ``body_pos_err_global`` (the same in world coordinates, m),
    ``joint_err`` (mean absolute joint angle error, rad), ``root_pos_err`` (m); and, for envs whose
    episode ended at this step, ``episode_length`` (s), ``episode_return`` and ``fell`` (1 for a
    ``FAIL``, 0 for other endings), NaN for the others: average those with ``torch.nanmean``.
    Where no env ended, ``terminal_obs`` is the ``obs`` tensor itself.

    Args:
        sim: the batched simulator (``control_mode="pos"``).
        motion: reference clips of the same robot.
        config: task options.
    """

    #: end an episode with SUCC when a non-looping reference clip ends (tracking: nothing left to track)
    succeed_at_clip_end = True
    #: which envs of the last reset started standing (``default_reset_prob``); ``None``: none could
    _last_standing: torch.Tensor | None = None
    #: the policy follows the reference clip (play shows the clip beside it; tracking errors are logged)
    tracks_reference = True
    CHUNK = 32  #: reference columns added per kinematics query when the window slides

    def __init__(self, sim: Simulator, motion: MotionLibrary, config: TrackingConfig | None = None) -> None:
        self.config = cfg = config or TrackingConfig()
        robot = sim.robot
        if motion.robot.name != robot.name:
            raise MimicLitError(
                f"the motion library is for robot '{motion.robot.name}' but the simulator runs '{robot.name}'"
            )
        if sim.control_mode != "pos":
            raise MimicLitError(f"tracking needs a simulator with control_mode 'pos', got '{sim.control_mode}'")
        if cfg.episode_length <= 0:
            raise MimicLitError(f"episode_length must be > 0 s, got {cfg.episode_length}")
        if any(int(k) < 0 for k in cfg.target_steps):
            raise MimicLitError(f"target_steps must be >= 0, got {list(cfg.target_steps)}")
        self.sim = sim
        self.motion = motion.to(sim.device)
        self.skeleton = skel = motion.skeleton
        dev, dt = sim.device, sim.dtype
        self._dt = float(sim.control_dt)
        self._dtype = dt
        self._max_steps = max(1, math.ceil(cfg.episode_length / self._dt - 1e-6))  # TIME after this many steps

        names = skel.body_names
        key = list(cfg.key_bodies) if cfg.key_bodies is not None else list(robot.key_bodies)
        contact = set(cfg.contact_bodies) if cfg.contact_bodies is not None else set(robot.contact_bodies)
        unknown = sorted(contact - set(names))
        if unknown:
            raise MimicLitError(f"robot '{robot.name}' has no bodies {unknown}; bodies: {', '.join(names)}")
        self._key_ids = torch.as_tensor(skel.body_indices(key), dtype=torch.long, device=dev)
        fall = [i for i, name in enumerate(names) if name not in contact]
        self._fall_ids = torch.as_tensor(fall, dtype=torch.long, device=dev)
        self._parents = torch.as_tensor(skel.parents, dtype=torch.long, device=dev).clamp_min(0)

        patterns = cfg.joint_err_weights
        if patterns is None:
            patterns = robot.joint_err_weights
        jw = body_weights(names, patterns)
        self.joint_weights = jw.to(dev, dt)
        self.dof_weights = dof_weights(skel, jw).to(dev, dt)
        self.reward_params = cfg.reward_params()

        limits = robot.joint_limits
        if limits.shape[0] != sim.num_dofs:
            raise MimicLitError(f"robot '{robot.name}' has ball joints; PD position actions need 1-DoF joints")
        self.action_mapping = ActionMapping.from_limits(
            limits, cfg.action_hinge_scale, cfg.zero_center_action, device=dev, dtype=dt
        )
        self.layout = ObsLayout(
            num_bodies=skel.num_bodies,
            num_dofs=skel.num_joint_dofs,
            num_key_bodies=len(key),
            target_steps=tuple(int(k) for k in cfg.target_steps),
            root_height_obs=cfg.root_height_obs,
        )
        # Reference window: per env, the reference at consecutive "columns" from a pointer on. When
        # targets are whole control steps ahead, column j holds step (now + j): the window slides by
        # one column per step and gets CHUNK new columns in one query when it runs short. Otherwise
        # it holds now and each target and is queried afresh every step.
        target_dt = float(cfg.target_dt) if cfg.target_dt is not None else self._dt
        ahead = [int(k) for k in cfg.target_steps]
        self._sliding = abs(target_dt - self._dt) < 1e-12
        cols = [0] + ahead if self._sliding else list(range(1 + len(ahead)))
        self._cols = torch.as_tensor(cols, dtype=torch.long, device=dev)  # columns of now and each target
        self._need = max(cols) + 1  # valid columns needed from the pointer on
        self._full = self._need - 1 + self.CHUNK if self._sliding else self._need  # width after a refill
        self._ahead = torch.as_tensor([0.0] + [k * target_dt for k in ahead], dtype=dt, device=dev)
        self._scalar_cols = torch.as_tensor(skel.scalar_coord_columns, dtype=torch.long, device=dev)
        self._ball_cols = torch.as_tensor(skel.ball_coord_columns, dtype=torch.long, device=dev)

        n = sim.num_envs
        self._clip_ids = torch.zeros(n, dtype=torch.long, device=dev)
        self._time_offset = torch.zeros(n, dtype=dt, device=dev)
        self._steps = torch.zeros(n, dtype=torch.long, device=dev)
        self._return = torch.zeros(n, dtype=dt, device=dev)
        self._all = torch.arange(n, device=dev)
        self._gen = torch.Generator(device=dev)
        self._gen.manual_seed(int(cfg.seed))
        self._nan = torch.full((n,), float("nan"), dtype=dt, device=dev)
        # The window: fields shaped (N, width, ...), local rotations with their tan-norms
        # (N, width, B - 1, 10), pointer.
        self._win, self._win_local = self._query(
            self._clip_ids, self._window_times(self._time_offset, self._steps, 0, self._full)
        )
        self._ptr = 0
        self.goal = cfg.make_goal(n, dev, dt)
        if self.goal is not None and hasattr(self.goal, "bind"):
            self.goal.bind(sim)  # goals with objects in the simulator (the dribble ball)
        self._goal_success = torch.zeros(n, dtype=torch.bool, device=dev)
        # Pre-drawn resets: (clips, time offsets, reference slots, local rotations), next unused.
        self._inits: tuple[torch.Tensor, torch.Tensor, MotionFrame, torch.Tensor] | None = None
        self._inits_next = 0

    # ------------------------------------------------------------------ VecEnv description
    @property
    def num_envs(self) -> int:
        return self.sim.num_envs

    @property
    def obs_dim(self) -> int:
        return self.layout.dim + (self.goal.obs_dim if self.goal is not None else 0) + self._obs_extra_dim

    @property
    def action_dim(self) -> int:
        return self.action_mapping.action_dim

    @property
    def device(self) -> torch.device:
        return self.sim.device

    @property
    def control_dt(self) -> float:
        return self._dt

    @property
    def spec(self) -> EnvSpec:
        """Sizes and contents of this env (handed to the method by the data module)."""
        return EnvSpec(**self._spec_fields())

    def _spec_fields(self) -> dict[str, Any]:
        """The :class:`EnvSpec` fields; subclasses add theirs (discriminator, latent)."""
        blocks, start = [], 0
        for name, size in self.layout.blocks():
            blocks.append(ObsBlock(name, start, start + size))
            start += size
        goal_dim = int(self.goal.obs_dim) if self.goal is not None else 0
        if goal_dim:
            blocks.append(ObsBlock(f"goal/{type(self.goal).__name__}", start, start + goal_dim))
            start += goal_dim
        metrics = ("body_pos_err", "joint_err", "root_pos_err") if self.tracks_reference else ()
        if self.goal is not None and hasattr(self.goal, "ball_goal_distance"):
            metrics += ("goal_ball_dist",)
        return {
            "num_envs": self.num_envs,
            "obs_dim": self.obs_dim,
            "action_dim": self.action_dim,
            "control_dt": self._dt,
            "obs_blocks": tuple(blocks),
            "robot": self.sim.robot,
            "goal_dim": goal_dim,
            "tracks_reference": bool(self.tracks_reference),
            "eval_metrics": metrics,
        }

    def rollout_extras(self, num_samples: int) -> dict[str, torch.Tensor]:
        """Tensors (``num_samples``, ...) the learner's update needs besides the steps' own, drawn
        once per rollout after it (AMP: demo discriminator samples); none here."""
        return {}

    @property
    def episode_time(self) -> torch.Tensor:
        """(N,) seconds since each env's last reset."""
        return self._steps.to(self._dtype) * self._dt

    @property
    def motion_time(self) -> torch.Tensor:
        """(N,) current reference time of each env in its clip (offset + episode time)."""
        return self._time_offset + self.episode_time

    @property
    def clip_ids(self) -> torch.Tensor:
        """(N,) clip each env tracks."""
        return self._clip_ids

    # ------------------------------------------------------------------ state readers
    def _sim_state(self, ids: torch.Tensor | None = None) -> tuple[CharState, torch.Tensor]:
        """Character state of the simulated robots (all or ``ids``) and their (n, B, 3) body positions."""
        sim = self.sim
        parts = (
            sim.root_pos, sim.root_quat, sim.root_lin_vel, sim.root_ang_vel, sim.body_quat, sim.joint_vel, sim.body_pos
        )
        if ids is not None:
            parts = tuple(p.index_select(0, ids) for p in parts)
        rp, rq, rv, rw, bq, jv, bp = parts
        state = CharState(rp, rq, rv, rw, local_rotations(bq, self._parents), jv, bp.index_select(1, self._key_ids))
        return state, bp

    def _window_times(self, offset: torch.Tensor, steps: torch.Tensor, first: int, stop: int) -> torch.Tensor:
        """(n, stop - first) reference times of window columns ``first:stop`` of episodes with time
        offsets ``offset`` (n,) after ``steps`` (n,) control steps.

        Sliding columns are ``offset + (steps + j) dt``, so a column has bit-for-bit the same time
        whichever step queried it.
        """
        if self._sliding:
            j = torch.arange(first, stop, device=self.device)
            return offset.unsqueeze(1) + (steps.unsqueeze(1) + j).to(self._dtype) * self._dt
        return (offset + steps.to(self._dtype) * self._dt).unsqueeze(1) + self._ahead[first:stop]

    def _query(self, clips: torch.Tensor, times: torch.Tensor) -> tuple[MotionFrame, torch.Tensor]:
        """Reference frames of ``clips`` (n,) at ``times`` (n, S), fields shaped (n, S, ...), in one
        library call; and their local body rotations (n, S, B - 1, 10): quaternion then tan-norm.

        The tan-norms are what the target observations show; computing them once per queried frame
        instead of at every step they are observed saves most of the target block's cost.
        """
        n, t = times.shape
        frame = self.motion.get_frames(clips.unsqueeze(1).expand(n, t).reshape(-1), times.reshape(-1), bodies=True)
        frame = MotionFrame(*(None if x is None else x.to(self._dtype).reshape((n, t) + x.shape[1:]) for x in frame))
        return frame, _with_tan_norm(local_rotations(frame.body_quat, self._parents))

    def _advance_reference(self) -> None:
        """Move the reference window to the current episode times (after ``_steps`` advanced)."""
        offset, steps = self._time_offset, self._steps
        if not self._sliding:
            self._win, self._win_local = self._query(self._clip_ids, self._window_times(offset, steps, 0, self._full))
            return
        self._ptr += 1
        have = self._win_local.shape[1] - self._ptr
        if have >= self._need:
            return
        new, new_local = self._query(self._clip_ids, self._window_times(offset, steps, have, self._full))
        p = self._ptr
        self._win = MotionFrame(*(None if x is None else torch.cat([x[:, p:], y], 1) for x, y in zip(self._win, new)))
        self._win_local = torch.cat([self._win_local[:, p:], new_local], 1)
        self._ptr = 0

    def _current(self, ids: torch.Tensor | None = None) -> tuple[MotionFrame, torch.Tensor]:
        """The reference now and at each target (all envs or ``ids``), fields shaped (n, 1 + T, ...)."""
        cols = self._cols + self._ptr
        frame, local = self._win, self._win_local
        if ids is not None:
            frame = MotionFrame(*(None if x is None else x.index_select(0, ids) for x in frame))
            local = local.index_select(0, ids)
        return MotionFrame(*(None if x is None else x.index_select(1, cols) for x in frame)), local.index_select(1, cols)

    @staticmethod
    def _ref_state(frame: MotionFrame, local_rot: torch.Tensor, key_ids: torch.Tensor, k: int) -> CharState:
        """Character state of look-ahead slot ``k`` of a reshaped reference frame."""
        return CharState(
            frame.root_pos[:, k],
            frame.root_quat[:, k],
            frame.root_lin_vel[:, k],
            frame.root_ang_vel[:, k],
            local_rot[:, k, :, :4],
            frame.joint_vel[:, k],
            frame.body_pos[:, k].index_select(1, key_ids),
        )

    def _obs(self, state: CharState, frame: MotionFrame, local_rot: torch.Tensor, first: int) -> torch.Tensor:
        """Full observation from the character state and look-ahead slots ``first:`` of the reference."""
        cfg = self.config
        tar_key = frame.body_pos[:, first:].index_select(2, self._key_ids)
        tar = target_obs(
            state.root_pos,
            state.root_quat,
            frame.root_pos[:, first:],
            frame.root_quat[:, first:],
            None,
            tar_key,
            cfg.global_obs,
            cfg.root_height_obs,
            tar_local_tan_norm=local_rot[:, first:, :, 4:],
        )
        return torch.cat([char_obs(state, cfg.global_obs, cfg.root_height_obs), tar], dim=-1)

    def observe(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Observation of the current simulator state (all envs or ``env_ids``), e.g. after
        :meth:`load_state_dict`; :meth:`step` and :meth:`reset` already return it."""
        state, _ = self._sim_state(env_ids)
        frame, local = self._current(env_ids)
        obs = self._obs(state, frame, local, 1)
        if self.goal is not None:
            goal = self.goal.observe(self.sim.root_pos, self.sim.root_quat)
            obs = torch.cat([obs, goal if env_ids is None else goal.index_select(0, env_ids)], dim=-1)
        return self._with_obs_extra(obs, env_ids)

    def reference_frame(self) -> MotionFrame:
        """The reference state (with body poses) every env tracks now: for ghosts in renders and metrics."""
        return MotionFrame(*(None if x is None else x[:, self._ptr].clone() for x in self._win))

    def evaluate(self) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Reward (N,), reward terms and squared errors of the current sim state against the reference now."""
        state, _ = self._sim_state()
        frame, local = self._current()
        ref = self._ref_state(frame, local, self._key_ids, 0)
        errors = tracking_errors(state, ref, self.joint_weights, self.dof_weights, self.reward_params)
        reward, terms = reward_from_errors(errors, self.reward_params)
        return reward, terms, errors

    # ------------------------------------------------------------------ resets
    def _refill_inits(self, size: int) -> None:
        """Draw ``size`` reference state inits (clip ~ weights, time ~ U[0, length] or 0) and query
        their reference slots in one batched call; resets consume them in order.

        Pre-drawing turns the forward kinematics of the few envs that end at each step into one
        large query every ~N/ends steps: the kinematics cost is dominated by per-call overhead.
        The draws are i.i.d., so the reset distribution is exactly MimicKit's.
        """
        clips = self.motion.sample_clips(size, generator=self._gen)
        if self.config.rand_reset:
            times = self.motion.sample_times(clips, generator=self._gen).to(self._dtype)
        else:
            times = torch.zeros(size, dtype=self._dtype, device=self.device)
        frame, local = self._query(clips, self._window_times(times, torch.zeros_like(clips), 0, self._full))
        self._inits = (clips, times, frame, local)
        self._inits_next = 0

    def _reset_envs(self, ids: torch.Tensor) -> torch.Tensor:
        """Reference state init of envs ``ids`` with one ``sim.reset``; returns their (k, obs_dim)
        observations.

        The observations are computed from the reference the simulator was just set to (as
        MimicKit does), which equals the simulator state up to float rounding and saves
        re-reading every simulator buffer after a reset.
        """
        k = ids.shape[0]
        if self._inits is None or self._inits_next + k > self._inits[0].shape[0]:
            self._refill_inits(max(k, self.num_envs))
        take = slice(self._inits_next, self._inits_next + k)
        self._inits_next += k
        clips, times, pool_frame, pool_local = self._inits
        self._clip_ids.index_copy_(0, ids, clips[take])
        self._time_offset.index_copy_(0, ids, times[take])
        self._steps.index_fill_(0, ids, 0)
        self._return.index_fill_(0, ids, 0.0)
        # The new episodes' columns go where the pointer is; columns before it are never read.
        p, width = self._ptr, self._win_local.shape[1]
        for win, x in zip(self._win, pool_frame):
            if win is not None:
                win[:, p:].index_copy_(0, ids, x[take, : width - p])
        self._win_local[:, p:].index_copy_(0, ids, pool_local[take, : width - p])
        frame = MotionFrame(*(None if x is None else x[take].index_select(1, self._cols) for x in pool_frame))
        local = pool_local[take].index_select(1, self._cols)

        root_quat = frame.root_quat[:, 0]
        ang_local = quat_rotate_inverse(root_quat, frame.root_ang_vel[:, 0])  # MuJoCo's free-joint qvel is local
        qpos = torch.cat([frame.root_pos[:, 0], root_quat, frame.joint_pos[:, 0]], dim=-1)
        qvel = torch.cat([frame.root_lin_vel[:, 0], ang_local, frame.joint_vel[:, 0]], dim=-1)
        standing = self._standing_resets(k, qpos, qvel)
        self.sim.reset(ids, qpos, qvel)
        obs = self._obs(self._ref_state(frame, local, self._key_ids, 0), frame, local, 1)
        if standing is not None:  # these envs are not at the reference: observe the simulator
            state, _ = self._sim_state(ids)
            obs = torch.where(standing.unsqueeze(1), self._obs(state, frame, local, 1), obs)
        if self.goal is not None:
            root_pos, root_quat = frame.root_pos[:, 0], root_quat
            self.goal.reset(ids, root_pos, root_quat)
            # The goal observes all N envs; the rows of ``ids`` get their new roots.
            all_pos = self.sim.root_pos.clone().index_copy_(0, ids, root_pos)
            all_quat = self.sim.root_quat.clone().index_copy_(0, ids, root_quat)
            obs = torch.cat([obs, self.goal.observe(all_pos, all_quat).index_select(0, ids)], dim=-1)
        return self._with_obs_extra(obs, ids)

    def _standing_resets(self, k: int, qpos: torch.Tensor, qvel: torch.Tensor) -> torch.Tensor | None:
        """Turn a ``default_reset_prob`` share of ``k`` reset states (edited in place) into the
        default standing pose at rest, at the reference's ground position and heading; returns
        which (``None`` when the option is off, so no random number is drawn)."""
        p = float(self.config.default_reset_prob)
        self._last_standing = None
        if p <= 0.0:
            return None
        standing = torch.rand(k, generator=self._gen, device=self.device) < p
        if bool(standing.any()):
            pose = torch.as_tensor(self.sim.robot.default_pose, dtype=qpos.dtype, device=qpos.device)
            yaw = yaw_from_quat(qpos[:, 3:7])
            half = 0.5 * yaw
            turn = torch.stack([torch.cos(half), torch.zeros_like(half), torch.zeros_like(half), torch.sin(half)], -1)
            upright = pose.expand(k, -1).clone()
            upright[:, :2] = qpos[:, :2]
            upright[:, 3:7] = quat_mul(turn, upright[:, 3:7])
            qpos[standing] = upright[standing]
            qvel[standing] = 0.0
        self._last_standing = standing
        return standing

    def reset(self) -> torch.Tensor:
        """Reference state init of every env; returns (N, obs_dim) observations."""
        return self._reset_envs(self._all)

    # ------------------------------------------------------------------ step
    def _done(
        self, state: CharState, body_pos: torch.Tensor, ref: CharState, ref_body_pos: torch.Tensor
    ) -> torch.Tensor:
        """(N,) int64 done flags of the state just reached (priority FAIL > SUCC > TIME)."""
        cfg = self.config
        done = torch.where(self._steps >= self._max_steps, int(Done.TIME), int(Done.NULL))
        clips = self._clip_ids
        end = self.motion.clip_duration[clips].to(self._dtype) - 1e-5  # float slack: no step "just short"
        if self.succeed_at_clip_end:
            clip_end = ~self.motion.clip_wrap[clips] & (self.motion_time >= end)
            done = torch.where(clip_end, int(Done.SUCC), done)
        if self.goal is not None and getattr(self.goal, "ends_on_success", False):
            done = torch.where(self._goal_success, int(Done.SUCC), done)
        fail = self.sim.diverged.to(self.device)
        if cfg.early_termination:
            early = torch.zeros_like(fail)
            if self._fall_ids.numel():
                force = self.sim.contact_forces.index_select(1, self._fall_ids)
                early |= (force.abs() > cfg.contact_force_threshold).flatten(1).any(-1)
            if cfg.pose_termination:
                if cfg.global_obs:
                    diff = body_pos - ref_body_pos
                else:  # root-relative, each in its own root frame
                    rel = body_pos - state.root_pos.unsqueeze(1)
                    ref_rel = ref_body_pos - ref_body_pos[:, :1]
                    diff = _rotate_inv_per_env(state.root_quat, rel) - _rotate_inv_per_env(ref.root_quat, ref_rel)
                early |= diff.square().sum(-1).amax(-1) > cfg.pose_termination_dist**2
            fail |= early & (self._steps > 1)  # never on the step out of the reset (t = 0) state
        return torch.where(fail, int(Done.FAIL), done)

    def _diagnostics(self, state: CharState, body_pos: torch.Tensor, frame: MotionFrame) -> dict[str, torch.Tensor]:
        """Per-env tracking errors in metres and radians (logged, not rewarded)."""
        ref_pos = frame.body_pos[:, 0]
        ref_root = frame.root_pos[:, 0]
        rel = (body_pos - state.root_pos.unsqueeze(1)) - (ref_pos - ref_root.unsqueeze(1))
        jp, ref_jp = self.sim.joint_pos, frame.joint_pos[:, 0]
        errs = [(jp.index_select(1, self._scalar_cols) - ref_jp.index_select(1, self._scalar_cols)).abs()]
        if self._ball_cols.numel():
            n = jp.shape[0]
            ball = self._ball_cols.reshape(-1)
            q, q_ref = jp.index_select(1, ball).reshape(n, -1, 4), ref_jp.index_select(1, ball).reshape(n, -1, 4)
            errs.append(quat_diff_angle(q, q_ref))
        return {
            "body_pos_err": rel.norm(dim=-1).mean(-1),
            "body_pos_err_global": (body_pos - ref_pos).norm(dim=-1).mean(-1),
            "joint_err": torch.cat(errs, dim=-1).mean(-1),
            "root_pos_err": (state.root_pos - ref_root).norm(dim=-1),
        }

    def step(self, actions: torch.Tensor) -> StepResult:
        """Apply normalised ``actions`` (N, action_dim) for one control step; auto-reset ended envs."""
        prev_root = self.sim.root_pos.clone() if self.goal is not None else None
        self.sim.step(self.action_mapping.to_targets(actions.to(self.device)))
        self._steps += 1
        self._advance_reference()
        state, body_pos = self._sim_state()
        frame, local_rot = self._current()
        ref = self._ref_state(frame, local_rot, self._key_ids, 0)
        reward, info = self._reward(state, ref)
        obs = self._obs(state, frame, local_rot, 1)
        if self.goal is not None:
            reward, obs = self._goal_step(prev_root, state, reward, obs, info)
        obs = self._with_obs_extra(obs)
        done = self._done(state, body_pos, ref, frame.body_pos[:, 0])
        self._return += reward
        info.update(self._diagnostics(state, body_pos, frame))
        extras = self._extras(state, body_pos, frame, local_rot)  # of the state reached, before any reset

        ended = done != int(Done.NULL)
        ids = ended.nonzero().squeeze(1)
        if ids.numel() == 0:
            info.update(episode_length=self._nan.clone(), episode_return=self._nan.clone(), fell=self._nan.clone())
            return StepResult(obs=obs, reward=reward, done=done, terminal_obs=obs, info=info, extras=extras)
        info["episode_length"] = torch.where(ended, self.episode_time, self._nan)
        info["episode_return"] = torch.where(ended, self._return, self._nan)
        info["fell"] = torch.where(ended, (done == int(Done.FAIL)).to(self._dtype), self._nan)
        terminal_obs = obs.clone()
        obs.index_copy_(0, ids, self._reset_envs(ids))
        return StepResult(obs=obs, reward=reward, done=done, terminal_obs=terminal_obs, info=info, extras=extras)

    def _goal_step(
        self, prev_root: torch.Tensor, state: CharState, reward: torch.Tensor, obs: torch.Tensor, info: dict
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the goal's reward, log it and its success, move its timers, append its observation."""
        goal = self.goal
        goal_reward = goal.reward(prev_root, state.root_pos, state.root_quat, self._dt)
        info["goal_reward"] = goal_reward
        self._goal_success = goal.success(state.root_pos, state.root_quat)
        info["goal_success"] = self._goal_success.to(self._dtype)
        if hasattr(goal, "ball_goal_distance"):
            info["goal_ball_dist"] = goal.ball_goal_distance()
        goal.advance(self._dt, state.root_pos, state.root_quat)
        obs = torch.cat([obs, goal.observe(state.root_pos, state.root_quat)], dim=-1)
        return reward + self.config.goal_reward_weight * goal_reward, obs

    # ------------------------------------------------------------------ hooks for derived tasks
    @property
    def _obs_extra_dim(self) -> int:
        """Size of :meth:`_obs_extra`."""
        return 0

    def _obs_extra(self, env_ids: torch.Tensor | None = None) -> torch.Tensor | None:
        """(N or len(env_ids), _obs_extra_dim) appended to every observation after the goal's
        (ASE's skill latent); ``None`` here."""
        return None

    def _with_obs_extra(self, obs: torch.Tensor, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        extra = self._obs_extra(env_ids)
        return obs if extra is None else torch.cat([obs, extra], dim=-1)

    def _reward(self, state: CharState, ref: CharState) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(N,) reward of the state reached and its logged terms: here the DeepMimic tracking reward."""
        errors = tracking_errors(state, ref, self.joint_weights, self.dof_weights, self.reward_params)
        reward, terms = reward_from_errors(errors, self.reward_params)
        return reward, {f"reward_{name}": terms[name] for name in TERM_NAMES}

    def _extras(
        self,
        state: CharState,
        body_pos: torch.Tensor | None = None,
        frame: MotionFrame | None = None,
        local_rot: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Per-step tensors a learner stores with each transition (:attr:`StepResult.extras`); none here.

        Given the state reached, its (N, B, 3) body positions, and the reference now and at the
        targets (``frame`` fields (N, 1 + T, ...), ``local_rot`` (N, 1 + T, B - 1, 10)).
        """
        return {}

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Episode clocks, clips, time offsets, returns, the sampling generator, the reference window,
        the pre-drawn resets and the simulator state."""
        state = {
            "clip_ids": self._clip_ids.clone(),
            "time_offset": self._time_offset.clone(),
            "episode_steps": self._steps.clone(),
            "episode_return": self._return.clone(),
            "generator": self._gen.get_state(),
            "reference": _frame_to_dict(self._win, self._win_local),
            "reference_pointer": self._ptr,
            "sim": self.sim.state_dict(),
        }
        if self.goal is not None:
            state["goal"] = self.goal.state_dict()
        if self._inits is not None:
            clips, times, frame, local = self._inits
            state["inits"] = {"clips": clips.clone(), "times": times.clone(), "next": self._inits_next}
            state["inits"]["reference"] = _frame_to_dict(frame, local)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the next :meth:`step` continues bit-identically."""
        n = self.num_envs
        if state["clip_ids"].shape != (n,):
            raise MimicLitError(f"env state is for {state['clip_ids'].shape[0]} envs, this env has {n}")
        if int(state["clip_ids"].max()) >= self.motion.num_clips:
            raise MimicLitError("env state refers to clips this motion library does not have")
        self._clip_ids.copy_(state["clip_ids"])
        self._time_offset.copy_(state["time_offset"])
        self._steps.copy_(state["episode_steps"])
        self._return.copy_(state["episode_return"])
        self._gen.set_state(state["generator"])
        # The window itself: recomputing it could differ in the last bit.
        self._win, self._win_local = self._frame_from_dict(state["reference"])
        self._ptr = int(state["reference_pointer"])
        inits = state.get("inits")
        if inits is None:
            self._inits, self._inits_next = None, 0
        else:
            frame, local = self._frame_from_dict(inits["reference"])
            dev = self.device
            self._inits = (inits["clips"].to(dev).clone(), inits["times"].to(dev, self._dtype).clone(), frame, local)
            self._inits_next = int(inits["next"])
        self.sim.load_state_dict(state["sim"])
        if self.goal is not None:
            if "goal" not in state:
                raise MimicLitError(f"env state has no '{self.config.goal}' goal state (saved without a goal?)")
            self.goal.load_state_dict(state["goal"])

    def _frame_from_dict(self, d: dict[str, torch.Tensor]) -> tuple[MotionFrame, torch.Tensor]:
        fields = {k: v.to(self.device, self._dtype).clone() for k, v in d.items() if k != "local_rot"}
        rot = d["local_rot"].to(self.device, self._dtype).clone()
        if rot.shape[-1] == 4:  # checkpoints written before the window kept tan-norms
            rot = _with_tan_norm(rot)
        return MotionFrame(**fields), rot

    def __repr__(self) -> str:
        return (
            f"TrackingEnv(robot={self.sim.robot.name!r}, num_envs={self.num_envs}, obs_dim={self.obs_dim}, "
            f"action_dim={self.action_dim}, clips={self.motion.num_clips})"
        )


def _frame_to_dict(frame: MotionFrame, local_rot: torch.Tensor) -> dict[str, torch.Tensor]:
    """Copies of a reference frame's tensors (and its local rotations) for a checkpoint."""
    out = {name: x.clone() for name, x in frame._asdict().items() if x is not None}
    out["local_rot"] = local_rot.clone()
    return out


def _with_tan_norm(local_rot: torch.Tensor) -> torch.Tensor:
    """(..., 10): local rotation quaternions (..., 4) followed by their tan-norms."""
    return torch.cat([local_rot, quat_to_tan_norm(local_rot)], dim=-1)


def _rotate_inv_per_env(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors ``v`` (N, M, 3) by the inverse of one quaternion per env ``q`` (N, 4)."""
    return quat_rotate_inverse(q.unsqueeze(1).expand(v.shape[:-1] + (4,)), v)

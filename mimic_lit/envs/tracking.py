"""`TrackingEnv`: DeepMimic motion tracking over a batched `Simulator` and a `MotionLibrary`.

A :class:`~mimic_lit.envs.character.CharacterEnv` (simulator, RSI resets, termination, goal) whose
policy observes the reference ``target_steps`` frames ahead
(:func:`~mimic_lit.envs.observations.target_obs`), is rewarded for tracking it
(:mod:`~mimic_lit.envs.rewards`), logs its tracking errors, and ends an episode with ``SUCC`` once
the reference time passed the end of a non-looping ("clamp") clip: nothing is left to track.
Termination by pose distance to the reference (``pose_termination``) is on by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from mimic_lit.envs.character import CharacterEnv
from mimic_lit.envs.observations import CharState, target_obs
from mimic_lit.envs.rewards import (
    TERM_NAMES,
    RewardParams,
    body_weights,
    dof_weights,
    quat_diff_angle,
    reward_from_errors,
    tracking_errors,
)
from mimic_lit.envs.task import EnvTask
from mimic_lit.envs.tasks import Goal, GoalConfig
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.library import MotionFrame, MotionLibrary
from mimic_lit.sim.base import SimConfig, Simulator, make_simulator

__all__ = ["TrackingConfig", "TrackingEnv"]


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
        default_center_action: centre it on the robot's default standing pose instead, so an
            untrained policy already holds the robot's rest posture (arms down on the K1, whose
            zero pose has them straight out) and the discriminator cannot win on the arms alone.
        seed: seed of the env's own generator (clip and time sampling); offset it per DDP rank.
        goal: a goal on top of the motion, given by its config class and options
            (``{class_path: mimic_lit.envs.tasks.DribbleConfig, init_args: {...}}``; also
            ``SteeringConfig``, ``LocationConfig`` or any :class:`~mimic_lit.envs.tasks.GoalConfig`
            subclass in an importable module; ``None``: none). Its observation is appended to the
            policy observation, ``goal_reward_weight`` times its reward is added to the env reward,
            and its metrics are logged and evaluated.
        goal_reward_weight: weight of the goal reward in the env reward.
        push_interval: seconds between random pushes of the character (each env's own timer,
            0.5-1.5 x this); 0 switches pushes off (:mod:`mimic_lit.envs.perturbation`).
        push_velocity: largest horizontal velocity change of a push (m/s).
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
    default_center_action: bool = False
    seed: int = 0
    goal: GoalConfig | None = None
    goal_reward_weight: float = 1.0
    push_interval: float = 0.0
    push_velocity: float = 0.5

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
        if self.zero_center_action and self.default_center_action:
            raise MimicLitError("task.zero_center_action and task.default_center_action both set: pick one action centre")
        require_nonnegative(self.goal_reward_weight, "task.goal_reward_weight")
        require_nonnegative(self.push_interval, "task.push_interval")
        require_nonnegative(self.push_velocity, "task.push_velocity")

    #: the env class these options build (each task config names its own)
    env_class: ClassVar[type]

    def make_env(self, sim_config: SimConfig, motion: MotionLibrary, goal: Goal | None = None) -> "TrackingEnv":
        """This config's env (``env_class``) over a new simulator that holds the goal's scene
        objects; ``goal`` (built by the caller, e.g. a high-level controller) replaces the configured one."""
        sim, goal = self.goal_and_simulator(sim_config, goal)
        return self.env_class(sim, motion, self, goal)

    def goal_and_simulator(self, sim_config: SimConfig, goal: Goal | None = None) -> tuple[Simulator, Goal | None]:
        """The configured goal (or ``goal``), then a new simulator with the goal's scene objects
        (the dribble ball): the simulator gets the objects, never the goal."""
        if goal is None:
            dtype = torch.float32 if sim_config.dtype == "float32" else torch.float64
            goal = self.make_goal(sim_config.num_envs, torch.device(sim_config.device), dtype)
        return make_simulator(sim_config, goal.scene_objects() if goal is not None else ()), goal

    def make_goal(self, num_envs: int, device: torch.device, dtype: torch.dtype) -> Goal | None:
        """The configured goal for ``num_envs`` environments (its own seed derived from ``seed``)."""
        if self.goal is None:
            return None
        return self.goal.build(num_envs, device, dtype, self.seed + 31)

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


class TrackingEnv(CharacterEnv):
    """N environments tracking reference motions; implements :class:`~mimic_lit.envs.protocol.VecEnv`.

    ``StepResult.info`` holds, besides :class:`~mimic_lit.envs.character.CharacterEnv`'s, (N,)
    tensors ``reward_<term>`` for the five reward terms (each in [0, 1], unweighted);
    ``body_pos_err`` (mean distance of the bodies to their reference, both taken relative to their
    root, m), ``body_pos_err_global`` (the same in world coordinates, m), ``joint_err`` (mean
    absolute joint angle error, rad) and ``root_pos_err`` (m).

    Args:
        sim: the batched simulator (``control_mode="pos"``).
        motion: reference clips of the same robot.
        config: task options.
    """

    tracks_reference = True

    def __init__(
        self, sim: Simulator, motion: MotionLibrary, config: TrackingConfig | None = None, goal: Goal | None = None
    ) -> None:
        config = config or TrackingConfig()
        if any(int(k) < 0 for k in config.target_steps):
            raise MimicLitError(f"target_steps must be >= 0, got {list(config.target_steps)}")
        super().__init__(sim, motion, config, goal)
        skel, dev, dt = self.skeleton, self.device, self._dtype
        patterns = config.joint_err_weights
        if patterns is None:
            patterns = sim.robot.joint_err_weights
        jw = body_weights(skel.body_names, patterns)
        self.joint_weights = jw.to(dev, dt)
        self.dof_weights = dof_weights(skel, jw).to(dev, dt)
        self.reward_params = config.reward_params()
        self._scalar_cols = torch.as_tensor(skel.scalar_coord_columns, dtype=torch.long, device=dev)
        self._ball_cols = torch.as_tensor(skel.ball_coord_columns, dtype=torch.long, device=dev)

    def _targets(self) -> tuple[list[int], float | None]:
        return [int(k) for k in self.config.target_steps], self.config.target_dt

    def _spec_fields(self) -> dict[str, Any]:
        fields = super()._spec_fields()
        return fields | {"eval_metrics": ("body_pos_err", "joint_err", "root_pos_err") + fields["eval_metrics"]}

    def _obs(self, state: CharState, frame: MotionFrame, local_rot: torch.Tensor) -> torch.Tensor:
        """The character's observation followed by the reference targets (look-ahead slots 1 on)."""
        cfg = self.config
        tar_key = frame.body_pos[:, 1:].index_select(2, self._key_ids)
        tar = target_obs(
            state.root_pos,
            state.root_quat,
            frame.root_pos[:, 1:],
            frame.root_quat[:, 1:],
            None,
            tar_key,
            cfg.global_obs,
            cfg.root_height_obs,
            tar_local_tan_norm=local_rot[:, 1:, :, 4:],
        )
        return torch.cat([super()._obs(state, frame, local_rot), tar], dim=-1)

    def evaluate(self) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Reward (N,), reward terms and squared errors of the current sim state against the reference now."""
        state, _ = self._sim_state()
        frame, local = self.reference.current()
        ref = self._ref_state(frame, local, 0)
        errors = tracking_errors(state, ref, self.joint_weights, self.dof_weights, self.reward_params)
        reward, terms = reward_from_errors(errors, self.reward_params)
        return reward, terms, errors

    def _success(self) -> torch.Tensor | None:
        """Non-looping clips whose end the reference time passed, and reached goals that end episodes."""
        clips = self.reference.clip_ids
        end = self.motion.clip_duration[clips].to(self._dtype) - 1e-5  # float slack: no step "just short"
        clip_end = ~self.motion.clip_wrap[clips] & (self.motion_time >= end)
        goal = super()._success()
        return clip_end if goal is None else clip_end | goal

    def _reward(self, state: CharState, ref: CharState) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The DeepMimic tracking reward of the state reached and its logged terms."""
        errors = tracking_errors(state, ref, self.joint_weights, self.dof_weights, self.reward_params)
        reward, terms = reward_from_errors(errors, self.reward_params)
        return reward, {f"reward_{name}": terms[name] for name in TERM_NAMES}

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


TrackingConfig.env_class = TrackingEnv

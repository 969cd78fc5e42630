"""`CharacterEnv`: N simulated characters started from reference motions, in batched torch.

The base of every motion env (DeepMimic tracking, AMP, ADD, ASE). One :meth:`CharacterEnv.step`
for all N environments, with no per-env Python loop:

1. normalised actions -> PD targets (:class:`~mimic_lit.envs.actions.ActionMapping`), one
   ``sim.step``;
2. the reference moves on (:class:`~mimic_lit.envs.reference.ReferenceWindow`);
3. reward (:meth:`_reward`: none here, a task adds its own), the character observation
   (:func:`~mimic_lit.envs.observations.char_obs`), a goal's reward and observation if one is
   configured, done flags (:mod:`~mimic_lit.envs.termination`);
4. ended environments are restarted by reference state initialisation (RSI) in one ``sim.reset``
   call, after their ``terminal_obs`` was taken; a ``default_reset_prob`` share of them starts from
   the robot's standing pose instead.

Subclasses add to the observation (:meth:`_obs`), reward, diagnostics, success condition and the
per-step ``extras`` a learner stores.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from mimic_lit.envs.actions import ActionMapping
from mimic_lit.envs.observations import CharState, ObsLayout, char_obs
from mimic_lit.envs.perturbation import Pushes
from mimic_lit.envs.protocol import Done, StepResult
from mimic_lit.envs.reference import ReferenceWindow
from mimic_lit.envs.spec import EnvSpec, ObsBlock
from mimic_lit.envs.termination import Termination, done_flags
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.library import MotionFrame, MotionLibrary
from mimic_lit.rotations import local_rotations, quat_mul, quat_rotate_inverse, yaw_from_quat
from mimic_lit.sim.base import Simulator

if TYPE_CHECKING:
    from mimic_lit.envs.tasks import Goal
    from mimic_lit.envs.tracking import TrackingConfig

__all__ = ["CharacterEnv"]


class CharacterEnv:
    """N simulated characters with RSI resets; implements :class:`~mimic_lit.envs.protocol.VecEnv`.

    ``StepResult.info`` holds (N,) tensors: a subclass's reward terms and diagnostics, a goal's
    ``goal_reward`` and ``goal_success``; and, for envs whose episode ended at this step,
    ``episode_length`` (s), ``episode_return`` and ``fell`` (1 for a fall or a diverged
    simulation, 0 for other endings, including a goal's ``FAIL`` such as a lost ball), NaN for the others: average those with ``torch.nanmean``. Where no env ended,
    ``terminal_obs`` is the ``obs`` tensor itself.

    Args:
        sim: the batched simulator (``control_mode="pos"``).
        motion: reference clips of the same robot (resets start from them).
        config: task options.
    """

    #: the policy follows the reference clip (play shows the clip beside it; tracking errors are logged)
    tracks_reference = False
    #: which envs of the last reset started standing (``default_reset_prob``); ``None``: none could
    _last_standing: torch.Tensor | None = None

    def __init__(
        self, sim: Simulator, motion: MotionLibrary, config: TrackingConfig, goal: "Goal | None" = None
    ) -> None:
        self.config = cfg = config
        robot = sim.robot
        if motion.robot.name != robot.name:
            raise MimicLitError(
                f"the motion library is for robot '{motion.robot.name}' but the simulator runs '{robot.name}'"
            )
        if sim.control_mode != "pos":
            raise MimicLitError(f"tracking needs a simulator with control_mode 'pos', got '{sim.control_mode}'")
        if cfg.episode_length <= 0:
            raise MimicLitError(f"episode_length must be > 0 s, got {cfg.episode_length}")
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
        self.termination = Termination(
            self._fall_ids, cfg.contact_force_threshold, cfg.pose_termination, cfg.pose_termination_dist, cfg.global_obs
        )

        limits = robot.joint_limits
        if limits.shape[0] != sim.num_dofs:
            raise MimicLitError(f"robot '{robot.name}' has ball joints; PD position actions need 1-DoF joints")
        centre = torch.as_tensor(robot.default_pose)[7 : 7 + sim.num_dofs] if cfg.default_center_action else None
        self.action_mapping = ActionMapping.from_limits(
            limits, cfg.action_hinge_scale, cfg.zero_center_action, center=centre, device=dev, dtype=dt
        )
        ahead, target_dt = self._targets()
        self.layout = ObsLayout(
            num_bodies=skel.num_bodies,
            num_dofs=skel.num_joint_dofs,
            num_key_bodies=len(key),
            target_steps=tuple(ahead),
            root_height_obs=cfg.root_height_obs,
        )

        n = sim.num_envs
        self._steps = torch.zeros(n, dtype=torch.long, device=dev)
        self._return = torch.zeros(n, dtype=dt, device=dev)
        self._all = torch.arange(n, device=dev)
        self._gen = torch.Generator(device=dev)
        self._gen.manual_seed(int(cfg.seed))
        self._nan = torch.full((n,), float("nan"), dtype=dt, device=dev)
        self.reference = ReferenceWindow(
            self.motion, self._parents, n, self._dt, ahead, target_dt, cfg.rand_reset, self._gen, dt
        )
        self._goal_init(goal)
        self.pushes = None
        if cfg.push_interval > 0:
            self.pushes = Pushes(n, cfg.push_interval, cfg.push_velocity, dev, dt, int(cfg.seed) + 53)

    def _targets(self) -> tuple[list[int], float | None]:
        """Reference steps observed ahead and their spacing (``None``: the control period); none here."""
        return [], None

    # ------------------------------------------------------------------ VecEnv description
    @property
    def num_envs(self) -> int:
        return self.sim.num_envs

    @property
    def obs_dim(self) -> int:
        return self.layout.dim + self._goal_obs_dim() + self._obs_extra_dim

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
        """The :class:`EnvSpec` fields; subclasses add theirs (tracking metrics, discriminator, latent)."""
        blocks, start = [], 0
        for name, size in self.layout.blocks():
            blocks.append(ObsBlock(name, start, start + size))
            start += size
        goal_block, goal_metrics = self._goal_spec(start)
        return {
            "num_envs": self.num_envs,
            "obs_dim": self.obs_dim,
            "action_dim": self.action_dim,
            "control_dt": self._dt,
            "obs_blocks": tuple(blocks) + goal_block,
            "robot": self.sim.robot,
            "goal_dim": self._goal_obs_dim(),
            "tracks_reference": bool(self.tracks_reference),
            "eval_metrics": goal_metrics,
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
        return self.reference.time_offset + self.episode_time

    @property
    def clip_ids(self) -> torch.Tensor:
        """(N,) clip each env follows."""
        return self.reference.clip_ids

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

    def _ref_state(self, frame: MotionFrame, local_rot: torch.Tensor, k: int) -> CharState:
        """Character state of look-ahead slot ``k`` of a reshaped reference frame."""
        return CharState(
            frame.root_pos[:, k],
            frame.root_quat[:, k],
            frame.root_lin_vel[:, k],
            frame.root_ang_vel[:, k],
            local_rot[:, k, :, :4],
            frame.joint_vel[:, k],
            frame.body_pos[:, k].index_select(1, self._key_ids),
        )

    def _obs(self, state: CharState, frame: MotionFrame, local_rot: torch.Tensor) -> torch.Tensor:
        """Observation of the character ``state`` given the reference now and ahead (``frame``
        fields (n, 1 + T, ...)): here the character alone."""
        return char_obs(state, self.config.global_obs, self.config.root_height_obs)

    def observe(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Observation of the current simulator state (all envs or ``env_ids``), e.g. after
        :meth:`load_state_dict`; :meth:`step` and :meth:`reset` already return it."""
        state, _ = self._sim_state(env_ids)
        frame, local = self.reference.current(env_ids)
        obs = self._obs(state, frame, local)
        if self.goal is not None:
            obs = torch.cat([obs, self._goal_observe(env_ids)], dim=-1)
        return self._with_obs_extra(obs, env_ids)

    def reference_frame(self) -> MotionFrame:
        """The reference state (with body poses) every env is at now: for ghosts in renders and metrics."""
        return self.reference.now()

    # ------------------------------------------------------------------ resets
    def _reset_envs(self, ids: torch.Tensor) -> torch.Tensor:
        """Reference state init of envs ``ids`` with one ``sim.reset``; returns their (k, obs_dim)
        observations.

        The observations are computed from the reference the simulator was just set to (as
        MimicKit does), which equals the simulator state up to float rounding and saves
        re-reading every simulator buffer after a reset.
        """
        k = ids.shape[0]
        frame, local = self.reference.start(ids)
        self._steps.index_fill_(0, ids, 0)
        self._return.index_fill_(0, ids, 0.0)

        root_quat = frame.root_quat[:, 0]
        ang_local = quat_rotate_inverse(root_quat, frame.root_ang_vel[:, 0])  # MuJoCo's free-joint qvel is local
        qpos = torch.cat([frame.root_pos[:, 0], root_quat, frame.joint_pos[:, 0]], dim=-1)
        qvel = torch.cat([frame.root_lin_vel[:, 0], ang_local, frame.joint_vel[:, 0]], dim=-1)
        standing = self._standing_resets(k, qpos, qvel)
        self.sim.reset(ids, qpos, qvel)
        obs = self._obs(self._ref_state(frame, local, 0), frame, local)
        if standing is not None:  # these envs are not at the reference: observe the simulator
            state, _ = self._sim_state(ids)
            obs = torch.where(standing.unsqueeze(1), self._obs(state, frame, local), obs)
        if self.goal is not None:
            obs = torch.cat([obs, self._goal_reset(ids, frame.root_pos[:, 0], root_quat)], dim=-1)
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
    def _success(self) -> torch.Tensor | None:
        """(N,) bool: episodes that end with ``SUCC`` at this step (here: a goal's, if it ends
        episodes on success); ``None``: none can."""
        return self._goal_done()

    def _done(
        self, state: CharState, body_pos: torch.Tensor, ref: CharState, ref_body_pos: torch.Tensor
    ) -> torch.Tensor:
        """(N,) int64 done flags of the state just reached (priority FAIL > SUCC > TIME)."""
        early = None
        if self.config.early_termination:
            early = self.termination.early(self.sim, state, body_pos, ref, ref_body_pos)
        diverged = self.sim.diverged.to(self.device)
        done = done_flags(self._steps, self._max_steps, self._success(), diverged, early)
        # A fall is the character's failure; a goal's (the ball lost) ends with FAIL too, but is not a fall.
        fell = done == int(Done.FAIL)
        if self.goal is not None:
            done = torch.where(self._goal_fails & (done != int(Done.FAIL)), int(Done.FAIL), done)
        self._fell = fell
        return done

    def step(self, actions: torch.Tensor) -> StepResult:
        """Apply normalised ``actions`` (N, action_dim) for one control step; auto-reset ended envs."""
        prev_root = self.sim.root_pos.clone() if self.goal is not None else None
        if self.pushes is not None:
            self.pushes.apply(self.sim, self._dt)
        self.sim.step(self.action_mapping.to_targets(actions.to(self.device)))
        self._steps += 1
        self.reference.advance(self._steps)
        state, body_pos = self._sim_state()
        frame, local_rot = self.reference.current()
        ref = self._ref_state(frame, local_rot, 0)
        reward, info = self._reward(state, ref)
        obs = self._obs(state, frame, local_rot)
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
        info["fell"] = torch.where(ended, self._fell.to(self._dtype), self._nan)
        terminal_obs = obs.clone()
        obs.index_copy_(0, ids, self._reset_envs(ids))
        return StepResult(obs=obs, reward=reward, done=done, terminal_obs=terminal_obs, info=info, extras=extras)

    # ------------------------------------------------------------------ hooks for derived tasks
    def _reward(self, state: CharState, ref: CharState) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(N,) reward of the state reached and its logged terms: none here (a goal adds its own,
        a learner its style reward)."""
        return torch.zeros(self.num_envs, dtype=self._dtype, device=self.device), {}

    def _diagnostics(self, state: CharState, body_pos: torch.Tensor, frame: MotionFrame) -> dict[str, torch.Tensor]:
        """Per-env numbers logged with each step (not rewarded); none here."""
        return {}

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

    # ------------------------------------------------------------------ goal (a task objective on top of the motion)
    def _goal_init(self, goal: "Goal | None") -> None:
        """Keep ``goal`` (the one the simulator was built for), or build the configured one
        (``self.goal``, ``None`` without one), and bind it to the simulator."""
        n, dev = self.num_envs, self.device
        self.goal = goal if goal is not None else self.config.make_goal(n, dev, self._dtype)
        if self.goal is not None:
            if self.goal.num_envs != n:
                raise MimicLitError(f"the goal is for {self.goal.num_envs} envs, the simulator has {n}")
            self.goal.bind(self.sim)  # goals with objects in the simulator (the dribble ball) read them there
        self._goal_ends = torch.zeros(n, dtype=torch.bool, device=dev)
        self._goal_fails = torch.zeros(n, dtype=torch.bool, device=dev)

    def _goal_obs_dim(self) -> int:
        return int(self.goal.obs_dim) if self.goal is not None else 0

    def _goal_spec(self, start: int) -> tuple[tuple[ObsBlock, ...], tuple[str, ...]]:
        """The goal's observation block (from column ``start`` on) and its evaluation metrics."""
        goal_dim = self._goal_obs_dim()
        blocks = (ObsBlock(f"goal/{type(self.goal).__name__}", start, start + goal_dim),) if goal_dim else ()
        metrics = tuple(self.goal.metric_names) if self.goal is not None else ()
        return blocks, metrics

    def _goal_observe(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        """The goal's observation of the current roots (all envs or ``env_ids``)."""
        goal = self.goal.observe(self.sim.root_pos, self.sim.root_quat)
        return goal if env_ids is None else goal.index_select(0, env_ids)

    def _goal_reset(self, ids: torch.Tensor, root_pos: torch.Tensor, root_quat: torch.Tensor) -> torch.Tensor:
        """New goals for envs ``ids`` starting at ``root_pos``/``root_quat``; their observation."""
        self.goal.reset(ids, root_pos, root_quat)
        # The goal observes all N envs; the rows of ``ids`` get their new roots.
        all_pos = self.sim.root_pos.clone().index_copy_(0, ids, root_pos)
        all_quat = self.sim.root_quat.clone().index_copy_(0, ids, root_quat)
        return self.goal.observe(all_pos, all_quat).index_select(0, ids)

    def _goal_step(
        self, prev_root: torch.Tensor, state: CharState, reward: torch.Tensor, obs: torch.Tensor, info: dict
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the goal's reward, log it, its success and its metrics, note which envs it ends, move
        its timers, append its observation."""
        goal = self.goal
        goal_reward = goal.reward(prev_root, state.root_pos, state.root_quat, self._dt)
        info["goal_reward"] = goal_reward
        info["goal_success"] = goal.success(state.root_pos, state.root_quat).to(self._dtype)
        self._goal_ends = goal.done(state.root_pos, state.root_quat)
        self._goal_fails = goal.failed(state.root_pos, state.root_quat)
        info.update(goal.metrics(state.root_pos, state.root_quat))
        goal.advance(self._dt, state.root_pos, state.root_quat)
        obs = torch.cat([obs, goal.observe(state.root_pos, state.root_quat)], dim=-1)
        return reward + self.config.goal_reward_weight * goal_reward, obs

    def _goal_done(self) -> torch.Tensor | None:
        """(N,) bool: episodes the goal ends at this step (its ``done``); ``None`` without a goal."""
        return self._goal_ends if self.goal is not None else None

    def _goal_state_dict(self, state: dict[str, Any]) -> None:
        if self.goal is not None:
            state["goal"] = self.goal.state_dict()

    def _goal_load_state_dict(self, state: dict[str, Any]) -> None:
        if self.goal is not None:
            if "goal" not in state:
                raise MimicLitError(f"env state has no {type(self.goal).__name__} state (saved without a goal?)")
            self.goal.load_state_dict(state["goal"])

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Episode clocks, clips, time offsets, returns, the sampling generator, the reference window,
        the pre-drawn resets and the simulator state."""
        reference = self.reference.state_dict()
        state = {
            "clip_ids": self.reference.clip_ids.clone(),
            "time_offset": self.reference.time_offset.clone(),
            "episode_steps": self._steps.clone(),
            "episode_return": self._return.clone(),
            "generator": self._gen.get_state(),
            "reference": reference.pop("reference"),
            "reference_pointer": reference.pop("reference_pointer"),
            "sim": self.sim.state_dict(),
        }
        self._goal_state_dict(state)
        if self.pushes is not None:
            state["pushes"] = self.pushes.state_dict()
        state.update(reference)  # the pre-drawn resets, once drawn
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; the next :meth:`step` continues bit-identically."""
        n = self.num_envs
        if state["clip_ids"].shape != (n,):
            raise MimicLitError(f"env state is for {state['clip_ids'].shape[0]} envs, this env has {n}")
        if int(state["clip_ids"].max()) >= self.motion.num_clips:
            raise MimicLitError("env state refers to clips this motion library does not have")
        self.reference.clip_ids.copy_(state["clip_ids"])
        self.reference.time_offset.copy_(state["time_offset"])
        self._steps.copy_(state["episode_steps"])
        self._return.copy_(state["episode_return"])
        self._gen.set_state(state["generator"])
        self.reference.load_state_dict(state)
        self.sim.load_state_dict(state["sim"])
        self._goal_load_state_dict(state)
        if self.pushes is not None:
            if "pushes" not in state:
                raise MimicLitError("env state has no push timers (saved without task.push_interval?)")
            self.pushes.load_state_dict(state["pushes"])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(robot={self.sim.robot.name!r}, num_envs={self.num_envs}, obs_dim={self.obs_dim}, "
            f"action_dim={self.action_dim}, clips={self.motion.num_clips})"
        )

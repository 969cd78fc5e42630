"""Record an episode of a trained policy outside the Trainer.

:func:`record_episode` plays one episode with a policy (loaded with
:func:`mimic_lit.checkpoint.load_policy`) and keeps, per control step, the simulated ``qpos``,
the reference ``qpos`` it tracks and the env's per-step metrics (tracking errors, a goal's
metrics), and what the goal shows (its point, its arrows, its velocity command): what
``mimic-lit play`` renders side by side and summarises, and what a notebook plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np
import torch

from mimic_lit.envs.protocol import Done

#: Tracking errors the summary averages over the episode, with their unit and scale from m / rad.
_MEAN_UNITS = {"body_pos_err": ("cm", 100.0), "joint_err": ("rad", 1.0), "root_pos_err": ("cm", 100.0)}
#: Goal metrics the summary averages over the episode (``mean_<name>``) instead of giving the last value.
_MEAN_GOAL_METRICS = ("cmd_vx_err", "cmd_vy_err", "cmd_yaw_rate_err")
#: At most this many command segments are listed one by one by :meth:`EpisodeRecord.command_text`.
_MAX_LISTED_COMMANDS = 6


@dataclass
class EpisodeRecord:
    """One played episode of environment 0, one row per control step (the initial state included)."""

    sim_qpos: np.ndarray  # (T, nq) simulated robot
    ref_qpos: np.ndarray  # (T, nq) reference it tracks at the same instants
    times: np.ndarray  # (T,) reference clip time (s)
    control_dt: float
    done: Done  # how the episode ended (NULL: the step budget ran out first)
    errors: dict[str, np.ndarray] = field(default_factory=dict)  # the env spec's eval_metrics after each step (T - 1,)
    reward: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (T - 1,)
    ball_qpos: np.ndarray | None = None  # (T, 7) ball position and quaternion, when the sim has a ball
    marker_xy: np.ndarray | None = None  # (T, 2) the goal's point (target, ball goal), when it has one
    arrows: dict[str, np.ndarray] = field(default_factory=dict)  # the goal's arrows by label, (T, K, 3) world points
    command: np.ndarray | None = None  # (T, 3) the velocity command (vx, vy, wz; heading frame), when the goal gives one

    @property
    def sim_qpos_with_ball(self) -> np.ndarray:
        """(T, nq [+ 7]) robot coordinates followed by the ball's, when there is a ball."""
        return self.sim_qpos if self.ball_qpos is None else np.concatenate([self.sim_qpos, self.ball_qpos], axis=1)

    @property
    def length_s(self) -> float:
        return (self.sim_qpos.shape[0] - 1) * self.control_dt

    @property
    def fell(self) -> bool:
        return self.done == Done.FAIL

    def summary(self) -> dict[str, float | str]:
        """Episode length, how it ended, mean reward, mean tracking errors (body/root errors in cm),
        mean velocity-command errors (``mean_cmd_vx_err``...) and the final value of every other
        metric (a goal's, e.g. ``final_goal_ball_dist``)."""
        out: dict[str, float | str] = {"length_s": self.length_s, "end": self.done.name}
        if self.reward.size:
            out["mean_reward"] = float(self.reward.mean())
        for key, values in self.errors.items():
            if not values.size:
                continue
            if key in _MEAN_UNITS:
                unit, scale = _MEAN_UNITS[key]
                out[f"{key}_{unit}"] = float(values.mean() * scale)
            elif key in _MEAN_GOAL_METRICS:
                out[f"mean_{key}"] = float(values.mean())
            else:
                out[f"final_{key}"] = float(values[-1])
        return out

    def command_text(self) -> str | None:
        """The velocity commands of the episode in words: each with its time span, or their mean and
        range when they change often (a high-level policy's); ``None`` without a command."""
        if self.command is None or not len(self.command):
            return None
        changes = np.flatnonzero(np.any(np.diff(self.command, axis=0) != 0, axis=1)) + 1
        starts = np.concatenate([[0], changes])
        if len(starts) <= _MAX_LISTED_COMMANDS:
            ends = np.concatenate([changes, [len(self.command) - 1]])
            spans = [
                f"{a * self.control_dt:.1f}-{max(b, a + 1) * self.control_dt:.1f} s {_command_words(self.command[a])}"
                for a, b in zip(starts, ends)
            ]
            return "; ".join(spans)
        lo, hi, mean = self.command.min(0), self.command.max(0), self.command.mean(0)
        parts = [f"{n} mean {m:+.2f} [{a:+.2f}, {b:+.2f}] {u}" for n, m, a, b, u in zip(
            ("vx", "vy", "wz"), mean, lo, hi, ("m/s", "m/s", "rad/s"))]
        return f"{len(starts)} commands, " + ", ".join(parts)


def _command_words(command: np.ndarray) -> str:
    """``vx +0.50 m/s, vy +0.00 m/s, wz -0.30 rad/s``, or ``stand still`` for the zero command."""
    if not np.any(command):
        return "stand still"
    vx, vy, wz = (float(c) for c in command)
    return f"vx {vx:+.2f} m/s, vy {vy:+.2f} m/s, wz {wz:+.2f} rad/s"


@torch.no_grad()
def record_episode(
    model, env, max_seconds: float | None = None, deterministic: bool = True
) -> EpisodeRecord:
    """Play one episode of environment 0 of ``env`` with ``model.act`` and record it.

    Stops when environment 0's episode ends (fall, clip end, time limit) or after ``max_seconds``.
    All environments step (the env is batched), only environment 0 is recorded, with the env's
    per-step metrics (``env.spec.eval_metrics``). With a goal that puts a ball in the simulator its pose is
    recorded too, with a goal that has a point (location target, dribble goal) that point, and the
    goal's arrows (:meth:`~mimic_lit.envs.tasks.base.Goal.arrows`) and velocity command when it has them.
    """
    obs = env.reset()
    if hasattr(model, "build"):
        model.build(env.obs_dim, env.action_dim)  # raises a clear error if the sizes differ
    dt = float(env.control_dt)
    limit = int(np.ceil(max_seconds / dt)) if max_seconds is not None else 1_000_000

    from mimic_lit.sim.base import scene_ball

    sim = env.sim
    goal = env.goal
    has_ball = goal is not None and scene_ball(goal.scene_objects()) is not None

    def snapshot() -> None:
        ref = env.reference_frame()
        ref_qpos = torch.cat([ref.root_pos[0], ref.root_quat[0], ref.joint_pos[0]])
        sims.append(sim.qpos[0].double().cpu().numpy())
        refs.append(ref_qpos.double().cpu().numpy())
        times.append(float(env.motion_time[0]))
        if has_ball:
            balls.append(torch.cat([sim.ball_pos[0], sim.ball_quat[0]]).double().cpu().numpy())
        if goal is None:
            return
        point = goal.marker_xy()
        if point is not None:
            markers.append(point[0].double().cpu().numpy())
        command = goal.velocity_command()
        if command is not None:
            commands.append(command[0].double().cpu().numpy())
        # A label missing at some steps (drawn later, or not always) is NaN there: not drawn.
        drawn = {k: v[0].double().cpu().numpy() for k, v in goal.arrows(sim.root_pos, sim.root_quat).items()}
        for label, path in drawn.items():
            arrows.setdefault(label, [np.full_like(path, np.nan)] * (len(sims) - 1)).append(path)
        for label, rows in arrows.items():
            if label not in drawn:
                rows.append(np.full_like(rows[-1], np.nan))

    sims, refs, times, balls, markers, commands = [], [], [], [], [], []
    arrows: dict[str, list[np.ndarray]] = {}
    errors: dict[str, list[float]] = {k: [] for k in env.spec.eval_metrics}
    rewards: list[float] = []
    done = Done.NULL

    def record(res) -> bool:  # noqa: ANN001
        """Record one step's result of env 0; True once its episode has ended."""
        nonlocal done
        if done != Done.NULL:
            return True  # later control steps of a high-level step belong to the next episode
        rewards.append(float(res.reward[0]))
        for key, values in errors.items():
            values.append(float(res.info[key][0]))
        flag = Done(int(res.done[0]))
        if flag != Done.NULL:
            done = flag  # the env has already reset env 0: its last pose is the one before this step
            return True
        snapshot()
        return False

    # A high-level env (a ball policy over a walk) reports each control step: record them all, so
    # the video moves at the control rate, not at the 5-10 Hz of the decisions.
    per_control_step = hasattr(env, "control_step_hook")
    if per_control_step:
        dt = float(env.inner_control_dt)
        limit = int(np.ceil(max_seconds / float(env.control_dt))) if max_seconds is not None else 1_000_000
        env.control_step_hook = record
    snapshot()
    try:
        for _ in range(limit):
            res = env.step(model.act(obs, deterministic=deterministic))
            obs = res.obs
            if (done != Done.NULL) if per_control_step else record(res):
                break
    finally:
        if per_control_step:
            env.control_step_hook = None
    return EpisodeRecord(
        sim_qpos=np.stack(sims), ref_qpos=np.stack(refs), times=np.asarray(times), control_dt=dt, done=done,
        errors={k: np.asarray(v) for k, v in errors.items() if v}, reward=np.asarray(rewards),
        ball_qpos=np.stack(balls) if balls else None, marker_xy=np.stack(markers) if markers else None,
        arrows={k: np.stack(v) for k, v in arrows.items()},
        command=np.stack(commands) if commands else None,
    )

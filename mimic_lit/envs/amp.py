"""AMP's environment side: discriminator observations of a K-frame history, and demo samples.

The policy sees only the character (no reference targets) and the env reward is the task's
(zero for pure style); the learner adds the discriminator's style reward. What the
discriminator sees of one step is the last ``disc_steps`` frames of the character, each frame
(MimicKit's layout, §3.4 of the reference notes):

- root position minus the newest frame's root position (z absolute with ``root_height_obs``);
- root rotation (tan-norm);
- every non-root body's local rotation (tan-norm);
- key-body positions minus that frame's root position;
- root linear and angular velocity;
- joint velocities (``disc_dof_vel``).

Without ``disc_global_obs`` every vector and root rotation is expressed in the newest frame's
heading frame. The same :func:`disc_obs_from_history` turns both the simulated history and demo
windows drawn from the motion library into vectors, so the two can never disagree on layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from mimic_lit.envs.observations import CharState
from mimic_lit.envs.character import CharacterEnv
from mimic_lit.envs.spec import DiscObsSpec
from mimic_lit.envs.tasks import Goal
from mimic_lit.envs.tracking import TrackingConfig
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.library import MotionFrame, MotionLibrary
from mimic_lit.sim.base import SimConfig
from mimic_lit.rotations import heading_quat_inv, quat_mul, quat_to_tan_norm, rotate_per_env

__all__ = ["AMPConfig", "AMPEnv", "FrameLayout", "disc_obs_from_history", "frame_features"]


@dataclass
class AMPConfig(TrackingConfig):
    """Options of the AMP env: the tracking env's (motion, RSI, falls, actions) with AMP's defaults.

    Attributes:
        disc_steps: frames in the discriminator's history (MimicKit: 10, a third of a second).
        disc_global_obs: the discriminator sees world axes (MimicKit's humanoid AMP); otherwise
            the newest frame's heading frame.
        disc_dof_vel: include joint velocities in each frame.
        demo_grid: demo windows end on a time grid of ``control_dt / demo_grid``; the raw features
            of every grid frame of every clip are computed once, so drawing a demo batch is a
            gather instead of forward kinematics of K frames per sample.

    Inherited defaults changed for AMP: no reference targets in the policy observation (the env
    accepts none), no pose termination (nothing is tracked). Episodes do not end when the clip ends.
    """

    target_steps: list[int] = field(default_factory=list)
    pose_termination: bool = False
    disc_steps: int = 10
    disc_global_obs: bool = True
    disc_dof_vel: bool = True
    demo_grid: int = 4

    def __post_init__(self) -> None:
        from mimic_lit.config_checks import require_at_least

        super().__post_init__()
        require_at_least(self.disc_steps, "task.disc_steps", 1)
        require_at_least(self.demo_grid, "task.demo_grid", 1)


@dataclass(frozen=True)
class FrameLayout:
    """Column ranges of one raw history frame (world axes), see :func:`frame_features`."""

    num_bodies: int
    num_key_bodies: int
    num_dofs: int

    @property
    def slices(self) -> dict[str, slice]:
        sizes = [
            ("root_pos", 3), ("root_quat", 4), ("joint_rot", 6 * (self.num_bodies - 1)),
            ("key_pos", 3 * self.num_key_bodies), ("root_lin_vel", 3), ("root_ang_vel", 3), ("joint_vel", self.num_dofs),
        ]  # fmt: skip
        out, start = {}, 0
        for name, size in sizes:
            out[name] = slice(start, start + size)
            start += size
        return out

    @property
    def width(self) -> int:
        return 3 + 4 + 6 * (self.num_bodies - 1) + 3 * self.num_key_bodies + 6 + self.num_dofs

    def disc_frame_dim(self, dof_vel: bool) -> int:
        """Size of one frame in the discriminator observation."""
        return 3 + 6 + 6 * (self.num_bodies - 1) + 3 * self.num_key_bodies + 6 + (self.num_dofs if dof_vel else 0)


def frame_features(state: CharState) -> torch.Tensor:
    """(..., width) raw world-frame features of character states: what a history frame keeps.

    Joint rotations are stored as tan-norms, so each frame's are computed once, not once per step
    it stays in the history.
    """
    lead = state.root_pos.shape[:-1]
    return torch.cat(
        [
            state.root_pos,
            state.root_quat,
            quat_to_tan_norm(state.local_rot).reshape(lead + (-1,)),
            state.key_pos.reshape(lead + (-1,)),
            state.root_lin_vel,
            state.root_ang_vel,
            state.joint_vel,
        ],
        dim=-1,
    )


def disc_obs_from_history(
    hist: torch.Tensor, layout: FrameLayout, global_obs: bool = True, root_height_obs: bool = True, dof_vel: bool = True
) -> torch.Tensor:
    """(N, K * disc_frame_dim) discriminator observations of raw histories ``hist`` (N, K, width),
    oldest frame first, newest last (see the module docstring for the layout)."""
    n, k, _ = hist.shape
    sl = layout.slices
    root_pos = hist[..., sl["root_pos"]]
    root_quat = hist[..., sl["root_quat"]]
    newest_pos, newest_quat = root_pos[:, -1], root_quat[:, -1]
    heading = None if global_obs else heading_quat_inv(newest_quat)

    rel = root_pos - newest_pos.unsqueeze(1)
    if root_height_obs:
        rel = torch.cat([rel[..., :2], root_pos[..., 2:3]], dim=-1)
    key = hist[..., sl["key_pos"]].reshape(n, k, -1, 3) - root_pos.unsqueeze(2)
    rot = root_quat if heading is None else quat_mul(heading.unsqueeze(1).expand(n, k, 4), root_quat)
    parts = [
        rotate_per_env(heading, rel),
        quat_to_tan_norm(rot),
        hist[..., sl["joint_rot"]],
        rotate_per_env(heading, key).reshape(n, k, -1),
        rotate_per_env(heading, hist[..., sl["root_lin_vel"]]),
        rotate_per_env(heading, hist[..., sl["root_ang_vel"]]),
    ]
    if dof_vel:
        parts.append(hist[..., sl["joint_vel"]])
    return torch.cat(parts, dim=-1).reshape(n, -1)


class AMPEnv(CharacterEnv):
    """Character env for adversarial motion priors: RSI from the clips, falls and time limits end
    episodes, reward 0 (a goal adds its own), and every step hands the learner the discriminator
    observation of the state reached (``StepResult.extras["disc_obs"]``).

    The history of each env is pre-filled on reset with the reference frames leading up to its
    start time (RSI for the history, as MimicKit). :meth:`demo_disc_obs` draws discriminator
    observations of the clips themselves with the same function.
    """

    def __init__(self, sim, motion, config: AMPConfig | None = None, goal: Goal | None = None) -> None:
        config = config or AMPConfig()
        if config.disc_steps < 1:
            raise MimicLitError(f"disc_steps must be >= 1, got {config.disc_steps}")
        if config.demo_grid < 1:
            raise MimicLitError(f"demo_grid must be >= 1, got {config.demo_grid}")
        if len(config.target_steps):
            raise MimicLitError(
                "an AMP policy observes no reference targets: task.target_steps must be [], "
                f"got {list(config.target_steps)}"
            )
        self.frame_layout = FrameLayout(
            motion.skeleton.num_bodies,
            len(config.key_bodies) if config.key_bodies is not None else len(sim.robot.key_bodies),
            motion.skeleton.num_joint_dofs,
        )
        self._hist: torch.Tensor | None = None  # set before super() resets anything
        super().__init__(sim, motion, config, goal)
        self._hist = torch.zeros(
            self.num_envs, config.disc_steps, self.frame_layout.width, dtype=self._dtype, device=self.device
        )
        self._demo_gen = torch.Generator(device=self.device)
        self._demo_gen.manual_seed(int(config.seed) + 7919)
        self._build_demo_table()

    # ------------------------------------------------------------------ sizes
    @property
    def disc_obs_dim(self) -> int:
        cfg = self.config
        return cfg.disc_steps * self.frame_layout.disc_frame_dim(cfg.disc_dof_vel)

    def _spec_fields(self) -> dict[str, Any]:
        return super()._spec_fields() | {
            "disc_obs": DiscObsSpec(self.disc_obs_dim, "state"),
            "batch_extras": ("disc_obs", "demo_disc_obs"),
        }

    def rollout_extras(self, num_samples: int) -> dict[str, torch.Tensor]:
        """``demo_disc_obs``: one demo discriminator observation per rollout sample, the
        discriminator's positives for the iteration."""
        return {"demo_disc_obs": self.demo_disc_obs(num_samples)}

    def _disc_obs(self, hist: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        return disc_obs_from_history(hist, self.frame_layout, cfg.disc_global_obs, cfg.root_height_obs, cfg.disc_dof_vel)

    # ------------------------------------------------------------------ hooks
    def _extras(self, state: CharState, *_: Any) -> dict[str, torch.Tensor]:
        """Push the state reached into the history; its discriminator observation goes with the step."""
        frame = frame_features(state).unsqueeze(1)
        self._hist = torch.cat([self._hist[:, 1:], frame], dim=1)
        return {"disc_obs": self._disc_obs(self._hist)}

    def _reference_history(self, clips: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """(n, K, width) raw features of the reference frames at ``times - (K-1..0) dt`` (clamped at 0)."""
        k = self.config.disc_steps
        back = torch.arange(k - 1, -1, -1, device=self.device, dtype=self._dtype) * self._dt
        when = (times.unsqueeze(1) - back).clamp_min(0.0)
        frame, local = self.reference.query(clips, when)
        return frame_features(reference_frame_state(frame, local, self._key_ids))

    def _reset_envs(self, ids: torch.Tensor) -> torch.Tensor:
        obs = super()._reset_envs(ids)
        if self._hist is not None:
            ref = self.reference
            hist = self._reference_history(ref.clip_ids.index_select(0, ids), ref.time_offset.index_select(0, ids))
            standing = self._last_standing
            if standing is not None and bool(standing.any()):  # started at rest: a history of standing still
                state, _ = self._sim_state(ids)
                still = frame_features(state).unsqueeze(1).expand(-1, hist.shape[1], -1)
                hist = torch.where(standing.view(-1, 1, 1), still, hist)
            self._hist.index_copy_(0, ids, hist)
        return obs

    # ------------------------------------------------------------------ demos
    def _build_demo_table(self) -> None:
        """Raw features of every clip at times ``j * control_dt / demo_grid``, j = 0 .. last frame
        inside the clip, stacked clip after clip (``_demo_start`` / ``_demo_count`` per clip)."""
        step = self._dt / self.config.demo_grid
        dur = self.motion.clip_duration.to(torch.float64)
        counts = torch.floor(dur / step + 1e-9).long() + 1
        starts = torch.cumsum(counts, 0) - counts
        clip_of = torch.repeat_interleave(torch.arange(len(counts)), counts)
        index = torch.arange(int(counts.sum())) - starts[clip_of]
        times = torch.minimum(index.to(torch.float64) * step, dur[clip_of]).to(self._dtype)
        rows = []
        for chunk in range(0, len(times), 4096):
            c = clip_of[chunk : chunk + 4096].to(self.device)
            frame, local = self.reference.query(c, times[chunk : chunk + 4096].to(self.device).unsqueeze(1))
            rows.append(frame_features(reference_frame_state(frame, local, self._key_ids))[:, 0])
        self._demo_table = torch.cat(rows, 0)
        self._demo_start, self._demo_count = starts.to(self.device), counts.to(self.device)

    def demo_windows(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` demo windows: clip ids (by weight) and grid indices of their newest frames
        (uniform within the clip). Uses the env's own demo generator (checkpointed)."""
        clips = self.motion.sample_clips(n, generator=self._demo_gen).to(self.device)
        u = torch.rand(n, generator=self._demo_gen, device=self.device, dtype=torch.float64)
        count = self._demo_count[clips]
        return clips, torch.minimum(torch.floor(u * count).long(), count - 1)

    def demo_window_times(self, clips: torch.Tensor, newest: torch.Tensor) -> torch.Tensor:
        """(n,) clip times of the newest frames of demo windows (see :meth:`demo_windows`)."""
        return (newest.to(torch.float64) * (self._dt / self.config.demo_grid)).to(self._dtype)

    def demo_disc_obs(self, n: int) -> torch.Tensor:
        """(n, disc_obs_dim) discriminator observations of the clips: the K frames, one control
        step apart, ending at a random grid time of a random clip (times before 0 clamp to 0)."""
        clips, newest = self.demo_windows(n)
        k, grid = self.config.disc_steps, self.config.demo_grid
        back = torch.arange(k - 1, -1, -1, device=self.device) * grid
        rows = self._demo_start[clips].unsqueeze(1) + (newest.unsqueeze(1) - back).clamp_min(0)
        return self._disc_obs(self._demo_table[rows])

    def disc_obs(self) -> torch.Tensor:
        """(N, disc_obs_dim) discriminator observation of the current histories."""
        return self._disc_obs(self._hist)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["disc_history"] = self._hist.clone()
        state["demo_generator"] = self._demo_gen.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._hist = state["disc_history"].to(self.device, self._dtype).clone()
        self._demo_gen.set_state(state["demo_generator"])

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", disc_obs_dim={self.disc_obs_dim})"


def reference_frame_state(frame: MotionFrame, local: torch.Tensor, key_ids: torch.Tensor) -> CharState:
    """Character state of reference frames shaped (n, ...) (for tests and tools)."""
    return CharState(
        frame.root_pos, frame.root_quat, frame.root_lin_vel, frame.root_ang_vel,
        local[..., :4], frame.joint_vel, frame.body_pos.index_select(-2, key_ids),
    )  # fmt: skip


AMPConfig.env_class = AMPEnv

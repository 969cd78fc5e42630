"""`MotionLibrary`: many clips of one robot in concatenated tensors, sampled and interpolated in batch.

Every query is one batched call: ``get_frames(clip_ids, times)`` finds the two neighbouring frames of
each (clip, time), lerps positions, hinge/slide angles and velocities, and slerps the root and
ball-joint quaternions. Looping ("wrap") clips repeat forever and advance by their horizontal root
displacement every cycle (a looping clip's last frame is taken as the next cycle's first, so
``t = duration`` gives frame 0 shifted by one cycle); "clamp" clips hold their first/last frame
outside [0, duration]. Velocities are precomputed by finite differences (central inside a clip,
one-sided at its ends) and interpolated linearly.

Dataset files (``from_dataset_yaml``) are YAML::

    robot: g1                           # optional; otherwise taken from the clips
    motions:
      - file: clips/walk.npz            # relative to this YAML file's folder (or absolute)
        weight: 2.0                     # sampling weight, default 1
      - file: shipped:g1/kimodo_walk    # a clip shipped with mimic-lit: shipped:<robot>/<name>
      - clips/run.npz                   # a bare string is a file with weight 1
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Sequence

import numpy as np
import torch

from mimic_lit.errors import MotionFormatError, MotionRobotUnnamedError
from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.kinematics import clip_velocities, forward_kinematics, forward_kinematics_with_velocities
from mimic_lit.motion.skeleton import Skeleton
from mimic_lit.rotations import quat_slerp

if TYPE_CHECKING:
    from mimic_lit.robots.spec import RobotSpec

__all__ = ["MotionFrame", "MotionLibrary", "resolve_motion_path", "SHIPPED_PREFIX"]

SHIPPED_PREFIX = "shipped:"


class MotionFrame(NamedTuple):
    """Reference state of a batch of (clip, time) queries; world frame, quaternions (w, x, y, z).

    Body fields are None unless asked for (``bodies=True`` / ``body_vel=True`` in ``get_frames``).
    """

    root_pos: torch.Tensor  # (B, 3)
    root_quat: torch.Tensor  # (B, 4)
    joint_pos: torch.Tensor  # (B, num_joint_coords), MJCF qpos order
    root_lin_vel: torch.Tensor  # (B, 3)
    root_ang_vel: torch.Tensor  # (B, 3), world frame
    joint_vel: torch.Tensor  # (B, num_joint_dofs), MJCF qvel order
    body_pos: torch.Tensor | None = None  # (B, nb, 3), skeleton body order (MuJoCo body id - 1)
    body_quat: torch.Tensor | None = None  # (B, nb, 4)
    body_lin_vel: torch.Tensor | None = None  # (B, nb, 3)
    body_ang_vel: torch.Tensor | None = None  # (B, nb, 3)


def resolve_motion_path(spec: str | os.PathLike, base_dir: str | os.PathLike | None = None) -> Path:
    """A clip path from ``spec``: ``shipped:<robot>/<name>`` or a file path relative to ``base_dir``."""
    text = os.fspath(spec)
    if text.startswith(SHIPPED_PREFIX):
        from mimic_lit.motion.shipped import shipped_clip

        robot, sep, name = text[len(SHIPPED_PREFIX) :].partition("/")
        if not sep or not robot or not name:
            raise MotionFormatError(f"'{text}': shipped clips are named shipped:<robot>/<name>, e.g. shipped:g1/walk")
        return shipped_clip(robot, name.removesuffix(".npz"))
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


class MotionLibrary:
    """Clips of one robot, concatenated frame-wise in torch tensors, with sampling weights.

    Args:
        clips: :class:`MotionClip` objects, ``.npz`` paths, or ``shipped:<robot>/<name>`` strings.
        weights: sampling weight per clip (default: all 1); normalised to probabilities.
        robot: robot name or spec; default: the ``robot`` field of the clips (they must agree).
        device: where the tensors live (change later with :meth:`to`).
        dtype: float dtype of all tensors and of the time arithmetic.
    """

    def __init__(
        self,
        clips: Sequence[MotionClip | str | os.PathLike],
        weights: Sequence[float] | np.ndarray | torch.Tensor | None = None,
        *,
        robot: "str | RobotSpec | None" = None,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        from mimic_lit.robots import get_robot

        if len(clips) == 0:
            raise MotionFormatError("a motion library needs at least one clip")
        loaded = [c if isinstance(c, MotionClip) else MotionClip.load(resolve_motion_path(c)) for c in clips]
        if robot is None:
            named = [c.robot for c in loaded if c.robot]
            if not named:
                raise MotionRobotUnnamedError(
                    "cannot tell which robot the clips are for: pass robot=... or set the clips' 'robot' field"
                )
            robot = named[0]
        spec = get_robot(robot)
        for i, clip in enumerate(loaded):
            clip.validate(spec, where=f"clip {i} ('{clip.name}')")
        self.robot = spec
        self.skeleton = Skeleton.from_robot(spec)
        self.clip_names: tuple[str, ...] = tuple(c.name for c in loaded)
        self.dtype = dtype
        self.device = torch.device("cpu")

        w = np.ones(len(loaded)) if weights is None else np.asarray(torch.as_tensor(weights).cpu(), dtype=np.float64)
        if w.shape != (len(loaded),):
            raise MotionFormatError(f"got {w.size} weights for {len(loaded)} clips")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise MotionFormatError(f"clip weights must be finite, >= 0 and not all 0, got {w.tolist()}")

        lengths = [c.num_frames for c in loaded]
        fps = np.array([c.fps for c in loaded])
        f64 = {"dtype": torch.float64}
        root_pos = torch.as_tensor(np.concatenate([c.root_pos for c in loaded]), **f64)
        root_quat = torch.as_tensor(np.concatenate([c.root_quat for c in loaded]), **f64)
        joint_pos = torch.as_tensor(np.concatenate([c.joint_pos for c in loaded]), **f64)
        vel = clip_velocities(self.skeleton, root_pos, root_quat, joint_pos, torch.as_tensor(fps, **f64), lengths)
        disp = np.stack([c.root_pos[-1] - c.root_pos[0] for c in loaded])
        disp[:, 2] = 0.0  # looping clips advance horizontally only

        self.root_pos = root_pos.to(dtype)
        self.root_quat = root_quat.to(dtype)
        self.joint_pos = joint_pos.to(dtype)
        self.root_lin_vel = vel.root_lin_vel.to(dtype)
        self.root_ang_vel = vel.root_ang_vel.to(dtype)
        self.joint_vel = vel.joint_vel.to(dtype)
        n = torch.as_tensor(lengths, dtype=torch.long)
        self.clip_num_frames = n
        self.clip_start = torch.cumsum(n, 0) - n
        self.clip_fps = torch.as_tensor(fps, dtype=dtype)
        self.clip_duration = torch.as_tensor([c.duration for c in loaded], dtype=dtype)
        self.clip_wrap = torch.as_tensor([c.loop == "wrap" for c in loaded], dtype=torch.bool)
        self.clip_cycle_disp = torch.as_tensor(disp, dtype=dtype)
        self.weights = torch.as_tensor(w / w.sum(), dtype=dtype)
        self._ball_cols = torch.as_tensor(self.skeleton.ball_coord_columns.reshape(-1), dtype=torch.long)
        self.to(device)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_dataset_yaml(
        cls,
        path: str | os.PathLike,
        *,
        robot: str | None = None,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> "MotionLibrary":
        """Library from a dataset YAML (format in the module docstring)."""
        import yaml

        path = Path(path)
        if not path.is_file():
            raise MotionFormatError(f"dataset file not found: '{path}'")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise MotionFormatError(f"'{path}' is not valid YAML: {first}") from None
        if not isinstance(data, dict) or not isinstance(data.get("motions"), list) or not data["motions"]:
            raise MotionFormatError(f"'{path}': expected a mapping with a non-empty 'motions' list")
        file_robot = data.get("robot")
        if robot is not None and file_robot is not None and str(file_robot).lower() != str(robot).lower():
            raise MotionFormatError(f"'{path}' is a dataset for robot '{file_robot}', not '{robot}'")
        files, weights = [], []
        for i, entry in enumerate(data["motions"]):
            if isinstance(entry, str):
                entry = {"file": entry}
            if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
                raise MotionFormatError(f"'{path}': motions[{i}] needs a 'file' string")
            weight = entry.get("weight", 1.0)
            is_number = isinstance(weight, (int, float)) and not isinstance(weight, bool)
            if not is_number or not math.isfinite(weight) or weight < 0:
                raise MotionFormatError(f"'{path}': motions[{i}] has weight {weight!r}; expected a number >= 0")
            files.append(resolve_motion_path(entry["file"], path.parent))
            weights.append(float(weight))
        return cls(files, weights, robot=robot or file_robot, device=device, dtype=dtype)

    def to(self, device: torch.device | str) -> "MotionLibrary":
        """Move every tensor to ``device`` (in place); returns ``self``."""
        self.device = torch.device(device)
        for name, value in list(vars(self).items()):
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(self.device))
        return self

    # ------------------------------------------------------------------ info
    @property
    def num_clips(self) -> int:
        return len(self.clip_names)

    @property
    def num_frames(self) -> int:
        """Frames of all clips together."""
        return int(self.root_pos.shape[0])

    @property
    def clip_lengths(self) -> torch.Tensor:
        """(num_clips,) clip durations in seconds."""
        return self.clip_duration

    def clip_index(self, name: str) -> int:
        """Index of the clip called ``name``."""
        try:
            return self.clip_names.index(name)
        except ValueError:
            raise MotionFormatError(f"no clip '{name}' in the library; clips: {', '.join(self.clip_names)}") from None

    def __repr__(self) -> str:
        total = float(self.clip_duration.sum())
        return f"MotionLibrary(robot={self.robot.name!r}, clips={self.num_clips}, {total:.1f} s, device={self.device})"

    # ------------------------------------------------------------------ sampling
    def sample_clips(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n,) clip indices drawn with replacement in proportion to the weights."""
        return torch.multinomial(self.weights, n, replacement=True, generator=generator)

    def sample_times(
        self, clip_ids: torch.Tensor, generator: torch.Generator | None = None, truncate_end: float = 0.0
    ) -> torch.Tensor:
        """Uniform times in ``[0, duration - truncate_end]`` (at least 0) for each clip id."""
        ids = clip_ids.to(self.device, torch.long)
        span = (self.clip_duration[ids] - truncate_end).clamp_min(0.0)
        u = torch.rand(ids.shape, generator=generator, device=self.device, dtype=self.dtype)
        return u * span

    # ------------------------------------------------------------------ queries
    def get_frames(
        self, clip_ids: torch.Tensor, times: torch.Tensor, *, bodies: bool = False, body_vel: bool = False
    ) -> MotionFrame:
        """Interpolated reference state at ``times`` (s) of clips ``clip_ids``, both of shape (B,).

        ``bodies=True`` adds body poses by forward kinematics; ``body_vel=True`` also adds exact body
        velocities from the interpolated joint velocities.
        """
        ids = clip_ids.to(self.device, torch.long).reshape(-1)
        t = times.to(self.device, self.dtype).reshape(-1)
        if ids.shape != t.shape:
            raise MotionFormatError(f"clip_ids and times must have the same length, got {ids.numel()} and {t.numel()}")
        dur = self.clip_duration[ids]
        n = self.clip_num_frames[ids]
        wrap = self.clip_wrap[ids] & (dur > 0)
        cycles = torch.where(wrap, torch.floor(t / dur.clamp_min(1e-9)), torch.zeros_like(t))
        local = torch.where(wrap, t - cycles * dur, t)
        local = torch.minimum(local.clamp_min(0.0), dur)
        f = local * self.clip_fps[ids]
        i0 = torch.minimum(torch.floor(f).long(), n - 1).clamp_min(0)
        i1 = torch.minimum(i0 + 1, n - 1)
        alpha = (f - i0.to(self.dtype)).clamp(0.0, 1.0).unsqueeze(-1)
        g0 = self.clip_start[ids] + i0
        g1 = self.clip_start[ids] + i1

        def lerp(x: torch.Tensor) -> torch.Tensor:
            a, b = x[g0], x[g1]
            return a + alpha * (b - a)

        root_pos = lerp(self.root_pos) + cycles.unsqueeze(-1) * self.clip_cycle_disp[ids]
        root_quat = quat_slerp(self.root_quat[g0], self.root_quat[g1], alpha)
        joint_pos = lerp(self.joint_pos)
        if self._ball_cols.numel():
            q0 = self.joint_pos[g0][:, self._ball_cols].reshape(ids.numel(), -1, 4)
            q1 = self.joint_pos[g1][:, self._ball_cols].reshape(ids.numel(), -1, 4)
            joint_pos[:, self._ball_cols] = quat_slerp(q0, q1, alpha.unsqueeze(-1)).reshape(ids.numel(), -1)
        frame = MotionFrame(
            root_pos=root_pos,
            root_quat=root_quat,
            joint_pos=joint_pos,
            root_lin_vel=lerp(self.root_lin_vel),
            root_ang_vel=lerp(self.root_ang_vel),
            joint_vel=lerp(self.joint_vel),
        )
        if body_vel:
            st = forward_kinematics_with_velocities(
                self.skeleton, root_pos, root_quat, joint_pos, frame.root_lin_vel, frame.root_ang_vel, frame.joint_vel
            )
            return frame._replace(body_pos=st.pos, body_quat=st.quat, body_lin_vel=st.lin_vel, body_ang_vel=st.ang_vel)
        if bodies:
            body_pos, body_quat = forward_kinematics(self.skeleton, root_pos, root_quat, joint_pos)
            return frame._replace(body_pos=body_pos, body_quat=body_quat)
        return frame

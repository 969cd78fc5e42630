"""`ReferenceWindow`: the reference frames each of N environments follows, and its pre-drawn resets.

Per env the window holds the reference at consecutive "columns" from a pointer on. When the
targets are whole control steps ahead, column j holds step (now + j): the window slides by one
column per step and is extended by ``CHUNK`` columns in one ``MotionLibrary.get_frames`` call
when it runs short (kinematics cost is mostly per call). With a target spacing other than the
control period it holds now and each target and is queried afresh every step, still in one call.

Resets take their (clip, time) draws and reference columns from a pool drawn in batches of N
(:meth:`ReferenceWindow.start`), so the few envs that end at a step rarely cost a kinematics
call of their own. Reference time of an env = its time offset (drawn at reset) + its episode time.
"""

from __future__ import annotations

from typing import Any

import torch

from mimic_lit.motion.library import MotionFrame, MotionLibrary
from mimic_lit.rotations import local_rotations, quat_to_tan_norm

__all__ = ["ReferenceWindow", "frame_to_dict"]


class ReferenceWindow:
    """Sliding per-env window of reference frames and the pool of pre-drawn reset states.

    Args:
        motion: the reference clips (on the env's device).
        parents: (B,) parent body of each body, root clamped to 0 (for local rotations).
        num_envs: N.
        control_dt: seconds per env step.
        ahead: look-ahead steps observed besides now (in multiples of ``target_dt``).
        target_dt: their spacing in seconds; ``None`` = ``control_dt``.
        rand_reset: resets start at a random clip time; otherwise at 0.
        generator: the env's generator the resets are drawn with (shared, not owned).
        dtype: float type of the frames.
    """

    CHUNK = 32  #: reference columns added per kinematics query when the window slides

    def __init__(
        self,
        motion: MotionLibrary,
        parents: torch.Tensor,
        num_envs: int,
        control_dt: float,
        ahead: list[int],
        target_dt: float | None,
        rand_reset: bool,
        generator: torch.Generator,
        dtype: torch.dtype,
    ) -> None:
        self.motion = motion
        self._parents = parents
        self._num_envs = num_envs
        self._dt = float(control_dt)
        self._rand_reset = bool(rand_reset)
        self._gen = generator
        self._dtype = dtype
        self.device = dev = parents.device
        target_dt = float(target_dt) if target_dt is not None else self._dt
        self._sliding = abs(target_dt - self._dt) < 1e-12
        cols = [0] + ahead if self._sliding else list(range(1 + len(ahead)))
        self._cols = torch.as_tensor(cols, dtype=torch.long, device=dev)  # columns of now and each target
        self._need = max(cols) + 1  # valid columns needed from the pointer on
        self._full = self._need - 1 + self.CHUNK if self._sliding else self._need  # width after a refill
        self._ahead = torch.as_tensor([0.0] + [k * target_dt for k in ahead], dtype=dtype, device=dev)

        self.clip_ids = torch.zeros(num_envs, dtype=torch.long, device=dev)  #: (N,) clip each env follows
        self.time_offset = torch.zeros(num_envs, dtype=dtype, device=dev)  #: (N,) its reference time at reset
        # The window: fields shaped (N, width, ...), local rotations with their tan-norms
        # (N, width, B - 1, 10), pointer.
        times = self.window_times(self.time_offset, torch.zeros(num_envs, dtype=torch.long, device=dev), 0, self._full)
        self._win, self._win_local = self.query(self.clip_ids, times)
        self._ptr = 0
        # Pre-drawn resets: (clips, time offsets, reference slots, local rotations), next unused.
        self._inits: tuple[torch.Tensor, torch.Tensor, MotionFrame, torch.Tensor] | None = None
        self._inits_next = 0

    # ------------------------------------------------------------------ queries
    def window_times(self, offset: torch.Tensor, steps: torch.Tensor, first: int, stop: int) -> torch.Tensor:
        """(n, stop - first) reference times of window columns ``first:stop`` of episodes with time
        offsets ``offset`` (n,) after ``steps`` (n,) control steps.

        Sliding columns are ``offset + (steps + j) dt``, so a column has bit-for-bit the same time
        whichever step queried it.
        """
        if self._sliding:
            j = torch.arange(first, stop, device=self.device)
            return offset.unsqueeze(1) + (steps.unsqueeze(1) + j).to(self._dtype) * self._dt
        return (offset + steps.to(self._dtype) * self._dt).unsqueeze(1) + self._ahead[first:stop]

    def query(self, clips: torch.Tensor, times: torch.Tensor) -> tuple[MotionFrame, torch.Tensor]:
        """Reference frames of ``clips`` (n,) at ``times`` (n, S), fields shaped (n, S, ...), in one
        library call; and their local body rotations (n, S, B - 1, 10): quaternion then tan-norm.

        The tan-norms are what the target observations show; computing them once per queried frame
        instead of at every step they are observed saves most of the target block's cost.
        """
        n, t = times.shape
        frame = self.motion.get_frames(clips.unsqueeze(1).expand(n, t).reshape(-1), times.reshape(-1), bodies=True)
        frame = MotionFrame(*(None if x is None else x.to(self._dtype).reshape((n, t) + x.shape[1:]) for x in frame))
        return frame, with_tan_norm(local_rotations(frame.body_quat, self._parents))

    def advance(self, steps: torch.Tensor) -> None:
        """Move the window to the current episode times, ``steps`` (N,) control steps after reset."""
        offset = self.time_offset
        if not self._sliding:
            self._win, self._win_local = self.query(self.clip_ids, self.window_times(offset, steps, 0, self._full))
            return
        self._ptr += 1
        have = self._win_local.shape[1] - self._ptr
        if have >= self._need:
            return
        new, new_local = self.query(self.clip_ids, self.window_times(offset, steps, have, self._full))
        p = self._ptr
        self._win = MotionFrame(*(None if x is None else torch.cat([x[:, p:], y], 1) for x, y in zip(self._win, new)))
        self._win_local = torch.cat([self._win_local[:, p:], new_local], 1)
        self._ptr = 0

    def current(self, ids: torch.Tensor | None = None) -> tuple[MotionFrame, torch.Tensor]:
        """The reference now and at each target (all envs or ``ids``), fields shaped (n, 1 + T, ...)."""
        cols = self._cols + self._ptr
        frame, local = self._win, self._win_local
        if ids is not None:
            frame = MotionFrame(*(None if x is None else x.index_select(0, ids) for x in frame))
            local = local.index_select(0, ids)
        now_and_ahead = MotionFrame(*(None if x is None else x.index_select(1, cols) for x in frame))
        return now_and_ahead, local.index_select(1, cols)

    def now(self) -> MotionFrame:
        """Copy of the reference (with body poses) every env is at now."""
        return MotionFrame(*(None if x is None else x[:, self._ptr].clone() for x in self._win))

    # ------------------------------------------------------------------ resets
    def _refill(self, size: int) -> None:
        """Draw ``size`` reference state inits (clip ~ weights, time ~ U[0, length] or 0) and query
        their reference slots in one batched call; resets consume them in order.

        Pre-drawing turns the forward kinematics of the few envs that end at each step into one
        large query every ~N/ends steps: the kinematics cost is dominated by per-call overhead.
        The draws are i.i.d., so the reset distribution is exactly MimicKit's.
        """
        clips = self.motion.sample_clips(size, generator=self._gen)
        if self._rand_reset:
            times = self.motion.sample_times(clips, generator=self._gen).to(self._dtype)
        else:
            times = torch.zeros(size, dtype=self._dtype, device=self.device)
        frame, local = self.query(clips, self.window_times(times, torch.zeros_like(clips), 0, self._full))
        self._inits = (clips, times, frame, local)
        self._inits_next = 0

    def start(self, ids: torch.Tensor) -> tuple[MotionFrame, torch.Tensor]:
        """Start new episodes in envs ``ids`` at the next pre-drawn (clip, time) draws; returns their
        reference now and at each target, fields shaped (k, 1 + T, ...)."""
        k = ids.shape[0]
        if self._inits is None or self._inits_next + k > self._inits[0].shape[0]:
            self._refill(max(k, self._num_envs))
        take = slice(self._inits_next, self._inits_next + k)
        self._inits_next += k
        clips, times, pool_frame, pool_local = self._inits
        self.clip_ids.index_copy_(0, ids, clips[take])
        self.time_offset.index_copy_(0, ids, times[take])
        # The new episodes' columns go where the pointer is; columns before it are never read.
        p, width = self._ptr, self._win_local.shape[1]
        for win, x in zip(self._win, pool_frame):
            if win is not None:
                win[:, p:].index_copy_(0, ids, x[take, : width - p])
        self._win_local[:, p:].index_copy_(0, ids, pool_local[take, : width - p])
        frame = MotionFrame(*(None if x is None else x[take].index_select(1, self._cols) for x in pool_frame))
        return frame, pool_local[take].index_select(1, self._cols)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """The window, its pointer and the pre-drawn resets (the env's keys ``reference``,
        ``reference_pointer`` and, once drawn, ``inits``); clips and offsets are the env's to save."""
        state: dict[str, Any] = {"reference": frame_to_dict(self._win, self._win_local), "reference_pointer": self._ptr}
        if self._inits is not None:
            clips, times, frame, local = self._inits
            state["inits"] = {"clips": clips.clone(), "times": times.clone(), "next": self._inits_next}
            state["inits"]["reference"] = frame_to_dict(frame, local)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (extra keys of the env's state are ignored)."""
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

    def _frame_from_dict(self, d: dict[str, torch.Tensor]) -> tuple[MotionFrame, torch.Tensor]:
        fields = {k: v.to(self.device, self._dtype).clone() for k, v in d.items() if k != "local_rot"}
        rot = d["local_rot"].to(self.device, self._dtype).clone()
        if rot.shape[-1] == 4:  # checkpoints written before the window kept tan-norms
            rot = with_tan_norm(rot)
        return MotionFrame(**fields), rot


def frame_to_dict(frame: MotionFrame, local_rot: torch.Tensor) -> dict[str, torch.Tensor]:
    """Copies of a reference frame's tensors (and its local rotations) for a checkpoint."""
    out = {name: x.clone() for name, x in frame._asdict().items() if x is not None}
    out["local_rot"] = local_rot.clone()
    return out


def with_tan_norm(local_rot: torch.Tensor) -> torch.Tensor:
    """(..., 10): local rotation quaternions (..., 4) followed by their tan-norms."""
    return torch.cat([local_rot, quat_to_tan_norm(local_rot)], dim=-1)

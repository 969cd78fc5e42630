"""``MujocoCPU``: the default backend, N MuJoCo simulations stepped in C on every CPU core.

How it works, and why:

- The N environments live in a persistent :class:`mujoco.batch.Batch` (MuJoCo >= 4.0): one state
  row (time, qpos, qvel, warm-start accelerations, controls) and one ``MjData`` per environment,
  stepped ``substeps`` times per control step on MuJoCo's own thread pool with the GIL released.
  ``mujoco.rollout`` was the first candidate; it steps as fast, but it drops the solver warm-start
  between calls and returns only states and sensors that describe the state *before* the last
  substep (as ``mj_step`` leaves them), so body states consistent with the returned qpos would
  need a second evaluation pass. The batch keeps warm-starts in its rows and ends each call with
  ``mj_step1`` at the new state (``stage=mjSTAGE_VEL``), which the next step reuses instead of
  recomputing. ``docs/benchmarks.md`` compares the two on the G1.
- Body states come from the batch's bound outputs (``xpos``, ``xquat``, ``cvel``,
  ``subtree_com``), current at the new state; ground contacts come from one MuJoCo ``contact``
  sensor per body against the world body (number of contacts and their net force) and describe
  the last physics substep. Everything is read as whole (N, ...) arrays: no Python loop over
  environments.
- After a step the physics has evicted the interpreter's data from the CPU caches, so every numpy
  or torch call costs several times its usual price. The conversion to torch is therefore one
  ``np.concatenate`` of all outputs into one fresh (N, K) array of ``dtype`` (a snapshot, never
  overwritten later); every getter is a view into it. It runs on the first getter call after a
  step or reset.
- Divergence: MuJoCo resets a simulation whose qpos/qvel/qacc turn NaN/inf/huge and records a
  warning; the simulator also checks that every qpos/qvel entry is finite and within
  ``divergence_threshold``. Any of these, or a MuJoCo error in one simulation, puts that
  environment back into the robot's default pose, flags it in :attr:`MujocoCPU.diverged` and
  counts it; the run continues.
- Optional ball (a :class:`~mimic_lit.sim.base.BallConfig` scene object): one free sphere body appended after the robot
  (:func:`mimic_lit.sim.scene.add_ball`), so its 7 qpos and 6 qvel entries and its body come last
  in the MuJoCo arrays. Every robot getter reads only the robot's slices; the ball's pose and
  velocities are extra columns of the packed array. The contact sensors (world body vs robot body)
  see only geoms attached to the world body itself (the floor), never the ball. A divergence
  puts the ball back at its default position too; :meth:`MujocoCPU.reset` leaves it alone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import mujoco
import numpy as np
import torch

from mimic_lit.sim.base import QposStateGetters, SimConfig, SimConfigError, SimulatorDescription, scene_ball
from mimic_lit.sim.mujoco_model import MujocoSceneMembers, backend_model
from mimic_lit.sim.scene import CONTACT_WIDTH

__all__ = ["MujocoCPU"]

try:  # MuJoCo >= 4.0
    from mujoco import batch as _mj_batch
except ImportError:  # pragma: no cover - exercised only with an old MuJoCo
    _mj_batch = None

_VEL = int(mujoco.mjtStage.mjSTAGE_VEL)


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class MujocoCPU(MujocoSceneMembers, QposStateGetters, SimulatorDescription):
    """N MuJoCo simulations of one robot on the CPU, batched torch tensors in and out.

    Implements :class:`mimic_lit.sim.base.Simulator`. Build it with
    ``make_simulator(SimConfig(robot="g1", num_envs=64))`` or ``MujocoCPU(SimConfig(...))``.
    ``model`` is a copy of the compiled scene (for renderers and tests; editing it does not
    change the running simulations). With a ball among ``objects`` each environment also holds a ball:
    ``has_ball``, ``ball_pos``/``ball_quat``/``ball_lin_vel``/``ball_ang_vel`` and
    :meth:`reset_ball` (:class:`mimic_lit.sim.base.BallSimulator`); every other member still
    describes the robot alone.

    Memory: one ``MjData`` per environment, about 1 MB resident each for the G1 (N=256: ~0.3 GB).
    Throughput on 2 cores (G1, 4 substeps): ~89-91 % of raw ``mujoco.rollout`` with every state
    tensor read each step; see ``docs/benchmarks.md``.
    """

    def __init__(self, config: SimConfig | None = None, objects: Sequence[object] = ()) -> None:
        if _mj_batch is None:  # pragma: no cover
            raise SimConfigError(f"the mujoco_cpu backend needs mujoco>=4.0 (found {mujoco.__version__})")
        config = config or SimConfig()
        self._configure(config)
        self._np_dtype = np.float32 if config.dtype == "float32" else np.float64
        self._ball = ball = scene_ball(objects)
        # Robot sizes: with a ball, its body, 7 qpos and 6 qvel entries come after the robot's.
        self.model, layout = backend_model(config, self._robot, self._sim_dt, ball)
        m = self.model
        self._nu, self._nq, self._nv, self._nbody = layout.nu, layout.nq, layout.nv, layout.nbody
        if ball is not None:
            self._ball_body, self._ball_q, self._ball_v = layout.ball_body, layout.ball_q, layout.ball_v
        nb = self._nbody
        self._num_envs = n = int(config.num_envs)
        nthread = config.nthread if config.nthread is not None else _available_cores()
        if nthread < 1:
            raise SimConfigError(f"nthread must be >= 1, got {nthread}")
        self._nthread = int(min(nthread, n))
        self._default_qpos = np.asarray(self._robot.default_pose, dtype=np.float64)
        # Default state rows (robot, then the ball at rest on the floor with identity rotation).
        self._default_state_qpos = self._default_qpos
        if ball is not None:
            x, y = (float(v) for v in ball.default_pos)
            self._ball_default = np.array([x, y, float(ball.radius), 1.0, 0.0, 0.0, 0.0])
            self._default_state_qpos = np.concatenate([self._default_qpos, self._ball_default])

        self._batch = b = _mj_batch.Batch(m, nsim=n, nthread=self._nthread, persistent=True)
        # State rows (writable views) and outputs refreshed by every batch call (read-only views).
        self._qpos = b.bind("qpos")
        self._qvel = b.bind("qvel")
        self._ctrl = b.bind("ctrl")
        self._warmstart = b.bind("qacc_warmstart")
        xpos, xquat, cvel = b.bind("xpos"), b.bind("xquat"), b.bind("cvel")
        subtree_com, sensordata = b.bind("subtree_com"), b.bind("sensordata")
        torque = b.bind("actuator_force") if self._nu else np.zeros((n, self.num_dofs))
        self._warnings = b.warning  # (N, mjNWARNING, 2): (last info, count); writable
        self._warnings_flat = self._warnings.reshape(n, -1)
        # qpos and qvel are adjacent in each state row: one (N, nq + nv) view holds both.
        state = b.state
        q0 = (self._qpos.__array_interface__["data"][0] - state.__array_interface__["data"][0]) // state.itemsize
        self._state_q = state[:, q0 : q0 + m.nq + m.nv]  # robot and ball: divergence checks all
        q = self._state_q
        if not (np.shares_memory(q[:, :1], self._qpos[:, :1]) and np.shares_memory(q[:, -1:], self._qvel[:, -1:])):
            raise RuntimeError("unexpected mujoco.batch state layout: qpos and qvel are not adjacent")

        # Column layout of the packed per-step array: sources in order, then the derived body
        # linear velocities. Views of the persistent output buffers, built once; a key may span
        # several sources (the robot's qpos and qvel, which a ball's entries separate).
        if ball is None:
            q_sources = [self._state_q]
        else:
            q_sources = [self._qpos[:, : self._nq], self._qvel[:, : self._nv]]
        sources: dict[str, list[np.ndarray]] = {
            "q": q_sources,
            "xpos": [xpos.reshape(n, -1)[:, 3 : 3 + 3 * nb]],
            "xquat": [xquat.reshape(n, -1)[:, 4 : 4 + 4 * nb]],
            "cvel": [cvel.reshape(n, -1)[:, 6 : 6 + 6 * nb]],
            "com": [subtree_com[:, 1]],  # every body's cvel is taken about its tree root's COM
            "contact": [sensordata],
            "torque": [torque],
        }
        if ball is not None:
            bv = self._ball_v
            sources["ball_pos"] = [xpos[:, self._ball_body]]
            sources["ball_quat"] = [xquat[:, self._ball_body]]
            sources["ball_lin_vel"] = [self._qvel[:, bv : bv + 3]]  # free joint: world frame
            sources["ball_ang_vel"] = [cvel[:, self._ball_body, 0:3]]  # world frame (qvel's is local)
        self._pack_sources = [src for srcs in sources.values() for src in srcs]
        self._col: dict[str, tuple[int, int]] = {}
        col = 0
        for key, srcs in sources.items():
            width = sum(src.shape[1] for src in srcs)
            self._col[key] = (col, col + width)
            col += width
        self._pack_width = col
        self._col["lin_vel"] = (col, col + 3 * nb)
        self._width = col + 3 * nb
        if self._col["contact"][1] - self._col["contact"][0] != CONTACT_WIDTH * nb:
            raise RuntimeError("unexpected sensor layout: one contact sensor per body expected")

        self._stale_acc = np.zeros(n, dtype=bool)  # contacts/torques not computed since a reset
        self._any_stale = False
        self._pending = np.zeros(n, dtype=bool)  # rows written, derived outputs not yet recomputed
        self._any_pending = False
        self._no_divergence = np.zeros(n, dtype=bool)
        self._no_divergence.flags.writeable = False
        self._diverged_np = self._no_divergence
        self._diverged_count = 0
        self._packed: np.ndarray | None = None
        self._packed_t: torch.Tensor | None = None
        self._views: dict[str, torch.Tensor] = {}

        self._qpos[:] = self._default_state_qpos
        self._qvel[:] = 0.0
        self._warmstart[:] = 0.0
        self._ctrl[:] = self._default_qpos[7:] if config.control_mode == "pos" else 0.0
        self._forward(None)
        self._warnings[...] = 0
        self._stale_acc[:] = True
        self._any_stale = True

    # ------------------------------------------------------------------ description
    @property
    def nthread(self) -> int:
        return self._nthread

    # ------------------------------------------------------------------ control
    def _invalidate(self) -> None:
        self._packed = None
        self._packed_t = None
        self._views.clear()

    def _forward(self, ids: np.ndarray | None) -> None:
        """Position and velocity stages at the current state rows of ``ids`` (sorted, or None = all)."""
        try:
            self._batch.forward(ids, stage=_VEL)
        except _mj_batch.SimulationError as exc:  # a MuJoCo error in some simulations: default pose
            failed = np.asarray(exc.ids, dtype=np.int64)
            self._diverged_count += int(failed.size)
            self._reset_to_default(failed)
            self._flush()

    def _flush(self) -> None:
        """Recompute the derived outputs (bodies) of rows written by resets, all in one batch call.

        Deferred until a getter needs them: a reset followed directly by :meth:`step` skips it,
        since stepping recomputes everything from the rows anyway.
        """
        if self._any_pending:
            ids = np.flatnonzero(self._pending)
            self._pending[:] = False
            self._any_pending = False
            self._forward(ids)

    def _reset_to_default(self, ids: np.ndarray) -> None:
        self._qpos[ids] = self._default_state_qpos  # the ball too, if any
        self._qvel[ids] = 0.0
        self._warmstart[ids] = 0.0
        self._warnings[ids] = 0
        self._stale_acc[ids] = True
        self._any_stale = True
        self._pending[ids] = True
        self._any_pending = True

    def _rows(self, x, k: int, width: int, name: str) -> np.ndarray:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape != (k, width):
            raise SimConfigError(f"{name} must have shape ({k}, {width}), got {tuple(arr.shape)}")
        return arr

    def _env_rows(
        self, env_ids, rows: dict[str, tuple[object, int]]
    ) -> tuple[np.ndarray, dict[str, np.ndarray | None]]:
        """Validated, sorted, unique ``env_ids`` as an array, and the (k, width) float64 arrays of
        ``rows`` (name -> (value or None, width)) in the same order; no arrays (``{}``) if k = 0."""
        if isinstance(env_ids, torch.Tensor):
            env_ids = env_ids.detach().cpu().numpy()
        ids = np.asarray(env_ids)
        if ids.ndim != 1 or not (ids.dtype.kind in "iu" or ids.size == 0):
            raise SimConfigError(f"env_ids must be a 1-D integer index tensor, got shape {ids.shape} dtype {ids.dtype}")
        k = ids.size
        if k == 0:
            return ids, {}
        arrays = {name: None if x is None else self._rows(x, k, width, name) for name, (x, width) in rows.items()}
        if k > 1 and not (ids[1:] > ids[:-1]).all():  # the batch wants sorted, unique ids
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            arrays = {name: None if a is None else a[order] for name, a in arrays.items()}
            if not (ids[1:] > ids[:-1]).all():
                raise SimConfigError("env_ids must not repeat an environment")
        if ids[0] < 0 or ids[-1] >= self._num_envs:
            raise SimConfigError(f"env_ids must lie in [0, {self._num_envs}), got {ids[0]}..{ids[-1]}")
        return ids, arrays

    def _mark_written(self, ids: np.ndarray) -> None:
        self._pending[ids] = True
        self._any_pending = True
        self._invalidate()

    def reset(self, env_ids, qpos, qvel=None) -> None:
        """Set environments ``env_ids`` (k,) to ``qpos`` (k, nq) and ``qvel`` (k, nv; default zero).

        ``qpos``/``qvel`` are the robot's (without a ball's entries); a ball stays where it is (see
        :meth:`reset_ball`). Values are not checked for NaN: a non-finite state is caught as a
        divergence by the next :meth:`step`. Contacts and joint torques of the reset environments
        read as zero until then.
        """
        ids, rows = self._env_rows(env_ids, {"qpos": (qpos, self._nq), "qvel": (qvel, self._nv)})
        if not rows:
            return
        nq, nv = self._nq, self._nv
        self._qpos[ids, :nq] = rows["qpos"]
        self._qvel[ids, :nv] = 0.0 if rows["qvel"] is None else rows["qvel"]
        self._warmstart[ids, :nv] = 0.0
        self._stale_acc[ids] = True
        self._any_stale = True
        self._mark_written(ids)

    def reset_ball(self, env_ids, pos, lin_vel=None, ang_vel=None) -> None:
        """Put the ball of environments ``env_ids`` (k,) at ``pos`` (k, 3), identity rotation,
        with linear velocity ``lin_vel`` (k, 3) and angular velocity ``ang_vel`` (k, 3), both in
        the world frame; ``None`` means zero (at rest). Robots and other environments are untouched.
        """
        self._require_ball()
        ids, rows = self._env_rows(env_ids, {"pos": (pos, 3), "lin_vel": (lin_vel, 3), "ang_vel": (ang_vel, 3)})
        if not rows:
            return
        q, v = self._ball_q, self._ball_v
        self._qpos[ids, q : q + 3] = rows["pos"]
        self._qpos[ids, q + 3 : q + 7] = (1.0, 0.0, 0.0, 0.0)
        # A free joint's qvel holds the linear velocity in the world frame and the angular velocity
        # in the body frame, which the identity rotation makes the world frame too.
        self._qvel[ids, v : v + 3] = 0.0 if rows["lin_vel"] is None else rows["lin_vel"]
        self._qvel[ids, v + 3 : v + 6] = 0.0 if rows["ang_vel"] is None else rows["ang_vel"]
        self._warmstart[ids, v : v + 6] = 0.0
        self._mark_written(ids)

    def _set_controls(self, actions) -> None:
        if self._nu == 0:  # control_mode "none": actions are ignored
            return
        if isinstance(actions, torch.Tensor):
            actions = actions.detach()
            if actions.device.type != "cpu":
                actions = actions.cpu()
            shape = tuple(actions.shape)
            actions = actions.numpy()
        else:
            actions = np.asarray(actions)
            shape = actions.shape
        if shape != self._ctrl.shape:
            raise SimConfigError(f"actions must have shape {self._ctrl.shape}, got {shape}")
        self._ctrl[...] = actions  # numpy casts to float64 in place

    def step(self, actions) -> None:
        """Hold ``actions`` (N, D) for ``substeps`` physics steps in every environment."""
        self._set_controls(actions)
        if self._any_pending:  # the step recomputes those rows from scratch
            self._pending[:] = False
            self._any_pending = False
        failed = None
        try:
            self._batch.step(nstep=self._substeps, stage=_VEL)
        except _mj_batch.SimulationError as exc:  # those keep their pre-step state; reset below
            failed = np.asarray(exc.ids, dtype=np.int64)
        if self._any_stale:
            self._stale_acc[:] = False
            self._any_stale = False
        self._invalidate()
        self._check_divergence(failed)

    def _check_divergence(self, failed: np.ndarray | None) -> None:
        # Runs every step on data the physics threads just wrote, so it is a few whole-array
        # reductions without temporaries; the per-env masks are built only when something is off.
        q, limit = self._state_q, self.config.divergence_threshold
        warned = self._warnings_flat  # MuJoCo already reset these itself (bad qpos/qvel/qacc ...)
        if failed is None and q.max() <= limit and q.min() >= -limit and not warned.any():  # NaN fails
            self._diverged_np = self._no_divergence
            return
        bad = warned.any(axis=1) | ~(np.abs(q) <= limit).all(axis=1)
        if failed is not None:
            bad[failed] = True
        ids = np.flatnonzero(bad)
        self._diverged_np = bad
        self._diverged_count += int(ids.size)
        if ids.size:
            self._reset_to_default(ids)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, object]:
        """Everything needed to continue bit-identically: the integration state of every simulation
        (time, qpos, qvel, controls, warm-start, ...), the current output snapshot (contacts and
        torques describe the last substep, so they cannot be recomputed from the state) and counters.
        """
        packed = self._pack().copy()
        # Body linear velocities are filled lazily on the CPU; fill them in the copy so that the
        # checkpoint never holds the uninitialised memory of an unread column.
        self._compute_lin_vel(packed)
        state: dict[str, object] = {
            "robot": self._robot.name,
            "num_envs": self._num_envs,
            "batch_state": torch.from_numpy(self._batch.state.copy()),  # robot and ball, if any
            "packed": torch.from_numpy(packed),
            "stale": torch.from_numpy(self._stale_acc.copy()),
            "diverged": torch.from_numpy(np.asarray(self._diverged_np).copy()),
            "diverged_count": self._diverged_count,
        }
        if self._ball is not None:
            state["ball"] = True
        return state

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` taken from a simulator with the same robot and ``num_envs``."""
        if state["robot"] != self._robot.name or int(state["num_envs"]) != self._num_envs:  # type: ignore[arg-type]
            raise SimConfigError(
                f"simulator state is for robot '{state['robot']}' with {state['num_envs']} envs, "
                f"this simulator has '{self._robot.name}' with {self._num_envs}"
            )
        if bool(state.get("ball", False)) != self.has_ball:
            have = "has" if self.has_ball else "has no"
            raise SimConfigError(f"simulator state and simulator disagree on the ball: this simulator {have} ball")
        rows = np.asarray(state["batch_state"], dtype=np.float64)
        if rows.shape != self._batch.state.shape:
            raise SimConfigError(f"simulator state rows have shape {rows.shape}, expected {self._batch.state.shape}")
        self._batch.state[...] = rows
        self._forward(None)  # derived position/velocity outputs, as the last step left them
        self._pending[:] = False
        self._any_pending = False
        self._stale_acc[:] = np.asarray(state["stale"], dtype=bool)
        self._any_stale = bool(self._stale_acc.any())
        diverged = np.asarray(state["diverged"], dtype=bool)
        self._diverged_np = diverged if diverged.any() else self._no_divergence
        self._diverged_count = int(state["diverged_count"])  # type: ignore[arg-type]
        self._invalidate()
        self._packed = np.asarray(state["packed"], dtype=self._np_dtype).copy()

    # ------------------------------------------------------------------ tensor conversion
    def _pack(self) -> np.ndarray:
        """All outputs of the current state in one fresh (N, K) array of ``dtype`` (see module doc)."""
        packed = self._packed
        if packed is None:
            self._flush()
            packed = np.empty((self._num_envs, self._width), dtype=self._np_dtype)
            np.concatenate(self._pack_sources, axis=1, out=packed[:, : self._pack_width], casting="same_kind")
            if self._any_stale:
                c0, c1 = self._col["contact"]
                t0, t1 = self._col["torque"]
                packed[self._stale_acc, c0:c1] = 0.0
                packed[self._stale_acc, t0:t1] = 0.0
            if self._device.type != "cpu":  # the copy on the device cannot be completed later
                self._compute_lin_vel(packed)
            self._packed = packed
        return packed

    def _tensor(self) -> torch.Tensor:
        t = self._packed_t
        if t is None:
            t = torch.from_numpy(self._pack())
            if self._device.type != "cpu":
                t = t.to(self._device)
            self._packed_t = t
        return t

    def _view(self, key: str) -> torch.Tensor:
        """Columns ``key`` of the packed tensor, shaped (N, B, w) for per-body blocks."""
        v = self._views.get(key)
        if v is None:
            c0, c1 = self._col[key]
            v = self._tensor()[:, c0:c1]
            if key in ("xpos", "xquat", "cvel", "contact", "lin_vel"):
                v = v.view(self._num_envs, self._nbody, -1)
            self._views[key] = v
        return v

    @property
    def qpos(self) -> torch.Tensor:
        return self._view("q")[:, : self._nq]

    @property
    def qvel(self) -> torch.Tensor:
        return self._view("q")[:, self._nq :]

    @property
    def root_ang_vel(self) -> torch.Tensor:
        return self._view("cvel")[:, 0, 0:3]

    @property
    def body_pos(self) -> torch.Tensor:
        return self._view("xpos")

    @property
    def body_quat(self) -> torch.Tensor:
        return self._view("xquat")

    @property
    def body_ang_vel(self) -> torch.Tensor:
        return self._view("cvel")[..., 0:3]

    @property
    def body_lin_vel(self) -> torch.Tensor:
        v = self._views.get("lin_vel")
        if v is None:
            if self._device.type == "cpu":  # the packed tensor shares memory with the array
                self._compute_lin_vel(self._pack())
            v = self._view("lin_vel")
        return v

    def _compute_lin_vel(self, p: np.ndarray) -> None:
        # cvel's linear part is the velocity of the body-fixed point at the tree's centre of mass;
        # at the body origin: v = v_c + w x (x - c). Per-component strided views of the packed
        # array keep this to a dozen whole-array operations, written in place.
        nb = self._nbody
        cv, xp, lv, cm = self._col["cvel"][0], self._col["xpos"][0], self._col["lin_vel"][0], self._col["com"][0]
        w = [p[:, cv + i : cv + 6 * nb : 6] for i in range(3)]
        v = [p[:, cv + 3 + i : cv + 6 * nb : 6] for i in range(3)]
        r = [p[:, xp + i : xp + 3 * nb : 3] - p[:, cm + i : cm + i + 1] for i in range(3)]
        out = [p[:, lv + i : lv + 3 * nb : 3] for i in range(3)]
        for i in range(3):
            j, k = (i + 1) % 3, (i + 2) % 3
            np.multiply(w[j], r[k], out=out[i])
            out[i] -= w[k] * r[j]
            out[i] += v[i]

    # ------------------------------------------------------------------ ball (a BallConfig scene object)
    def _ball_view(self, key: str) -> torch.Tensor:
        self._require_ball()
        return self._view(key)

    @property
    def ball_pos(self) -> torch.Tensor:
        """(N, 3) ball centre position."""
        return self._ball_view("ball_pos")

    @property
    def ball_quat(self) -> torch.Tensor:
        """(N, 4) ball orientation, w x y z."""
        return self._ball_view("ball_quat")

    @property
    def ball_lin_vel(self) -> torch.Tensor:
        """(N, 3) ball centre linear velocity, world frame."""
        return self._ball_view("ball_lin_vel")

    @property
    def ball_ang_vel(self) -> torch.Tensor:
        """(N, 3) ball angular velocity, world frame."""
        return self._ball_view("ball_ang_vel")

    @property
    def contact_forces(self) -> torch.Tensor:
        return self._view("contact")[..., 1:4]

    @property
    def ground_contact(self) -> torch.Tensor:
        v = self._views.get("ground_contact")
        if v is None:
            c0, c1 = self._col["contact"]
            v = torch.from_numpy(self._pack()[:, c0:c1:CONTACT_WIDTH] > 0).to(self._device)
            self._views["ground_contact"] = v
        return v

    @property
    def joint_torque(self) -> torch.Tensor:
        return self._view("torque")

    # ------------------------------------------------------------------ health
    @property
    def diverged(self) -> torch.Tensor:
        return torch.from_numpy(self._diverged_np.copy()).to(self._device)  # a copy: the array is reused

    @property
    def diverged_count(self) -> int:
        return self._diverged_count

    def __repr__(self) -> str:
        return (
            f"MujocoCPU(robot={self._robot.name!r}, num_envs={self._num_envs}, control_mode={self.control_mode!r}, "
            f"control_dt={self._control_dt:g}, substeps={self._substeps}, nthread={self._nthread})"
        )

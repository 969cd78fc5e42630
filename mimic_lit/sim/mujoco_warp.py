"""``MujocoWarp``: N copies of the robot stepped by MuJoCo-Warp (NVIDIA Warp kernels), on a GPU.

Optional backend (``pip install 'mimic-lit[gpu]'``; select with ``sim.backend: mujoco_warp``).

How it works, and why:

- The scene is the same compiled ``MjModel`` the CPU backend steps (:func:`build_sim_model`: robot
  MJCF, floor, PD actuators with the robot's gains, one ground ``contact`` sensor per body), copied
  once to the device with ``mujoco_warp.put_model``; all N worlds live in one ``mujoco_warp.Data``.
  Tasks therefore see the same bodies, joints, gains and contact semantics on both backends.
- Tensors are shared with torch, not copied: ``warp.to_torch`` views the Warp arrays (qpos, qvel,
  ctrl, body poses, sensor data ...) in place, on the same device. Actions are written into the
  ``ctrl`` view; state getters return snapshots (one clone per step, as the protocol requires) of
  those views, converted to ``SimConfig.dtype``.
- One :meth:`MujocoWarp.step` runs ``substeps`` ``mujoco_warp.step`` calls, then the position and
  velocity stages at the new state (kinematics, centre of mass, body velocities), so body states
  describe the returned ``qpos``/``qvel`` exactly as on the CPU backend. Contacts and actuator
  torques describe the last physics substep, also as on the CPU. On CUDA the whole sequence is
  captured once into a CUDA graph and replayed on torch's current stream.
- Resets write rows of the shared views and zero the solver warm-start of those worlds; the
  position/velocity stages run lazily for all worlds before the next read (they are pure functions
  of qpos/qvel, so untouched worlds are unchanged).
- Divergence: any non-finite or too large (``divergence_threshold``) qpos/qvel entry puts that
  world back into the default pose, flags it in :attr:`MujocoWarp.diverged` and counts it.
- Precision: MuJoCo-Warp computes in float32, so trajectories agree with the float64 CPU backend
  only to float32 accuracy, and chaotic contact phases drift apart over time
  (``tests/test_sim_mujoco_warp.py`` bounds the difference over a few control steps).
- On a machine without CUDA, Warp runs its kernels on the CPU: correct but about 100 times slower
  than MuJoCo C, with a long first compile (about 1-2 min for the G1, cached in ``~/.cache/warp``).
  It exists for testing; train on the CPU with ``mujoco_cpu``.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np
import torch

try:
    import mujoco_warp as mjw
    import warp as wp
except ImportError as exc:  # make_simulator turns this into the install hint
    raise ImportError(f"the mujoco_warp backend needs the 'mujoco-warp' package ({exc})") from exc

wp.config.log_level = wp.LOG_WARNING  # no line per loaded kernel module on every run

from mimic_lit.sim.base import QposStateGetters, SimConfig, SimConfigError, SimulatorDescription, scene_ball
from mimic_lit.sim.mujoco_model import MujocoSceneMembers, backend_model, body_origin_velocity
from mimic_lit.sim.scene import CONTACT_WIDTH

#: contacts allocated per world; a humanoid on flat ground uses a few dozen at most
CONTACTS_PER_WORLD = 64


def _warp_device(device: torch.device) -> str:
    if device.type == "cpu":
        return "cpu"
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    raise SimConfigError(f"the mujoco_warp backend runs on 'cpu' or 'cuda' devices, got {device}")


class MujocoWarp(MujocoSceneMembers, QposStateGetters, SimulatorDescription):
    """N MuJoCo-Warp worlds of one robot; batched torch tensors in and out, on the GPU if asked.

    Implements :class:`mimic_lit.sim.base.Simulator` (and the ball members of
    :class:`~mimic_lit.sim.base.BallSimulator`). ``SimConfig.device`` picks the device of both the
    physics and the tensors (``cuda`` for real use); ``SimConfig.nthread`` is ignored.
    """

    def __init__(self, config: SimConfig | None = None, objects: Sequence[object] = ()) -> None:
        config = config or SimConfig()
        self._configure(config)
        if self._device.type == "cuda" and not torch.cuda.is_available():
            raise SimConfigError(f"device {config.device!r} requested but torch sees no CUDA device")
        self._wp_device = _warp_device(self._device)
        self._ball = ball = scene_ball(objects)
        self.model, layout = backend_model(config, self._robot, self._sim_dt, ball)
        m = self.model
        self._layout = layout
        self._nq, self._nv, self._nbody, self._nu = layout.nq, layout.nv, layout.nbody, layout.nu
        self._num_envs = n = int(config.num_envs)

        host = mujoco.MjData(m)
        default = np.asarray(self._robot.default_pose, dtype=np.float64)
        self._default_qpos = default
        host.qpos[: self._nq] = default
        if ball is not None:
            x, y = (float(v) for v in ball.default_pos)
            host.qpos[layout.ball_q :] = (x, y, float(ball.radius), 1.0, 0.0, 0.0, 0.0)
        if config.control_mode == "pos":
            host.ctrl[:] = default[7:]
        mujoco.mj_forward(m, host)
        with wp.ScopedDevice(self._wp_device):
            self._wm = mjw.put_model(m)
            self._wd = d = mjw.put_data(
                m, host, nworld=n, nconmax=CONTACTS_PER_WORLD, njmax=4 * CONTACTS_PER_WORLD + 2 * m.nv
            )
        # Zero-copy torch views of the Warp arrays (float32, on the physics device).
        view = wp.to_torch
        self._qpos, self._qvel, self._ctrl = view(d.qpos), view(d.qvel), view(d.ctrl)
        self._warmstart = view(d.qacc_warmstart)
        self._xpos, self._xquat, self._cvel = view(d.xpos), view(d.xquat), view(d.cvel)
        self._com, self._sensordata, self._torque = view(d.subtree_com), view(d.sensordata), view(d.actuator_force)
        if self._sensordata.shape[1] != CONTACT_WIDTH * self._nbody:
            raise RuntimeError("unexpected sensor layout: one contact sensor per robot body expected")
        self._default_row = torch.as_tensor(host.qpos.copy(), dtype=torch.float32, device=self._device)

        self._stale = torch.ones(n, dtype=torch.bool, device=self._device)  # no contacts since reset
        self._needs_forward = False
        self._diverged_t = torch.zeros(n, dtype=torch.bool, device=self._device)
        self._diverged_count = 0
        self._snap: dict[str, torch.Tensor] | None = None
        self._graph = None  # CUDA graph of one control step, captured on first use
        self._stream: torch.cuda.Stream | None = None  # CUDA only: the stream Warp launches on

    # ------------------------------------------------------------------ physics launches
    def _scope(self):
        """Where Warp launches: on CUDA, the simulator's own torch stream (graph capture cannot use
        the default stream); on the CPU, the CPU device."""
        if self._device.type == "cuda":
            if self._stream is None:
                self._stream = torch.cuda.Stream(self._device)
            return wp.ScopedStream(wp.stream_from_torch(self._stream))
        return wp.ScopedDevice(self._wp_device)

    def _launch(self, work) -> None:
        """Run ``work()`` ordered after torch's pending writes and before torch's later reads."""
        if self._device.type != "cuda":
            with self._scope():
                work()
            return
        scope = self._scope()
        caller = torch.cuda.current_stream(self._device)
        self._stream.wait_stream(caller)  # actions and resets written by torch come first
        with scope:
            work()
        caller.wait_stream(self._stream)  # getters read after the physics

    def _position_velocity_stages(self) -> None:
        mjw.kinematics(self._wm, self._wd)
        mjw.com_pos(self._wm, self._wd)
        mjw.com_vel(self._wm, self._wd)

    def _control_step(self) -> None:
        for _ in range(self._substeps):
            mjw.step(self._wm, self._wd)
        self._position_velocity_stages()

    def _graph_step(self) -> None:
        if self._graph is None:
            self._control_step()  # this step also compiles and loads every kernel
            with wp.ScopedCapture() as capture:  # recorded only, not executed
                self._control_step()
            self._graph = capture.graph
        else:
            wp.capture_launch(self._graph)

    def _run_step(self) -> None:
        self._launch(self._graph_step if self._device.type == "cuda" else self._control_step)

    def _forward_if_needed(self) -> None:
        if self._needs_forward:
            self._launch(self._position_velocity_stages)
            self._needs_forward = False

    # ------------------------------------------------------------------ control
    def _ids(self, env_ids) -> torch.Tensor:
        ids = torch.as_tensor(env_ids, device=self._device)
        if ids.ndim != 1 or (ids.numel() and ids.dtype in (torch.float16, torch.float32, torch.float64, torch.bool)):
            raise SimConfigError(f"env_ids must be a 1-D integer index tensor, got shape {tuple(ids.shape)} dtype {ids.dtype}")
        ids = ids.long()
        if ids.numel():
            if int(ids.min()) < 0 or int(ids.max()) >= self._num_envs:
                raise SimConfigError(f"env_ids must lie in [0, {self._num_envs}), got {int(ids.min())}..{int(ids.max())}")
            if torch.unique(ids).numel() != ids.numel():
                raise SimConfigError("env_ids must not repeat an environment")
        return ids

    def _rows(self, x, k: int, width: int, name: str) -> torch.Tensor | None:
        if x is None:
            return None
        t = torch.as_tensor(x, device=self._device, dtype=torch.float32)
        if tuple(t.shape) != (k, width):
            raise SimConfigError(f"{name} must have shape ({k}, {width}), got {tuple(t.shape)}")
        return t

    def _written(self, ids: torch.Tensor) -> None:
        self._stale[ids] = True
        self._needs_forward = True
        self._snap = None

    def reset(self, env_ids, qpos, qvel=None) -> None:
        """Set worlds ``env_ids`` (k,) to ``qpos`` (k, nq) and ``qvel`` (k, nv; default zero); a ball stays put."""
        ids = self._ids(env_ids)
        k = ids.numel()
        q, v = self._rows(qpos, k, self._nq, "qpos"), self._rows(qvel, k, self._nv, "qvel")
        if k == 0:
            return
        self._qpos[ids, : self._nq] = q
        self._qvel[ids, : self._nv] = 0.0 if v is None else v
        self._warmstart[ids, : self._nv] = 0.0
        self._written(ids)

    def reset_ball(self, env_ids, pos, lin_vel=None, ang_vel=None) -> None:
        """Put the ball of worlds ``env_ids`` at ``pos`` (k, 3), identity rotation, given world velocities."""
        self._require_ball()
        ids = self._ids(env_ids)
        k = ids.numel()
        p = self._rows(pos, k, 3, "pos")
        lv, av = self._rows(lin_vel, k, 3, "lin_vel"), self._rows(ang_vel, k, 3, "ang_vel")
        if k == 0:
            return
        q, v = self._layout.ball_q, self._layout.ball_v
        self._qpos[ids, q : q + 3] = p
        self._qpos[ids, q + 3 : q + 7] = torch.tensor([1.0, 0.0, 0.0, 0.0], device=self._device)
        self._qvel[ids, v : v + 3] = 0.0 if lv is None else lv
        self._qvel[ids, v + 3 : v + 6] = 0.0 if av is None else av  # identity rotation: body = world frame
        self._warmstart[ids, v : v + 6] = 0.0
        self._written(ids)

    def step(self, actions) -> None:
        """Hold ``actions`` (N, D) for ``substeps`` physics steps in every world."""
        if self._nu:
            a = torch.as_tensor(actions)
            if tuple(a.shape) != tuple(self._ctrl.shape):
                raise SimConfigError(f"actions must have shape {tuple(self._ctrl.shape)}, got {tuple(a.shape)}")
            self._ctrl.copy_(a.detach())
        self._needs_forward = False  # stepping recomputes everything from the state rows
        self._run_step()
        self._stale.zero_()
        self._snap = None
        self._check_divergence()

    def _check_divergence(self) -> None:
        state = torch.cat([self._qpos, self._qvel], dim=1)
        bad = ~(state.abs() <= self.config.divergence_threshold).all(dim=1)  # NaN fails the comparison
        count = int(bad.sum())
        self._diverged_t = bad
        if count:
            self._diverged_count += count
            self._qpos[bad] = self._default_row
            self._qvel[bad] = 0.0
            self._warmstart[bad] = 0.0
            self._written(bad.nonzero().squeeze(1))

    # ------------------------------------------------------------------ state snapshots
    def _snapshot(self) -> dict[str, torch.Tensor]:
        snap = self._snap
        if snap is None:
            self._forward_if_needed()
            nb, dt = self._nbody, self._dtype
            snap = {
                "qpos": self._qpos[:, : self._nq].to(dt, copy=True),
                "qvel": self._qvel[:, : self._nv].to(dt, copy=True),
                "xpos": self._xpos[:, 1 : 1 + nb].to(dt, copy=True),
                "xquat": self._xquat[:, 1 : 1 + nb].to(dt, copy=True),
                "cvel": self._cvel[:, 1 : 1 + nb].to(dt, copy=True),
                "com": self._com[:, 1].to(dt, copy=True),
                "contact": self._sensordata.view(self._num_envs, nb, CONTACT_WIDTH).to(dt, copy=True),
                "torque": self._torque.to(dt, copy=True)
                if self._nu
                else torch.zeros(self._num_envs, self.num_dofs, dtype=dt, device=self._device),
            }
            if self._stale.any():  # reset worlds: no contact or torque until they step
                snap["contact"][self._stale] = 0.0
                snap["torque"][self._stale] = 0.0
            if self._ball is not None:
                b, v = self._layout.ball_body, self._layout.ball_v
                snap["ball_pos"] = self._xpos[:, b].to(dt, copy=True)
                snap["ball_quat"] = self._xquat[:, b].to(dt, copy=True)
                snap["ball_lin_vel"] = self._qvel[:, v : v + 3].to(dt, copy=True)
                snap["ball_ang_vel"] = self._cvel[:, b, 0:3].to(dt, copy=True)
            self._snap = snap
        return snap

    @property
    def qpos(self) -> torch.Tensor:
        return self._snapshot()["qpos"]

    @property
    def qvel(self) -> torch.Tensor:
        return self._snapshot()["qvel"]

    @property
    def root_ang_vel(self) -> torch.Tensor:
        return self._snapshot()["cvel"][:, 0, 0:3]

    @property
    def body_pos(self) -> torch.Tensor:
        return self._snapshot()["xpos"]

    @property
    def body_quat(self) -> torch.Tensor:
        return self._snapshot()["xquat"]

    @property
    def body_ang_vel(self) -> torch.Tensor:
        return self._snapshot()["cvel"][..., 0:3]

    @property
    def body_lin_vel(self) -> torch.Tensor:
        snap = self._snapshot()
        if "lin_vel" not in snap:
            snap["lin_vel"] = body_origin_velocity(snap["cvel"], snap["xpos"], snap["com"])
        return snap["lin_vel"]

    @property
    def contact_forces(self) -> torch.Tensor:
        return self._snapshot()["contact"][..., 1:4]

    @property
    def ground_contact(self) -> torch.Tensor:
        return self._snapshot()["contact"][..., 0] > 0

    @property
    def joint_torque(self) -> torch.Tensor:
        return self._snapshot()["torque"]

    # ------------------------------------------------------------------ ball
    def _ball_value(self, key: str) -> torch.Tensor:
        self._require_ball()
        return self._snapshot()[key]

    @property
    def ball_pos(self) -> torch.Tensor:
        return self._ball_value("ball_pos")

    @property
    def ball_quat(self) -> torch.Tensor:
        return self._ball_value("ball_quat")

    @property
    def ball_lin_vel(self) -> torch.Tensor:
        return self._ball_value("ball_lin_vel")

    @property
    def ball_ang_vel(self) -> torch.Tensor:
        return self._ball_value("ball_ang_vel")

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, object]:
        """Integration state of every world (qpos, qvel, warm-start, controls, time), the current
        output snapshot (contacts describe the last substep) and counters."""
        snap = self._snapshot()
        return {
            "backend": "mujoco_warp",
            "robot": self._robot.name,
            "num_envs": self._num_envs,
            "ball": self._ball is not None,
            "qpos": self._qpos.cpu().clone(),
            "qvel": self._qvel.cpu().clone(),
            "qacc_warmstart": self._warmstart.cpu().clone(),
            "ctrl": self._ctrl.cpu().clone(),
            "time": wp.to_torch(self._wd.time).cpu().clone(),
            "snapshot": {k: v.cpu().clone() for k, v in snap.items()},
            "stale": self._stale.cpu().clone(),
            "diverged": self._diverged_t.cpu().clone(),
            "diverged_count": self._diverged_count,
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` of a ``mujoco_warp`` simulator with the same robot and size."""
        if state.get("backend") != "mujoco_warp":
            raise SimConfigError(
                f"simulator state is from the {state.get('backend', 'mujoco_cpu')} backend; "
                "checkpoints continue only on the backend that wrote them"
            )
        if state["robot"] != self._robot.name or int(state["num_envs"]) != self._num_envs:  # type: ignore[arg-type]
            raise SimConfigError(
                f"simulator state is for robot '{state['robot']}' with {state['num_envs']} envs, "
                f"this simulator has '{self._robot.name}' with {self._num_envs}"
            )
        if bool(state["ball"]) != self.has_ball:
            raise SimConfigError("simulator state and simulator disagree on the ball")
        for key, dst in (("qpos", self._qpos), ("qvel", self._qvel), ("qacc_warmstart", self._warmstart), ("ctrl", self._ctrl)):
            dst.copy_(torch.as_tensor(state[key]).to(dst.device))
        time = wp.to_torch(self._wd.time)
        time.copy_(torch.as_tensor(state["time"]).to(time.device))
        self._needs_forward = True
        self._forward_if_needed()
        self._stale.copy_(torch.as_tensor(state["stale"]).to(self._device))
        self._diverged_t = torch.as_tensor(state["diverged"]).to(self._device)
        self._diverged_count = int(state["diverged_count"])  # type: ignore[arg-type]
        self._snap = {k: torch.as_tensor(v).to(self._device) for k, v in state["snapshot"].items()}  # type: ignore[union-attr]

    # ------------------------------------------------------------------ health
    @property
    def diverged(self) -> torch.Tensor:
        return self._diverged_t.clone()

    @property
    def diverged_count(self) -> int:
        return self._diverged_count

    def __repr__(self) -> str:
        return (
            f"MujocoWarp(robot={self._robot.name!r}, num_envs={self._num_envs}, control_mode={self.control_mode!r}, "
            f"control_dt={self._control_dt:g}, substeps={self._substeps}, device={str(self._device)!r})"
        )

"""``IsaacLabSim``: the ``isaaclab`` backend, N robots in NVIDIA Isaac Lab (PhysX), batched torch in/out.

.. warning::
    Written against the public API of **Isaac Lab 2.3** (Isaac Sim 5.x, PhysX, torch tensors,
    quaternions w x y z; ``isaaclab>=2.3`` in the ``isaaclab`` extra). Isaac Lab 3.x returns warp
    arrays with x y z w quaternions and is refused at construction. CI cannot install Isaac Lab
    (it needs Python 3.12, Isaac Sim and an RTX GPU), so this module has **never been run by the
    project**: its tests (``tests/test_sim_isaaclab.py``) run only where ``import isaaclab`` works.

How it maps the :class:`~mimic_lit.sim.base.Simulator` contract onto Isaac Lab:

- The process needs a running Isaac Sim app before ``isaaclab.sim`` can be imported. The first
  construction starts one headless (``isaaclab.app.AppLauncher``) unless the process already runs
  it. Only ``import isaaclab`` happens at module import, so :func:`mimic_lit.sim.base.make_simulator`
  turns a missing install into :class:`SimConfigError` with the install hint.
- The robot's MJCF (the same file MuJoCo loads) is converted once to USD with
  ``isaaclab.sim.converters.MjcfConverter`` into a cache folder (``$MIMIC_LIT_ISAACLAB_CACHE`` or
  ``~/.cache/mimic-lit/isaaclab``); Isaac Lab reconverts when the MJCF or the options change.
  The N copies come from an ``InteractiveScene`` (cloned physics, inter-environment collisions
  filtered) with a ground plane, one ``Articulation`` and one ``ContactSensor`` over its bodies.
- Joint and body orders differ (PhysX orders links breadth-first); they are matched to
  :attr:`RobotSpec.joint_names` / :attr:`RobotSpec.body_names` by name once, at construction,
  as index tensors. Every read and write goes through them.
- Isaac Lab places environment ``i`` at ``scene.env_origins[i]``; positions are reported and
  accepted relative to that origin, so every environment's world frame looks the same as on the
  MuJoCo backends (orientations and velocities need no change).
- States are the *link* (body frame origin) quantities ``root_link_pose_w``, ``root_link_vel_w``,
  ``body_link_pose_w``, ``body_link_vel_w`` (Isaac Lab's un-prefixed ``root_lin_vel_w`` is the
  centre-of-mass velocity, MuJoCo's qvel is the body-origin one). ``qvel`` holds the root angular
  velocity in the root frame, as MuJoCo stores it.
- Control: one ``ImplicitActuatorCfg`` over all joints with the spec's gains (PhysX joint drives),
  so PD runs inside the solver at every physics step like MuJoCo's ``position`` actuators. ``pos``:
  kp/kd with position targets; ``vel``: 0/kd with velocity targets; ``torque``: 0/0 with effort
  targets clipped to the effort limits; ``none``: 0/0 and nothing commanded. Effort limits are
  the spec's, applied by PhysX. ``control_dt / sim_dt`` physics steps per :meth:`IsaacLabSim.step`.
- ``joint_torque`` is ``ArticulationData.applied_torque``: for implicit actuators Isaac Lab
  *estimates* it from the state before each physics step (PhysX does not report drive forces).
- ``contact_forces`` is ``ContactSensorData.net_forces_w``: the *normal* part of the ground force
  on each body (MuJoCo's contact sensor also includes friction). ``ground_contact`` is that force
  above :data:`CONTACT_FORCE_EPS`. Robot self-collisions are off, so every contact is ground.
- All state tensors are gathered once per step into one fresh (N, K) tensor (a snapshot later
  steps do not overwrite); every getter is a view into it. Isaac Lab works in float32; ``float64``
  only widens the outputs.
- Divergence: an environment with a non-finite or larger-than-``divergence_threshold`` qpos/qvel
  entry after a step is written back to the default pose, flagged and counted.
- Checkpoints keep states, commanded targets, the output snapshot and counters. PhysX's solver
  warm-start and contact caches are not restored, so a resumed run is close to, not bit-identical
  with, the original.
- Not supported: the soccer ball (a goal's scene object), ball joints in the robot MJCF, ``nthread``
  (ignored: PhysX schedules itself) and more than one live simulator per process (call
  :meth:`IsaacLabSim.close` first).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Sequence

import isaaclab  # noqa: F401  (the only module-level import: a missing install must fail here)
import torch

from mimic_lit.robots import RobotSpec
from mimic_lit.rotations import quat_rotate, quat_rotate_inverse
from mimic_lit.sim.base import BallConfig, QposStateGetters, SimConfig, SimConfigError, SimulatorDescription, scene_ball

CONTACT_FORCE_EPS = 1.0e-3
"""Normal ground force [N] above which a body counts as touching the ground."""

ENV_SPACING = 5.0
"""Distance [m] between environment origins (collisions between environments are filtered)."""

_APP: Any = None  # the SimulationApp this module started, kept alive for the process


def _app_running() -> bool:
    """Whether an Omniverse Kit app already runs in this process (started by the user or by us)."""
    try:
        import omni.kit.app  # only importable once Isaac Sim has been bootstrapped

        app = omni.kit.app.get_app()
        return app is not None and bool(app.is_running())
    except Exception:  # noqa: BLE001 - any failure means "not running yet"
        return False


def _ensure_app(device: str) -> None:
    """Start Isaac Sim headless once per process, unless the process already runs it."""
    global _APP
    if _APP is not None or _app_running():
        return
    from isaaclab.app import AppLauncher

    _APP = AppLauncher(headless=True, device=device).app


def _name_index(ours: tuple[str, ...], theirs: list[str], what: str, robot: str) -> list[int]:
    """Index into ``theirs`` of every name in ``ours``; SimConfigError naming the missing ones."""
    where = {name: i for i, name in enumerate(theirs)}
    missing = [name for name in ours if name not in where]
    if missing:
        raise SimConfigError(
            f"robot '{robot}': the Isaac Lab import of the MJCF lacks {what} {missing}; "
            f"it has {list(theirs)}"
        )
    return [where[name] for name in ours]


def _usd_cache_dir(robot: RobotSpec) -> Path:
    """Folder of the robot's converted USD (reused across runs; Isaac Lab reconverts on changes)."""
    root = os.environ.get("MIMIC_LIT_ISAACLAB_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "mimic-lit" / "isaaclab"
    return base / robot.name


class IsaacLabSim(QposStateGetters, SimulatorDescription):
    """N copies of one robot in Isaac Lab (PhysX), batched torch tensors in and out.

    Implements :class:`mimic_lit.sim.base.Simulator`; build it with
    ``make_simulator(SimConfig(backend="isaaclab", device="cuda:0", ...))``. Untested by CI (see
    the module docstring for the Isaac Lab version followed and what differs from MuJoCo).
    """

    def __init__(self, config: SimConfig | None = None, objects: Sequence[object] = ()) -> None:
        self.config = config = config or SimConfig(backend="isaaclab")
        # Everything that needs no Isaac Sim is checked first: starting the app takes a while.
        if scene_ball(objects) is not None:
            raise SimConfigError(
                "the isaaclab backend does not simulate the soccer ball (the dribble goal's); "
                "use backend 'mujoco_cpu' for ball tasks"
            )
        checked = self._configure(config)
        robot = self._robot
        if robot.num_joint_coords != robot.num_dofs:
            raise SimConfigError(f"robot '{robot.name}' has ball joints; the isaaclab backend supports hinges only")
        device = checked.device
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", 0)  # Isaac Lab wants an explicit GPU index
        self._device = device
        self._num_envs = n = int(config.num_envs)
        self._nq = 7 + robot.num_joint_coords
        self._nv = 6 + robot.num_dofs
        self._nbody = len(robot.body_names)
        self._sim: Any = None

        _ensure_app(str(device))
        try:
            self._build_scene()
            self._map_names()
        except BaseException:
            self.close()  # release the process-wide SimulationContext so that a retry can build one
            raise

        # Per-step bookkeeping, all on the simulation device.
        dev = self._device
        self._origins = self._scene.env_origins.to(dev, torch.float32).clone()  # (N, 3)
        self._default_qpos = torch.as_tensor(robot.default_pose, dtype=torch.float32, device=dev)
        self._effort_limit = torch.as_tensor(robot.effort_limit, dtype=torch.float32, device=dev)
        self._all_ids = torch.arange(n, dtype=torch.long, device=dev)
        self._stale = torch.zeros(n, dtype=torch.bool, device=dev)  # contacts/torques unknown since a reset
        self._any_stale = False
        self._no_divergence = torch.zeros(n, dtype=torch.bool, device=dev)
        self._diverged = self._no_divergence
        self._diverged_count = 0
        self._packed: torch.Tensor | None = None
        self._views: dict[str, torch.Tensor] = {}
        self._layout()

        self._write_states(self._all_ids, self._default_qpos.expand(n, -1), None)
        if config.control_mode == "pos":  # hold the default pose until the first step
            self._asset.set_joint_position_target(self._default_qpos[7:][self._jinv].expand(n, -1).contiguous())

    # ------------------------------------------------------------------ construction
    def _build_scene(self) -> None:
        """Convert the MJCF, create the simulation context, the cloned scene, and start physics."""
        import isaaclab.sim as sim_utils
        import omni.usd
        from isaaclab.actuators import ImplicitActuatorCfg
        from isaaclab.assets import ArticulationCfg, AssetBaseCfg
        from isaaclab.scene import InteractiveScene, InteractiveSceneCfg
        from isaaclab.sensors import ContactSensorCfg
        from isaaclab.sim import SimulationCfg, SimulationContext
        from isaaclab.sim.converters import MjcfConverter, MjcfConverterCfg

        robot, config = self._robot, self.config
        if SimulationContext.instance() is not None:
            raise SimConfigError(
                "an Isaac Lab SimulationContext already exists in this process; "
                "close() the previous IsaacLabSim before building another"
            )
        omni.usd.get_context().new_stage()  # a clean stage: this simulator owns everything on it

        converter = MjcfConverter(
            MjcfConverterCfg(
                asset_path=str(robot.mjcf_path),
                usd_dir=str(_usd_cache_dir(robot)),
                fix_base=False,  # the MJCF's free joint: a floating base
                self_collision=False,
                import_inertia_tensor=True,
                force_usd_conversion=False,
            )
        )

        gravity = (0.0, 0.0, -9.81) if config.gravity else (0.0, 0.0, 0.0)
        self._sim = SimulationContext(
            SimulationCfg(dt=self._sim_dt, device=str(self._device), gravity=gravity, render_interval=self._substeps)
        )

        names = [re.escape(name) for name in robot.joint_names]  # regex keys matching one joint each
        kp = dict(zip(names, (float(x) for x in robot.kp)))
        kd = dict(zip(names, (float(x) for x in robot.kd)))
        limits = dict(zip(names, (float(x) for x in robot.effort_limit)))
        mode = config.control_mode
        actuator = ImplicitActuatorCfg(
            joint_names_expr=[".*"],
            stiffness=kp if mode == "pos" else 0.0,
            damping=kd if mode in ("pos", "vel") else 0.0,
            effort_limit_sim=limits if mode != "none" else None,
        )
        default_joint_pos = dict(zip(names, (float(x) for x in robot.default_pose[7:])))
        robot_cfg = ArticulationCfg(
            prim_path="{ENV_REGEX_NS}/Robot",
            spawn=sim_utils.UsdFileCfg(
                usd_path=converter.usd_path,
                activate_contact_sensors=True,
                rigid_props=sim_utils.RigidBodyPropertiesCfg(linear_damping=0.0, angular_damping=0.0),
                articulation_props=sim_utils.ArticulationRootPropertiesCfg(
                    enabled_self_collisions=False,
                    solver_position_iteration_count=8,
                    solver_velocity_iteration_count=4,
                ),
            ),
            init_state=ArticulationCfg.InitialStateCfg(
                pos=(0.0, 0.0, float(robot.default_root_height)),
                rot=(1.0, 0.0, 0.0, 0.0),
                joint_pos=default_joint_pos,
            ),
            actuators={"joints": actuator},
        )
        # MuJoCo combines the two geoms' friction with max; PhysX's "max" combine mode does the same.
        ground_material = sim_utils.RigidBodyMaterialCfg(
            static_friction=float(config.ground_friction),
            dynamic_friction=float(config.ground_friction),
            restitution=0.0,
            friction_combine_mode="max",
        )
        scene_cfg = InteractiveSceneCfg(num_envs=self._num_envs, env_spacing=ENV_SPACING, replicate_physics=True)
        # InteractiveScene builds every non-field attribute of its config, in insertion order.
        scene_cfg.ground = AssetBaseCfg(
            prim_path="/World/ground", spawn=sim_utils.GroundPlaneCfg(physics_material=ground_material)
        )
        scene_cfg.robot = robot_cfg
        scene_cfg.contacts = ContactSensorCfg(prim_path="{ENV_REGEX_NS}/Robot/.*", update_period=0.0, history_length=0)
        self._scene = InteractiveScene(scene_cfg)
        self._sim.reset()  # starts physics: the articulation and the sensor get their PhysX views
        self._asset = self._scene["robot"]
        self._contacts = self._scene["contacts"]
        if not isinstance(self._asset.data.root_link_pose_w, torch.Tensor):
            raise SimConfigError(
                "this Isaac Lab returns non-torch state buffers (Isaac Lab 3.x); the isaaclab backend "
                "follows the Isaac Lab 2.3 API"
            )
        if self._asset.is_fixed_base:
            raise SimConfigError(f"robot '{robot.name}' was imported with a fixed base; expected a free root")

    def _map_names(self) -> None:
        """Index tensors between Isaac Lab's joint/body orders and the robot spec's (MJCF) orders."""
        robot, dev = self._robot, self._device
        isaac_joints = list(self._asset.joint_names)
        if len(isaac_joints) != robot.num_dofs:
            raise SimConfigError(
                f"robot '{robot.name}': Isaac Lab imported {len(isaac_joints)} joints, the MJCF has {robot.num_dofs}: "
                f"{isaac_joints}"
            )
        jperm = _name_index(robot.joint_names, isaac_joints, "joints", robot.name)
        self._jperm = torch.as_tensor(jperm, dtype=torch.long, device=dev)  # ours[:, i] = isaac[:, jperm[i]]
        self._jinv = torch.argsort(self._jperm)  # isaac[:, j] = ours[:, jinv[j]]
        self._bperm = torch.as_tensor(
            _name_index(robot.body_names, list(self._asset.body_names), "bodies", robot.name), dtype=torch.long, device=dev
        )
        self._cperm = torch.as_tensor(
            _name_index(robot.body_names, list(self._contacts.body_names), "contact-sensed bodies", robot.name),
            dtype=torch.long,
            device=dev,
        )

    def _layout(self) -> None:
        """Column ranges of the packed per-step tensor (see :meth:`_pack`)."""
        nb, d = self._nbody, self.num_dofs
        widths = [
            ("q", self._nq + self._nv),  # qpos then qvel, MuJoCo layout
            ("root_ang_vel", 3),  # world frame
            ("body_pos", 3 * nb),
            ("body_quat", 4 * nb),
            ("body_lin_vel", 3 * nb),
            ("body_ang_vel", 3 * nb),
            ("contact", 3 * nb),
            ("torque", d),
        ]
        self._col: dict[str, tuple[int, int]] = {}
        col = 0
        for key, width in widths:
            self._col[key] = (col, col + width)
            col += width
        self._width = col

    def close(self) -> None:
        """Stop the simulation and release the process-wide SimulationContext (the app keeps running)."""
        sim, self._sim = self._sim, None
        if sim is None:
            return
        for name in ("stop", "clear_all_callbacks", "clear_instance"):
            fn = getattr(sim, name, None)
            if callable(fn):
                fn()

    # ------------------------------------------------------------------ description










    @property
    def body_names(self) -> tuple[str, ...]:
        return self._robot.body_names


    @property
    def has_ball(self) -> bool:
        """Always ``False``: this backend has no ball (construction refuses a ball scene object)."""
        return False

    @property
    def ball_config(self) -> BallConfig | None:
        """Always ``None`` (no ball on this backend)."""
        return None

    # ------------------------------------------------------------------ control
    def _as_rows(self, x: Any, k: int, width: int, name: str) -> torch.Tensor:
        """``x`` as a (k, width) float32 tensor on the simulation device; SimConfigError on a bad shape."""
        t = torch.as_tensor(x).detach().to(self._device, torch.float32)
        if tuple(t.shape) != (k, width):
            raise SimConfigError(f"{name} must have shape ({k}, {width}), got {tuple(t.shape)}")
        return t

    def _env_ids(self, env_ids: Any) -> torch.Tensor:
        """Validated unique environment indices as a long tensor on the simulation device."""
        ids = torch.as_tensor(env_ids).detach()
        if ids.ndim != 1 or (ids.numel() and ids.dtype.is_floating_point) or ids.dtype == torch.bool:
            raise SimConfigError(f"env_ids must be a 1-D integer index tensor, got shape {tuple(ids.shape)} dtype {ids.dtype}")
        ids = ids.to(self._device, torch.long)
        if ids.numel():
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= self._num_envs:
                raise SimConfigError(f"env_ids must lie in [0, {self._num_envs}), got {lo}..{hi}")
            if torch.unique(ids).numel() != ids.numel():
                raise SimConfigError("env_ids must not repeat an environment")
        return ids

    def _invalidate(self) -> None:
        self._packed = None
        self._views.clear()

    def _write_states(self, ids: torch.Tensor, qpos: torch.Tensor, qvel: torch.Tensor | None) -> None:
        """Write MuJoCo-layout states (float32, on device) into the environments ``ids``."""
        k = ids.numel()
        quat = qpos[:, 3:7]
        quat = quat / quat.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # PhysX wants unit quaternions
        pose = torch.cat([qpos[:, 0:3] + self._origins[ids], quat], dim=1)
        vel = torch.zeros((k, 6), dtype=torch.float32, device=self._device)
        joint_vel = torch.zeros((k, self.num_dofs), dtype=torch.float32, device=self._device)
        if qvel is not None:
            vel[:, 0:3] = qvel[:, 0:3]  # world frame, of the root frame origin
            vel[:, 3:6] = quat_rotate(quat, qvel[:, 3:6])  # MuJoCo's local angular velocity -> world
            joint_vel = qvel[:, 6:]
        asset = self._asset
        asset.write_root_link_pose_to_sim(pose, env_ids=ids)
        asset.write_root_link_velocity_to_sim(vel, env_ids=ids)
        asset.write_joint_state_to_sim(qpos[:, 7:][:, self._jinv], joint_vel[:, self._jinv], env_ids=ids)
        asset.reset(ids)
        self._contacts.reset(ids)
        self._stale[ids] = True
        self._any_stale = True
        self._invalidate()

    def reset(self, env_ids, qpos, qvel=None) -> None:
        """Set environments ``env_ids`` (k,) to ``qpos`` (k, nq) and ``qvel`` (k, nv; default zero).

        Not checked for NaN: a non-finite state is caught as a divergence by the next :meth:`step`.
        Contacts and joint torques of the reset environments read as zero until then.
        """
        ids = self._env_ids(env_ids)
        k = ids.numel()
        if k == 0:
            return
        q = self._as_rows(qpos, k, self._nq, "qpos")
        v = None if qvel is None else self._as_rows(qvel, k, self._nv, "qvel")
        self._write_states(ids, q, v)

    def _set_targets(self, actions: Any) -> None:
        """Hand ``actions`` (N, D, MJCF joint order) to the actuators as ``control_mode`` says."""
        mode = self.config.control_mode
        if mode == "none":
            return
        a = self._as_rows(actions, self._num_envs, self.num_dofs, "actions")
        if mode == "pos":
            self._asset.set_joint_position_target(a[:, self._jinv])
        elif mode == "vel":
            self._asset.set_joint_velocity_target(a[:, self._jinv])
        else:  # torque
            a = torch.maximum(torch.minimum(a, self._effort_limit), -self._effort_limit)
            self._asset.set_joint_effort_target(a[:, self._jinv])

    def step(self, actions) -> None:
        """Hold ``actions`` (N, D) for ``substeps`` physics steps in every environment."""
        self._set_targets(actions)
        for _ in range(self._substeps):
            self._asset.write_data_to_sim()
            self._sim.step(render=False)
            self._scene.update(dt=self._sim_dt)
        if self._any_stale:
            self._stale.zero_()
            self._any_stale = False
        self._invalidate()
        self._check_divergence()

    def _check_divergence(self) -> None:
        q = self._view("q")
        bad = ~(q.abs() <= self.config.divergence_threshold).all(dim=1)  # NaN compares False: bad
        if not bool(bad.any()):
            self._diverged = self._no_divergence
            return
        ids = torch.nonzero(bad).squeeze(1)
        self._diverged = bad
        self._diverged_count += int(ids.numel())
        self._write_states(ids, self._default_qpos.expand(ids.numel(), -1), None)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, object]:
        """States, commanded targets, the output snapshot and counters (on the CPU).

        PhysX's solver warm-start and contact caches are not part of it, so stepping on from a
        restored checkpoint is close to, not bit-identical with, the original run.
        """
        data = self._asset.data
        return {
            "backend": "isaaclab",
            "robot": self._robot.name,
            "num_envs": self._num_envs,
            "packed": self._pack().detach().cpu().clone(),
            "joint_pos_target": data.joint_pos_target[:, self._jperm].detach().cpu().clone(),
            "joint_vel_target": data.joint_vel_target[:, self._jperm].detach().cpu().clone(),
            "joint_effort_target": data.joint_effort_target[:, self._jperm].detach().cpu().clone(),
            "stale": self._stale.detach().cpu().clone(),
            "diverged": self._diverged.detach().cpu().clone(),
            "diverged_count": self._diverged_count,
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore a :meth:`state_dict` of an ``isaaclab`` simulator with the same robot and ``num_envs``."""
        if state.get("backend") != "isaaclab":
            raise SimConfigError(f"simulator state is from backend {state.get('backend', 'unknown')!r}, not 'isaaclab'")
        if state["robot"] != self._robot.name or int(state["num_envs"]) != self._num_envs:  # type: ignore[arg-type]
            raise SimConfigError(
                f"simulator state is for robot '{state['robot']}' with {state['num_envs']} envs, "
                f"this simulator has '{self._robot.name}' with {self._num_envs}"
            )
        saved = torch.as_tensor(state["packed"])
        if tuple(saved.shape) != (self._num_envs, self._width):
            raise SimConfigError(f"simulator state has shape {tuple(saved.shape)}, expected {(self._num_envs, self._width)}")
        packed = saved.to(self._device, torch.float32)
        q0 = self._col["q"][0]
        self._write_states(self._all_ids, packed[:, q0 : q0 + self._nq], packed[:, q0 + self._nq : q0 + self._nq + self._nv])
        for key, setter in (
            ("joint_pos_target", self._asset.set_joint_position_target),
            ("joint_vel_target", self._asset.set_joint_velocity_target),
            ("joint_effort_target", self._asset.set_joint_effort_target),
        ):
            setter(torch.as_tensor(state[key]).to(self._device, torch.float32)[:, self._jinv])
        self._stale.copy_(torch.as_tensor(state["stale"]).to(self._device, torch.bool))
        self._any_stale = bool(self._stale.any())
        diverged = torch.as_tensor(state["diverged"]).to(self._device, torch.bool)
        self._diverged = diverged if bool(diverged.any()) else self._no_divergence
        self._diverged_count = int(state["diverged_count"])  # type: ignore[arg-type]
        self._invalidate()
        self._packed = saved.to(self._device, self._dtype)  # the outputs as they were, contacts and torques too

    # ------------------------------------------------------------------ tensor conversion
    def _pack(self) -> torch.Tensor:
        """Every output of the current state in one fresh (N, K) tensor of ``dtype`` (a snapshot)."""
        if self._packed is not None:
            return self._packed
        data, n, nb = self._asset.data, self._num_envs, self._nbody
        origins = self._origins
        root_pose = data.root_link_pose_w  # (N, 7): position, quaternion w x y z
        root_vel = data.root_link_vel_w  # (N, 6): linear, angular; world frame, root frame origin
        quat = root_pose[:, 3:7]
        body_pose = data.body_link_pose_w[:, self._bperm]  # (N, B, 7)
        body_vel = data.body_link_vel_w[:, self._bperm]  # (N, B, 6)
        if self.config.control_mode == "none":
            torque = torch.zeros((n, self.num_dofs), dtype=torch.float32, device=self._device)
        else:
            torque = data.applied_torque[:, self._jperm]
        packed = torch.cat(
            [
                root_pose[:, 0:3] - origins,
                quat,
                data.joint_pos[:, self._jperm],
                root_vel[:, 0:3],
                quat_rotate_inverse(quat, root_vel[:, 3:6]),  # MuJoCo's qvel: root frame
                data.joint_vel[:, self._jperm],
                root_vel[:, 3:6],
                (body_pose[..., 0:3] - origins[:, None, :]).reshape(n, 3 * nb),
                body_pose[..., 3:7].reshape(n, 4 * nb),
                body_vel[..., 0:3].reshape(n, 3 * nb),
                body_vel[..., 3:6].reshape(n, 3 * nb),
                self._contacts.data.net_forces_w[:, self._cperm].reshape(n, 3 * nb),
                torque,
            ],
            dim=1,
        ).to(self._dtype)
        if self._any_stale:
            for key in ("contact", "torque"):
                c0, c1 = self._col[key]
                packed[self._stale, c0:c1] = 0.0
        self._packed = packed
        return packed

    def _view(self, key: str) -> torch.Tensor:
        """Columns ``key`` of the packed tensor, shaped (N, B, w) for per-body blocks."""
        v = self._views.get(key)
        if v is None:
            c0, c1 = self._col[key]
            v = self._pack()[:, c0:c1]
            if key.startswith("body_") or key == "contact":
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
        return self._view("root_ang_vel")

    @property
    def body_pos(self) -> torch.Tensor:
        return self._view("body_pos")

    @property
    def body_quat(self) -> torch.Tensor:
        return self._view("body_quat")

    @property
    def body_lin_vel(self) -> torch.Tensor:
        return self._view("body_lin_vel")

    @property
    def body_ang_vel(self) -> torch.Tensor:
        return self._view("body_ang_vel")

    @property
    def contact_forces(self) -> torch.Tensor:
        """(N, B, 3) normal ground force on each body at the last physics step (friction not included)."""
        return self._view("contact")

    @property
    def ground_contact(self) -> torch.Tensor:
        v = self._views.get("ground_contact")
        if v is None:
            v = self._view("contact").norm(dim=-1) > CONTACT_FORCE_EPS
            self._views["ground_contact"] = v
        return v

    @property
    def joint_torque(self) -> torch.Tensor:
        """(N, D) joint torque Isaac Lab estimates for the drives at the last physics step."""
        return self._view("torque")

    # ------------------------------------------------------------------ health
    @property
    def diverged(self) -> torch.Tensor:
        return self._diverged.clone()

    @property
    def diverged_count(self) -> int:
        return self._diverged_count

    def __repr__(self) -> str:
        return (
            f"IsaacLabSim(robot={self._robot.name!r}, num_envs={self._num_envs}, control_mode={self.control_mode!r}, "
            f"control_dt={self._control_dt:g}, substeps={self._substeps}, device={str(self._device)!r})"
        )


__all__ = ["IsaacLabSim", "CONTACT_FORCE_EPS", "ENV_SPACING"]

"""The simulator contract: N copies of one robot, batched torch tensors in and out.

Task code (``mimic_lit.envs``) talks only to this protocol, so the same DeepMimic/AMP/ASE/ADD
logic runs on every backend: MuJoCo on CPU (:class:`~mimic_lit.sim.mujoco_cpu.MujocoCPU`, the
default), MuJoCo-Warp (:mod:`mimic_lit.sim.mujoco_warp`) and Isaac Lab (:mod:`mimic_lit.sim.isaaclab`).

Conventions shared by every backend:

- World frame, z up, metres, radians; quaternions are (w, x, y, z).
- ``qpos`` is MuJoCo's layout: root position (3), root quaternion (4), then the joint coordinates
  in the robot MJCF's order (:attr:`RobotSpec.joint_names`). ``qvel`` is root linear velocity
  (world frame, 3), root angular velocity (*local* frame, 3, as MuJoCo stores it), then joint
  velocities. The getters below convert: every velocity they return is in the world frame.
- Bodies are the robot's MuJoCo bodies without the world body, in MuJoCo order
  (:attr:`Simulator.body_names`, equal to :attr:`RobotSpec.body_names`); body 0 is the root.
- State getters return tensors of ``dtype`` on ``device`` describing the state *after* the last
  :meth:`Simulator.step` or :meth:`Simulator.reset`; they are snapshots that later steps do not
  overwrite, so task code may keep them (e.g. the previous root position).

Every backend checks its options with :func:`check_config` (same values refused with the same
messages) and inherits the descriptive members (sizes, time steps, robot) from
:class:`SimulatorDescription`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, Sequence, runtime_checkable

import torch

from mimic_lit.errors import MimicLitError

if TYPE_CHECKING:
    from mimic_lit.robots import RobotSpec

ControlMode = Literal["pos", "vel", "torque", "none"]


class SimConfigError(MimicLitError):
    """A simulator option is invalid (unknown backend, dt that does not divide, bad shapes...)."""


@dataclass(frozen=True)
class BallConfig:
    """A soccer ball in every environment: a free rigid sphere on the floor, no actuator, no sensor.

    Defaults are a size-5 ball (FIFA: 68-70 cm circumference, 410-450 g) modelled as a thin shell
    (inertia 2/3 m r^2, as an inflated ball). MuJoCo's ``condim=6`` contact friction of the ball
    replaces the floor's (the ball geom has the higher ``priority``), also against the robot:

    - ``friction``: sliding coefficient (dimensionless). A ball kicked at 2 m/s without spin skids
      for ~0.15 s, then rolls on at ~0.6 x 2 = 1.2 m/s (shell inertia).
    - ``torsional_friction`` [m]: resists spinning about the contact normal.
    - ``rolling_friction`` [m]: resists rolling (rolling-resistance coefficient ~ this / radius:
      ~0.045 with the defaults). Measured (G1 scene, 0.005 s physics
      step, ``tests/test_sim_ball.py``): kicked at 2 m/s, the ball travels 3.1 m and stops
      (< 1 mm/s) after 6.8 s; with 0.01: 1.7 m in 3 s; with 0.02: 1.1 m in 1.6 s; with 0.003 it
      still rolls after 10 s, 5 m away. In MuJoCo's default pyramidal friction cone, rolling
      friction lets the rolling ball creep (angular speed x radius ~ 0.95 x speed).

    Attributes:
        radius: sphere radius [m].
        mass: mass [kg].
        friction: sliding friction coefficient.
        torsional_friction: torsional friction [m].
        rolling_friction: rolling friction [m].
        rgba: colour for renderers.
        default_pos: (x, y) world position [m] where the ball rests (z = radius) at construction
            and after a divergence reset; in front of the robot's default root (robots face +x).
    """

    radius: float = 0.11
    mass: float = 0.43
    friction: float = 0.6
    torsional_friction: float = 0.005
    rolling_friction: float = 0.005
    rgba: tuple[float, float, float, float] = (0.95, 0.95, 0.95, 1.0)
    default_pos: tuple[float, float] = (0.5, 0.0)

    def __post_init__(self) -> None:
        """One line naming the field for a size, mass or friction that cannot work."""
        from mimic_lit.config_checks import require_nonnegative, require_positive

        require_positive(self.radius, "ball.radius")
        require_positive(self.mass, "ball.mass")
        for name in ("friction", "torsional_friction", "rolling_friction"):
            require_nonnegative(getattr(self, name), f"ball.{name}")


@dataclass
class SimConfig:
    """Options of a batched simulator; plain typed fields so jsonargparse can fill it from YAML.

    Attributes:
        backend: ``mujoco_cpu`` (default, MuJoCo C on all CPU cores), ``mujoco_warp`` (GPU) or
            ``isaaclab`` (GPU); the GPU backends are optional extras and imported only on demand.
        robot: registered robot name (``humanoid``, ``g1``, ``k1``, ``t1``) or the path of a YAML
            robot spec (``.yaml``/``.yml``, see ``docs/robots.md``); :attr:`robot_spec` is the
            resolved :class:`~mimic_lit.robots.RobotSpec` everything downstream uses.
        num_envs: number of simulated copies N.
        control_mode: what :meth:`Simulator.step` actions mean: ``pos`` PD position targets [rad],
            ``vel`` target joint velocities [rad/s], ``torque`` joint torques [N·m] (clipped to the
            robot's effort limits), ``none`` (actions ignored, passive robot).
        control_dt: policy period [s]; ``None`` uses the robot spec's.
        sim_dt: physics time step [s]; ``None`` uses the robot spec's. ``control_dt`` must be an
            integer multiple of it: that multiple is the number of physics substeps per step.
        nthread: CPU threads stepping the environments; ``None`` uses every core this process may
            run on.
        device: torch device of the state tensors (``cpu``, ``cuda``...).
        dtype: ``float32`` or ``float64`` for the state tensors.
        seed: seed of any randomness inside the backend (MuJoCo physics itself is deterministic:
            same inputs give bit-identical states).
        ground_friction: sliding friction coefficient of the floor.
        gravity: ``False`` switches gravity off (tests, hanging robots).
        divergence_threshold: an environment with any ``qpos`` or ``qvel`` entry larger than this in
            absolute value (m, rad, m/s, rad/s) counts as diverged and is reset, like one with
            NaN/inf or one MuJoCo flags as unstable.
        mujoco_log: keep MuJoCo's own warning log (console and ``MUJOCO_LOG.TXT`` in the working
            directory). Off by default: diverged environments are counted by the simulator instead,
            and a long run would otherwise fill the console and the file. Process-wide setting.

    Objects besides the robot (the dribble goal's ball) are not options of the simulator: the goal
    that needs them lists them (``scene_objects()``) and the env passes them to
    :func:`make_simulator`.
    """

    backend: str = "mujoco_cpu"
    robot: str = "g1"
    num_envs: int = 64
    control_mode: ControlMode = "pos"
    control_dt: float | None = None
    sim_dt: float | None = None
    nthread: int | None = None
    device: str = "cpu"
    dtype: Literal["float32", "float64"] = "float32"
    seed: int = 0
    ground_friction: float = 1.0
    gravity: bool = True
    divergence_threshold: float = 1.0e3
    mujoco_log: bool = False

    def __post_init__(self) -> None:
        """Check the robot name and every numeric option now, on one line naming the field, instead
        of failing later (or with a message about something derived from it) when the run starts."""
        from mimic_lit.config_checks import require_at_least, require_optional, require_nonnegative, require_positive
        from mimic_lit.errors import UnknownRobotError
        from mimic_lit.robots import get_robot

        try:
            get_robot(self.robot)  # the one resolution: YAML specs are cached per file, names are a lookup
        except UnknownRobotError as exc:
            raise UnknownRobotError(f"{exc} (sim.robot)") from None
        require_at_least(self.num_envs, "sim.num_envs", 1)
        require_optional(require_positive, self.control_dt, "sim.control_dt")
        require_optional(require_positive, self.sim_dt, "sim.sim_dt")
        require_optional(require_at_least, self.nthread, "sim.nthread", 1)
        require_nonnegative(self.ground_friction, "sim.ground_friction")
        require_positive(self.divergence_threshold, "sim.divergence_threshold")
        # Only one field at a time here: jsonargparse may build intermediate configs with some fields
        # still at their defaults. Relations between fields (control_dt a multiple of sim_dt, with the
        # robot's defaults filled in) are checked when the simulator is made (check_config).

    @property
    def robot_spec(self) -> "RobotSpec":
        """The :class:`~mimic_lit.robots.RobotSpec` that ``robot`` names (checked in construction)."""
        from mimic_lit.robots import get_robot

        return get_robot(self.robot)


@runtime_checkable
class Simulator(Protocol):
    """N environments of one robot, stepped together; everything batched over the first axis.

    Shapes use N = ``num_envs``, D = ``num_dofs`` (joint velocities; one per hinge), B =
    ``num_bodies``, nq = 7 + joint coordinates, nv = 6 + D.

    Optional ball (a :class:`BallConfig` among the scene objects given to :func:`make_simulator`): a backend that supports it also implements
    :class:`BallSimulator` (``has_ball``, ``ball_pos``, ``ball_quat``, ``ball_lin_vel``,
    ``ball_ang_vel``, ``reset_ball``). Everything above keeps describing the robot alone, with or
    without a ball: ``qpos``/``qvel`` and the body tensors have the same shapes, :meth:`reset` takes
    robot-sized states and leaves the ball where it is, and ``contact_forces``/``ground_contact``
    report ground contact only (a ball touching a body does not count).
    """

    # ------------------------------------------------------------------ description
    @property
    def num_envs(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    @property
    def dtype(self) -> torch.dtype: ...

    @property
    def control_dt(self) -> float:
        """Seconds of simulated time advanced by one :meth:`step`."""
        ...

    @property
    def sim_dt(self) -> float:
        """Physics time step in seconds."""
        ...

    @property
    def substeps(self) -> int:
        """Physics steps per :meth:`step` (``control_dt / sim_dt``)."""
        ...

    @property
    def control_mode(self) -> str: ...

    @property
    def robot(self) -> "RobotSpec": ...

    @property
    def num_dofs(self) -> int: ...

    @property
    def num_bodies(self) -> int: ...

    @property
    def body_names(self) -> tuple[str, ...]: ...

    @property
    def joint_names(self) -> tuple[str, ...]: ...

    # ------------------------------------------------------------------ control
    def reset(self, env_ids: torch.Tensor, qpos: torch.Tensor, qvel: torch.Tensor | None = None) -> None:
        """Put environments ``env_ids`` (k,) into states ``qpos`` (k, nq) and ``qvel`` (k, nv).

        ``qvel=None`` means zero velocity. Other environments are untouched; getters reflect the
        new states immediately (contacts of the reset environments read as none until the next
        step).
        """
        ...

    def step(self, actions: torch.Tensor) -> None:
        """Advance every environment by ``control_dt`` holding ``actions`` (N, D) constant.

        The meaning of ``actions`` follows ``control_mode`` (see :class:`SimConfig`). Environments
        that diverge are reset to the robot's default pose and flagged in :attr:`diverged`.
        """
        ...

    # ------------------------------------------------------------------ state (world frame)
    @property
    def root_pos(self) -> torch.Tensor:
        """(N, 3) root body position."""
        ...

    @property
    def root_quat(self) -> torch.Tensor:
        """(N, 4) root orientation, w x y z."""
        ...

    @property
    def root_lin_vel(self) -> torch.Tensor:
        """(N, 3) root linear velocity."""
        ...

    @property
    def root_ang_vel(self) -> torch.Tensor:
        """(N, 3) root angular velocity (world frame)."""
        ...

    @property
    def joint_pos(self) -> torch.Tensor:
        """(N, nq - 7) joint coordinates in MJCF order."""
        ...

    @property
    def joint_vel(self) -> torch.Tensor:
        """(N, D) joint velocities."""
        ...

    @property
    def qpos(self) -> torch.Tensor:
        """(N, nq) full generalised position (root + joints)."""
        ...

    @property
    def qvel(self) -> torch.Tensor:
        """(N, nv) generalised velocity, MuJoCo's layout (root angular velocity in local frame)."""
        ...

    @property
    def body_pos(self) -> torch.Tensor:
        """(N, B, 3) body frame origins."""
        ...

    @property
    def body_quat(self) -> torch.Tensor:
        """(N, B, 4) body orientations, w x y z."""
        ...

    @property
    def body_lin_vel(self) -> torch.Tensor:
        """(N, B, 3) linear velocities of the body frame origins."""
        ...

    @property
    def body_ang_vel(self) -> torch.Tensor:
        """(N, B, 3) body angular velocities."""
        ...

    @property
    def contact_forces(self) -> torch.Tensor:
        """(N, B, 3) net force the ground exerts on each body at the last physics substep."""
        ...

    @property
    def ground_contact(self) -> torch.Tensor:
        """(N, B) bool: the body touched the ground at the last physics substep."""
        ...

    @property
    def joint_torque(self) -> torch.Tensor:
        """(N, D) actuator torque applied at the last physics substep (zeros in mode ``none``)."""
        ...

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, object]:
        """Full simulator state (physics incl. solver warm-start, current outputs, counters)."""
        ...

    def load_state_dict(self, state: dict[str, object]) -> None:
        """Restore :meth:`state_dict`; the next steps are bit-identical to the original's."""
        ...

    # ------------------------------------------------------------------ health
    @property
    def diverged(self) -> torch.Tensor:
        """(N,) bool: environments that diverged during the last :meth:`step` (and were reset)."""
        ...

    @property
    def diverged_count(self) -> int:
        """Total number of environment divergences since construction."""
        ...


class BallSimulator(Simulator, Protocol):
    """Optional members of a :class:`Simulator` that can simulate a ball (:class:`BallConfig`).

    The ball getters raise :class:`SimConfigError` when the simulator was built without a ball
    (``has_ball`` is ``False``). Divergence resets put a diverged environment's ball back at
    ``BallConfig.default_pos``, at rest.
    """

    @property
    def has_ball(self) -> bool:
        """Whether a :class:`BallConfig` was among the scene objects."""
        ...

    @property
    def ball_pos(self) -> torch.Tensor:
        """(N, 3) ball centre position."""
        ...

    @property
    def ball_quat(self) -> torch.Tensor:
        """(N, 4) ball orientation, w x y z."""
        ...

    @property
    def ball_lin_vel(self) -> torch.Tensor:
        """(N, 3) linear velocity of the ball centre (world frame)."""
        ...

    @property
    def ball_ang_vel(self) -> torch.Tensor:
        """(N, 3) ball angular velocity (world frame)."""
        ...

    def reset_ball(
        self,
        env_ids: torch.Tensor,
        pos: torch.Tensor,
        lin_vel: torch.Tensor | None = None,
        ang_vel: torch.Tensor | None = None,
    ) -> None:
        """Put the ball of environments ``env_ids`` (k,) at ``pos`` (k, 3) with identity rotation,
        moving at ``lin_vel`` (k, 3) and spinning at ``ang_vel`` (k, 3, world frame); ``None`` means
        zero. The robots and the other environments are untouched."""
        ...


# ---------------------------------------------------------------- shared by the backends


def compute_substeps(control_dt: float, sim_dt: float) -> int:
    """Physics steps per control step; raises :class:`SimConfigError` unless ``sim_dt`` divides it."""
    if not (sim_dt > 0 and control_dt > 0):
        raise SimConfigError(f"control_dt and sim_dt must be positive, got {control_dt} and {sim_dt}")
    substeps = round(control_dt / sim_dt)
    if substeps < 1 or abs(substeps * sim_dt - control_dt) > 1e-9 + 1e-6 * control_dt:
        raise SimConfigError(f"control_dt={control_dt} is not an integer multiple of sim_dt={sim_dt}")
    return substeps


@dataclass(frozen=True)
class CheckedConfig:
    """A validated :class:`SimConfig` with the robot's defaults filled in."""

    robot: RobotSpec
    sim_dt: float
    control_dt: float
    substeps: int
    device: torch.device
    dtype: torch.dtype


def check_config(config: SimConfig) -> CheckedConfig:
    """Validate the backend-independent options of ``config``; one-line :class:`SimConfigError` otherwise."""
    if config.num_envs < 1:
        raise SimConfigError(f"num_envs must be >= 1, got {config.num_envs}")
    if config.dtype not in ("float32", "float64"):
        raise SimConfigError(f"dtype must be 'float32' or 'float64', got {config.dtype!r}")
    if config.control_mode not in ("pos", "vel", "torque", "none"):
        raise SimConfigError(f"control_mode must be one of pos, vel, torque, none; got {config.control_mode!r}")

    robot = config.robot_spec
    sim_dt = float(config.sim_dt if config.sim_dt is not None else robot.sim_dt)
    control_dt = float(config.control_dt if config.control_dt is not None else robot.control_dt)
    substeps = compute_substeps(control_dt, sim_dt)
    try:
        device = torch.device(config.device)
    except RuntimeError as exc:
        raise SimConfigError(f"bad device {config.device!r}: {exc}") from None
    dtype = torch.float32 if config.dtype == "float32" else torch.float64
    return CheckedConfig(robot, sim_dt, control_dt, substeps, device, dtype)


class SimulatorDescription:
    """The descriptive members of :class:`Simulator`, shared by the backends.

    A backend calls :meth:`_configure` (``config``, ``_robot``, ``_device``, ``_dtype``,
    ``_control_dt``, ``_sim_dt``, ``_substeps``) and sets ``_num_envs``, ``_nv`` (robot qvel size)
    and ``_nbody`` (robot bodies) in its constructor; these properties only read them.
    """

    config: SimConfig
    _robot: RobotSpec
    _num_envs: int
    _device: torch.device
    _dtype: torch.dtype
    _control_dt: float
    _sim_dt: float
    _substeps: int
    _nv: int
    _nbody: int

    def _configure(self, config: SimConfig) -> CheckedConfig:
        """Check ``config`` (:func:`check_config`) and set every member above but the sizes."""
        checked = check_config(config)
        self.config = config
        self._robot = checked.robot
        self._sim_dt, self._control_dt, self._substeps = checked.sim_dt, checked.control_dt, checked.substeps
        self._device, self._dtype = checked.device, checked.dtype
        return checked

    @property
    def num_envs(self) -> int:
        return self._num_envs

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def dtype(self) -> torch.dtype:
        return self._dtype

    @property
    def control_dt(self) -> float:
        return self._control_dt

    @property
    def sim_dt(self) -> float:
        return self._sim_dt

    @property
    def substeps(self) -> int:
        return self._substeps

    @property
    def control_mode(self) -> str:
        return self.config.control_mode

    @property
    def robot(self) -> RobotSpec:
        return self._robot

    @property
    def num_dofs(self) -> int:
        return self._nv - 6

    @property
    def num_bodies(self) -> int:
        return self._nbody

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self._robot.joint_names


class QposStateGetters:
    """The state getters that are slices of ``qpos``/``qvel`` (MuJoCo's layout), shared by the
    backends: a backend defines ``qpos`` and ``qvel``; root linear velocity is world frame there."""

    qpos: torch.Tensor
    qvel: torch.Tensor

    @property
    def root_pos(self) -> torch.Tensor:
        return self.qpos[:, 0:3]

    @property
    def root_quat(self) -> torch.Tensor:
        return self.qpos[:, 3:7]

    @property
    def root_lin_vel(self) -> torch.Tensor:
        return self.qvel[:, 0:3]

    @property
    def joint_pos(self) -> torch.Tensor:
        return self.qpos[:, 7:]

    @property
    def joint_vel(self) -> torch.Tensor:
        return self.qvel[:, 6:]


# Backend name -> "module:Class"; the module is imported only when the backend is requested, so
# optional GPU stacks are never imported by default.
_BACKENDS: dict[str, tuple[str, str, str]] = {
    "mujoco_cpu": ("mimic_lit.sim.mujoco_cpu", "MujocoCPU", "pip install mujoco"),
    "mujoco_warp": ("mimic_lit.sim.mujoco_warp", "MujocoWarp", "pip install 'mimic-lit[gpu]'"),
    "isaaclab": ("mimic_lit.sim.isaaclab", "IsaacLabSim", "pip install 'mimic-lit[isaaclab]'"),
}


def backend_names() -> list[str]:
    """Names accepted by :func:`make_simulator` (``SimConfig.backend``)."""
    return sorted(_BACKENDS)


def scene_ball(objects: Sequence[object] = ()) -> BallConfig | None:
    """The one :class:`BallConfig` among the scene ``objects`` (``None`` if there is none); a
    one-line error for an object no backend can add, or for a second ball."""
    balls = [o for o in objects if isinstance(o, BallConfig)]
    others = [type(o).__name__ for o in objects if not isinstance(o, BallConfig)]
    if others:
        raise SimConfigError(f"the simulators cannot add scene objects of type {', '.join(others)} (only BallConfig)")
    if len(balls) > 1:
        raise SimConfigError(f"the simulators hold at most one ball per environment, got {len(balls)}")
    return balls[0] if balls else None


def make_simulator(config: SimConfig, objects: Sequence[object] = ()) -> Simulator:
    """Build the simulator ``config.backend`` names, with the scene ``objects`` besides the robot
    (e.g. a goal's ball, :func:`scene_ball`); raises :class:`SimConfigError` if unavailable."""
    try:
        module_name, class_name, install = _BACKENDS[config.backend]
    except KeyError:
        raise SimConfigError(
            f"unknown simulator backend '{config.backend}'; choose one of: {', '.join(backend_names())}"
        ) from None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SimConfigError(
            f"simulator backend '{config.backend}' is not available ({exc}); install it with: {install}"
        ) from None
    return getattr(module, class_name)(config, objects=tuple(objects))

"""What every MuJoCo-based backend checks and derives the same way: options, and where the robot
and the optional ball sit in the compiled scene's arrays.

Shared by :mod:`mimic_lit.sim.mujoco_cpu` and :mod:`mimic_lit.sim.mujoco_warp`, so that both accept
and refuse the same :class:`~mimic_lit.sim.base.SimConfig` values with the same messages and read
the same slices of the same model.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import torch

from mimic_lit.robots import RobotSpec, get_robot
from mimic_lit.sim.base import SimConfig, SimConfigError
from mimic_lit.sim.scene import BALL_NAME


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
    robot = get_robot(config.robot)
    sim_dt = float(config.sim_dt if config.sim_dt is not None else robot.sim_dt)
    control_dt = float(config.control_dt if config.control_dt is not None else robot.control_dt)
    substeps = compute_substeps(control_dt, sim_dt)
    try:
        device = torch.device(config.device)
    except RuntimeError as exc:
        raise SimConfigError(f"bad device {config.device!r}: {exc}") from None
    dtype = torch.float32 if config.dtype == "float32" else torch.float64
    return CheckedConfig(robot, sim_dt, control_dt, substeps, device, dtype)


@dataclass(frozen=True)
class SceneLayout:
    """Robot sizes inside the scene model, and the ball's indices when there is one.

    The robot's free root is body 1 and its coordinates come first; a ball (one free body) comes
    after it, so the robot's qpos/qvel/bodies are always the leading slices.
    """

    nq: int  #: robot qpos entries (7 + joint coordinates)
    nv: int  #: robot qvel entries (6 + dofs)
    nbody: int  #: robot bodies, world body excluded
    nu: int  #: actuators
    ball_body: int | None = None  #: body id of the ball
    ball_q: int | None = None  #: first qpos entry of the ball
    ball_v: int | None = None  #: first qvel entry of the ball


def scene_layout(m: mujoco.MjModel, robot: RobotSpec, control_mode: str, has_ball: bool) -> SceneLayout:
    """Where the robot (and ball) live in ``m``; :class:`SimConfigError` for robots the backends cannot drive."""
    if has_ball:
        bid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, BALL_NAME)
        jnt = int(m.body_jntadr[bid])
        ball_q, ball_v = int(m.jnt_qposadr[jnt]), int(m.jnt_dofadr[jnt])
        if not (bid == m.nbody - 1 and ball_q == m.nq - 7 and ball_v == m.nv - 6):
            raise RuntimeError("unexpected model layout: the ball must come after the robot")
        layout = SceneLayout(ball_q, ball_v, m.nbody - 2, m.nu, bid, ball_q, ball_v)
    else:
        layout = SceneLayout(m.nq, m.nv, m.nbody - 1, m.nu)
    if control_mode != "none" and layout.nu != layout.nv - 6:
        raise SimConfigError(f"robot '{robot.name}' has joints without a 1-DoF actuator; use control_mode='none'")
    if not (m.body_rootid[1 : 1 + layout.nbody] == 1).all():
        raise SimConfigError(f"robot '{robot.name}' must be one kinematic tree under its free root body")
    if len(robot.default_pose) != layout.nq:
        raise SimConfigError(
            f"robot '{robot.name}': default pose has {len(robot.default_pose)} coords, model nq={layout.nq}"
        )
    return layout


def body_origin_velocity(cvel: torch.Tensor, xpos: torch.Tensor, com: torch.Tensor) -> torch.Tensor:
    """(..., B, 3) world linear velocity of body origins from MuJoCo's ``cvel`` (..., B, 6: angular,
    then linear velocity of the body-fixed point at the tree's centre of mass ``com`` (..., 3)):
    v = v_c + w x (x - c)."""
    return cvel[..., 3:6] + torch.linalg.cross(cvel[..., 0:3], xpos - com.unsqueeze(-2), dim=-1)


class SimulatorDescription:
    """The descriptive members of :class:`~mimic_lit.sim.base.Simulator`, shared by the backends.

    A backend sets ``config``, ``_robot``, ``_num_envs``, ``_device``, ``_dtype``, ``_control_dt``,
    ``_sim_dt``, ``_substeps``, ``_nv`` (robot qvel size) and ``_nbody`` (robot bodies) in its
    constructor; these properties only read them.
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

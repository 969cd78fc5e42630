"""The compiled MuJoCo model both MuJoCo backends step, and what they share on top of it.

:func:`build_sim_model` compiles (and caches) the scene of :mod:`mimic_lit.sim.scene` without
visuals and with one ground-contact sensor per robot body; :class:`MujocoSceneMembers` holds the
members :class:`~mimic_lit.sim.mujoco_cpu.MujocoCPU` and :class:`~mimic_lit.sim.mujoco_warp.MujocoWarp`
answer the same way (body names, the ball's settings; the ``qpos`` slices come from
:class:`~mimic_lit.sim.base.QposStateGetters`); :func:`body_origin_velocity` turns MuJoCo's
``cvel`` into body-origin velocities.
"""

from __future__ import annotations

import copy
from functools import cached_property

import mujoco
import torch

from mimic_lit.robots import RobotSpec, get_robot
from mimic_lit.sim.base import BallConfig, SimConfig, SimConfigError
from mimic_lit.sim.scene import CONTACT_DATA, CONTACT_REDUCE_NETFORCE, SceneConfig, SceneLayout, build_scene_spec, scene_layout

__all__ = ["MujocoSceneMembers", "backend_model", "body_origin_velocity", "build_sim_model", "set_mujoco_log"]


def build_sim_model(
    robot: str | RobotSpec,
    control_mode: str = "pos",
    sim_dt: float | None = None,
    ground_friction: float = 1.0,
    gravity: bool = True,
    ball: BallConfig | None = None,
) -> mujoco.MjModel:
    """The scene :class:`MjModel` the CPU backend steps: no visuals, no robot-authored sensors,
    and one ``contact`` sensor per robot body against the world body (floor and any static
    geometry), reporting the number of contacts and the net force the ground exerts on the body
    at every physics step. With ``ball``, a free ball body comes after the robot; it has no
    sensor, and the robot's sensors do not see it (a body-type sensor object matches the geoms
    attached to that very body, and the ball's geom belongs to the ball body, not the world body).

    Compiled models are cached per argument set (the G1's meshes take ~1.5 s to compile); each
    call returns its own copy, so callers may edit it.
    """
    robot = get_robot(robot)
    key = (id(robot), control_mode, sim_dt, float(ground_friction), bool(gravity), repr(ball))
    hit = _MODEL_CACHE.get(key)
    if hit is None or hit[0] is not robot:  # specs are unhashable dataclasses: key by identity
        hit = (robot, _compile_sim_model(robot, control_mode, sim_dt, float(ground_friction), bool(gravity), ball))
        _MODEL_CACHE[key] = hit
        while len(_MODEL_CACHE) > 8:
            _MODEL_CACHE.pop(next(iter(_MODEL_CACHE)))
    return copy.copy(hit[1])


_MODEL_CACHE: dict[tuple, tuple[RobotSpec, mujoco.MjModel]] = {}


def _compile_sim_model(
    robot: RobotSpec,
    control_mode: str,
    sim_dt: float | None,
    ground_friction: float,
    gravity: bool,
    ball: BallConfig | None = None,
) -> mujoco.MjModel:
    scene = SceneConfig(
        control_mode=control_mode,
        sim_dt=sim_dt,
        ground_friction=ground_friction,
        add_floor=True,
        visual=False,
        ball=ball,
    )
    try:
        spec = build_scene_spec(robot, scene)
    except ValueError as exc:
        raise SimConfigError(str(exc)) from None
    # IMUs and other sensors in robot MJCFs cost time at every substep (accelerometers need an
    # extra dynamics pass); tasks read states from the simulator instead.
    for sensor in list(spec.sensors):
        spec.delete(sensor)
    if not gravity:
        spec.option.gravity = [0.0, 0.0, 0.0]
    # Object = the world body, reference = the robot body: the reported net force is then the one
    # the ground exerts on the robot body (the other way round it would be the reaction).
    for name in robot.body_names:
        sensor = spec.add_sensor(
            name=f"mimic_lit_ground_contact_{name}",
            type=mujoco.mjtSensor.mjSENS_CONTACT,
            objtype=mujoco.mjtObj.mjOBJ_BODY,
            objname="world",
            reftype=mujoco.mjtObj.mjOBJ_BODY,
            refname=name,
        )
        sensor.intprm[0] = CONTACT_DATA
        sensor.intprm[1] = CONTACT_REDUCE_NETFORCE
        sensor.intprm[2] = 1
    return spec.compile()


def backend_model(
    config: SimConfig, robot: RobotSpec, sim_dt: float, ball: BallConfig | None = None
) -> tuple[mujoco.MjModel, SceneLayout]:
    """The model a MuJoCo backend steps for ``config`` (and ``ball``, if any) and where robot and
    ball sit in it; switches MuJoCo's warning log off first unless ``config.mujoco_log``."""
    if not config.mujoco_log:
        set_mujoco_log(False)
    m = build_sim_model(robot, config.control_mode, sim_dt, config.ground_friction, config.gravity, ball)
    return m, scene_layout(m, robot, config.control_mode, ball is not None)


def set_mujoco_log(enabled: bool) -> None:
    """Switch MuJoCo's warning log (console and ``MUJOCO_LOG.TXT``) on or off, process-wide."""
    cfg = mujoco.MjLogConfig.get()
    cfg.logto_console = enabled
    cfg.logto_file = enabled
    cfg.set()


def body_origin_velocity(cvel: torch.Tensor, xpos: torch.Tensor, com: torch.Tensor) -> torch.Tensor:
    """(..., B, 3) world linear velocity of body origins from MuJoCo's ``cvel`` (..., B, 6: angular,
    then linear velocity of the body-fixed point at the tree's centre of mass ``com`` (..., 3)):
    v = v_c + w x (x - c)."""
    return cvel[..., 3:6] + torch.linalg.cross(cvel[..., 0:3], xpos - com.unsqueeze(-2), dim=-1)


class MujocoSceneMembers:
    """Members both MuJoCo backends answer from the compiled ``model`` and the ball among their scene objects.

    A backend sets ``model``, ``config``, ``_ball`` and ``_nbody`` (robot bodies) in its constructor.
    """

    model: mujoco.MjModel
    config: SimConfig
    _ball: BallConfig | None
    _nbody: int

    @cached_property
    def body_names(self) -> tuple[str, ...]:
        return tuple(mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_BODY, i) for i in range(1, 1 + self._nbody))

    @property
    def has_ball(self) -> bool:
        """Whether the environments contain a ball (a :class:`BallConfig` scene object)."""
        return self._ball is not None

    @property
    def ball_config(self) -> BallConfig | None:
        """The ball's settings (``None`` without a ball): what a renderer needs to draw the same ball."""
        return self._ball

    @property
    def ball_radius(self) -> float:
        """Radius of the ball in metres (SimConfigError without a ball)."""
        if self._ball is None:
            raise SimConfigError("this simulator has no ball; a goal that needs one lists it in scene_objects()")
        return float(self._ball.radius)

    def _require_ball(self) -> None:
        if self._ball is None:
            raise SimConfigError("this simulator has no ball; build it with make_simulator(config, objects=[BallConfig()])")

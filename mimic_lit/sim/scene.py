"""Build the MuJoCo model a simulator or renderer runs: robot + ground + lights + actuators.

The robot MJCFs stay as their authors wrote them; everything mimic-lit needs on top (a floor, PD
actuators in the chosen control mode, the physics time step) is added here with ``mujoco.MjSpec``, so
the same code path serves every robot and every backend that consumes MJCF (CPU MuJoCo, MuJoCo-Warp).
:func:`scene_layout` tells the backends where the robot and the optional ball sit in the compiled
model's arrays; the ``CONTACT_*`` constants describe the ground-contact sensors they add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import mujoco
import numpy as np

from mimic_lit.robots import RobotSpec, get_robot
from mimic_lit.sim.base import BallConfig, SimConfigError

ControlMode = Literal["pos", "vel", "torque", "none"]
CONTROL_MODES: tuple[str, ...] = ("pos", "vel", "torque", "none")


@dataclass(frozen=True)
class SceneConfig:
    """Options for :func:`build_scene`.

    Attributes:
        control_mode: ``pos`` (PD to target angles), ``vel`` (damping to target velocities),
            ``torque`` (direct joint torques, clipped to the effort limits) or ``none`` (passive).
        sim_dt: physics time step in seconds; ``None`` uses the robot spec's.
        ground_friction: sliding friction of the floor.
        add_floor: add a floor plane if the robot MJCF has none.
        visual: add a skybox, a checker floor texture and lights for rendering.
        ball: add a free soccer ball (:func:`add_ball`) after the robot; ``None``: no ball.
    """

    control_mode: ControlMode = "pos"
    sim_dt: float | None = None
    ground_friction: float = 1.0
    add_floor: bool = True
    visual: bool = True
    ball: BallConfig | None = None


def _has_plane(spec: mujoco.MjSpec) -> mujoco.MjsGeom | None:
    for g in spec.worldbody.geoms:
        if g.type == mujoco.mjtGeom.mjGEOM_PLANE:
            return g
    return None


def build_scene_spec(robot: str | RobotSpec, config: SceneConfig | None = None) -> mujoco.MjSpec:
    """The editable :class:`mujoco.MjSpec` of the scene (use :func:`build_scene` for a compiled model)."""
    robot = get_robot(robot)
    config = config or SceneConfig()
    if config.control_mode not in CONTROL_MODES:
        raise ValueError(f"control_mode must be one of {CONTROL_MODES}, got {config.control_mode!r}")
    spec = mujoco.MjSpec.from_file(str(robot.mjcf_path))
    spec.option.timestep = config.sim_dt if config.sim_dt is not None else robot.sim_dt
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST

    # PD gains live in the actuators: drop authored passive springs/dampers that would double count
    # (MimicKit's humanoid stores its PD gains as joint stiffness/damping) and authored actuators.
    for joint in spec.joints:
        if joint.type != mujoco.mjtJoint.mjJNT_FREE:
            joint.stiffness = np.zeros_like(np.asarray(joint.stiffness))
            joint.damping = np.zeros_like(np.asarray(joint.damping))
    for act in list(spec.actuators):
        spec.delete(act)
    # Authored keyframes carry ctrl vectors sized for the authored actuators; the robot spec's default
    # pose replaces them.
    for key in list(spec.keys):
        spec.delete(key)

    if config.control_mode != "none":
        for name, kp, kd, limit in zip(robot.joint_names, robot.kp, robot.kd, robot.effort_limit):
            act = spec.add_actuator(name=name, target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
            if config.control_mode == "pos":
                act.set_to_position(kp=float(kp), kv=float(kd))
                act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
            elif config.control_mode == "vel":
                act.set_to_velocity(kv=float(kd))
                act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
            else:  # torque
                act.set_to_motor()
                act.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
                act.ctrlrange = [-float(limit), float(limit)]
            act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
            act.forcerange = [-float(limit), float(limit)]

    plane = _has_plane(spec)
    if plane is None and config.add_floor:
        plane = spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05])
    if plane is not None:
        plane.friction = [config.ground_friction, 0.005, 0.0001]
        plane.condim = 3
    if config.ball is not None:
        add_ball(spec, config.ball)
    if config.visual:
        _add_visuals(spec, plane)
    return spec


BALL_NAME = "ball"  # name of the ball's body, free joint and geom

#: ground-contact sensor fields (MuJoCo ``contact`` sensor ``intprm[0]``): "found" and "force"
CONTACT_DATA = 1 | 2
#: ``intprm[1]``: reduce all contacts of the pair to one net force
CONTACT_REDUCE_NETFORCE = 3
#: values per ground-contact sensor: number of contacts + net force (3)
CONTACT_WIDTH = 4


def add_ball(spec: mujoco.MjSpec, ball: BallConfig) -> mujoco.MjsBody:
    """Append a free sphere body ``ball`` to ``spec``'s world body, resting on the floor at
    ``ball.default_pos``.

    Appended last, so the robot's bodies, joints, ``qpos`` and ``qvel`` keep their indices and the
    ball's 7 ``qpos`` and 6 ``qvel`` entries come after the robot's. The sphere collides with the
    floor and the robot; its ``condim=6`` friction (sliding, torsional, rolling) and higher
    ``priority`` make its own friction govern every contact it takes part in. Shell inertia:
    an inflated ball's mass sits in its skin.
    """
    if not (ball.radius > 0 and ball.mass > 0):
        raise ValueError(f"ball radius and mass must be positive, got {ball.radius} and {ball.mass}")
    x, y = (float(v) for v in ball.default_pos)
    body = spec.worldbody.add_body(name=BALL_NAME, pos=[x, y, float(ball.radius)])
    body.add_freejoint(name=BALL_NAME)
    geom = body.add_geom(
        name=BALL_NAME,
        type=mujoco.mjtGeom.mjGEOM_SPHERE,
        size=[float(ball.radius), 0.0, 0.0],
        rgba=[float(c) for c in ball.rgba],
    )
    geom.mass = float(ball.mass)
    geom.typeinertia = mujoco.mjtGeomInertia.mjINERTIA_SHELL
    geom.condim = 6
    geom.priority = 1
    geom.friction = [float(ball.friction), float(ball.torsional_friction), float(ball.rolling_friction)]
    return body


def _add_visuals(spec: mujoco.MjSpec, plane: mujoco.MjsGeom | None) -> None:
    spec.add_texture(
        name="mimic_lit_sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX, builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.3, 0.5, 0.7], rgb2=[0.0, 0.0, 0.0], width=512, height=3072,
    )
    spec.add_texture(
        name="mimic_lit_grid", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        mark=mujoco.mjtMark.mjMARK_EDGE, rgb1=[0.2, 0.3, 0.4], rgb2=[0.1, 0.2, 0.3], markrgb=[0.8, 0.8, 0.8],
        width=300, height=300,
    )
    mat = spec.add_material(name="mimic_lit_floor", texuniform=True, texrepeat=[5, 5], reflectance=0.2)
    mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = "mimic_lit_grid"
    if plane is not None:
        plane.material = "mimic_lit_floor"
        plane.size = [0, 0, 0.05]
    spec.worldbody.add_light(name="mimic_lit_sun", pos=[0, 0, 5], dir=[0, 0, -1], diffuse=[0.6, 0.6, 0.6], castshadow=False)
    spec.visual.headlight.diffuse = [0.6, 0.6, 0.6]
    spec.visual.headlight.ambient = [0.2, 0.2, 0.2]
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, 1280)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, 960)


def build_scene(robot: str | RobotSpec, config: SceneConfig | None = None) -> mujoco.MjModel:
    """Compiled scene model for ``robot``; the robot's joints keep the MJCF ``qpos`` order."""
    return build_scene_spec(robot, config).compile()


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

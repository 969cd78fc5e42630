"""Robot registry: ``get_robot("g1")`` returns the :class:`RobotSpec` of a shipped robot.

Shipped robots (all assets inside the package, nothing downloaded):

- ``humanoid``: the DeepMimic humanoid as MimicKit's MJCF (28 hinge DoF, 3 per spherical joint).
- ``g1``: Unitree G1, 29 DoF, MuJoCo Menagerie model.
- ``k1``: Booster K1, 22 DoF.
- ``t1``: Booster T1, 23 DoF.

PD gains of the humanoid are the DeepMimic/MimicKit ones. The robots' gains are starting values in
the range used by public G1/Booster training setups; tune them per recipe (``configs/robots``).
"""

from __future__ import annotations

from mimic_lit.errors import UnknownRobotError
from mimic_lit.robots.spec import ROBOT_DATA_DIR, RobotSpec
from mimic_lit.robots.yaml_spec import is_robot_yaml, load_robot_yaml

__all__ = ["RobotSpec", "get_robot", "robot_names", "register_robot", "load_robot_yaml", "ROBOT_DATA_DIR"]

_HUMANOID = RobotSpec(
    name="humanoid",
    mjcf="humanoid/humanoid.xml",
    description="DeepMimic humanoid (MimicKit MJCF): 28 hinge DoF, 50 kg, arms in a T-pose at zero.",
    pd_gains={
        r"abdomen_.": (1000.0, 100.0),
        r"neck_.": (100.0, 10.0),
        r".*_shoulder_.": (400.0, 40.0),
        r".*_elbow": (300.0, 30.0),
        r".*_hip_.": (500.0, 50.0),
        r".*_knee": (500.0, 50.0),
        r".*_ankle_.": (400.0, 40.0),
    },
    key_bodies=("head", "right_hand", "left_hand", "right_foot", "left_foot"),
    contact_bodies=("right_foot", "left_foot"),
    foot_bodies=("left_foot", "right_foot"),
    default_joint_pos={"right_shoulder_x": 1.5708, "left_shoulder_x": -1.5708},
    default_root_height=0.882,
    control_dt=1.0 / 30.0,
    sim_dt=1.0 / 120.0,
    licence="Apache-2.0 (MimicKit, Xue Bin Peng)",
    # MimicKit's joint_err_w; its body list maps one-to-one onto body_names[1:] (tests/test_rewards.py)
    joint_err_weights={
        "torso": 1.0,
        "head": 0.6,
        r".*_upper_arm": 0.6,
        r".*_lower_arm": 0.4,
        r".*_hand": 0.0,
        r".*_thigh": 1.0,
        r".*_shin": 0.6,
        r".*_foot": 0.4,
    },
)

_G1 = RobotSpec(
    name="g1",
    mjcf="unitree_g1/g1.xml",
    description="Unitree G1, 29 DoF (MuJoCo Menagerie g1_29dof_rev_1_0), 33 kg.",
    pd_gains={
        r".*_hip_(pitch|roll|yaw)_joint": (100.0, 2.5),
        r".*_knee_joint": (150.0, 5.0),
        r".*_ankle_(pitch|roll)_joint": (40.0, 2.0),
        r"waist_.*_joint": (200.0, 5.0),
        r".*_shoulder_.*_joint": (40.0, 2.0),
        r".*_elbow_joint": (40.0, 2.0),
        r".*_wrist_.*_joint": (20.0, 1.0),
    },
    key_bodies=("left_ankle_roll_link", "right_ankle_roll_link", "head_link", "left_wrist_yaw_link", "right_wrist_yaw_link"),
    contact_bodies=(
        "left_knee_link", "right_knee_link",
        "left_ankle_pitch_link", "right_ankle_pitch_link",
        "left_ankle_roll_link", "right_ankle_roll_link",
    ),
    foot_bodies=("left_ankle_roll_link", "right_ankle_roll_link"),
    default_joint_pos={
        "left_hip_pitch_joint": -0.1, "right_hip_pitch_joint": -0.1,
        "left_knee_joint": 0.3, "right_knee_joint": 0.3,
        "left_ankle_pitch_joint": -0.2, "right_ankle_pitch_joint": -0.2,
        "left_shoulder_roll_joint": 0.2, "right_shoulder_roll_joint": -0.2,
        "left_elbow_joint": 1.28, "right_elbow_joint": 1.28,
    },
    default_root_height=0.785,
    control_dt=1.0 / 50.0,
    sim_dt=1.0 / 200.0,
    licence="BSD-3-Clause (Unitree, via MuJoCo Menagerie)",
    joint_err_weights={
        r".*_hip_(pitch|roll|yaw)_link": 1.0,
        r".*_knee_link": 0.6,
        r".*_ankle_(pitch|roll)_link": 0.5,
        r"waist_(yaw|roll)_link|torso_link": 1.0,
        r"head_link": 0.0,
        r".*_shoulder_(pitch|roll|yaw)_link": 1.0,
        r".*_elbow_link": 0.6,
        r".*_wrist_(roll|pitch|yaw)_link": 0.5,
    },
    format_names={"gmr": "unitree_g1"},
    retarget_maps={"humanoid": "humanoid_to_g1.yaml", "cmu": "cmu_to_g1.yaml"},
)

_K1 = RobotSpec(
    name="k1",
    mjcf="booster_k1/K1_22dof.xml",
    description="Booster K1, 22 DoF kid-size humanoid, 19.7 kg.",
    pd_gains={
        r"AAHead_yaw|Head_pitch": (10.0, 1.0),
        r"A?(Left|Right)_Shoulder_.*": (20.0, 1.0),
        r"(Left|Right)_Elbow_.*": (20.0, 1.0),
        r"(Left|Right)_Hip_.*": (80.0, 2.0),
        r"(Left|Right)_Knee_Pitch": (80.0, 2.0),
        r"(Left|Right)_Ankle_.*": (30.0, 1.0),
    },
    key_bodies=("left_foot_link", "right_foot_link", "Head_2", "left_hand_link", "right_hand_link"),
    contact_bodies=("left_foot_link", "right_foot_link", "Left_Ankle_Cross", "Right_Ankle_Cross", "Left_Shank", "Right_Shank"),
    foot_bodies=("left_foot_link", "right_foot_link"),
    default_joint_pos={
        "Left_Hip_Pitch": -0.2, "Right_Hip_Pitch": -0.2,
        "Left_Knee_Pitch": 0.4, "Right_Knee_Pitch": 0.4,
        "Left_Ankle_Pitch": -0.2, "Right_Ankle_Pitch": -0.2,
        "Left_Shoulder_Roll": -1.3, "Right_Shoulder_Roll": 1.3,
    },
    default_root_height=0.544,
    control_dt=1.0 / 50.0,
    sim_dt=1.0 / 200.0,
    licence="BSD-3-Clause (Booster Robotics)",
    format_names={"gmr": "booster_k1"},
    retarget_maps={"humanoid": "humanoid_to_k1.yaml", "cmu": "cmu_to_k1.yaml"},
)

_T1 = RobotSpec(
    name="t1",
    mjcf="booster_t1/T1_23dof.xml",
    description="Booster T1, 23 DoF, 31.7 kg.",
    pd_gains={
        r"AAHead_yaw|Head_pitch": (20.0, 1.0),
        r"(Left|Right)_Shoulder_.*": (40.0, 2.0),
        r"(Left|Right)_Elbow_.*": (40.0, 2.0),
        r"Waist": (200.0, 5.0),
        r"(Left|Right)_Hip_.*": (150.0, 4.0),
        r"(Left|Right)_Knee_Pitch": (150.0, 4.0),
        r"(Left|Right)_Ankle_.*": (40.0, 2.0),
    },
    key_bodies=("left_foot_link", "right_foot_link", "H2", "left_hand_link", "right_hand_link"),
    contact_bodies=("left_foot_link", "right_foot_link", "Ankle_Cross_Left", "Ankle_Cross_Right", "Shank_Left", "Shank_Right"),
    foot_bodies=("left_foot_link", "right_foot_link"),
    default_joint_pos={
        "Left_Hip_Pitch": -0.2, "Right_Hip_Pitch": -0.2,
        "Left_Knee_Pitch": 0.4, "Right_Knee_Pitch": 0.4,
        "Left_Ankle_Pitch": -0.2, "Right_Ankle_Pitch": -0.2,
        "Left_Shoulder_Roll": -1.3, "Right_Shoulder_Roll": 1.3,
    },
    default_root_height=0.68,
    control_dt=1.0 / 50.0,
    sim_dt=1.0 / 200.0,
    licence="BSD-3-Clause (Booster Robotics)",
    format_names={"gmr": "booster_t1"},
)

_REGISTRY: dict[str, RobotSpec] = {r.name: r for r in (_HUMANOID, _G1, _K1, _T1)}


def robot_names() -> list[str]:
    """Names of all registered robots."""
    return sorted(_REGISTRY)


def register_robot(spec: RobotSpec, *, replace: bool = False) -> None:
    """Add a user's robot so recipes and the CLI can refer to it by name."""
    if spec.name in _REGISTRY and not replace:
        raise ValueError(f"robot '{spec.name}' is already registered; pass replace=True to override")
    _REGISTRY[spec.name] = spec


def get_robot(name: str | RobotSpec) -> RobotSpec:
    """The spec of robot ``name``: a registered name, or a path to a YAML robot spec (``.yaml``/``.yml``,
    see :func:`load_robot_yaml`). Raises :class:`UnknownRobotError` listing the valid names."""
    if isinstance(name, RobotSpec):
        return name
    if is_robot_yaml(name):
        return load_robot_yaml(name)
    try:
        return _REGISTRY[name.lower()]
    except (KeyError, AttributeError):
        raise UnknownRobotError(f"unknown robot '{name}'; choose one of: {', '.join(robot_names())}") from None

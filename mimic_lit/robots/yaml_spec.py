"""Robots described by a YAML file: a recipe's ``sim.robot`` may be a path to one instead of a name.

The file names the robot's MJCF (relative to the YAML file) and says what the MJCF does not: PD
gains, key/contact/foot bodies and the default pose (see ``docs/robots.md``). Every problem is one
line naming the file and the field, raised as :class:`~mimic_lit.errors.RobotSpecError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mimic_lit.errors import RobotSpecError
from mimic_lit.robots.spec import RobotSpec

#: field -> (required, what it must be); the order is the order of the docs' table.
_FIELDS: dict[str, tuple[bool, str]] = {
    "name": (False, "a string"),
    "mjcf": (True, "a path to an MJCF file, relative to the YAML file"),
    "pd_gains": (True, "a mapping joint-name regex -> [kp, kd]"),
    "key_bodies": (True, "a list of body names"),
    "contact_bodies": (True, "a list of body names"),
    "foot_bodies": (True, "a list of two body names"),
    "default_root_height": (True, "a number (metres)"),
    "effort_limits": (False, "a mapping joint-name regex -> torque limit"),
    "default_joint_pos": (False, "a mapping joint name -> angle (rad)"),
    "joint_err_weights": (False, "a mapping body-name regex -> weight"),
    "control_dt": (False, "a positive number (seconds)"),
    "sim_dt": (False, "a positive number (seconds)"),
    "format_names": (False, "a mapping motion format -> the name its files use for this robot"),
    "retarget_maps": (False, "a mapping source skeleton -> retargeting map YAML, relative to the YAML file"),
    "licence": (False, "a string"),
    "description": (False, "a string"),
}

_cache: dict[tuple[str, float], RobotSpec] = {}


def is_robot_yaml(value: object) -> bool:
    """Whether a ``sim.robot`` value names a YAML robot spec file rather than a registered robot."""
    return isinstance(value, (str, Path)) and Path(str(value)).suffix.lower() in (".yaml", ".yml")


def load_robot_yaml(path: str | Path) -> RobotSpec:
    """The :class:`RobotSpec` described by the YAML file ``path`` (cached per file and mtime)."""
    p = Path(path).expanduser().resolve()
    if not p.is_file():
        raise RobotSpecError(f"robot spec file '{path}' not found (sim.robot)")
    key = (str(p), p.stat().st_mtime)
    if key not in _cache:
        _cache[key] = _build(p)
    return _cache[key]


def _build(p: Path) -> RobotSpec:
    import yaml

    def fail(field: str, msg: str) -> RobotSpecError:
        return RobotSpecError(f"robot spec '{p}': field '{field}' {msg}")

    try:
        raw = yaml.safe_load(p.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RobotSpecError(f"robot spec '{p}' is not readable YAML: {first}") from None
    if not isinstance(raw, dict):
        raise RobotSpecError(f"robot spec '{p}' must be a mapping of fields ({', '.join(_FIELDS)})")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise fail(unknown[0], f"is not a robot spec field; fields: {', '.join(_FIELDS)}")
    for name, (required, what) in _FIELDS.items():
        if required and name not in raw:
            raise fail(name, f"is missing: it must be {what}")

    def number(name: str, value: Any, positive: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (positive and value <= 0):
            raise fail(name, f"must be {_FIELDS[name][1]}, got {value!r}")
        return float(value)

    def names(name: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(name, f"must be {_FIELDS[name][1]}, got {value!r}")
        return tuple(value)

    def mapping(name: str, value: Any, width: int = 1) -> dict:
        if not isinstance(value, dict):
            raise fail(name, f"must be {_FIELDS[name][1]}, got {value!r}")
        out = {}
        for k, v in value.items():
            if width == 1:
                out[str(k)] = number(name, v)
            elif not isinstance(v, list) or len(v) != width:
                raise fail(f"{name}.{k}", f"must be [kp, kd], got {v!r}")
            else:
                out[str(k)] = tuple(number(name, x) for x in v)
        return out

    mjcf = raw["mjcf"]
    if not isinstance(mjcf, str) or not (p.parent / mjcf).is_file():
        raise fail("mjcf", f"must be {_FIELDS['mjcf'][1]}; '{mjcf}' is not a file next to it")
    foot = names("foot_bodies", raw["foot_bodies"])
    if len(foot) != 2:
        raise fail("foot_bodies", f"must be {_FIELDS['foot_bodies'][1]}, got {list(foot)!r}")
    kwargs: dict[str, Any] = dict(
        name=str(raw.get("name", p.stem)),
        mjcf=str((p.parent / mjcf).resolve()),
        pd_gains=mapping("pd_gains", raw["pd_gains"], width=2),
        key_bodies=names("key_bodies", raw["key_bodies"]),
        contact_bodies=names("contact_bodies", raw["contact_bodies"]),
        foot_bodies=foot,
        default_root_height=number("default_root_height", raw["default_root_height"], positive=True),
        spec_file=str(p),
    )
    for name in ("effort_limits", "default_joint_pos", "joint_err_weights"):
        if raw.get(name) is not None:
            kwargs[name] = mapping(name, raw[name])
    for name in ("format_names", "retarget_maps"):
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise fail(name, f"must be {_FIELDS[name][1]}, got {value!r}")
        if name == "retarget_maps":
            value = {k: str((p.parent / v).resolve()) for k, v in value.items()}
        kwargs[name] = {str(k): v for k, v in value.items()}
    for name in ("control_dt", "sim_dt"):
        if name in raw:
            kwargs[name] = number(name, raw[name], positive=True)
    for name in ("licence", "description"):
        if name in raw:
            kwargs[name] = str(raw[name])
    spec = RobotSpec(**kwargs)
    _check_against_mjcf(spec, fail)
    return spec


def _check_against_mjcf(spec: RobotSpec, fail) -> None:
    """Compile the MJCF and check every name the spec uses, so mistakes surface here, not mid-run."""
    try:
        spec.model
    except Exception as exc:  # MuJoCo's own message, first line
        raise fail("mjcf", f"does not compile: {str(exc).strip().splitlines()[0]}") from None
    try:
        spec.joint_names
    except ValueError as exc:
        raise fail("mjcf", str(exc)) from None
    bodies = set(spec.body_names)
    for field in ("key_bodies", "contact_bodies", "foot_bodies"):
        bad = [b for b in getattr(spec, field) if b not in bodies]
        if bad:
            raise fail(field, f"names no body of the MJCF: {', '.join(bad)}")
    for what, prop in (("pd_gains", "kp"), ("effort_limits", "effort_limit"), ("default_joint_pos", "default_pose")):
        try:
            getattr(spec, prop)
        except (KeyError, ValueError) as exc:
            raise fail(what, str(exc).strip("'\"")) from None

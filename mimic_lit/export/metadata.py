"""What an exported policy's numbers mean, as one JSON-able dict stored inside the exported file.

A robot-side program needs, besides the network: the robot and its joint order, the PD gains and
torque limits the policy was trained with, the control and physics periods, the observation
layout (which slice is what, in which frame), how actions map to joint targets, and, for tracking
policies, the reference motion and the termination rules of training. :func:`policy_metadata`
collects them from a built environment; ``mimic-lit sim2sim`` runs a policy from them alone.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from mimic_lit import __version__

__all__ = ["METADATA_KEY", "METADATA_VERSION", "obs_blocks", "policy_metadata"]

#: key of the metadata JSON in ONNX ``metadata_props`` and name of the TorchScript extra file
METADATA_KEY = "mimic_lit"
#: bumped when a field changes meaning
METADATA_VERSION = 1


def obs_blocks(env: Any) -> list[tuple[str, int, int]]:
    """(name, start, stop) of every block of the env's observation vector, in order (from the env's
    :class:`~mimic_lit.envs.spec.EnvSpec`): character and target blocks, the goal's, the ASE latent."""
    return [(b.name, b.start, b.stop) for b in env.spec.obs_blocks]


def _plain(value: Any) -> Any:
    """``value`` with dataclasses, tuples and numpy/torch scalars turned into JSON types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def policy_metadata(model: Any, env: Any, recipe: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a deployment needs to know about ``model`` acting in ``env`` (see module docstring).

    ``env`` is an environment of the data module the policy was trained with (one env is enough);
    ``recipe`` the recipe dict, stored for provenance.
    """
    sim, robot = env.sim, env.sim.robot
    mapping = env.action_mapping
    cfg = env.config
    skel = env.skeleton
    meta: dict[str, Any] = {
        "format_version": METADATA_VERSION,
        "mimic_lit_version": __version__,
        "method": type(model).__name__,
        "env": type(env).__name__,
        "robot": robot.name,
        "obs_dim": int(env.obs_dim),
        "action_dim": int(env.action_dim),
        "obs_blocks": [list(b) for b in obs_blocks(env)],
        "inputs": {"obs": "raw observation (B, obs_dim), layout in obs_blocks; normalised inside"},
        "outputs": {
            "actions": "normalised actions (B, D), unclipped",
            "joint_targets": "PD position targets [rad] (B, D) = action_offset + action_scale * clip(actions, -1, 1)",
        },
        "joint_names": list(robot.joint_names),
        "body_names": list(skel.body_names),
        "default_qpos": _plain(robot.default_pose),
        "kp": _plain(robot.kp),
        "kd": _plain(robot.kd),
        "effort_limit": _plain(robot.effort_limit),
        "action_offset": _plain(mapping.offset.cpu()),
        "action_scale": _plain(mapping.scale.cpu()),
        "control_dt": float(sim.control_dt),
        "sim_dt": float(sim.sim_dt),
        "quaternion_order": "wxyz",
        "observation": {
            "global_obs": bool(cfg.global_obs),
            "root_height_obs": bool(cfg.root_height_obs),
            "target_steps": [int(k) for k in cfg.target_steps],
            "target_dt": float(cfg.target_dt) if cfg.target_dt is not None else float(sim.control_dt),
            "key_bodies": [skel.body_names[int(i)] for i in env._key_ids.tolist()],
            "rotation_encoding": "tan-norm: rotated x axis then rotated z axis (6)",
        },
        "task": {
            "motion": cfg.motion,
            "episode_length": float(cfg.episode_length),
            "goal": None if cfg.goal is None else f"{type(cfg.goal).__module__}.{type(cfg.goal).__qualname__}",
            "tracks_reference": bool(env.spec.tracks_reference),
            "contact_bodies": [n for i, n in enumerate(skel.body_names) if i not in set(env._fall_ids.tolist())],
            "early_termination": bool(cfg.early_termination),
            "pose_termination": bool(cfg.pose_termination),
            "pose_termination_dist": float(cfg.pose_termination_dist),
            "contact_force_threshold": float(cfg.contact_force_threshold),
        },
        "recipe": _plain(recipe) if recipe is not None else None,
    }
    json.dumps(meta)  # fail here, with the offending field in the traceback, not inside a writer
    return meta

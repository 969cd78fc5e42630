"""Run an exported tracking policy in plain MuJoCo, as a robot-side program would: no Lightning, no
batched simulator, no training code; one ``MjData``, onnxruntime (or TorchScript) for the network,
and the file's metadata for everything else.

What comes from the metadata: the robot (its MJCF), PD gains and torque limits (written into the
position actuators), physics and control periods, the observation options (global or heading
frame, root height, targets ahead, key bodies) and the termination rules of training (ground
contact of a non-contact body, pose error). Observations are built with the same pure functions as
in training (:mod:`mimic_lit.envs.observations`), from the MuJoCo state and the reference clip.

Per episode: the robot is put at the reference state at the start time, then every control step
the policy's joint targets are held for ``control_dt / sim_dt`` physics steps. The episode ends
at the clip's end (success), at the time limit, or with a fall. Tracking errors are averaged over
every step of every episode (``sum / steps``), as ``mimic-lit validate`` does, so the two can be
compared for the same checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import mujoco
import numpy as np
import torch

from mimic_lit.envs.observations import CharState, char_obs, target_obs
from mimic_lit.errors import MimicLitError
from mimic_lit.export.writers import load_torchscript, read_metadata
from mimic_lit.robots import get_robot
from mimic_lit.sim.scene import SceneConfig, build_scene_spec
from mimic_lit.rotations import local_rotations, quat_rotate, quat_rotate_inverse

__all__ = ["EpisodeResult", "Sim2Sim", "Sim2SimReport", "load_runner"]

_F64 = torch.float64


def load_runner(path: str | os.PathLike) -> Callable[[np.ndarray], np.ndarray]:
    """``obs (1, obs_dim) -> joint targets (1, D)`` of an exported file (onnxruntime for ``.onnx``)."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        import onnxruntime as ort

        try:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's InvalidProtobuf / Fail / InvalidGraph: a damaged file
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MimicLitError(f"exported policy '{path}' cannot be loaded by onnxruntime ({first[:200]})") from exc
        return lambda obs: session.run(["joint_targets"], {"obs": obs.astype(np.float32)})[0]
    module = load_torchscript(path)

    def run(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(obs.astype(np.float32)))[1].numpy()

    return run


@dataclass
class EpisodeResult:
    """One sim2sim episode: its start time in the clip, length, how it ended, per-step errors."""

    start_time: float
    length_s: float
    end: str  # "SUCC" (clip end), "TIME" (time limit), "FAIL" (fall)
    errors: dict[str, np.ndarray] = field(default_factory=dict)  # per step after each step


@dataclass
class Sim2SimReport:
    """Episodes and their aggregate: errors are ``sum over all steps / steps`` (as validation)."""

    episodes: list[EpisodeResult]

    def summary(self) -> dict[str, float]:
        steps = sum(len(e.errors["body_pos_err"]) for e in self.episodes)
        out = {
            "episodes": float(len(self.episodes)),
            "episode_length_s": float(np.mean([e.length_s for e in self.episodes])),
            "fall_rate": float(np.mean([e.end == "FAIL" for e in self.episodes])),
            "success_rate": float(np.mean([e.end == "SUCC" for e in self.episodes])),
        }
        for key in ("body_pos_err", "joint_err", "root_pos_err"):
            out[key] = float(sum(e.errors[key].sum() for e in self.episodes) / max(steps, 1))
        return out


class Sim2Sim:
    """An exported policy on one plain MuJoCo simulation of its robot, tracking a reference clip.

    Args:
        policy_path: ``.onnx`` or TorchScript file written by ``mimic-lit export``.
        motion: clip or dataset to track (default: the training motion in the metadata).
        ground_friction: floor sliding friction (training default 1.0).
    """

    def __init__(self, policy_path: str | os.PathLike, motion: str | None = None, ground_friction: float = 1.0) -> None:
        from mimic_lit.motion.loading import load_motion_library

        self.meta = meta = read_metadata(policy_path)
        if not meta["task"].get("tracks_reference") or meta["task"].get("goal"):
            raise MimicLitError(
                f"sim2sim runs tracking policies (DeepMimic, ADD); this one is a {meta['method']} policy "
                f"of {meta['env']}{' with goal ' + meta['task']['goal'] if meta['task'].get('goal') else ''}"
            )
        self.policy = load_runner(policy_path)
        self.robot = get_robot(meta["robot"])
        self.model = self._build_model(ground_friction)
        self.data = mujoco.MjData(self.model)
        self.substeps = int(round(meta["control_dt"] / meta["sim_dt"]))
        self.motion = load_motion_library(motion or meta["task"]["motion"], self.robot.name, dtype=_F64)
        skel = self.motion.skeleton
        if list(skel.body_names) != meta["body_names"]:
            raise MimicLitError("the motion's skeleton does not match the bodies the policy was trained on")
        obs_cfg = meta["observation"]
        self.parents = torch.as_tensor(skel.parents, dtype=torch.long).clamp_min(0)
        self.key_ids = torch.as_tensor(skel.body_indices(obs_cfg["key_bodies"]), dtype=torch.long)
        self.ahead = np.asarray(obs_cfg["target_steps"], dtype=np.float64) * obs_cfg["target_dt"]
        contact = set(meta["task"]["contact_bodies"])
        self.body_ids = np.asarray([mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, n) for n in skel.body_names])
        self.fall_body_ids = np.asarray([b for b, n in zip(self.body_ids, skel.body_names) if n not in contact])
        self.scalar_cols = np.asarray(skel.scalar_coord_columns, dtype=np.int64)

    # ------------------------------------------------------------------ model
    def _build_model(self, ground_friction: float) -> mujoco.MjModel:
        """The robot's MJCF with a floor and position actuators whose gains are the metadata's."""
        meta = self.meta
        spec = build_scene_spec(self.robot, SceneConfig("pos", meta["sim_dt"], ground_friction, True, False))
        gains = {n: (kp, kd, lim) for n, kp, kd, lim in zip(meta["joint_names"], meta["kp"], meta["kd"], meta["effort_limit"])}
        for act in spec.actuators:
            kp, kd, limit = gains[act.target]
            act.set_to_position(kp=float(kp), kv=float(kd))
            act.forcerange = [-float(limit), float(limit)]
        model = spec.compile()
        joints = [model.joint(int(model.actuator_trnid[i, 0])).name for i in range(model.nu)]
        if joints != meta["joint_names"]:
            raise MimicLitError(f"actuator order {joints} differs from the policy's joint order {meta['joint_names']}")
        return model

    # ------------------------------------------------------------------ reference and state
    def _reference(self, clip: int, times: np.ndarray):
        ids = torch.full((len(times),), clip, dtype=torch.long)
        frame = self.motion.get_frames(ids, torch.as_tensor(times, dtype=_F64), bodies=True)
        return frame, local_rotations(frame.body_quat, self.parents)

    def _state(self) -> tuple[CharState, torch.Tensor]:
        d = self.data
        qpos, qvel = torch.from_numpy(d.qpos.copy()), torch.from_numpy(d.qvel.copy())
        body_pos = torch.from_numpy(d.xpos[self.body_ids].copy())
        body_quat = torch.from_numpy(d.xquat[self.body_ids].copy())
        root_quat = qpos[3:7]
        state = CharState(
            qpos[None, :3], root_quat[None], qvel[None, :3], quat_rotate(root_quat, qvel[3:6])[None],
            local_rotations(body_quat, self.parents)[None], qvel[None, 6:], body_pos[None, self.key_ids],
        )
        return state, body_pos

    def _observe(self, state: CharState, frame, local) -> np.ndarray:
        o = self.meta["observation"]
        tar = target_obs(
            state.root_pos, state.root_quat, frame.root_pos[None, 1:], frame.root_quat[None, 1:], local[None, 1:],
            frame.body_pos[None, 1:][:, :, self.key_ids], o["global_obs"], o["root_height_obs"],
        )
        obs = torch.cat([char_obs(state, o["global_obs"], o["root_height_obs"]), tar], dim=-1).numpy()
        if obs.shape[1] != self.meta["obs_dim"]:
            raise MimicLitError(f"built a {obs.shape[1]}-d observation, the policy takes {self.meta['obs_dim']}")
        return obs

    def _fell(self, state: CharState, body_pos: torch.Tensor, frame) -> bool:
        task, m, d = self.meta["task"], self.model, self.data
        if not task["early_termination"]:
            return False
        geoms = d.contact.geom[: d.ncon]
        if len(geoms):
            bodies = m.geom_bodyid[geoms]
            ground = (bodies == 0).any(1) & np.isin(bodies, self.fall_body_ids).any(1)
            force = np.zeros(6)
            for i in np.flatnonzero(ground):  # only the few contacts of fallen bodies
                mujoco.mj_contactForce(m, d, int(i), force)
                if np.abs(force[:3]).max() > task["contact_force_threshold"]:
                    return True
        if task["pose_termination"]:
            ref_pos = frame.body_pos[0]
            if self.meta["observation"]["global_obs"]:
                diff = body_pos - ref_pos
            else:
                diff = quat_rotate_inverse(state.root_quat[0].expand(len(body_pos), 4), body_pos - state.root_pos[0]) - \
                    quat_rotate_inverse(frame.root_quat[0].expand(len(body_pos), 4), ref_pos - ref_pos[0])
            if float(diff.square().sum(-1).max()) > task["pose_termination_dist"] ** 2:
                return True
        return False

    # ------------------------------------------------------------------ episodes
    def run_episode(self, clip: int = 0, start_time: float = 0.0, max_seconds: float | None = None) -> EpisodeResult:
        """Play one episode from the reference state of ``clip`` at ``start_time``."""
        m, d, meta = self.model, self.data, self.meta
        dt = float(meta["control_dt"])
        limit = max_seconds if max_seconds is not None else meta["task"]["episode_length"]
        max_steps = max(1, int(np.ceil(limit / dt - 1e-6)))
        duration = float(self.motion.clip_duration[clip])
        wraps = bool(self.motion.clip_wrap[clip])
        times = start_time + np.concatenate([[0.0], self.ahead])
        frame, local = self._reference(clip, times)

        mujoco.mj_resetData(m, d)
        root_quat = frame.root_quat[0]
        d.qpos[:] = torch.cat([frame.root_pos[0], root_quat, frame.joint_pos[0]]).numpy()
        d.qvel[:] = torch.cat([frame.root_lin_vel[0], quat_rotate_inverse(root_quat, frame.root_ang_vel[0]),
                               frame.joint_vel[0]]).numpy()
        mujoco.mj_forward(m, d)
        errors: dict[str, list[float]] = {"body_pos_err": [], "joint_err": [], "root_pos_err": []}
        end, steps = "TIME", 0
        while True:
            state, _ = self._state()
            d.ctrl[:] = self.policy(self._observe(state, frame, local))[0]
            for _ in range(self.substeps):
                mujoco.mj_step(m, d)
            mujoco.mj_forward(m, d)  # bodies and contacts of the state reached
            steps += 1
            now = start_time + steps * dt
            frame, local = self._reference(clip, now + np.concatenate([[0.0], self.ahead]))
            state, body_pos = self._state()
            rel = (body_pos - state.root_pos) - (frame.body_pos[0] - frame.root_pos[0])
            errors["body_pos_err"].append(float(rel.norm(dim=-1).mean()))
            cols = self.scalar_cols
            errors["joint_err"].append(float(np.abs(d.qpos[7:][cols] - frame.joint_pos[0].numpy()[cols]).mean()))
            errors["root_pos_err"].append(float((state.root_pos[0] - frame.root_pos[0]).norm()))
            if steps > 1 and self._fell(state, body_pos, frame):
                end = "FAIL"
                break
            if not wraps and now >= duration - 1e-5:
                end = "SUCC"
                break
            if steps >= max_steps:
                break
        return EpisodeResult(start_time, steps * dt, end, {k: np.asarray(v) for k, v in errors.items()})

    def evaluate(
        self, episodes: int = 1, random_start: bool = False, seed: int = 0, max_seconds: float | None = None,
        progress: Callable[[int], Any] | None = None,
    ) -> Sim2SimReport:
        """``episodes`` episodes on clips drawn by the motion's weights, from the clip start or, with
        ``random_start``, from uniform random times (seeded)."""
        gen = torch.Generator().manual_seed(seed)
        results = []
        for i in range(episodes):
            clip = int(self.motion.sample_clips(1, generator=gen)[0])
            start = float(self.motion.sample_times(torch.tensor([clip]), generator=gen)[0]) if random_start else 0.0
            results.append(self.run_episode(clip, start, max_seconds))
            if progress is not None:
                progress(i + 1)
        return Sim2SimReport(results)

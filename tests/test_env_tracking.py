"""TrackingEnv on real MuJoCo: reward at the reference, monotonic terms, done flags, auto-reset,
reference state init, observation layout, action mapping, determinism and exact resume."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from mimic_lit.envs.task import make_env as build_env
from mimic_lit.envs.actions import ActionMapping
from mimic_lit.envs.observations import CharState, char_obs
from mimic_lit.envs.protocol import Done, VecEnv
from mimic_lit.envs.tracking import TrackingConfig, TrackingEnv
from mimic_lit.errors import MimicLitError
from mimic_lit.motion.library import MotionLibrary
from mimic_lit.sim.base import SimConfig, make_simulator
from mimic_lit.rotations import heading_quat_inv, quat_conj, quat_from_axis_angle, quat_mul, quat_rotate, quat_to_tan_norm

HUMANOID_WALK = "shipped:humanoid/walk"
G1_WALK = "shipped:g1/kimodo_walk"
K1_WALK = "shipped:k1/deepmimic_walk"


@pytest.fixture(autouse=True)
def _tmp_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MuJoCo may write MUJOCO_LOG.TXT into the working directory


def make_env(robot: str = "humanoid", n: int = 4, motion: str = HUMANOID_WALK, **kw) -> TrackingEnv:
    return build_env(SimConfig(robot=robot, num_envs=n, nthread=1), TrackingConfig(motion=motion, **kw))


def ref_pd_actions(env: TrackingEnv) -> torch.Tensor:
    """Actions whose PD targets are the reference joint angles one step ahead (a crude tracker)."""
    ref = env.motion.get_frames(env.clip_ids, env.motion_time + env.control_dt)
    return env.action_mapping.to_actions(ref.joint_pos.to(env.sim.dtype))


def set_state(env: TrackingEnv, ids: list[int], qpos: torch.Tensor, qvel: torch.Tensor | None = None) -> None:
    env.sim.reset(torch.as_tensor(ids), qpos, qvel)


# ------------------------------------------------------------------------------ reward at the reference
@pytest.mark.parametrize(("robot", "motion"), [("humanoid", HUMANOID_WALK), ("g1", G1_WALK)])
def test_reward_is_one_when_the_sim_equals_the_reference(robot, motion):
    env = make_env(robot, 6, motion)
    env.reset()  # random clip times, generally between two frames (interpolated reference)
    reward, terms, _ = env.evaluate()
    assert torch.allclose(reward, torch.ones_like(reward), atol=1e-4), reward
    for name, t in terms.items():
        assert torch.allclose(t, torch.ones_like(t), atol=1e-4), name
    # Explicitly: put the simulator into the current reference frame, then compare again.
    ref = env.reference_frame()
    qvel = torch.cat([ref.root_lin_vel, quat_rotate(quat_conj(ref.root_quat), ref.root_ang_vel), ref.joint_vel], -1)
    set_state(env, list(range(6)), torch.cat([ref.root_pos, ref.root_quat, ref.joint_pos], -1), qvel)
    reward, _, errors = env.evaluate()
    assert torch.allclose(reward, torch.ones_like(reward), atol=1e-4)
    assert float(errors["root_ang_vel_err"].max()) < 1e-8  # the local/world angular velocity convention


def test_reset_obs_equal_the_simulator_observation():
    """reset() builds observations from the reference it put the sim in; they match the sim's."""
    for robot, motion in (("humanoid", HUMANOID_WALK), ("g1", G1_WALK)):
        env = make_env(robot, 5, motion)
        obs = env.reset()
        assert torch.allclose(obs, env.observe(), atol=1e-4)


def test_reward_terms_fall_as_the_sim_drifts_from_the_reference():
    """Env i perturbed by i * delta away from the reference: each term decreases with i."""
    n = 6
    env = make_env("humanoid", n, rand_reset=False)
    env.reset()
    base_q, base_v = env.sim.qpos.clone(), env.sim.qvel.clone()
    amount = torch.linspace(0.0, 0.5, n, dtype=base_q.dtype).unsqueeze(1)
    elbow = 7 + env.sim.joint_names.index("right_elbow")
    cases = {
        "pose": (base_q + amount * (torch.arange(base_q.shape[1]) == elbow), base_v),
        "key_pos": (base_q + amount * (torch.arange(base_q.shape[1]) == elbow), base_v),
        "vel": (base_q, base_v + amount * (torch.arange(base_v.shape[1]) >= 6)),
        "root_pose": (base_q + amount * (torch.arange(base_q.shape[1]) == 0), base_v),
        "root_vel": (base_q, base_v + amount * (torch.arange(base_v.shape[1]) == 1)),
    }
    for term, (q, v) in cases.items():
        set_state(env, list(range(n)), q, v)
        reward, terms, _ = env.evaluate()
        t = terms[term]
        assert t[0].item() == pytest.approx(1.0, abs=1e-4)
        assert bool((t[1:] < t[:-1]).all()), f"{term}: {t.tolist()}"
        assert bool((reward[1:] < reward[:-1]).all()), term


# ------------------------------------------------------------------------------ observations
def test_humanoid_obs_dim_matches_the_hand_count():
    env = make_env("humanoid", 2)
    # MimicKit §3.1: 15 bodies, 28 DoF, 5 key bodies.
    char = 1 + 6 + 3 + 3 + 14 * 6 + 28 + 5 * 3
    target = 3 + 6 + 14 * 6 + 5 * 3
    assert char == 140 and env.layout.char_dim == char
    assert env.obs_dim == char + 3 * target == 464
    assert env.reset().shape == (2, 464) and env.action_dim == 28
    slices = env.layout.slices
    assert slices["root_height"] == slice(0, 1) and slices["joint_rot"] == slice(13, 97)
    assert slices["key_pos"] == slice(125, 140) and slices["target3/key_pos"].stop == 464
    assert sum(s.stop - s.start for s in slices.values()) == 464
    assert isinstance(env, VecEnv)


def test_g1_obs_layout():
    env = make_env("g1", 2, G1_WALK, root_height_obs=False, target_steps=[1, 5])
    char = 6 + 3 + 3 + 30 * 6 + 29 + 5 * 3
    assert env.obs_dim == char + 2 * (3 + 6 + 30 * 6 + 15)
    assert "target5/root_rot" in env.layout.slices and "root_height" not in env.layout.slices
    assert env.reset().shape == (2, env.obs_dim)


def test_no_target_frames():
    env = make_env("humanoid", 2, target_steps=[])
    assert env.obs_dim == env.layout.char_dim == 140
    assert env.reset().shape == (2, 140) and env.step(ref_pd_actions(env)).obs.shape == (2, 140)


def test_obs_blocks_hold_what_the_layout_says():
    env = make_env("humanoid", 3)
    obs = env.reset()
    s = env.layout.slices
    sim = env.sim
    assert torch.allclose(obs[:, s["root_height"]], sim.root_pos[:, 2:3], atol=1e-5)
    assert torch.allclose(obs[:, s["root_rot"]], quat_to_tan_norm(sim.root_quat), atol=1e-5)
    assert torch.allclose(obs[:, s["root_lin_vel"]], sim.root_lin_vel, atol=1e-4)
    assert torch.allclose(obs[:, s["joint_vel"]], sim.joint_vel, atol=1e-4)
    key = sim.body_pos[:, env._key_ids] - sim.root_pos.unsqueeze(1)
    assert torch.allclose(obs[:, s["key_pos"]], key.reshape(3, -1), atol=1e-5)
    # First target frame: the reference one control step ahead.
    ahead = env.motion.get_frames(env.clip_ids, env.motion_time + env.control_dt, bodies=True)
    rel = ahead.root_pos - sim.root_pos
    rel[:, 2] = ahead.root_pos[:, 2]
    assert torch.allclose(obs[:, s["target1/root_pos"]], rel, atol=1e-5)
    assert torch.allclose(obs[:, s["target1/root_rot"]], quat_to_tan_norm(ahead.root_quat), atol=1e-5)


def test_tan_norm_is_rotated_x_and_z_axes():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(16, 4, generator=gen, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True)
    tn = quat_to_tan_norm(q)
    ex = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).expand(16, 3)
    ez = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand(16, 3)
    assert torch.allclose(tn, torch.cat([quat_rotate(q, ex), quat_rotate(q, ez)], -1), atol=1e-12)


def test_heading_obs_are_yaw_invariant_and_global_obs_are_not():
    gen = torch.Generator().manual_seed(1)
    n = 4
    q = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    state = CharState(
        torch.randn(n, 3, generator=gen, dtype=torch.float64),
        q / q.norm(dim=-1, keepdim=True),
        torch.randn(n, 3, generator=gen, dtype=torch.float64),
        torch.randn(n, 3, generator=gen, dtype=torch.float64),
        torch.nn.functional.normalize(torch.randn(n, 5, 4, generator=gen, dtype=torch.float64), dim=-1),
        torch.randn(n, 7, generator=gen, dtype=torch.float64),
        torch.randn(n, 2, 3, generator=gen, dtype=torch.float64),
    )
    up = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64).expand(n, 3)
    yaw = quat_from_axis_angle(up, torch.full((n,), 0.8, dtype=torch.float64))
    rot = CharState(
        quat_rotate(yaw, state.root_pos),
        quat_mul(yaw, state.root_quat),
        quat_rotate(yaw, state.root_lin_vel),
        quat_rotate(yaw, state.root_ang_vel),
        state.local_rot,
        state.joint_vel,
        quat_rotate(yaw.unsqueeze(1).expand(n, 2, 4), state.key_pos),
    )
    assert torch.allclose(char_obs(state, global_obs=False), char_obs(rot, global_obs=False), atol=1e-10)
    assert not torch.allclose(char_obs(state, global_obs=True), char_obs(rot, global_obs=True), atol=1e-3)
    h = heading_quat_inv(quat_mul(yaw, state.root_quat))
    assert torch.allclose(h[:, 1:3], torch.zeros(n, 2, dtype=torch.float64))


def test_non_global_env_runs_and_matches_layout():
    env = make_env("humanoid", 3, global_obs=False)
    obs = env.reset()
    assert obs.shape == (3, 464) and torch.isfinite(obs).all()
    reward, _, _ = env.evaluate()
    assert torch.allclose(reward, torch.ones_like(reward), atol=1e-4)
    res = env.step(ref_pd_actions(env))
    assert torch.isfinite(res.obs).all() and torch.isfinite(res.reward).all()


# ------------------------------------------------------------------------------ actions
def test_action_mapping_formula_and_clipping():
    limits = np.array([[-1.0, 3.0], [-0.5, 0.5], [0.0, 2.0], [-np.inf, np.inf]])
    m = ActionMapping.from_limits(limits, hinge_scale=1.4)
    assert m.offset.tolist() == pytest.approx([1.0, 0.0, 1.0, 0.0])
    assert m.scale.tolist() == pytest.approx([2.8, 0.7, 1.4, 1.4 * math.pi])
    a = torch.tensor([[0.5, -2.0, 1.0, 0.1]])
    t = m.to_targets(a)
    assert t.tolist()[0] == pytest.approx([1.0 + 1.4, -0.7, 2.4, 0.14 * math.pi], rel=1e-6)
    assert torch.allclose(m.to_actions(m.to_targets(a.clamp(-1, 1))), a.clamp(-1, 1), atol=1e-6)
    z = ActionMapping.from_limits(limits, hinge_scale=1.4, zero_center=True)
    assert z.offset.tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0])
    assert z.scale.tolist()[:3] == pytest.approx([4.2, 0.7, 2.8])  # 1.4 * max(|hi|, |lo|)
    c = ActionMapping.from_limits(limits, hinge_scale=1.4, center=np.array([2.0, -0.5, 0.5, 1.0]))
    assert c.offset.tolist() == pytest.approx([2.0, -0.5, 0.5, 1.0])
    assert c.scale.tolist()[:3] == pytest.approx([4.2, 1.4, 2.1])  # 1.4 * max(|hi - c|, |lo - c|)
    with pytest.raises(MimicLitError, match="outside the joint limits at joints \\[1\\]"):
        ActionMapping.from_limits(limits, center=np.array([0.0, 0.9, 1.0, 0.0]))
    with pytest.raises(MimicLitError, match="not both"):
        ActionMapping.from_limits(limits, zero_center=True, center=np.zeros(4))


def test_default_centred_actions_hold_the_standing_pose():
    """Action 0 is the K1's default pose (arms down), not its zero pose (arms straight out)."""
    env = make_env("k1", 2, K1_WALK, default_center_action=True)
    pose = torch.as_tensor(env.sim.robot.default_pose, dtype=torch.float32)[7:]
    assert torch.allclose(env.action_mapping.offset, pose)
    assert float(pose.abs().max()) > 1.0  # the shoulders' roll: a real difference from zero centring
    with pytest.raises(MimicLitError, match="pick one action centre"):
        TrackingConfig(motion=K1_WALK, zero_center_action=True, default_center_action=True)


def test_env_action_bounds_come_from_the_robot_limits():
    env = make_env("g1", 2, G1_WALK, zero_center_action=True)
    lim = torch.as_tensor(env.sim.robot.joint_limits, dtype=torch.float32)
    assert torch.all(env.action_mapping.offset == 0)
    assert torch.allclose(env.action_mapping.scale, 1.4 * lim.abs().amax(-1))


# ------------------------------------------------------------------------------ done flags
def test_time_limit_ends_with_time_after_episode_length():
    env = make_env("humanoid", 3, episode_length=0.2, early_termination=False)
    env.reset()
    steps = math.ceil(0.2 / env.control_dt - 1e-6)
    for i in range(1, steps + 1):
        res = env.step(ref_pd_actions(env))
        expected = Done.TIME if i == steps else Done.NULL
        assert (res.done == int(expected)).all(), (i, res.done)
    assert torch.allclose(res.info["episode_length"], torch.full((3,), steps * env.control_dt), atol=1e-5)
    assert (res.info["fell"] == 0).all()
    assert (env.episode_time == 0).all()  # auto-reset
    # TIME is not terminal: the terminal observation is the state reached, not the new episode's.
    assert not torch.allclose(res.terminal_obs, res.obs)


def test_clamp_clip_end_is_success():
    env = make_env("humanoid", 2, motion="shipped:humanoid/kick", rand_reset=False, early_termination=False)
    env.reset()
    duration = float(env.motion.clip_duration[0])
    steps = math.ceil(duration / env.control_dt - 1e-4)
    for i in range(1, steps + 1):
        res = env.step(ref_pd_actions(env))
        assert (res.done == int(Done.SUCC if i == steps else Done.NULL)).all(), (i, res.done)


def lying_qpos(env: TrackingEnv, n: int) -> torch.Tensor:
    """(n, nq) the robot's default pose lying on its back, body origins 0.1 m above the ground
    (the torso capsule touches it)."""
    q = torch.as_tensor(env.sim.robot.default_pose, dtype=torch.float32).repeat(n, 1)
    q[:, 2] = 0.1
    q[:, 3:7] = quat_from_axis_angle(torch.tensor([[0.0, 1.0, 0.0]]).expand(n, 3), torch.full((n,), -math.pi / 2))
    return q


def test_fall_is_fail_but_not_on_the_step_out_of_a_reset():
    env = make_env("humanoid", 4, pose_termination=False)
    env.reset()
    set_state(env, [1, 3], lying_qpos(env, 2))  # the torso lies on the ground from t = 0
    first = env.step(ref_pd_actions(env))
    torso = env.sim.body_names.index("torso")
    assert bool((env.sim.contact_forces[[1, 3], torso].abs().amax(-1) > 0.1).all())
    assert (first.done == int(Done.NULL)).all()  # no failure on the transition out of t = 0
    ended_at = {}
    for i in range(2, 8):
        res = env.step(ref_pd_actions(env))
        for e in res.done.nonzero().squeeze(1).tolist():
            info = res.info
            ended_at.setdefault(e, (i, int(res.done[e]), info["fell"][e].item(), info["episode_length"][e].item()))
        assert torch.isnan(res.info["fell"][res.done == 0]).all()
    assert sorted(ended_at) == [1, 3]  # the standing envs keep going
    for step, flag, fell, length in ended_at.values():
        assert flag == int(Done.FAIL) and fell == 1.0 and length == pytest.approx(step * env.control_dt, abs=1e-5)


def test_no_fail_without_early_termination():
    env = make_env("humanoid", 2, early_termination=False)
    env.reset()
    set_state(env, [0, 1], lying_qpos(env, 2))
    for _ in range(5):
        assert (env.step(ref_pd_actions(env)).done == 0).all()


def test_pose_deviation_is_fail():
    env = make_env("humanoid", 3, contact_bodies=[b for b in make_env("humanoid", 1).sim.body_names])
    env.reset()
    q = env.sim.qpos.clone()
    q[0, 0] += 1.5  # env 0 teleported 1.5 m away from its reference
    set_state(env, [0, 1, 2], q, env.sim.qvel.clone())
    env.step(ref_pd_actions(env))
    res = env.step(ref_pd_actions(env))
    assert res.done.tolist() == [int(Done.FAIL), 0, 0]


def test_uncontrolled_robot_falls_and_every_env_restarts():
    env = make_env("humanoid", 4)
    env.reset()
    fell = torch.zeros(4, dtype=torch.bool)
    for _ in range(90):  # 3 s of mid-range PD targets: nobody stays up
        res = env.step(torch.zeros(4, env.action_dim))
        fell |= res.done == int(Done.FAIL)
    assert fell.all()


def test_auto_reset_touches_only_ended_envs():
    env = make_env("humanoid", 4, pose_termination=False)
    env.reset()
    set_state(env, [1, 3], lying_qpos(env, 2))
    for _ in range(8):
        clips, offsets, t_before = env.clip_ids.clone(), env.motion_time.clone(), env.episode_time.clone()
        qpos_before = env.sim.qpos.clone()
        res = env.step(ref_pd_actions(env))
        ended = res.done != int(Done.NULL)
        if ended.any():
            break
    assert ended.any() and not ended[[0, 2]].any()
    t = env.episode_time
    assert torch.allclose(t[~ended], t_before[~ended] + env.control_dt) and (t[ended] == 0).all()
    assert torch.equal(env.clip_ids[~ended], clips[~ended])
    assert torch.allclose(env.motion_time[~ended], offsets[~ended] + env.control_dt)
    assert torch.equal(res.terminal_obs[~ended], res.obs[~ended])
    assert not torch.allclose(res.terminal_obs[ended], res.obs[ended])
    # The restarted envs are at their new reference (reward 1), the others moved on physically.
    reward, _, _ = env.evaluate()
    assert torch.allclose(reward[ended], torch.ones(int(ended.sum())), atol=1e-4)
    assert (env.sim.qpos[~ended] != qpos_before[~ended]).any(-1).all()
    assert torch.allclose(res.obs, env.observe(), atol=1e-4)


# ------------------------------------------------------------------------------ reference state init
def test_rsi_samples_clips_by_weight_and_times_uniformly(tmp_path):
    dataset = tmp_path / "mix.yaml"
    dataset.write_text(
        "robot: humanoid\nmotions:\n  - file: shipped:humanoid/walk\n    weight: 1\n"
        "  - file: shipped:humanoid/run\n    weight: 3\n"
    )
    n = 400
    env = build_env(SimConfig(robot="humanoid", num_envs=n, nthread=1), TrackingConfig(motion=str(dataset)))
    env.reset()
    share_run = (env.clip_ids == 1).double().mean().item()
    assert share_run == pytest.approx(0.75, abs=0.07)
    dur = env.motion.clip_duration[env.clip_ids]
    frac = env.motion_time / dur
    assert bool((frac >= 0).all() and (frac <= 1).all())
    assert frac.mean().item() == pytest.approx(0.5, abs=0.06) and frac.std().item() == pytest.approx(0.289, abs=0.04)
    fixed = make_env("humanoid", 8, rand_reset=False)
    fixed.reset()
    assert (fixed.motion_time == 0).all()


def test_same_seed_same_rollout_and_different_seed_differs():
    def rollout(seed: int) -> list[torch.Tensor]:
        env = make_env("humanoid", 3, seed=seed)
        out = [env.reset()]
        for _ in range(20):
            res = env.step(ref_pd_actions(env))
            out += [res.obs, res.reward, res.done]
        return out

    a, b, c = rollout(3), rollout(3), rollout(4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_reference_window_matches_a_fresh_query():
    """The sliding window (refilled every CHUNK steps, written on resets) holds the right frames."""
    for kw in ({}, {"target_steps": [1, 3]}, {"target_dt": 0.05}, {"target_steps": [2, 12]}):
        env = make_env("humanoid", 4, episode_length=0.3, **kw)
        env.reset()
        for i in range(3 * env.reference.CHUNK + 1):  # crosses refills, episode ends and resets
            env.step(ref_pd_actions(env))
            if i % 5 and i != 3 * env.reference.CHUNK:
                continue
            target_dt = kw.get("target_dt", env.control_dt)
            ahead = [0] + list(kw.get("target_steps", [1, 2, 3]))
            for j, k in enumerate(ahead):
                fresh = env.motion.get_frames(env.clip_ids, env.motion_time + k * target_dt, bodies=True)
                frame, local = env.reference.current()
                assert torch.allclose(frame.body_pos[:, j], fresh.body_pos, atol=1e-5), (kw, i, k)
                assert torch.allclose(frame.joint_vel[:, j], fresh.joint_vel, atol=1e-4), (kw, i, k)
                assert torch.allclose(frame.root_quat[:, j], fresh.root_quat, atol=1e-6), (kw, i, k)
        ref = env.reference_frame()
        assert torch.equal(ref.body_pos, env.reference.current()[0].body_pos[:, 0])


# ------------------------------------------------------------------------------ construction
def test_robot_mismatch_is_a_one_line_error():
    with pytest.raises(MimicLitError) as err:
        build_env(SimConfig(robot="humanoid", num_envs=1), TrackingConfig(motion=G1_WALK))
    assert "'g1'" in str(err.value) and "'humanoid'" in str(err.value) and "\n" not in str(err.value)
    sim = make_simulator(SimConfig(robot="humanoid", num_envs=1))
    with pytest.raises(MimicLitError):
        TrackingEnv(sim, MotionLibrary([G1_WALK]), TrackingConfig())


def test_config_is_filled_by_jsonargparse():
    from jsonargparse import ArgumentParser

    parser = ArgumentParser()
    parser.add_class_arguments(TrackingConfig, "env")
    cfg = parser.parse_string(
        "env:\n  motion: shipped:g1/kimodo_walk\n  target_steps: [1, 2]\n  zero_center_action: true\n"
        "  joint_err_weights: {'.*_knee_link': 0.3}\n  reward_pose_w: 0.4\n"
    )
    config = TrackingConfig(**cfg.env.as_dict())
    assert config.target_steps == [1, 2] and config.zero_center_action and config.reward_pose_w == 0.4
    assert config.joint_err_weights == {".*_knee_link": 0.3}


# ------------------------------------------------------------------------------ exact resume
def _sim_has_state_dict() -> bool:
    from mimic_lit.sim.mujoco_cpu import MujocoCPU

    return hasattr(MujocoCPU, "state_dict") and hasattr(MujocoCPU, "load_state_dict")


@pytest.mark.skipif(not _sim_has_state_dict(), reason="MujocoCPU.state_dict() not implemented yet")
def test_state_dict_round_trip_gives_bit_identical_steps():
    env = make_env("g1", 4, G1_WALK, episode_length=0.5)
    env.reset()
    for _ in range(7):
        env.step(ref_pd_actions(env))
    buffer = io.BytesIO()
    torch.save(env.state_dict(), buffer)  # as a checkpoint holds it, loaded the safe way
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    gen = torch.Generator().manual_seed(0)
    actions = [ref_pd_actions(env) + 0.05 * torch.randn(4, env.action_dim, generator=gen) for _ in range(30)]
    first = [env.step(a) for a in actions]  # crosses episode ends: RSI draws from the generator
    assert any((r.done != 0).any() for r in first)

    other = make_env("g1", 4, G1_WALK, episode_length=0.5, seed=123)  # a fresh env, another seed
    other.reset()
    other.load_state_dict(state)
    second = [other.step(a) for a in actions]
    for r1, r2 in zip(first, second):
        assert torch.equal(r1.obs, r2.obs) and torch.equal(r1.reward, r2.reward) and torch.equal(r1.done, r2.done)
        assert torch.equal(r1.terminal_obs, r2.terminal_obs)


@pytest.mark.skipif(not _sim_has_state_dict(), reason="MujocoCPU.state_dict() not implemented yet")
def test_state_dict_round_trip_with_half_used_reset_draws():
    """Saved while the pre-drawn resets are partly used: the resumed env draws the same next ones."""
    n = 6
    env = make_env("humanoid", n)
    env.reset()
    gen = torch.Generator().manual_seed(0)
    for _ in range(120):  # mid-range PD targets: the envs fall one by one
        env.step(0.3 * torch.randn(n, env.action_dim, generator=gen))
        if 0 < env.reference._inits_next < env.reference._inits[0].shape[0]:
            break
    assert 0 < env.reference._inits_next < env.reference._inits[0].shape[0]
    state = env.state_dict()
    actions = [0.3 * torch.randn(n, env.action_dim, generator=gen) for _ in range(60)]
    first = [env.step(a) for a in actions]
    assert sum(int((r.done != 0).sum()) for r in first) > n  # the resumed part refills the draws too
    other = make_env("humanoid", n, seed=99)
    other.load_state_dict(state)
    for a, r1 in zip(actions, first):
        r2 = other.step(a)
        assert torch.equal(r1.obs, r2.obs) and torch.equal(r1.reward, r2.reward) and torch.equal(r1.done, r2.done)

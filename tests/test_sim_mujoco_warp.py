"""MujocoWarp (the GPU backend) against MujocoCPU, run on Warp's CPU device at a tiny size.

Both backends step the same compiled scene, so over a few control steps their states must agree
to float32 accuracy (MuJoCo-Warp computes in float32, MuJoCo C in float64). Later, contact events
make the two drift apart, as any two float precisions do; the test stays inside the first 200 ms.
The first build compiles Warp's kernels for the G1 on the CPU (about 1-2 minutes, cached in
``~/.cache/warp``), hence one module-scoped pair of simulators.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("mujoco_warp")

from mimic_lit.commands._motion_arg import load_motion_arg  # noqa: E402
from mimic_lit.sim.base import SimConfig, SimConfigError, make_simulator  # noqa: E402

pytestmark = pytest.mark.slow
N = 3


@pytest.fixture(scope="module")
def sims():
    cpu = make_simulator(SimConfig(robot="g1", num_envs=N, dtype="float64"))
    warp = make_simulator(SimConfig(robot="g1", num_envs=N, dtype="float64", backend="mujoco_warp"))
    return cpu, warp


def start_states(sim) -> tuple[torch.Tensor, torch.Tensor]:
    """Three different starts: standing, perturbed joints with velocities, a walk frame in the air."""
    q = torch.tensor(sim.robot.default_pose, dtype=torch.float64).repeat(N, 1)
    g = torch.Generator().manual_seed(0)
    q[1, 7:] += 0.1 * torch.randn(q.shape[1] - 7, generator=g, dtype=torch.float64)
    clip = load_motion_arg("g1/deepmimic_walk", None)
    q[2, :3] = torch.tensor([0.0, 0.0, float(clip.root_pos[10, 2]) + 0.02])
    q[2, 3:7] = torch.as_tensor(clip.root_quat[10])
    q[2, 7:] = torch.as_tensor(clip.joint_pos[10])
    v = torch.zeros(N, sim.qvel.shape[1], dtype=torch.float64)
    v[1, 6:] = 0.5 * torch.randn(v.shape[1] - 6, generator=g, dtype=torch.float64)
    return q, v


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def test_warp_agrees_with_cpu_for_ten_control_steps(sims):
    cpu, warp = sims
    assert type(warp).__name__ == "MujocoWarp" and warp.body_names == cpu.body_names
    q, v = start_states(cpu)
    ids = torch.arange(N)
    for sim in sims:
        sim.reset(ids, q, v)
    # After a reset the getters already describe the new state (kinematics ran).
    assert max_diff(warp.qpos, q) < 1e-6
    assert max_diff(warp.body_pos, cpu.body_pos) < 1e-5
    assert max_diff(warp.body_lin_vel, cpu.body_lin_vel) < 1e-5
    assert not warp.ground_contact.any()  # reset worlds report no contact until they step
    for k in range(10):
        targets = q[:, 7:].float() + 0.2 * torch.sin(torch.tensor(0.3 * k))
        for sim in sims:
            sim.step(targets)
        assert warp.qpos.dtype == torch.float64 and warp.qpos.shape == cpu.qpos.shape
        assert max_diff(warp.qpos, cpu.qpos) < 1e-4, k
        assert max_diff(warp.qvel, cpu.qvel) < 1e-2, k
        assert max_diff(warp.body_pos, cpu.body_pos) < 1e-4, k
        assert max_diff(warp.body_quat, cpu.body_quat) < 1e-4, k
        assert max_diff(warp.body_lin_vel, cpu.body_lin_vel) < 1e-3, k
        assert max_diff(warp.body_ang_vel, cpu.body_ang_vel) < 1e-2, k
        assert max_diff(warp.root_ang_vel, cpu.root_ang_vel) < 1e-2, k
        assert torch.equal(warp.ground_contact, cpu.ground_contact), k
        assert max_diff(warp.contact_forces, cpu.contact_forces) < 1e-2 * float(cpu.contact_forces.abs().max()) + 1e-3
        assert max_diff(warp.joint_torque, cpu.joint_torque) < 1e-2, k
    assert warp.ground_contact[:, 0].logical_not().all()  # the pelvis never touched the floor...
    assert warp.ground_contact.any()  # ...but feet did, in both backends alike


def test_warp_state_dict_continues_the_same_trajectory(sims):
    _, warp = sims
    targets = torch.tensor(warp.robot.default_pose[7:], dtype=torch.float32).repeat(N, 1)
    warp.step(targets)
    saved = warp.state_dict()
    for _ in range(3):
        warp.step(targets)
    after = warp.qpos.clone()
    warp.load_state_dict(saved)
    assert torch.equal(warp.qpos, saved["snapshot"]["qpos"])
    for _ in range(3):
        warp.step(targets)
    assert max_diff(warp.qpos, after) < 1e-6
    bad = dict(saved, backend="mujoco_cpu")
    with pytest.raises(SimConfigError, match="mujoco_cpu backend"):
        warp.load_state_dict(bad)


def test_warp_resets_diverged_worlds_and_checks_inputs(sims):
    _, warp = sims
    q = torch.tensor(warp.robot.default_pose, dtype=torch.float64).unsqueeze(0)
    v = torch.zeros(1, warp.qvel.shape[1], dtype=torch.float64)
    v[0, 6:] = 1e6  # far beyond divergence_threshold
    warp.reset(torch.tensor([1]), q, v)
    warp.step(torch.tensor(warp.robot.default_pose[7:], dtype=torch.float32).repeat(N, 1))
    assert warp.diverged.tolist() == [False, True, False]
    assert max_diff(warp.qpos[1], q[0]) < 1e-6 and float(warp.qvel[1].abs().max()) == 0.0
    with pytest.raises(SimConfigError, match="shape"):
        warp.step(torch.zeros(N, 3))
    with pytest.raises(SimConfigError, match=r"\[0, 3\)"):
        warp.reset(torch.tensor([5]), q)
    with pytest.raises(SimConfigError, match="no ball"):
        warp.ball_pos


def test_quick_recipe_trains_on_the_warp_backend(tmp_path):
    """The tracking env, collector and PPO run unchanged on MujocoWarp (recipes only switch backend)."""
    import subprocess
    import sys
    from pathlib import Path

    recipe = Path(__file__).resolve().parent.parent / "recipes" / "deepmimic_g1_walk.yaml"
    proc = subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", "fit", "--config", str(recipe), "--quick", "--data.init_args.sim.backend", "mujoco_warp",
         "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "load on device" not in proc.stdout + proc.stderr  # Warp's per-module log lines are off
    ckpt = torch.load(tmp_path / "runs" / "quick_deepmimic_g1_walk" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 2
    assert ckpt["ImitationDataModule"]["collectors"][0]["env"]["sim"]["backend"] == "mujoco_warp"

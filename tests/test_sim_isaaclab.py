"""The ``isaaclab`` backend: the install hint everywhere; a tiny G1 simulation only where Isaac Lab imports.

CI cannot install Isaac Lab (Python 3.12, Isaac Sim, RTX GPU), so the tests that build an
:class:`IsaacLabSim` skip there; the first two tests run everywhere.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import torch

from mimic_lit.sim.base import BallConfig, SimConfig, SimConfigError, Simulator, make_simulator

PACKAGE = Path(__file__).resolve().parents[1] / "mimic_lit"


# ---------------------------------------------------------------------------- everywhere
def test_missing_isaaclab_gives_the_install_hint(monkeypatch):
    """Without Isaac Lab, selecting the backend fails with SimConfigError naming the extra."""
    monkeypatch.setitem(sys.modules, "isaaclab", None)  # `import isaaclab` now raises ImportError
    monkeypatch.delitem(sys.modules, "mimic_lit.sim.isaaclab", raising=False)
    with pytest.raises(SimConfigError, match=re.escape("mimic-lit[isaaclab]")):
        make_simulator(SimConfig(backend="isaaclab", robot="g1", num_envs=1))


def test_only_the_backend_module_imports_isaaclab():
    """The optional stack stays optional: no other module of the package imports it."""
    pattern = re.compile(r"^\s*(import|from)\s+isaaclab\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "isaaclab.py" and pattern.search(path.read_text())
    ]
    assert offenders == []


# ---------------------------------------------------------------------------- with Isaac Lab
N = 2


def _device() -> str:
    return "cuda:0" if torch.cuda.is_available() else "cpu"


@pytest.fixture(scope="module")
def sim():
    """One tiny G1 simulation for the module (Isaac Lab allows one SimulationContext per process)."""
    pytest.importorskip("isaaclab")
    from mimic_lit.sim.isaaclab import IsaacLabSim

    s = IsaacLabSim(SimConfig(backend="isaaclab", robot="g1", num_envs=N, device=_device()))
    yield s
    s.close()


def _default_actions(s) -> torch.Tensor:
    return torch.as_tensor(s.robot.default_pose[7:], dtype=torch.float32, device=s.device).repeat(s.num_envs, 1)


def test_shapes_names_and_default_pose(sim):
    assert isinstance(sim, Simulator)
    nq, d, b = 7 + sim.robot.num_joint_coords, sim.num_dofs, sim.num_bodies
    assert sim.body_names == sim.robot.body_names and sim.joint_names == sim.robot.joint_names
    assert sim.substeps == 4 and sim.control_dt == pytest.approx(1 / 50)
    shapes = {
        "root_pos": (N, 3), "root_quat": (N, 4), "root_lin_vel": (N, 3), "root_ang_vel": (N, 3),
        "joint_pos": (N, nq - 7), "joint_vel": (N, d), "qpos": (N, nq), "qvel": (N, d + 6),
        "body_pos": (N, b, 3), "body_quat": (N, b, 4), "body_lin_vel": (N, b, 3), "body_ang_vel": (N, b, 3),
        "contact_forces": (N, b, 3), "ground_contact": (N, b), "joint_torque": (N, d), "diverged": (N,),
    }
    for name, shape in shapes.items():
        value = getattr(sim, name)
        assert tuple(value.shape) == shape, name
        assert value.device == sim.device, name
    default = torch.as_tensor(sim.robot.default_pose, dtype=torch.float32, device=sim.device)
    sim.reset(torch.arange(N), default.repeat(N, 1))
    torch.testing.assert_close(sim.qpos, default.repeat(N, 1), atol=1e-4, rtol=0)
    # the root body's frame is the root state
    torch.testing.assert_close(sim.body_pos[:, 0], sim.root_pos, atol=1e-4, rtol=0)


def test_step_holds_the_default_pose(sim):
    default = torch.as_tensor(sim.robot.default_pose, dtype=torch.float32, device=sim.device)
    sim.reset(torch.arange(N), default.repeat(N, 1))
    before = sim.qpos
    for _ in range(10):
        sim.step(_default_actions(sim))
    assert not torch.equal(before, sim.qpos)  # a snapshot: stepping did not overwrite it
    assert torch.isfinite(sim.qpos).all() and torch.isfinite(sim.qvel).all()
    assert not sim.diverged.any()
    assert (sim.root_pos[:, 2] > 0.4).all()  # PD-held default pose: standing, not fallen
    assert sim.ground_contact.any(dim=1).all()  # the feet touch the ground


def test_reset_puts_qpos_back(sim):
    for _ in range(3):
        sim.step(_default_actions(sim))
    gen = torch.Generator().manual_seed(0)
    target = torch.as_tensor(sim.robot.default_pose, dtype=torch.float32).clone()
    target[0:2] = torch.tensor([0.3, -0.2])
    target[7:] += 0.05 * torch.randn(target.numel() - 7, generator=gen)
    other = sim.qpos[0].clone()
    sim.reset(torch.tensor([1]), target[None].to(sim.device))
    torch.testing.assert_close(sim.qpos[1].cpu(), target, atol=1e-4, rtol=0)
    assert torch.equal(sim.qpos[0], other)  # the other environment is untouched
    assert sim.qvel[1].abs().max() < 1e-4
    assert not sim.ground_contact[1].any() and sim.joint_torque[1].abs().max() == 0

    qvel = 0.1 * torch.randn(1, sim.num_dofs + 6, generator=gen)
    sim.reset(torch.tensor([1]), target[None].to(sim.device), qvel.to(sim.device))
    torch.testing.assert_close(sim.qvel[1:].cpu(), qvel, atol=1e-3, rtol=0)


def test_state_dict_restores_the_states(sim):
    sim.step(_default_actions(sim))
    state = sim.state_dict()
    qpos, qvel = sim.qpos.clone(), sim.qvel.clone()
    for _ in range(3):
        sim.step(_default_actions(sim))
    sim.load_state_dict(state)
    assert torch.equal(sim.qpos, qpos) and torch.equal(sim.qvel, qvel)
    sim.step(_default_actions(sim))  # and it steps on from there
    assert torch.isfinite(sim.qpos).all()


def test_ball_is_refused():
    pytest.importorskip("isaaclab")
    from mimic_lit.sim.isaaclab import IsaacLabSim

    with pytest.raises(SimConfigError, match="ball"):
        IsaacLabSim(SimConfig(backend="isaaclab", robot="g1", num_envs=1), objects=[BallConfig()])

"""Quaternion maths against independent references (rotation matrices, MuJoCo's own functions)."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
import torch

from mimic_lit import rotations as R


@pytest.fixture
def quats() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return R.quat_normalize(torch.randn(500, 4, generator=g, dtype=torch.float64))


def test_mul_and_rotate_match_mujoco(quats):
    a, b = quats[:50], quats[50:100]
    v = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ab = R.quat_mul(a, b).numpy()
    rv = R.quat_rotate(a, v).numpy()
    for i in range(50):
        ref = np.zeros(4)
        mujoco.mju_mulQuat(ref, a[i].numpy(), b[i].numpy())
        np.testing.assert_allclose(ab[i], ref, atol=1e-12)
        out = np.zeros(3)
        mujoco.mju_rotVecQuat(out, v[i].numpy(), a[i].numpy())
        np.testing.assert_allclose(rv[i], out, atol=1e-12)


def test_matrix_round_trip_and_inverse_rotation(quats):
    m = R.quat_to_matrix(quats)
    assert torch.allclose(m @ m.transpose(-1, -2), torch.eye(3, dtype=torch.float64).expand_as(m), atol=1e-12)
    assert R.quat_angle_between(R.matrix_to_quat(m), quats).max() < 1e-6
    v = torch.randn(500, 3, dtype=torch.float64)
    assert torch.allclose(R.quat_rotate_inverse(quats, R.quat_rotate(quats, v)), v, atol=1e-12)


def test_exp_map_round_trip_including_tiny_angles(quats):
    assert R.quat_angle_between(R.exp_map_to_quat(R.quat_to_exp_map(quats)), quats).max() < 1e-6
    tiny = torch.tensor([[1e-9, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(R.quat_to_exp_map(R.exp_map_to_quat(tiny)), tiny, atol=1e-15)
    e = torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64)
    assert torch.allclose(R.exp_map_to_quat(e), torch.tensor([math.cos(math.pi / 4), 0, 0, math.sin(math.pi / 4)], dtype=torch.float64))


@pytest.mark.parametrize("axes", ["xyz", "zyx", "yxz", "xzy"])
def test_intrinsic_euler_round_trip(quats, axes):
    angles = R.quat_to_euler_intrinsic(quats, axes)
    assert R.quat_angle_between(R.quat_from_euler_intrinsic(angles, axes), quats).max() < 1e-6


def test_intrinsic_euler_matches_mujoco_hinge_composition():
    """Three hinges x, y, z in one MuJoCo body compose as Rx(a) Ry(b) Rz(c)."""
    model = mujoco.MjModel.from_xml_string(
        """<mujoco><worldbody><body name="b">
        <joint type="hinge" axis="1 0 0"/><joint type="hinge" axis="0 1 0"/><joint type="hinge" axis="0 0 1"/>
        <geom size="0.1"/></body></worldbody></mujoco>"""
    )
    data = mujoco.MjData(model)
    angles = torch.tensor([0.4, -1.1, 2.0], dtype=torch.float64)
    data.qpos[:] = angles.numpy()
    mujoco.mj_kinematics(model, data)
    q = torch.from_numpy(data.xquat[1].copy())
    assert R.quat_angle_between(R.quat_from_euler_intrinsic(angles, "xyz"), q) < 1e-7
    assert torch.allclose(R.quat_to_euler_intrinsic(q, "xyz"), angles, atol=1e-7)


def test_gimbal_lock_still_reproduces_rotation():
    angles = torch.tensor([[0.3, math.pi / 2, 0.2], [0.3, -math.pi / 2, -0.7]], dtype=torch.float64)
    q = R.quat_from_euler_intrinsic(angles, "xyz")
    assert R.quat_angle_between(R.quat_from_euler_intrinsic(R.quat_to_euler_intrinsic(q, "xyz"), "xyz"), q).max() < 1e-6


def test_slerp_endpoints_and_midpoint(quats):
    q0, q1 = quats[:100], quats[100:200]
    assert R.quat_angle_between(R.quat_slerp(q0, q1, torch.zeros(100, dtype=torch.float64)), q0).max() < 1e-6
    assert R.quat_angle_between(R.quat_slerp(q0, q1, torch.ones(100, dtype=torch.float64)), q1).max() < 1e-6
    mid = R.quat_slerp(q0, q1, torch.full((100,), 0.5, dtype=torch.float64))
    d0, d1 = R.quat_angle_between(mid, q0), R.quat_angle_between(mid, q1)
    assert torch.allclose(d0, d1, atol=1e-6)
    assert torch.allclose(d0 + d1, R.quat_angle_between(q0, q1), atol=1e-6)


def test_yaw_and_wrap():
    q = R.quat_from_axis_angle(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(2.5))
    assert R.yaw_from_quat(q).item() == pytest.approx(2.5, abs=1e-6)
    assert R.wrap_to_pi(torch.tensor(3 * math.pi / 2)).item() == pytest.approx(-math.pi / 2, abs=1e-6)

"""DeepMimic reward as pure functions: per-robot weights, exact values, monotonic terms, frames."""

from __future__ import annotations

import math

import pytest
import torch

from mimic_lit.envs.observations import CharState
from mimic_lit.envs.rewards import (
    TERM_NAMES,
    RewardParams,
    body_weights,
    dof_weights,
    quat_diff_angle,
    reward_from_errors,
    tracking_errors,
    tracking_reward,
)
from mimic_lit.motion.library import MotionLibrary
from mimic_lit.motion.skeleton import Skeleton
from mimic_lit.robots import get_robot
from mimic_lit.rotations import local_rotations, quat_from_axis_angle, quat_mul, quat_rotate

# MimicKit's joint_err_w lists, in their DFS body order (reference/mimickit.md §3.2).
MIMICKIT_HUMANOID = [1.0, 0.6, 0.6, 0.4, 0.0, 0.6, 0.4, 0.0, 1.0, 0.6, 0.4, 1.0, 0.6, 0.4]
MIMICKIT_G1 = [1, 1, 1, 0.6, 0.5, 0.5, 1, 1, 1, 0.6, 0.5, 0.5, 1, 1, 1, 0,
               1, 1, 1, 0.6, 0.5, 0.5, 0.5, 1, 1, 1, 0.6, 0.5, 0.5, 0.5]  # fmt: skip


def z_rot(angle: float, n: int = 1) -> torch.Tensor:
    axis = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64).expand(n, 3)
    return quat_from_axis_angle(axis, torch.full((n,), angle, dtype=torch.float64))


@pytest.fixture(scope="module")
def humanoid_ref():
    """A real reference pose (humanoid walk at 0.4 s) as a CharState of 8 identical envs, with weights."""
    lib = MotionLibrary(["shipped:humanoid/walk"], dtype=torch.float64)
    n = 8
    f = lib.get_frames(torch.zeros(n, dtype=torch.long), torch.full((n,), 0.4), bodies=True)
    parents = torch.as_tensor(lib.skeleton.parents).clamp_min(0)
    key_ids = lib.skeleton.body_indices(list(get_robot("humanoid").key_bodies))
    state = CharState(
        f.root_pos, f.root_quat, f.root_lin_vel, f.root_ang_vel,
        local_rotations(f.body_quat, parents), f.joint_vel, f.body_pos[:, key_ids],
    )  # fmt: skip
    jw = body_weights(lib.skeleton.body_names, get_robot("humanoid").joint_err_weights)
    return state, jw, dof_weights(lib.skeleton, jw)


# ------------------------------------------------------------------------------------- weights
@pytest.mark.parametrize(("robot", "expected"), [("humanoid", MIMICKIT_HUMANOID), ("g1", MIMICKIT_G1)])
def test_default_joint_weights_match_mimickit_lists(robot, expected):
    names = get_robot(robot).body_names
    assert len(names) - 1 == len(expected)
    got = body_weights(names, get_robot(robot).joint_err_weights)
    assert got.tolist() == pytest.approx(expected)


def test_body_weights_patterns_and_default():
    names = ("root", "a_link", "b_link", "c")
    w = body_weights(names, {r"a_.*": 0.3, r".*_link": 0.7}, default=0.9)
    assert w.tolist() == pytest.approx([0.3, 0.7, 0.9])  # first match wins, unmatched -> default


def test_dof_weights_copy_the_body_weight():
    skel = Skeleton.from_robot("humanoid")
    jw = body_weights(skel.body_names, get_robot("humanoid").joint_err_weights)
    dw = dof_weights(skel, jw)
    by_name = dict(zip(get_robot("humanoid").joint_names, dw.tolist()))
    assert by_name["abdomen_x"] == by_name["abdomen_z"] == 1.0  # torso
    assert by_name["neck_y"] == pytest.approx(0.6)  # head
    assert by_name["right_elbow"] == pytest.approx(0.4)  # right_lower_arm
    assert by_name["left_ankle_z"] == pytest.approx(0.4)  # left_foot
    assert by_name["left_knee"] == pytest.approx(0.6)  # left_shin


# ------------------------------------------------------------------------------------- values
def test_quat_diff_angle_is_accurate_small_and_large():
    for angle in (1e-5, 1e-3, 0.5, 3.0, math.pi):
        a = z_rot(0.3)
        b = quat_mul(a, z_rot(angle))
        assert quat_diff_angle(a, b).item() == pytest.approx(angle, rel=1e-9, abs=1e-12)
        assert quat_diff_angle(a, -b).item() == pytest.approx(angle, rel=1e-9, abs=1e-12)  # double cover


def test_reward_is_one_for_identical_states(humanoid_ref):
    state, jw, dw = humanoid_ref
    reward, terms = tracking_reward(state, state, jw, dw)
    assert torch.allclose(reward, torch.ones_like(reward), atol=1e-12)
    assert set(terms) == set(TERM_NAMES)


def test_hand_computed_value(humanoid_ref):
    """One body rotated by theta: pose_err = w theta^2 and the total follows the formula."""
    state, jw, dw = humanoid_ref
    theta, body = 0.3, 0  # torso, weight 1.0
    local = state.local_rot.clone()
    local[:, body] = quat_mul(local[:, body], z_rot(theta, local.shape[0]))
    sim = state._replace(local_rot=local)
    errors = tracking_errors(sim, state, jw, dw)
    assert errors["pose_err"][0].item() == pytest.approx(jw[body].item() * theta**2, rel=1e-9)
    reward, terms = reward_from_errors(errors)
    assert terms["pose"][0].item() == pytest.approx(math.exp(-0.25 * theta**2), rel=1e-9)
    assert reward[0].item() == pytest.approx(0.5 * math.exp(-0.25 * theta**2) + 0.5, rel=1e-9)


def test_custom_weights_and_scales(humanoid_ref):
    state, jw, dw = humanoid_ref
    sim = state._replace(root_pos=state.root_pos + torch.tensor([0.1, 0.0, 0.0], dtype=torch.float64))
    params = RewardParams(weights=(0.0, 0.0, 1.0, 0.0, 0.0), scales=(1.0, 1.0, 2.0, 1.0, 1.0))
    reward, _ = tracking_reward(sim, state, jw, dw, params)
    assert reward[0].item() == pytest.approx(math.exp(-2.0 * 0.01), rel=1e-9)


# ------------------------------------------------------------------------------------- monotone
def _perturbed(state: CharState, kind: str, amount: torch.Tensor) -> CharState:
    """``state`` with error ``amount[i]`` (growing) of one kind in env i."""
    n = amount.shape[0]
    ex = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    col = amount.unsqueeze(1)
    if kind == "pose":
        axis = ex.expand(n, 3)
        delta = quat_from_axis_angle(axis, amount)
        local = state.local_rot.clone()
        local[:, 9] = quat_mul(local[:, 9], delta)  # right_shin
        return state._replace(local_rot=local)
    if kind == "vel":
        return state._replace(joint_vel=state.joint_vel + col)
    if kind == "root_pos":  # the whole character moves
        return state._replace(root_pos=state.root_pos + col * ex, key_pos=state.key_pos + (col * ex).unsqueeze(1))
    if kind == "root_rot":
        # Rotate the whole character about the vertical through its root: only root terms change.
        q = z_rot(0.0, n).clone()
        q[:, 0], q[:, 3] = torch.cos(amount / 2), torch.sin(amount / 2)
        key = state.root_pos.unsqueeze(1) + quat_rotate(q.unsqueeze(1), state.key_pos - state.root_pos.unsqueeze(1))
        return state._replace(root_quat=quat_mul(q, state.root_quat), key_pos=key)
    if kind == "root_vel":
        return state._replace(root_lin_vel=state.root_lin_vel + col * ex)
    if kind == "root_ang_vel":
        return state._replace(root_ang_vel=state.root_ang_vel + col * ex)
    if kind == "key_pos":
        key = state.key_pos.clone()
        key[:, 1] += col * ex  # right hand
        return state._replace(key_pos=key)
    raise ValueError(kind)


@pytest.mark.parametrize(
    ("kind", "term"),
    [
        ("pose", "pose"),
        ("vel", "vel"),
        ("root_pos", "root_pose"),
        ("root_rot", "root_pose"),
        ("root_vel", "root_vel"),
        ("root_ang_vel", "root_vel"),
        ("key_pos", "key_pos"),
    ],
)
def test_each_term_decreases_as_its_error_grows(humanoid_ref, kind, term):
    state, jw, dw = humanoid_ref
    amount = torch.linspace(0.0, 0.7, state.root_pos.shape[0], dtype=torch.float64)
    reward, terms = tracking_reward(_perturbed(state, kind, amount), state, jw, dw)
    t = terms[term]
    assert t[0].item() == pytest.approx(1.0, abs=1e-12)
    assert bool((t[1:] < t[:-1]).all()), f"{term} not strictly decreasing: {t.tolist()}"
    assert bool((reward[1:] < reward[:-1]).all())
    for other in TERM_NAMES:  # every perturbation here touches only its own term
        if other != term and not (kind == "root_rot" and other == "key_pos"):
            assert torch.allclose(terms[other], torch.ones_like(terms[other]), atol=1e-9), other


# ------------------------------------------------------------------------------------- frames
def _yawed(state: CharState, yaw: float, shift: tuple[float, float]) -> CharState:
    """The same motion rotated by ``yaw`` about +z through the origin and moved horizontally."""
    n = state.root_pos.shape[0]
    q = z_rot(yaw, n)
    t = torch.tensor([shift[0], shift[1], 0.0], dtype=torch.float64)
    return CharState(
        quat_rotate(q, state.root_pos) + t,
        quat_mul(q, state.root_quat),
        quat_rotate(q, state.root_lin_vel),
        quat_rotate(q, state.root_ang_vel),
        state.local_rot,
        state.joint_vel,
        quat_rotate(q.unsqueeze(1).expand(n, state.key_pos.shape[1], 4), state.key_pos) + t,
    )


def test_heading_frame_reward_ignores_global_yaw_and_position(humanoid_ref):
    state, jw, dw = humanoid_ref
    moved = _yawed(state, 1.1, (0.7, -0.4))
    local_params = RewardParams(track_root=False)
    reward, _ = tracking_reward(moved, state, jw, dw, local_params)
    assert torch.allclose(reward, torch.ones_like(reward), atol=1e-9)
    global_reward, terms = tracking_reward(moved, state, jw, dw, RewardParams(track_root=True))
    assert bool((global_reward < 0.9).all()) and bool((terms["root_pose"] < 0.2).all())


def test_height_is_ignored_without_root_height_tracking(humanoid_ref):
    state, jw, dw = humanoid_ref
    up = state._replace(root_pos=state.root_pos + torch.tensor([0.0, 0.0, 0.2], dtype=torch.float64))
    up = up._replace(key_pos=state.key_pos + torch.tensor([0.0, 0.0, 0.2], dtype=torch.float64))
    no_height, _ = tracking_reward(up, state, jw, dw, RewardParams(track_height=False))
    with_height, _ = tracking_reward(up, state, jw, dw, RewardParams(track_height=True))
    assert torch.allclose(no_height, torch.ones_like(no_height), atol=1e-12)
    assert bool((with_height < 1.0 - 1e-3).all())

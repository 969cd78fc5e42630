"""Batched rotation maths in torch. One convention everywhere: quaternions are (w, x, y, z).

Every function accepts arbitrary leading batch dimensions and works for float32 and float64. The
last helpers are the rotation pieces observations and rewards are built from: the 6-D *tan-norm*
(rotated x and z axes), the inverse heading about +z, parent-relative body rotations, and one
rotation per env applied to many vectors.
"""

from __future__ import annotations

import torch

_EPS = 1e-9


def quat_normalize(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion with the same direction as ``q``."""
    return q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)


def quat_conj(q: torch.Tensor) -> torch.Tensor:
    """Conjugate (the inverse for unit quaternions)."""
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * torch.cross(u, v, dim=-1)
    return v + w * t + torch.cross(u, t, dim=-1)


def quat_rotate_inverse(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors by the inverse of unit quaternions ``q``."""
    return quat_rotate(quat_conj(q), v)


def quat_from_axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Quaternion rotating by ``angle`` (...) about unit ``axis`` (..., 3)."""
    half = 0.5 * angle.unsqueeze(-1)
    return torch.cat([torch.cos(half), axis * torch.sin(half)], dim=-1)


def quat_to_exp_map(q: torch.Tensor) -> torch.Tensor:
    """Axis-angle vector (axis * angle, angle in [0, pi]) of unit quaternions."""
    q = quat_normalize(q)
    q = torch.where(q[..., :1] < 0, -q, q)  # shortest rotation
    sin_half = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, q[..., :1])
    # angle / sin(angle/2) -> 2 as angle -> 0; use the series to stay smooth there.
    scale = torch.where(sin_half > 1e-7, angle / sin_half.clamp_min(1e-12), 2.0 + angle**2 / 12.0)
    return q[..., 1:] * scale


def exp_map_to_quat(e: torch.Tensor) -> torch.Tensor:
    """Unit quaternion of an axis-angle vector."""
    angle = e.norm(dim=-1, keepdim=True)
    half = 0.5 * angle
    # sin(angle/2)/angle -> 1/2 as angle -> 0
    scale = torch.where(angle > 1e-7, torch.sin(half) / angle.clamp_min(1e-12), 0.5 - angle**2 / 48.0)
    return torch.cat([torch.cos(half), e * scale], dim=-1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of unit quaternions."""
    w, x, y, z = quat_normalize(q).unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (w >= 0) of rotation matrices (..., 3, 3); robust for every rotation."""
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # Four candidate solutions, pick the numerically best one per element.
    cand = torch.stack(
        [
            torch.stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01], -1),
            torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], -1),
            torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], -1),
            torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], -1),
        ],
        dim=-2,
    )
    diag = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    best = diag.argmax(dim=-1, keepdim=True)
    q = torch.gather(cand, -2, best.unsqueeze(-1).expand(best.shape + (4,))).squeeze(-2)
    q = quat_normalize(q)
    return torch.where(q[..., :1] < 0, -q, q)


def quat_slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between unit quaternions; ``t`` has shape (...) or (..., 1)."""
    if t.dim() == q0.dim() - 1:
        t = t.unsqueeze(-1)
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    small = sin_theta < 1e-6
    w0 = torch.where(small, 1.0 - t, torch.sin((1.0 - t) * theta) / sin_theta.clamp_min(1e-12))
    w1 = torch.where(small, t, torch.sin(t * theta) / sin_theta.clamp_min(1e-12))
    return quat_normalize(w0 * q0 + w1 * q1)


def quat_angle_between(q0: torch.Tensor, q1: torch.Tensor) -> torch.Tensor:
    """Rotation angle in [0, pi] taking ``q0`` to ``q1``."""
    dot = (quat_normalize(q0) * quat_normalize(q1)).sum(-1).abs().clamp(max=1.0)
    return 2.0 * torch.acos(dot)


def quat_to_euler_intrinsic(q: torch.Tensor, axes: str) -> torch.Tensor:
    """Angles (a, b, c) with ``q == R(axes[0], a) * R(axes[1], b) * R(axes[2], c)`` for 3 distinct axes.

    This is how MuJoCo composes several hinge joints in one body, so it turns a spherical joint's
    quaternion into the angles of a hinge triple such as the humanoid's ``*_x, *_y, *_z``.
    """
    idx = {"x": 0, "y": 1, "z": 2}
    i, j, k = (idx[a] for a in axes)
    if len({i, j, k}) != 3:
        raise ValueError(f"axes must be three distinct letters of xyz, got {axes!r}")
    sign = 1.0 if (j - i) % 3 == 1 else -1.0  # even (xyz, yzx, zxy) or odd permutation
    m = quat_to_matrix(q)
    # For R = Ri(a) Rj(b) Rk(c): R[i, k] = sign * sin(b).
    sb = (sign * m[..., i, k]).clamp(-1.0, 1.0)
    b = torch.asin(sb)
    a = torch.atan2(-sign * m[..., j, k], m[..., k, k])
    c = torch.atan2(-sign * m[..., i, j], m[..., i, i])
    # Near gimbal lock (|cos b| ~ 0) put the whole rotation into a.
    lock = sb.abs() > 1.0 - 1e-9
    a_lock = torch.atan2(sign * m[..., k, j], m[..., j, j])
    a = torch.where(lock, a_lock, a)
    c = torch.where(lock, torch.zeros_like(c), c)
    return torch.stack([a, b, c], dim=-1)


def quat_from_euler_intrinsic(angles: torch.Tensor, axes: str) -> torch.Tensor:
    """Inverse of :func:`quat_to_euler_intrinsic`."""
    eye = torch.eye(3, dtype=angles.dtype, device=angles.device)
    idx = {"x": 0, "y": 1, "z": 2}
    q = None
    for n, a in enumerate(axes):
        qa = quat_from_axis_angle(eye[idx[a]].expand(angles.shape[:-1] + (3,)), angles[..., n])
        q = qa if q is None else quat_mul(q, qa)
    return q


def wrap_to_pi(x: torch.Tensor) -> torch.Tensor:
    """Angles wrapped to (-pi, pi]."""
    return torch.remainder(x + torch.pi, 2 * torch.pi) - torch.pi


def yaw_from_quat(q: torch.Tensor) -> torch.Tensor:
    """Heading angle about +z of the body's +x axis (z-up world)."""
    fwd = quat_rotate(q, torch.tensor([1.0, 0.0, 0.0], dtype=q.dtype, device=q.device).expand(q.shape[:-1] + (3,)))
    return torch.atan2(fwd[..., 1], fwd[..., 0])


def quat_to_tan_norm(q: torch.Tensor) -> torch.Tensor:
    """(..., 6): the x and z axes of unit quaternions ``q`` (..., 4) rotated into the world."""
    w, x, y, z = q.unbind(-1)
    xx, yy, zz = x * x, y * y, z * z
    return torch.stack(
        [
            1.0 - 2.0 * (yy + zz),
            2.0 * (x * y + w * z),
            2.0 * (x * z - w * y),
            2.0 * (x * z + w * y),
            2.0 * (y * z - w * x),
            1.0 - 2.0 * (xx + yy),
        ],
        dim=-1,
    )


def heading_quat_inv(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) rotation about +z that undoes the heading (yaw of the body x axis) of ``q``."""
    w, x, y, z = q.unbind(-1)
    fx = 1.0 - 2.0 * (y * y + z * z)  # rotated x axis, projected on the ground plane
    fy = 2.0 * (x * y + w * z)
    half = -0.5 * torch.atan2(fy, fx)
    zero = torch.zeros_like(half)
    return torch.stack([torch.cos(half), zero, zero, torch.sin(half)], dim=-1)


def local_rotations(body_quat: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
    """(..., B - 1, 4) ``parent^-1 * body`` of every non-root body; ``parents`` (B,) with root first."""
    return quat_mul(quat_conj(body_quat[..., parents[1:], :]), body_quat[..., 1:, :])


def rotate_per_env(q: torch.Tensor | None, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors ``v`` (N, ..., 3) by one quaternion per env, ``q`` (N, 4); ``None`` = identity."""
    if q is None:
        return v
    shape = (q.shape[0],) + (1,) * (v.dim() - 2) + (4,)
    return quat_rotate(q.reshape(shape).expand(v.shape[:-1] + (4,)), v)

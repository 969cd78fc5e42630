"""Split a spherical joint's rotation over time into the angles of a MuJoCo hinge triple.

Every rotation has two intrinsic Euler solutions, (a, b, c) and (a + pi, pi - b, c + pi). The ``asin``
solution keeps |b| <= pi/2, which turns a hip flexed past 90 degrees into a flipped, out-of-range pose,
while blindly taking the in-range one per frame can jump between solutions. We pick, per frame, the
solution sequence that minimises angular travel between frames plus a small weight times the
joint-limit violation (a 2-state Viterbi pass): continuity comes first, limits break ties between the
two mirror-image continuous solutions. Then each angle is unwrapped so the trajectories are continuous.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


LIMIT_WEIGHT = 1e-3  # radians of travel one radian of limit violation per frame is worth


def _wrap(x: np.ndarray) -> np.ndarray:
    return np.remainder(x + np.pi, 2 * np.pi) - np.pi


def _violation(angles: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    return (np.maximum(lower - angles, 0.0) + np.maximum(angles - upper, 0.0)).sum(axis=-1)


def _best_branch(viol: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Viterbi over 2 states: ``viol`` (T, 2) per-frame costs, ``trans`` (T-1, 2, 2) [prev, next] costs."""
    n = len(viol)
    back = np.zeros((n, 2), dtype=np.int64)
    acc = viol[0].copy()
    for t in range(1, n):  # sequential by nature; 2 states, so cheap even for long clips
        total = acc[:, None] + trans[t - 1]
        back[t] = np.argmin(total, axis=0)
        acc = total[back[t], [0, 1]] + viol[t]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(np.argmin(acc))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def hinge_triple_angles(q: "torch.Tensor", axes: str, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(T, 3) hinge angles with ``R(axes[0], a) R(axes[1], b) R(axes[2], c) == q`` for (T, 4) wxyz ``q``."""
    from mimic_lit.rotations import quat_to_euler_intrinsic

    principal = quat_to_euler_intrinsic(q, axes).numpy().astype(np.float64)
    a, b, c = principal[:, 0], principal[:, 1], principal[:, 2]
    alt = _wrap(np.stack([a + np.pi, np.where(b >= 0, np.pi - b, -np.pi - b), c + np.pi], axis=1))
    branches = np.stack([principal, alt], axis=1)  # (T, 2, 3)
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    viol = LIMIT_WEIGHT * _violation(branches, lower, upper)  # (T, 2)
    trans = np.abs(_wrap(branches[1:, None, :, :] - branches[:-1, :, None, :])).sum(-1)  # (T-1, prev, next)
    path = _best_branch(viol, trans)
    angles = np.unwrap(branches[np.arange(len(path)), path], axis=0)
    return _shift_into_limits(angles, lower, upper)


def _shift_into_limits(angles: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Add the multiple of 2*pi to each unwrapped column that minimises its total limit violation."""
    ks = np.arange(-2, 3, dtype=np.float64)
    shifted = angles[None] + 2 * np.pi * ks[:, None, None]  # (K, T, 3)
    cost = (np.maximum(lower - shifted, 0.0) + np.maximum(shifted - upper, 0.0)).sum(axis=1)  # (K, 3)
    cost = cost + 1e-6 * np.abs(shifted.mean(axis=1))  # ties: stay nearest to zero
    best = ks[np.argmin(cost, axis=0)]
    return angles + 2 * np.pi * best[None, :]

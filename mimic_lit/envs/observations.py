"""Policy observations of a simulated character and of its reference frames ahead, batched torch.

Pure functions of tensors (no simulator, no env state), so tracking, AMP and export share them.
Quaternions are (w, x, y, z); every rotation in an observation is a 6-D *tan-norm*: the rotated
x axis and z axis, continuous where quaternions and Euler angles are not.

Observation vector, in order (MimicKit's DeepMimic layout; :class:`ObsLayout` gives the slices).
B bodies (root included), D joint velocities, K key bodies:

- ``root_height`` (1, if ``root_height_obs``): root z.
- ``root_rot`` (6): root rotation, tan-norm.
- ``root_lin_vel`` (3), ``root_ang_vel`` (3): root velocities.
- ``joint_rot`` (6 (B - 1)): local rotation ``parent^-1 * body`` of every non-root body, fixed
  bodies included.
- ``joint_vel`` (D): joint velocities (``qvel[6:]``).
- ``key_pos`` (3 K): key-body positions minus the root position.
- then for each ``k`` of ``target_steps``, the reference at ``t + k dt``:

  - ``target{k}/root_pos`` (3): reference root minus the simulated root; z is the absolute
    reference height when ``root_height_obs``;
  - ``target{k}/root_rot`` (6): reference root rotation, tan-norm;
  - ``target{k}/joint_rot`` (6 (B - 1)): reference local body rotations, tan-norm;
  - ``target{k}/key_pos`` (3 K): reference key bodies minus the reference root.

Humanoid (B = 15, D = 28, K = 5, three targets): 140 + 3 x 108 = 464; G1 (B = 31, D = 29,
K = 5): 237 + 3 x 204 = 849.

With ``global_obs`` every vector is in world axes. Without it, vectors and the root rotations are
expressed in the simulated character's *heading frame* (its yaw about +z removed), so the policy
is invariant to where the character faces; MimicKit's report describes the heading of the first
target frame for the target block instead: we use the character's own heading there too, so the
policy still sees how far its heading is from the reference's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from mimic_lit.rotations import heading_quat_inv, quat_mul, quat_to_tan_norm, rotate_per_env

__all__ = [
    "CharState",
    "ObsLayout",
    "char_obs",
    "target_obs",
]


class CharState(NamedTuple):
    """What observations and rewards read of one character pose, world frame, batched over (N,).

    ``local_rot`` is (N, B - 1, 4): the rotation of every non-root body in its parent's frame.
    ``key_pos`` is (N, K, 3): world positions of the key bodies.
    """

    root_pos: torch.Tensor  # (N, 3)
    root_quat: torch.Tensor  # (N, 4)
    root_lin_vel: torch.Tensor  # (N, 3)
    root_ang_vel: torch.Tensor  # (N, 3)
    local_rot: torch.Tensor  # (N, B - 1, 4)
    joint_vel: torch.Tensor  # (N, D)
    key_pos: torch.Tensor  # (N, K, 3)


def char_obs(state: CharState, global_obs: bool = True, root_height_obs: bool = True) -> torch.Tensor:
    """(N, char_dim) observation of the character itself (blocks ``root_height`` .. ``key_pos``)."""
    n = state.root_pos.shape[0]
    heading = None if global_obs else heading_quat_inv(state.root_quat)
    root_rot = state.root_quat if heading is None else quat_mul(heading, state.root_quat)
    key_rel = rotate_per_env(heading, state.key_pos - state.root_pos.unsqueeze(1))
    parts = [
        quat_to_tan_norm(root_rot),
        rotate_per_env(heading, state.root_lin_vel),
        rotate_per_env(heading, state.root_ang_vel),
        quat_to_tan_norm(state.local_rot).reshape(n, -1),
        state.joint_vel,
        key_rel.reshape(n, -1),
    ]
    if root_height_obs:
        parts.insert(0, state.root_pos[:, 2:3])
    return torch.cat(parts, dim=-1)


def target_obs(
    root_pos: torch.Tensor,
    root_quat: torch.Tensor,
    tar_root_pos: torch.Tensor,
    tar_root_quat: torch.Tensor,
    tar_local_rot: torch.Tensor | None,
    tar_key_pos: torch.Tensor,
    global_obs: bool = True,
    root_height_obs: bool = True,
    tar_local_tan_norm: torch.Tensor | None = None,
) -> torch.Tensor:
    """(N, T * target_dim) observation of T reference frames ahead of a character at ``root_pos/quat``.

    Args:
        root_pos: (N, 3) the simulated character's root position.
        root_quat: (N, 4) its orientation.
        tar_root_pos: (N, T, 3) reference root positions.
        tar_root_quat: (N, T, 4) reference root orientations.
        tar_local_rot: (N, T, B - 1, 4) reference local body rotations.
        tar_key_pos: (N, T, K, 3) reference key-body world positions.
        tar_local_tan_norm: (N, T, B - 1, 6) tan-norms of ``tar_local_rot`` if the caller has them
            already (then ``tar_local_rot`` may be ``None``).
    """
    n, t = tar_root_pos.shape[:2]
    if t == 0:
        return tar_root_pos.new_zeros(n, 0)
    heading = None if global_obs else heading_quat_inv(root_quat)
    rel = tar_root_pos - root_pos.unsqueeze(1)
    if root_height_obs:
        rel = torch.cat([rel[..., :2], tar_root_pos[..., 2:3]], dim=-1)
    rel = rotate_per_env(heading, rel)
    key_rel = rotate_per_env(heading, tar_key_pos - tar_root_pos.unsqueeze(2))
    rot = tar_root_quat if heading is None else quat_mul(heading.unsqueeze(1).expand(n, t, 4), tar_root_quat)
    parts = [
        rel,
        quat_to_tan_norm(rot),
        (quat_to_tan_norm(tar_local_rot) if tar_local_tan_norm is None else tar_local_tan_norm).reshape(n, t, -1),
        key_rel.reshape(n, t, -1),
    ]
    return torch.cat(parts, dim=-1).reshape(n, -1)


@dataclass(frozen=True)
class ObsLayout:
    """Where every block sits in the observation vector (see the module docstring).

    Attributes:
        num_bodies: B, bodies including the root.
        num_dofs: D, joint velocities.
        num_key_bodies: K.
        target_steps: the k of each reference frame ahead (``t + k dt``), in order.
        root_height_obs: whether the vector starts with the root height.
    """

    num_bodies: int
    num_dofs: int
    num_key_bodies: int
    target_steps: tuple[int, ...] = (1, 2, 3)
    root_height_obs: bool = True

    def blocks(self) -> list[tuple[str, int]]:
        """(name, size) of every block, in order."""
        joints = 6 * (self.num_bodies - 1)
        keys = 3 * self.num_key_bodies
        out = [("root_height", 1)] if self.root_height_obs else []
        out += [("root_rot", 6), ("root_lin_vel", 3), ("root_ang_vel", 3), ("joint_rot", joints)]
        out += [("joint_vel", self.num_dofs), ("key_pos", keys)]
        for k in self.target_steps:
            out += [(f"target{k}/root_pos", 3), (f"target{k}/root_rot", 6)]
            out += [(f"target{k}/joint_rot", joints), (f"target{k}/key_pos", keys)]
        return out

    @property
    def slices(self) -> dict[str, slice]:
        """Block name -> slice of the observation vector."""
        out, start = {}, 0
        for name, size in self.blocks():
            out[name] = slice(start, start + size)
            start += size
        return out

    @property
    def char_dim(self) -> int:
        """Size of the character part (everything before the first target block)."""
        return sum(size for name, size in self.blocks() if not name.startswith("target"))

    @property
    def target_dim(self) -> int:
        """Size of one reference frame's target block."""
        return 3 + 6 + 6 * (self.num_bodies - 1) + 3 * self.num_key_bodies

    @property
    def dim(self) -> int:
        return self.char_dim + len(self.target_steps) * self.target_dim

    def describe(self) -> str:
        """One line per block, ``start:stop name``, for docs and export metadata."""
        return "\n".join(f"{s.start:4d}:{s.stop:<4d} {name}" for name, s in self.slices.items())

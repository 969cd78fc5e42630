"""A goal defined outside the package, in this one file: walk the root to a point on the ground.

It exists to show (and test) that a goal is a plug-in: a recipe selects it with
``task.goal: {class_path: reach_goal.ReachConfig, init_args: {...}}`` once this folder is importable,
and nothing in ``mimic_lit`` names it.

Per env: a point ``dist_min..dist_max`` metres from the root in a uniform direction, drawn at every
episode start. Observation (2): the point minus the root, in the heading frame. Reward:
``exp(-|point - root|^2)``. The episode ends with ``SUCC`` once the root is within ``radius`` of the
point. Metric ``reach_dist``: the root's ground distance from the point (m), averaged by evaluation.
"""

from dataclasses import dataclass

import torch

from mimic_lit.envs.tasks import Goal, GoalConfig
from mimic_lit.envs.tasks.base import check_range, to_heading_frame_xy, unit_xy


class ReachGoal(Goal):
    """N points to reach, one per episode."""

    _state_keys = ("point_xy",)
    metric_names = ("reach_dist",)

    def __init__(self, num_envs, device="cpu", dtype=torch.float32, seed=0, config=None):
        super().__init__(num_envs, device, dtype, seed)
        self.config = config or ReachConfig()
        self.change_time = (float("inf"), float("inf"))  # one point per episode
        self.weights = {"reach": 1.0}
        self.point_xy = torch.zeros(self.num_envs, 2, device=self.device, dtype=dtype)

    @property
    def obs_dim(self) -> int:
        return 2

    def _draw_targets(self, ids, root_pos, root_quat):
        k = ids.numel()
        dist = self._uniform(k, self.config.dist_min, self.config.dist_max)
        angle = self._uniform(k, -torch.pi, torch.pi)
        self.point_xy[ids] = root_pos[:, :2].to(self.dtype) + dist.unsqueeze(-1) * unit_xy(angle)

    def observe(self, root_pos, root_quat):
        return to_heading_frame_xy(root_quat, self.point_xy - root_pos[:, :2])

    def _dist(self, root_pos):
        return (self.point_xy - root_pos[:, :2]).norm(dim=-1)

    def reward_terms(self, prev_root_pos, root_pos, root_quat, dt):
        return {"reach": torch.exp(-self._dist(root_pos).square())}

    def success(self, root_pos, root_quat):
        return self._dist(root_pos) < self.config.radius

    def done(self, root_pos, root_quat):
        return self.success(root_pos, root_quat)

    def metrics(self, root_pos, root_quat):
        return {"reach_dist": self._dist(root_pos)}

    def marker_xy(self):
        return self.point_xy


@dataclass
class ReachConfig(GoalConfig):
    """Where the point is drawn and when it counts as reached."""

    dist_min: float = 1.0
    dist_max: float = 3.0
    radius: float = 0.3

    goal_class = ReachGoal

    def __post_init__(self) -> None:
        check_range("reach dist", self.dist_min, self.dist_max)

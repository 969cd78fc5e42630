"""Evaluation metrics of deterministic rollouts: tracking errors, episode length, fall and success rates.

Inputs are the per-episode results of :class:`mimic_lit.rl.collector.EvaluationRollouts`. Errors
are averaged over every evaluated step (``Σ error / Σ steps``); episode length, return and fall
rate over episodes. States are sums, so DDP ranks combine exactly.
"""

from __future__ import annotations

import torch
from torchmetrics import Metric

#: Tracking errors reported by the tracking env per step, with their units.
ERROR_KEYS: dict[str, str] = {
    "body_pos_err": "m, mean over bodies of the distance to the reference body",
    "joint_err": "rad, mean absolute joint angle error",
    "root_pos_err": "m, distance of the root to the reference root",
    "goal_ball_dist": "m, distance of the ball to the goal (dribble)",
}


class TrackingMetrics(Metric):
    """Aggregates episodes; :meth:`compute` returns a dict: ``body_pos_err`` (m), ``joint_err`` (rad),
    ``root_pos_err`` (m), ``goal_ball_dist`` (m), ``episode_length_s``, ``fall_rate``,
    ``success_rate``, ``return`` and ``episodes``. Per-step values the environment does not
    report (tracking errors of AMP, the ball of non-dribble tasks) are left out."""

    full_state_update = False
    higher_is_better = None

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        f64 = torch.float64
        self.add_state("episodes", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("length_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("fell_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("succeeded_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("return_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("steps_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        for key in ERROR_KEYS:
            self.add_state(f"{key}_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
            self.add_state(f"{key}_steps", torch.zeros((), dtype=f64), dist_reduce_fx="sum")

    def update(self, episodes: dict[str, torch.Tensor]) -> None:
        """Add a batch of episodes: ``length_s``, ``fell``, ``succeeded`` (optional), ``return``,
        ``steps`` and ``<error>_sum``."""
        steps = episodes["steps"].to(self.steps_sum)
        self.episodes += steps.numel()
        self.length_sum += episodes["length_s"].to(self.length_sum).sum()
        self.fell_sum += episodes["fell"].to(self.fell_sum).sum()
        if "succeeded" in episodes:
            self.succeeded_sum += episodes["succeeded"].to(self.succeeded_sum).sum()
        self.return_sum += episodes["return"].to(self.return_sum).sum()
        self.steps_sum += steps.sum()
        for key in ERROR_KEYS:
            if f"{key}_sum" in episodes:
                getattr(self, f"{key}_sum").add_(episodes[f"{key}_sum"].to(steps).sum())
                getattr(self, f"{key}_steps").add_(steps.sum())

    def compute(self) -> dict[str, torch.Tensor]:
        n = self.episodes.clamp(min=1.0)
        out = {
            "episodes": self.episodes,
            "episode_length_s": self.length_sum / n,
            "fall_rate": self.fell_sum / n,
            "success_rate": self.succeeded_sum / n,
            "return": self.return_sum / n,
        }
        for key in ERROR_KEYS:
            steps = getattr(self, f"{key}_steps")
            if steps > 0:
                out[key] = getattr(self, f"{key}_sum") / steps
        return out

"""Evaluation metrics of deterministic rollouts: per-step metrics, episode length, fall and success rates.

Inputs are the per-episode results of :class:`mimic_lit.rl.collector.EvaluationRollouts`. The
per-step metrics are the env's (``EnvSpec.eval_metrics``: tracking errors such as ``body_pos_err`` (m),
``joint_err`` (rad), ``root_pos_err`` (m), and a goal's metrics such as the dribble goal's
``goal_ball_dist`` (m)); they are averaged over every evaluated step (``Σ value / Σ steps``);
episode length, return and fall rate over episodes. States are sums, so DDP ranks combine exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric


class TrackingMetrics(Metric):
    """Aggregates episodes; :meth:`compute` returns a dict: each of ``metric_names`` (the env's
    per-step metrics), ``episode_length_s``, ``fall_rate``, ``success_rate``, ``return`` and
    ``episodes``."""

    full_state_update = False
    higher_is_better = None

    def __init__(self, metric_names: Sequence[str] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.metric_names = tuple(metric_names)
        f64 = torch.float64
        self.add_state("episodes", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("length_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("fell_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("succeeded_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("return_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        self.add_state("steps_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        for key in self.metric_names:
            self.add_state(f"{key}_sum", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
            self.add_state(f"{key}_steps", torch.zeros((), dtype=f64), dist_reduce_fx="sum")

    def update(self, episodes: dict[str, torch.Tensor]) -> None:
        """Add a batch of episodes: ``length_s``, ``fell``, ``succeeded`` (optional), ``return``,
        ``steps`` and ``<metric>_sum``."""
        steps = episodes["steps"].to(self.steps_sum)
        self.episodes += steps.numel()
        self.length_sum += episodes["length_s"].to(self.length_sum).sum()
        self.fell_sum += episodes["fell"].to(self.fell_sum).sum()
        if "succeeded" in episodes:
            self.succeeded_sum += episodes["succeeded"].to(self.succeeded_sum).sum()
        self.return_sum += episodes["return"].to(self.return_sum).sum()
        self.steps_sum += steps.sum()
        for key in self.metric_names:
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
        for key in self.metric_names:
            steps = getattr(self, f"{key}_steps")
            if steps > 0:
                out[key] = getattr(self, f"{key}_sum") / steps
        return out

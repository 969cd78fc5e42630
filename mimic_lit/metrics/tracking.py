"""Evaluation metrics of deterministic rollouts: per-step metrics, episode length, fall and success
rates, each with a 95 % confidence interval.

Inputs are the per-episode results of :class:`mimic_lit.rl.collector.EvaluationRollouts`. The
per-step metrics are the env's (``EnvSpec.eval_metrics``: tracking errors such as ``body_pos_err`` (m),
``joint_err`` (rad), ``root_pos_err`` (m), and a goal's metrics such as the dribble goal's
``goal_ball_dist`` (m)); they are averaged over every evaluated step (``Σ value / Σ steps``);
episode length, return and fall rate over episodes. ``final_<metric>`` is the metric at each
episode's last step, averaged over episodes (where the ball ended up, not where it was on average).

Intervals (:mod:`mimic_lit.metrics.intervals`, episodes as the independent units): Wilson score
intervals for the rates (``<rate>_ci95_lo`` / ``<rate>_ci95_hi``), ``± <key>_ci95`` half-widths
for the means. A key whose value is undefined (an interval of fewer than 2 episodes, the time to
the goal when no episode reached it) is left out. States are sums (counts, sums, sums of squares),
so DDP ranks combine exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric

from mimic_lit.metrics.intervals import mean_half_width, ratio_half_width, wilson_interval


class TrackingMetrics(Metric):
    """Aggregates episodes; :meth:`compute` returns a dict of float64 scalars:

    - ``episodes``; ``episode_length_s``, ``return`` (means over episodes) and their ``_ci95``
    - ``fall_rate``, ``success_rate`` and their Wilson ``_ci95_lo`` / ``_ci95_hi``
    - each of ``metric_names`` (the env's per-step metrics, averaged over steps) and its ``_ci95``
    - ``final_<metric>`` (the metric at each episode's last step, averaged over episodes) and its ``_ci95``
    - with ``goal``: ``time_to_goal_s``, the mean length of the episodes that succeeded, and its ``_ci95``

    ``_ci95`` keys are half-widths: the interval is value ± half-width.
    """

    full_state_update = False
    higher_is_better = None

    def __init__(self, metric_names: Sequence[str] = (), goal: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metric_names = tuple(metric_names)
        self.goal = bool(goal)
        f64 = torch.float64
        for name in (
            "episodes", "length_sum", "fell_sum", "succeeded_sum", "return_sum", "steps_sum",
            "length_sq_sum", "return_sq_sum", "succ_length_sum", "succ_length_sq_sum",
        ):  # fmt: skip
            self.add_state(name, torch.zeros((), dtype=f64), dist_reduce_fx="sum")
        for key in self.metric_names:
            # Σ episode sums y, Σ steps x (existing), and Σy², Σxy, Σx², episodes: the ratio's interval
            for suffix in ("sum", "steps", "sq_sum", "cross_sum", "steps_sq", "episodes"):
                self.add_state(f"{key}_{suffix}", torch.zeros((), dtype=f64), dist_reduce_fx="sum")
            for suffix in ("sum", "sq_sum", "episodes"):
                self.add_state(f"final_{key}_{suffix}", torch.zeros((), dtype=f64), dist_reduce_fx="sum")

    def _add(self, name: str, value: torch.Tensor) -> None:
        getattr(self, name).add_(value)

    def update(self, episodes: dict[str, torch.Tensor]) -> None:
        """Add a batch of episodes: ``length_s``, ``fell``, ``succeeded`` (optional), ``return``,
        ``steps``, ``<metric>_sum`` and ``final_<metric>`` (optional)."""
        steps = episodes["steps"].to(self.steps_sum)
        length = episodes["length_s"].to(self.length_sum)
        ret = episodes["return"].to(self.return_sum)
        self.episodes += steps.numel()
        self.length_sum += length.sum()
        self.fell_sum += episodes["fell"].to(self.fell_sum).sum()
        if "succeeded" in episodes:
            succeeded = episodes["succeeded"].to(self.succeeded_sum)
            self.succeeded_sum += succeeded.sum()
            self.succ_length_sum += (succeeded * length).sum()
            self.succ_length_sq_sum += (succeeded * length * length).sum()
        self.return_sum += ret.sum()
        self.steps_sum += steps.sum()
        self.length_sq_sum += (length * length).sum()
        self.return_sq_sum += (ret * ret).sum()
        for key in self.metric_names:
            if f"{key}_sum" in episodes:
                y = episodes[f"{key}_sum"].to(steps)
                getattr(self, f"{key}_sum").add_(y.sum())
                getattr(self, f"{key}_steps").add_(steps.sum())
                self._add(f"{key}_sq_sum", (y * y).sum())
                self._add(f"{key}_cross_sum", (y * steps).sum())
                self._add(f"{key}_steps_sq", (steps * steps).sum())
                self._add(f"{key}_episodes", torch.tensor(float(y.numel()), dtype=y.dtype, device=y.device))
            if f"final_{key}" in episodes:
                last = episodes[f"final_{key}"].to(steps)
                self._add(f"final_{key}_sum", last.sum())
                self._add(f"final_{key}_sq_sum", (last * last).sum())
                self._add(f"final_{key}_episodes", torch.tensor(float(last.numel()), dtype=last.dtype, device=last.device))

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
        out.update(self._intervals())
        return out

    def _intervals(self) -> dict[str, torch.Tensor]:
        """Confidence intervals and the episode-level extras; undefined ones left out."""
        v = {name: float(getattr(self, name)) for name in self._defaults}
        n = v["episodes"]
        found: dict[str, float] = {}
        for rate, count in (("success_rate", "succeeded_sum"), ("fall_rate", "fell_sum")):
            found[f"{rate}_ci95_lo"], found[f"{rate}_ci95_hi"] = wilson_interval(v[count], n)
        found["episode_length_s_ci95"] = mean_half_width(v["length_sum"], v["length_sq_sum"], n)
        found["return_ci95"] = mean_half_width(v["return_sum"], v["return_sq_sum"], n)
        for key in self.metric_names:
            found[f"{key}_ci95"] = ratio_half_width(
                v[f"{key}_sum"], v[f"{key}_steps"], v[f"{key}_sq_sum"], v[f"{key}_cross_sum"], v[f"{key}_steps_sq"],
                v[f"{key}_episodes"],
            )
            k = v[f"final_{key}_episodes"]
            if k > 0:
                found[f"final_{key}"] = v[f"final_{key}_sum"] / k
                found[f"final_{key}_ci95"] = mean_half_width(v[f"final_{key}_sum"], v[f"final_{key}_sq_sum"], k)
        wins = v["succeeded_sum"]
        if self.goal and wins > 0:
            found["time_to_goal_s"] = v["succ_length_sum"] / wins
            found["time_to_goal_s_ci95"] = mean_half_width(v["succ_length_sum"], v["succ_length_sq_sum"], wins)
        dtype, device = self.episodes.dtype, self.episodes.device
        return {k: torch.tensor(x, dtype=dtype, device=device) for k, x in found.items() if x == x}  # NaN: undefined

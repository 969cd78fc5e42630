"""95 % confidence intervals from running sums (the states of :class:`~mimic_lit.metrics.TrackingMetrics`).

Every function takes sums over episodes (counts, Σx, Σx²...), never the episodes themselves, so
ranks that each summed their own episodes combine exactly by adding their sums. Episodes are the
independent units: each interval says how far the number could move if the same evaluation were
repeated with other random starts. ``Z95`` = 1.96 throughout.
"""

from __future__ import annotations

import math

__all__ = ["Z95", "mean_half_width", "ratio_half_width", "wilson_interval"]

#: two-sided 95 % quantile of the standard normal distribution
Z95 = 1.96


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """(low, high) Wilson score interval of a rate ``successes / n``; stays inside [0, 1] and
    is not symmetric around the rate (unlike the normal approximation, it is sensible at 0 % or
    100 % and with few episodes). NaNs when ``n`` is 0."""
    if n <= 0:
        return math.nan, math.nan
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1.0 - p) / n + z2 / (4.0 * n * n), 0.0))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def mean_half_width(total: float, total_sq: float, n: float, z: float = Z95) -> float:
    """Half-width ``z·s/√n`` of the interval around the mean ``total / n`` of ``n`` values whose
    sum is ``total`` and sum of squares ``total_sq`` (``s``: sample standard deviation); NaN for
    fewer than 2 values."""
    if n < 2:
        return math.nan
    var = max(total_sq - total * total / n, 0.0) / (n - 1.0)
    return z * math.sqrt(var / n)


def ratio_half_width(
    sum_y: float, sum_x: float, sum_yy: float, sum_xy: float, sum_xx: float, n: float, z: float = Z95
) -> float:
    """Half-width of the interval around ``R = Σy / Σx`` over ``n`` episodes (``y``: an episode's
    summed per-step metric, ``x``: its steps): the ratio estimator's standard error
    ``√(Σ(y - R·x)² / (n - 1) / n) / mean(x)``, so a per-step average gets an interval that treats
    episodes, not steps, as independent. NaN for fewer than 2 episodes or no steps."""
    if n < 2 or sum_x <= 0:
        return math.nan
    r = sum_y / sum_x
    resid_sq = max(sum_yy - 2.0 * r * sum_xy + r * r * sum_xx, 0.0)
    return z * math.sqrt(resid_sq / (n - 1.0) / n) / (sum_x / n)

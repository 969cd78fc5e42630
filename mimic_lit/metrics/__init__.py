"""torchmetrics for evaluating imitation policies."""

from mimic_lit.metrics.tracking import ERROR_KEYS, TrackingMetrics

__all__ = ["ERROR_KEYS", "TrackingMetrics"]

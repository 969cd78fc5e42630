"""torchmetrics for evaluating imitation policies."""

from mimic_lit.metrics.tracking import TrackingMetrics

__all__ = ["TrackingMetrics"]

"""torchmetrics for evaluating imitation policies, their confidence intervals and the evaluation summary."""

from mimic_lit.metrics.report import format_summary, summary, write_summary
from mimic_lit.metrics.tracking import TrackingMetrics

__all__ = ["TrackingMetrics", "format_summary", "summary", "write_summary"]

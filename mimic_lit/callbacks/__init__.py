"""Lightning callbacks shared by the methods."""

from mimic_lit.callbacks.throughput import ThroughputMeter

__all__ = ["ThroughputMeter"]

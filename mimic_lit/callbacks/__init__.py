"""Lightning callbacks shared by the methods."""

from mimic_lit.callbacks.checkpoint import RunCheckpoint
from mimic_lit.callbacks.rank_sync import RankSyncCheck
from mimic_lit.callbacks.throughput import ThroughputMeter

__all__ = ["RankSyncCheck", "RunCheckpoint", "ThroughputMeter"]

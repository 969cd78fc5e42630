"""Retargeting: motions of one skeleton (the DeepMimic humanoid, BVH captures) onto a robot with
per-frame IK (mink), driven by a body map (``mimic_lit/data/retarget/*.yaml``)."""

from mimic_lit.retarget.ik import RetargetResult, retarget_motion
from mimic_lit.retarget.mapping import BodyTarget, RetargetMap, load_retarget_map, shipped_map_path
from mimic_lit.retarget.source import SourceMotion, source_from_clip

__all__ = [
    "BodyTarget", "RetargetMap", "RetargetResult", "SourceMotion", "load_retarget_map", "retarget_motion",
    "shipped_map_path", "source_from_clip",
]  # fmt: skip

"""Write a :class:`~mimic_lit.export.policy.DeployedPolicy` to ONNX or TorchScript with its metadata
inside, and read the metadata back.

- ONNX: inputs ``obs`` (batch, obs_dim) float32; outputs ``actions`` and ``joint_targets``
  (batch, D); the metadata JSON is the model's ``metadata_props`` entry ``mimic_lit``. Runs in
  onnxruntime (CPU, or TensorRT/CUDA on the robot's computer) with no torch at all.
- TorchScript: the same forward, loadable with ``torch.jit.load`` in Python or libtorch C++; the
  metadata is the extra file ``mimic_lit`` (``torch.jit.load(path, _extra_files={"mimic_lit": ""})``).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.export.metadata import METADATA_KEY
from mimic_lit.export.policy import DeployedPolicy
from mimic_lit.fileio import atomic_output

__all__ = ["FORMATS", "export_onnx", "export_policy", "export_torchscript", "read_metadata"]

FORMATS = ("onnx", "torchscript")
_SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


def export_onnx(policy: DeployedPolicy, metadata: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``policy`` as one self-contained ONNX file (opset 18, dynamic batch; PyTorch's
    torch.export-based exporter) with ``metadata`` embedded, atomically; returns the path."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None:
        raise MimicLitError("ONNX export needs the 'onnx' and 'onnxscript' packages: pip install 'mimic-lit[export]'")
    path = Path(path)
    batch = torch.export.Dim("batch")
    quiet = logging.getLogger("torch.onnx")  # it logs every operator library it does not find
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            # No file argument: the program stays in memory, so torch never writes its external-data
            # sidecar (``<out>.onnx.data``); the file written below holds the weights inline.
            program = torch.onnx.export(
                policy,
                (torch.zeros(2, policy.obs_dim),),
                None,
                input_names=["obs"],
                output_names=["actions", "joint_targets"],
                dynamic_shapes=({0: batch},),
                opset_version=18,
                dynamo=True,
                verbose=False,
            )
    finally:
        quiet.setLevel(level)
    import onnx

    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
    proto.producer_name = "mimic-lit"
    onnx.checker.check_model(proto)
    with atomic_output(path) as tmp:
        onnx.save(proto, str(tmp))
    return path


def export_torchscript(policy: DeployedPolicy, metadata: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``policy`` as a traced TorchScript module with ``metadata`` as an extra file."""
    path = Path(path)
    with warnings.catch_warnings():  # PyTorch deprecates TorchScript for torch.export; libtorch still loads it
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(policy, (torch.zeros(1, policy.obs_dim),), check_trace=True)
        with atomic_output(path) as tmp:
            torch.jit.save(traced, str(tmp), _extra_files={METADATA_KEY: json.dumps(metadata)})
    return path


def export_policy(policy: DeployedPolicy, metadata: dict[str, Any], path: str | os.PathLike, fmt: str) -> Path:
    """Write ``policy`` in format ``fmt`` (``onnx`` or ``torchscript``) to ``path``."""
    if fmt not in FORMATS:
        raise MimicLitError(f"unknown export format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    path = Path(path)
    return export_onnx(policy, metadata, path) if fmt == "onnx" else export_torchscript(policy, metadata, path)


def default_suffix(fmt: str) -> str:
    """File suffix of format ``fmt`` (``.onnx`` or ``.pt``)."""
    return _SUFFIX[fmt]


def load_torchscript(path: str | os.PathLike, extra_files: dict[str, str] | None = None) -> torch.jit.ScriptModule:
    """``torch.jit.load`` on the CPU without PyTorch's TorchScript deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.load(str(path), map_location="cpu", _extra_files=extra_files or {})


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata dict stored in an exported ``.onnx`` or TorchScript file."""
    path = Path(path)
    if not path.is_file():
        raise MimicLitError(f"exported policy '{path}' does not exist")
    if path.suffix.lower() == ".onnx":
        import onnx

        try:
            proto = onnx.load(str(path), load_external_data=False)
        except Exception as exc:  # protobuf's DecodeError (and friends) for anything that is not ONNX
            raise MimicLitError(
                f"exported policy '{path}' is not a valid ONNX file (truncated, damaged or another format)"
            ) from exc
        for entry in proto.metadata_props:
            if entry.key == METADATA_KEY:
                return _parse_metadata(entry.value, path)
        raise MimicLitError(f"'{path}' has no mimic-lit metadata: was it written by 'mimic-lit export'?")
    extra = {METADATA_KEY: ""}
    try:
        load_torchscript(path, extra)
    except RuntimeError as exc:
        raise MimicLitError(
            f"exported policy '{path}' is neither ONNX nor TorchScript (truncated, damaged or another format)"
        ) from exc
    if not extra[METADATA_KEY]:
        raise MimicLitError(f"'{path}' has no mimic-lit metadata: was it written by 'mimic-lit export'?")
    return _parse_metadata(extra[METADATA_KEY], path)


def _parse_metadata(text: str, path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise MimicLitError(f"exported policy '{path}' has damaged mimic-lit metadata (not JSON)") from exc
    if not isinstance(meta, dict):
        raise MimicLitError(f"exported policy '{path}' has damaged mimic-lit metadata (not a JSON object)")
    return meta

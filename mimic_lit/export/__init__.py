"""Policy export for deployment: checkpoint -> one ONNX/TorchScript file with its metadata inside.

:func:`export_checkpoint` is what ``mimic-lit export`` runs; :mod:`mimic_lit.export.sim2sim` runs
an exported file in plain MuJoCo with onnxruntime, as a robot would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.export.metadata import METADATA_KEY, obs_blocks, policy_metadata
from mimic_lit.export.policy import DeployedPolicy, deployed_policy
from mimic_lit.export.writers import FORMATS, default_suffix, export_policy, load_torchscript, read_metadata

__all__ = [
    "FORMATS",
    "METADATA_KEY",
    "DeployedPolicy",
    "ExportResult",
    "default_suffix",
    "deployed_policy",
    "export_checkpoint",
    "export_policy",
    "obs_blocks",
    "policy_metadata",
    "read_metadata",
    "run_exported",
]


@dataclass
class ExportResult:
    """What :func:`export_checkpoint` wrote and how closely the file reproduces the torch policy."""

    path: Path
    format: str
    metadata: dict[str, Any]
    max_abs_diff: float  # largest |file action - torch action| over the check observations
    checked: int  # number of check observations


def export_checkpoint(
    config: str | os.PathLike,
    ckpt_path: str | os.PathLike,
    fmt: str = "onnx",
    out: str | os.PathLike | None = None,
    check_samples: int = 1000,
    seed: int = 0,
    quick: bool = False,
) -> ExportResult:
    """Export the policy of checkpoint ``ckpt_path`` trained with recipe ``config``.

    The file's actions are compared with the torch method's deterministic actions
    (``model.act``) on ``check_samples`` observations: real ones from a short rollout plus random
    ones around the normaliser's mean. ``out`` defaults to the checkpoint's name with the format's
    suffix. ``quick``: the recipe as ``--quick`` shrinks it (:mod:`mimic_lit.quick`).
    """
    import yaml

    from mimic_lit.checkpoint import load_policy

    if fmt not in FORMATS:
        raise MimicLitError(f"unknown export format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    model, dm = load_policy(config, ckpt_path, {"sim.num_envs": 1}, quick=quick)
    env = dm.build_env(1, 0, rand_reset=False)
    from mimic_lit.envs.hlc import HLCEnv

    if isinstance(env, HLCEnv):
        raise MimicLitError(
            f"{type(env).__name__} policies choose latents, not joint targets: export the low-level policy instead"
        )
    model.build(env.obs_dim, env.action_dim)  # clear error if the checkpoint is for other sizes
    policy = deployed_policy(model, env.action_mapping.offset, env.action_mapping.scale)
    recipe = yaml.safe_load(Path(config).read_text())
    if quick:  # provenance: the networks are the quick sizes, not the recipe's
        recipe = {**recipe, "quick": True}
    meta = policy_metadata(model, env, recipe)
    path = Path(out) if out is not None else Path(ckpt_path).with_suffix(default_suffix(fmt))
    export_policy(policy, meta, path, fmt)
    obs = check_observations(model, env, check_samples, seed)
    diff = float((run_exported(path, obs) - model.act(obs.to(model.device)).cpu().float()).abs().max())
    return ExportResult(path, fmt, meta, diff, int(obs.shape[0]))


@torch.no_grad()
def check_observations(model: Any, env: Any, n: int, seed: int = 0) -> torch.Tensor:
    """(n, obs_dim) observations to compare exports on: up to n/2 from a rollout of ``env`` with
    the policy, the rest mean + std * N(0, 1) of the observation normaliser."""
    gen = torch.Generator().manual_seed(seed)
    real = [env.reset().float().cpu()]
    for _ in range(n // 2 - 1):
        real.append(env.step(model.act(real[-1].to(model.device))).obs.float().cpu())
    real_obs = torch.cat(real)[: n // 2]
    norm = model.obs_normalizer
    rand = norm.mean.cpu() + norm.std.cpu() * torch.randn(n - real_obs.shape[0], norm.dim, generator=gen)
    return torch.cat([real_obs, rand.float()])


def run_exported(path: str | os.PathLike, obs: torch.Tensor) -> torch.Tensor:
    """Actions of an exported file for ``obs`` (B, obs_dim): onnxruntime for ``.onnx``, else TorchScript."""
    path = Path(path)
    if path.suffix.lower() == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(["actions"], {"obs": obs.float().numpy()})[0])
    module = load_torchscript(path)
    with torch.no_grad():
        return module(obs.float())[0]

"""Start a run from another run's networks: fine-tune a locomotion policy on a task.

Learning a task such as dribbling from scratch spends most of its samples learning not to fall.
``init_from`` (an argument of every method) copies the networks of a checkpoint trained on a
related env before the first iteration, e.g. an AMP policy trained on the same clips without a
goal into the dribble recipe, whose observation is the same character observation **plus** the
goal's. What is copied, tensor by tensor (optimiser states, replay buffers and the env are not):

- tensors of the same shape: as they are (hidden layers, heads, the discriminator and its
  normaliser when the discriminator observation is unchanged);
- the first layer of actor and critic when this run observes more: the checkpoint's weights for
  the leading inputs, **zeros** for the extra (appended) inputs, so the policy starts exactly as
  the checkpoint's and learns to use the new inputs;
- the observation normaliser when this run observes more: the checkpoint's statistics for the
  leading inputs, mean 0 and std 1 (at the checkpoint's sample count) for the extra ones.

Anything else that differs (an action size, a hidden width) is an error naming the tensor.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from mimic_lit.errors import MimicLitError

__all__ = ["warm_start"]

_SKIP_PREFIXES = ("replay.",)  # replayed samples belong to the old run's policy


def _first_layers(module: torch.nn.Module) -> set[str]:
    """State-dict keys of the input layers of actor and critic (their trunks' first Linear)."""
    keys = set()
    for name in ("actor", "critic"):
        net = getattr(module, name, None)
        if net is None:
            continue
        first = next((m for m in net.modules() if isinstance(m, torch.nn.Linear)), None)
        for param_name, param in net.named_parameters():
            if first is not None and (param is first.weight):
                keys.add(f"{name}.{param_name}")
    return keys


@torch.no_grad()
def warm_start(module: torch.nn.Module, ckpt_path: str | os.PathLike) -> dict[str, str]:
    """Copy ``ckpt_path``'s networks into the built ``module`` (see the module docstring).
    Returns ``{tensor: how}`` for the log ("copied", "widened", "skipped")."""
    from mimic_lit.checkpoint_io import load_checkpoint

    path = Path(ckpt_path)
    ckpt = load_checkpoint(path, "init_from checkpoint")  # weights_only=True: tensors and plain values only
    source = ckpt["state_dict"]
    target = module.state_dict()
    first = _first_layers(module)
    norm = "obs_normalizer."
    report: dict[str, str] = {}
    for key, dst in target.items():
        if key.startswith(_SKIP_PREFIXES) or key not in source:
            report[key] = "skipped"
            continue
        src = source[key].to(dst.dtype)
        if src.shape == dst.shape:
            dst.copy_(src)
            report[key] = "copied"
        elif key in first and src.dim() == 2 and src.shape[0] == dst.shape[0] and src.shape[1] < dst.shape[1]:
            dst.zero_()
            dst[:, : src.shape[1]] = src
            report[key] = "widened"
        elif key.startswith(norm) and src.dim() == 1 and src.shape[0] < dst.shape[0]:
            n = src.shape[0]
            dst[:n] = src
            name = key[len(norm) :]
            count = float(source[norm + "count"])
            fill = {"mean": 0.0, "std": 1.0, "sum": 0.0, "sumsq": count}.get(name)
            if fill is None:
                raise MimicLitError(f"init_from: cannot widen normaliser statistic '{key}'")
            dst[n:] = fill
            report[key] = "widened"
        else:
            raise MimicLitError(
                f"init_from: '{key}' has shape {tuple(src.shape)} in '{path.name}' but {tuple(dst.shape)} here; only "
                "the observation may grow (appended goal inputs)"
            )
    module.load_state_dict(target)
    return report

"""A trained policy from its recipe and checkpoint, outside ``mimic-lit fit``.

:func:`build_from_recipe` instantiates the method and data module from the ``model`` and ``data``
sections of a recipe (or of the ``config.yaml`` a run saved beside its logs), exactly as the
CLI would; :func:`load_policy` then loads a checkpoint's weights and observation normaliser into
the method. Checkpoints are read with :func:`~mimic_lit.checkpoint_io.load_checkpoint`, which
refuses anything but tensors and plain containers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mimic_lit.errors import MimicLitError

__all__ = ["build_from_recipe", "load_policy"]


def _read_recipe(config: str | os.PathLike) -> dict[str, Any]:
    import yaml

    path = Path(config)
    if not path.is_file():
        raise MimicLitError(f"config '{path}' does not exist")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "model" not in data or "data" not in data:
        raise MimicLitError(f"'{path}' is not a training recipe: it needs 'model' and 'data' sections")
    return data


def build_from_recipe(config: str | os.PathLike, overrides: dict[str, Any] | None = None):
    """(method, data module) instantiated from a recipe's ``model`` and ``data`` sections, exactly as
    ``mimic-lit fit`` would (jsonargparse, subclass mode). ``overrides`` maps dotted keys inside the
    data module's ``init_args`` (e.g. ``{"task.motion": "shipped:g1/kimodo_run"}``) to new values."""
    from jsonargparse import ArgumentParser
    from lightning.pytorch import LightningDataModule, LightningModule

    recipe = _read_recipe(config)
    data_section = recipe["data"]
    for dotted, value in (overrides or {}).items():
        node = data_section.setdefault("init_args", {})
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
            if isinstance(node, dict) and "class_path" in node:  # a class given by path: its options
                node = node.setdefault("init_args", {})
        node[leaf] = value
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LightningModule, "model", required=True)
    parser.add_subclass_arguments(LightningDataModule, "data", required=True)
    try:
        cfg = parser.parse_object({"model": recipe["model"], "data": data_section})
    except Exception as exc:  # jsonargparse raises its own ArgumentError types
        from mimic_lit.config_errors import summarize_parser_error

        raise MimicLitError(summarize_parser_error(str(exc), ["--config", str(config)], parser)) from exc
    init = parser.instantiate_classes(cfg)
    return init.model, init.data


def load_policy(
    config: str | os.PathLike,
    ckpt_path: str | os.PathLike,
    overrides: dict[str, Any] | None = None,
    what: str = "checkpoint",
):
    """(method with the checkpoint's weights, data module) for playing a trained policy.

    The checkpoint is read with :func:`~mimic_lit.checkpoint_io.load_checkpoint` (tensors and plain
    values only); ``what`` names it in error messages."""
    from mimic_lit.checkpoint_io import load_checkpoint

    ckpt = load_checkpoint(ckpt_path, what)  # weights_only=True; checked before the envs are built
    model, dm = build_from_recipe(config, overrides)
    model.on_load_checkpoint(ckpt)  # builds the networks for the stored sizes
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, dm

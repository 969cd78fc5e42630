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

__all__ = ["POLICY_PREFIXES", "build_from_recipe", "load_policy", "resolve_shipped_skill", "write_policy_checkpoint"]

#: the parts of a method's weights a deployed policy needs: what a skill file keeps
POLICY_PREFIXES = ("actor.", "obs_normalizer.")
#: the sizes a method rebuilds its networks from (random states and generators are left out)
_SIZE_KEYS = ("obs_dim", "action_dim", "disc_obs_dim", "latent_dim")
#: ``llc_ckpt_path: shipped:skills/<name>`` names a skill file inside the package
SHIPPED_SKILL_PREFIX = "shipped:skills/"


def _read_recipe(config: str | os.PathLike) -> dict[str, Any]:
    import yaml

    path = Path(config)
    if not path.is_file():
        raise MimicLitError(f"config '{path}' does not exist")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or "model" not in data or "data" not in data:
        raise MimicLitError(f"'{path}' is not a training recipe: it needs 'model' and 'data' sections")
    return data


def build_from_recipe(config: str | os.PathLike, overrides: dict[str, Any] | None = None, quick: bool = False):
    """(method, data module) instantiated from a recipe's ``model`` and ``data`` sections, exactly as
    ``mimic-lit fit`` would (jsonargparse, subclass mode). ``overrides`` maps dotted keys inside the
    data module's ``init_args`` (e.g. ``{"task.motion": "shipped:g1/kimodo_run"}``) to new values;
    ``quick`` shrinks the recipe as ``--quick`` does (:mod:`mimic_lit.quick`), before the overrides."""
    from jsonargparse import ArgumentParser
    from lightning.pytorch import LightningDataModule, LightningModule

    recipe = _read_recipe(config)
    sections = {"model": recipe["model"], "data": recipe["data"]}
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LightningModule, "model", required=True)
    parser.add_subclass_arguments(LightningDataModule, "data", required=True)
    if quick:  # the quick values depend on the classes' keys: parse once, then add them
        from mimic_lit.quick import nested, quick_overrides

        _merge(sections, nested(quick_overrides(_parse(parser, sections, config), Path(config).stem)))
    for dotted, value in (overrides or {}).items():
        node = sections["data"].setdefault("init_args", {})
        *parents, leaf = dotted.split(".")
        for key in parents:
            if isinstance(node.get(key), str):  # a class given by name alone
                node[key] = {"class_path": node[key]}
            elif not isinstance(node.get(key), dict):  # absent, or null (its class default)
                node[key] = {}
            node = node[key]
            if "class_path" in node:  # a class given by path: its options
                node = node.setdefault("init_args", {})
        node[leaf] = value
    init = parser.instantiate_classes(_parse(parser, sections, config))
    return init.model, init.data


def _parse(parser: Any, sections: dict[str, Any], config: str | os.PathLike) -> Any:
    """``sections`` parsed (defaults filled in); a rejected one is a one-line :class:`MimicLitError`."""
    try:
        return parser.parse_object(sections)
    except Exception as exc:  # jsonargparse raises its own ArgumentError types
        from mimic_lit.config_errors import summarize_parser_error

        raise MimicLitError(summarize_parser_error(str(exc), ["--config", str(config)], parser)) from exc


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    """Deep-merge ``update`` into ``into`` (``update`` wins; a class given by name alone keeps it)."""
    for key, value in update.items():
        old = into.get(key)
        if isinstance(value, dict) and isinstance(old, str):
            old = into[key] = {"class_path": old}
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value)
        else:
            into[key] = value


def load_policy(
    config: str | os.PathLike,
    ckpt_path: str | os.PathLike,
    overrides: dict[str, Any] | None = None,
    what: str = "checkpoint",
    quick: bool = False,
):
    """(method with the checkpoint's weights, data module) for playing a trained policy.

    The checkpoint is read with :func:`~mimic_lit.checkpoint_io.load_checkpoint` (tensors and plain
    values only); ``what`` names it in error messages. ``quick``: the recipe as ``--quick`` shrinks it
    (the checkpoint of a quick run)."""
    from mimic_lit.checkpoint_io import load_checkpoint

    ckpt = load_checkpoint(resolve_shipped_skill(ckpt_path), what)  # weights_only=True; checked before the envs are built
    model, dm = build_from_recipe(config, overrides, quick=quick)
    model.on_load_checkpoint(ckpt)  # builds the networks for the stored sizes
    if ckpt.get("mimic_lit", {}).get("policy_only"):  # a skill file: the policy's weights, nothing to train
        result = model.load_state_dict(ckpt["state_dict"], strict=False)
        missing = [k for k in result.missing_keys if k.startswith(POLICY_PREFIXES)]
        if missing or result.unexpected_keys:
            raise MimicLitError(
                f"{what} '{ckpt_path}' does not fit the recipe '{config}': "
                f"missing {missing[:3]}, unexpected {list(result.unexpected_keys)[:3]}"
            )
    else:
        model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, dm


def resolve_shipped_skill(path: str | os.PathLike) -> str | os.PathLike:
    """``shipped:skills/<name>`` as the path of that skill file inside the package; other paths as given."""
    text = str(path)
    if not text.startswith(SHIPPED_SKILL_PREFIX):
        return path
    from importlib.resources import files

    name = text[len(SHIPPED_SKILL_PREFIX) :]
    folder = Path(str(files("mimic_lit") / "data" / "skills"))
    found = folder / name
    if not name or "/" in name or not found.is_file():
        have = sorted(p.name for p in folder.glob("*.ckpt")) if folder.is_dir() else []
        raise MimicLitError(f"no shipped skill '{name}': the package ships {', '.join(have) or 'none'}")
    return str(found)


def write_policy_checkpoint(ckpt_path: str | os.PathLike, out: str | os.PathLike, source: dict[str, Any] | None = None) -> Path:
    """Write the policy of a training checkpoint (actor and observation normaliser, no critic,
    discriminator, optimiser or replay buffer) as a small checkpoint :func:`load_policy` reads:
    the skill file a high-level recipe loads (``llc_ckpt_path``). ``source`` is stored beside it
    (e.g. the recipe and the training samples) for provenance."""
    import torch

    from mimic_lit.checkpoint_io import load_checkpoint
    from mimic_lit.fileio import atomic_output

    ckpt = load_checkpoint(ckpt_path, "checkpoint")
    state = {k: v for k, v in ckpt["state_dict"].items() if k.startswith(POLICY_PREFIXES)}
    meta = ckpt.get("mimic_lit")
    if meta is None or not state:
        raise MimicLitError(f"'{ckpt_path}' is not a mimic-lit RL checkpoint with a policy (actor and normaliser)")
    skill = {
        "state_dict": state,
        "mimic_lit": {**{k: meta[k] for k in _SIZE_KEYS if k in meta}, "policy_only": True},
        "source": {"epoch": int(ckpt.get("epoch", 0)), "global_step": int(ckpt.get("global_step", 0)), **(source or {})},
    }
    with atomic_output(out) as tmp:
        torch.save(skill, tmp)
    return Path(out)

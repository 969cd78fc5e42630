"""``--quick``: shrink any recipe to the tiny size CI trains (checks the pipeline, not learning).

``mimic-lit fit --config recipes/<name>.yaml --quick`` runs the recipe's own classes and settings
with the sizes of :data:`QUICK_VALUES`: 8 envs x 8 steps per iteration, 2 iterations, small networks,
a short discriminator history, 2 evaluation episodes, in its own run folder (``runs/quick_<name>``),
so a quick run never resumes or overwrites the real one. Everything else (rewards, learning rates,
observation settings, goals, the ball) stays as the recipe has it.

A value is set only where the parsed config has the key, i.e. where the recipe's model or data class
takes it (AMP's discriminator, ASE's encoder and latent, a high-level controller's low-level
settings), wherever it sits in the config: keys are matched by the end of their path with
``class_path`` / ``init_args`` levels left out. ``--quick`` acts at its place on the command line,
like a config file: it shrinks what the ``--config`` files before it set, and options after it win.
The values depend on the recipe (which keys its classes take), so the arguments before ``--quick``
are parsed first and the quick values go in as a config text where ``--quick`` stood.
"""

from __future__ import annotations

import argparse
from pathlib import PurePosixPath
from typing import Any

from mimic_lit.errors import MimicLitError

#: Prefix of a quick run's folder name (``runs/deepmimic_g1_walk`` -> ``runs/quick_deepmimic_g1_walk``).
QUICK_PREFIX = "quick_"

#: (section, key path ending, quick value, why). ``section`` is the config's top-level key; the key
#: path ending is matched against the key's path below it with ``class_path``/``init_args`` left out.
QUICK_VALUES: tuple[tuple[str, tuple[str, ...], Any, str], ...] = (
    ("trainer", ("max_epochs",), 2, "2 iterations: the second runs on a checkpointable, updated policy"),
    ("trainer", ("check_val_every_n_epoch",), 1, "validate after each iteration, so both iterations log val/*"),
    ("model", ("actor", "hidden"), [64, 64], "small networks: an update takes milliseconds"),
    ("model", ("critic", "hidden"), [64, 64], "as the actor"),
    ("model", ("disc", "hidden"), [64, 32], "small discriminator (AMP, ADD, ASE)"),
    ("model", ("encoder", "hidden"), [32], "small skill encoder (ASE)"),
    ("model", ("disc_buffer_size",), 96, "the replay buffer fills and wraps within 2 iterations of 64 samples"),
    ("model", ("disc_replay_samples",), 16, "replayed samples per discriminator step: fewer than the buffer holds"),
    ("data", ("sim", "num_envs"), 8, "8 environments per process"),
    ("data", ("horizon",), 8, "8 control steps per iteration (64 samples)"),
    ("data", ("update_epochs",), 2, "2 passes over the rollout: more than one minibatch update"),
    ("data", ("num_minibatches",), 2, "2 minibatches of 32 samples"),
    ("data", ("val_episodes",), 2, "2 evaluation episodes per validation during training"),
    ("data", ("eval_episodes",), 2, "2 evaluation episodes in validate, test and predict"),
    ("data", ("episode_length",), 2.0, "2-second episodes: time limits and resets happen within the run"),
    ("data", ("disc_steps",), 4, "4-frame discriminator history: a smaller discriminator input"),
    ("data", ("latent_dim",), 8, "8-d skill latent (ASE and its high-level controllers)"),
    ("data", ("latent_time_min",), 0.1, "latents held 0.1-0.3 s: redrawn within the run"),
    ("data", ("latent_time_max",), 0.3, "as latent_time_min"),
    ("data", ("llc_steps",), 2, "2 low-level steps per high-level action (high-level controllers)"),
    ("data", ("llc_quick",), True, "the low-level recipe is read with --quick too: its networks are quick-sized"),
    ("data", ("hlc_quick",), True, "the ball-policy recipe a walk is fine-tuned under is read with --quick too"),
)


def quick_path(path: str | None, fallback: str) -> str:
    """``path`` with ``quick_`` before its last part (``runs/x`` -> ``runs/quick_x``); ``fallback``
    when there is no path. Already quick names are kept, so applying ``--quick`` twice is harmless."""
    if not path:
        return fallback
    p = PurePosixPath(str(path))
    return str(p) if p.name.startswith(QUICK_PREFIX) else str(p.with_name(QUICK_PREFIX + p.name))


def quick_ckpt_path(path: str | None) -> str | None:
    """A checkpoint in a run folder (``<run>/checkpoints/<file>``) -> the same file of the quick run
    of that folder; a shipped skill (``shipped:skills/<recipe>.ckpt``) -> the last checkpoint of its
    recipe's quick run (``runs/quick_<recipe>``); anything else unchanged (a quick run trains its
    low-level policy with ``--quick``)."""
    if not path:
        return path
    if str(path).startswith("shipped:skills/"):
        stem = PurePosixPath(str(path)[len("shipped:skills/") :]).stem
        return f"runs/{QUICK_PREFIX}{stem}/checkpoints/last.ckpt"
    p = PurePosixPath(str(path))
    if p.parent.name != "checkpoints":
        return str(path)
    run = str(p.parent.parent)
    return str(PurePosixPath(quick_path(run, run)) / "checkpoints" / p.name)


def _plain_path(key: str) -> tuple[str, ...]:
    """``data.init_args.task.init_args.disc_steps`` -> ``("data", "task", "disc_steps")``."""
    return tuple(part for part in key.split(".") if part not in ("init_args", "class_path"))


def quick_overrides(cfg: Any, recipe_stem: str | None = None) -> dict[str, Any]:
    """The dotted keys of ``cfg`` (a parsed jsonargparse ``Namespace``) that ``--quick`` sets, with
    their values. A key whose value is ``None`` stands for a section the recipe left at its class
    default (``encoder: null``): the quick value goes below it (``encoder.hidden``)."""
    leaves = dict(cfg.items())
    out: dict[str, Any] = {}
    for key, value in leaves.items():
        section, *below = _plain_path(key)
        for where, ending, quick, _why in QUICK_VALUES:
            if section != where:
                continue
            n = len(ending)
            if len(below) >= n and tuple(below[-n:]) == ending:
                out[key] = quick
            elif value is None and n > 1 and len(below) >= n - 1 and tuple(below[-(n - 1):]) == ending[:-1]:
                out[f"{key}.{ending[-1]}"] = quick
    root_key = "trainer.default_root_dir"
    if root_key in cfg:
        out[root_key] = quick_path(cfg.get(root_key), f"runs/{QUICK_PREFIX}{recipe_stem or 'run'}")
    for key, value in leaves.items():  # checkpoints of other recipes' runs: their quick runs'
        if _plain_path(key)[-1:] in (("llc_ckpt_path",), ("hlc_ckpt_path",), ("init_from",)) and value:
            out[key] = quick_ckpt_path(value)
    return out


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}``."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def quick_config(cfg: Any, recipe_stem: str | None = None) -> str:
    """The ``--quick`` values for the fully parsed config ``cfg`` (defaults included), as the text of
    a config file: given to the parser where ``--quick`` stood, it shrinks what came before it."""
    import yaml

    return yaml.safe_dump(nested(quick_overrides(cfg, recipe_stem)), sort_keys=False)


def split_quick(args: list[str]) -> tuple[list[str], list[str]] | None:
    """``args`` split at the first ``--quick`` into (before, after), further ``--quick`` dropped;
    ``None`` without one or with ``--help``. A ``--quick`` with no ``--config`` before it is an error
    (nothing to shrink)."""
    if "--quick" not in args or "-h" in args or "--help" in args:
        return None
    at = args.index("--quick")
    before, after = list(args[:at]), [a for a in args[at + 1:] if a != "--quick"]
    if not any(a in ("--config", "-c") or a.startswith("--config=") for a in before):
        raise MimicLitError("--quick shrinks the recipe given before it: put it after --config <recipe>")
    return before, after


def last_config_stem(args: list[str]) -> str | None:
    """Name of the last ``--config`` file in ``args`` (the fallback name of a quick run's folder)."""
    stem = None
    for i, a in enumerate(args):
        if a.startswith("--config="):
            stem = PurePosixPath(a.split("=", 1)[1]).stem
        elif a in ("--config", "-c") and i + 1 < len(args):
            stem = PurePosixPath(args[i + 1]).stem
    return stem


class QuickAction(argparse.Action):
    """``--quick`` in ``--help``. The flag itself is taken out of the arguments before parsing by
    ``MimicLitCLI.parse_arguments``, which applies :func:`quick_config` in its place (the parser only
    meets it next to ``--help``, which prints the help and exits)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "shrink the recipe given before it to the tiny size CI trains (mimic_lit/quick.py): "
                                  "8 envs x 8 steps, 2 iterations, small networks, run folder runs/quick_<name>; "
                                  "options after it still win")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: Any, cfg: Any, values: Any, option_string: str | None = None) -> None:
        pass

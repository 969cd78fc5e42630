"""Subcommands of ``mimic-lit`` other than the Lightning ones (fit, validate, test, predict).

Each tool lives in its own module ``mimic_lit/commands/<name>.py`` (dashes become underscores) and
exposes two functions:

- ``add_arguments(parser: argparse.ArgumentParser) -> None`` declares its options;
- ``run(args: argparse.Namespace) -> int`` does the work and returns the exit code.

The module docstring's first paragraph is the command's ``--help`` description, the rest its epilog
(examples). The registry below
holds the one-line summaries so ``mimic-lit --help`` can list every command without importing any of
them (importing torch/lightning/mujoco would make ``--help`` take seconds). A registered command whose
module does not exist yet is simply not listed.

To add a command: write the module, then add a :class:`Command` to :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Command:
    """A registered subcommand: its name on the command line, its module and a one-line summary."""

    name: str
    summary: str

    @property
    def module(self) -> str:
        return f"{__name__}.{self.name.replace('-', '_')}"

    def available(self) -> bool:
        """Whether the command's module exists (checked without importing it)."""
        return importlib.util.find_spec(self.module) is not None

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


#: Lightning subcommands, handled by :class:`mimic_lit.commands.train.MimicLitCLI`.
LIGHTNING_COMMANDS: dict[str, str] = {
    "fit": "train a method (a recipe: mimic-lit fit --config recipes/<name>.yaml)",
    "validate": "evaluate a checkpoint on the validation motions",
    "test": "evaluate a checkpoint on the test motions",
    "predict": "play a checkpoint's deterministic evaluation episodes (per-episode results, Trainer.predict)",
}

#: Tool subcommands, in the order ``--help`` lists them.
COMMANDS: tuple[Command, ...] = (
    Command("view-motion", "render a clip on a robot to MP4/GIF; --kinematic-check reports its problems"),
    Command("play", "play a trained policy and render it beside its reference motion (MP4/GIF)"),
    Command("check-motion", "kinematic checks of clips: foot heights, ground penetration, joint limits"),
    Command("convert", "convert motion files (DeepMimic .txt, G1 .csv, .pkl) to mimic-lit .npz clips"),
    Command("retarget", "retarget human motion to a robot by inverse kinematics"),
    Command("clean-motion", "fix foot penetration and floating, smooth, clamp joint limits"),
    Command("export", "export a trained policy (ONNX, TorchScript) with its metadata"),
    Command("sim2sim", "run an exported policy in plain MuJoCo with onnxruntime and report tracking errors"),
    Command("bench", "measure simulator throughput"),
)


def get_command(name: str) -> Command | None:
    """The registered tool command called ``name``, or ``None``."""
    return next((c for c in COMMANDS if c.name == name), None)


def available_commands() -> list[Command]:
    """Registered tool commands whose module is present in this installation."""
    return [c for c in COMMANDS if c.available()]

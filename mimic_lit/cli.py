"""``mimic-lit``: the single command-line entry point.

- ``mimic-lit fit|validate|test|predict ...`` go to :class:`~mimic_lit.commands.train.MimicLitCLI`
  (a ``LightningCLI``); so do invocations that start with an option such as ``--config``.
- ``mimic-lit <tool> ...`` runs ``mimic_lit/commands/<tool>.py`` (see :mod:`mimic_lit.commands`).

Dispatch is by the first argument and every import is lazy: ``mimic-lit --help`` and
``mimic-lit view-motion --help`` import neither torch nor lightning (which take seconds to import),
so the tools feel instant and work even where the training stack is broken.

Errors caused by the user's input (:class:`~mimic_lit.errors.MimicLitError`: a missing file, an
unknown robot, a malformed clip, a damaged checkpoint, a misspelt config key) print one line
``error: <message>`` on stderr and exit with code 2, never a traceback; ``MIMIC_LIT_DEBUG=1`` shows
the traceback (and the config parser's full message) instead.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys

from mimic_lit import __version__
from mimic_lit.commands import COMMANDS, LIGHTNING_COMMANDS, available_commands, get_command
from mimic_lit.errors import MimicLitError, debug_enabled, find_user_error

PROG = "mimic-lit"
EXIT_USAGE = 2


def _top_level_help() -> str:
    tools = available_commands()
    width = max(len(n) for n in [*LIGHTNING_COMMANDS, *(c.name for c in tools), "-h, --help"]) + 2
    lines = [
        f"usage: {PROG} [-h] [--version] <command> [options]",
        "",
        "Physics-based motion imitation (DeepMimic, AMP, ASE, ADD) for humanoids and humanoid robots,",
        "as Lightning modules on MuJoCo.",
        "",
        "training (LightningCLI; see `mimic-lit fit --help`):",
        *(f"  {name:<{width}}{text}" for name, text in LIGHTNING_COMMANDS.items()),
        "",
        "motion tools (see `mimic-lit <command> --help`):",
        *(f"  {c.name:<{width}}{c.summary}" for c in tools),
        "",
        "options:",
        f"  {'-h, --help':<{width}}show this message and exit",
        f"  {'--version':<{width}}print the version and exit",
    ]
    return "\n".join(lines) + "\n"


def _split_doc(doc: str | None) -> tuple[str | None, str | None]:
    """(first paragraph, the rest) of a command module's docstring: its --help description and epilog."""
    if not doc:
        return None, None
    head, _, rest = doc.strip().partition("\n\n")
    return head, rest.strip() or None


def _run_tool(name: str, argv: list[str]) -> int:
    command = get_command(name)
    assert command is not None
    if not command.available():
        raise MimicLitError(f"'{name}' is not available in this version of mimic-lit")
    module = command.load()
    description, epilog = _split_doc(module.__doc__)
    parser = argparse.ArgumentParser(
        prog=f"{PROG} {name}",
        description=description or command.summary,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    return int(module.run(args) or 0)


def _run_lightning(argv: list[str]) -> int:
    from mimic_lit.commands.train import run_lightning

    return run_lightning(argv)


def _dispatch(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(_top_level_help())
        return EXIT_USAGE
    first = argv[0]
    if first in ("-h", "--help", "help"):
        sys.stdout.write(_top_level_help())
        return 0
    if first in ("-V", "--version"):
        print(f"{PROG} {__version__}")
        return 0
    if get_command(first) is not None:
        return _run_tool(first, argv[1:])
    if first in LIGHTNING_COMMANDS or first.startswith("-"):
        return _run_lightning(argv)
    known = [*LIGHTNING_COMMANDS, *(c.name for c in COMMANDS)]
    close = difflib.get_close_matches(first, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; run '{PROG} --help' for the list"
    raise MimicLitError(f"unknown command '{first}'{hint}")


def _import_from_working_directory() -> None:
    """Let a recipe's ``class_path`` name a module in the folder ``mimic-lit`` runs from (a user's
    own goal, task or method), as ``python -m`` would. The folder goes last on the import path,
    so a file there never shadows an installed module of the same name."""
    here = os.getcwd()
    if "" not in sys.path and here not in sys.path:
        sys.path.append(here)


def main(argv: list[str] | None = None) -> int:
    """Run ``mimic-lit`` with ``argv`` (default ``sys.argv[1:]``); returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    _import_from_working_directory()
    try:
        return _dispatch(argv)
    except KeyboardInterrupt as exc:
        from mimic_lit.fileio import Terminated  # SIGTERM while a file was being written

        if isinstance(exc, Terminated):
            print("error: terminated", file=sys.stderr)
            return 143
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # A MimicLitError, or one wrapped by a library (jsonargparse building a config class,
        # Lightning running a hook): one line. Anything else is a bug and keeps its traceback, as
        # does everything with MIMIC_LIT_DEBUG=1.
        user_error = find_user_error(exc)
        if user_error is None or debug_enabled():
            raise
        message = " ".join(str(user_error).split()) or type(user_error).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE


def __getattr__(name: str):
    # `from mimic_lit.cli import MimicLitCLI` works, but only imports lightning when asked for.
    if name == "MimicLitCLI":
        from mimic_lit.commands.train import MimicLitCLI

        return MimicLitCLI
    raise AttributeError(f"module 'mimic_lit.cli' has no attribute {name!r}")


if __name__ == "__main__":
    sys.exit(main())

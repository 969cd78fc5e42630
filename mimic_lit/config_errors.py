"""One useful line for a config the parser rejects, instead of the parser's 50-line dump.

jsonargparse answers a typo in a recipe (``num_env:`` for ``num_envs:``) with the whole usage text and
a nested dump of every ``Union`` it tried. :func:`summarize_parser_error` reads that message and
says what is wrong, where, and in which file::

    unknown key 'num_env' in data.init_args.sim (did you mean 'num_envs'?) (recipe.yaml, line 37)
    data.init_args.horizon: expected int, got 2.5 (command line)
    recipe.yaml is not valid YAML: mapping values are not allowed here (line 3, column 13)

Suggestions come from the valid keys of the class at that place (dataclass fields or
``__init__`` parameters, those a ``**kwargs`` passes on included). A message this module does not
recognise is reduced to its innermost line. Nothing here imports lightning.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from pathlib import Path
from typing import Any

from mimic_lit.errors import MimicLitError

__all__ = ["ConfigError", "config_files", "summarize_parser_error"]

_PARSER_KEY = re.compile(r'^Parser key "([^"]+)":\s*(.*)$')
_CLASS_PATH = re.compile(r"^- Problem with given class_path '([^']+)':\s*$")
_NOT_ACCEPTED = re.compile(r"^Option '([^']+)' is not accepted$")
_SUBCOMMAND_KEY = re.compile(r"^Subcommand '([^']+)' does not accept option '([^']+)'$")
_GROUP_KEY = re.compile(r"^Group '([^']+)' does not accept option '([^']+)'$")
_EXPECTED = re.compile(r"^Expected an? (.+?)\. Got value: (.*)$")
_NO_ATTRIBUTE = re.compile(r"^module '([^']+)' has no attribute '([^']+)'$")
_NO_FILE = re.compile(r"File does not exist: '([^']+)'")
_NOISE = (
    "Does not validate against any of the Union subtypes",
    "Subtypes:",
    "Errors:",
    "Given value type:",
    "Given value:",
    "Expected a <class 'NoneType'>",
)


class ConfigError(MimicLitError):
    """The command line or a config file does not fit the options of the classes it configures."""


# ---------------------------------------------------------------------------------------- where
def _retired_hint(task_class: str) -> str:
    return (
        "write data.class_path: mimic_lit.datamodule.ImitationDataModule and move the 'task' options under "
        f"task: {{class_path: {task_class}, init_args: {{...}}}}"
    )


#: data modules of earlier versions -> how to write the recipe now (one data module; the env is the task's)
RETIRED_DATA_MODULES: dict[str, str] = {
    "mimic_lit.datamodule.AMPDataModule": _retired_hint("mimic_lit.envs.amp.AMPConfig"),
    "mimic_lit.datamodule.ADDDataModule": _retired_hint("mimic_lit.envs.add.ADDConfig"),
    "mimic_lit.datamodule.ASEDataModule": _retired_hint("mimic_lit.envs.ase.ASEConfig"),
    "mimic_lit.datamodule.HLCDataModule": _retired_hint("mimic_lit.envs.hlc.HLCConfig")
    + " (llc_config, llc_ckpt_path and llc_steps move into the task's init_args too)",
}


def config_files(argv: list[str]) -> list[str]:
    """The ``--config`` / ``-c`` files of a command line, in order."""
    files = []
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            files.append(argv[i + 1])
        elif arg.startswith("--config="):
            files.append(arg.split("=", 1)[1])
    return files


def _on_command_line(key: str, argv: list[str]) -> bool:
    """Whether an option of ``argv`` sets ``key`` (a dotted path, or its last part)."""
    for arg in argv:
        if arg.startswith("--"):
            name = arg[2:].split("=", 1)[0].rstrip("+")
            if name == key or name.endswith("." + key) or key.endswith("." + name):
                return True
    return False


def _where(key: str | None, argv: list[str], text: str | None = None) -> str:
    """Where ``key`` was set: ``command line`` if an option sets it, else ``file, line N`` of the
    first config file line containing ``text`` (or else of the line ``key:``), else the only config
    file."""
    files = config_files(argv)
    if key and _on_command_line(key, argv):
        return "command line"
    patterns = []
    if text:
        patterns.append(re.compile(re.escape(text)))
    if key:
        patterns.append(re.compile(rf"^\s*(?:-\s+)?{re.escape(key.rsplit('.', 1)[-1])}\s*:"))
    for pattern in patterns:
        for name in files:
            try:
                lines = Path(name).read_text(errors="replace").splitlines()
            except OSError:
                continue
            for number, line in enumerate(lines, 1):
                if pattern.search(line):
                    return f"{name}, line {number}"
    if len(files) == 1:
        return files[0]
    return "command line" if not files else ", ".join(files)


# ---------------------------------------------------------------------------------------- what
def _import(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None


def _valid_keys(cls: Any) -> list[str]:
    """Option names of ``cls``: dataclass fields, or ``__init__`` parameters (``**kwargs`` followed)."""
    if cls is None:
        return []
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls) if f.init]
    try:
        from jsonargparse._parameter_resolvers import get_signature_parameters

        return [p.name for p in get_signature_parameters(cls, None)]
    except Exception:  # a private helper of jsonargparse: fall back to the plain signature
        import inspect

        try:
            return [n for n, p in inspect.signature(cls).parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        except (TypeError, ValueError):
            return []


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(text: str) -> str:
    """``<class 'int'>`` -> ``int``; ``typing.Literal['ppo', 'awr']`` -> ``one of 'ppo', 'awr'``."""
    text = re.sub(r"<class '(?:[\w.]+\.)?([\w]+)'>", r"\1", text)
    literal = re.match(r"^typing\.Literal\[(.*)\]$", text)
    return f"one of {literal.group(1)}" if literal else text


@dataclasses.dataclass
class _Leaf:
    """The innermost message of a nested parser error and the keys and classes above it."""

    text: str
    path: list[str]
    cls: str | None


def _innermost(message: str) -> _Leaf | None:
    """The first leaf message of jsonargparse's nested ``Parser key`` / ``class_path`` dump."""
    stack: list[tuple[int, str, str]] = []  # (indent, "key"|"class", value)
    for raw in message.splitlines():
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip())
        line = raw.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = _PARSER_KEY.match(line)
        if key:
            stack.append((indent, "key", key.group(1)))
            rest = key.group(2).strip()
            if rest:
                return _leaf(rest, stack)
            continue
        cls = _CLASS_PATH.match(line)
        if cls:
            stack.append((indent, "class", cls.group(1)))
            continue
        bare = line[2:] if line.startswith("- ") else line
        if bare.startswith(_NOISE) or bare.startswith("Expected a path but"):
            continue
        return _leaf(bare.strip(), stack)
    return None


def _leaf(text: str, stack: list[tuple[int, str, str]]) -> _Leaf:
    path: list[str] = []
    cls: str | None = None
    for _, kind, value in stack:
        if kind == "key":
            path.append(value)
            cls = None
        else:
            cls = value
            target = _import(value)
            if not dataclasses.is_dataclass(target):  # subclass mode: its options sit under init_args
                path.append("init_args")
    return _Leaf(text, path, cls)


def _join(path: list[str]) -> str:
    return ".".join(path)


def _task_without_class(section: str, key: str, argv: list[str]) -> str:
    """The earlier recipe layout gave the task's options without naming its class."""
    return (
        f"{section.removesuffix('.init_args')} needs the env's class: write task: {{class_path: "
        "mimic_lit.envs.tracking.TrackingConfig (or ...amp.AMPConfig, ...add.ADDConfig, ...ase.ASEConfig), "
        f"init_args: {{...the options...}}}} ({_where(key, argv)})"
    )


def _is_task_option(key: str) -> bool:
    """Whether ``key`` is an option of one of the shipped task configs."""
    import dataclasses

    from mimic_lit.envs.add import ADDConfig
    from mimic_lit.envs.hlc import HLCConfig

    return any(key == f.name for cls in (ADDConfig, HLCConfig) for f in dataclasses.fields(cls))


def _unknown_key(key: str, section: str, options: list[str], argv: list[str]) -> str:
    if section.endswith("task.init_args") and not options and _is_task_option(key):
        return _task_without_class(section, key, argv)
    if section == "data.init_args" and key in ("llc_config", "llc_ckpt_path", "llc_steps"):
        return f"{key} is an option of the high-level task now: data.init_args.task.init_args.{key} ({_where(key, argv)})"
    where = f" in {section}" if section else ""
    return f"unknown key '{key}'{where}{_did_you_mean(key, options)} ({_where(key, argv)})"


def _yaml_problem(argv: list[str]) -> str | None:
    """``file is not valid YAML: problem (line, column)`` for the first config file that is not."""
    import yaml

    for name in config_files(argv):
        try:
            yaml.safe_load(Path(name).read_text())
        except OSError:
            continue
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            mark = getattr(exc, "problem_mark", None)
            at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            return f"{name} is not valid YAML: {problem}{at}"
    return None


#: Goals that recipes once named (``task.goal: dribble``, options under ``task.dribble``) -> config class.
_OLD_GOALS = {"dribble": "DribbleConfig", "location": "LocationConfig", "steering": "SteeringConfig"}


def _goal_syntax(name: str) -> str:
    return f"goal: {{class_path: mimic_lit.envs.tasks.{_OLD_GOALS.get(name, 'DribbleConfig')}, init_args: {{...}}}}"


def _moved_option(key: str, section: str, argv: list[str]) -> str | None:
    """The line for an option of the old goal syntax (``task.dribble``, ``sim.ball``), or ``None``."""
    head = key.split(".")[0]
    if section.removesuffix(".init_args").endswith("task") and head in _OLD_GOALS:
        return (
            f"{section}.{head}: goal options now sit under the goal itself: write {_goal_syntax(head)} "
            f"with these options as init_args ({_where(head, argv)})"
        )
    if section.endswith("sim") and head == "ball":
        return (
            f"{section}.ball: the ball now belongs to the dribble goal: write goal: {{class_path: "
            f"mimic_lit.envs.tasks.DribbleConfig, init_args: {{ball: {{...}}}}}} in the task ({_where(head, argv)})"
        )
    return None


def summarize_parser_error(message: str, argv: list[str], parser: Any = None) -> str:
    """One line for jsonargparse's error ``message`` about the command line ``argv``.

    ``parser``: the parser that failed (its options give the suggestions for a misspelt
    ``trainer.*`` or top-level key); optional.
    """
    first = message.strip().splitlines()[0].strip() if message.strip() else "invalid configuration"

    if "Problems parsing config" in message:
        found = _yaml_problem(argv)
        if found:
            return found
    missing = _NO_FILE.search(message)
    if missing:
        return f"config file '{missing.group(1)}' does not exist"

    for pattern in (_SUBCOMMAND_KEY, _GROUP_KEY):
        match = pattern.match(first)
        if match:
            return _top_level_key(match.group(1), match.group(2), argv, parser)

    leaf = _innermost(message)
    if leaf is None:
        return first
    section = _join(leaf.path)
    not_accepted = _NOT_ACCEPTED.match(leaf.text)
    if not_accepted and leaf.cls == "mimic_lit.envs.task.EnvTask":
        return _task_without_class(section, not_accepted.group(1), argv)
    if not_accepted:
        moved = _moved_option(not_accepted.group(1), section, argv)
        if moved:
            return moved
        return _unknown_key(not_accepted.group(1), section, _valid_keys(_import(leaf.cls) if leaf.cls else None), argv)
    expected = _EXPECTED.match(leaf.text)
    if expected:
        return f"{section}: expected {_type_name(expected.group(1))}, got {expected.group(2)} ({_where(section, argv)})"
    no_attribute = _NO_ATTRIBUTE.match(leaf.text)
    if no_attribute:
        module, name = no_attribute.groups()
        try:
            names = [n for n in dir(importlib.import_module(module)) if not n.startswith("_")]
        except ImportError:
            names = []
        owner = _join(leaf.path[:-1] if leaf.path[-1:] == ["init_args"] else leaf.path)
        where = _where(owner, argv, f"{module}.{name}")
        if f"{module}.{name}" in RETIRED_DATA_MODULES:
            return f"{owner}: {module}.{name} was retired ({where}); {RETIRED_DATA_MODULES[f'{module}.{name}']}"
        return f"{owner}: no class '{name}' in {module}{_did_you_mean(name, names)} ({where})"
    dotted = re.match(r"^Expected a dot import path string: (.+)$", leaf.text)
    if dotted:
        name = dotted.group(1)
        if section.endswith("goal") and name in _OLD_GOALS:
            where = _where(section, argv, f"goal: {name}")
            return f"{section}: goals are now given by class: write {_goal_syntax(name)} ({where})"
        hint = _did_you_mean(name, _subclass_names(message)) or " (a class name or a full import path)"
        return f"{section}: unknown class '{name}'{hint} ({_where(section, argv, name)})"
    return f"{section}: {leaf.text}" if section else leaf.text


def _subclass_names(message: str) -> list[str]:
    """Names of the imported subclasses of the first type in the message's ``Subtypes: [...]``."""
    found = re.search(r"Subtypes: \[(?:list\[[\w.]+\], )?<class '([\w.]+)'>", message)
    base = _import(found.group(1)) if found else None
    if not isinstance(base, type):
        return []
    names: set[str] = set()
    todo = [base]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__name__ not in names and not sub.__name__.startswith("_"):
                names.add(sub.__name__)
                todo.append(sub)
    return sorted(names)


def _top_level_key(group: str, dotted: str, argv: list[str], parser: Any) -> str:
    """A key the subcommand (or a group such as ``trainer``) does not have."""
    options = _parser_keys(group, parser)
    parts = dotted.split(".")
    known_prefixes = {o.rsplit(".", 1)[0] for o in options if "." in o}
    # the longest prefix that is a real section (trainer, ...) is where the unknown key sits
    for cut in range(len(parts) - 1, 0, -1):
        section = ".".join(parts[:cut])
        if section in known_prefixes:
            children = [o[len(section) + 1 :].split(".")[0] for o in options if o.startswith(section + ".")]
            return _unknown_key(parts[cut], section, sorted(set(children)), argv)
    top = sorted({o.split(".")[0] for o in options})
    return _unknown_key(parts[0], "", top, argv)


def _parser_keys(group: str, parser: Any) -> list[str]:
    """Dotted option names of the subcommand ``group`` of ``parser`` (or of ``parser`` itself)."""
    if parser is None:
        return []
    target = parser
    action = getattr(parser, "_subcommands_action", None)
    if action is not None and group in getattr(action, "_name_parser_map", {}):
        target = action._name_parser_map[group]
    keys = []
    for act in getattr(target, "_actions", []):
        dest = getattr(act, "dest", None)
        if dest and dest not in ("help", "config", "print_config") and not dest.startswith("_"):
            keys.append(dest)
    return keys

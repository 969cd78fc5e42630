"""One error path: a bad value, a misspelt key, malformed YAML or an unknown robot in a recipe is one
``error:`` line naming the field (and the file and line), exit code 2, no traceback, no parser dump,
and no run folder left behind. ``MIMIC_LIT_DEBUG=1`` brings the traceback / full parser message back;
a real bug keeps its traceback.

Most cases run in-process (``mimic_lit.cli.main``); one subprocess per kind of error shows exactly
what a terminal gets.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mimic_lit import cli
from mimic_lit.errors import MimicLitError, find_user_error

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "deepmimic_humanoid_walk.yaml"  # run with --quick


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}, check=False,
    )


def recipe_with(tmp_path: Path, old: str, new: str, name: str = "recipe.yaml") -> tuple[Path, int]:
    """A copy of the recipe with ``old`` replaced by ``new``; returns it and the edited line's number."""
    text = RECIPE.read_text()
    assert text.count(old) == 1, old
    text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    number = next(i for i, line in enumerate(text.splitlines(), 1) if new.strip() in line)
    return path, number


def run_in_process(argv: list[str], capsys) -> tuple[int, list[str], str]:
    """(exit code, the ``error:`` lines, all of stderr) of ``mimic-lit argv``."""
    import logging

    # Lightning's log handlers keep the stream they were created with (an earlier test's capture,
    # closed by now): point them at this test's
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.stream = sys.stderr
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith("error:")], err


# --------------------------------------------------------------------------- numeric fields
@pytest.mark.parametrize(
    "option, line",
    [
        ("--data.init_args.sim.num_envs=0", "sim.num_envs must be >= 1, got 0"),
        ("--data.init_args.sim.num_envs=-4", "sim.num_envs must be >= 1, got -4"),
        ("--data.init_args.sim.nthread=0", "sim.nthread must be >= 1, got 0"),
        ("--data.init_args.sim.sim_dt=-0.01", "sim.sim_dt must be > 0, got -0.01"),
        ("--data.init_args.task.episode_length=0", "task.episode_length must be > 0, got 0.0"),
        ("--data.init_args.horizon=0", "data.horizon must be >= 1, got 0"),
        ("--data.init_args.update_epochs=0", "data.update_epochs must be >= 1, got 0"),
        ("--data.init_args.num_minibatches=0", "data.num_minibatches must be >= 1, got 0"),
        ("--data.init_args.val_episodes=-1", "data.val_episodes must be >= 0, got -1"),
        ("--model.init_args.actor_optim.lr=-0.001", "model.actor_optim.lr must be > 0, got -0.001"),
        ("--model.init_args.critic_optim.lr=0", "model.critic_optim.lr must be > 0, got 0.0"),
        ("--model.init_args.discount=1.5", "model.discount must be in (0, 1], got 1.5"),
        ("--model.init_args.td_lambda=2", "model.td_lambda must be in [0, 1], got 2.0"),
        ("--model.init_args.action_std=0", "model.action_std must be > 0, got 0.0"),
        ("--model.init_args.actor.hidden=[64, 0]", "model.actor.hidden widths must be whole numbers >= 1, got [64, 0]"),
    ],
)
def test_numeric_fields_are_checked_at_construction(option, line, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = sha256(RECIPE)
    code, errors, err = run_in_process(["fit", "--config", str(RECIPE), "--quick", "--trainer.default_root_dir", "runs/x", option],
                                       capsys)
    assert code == 2, err
    assert errors == [f"error: {line}"], err
    assert "Traceback" not in err
    assert tree(tmp_path) == set()  # failed before anything was built: no run folder
    assert sha256(RECIPE) == before


def test_num_envs_zero_in_a_recipe(tmp_path):
    """The recipe value reaches the user as the field, not as a derived minibatch message."""
    recipe, _ = recipe_with(tmp_path, "num_envs: 256", "num_envs: 0")
    before = sha256(recipe)
    proc = run_cli("fit", "--config", recipe.name, cwd=tmp_path)  # not --quick: it would set num_envs
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1] == "error: sim.num_envs must be >= 1, got 0"
    assert len(lines) <= 2 and "Traceback" not in proc.stderr and "minibatch" not in proc.stderr, proc.stderr
    assert tree(tmp_path) == {"recipe.yaml"} and sha256(recipe) == before


# --------------------------------------------------------------------------- config typos
def test_misspelt_key_is_one_line_with_a_suggestion(tmp_path):
    recipe, number = recipe_with(tmp_path, "num_envs: 256", "num_env: 256")
    before = sha256(recipe)
    proc = run_cli("fit", "--config", recipe.name, "--quick", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"error: unknown key 'num_env' in data.init_args.sim (did you mean 'num_envs'?) (recipe.yaml, line {number})"
    ]
    assert proc.stdout == ""  # no usage text
    assert tree(tmp_path) == {"recipe.yaml"} and sha256(recipe) == before


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("algorithm: ppo", "algorythm: ppo", "unknown key 'algorythm' in model.init_args (did you mean 'algorithm'?)"),
        ("episode_length: 10.0", "episode_lenght: 10.0",
         "unknown key 'episode_lenght' in data.init_args.task (did you mean 'episode_length'?)"),
        ("lr: 2.0e-4", "lrr: 2.0e-4", "unknown key 'lrr' in model.init_args.actor_optim (did you mean 'lr'?)"),
        ("max_epochs: 3000", "max_epoch: 3000", "unknown key 'max_epoch' in trainer (did you mean 'max_epochs'?)"),
        ("trainer:", "trainr:", "unknown key 'trainr' (did you mean 'trainer'?)"),
        ("num_envs: 256", "num_envs: many", "data.init_args.sim.num_envs: expected int, got many"),
        ("methods.DeepMimic", "methods.DeepMimc", "model: no class 'DeepMimc' in mimic_lit.methods (did you mean 'DeepMimic'?)"),
    ],
)
def test_config_mistakes_name_key_file_and_line(old, new, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    recipe, number = recipe_with(tmp_path, old, new)
    code, errors, err = run_in_process(["fit", "--config", "recipe.yaml", "--quick"], capsys)
    assert code == 2
    assert errors == [f"error: {expected} (recipe.yaml, line {number})"], err
    assert len(err.splitlines()) == 1, err
    assert tree(tmp_path) == {"recipe.yaml"}


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("        episode_length: 10.0\n", "        episode_length: 10.0\n        goal: dribble\n",
         "data.init_args.task.goal: goals are now given by class: write goal: "
         "{class_path: mimic_lit.envs.tasks.DribbleConfig, init_args: {...}}"),
        ("        episode_length: 10.0\n", "        episode_length: 10.0\n        steering:\n          speed_max: 1.0\n",
         "data.init_args.task.steering: goal options now sit under the goal itself: write goal: "
         "{class_path: mimic_lit.envs.tasks.SteeringConfig, init_args: {...}} with these options as init_args"),
        ("      num_envs: 256\n", "      num_envs: 256\n      ball: {radius: 0.1}\n",
         "data.init_args.sim.ball: the ball now belongs to the dribble goal: write goal: "
         "{class_path: mimic_lit.envs.tasks.DribbleConfig, init_args: {ball: {...}}} in the task"),
    ],
)
def test_the_old_goal_syntax_says_what_to_write_instead(old, new, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    text = RECIPE.read_text()
    assert text.count(old) == 1, old
    (tmp_path / "recipe.yaml").write_text(text.replace(old, new))
    code, errors, err = run_in_process(["fit", "--config", "recipe.yaml"], capsys)
    assert code == 2
    assert len(errors) == 1 and errors[0].startswith(f"error: {expected} (recipe.yaml, line "), err
    assert len(err.splitlines()) == 1, err


@pytest.mark.parametrize(
    "option, expected",
    [
        ("--data.init_args.sim.num_env=3",
         "unknown key 'num_env' in data.init_args.sim (did you mean 'num_envs'?) (command line)"),
        ("--model=DeepMimc", "model: unknown class 'DeepMimc' (did you mean 'DeepMimic'?) (command line)"),
        ("--data.init_args.horizon=2.5", "data.init_args.horizon: expected int, got 2.5 (command line)"),
    ],
)
def test_command_line_mistakes(option, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, errors, err = run_in_process(["fit", "--config", str(RECIPE), "--quick", option], capsys)
    assert code == 2
    assert errors == [f"error: {expected}"], err
    assert tree(tmp_path) == set()


def test_malformed_yaml_names_file_line_and_column(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.yaml").write_text("model:\n  class_path: mimic_lit.methods.DeepMimic\n   init_args: [\n")
    code, errors, err = run_in_process(["fit", "--config", "broken.yaml"], capsys)
    assert code == 2
    assert errors == ["error: broken.yaml is not valid YAML: mapping values are not allowed here (line 3, column 13)"]
    assert len(err.splitlines()) == 1, err


def test_missing_config_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, errors, _ = run_in_process(["fit", "--config", "nope.yaml"], capsys)
    assert code == 2 and errors == [f"error: config file '{tmp_path / 'nope.yaml'}' does not exist"]


def test_debug_shows_the_parser_message(tmp_path):
    recipe_with(tmp_path, "num_envs: 256", "num_env: 256")
    proc = run_cli("fit", "--config", "recipe.yaml", "--quick", cwd=tmp_path, env={"MIMIC_LIT_DEBUG": "1"})
    assert proc.returncode == 2
    assert "Option 'num_env' is not accepted" in proc.stderr and "usage:" in proc.stderr


# --------------------------------------------------------------------------- unknown robot, run folders
def test_unknown_robot_at_construction(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    recipe, _ = recipe_with(tmp_path, "robot: humanoid", "robot: g2")
    code, errors, err = run_in_process(["fit", "--config", "recipe.yaml", "--quick"], capsys)
    assert code == 2
    assert errors == ["error: unknown robot 'g2'; choose one of: g1, humanoid, k1, t1 (sim.robot)"], err
    assert tree(tmp_path) == {"recipe.yaml"}


def test_a_fit_failing_in_setup_leaves_no_run_folder(tmp_path):
    """The run folder (and runs/) this fit created are removed; another run's folder is untouched."""
    other = tmp_path / "runs" / "other" / "lightning_logs" / "version_0"
    other.mkdir(parents=True)
    (other / "config.yaml").write_text("kept: true\n")
    files = tree(tmp_path)
    # the humanoid simulator cannot track a G1 clip: found while the data module sets up
    args = ["fit", "--config", str(RECIPE), "--quick", "--data.init_args.task.motion", "shipped:g1/kimodo_walk",
            "--data.init_args.sim.num_envs", "4", "--data.init_args.horizon", "4"]
    proc = run_cli(*args, "--trainer.default_root_dir", "runs/new", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: motion 'shipped:g1/kimodo_walk' is for robot 'g1' but the simulator runs 'humanoid'"
    )
    assert "Traceback" not in proc.stderr
    assert tree(tmp_path) == files
    # the same failure in a run folder that already exists: its earlier version stays, no new one does
    proc = run_cli(*args, "--trainer.default_root_dir", "runs/other", cwd=tmp_path)
    assert proc.returncode == 2
    assert tree(tmp_path) == files and (other / "config.yaml").read_text() == "kept: true\n"


# --------------------------------------------------------------------------- what stays a traceback
def test_a_bug_keeps_its_traceback(monkeypatch):
    def broken(argv):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "_dispatch", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["fit"])


def test_user_errors_are_found_inside_library_exceptions(monkeypatch, capsys):
    inner = MimicLitError("sim.num_envs must be >= 1, got 0")
    try:
        try:
            raise inner
        except MimicLitError as exc:
            raise ValueError("Problem with given class_path") from exc
    except ValueError as wrapped:
        assert find_user_error(wrapped) is inner
    assert find_user_error(ValueError("no cause")) is None

    def wrapped_error(argv):
        raise RuntimeError("hook failed") from inner

    monkeypatch.setattr(cli, "_dispatch", wrapped_error)
    assert cli.main(["fit"]) == 2
    assert capsys.readouterr().err == "error: sim.num_envs must be >= 1, got 0\n"
    monkeypatch.setenv("MIMIC_LIT_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["fit"])


def test_play_and_export_read_recipes_with_the_same_messages(tmp_path):
    """``play``/``export``/notebooks build the model from a recipe themselves: same one line."""
    from mimic_lit.checkpoint import build_from_recipe

    recipe, number = recipe_with(tmp_path, "algorithm: ppo", "algorythm: ppo")
    with pytest.raises(MimicLitError) as info:
        build_from_recipe(recipe)
    assert str(info.value) == (
        f"unknown key 'algorythm' in model.init_args (did you mean 'algorithm'?) ({recipe}, line {number})"
    )

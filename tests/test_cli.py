"""The ``mimic-lit`` entry point, run as a user runs it: in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mimic_lit.commands import LIGHTNING_COMMANDS, available_commands

SCRIPT = Path(sys.executable).with_name("mimic-lit")


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    return subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", *args],
        check=False, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=cwd,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got:\n{proc.stderr}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_help_lists_every_command_and_is_fast():
    start = time.perf_counter()
    proc = run_cli("--help")
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    for name in [*LIGHTNING_COMMANDS, *(c.name for c in available_commands())]:
        assert f"  {name} " in proc.stdout, name
    assert "view-motion" in proc.stdout and "check-motion" in proc.stdout
    assert wall < 3.0, f"mimic-lit --help took {wall:.2f} s"


def test_help_paths_do_not_import_the_training_stack():
    code = textwrap.dedent(
        """
        import sys
        from mimic_lit.cli import main
        assert main(["--help"]) == 0
        try:
            main(["view-motion", "--help"])
        except SystemExit as exc:
            assert exc.code == 0
        heavy = sorted(m for m in ("torch", "lightning", "mujoco") if m in sys.modules)
        print("HEAVY", heavy)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_version():
    from mimic_lit import __version__

    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"mimic-lit {__version__}"


@pytest.mark.skipif(not SCRIPT.exists(), reason="console script not installed next to this python")
def test_console_script_runs():
    proc = subprocess.run([str(SCRIPT), "view-motion", "--help"], check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "--kinematic-check" in proc.stdout


def test_no_command_prints_help_and_fails():
    proc = run_cli()
    assert proc.returncode == 2
    assert "view-motion" in proc.stderr


def test_unknown_command_suggests_the_close_one():
    assert_one_line_error(run_cli("view-motoin"), "unknown command", "view-motion")


def test_unknown_robot_is_one_line_error():
    proc = run_cli("view-motion", "--robot", "nao", "--motion", "g1/kimodo_walk", "--kinematic-check")
    assert_one_line_error(proc, "unknown robot 'nao'", "g1")


def test_missing_motion_file_is_one_line_error(tmp_path):
    missing = tmp_path / "nowhere" / "walk.npz"
    proc = run_cli("view-motion", "--robot", "g1", "--motion", str(missing), "--out", str(tmp_path / "walk.gif"))
    assert_one_line_error(proc, "not found", "walk.npz")
    assert not (tmp_path / "walk.gif").exists()
    proc = run_cli("check-motion", "--motion", "g1/no_such_clip")
    assert_one_line_error(proc, "no_such_clip")


def test_bad_motion_file_is_one_line_error(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    assert_one_line_error(run_cli("check-motion", "--robot", "g1", "--motion", str(bad)), "broken.npz")


def test_usage_errors_are_reported():
    assert_one_line_error(run_cli("view-motion", "--motion", "g1/kimodo_walk"), "nothing to do")
    proc = run_cli("view-motion", "--motion", "g1/kimodo_walk", "--camera", "drone", "--kinematic-check")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_fit_help_works():
    proc = run_cli("fit", "--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    for option in ("--config", "--model", "--data", "--trainer.max_epochs"):
        assert option in proc.stdout


def test_fit_runs_a_config_naming_its_classes(tmp_path):
    """Recipes name their LightningModule/LightningDataModule by class path: the CLI must accept any."""
    (tmp_path / "tiny_demo.py").write_text(
        textwrap.dedent(
            """
            import torch
            from lightning.pytorch import LightningDataModule, LightningModule
            from torch.utils.data import DataLoader, TensorDataset

            class Tiny(LightningModule):
                def __init__(self, lr: float = 0.1):
                    super().__init__()
                    self.save_hyperparameters()
                    self.layer = torch.nn.Linear(2, 1)

                def training_step(self, batch, batch_idx):
                    x, y = batch
                    return torch.nn.functional.mse_loss(self.layer(x), y)

                def configure_optimizers(self):
                    return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

                def on_train_end(self):
                    print("TRAINED lr", self.hparams.lr, "steps", self.trainer.global_step)

            class TinyData(LightningDataModule):
                def __init__(self, n: int = 8):
                    super().__init__()
                    self.n = n

                def train_dataloader(self):
                    return DataLoader(TensorDataset(torch.randn(self.n, 2), torch.randn(self.n, 1)), batch_size=4)
            """
        )
    )
    (tmp_path / "recipe.yaml").write_text(
        textwrap.dedent(
            """
            model:
              class_path: tiny_demo.Tiny
              init_args: {lr: 0.05}
            data:
              class_path: tiny_demo.TinyData
              init_args: {n: 8}
            trainer:
              max_epochs: 1
              accelerator: cpu
              logger: false
              enable_checkpointing: false
              enable_progress_bar: false
              enable_model_summary: false
            """
        )
    )
    proc = run_cli("fit", "--config", "recipe.yaml", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "TRAINED lr 0.05 steps 2" in proc.stdout


def test_model_help_takes_the_short_class_name():
    """``--model.help DeepMimic`` works without a config, as ``--model DeepMimic`` does."""
    proc = run_cli("fit", "--model.help", "DeepMimic")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Help for --model.help=mimic_lit.methods.DeepMimic" in proc.stdout
    for init_arg in ("--model.algorithm", "--model.actor_optim", "--model.discount", "--model.init_from"):
        assert init_arg in proc.stdout


def test_a_recipe_may_name_a_module_in_the_working_directory(tmp_path, monkeypatch):
    """``mimic-lit`` (a console script, unlike ``python -m``) puts the folder it runs from on the
    import path, last, so ``class_path: my_goals.MyGoalConfig`` finds ``./my_goals.py``."""
    import importlib
    import sys

    from mimic_lit import cli

    (tmp_path / "my_goal_module_for_cli_test.py").write_text("VALUE = 42\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    cli._import_from_working_directory()
    assert sys.path[-1] == str(tmp_path)
    assert importlib.import_module("my_goal_module_for_cli_test").VALUE == 42
    cli._import_from_working_directory()
    assert sys.path.count(str(tmp_path)) == 1

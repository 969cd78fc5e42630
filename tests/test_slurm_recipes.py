"""recipes/slurm/ and configs/trainers/ddp_gpu.yaml: the parts checkable without a cluster or GPU.

The sbatch script is parsed by bash and run with ``DRY_RUN=1`` and fake SLURM variables (it then
prints the ``mimic-lit`` command instead of calling srun); the container definition and the GPU
trainer config are checked statically. Nothing here submits a job or builds an image.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SBATCH = ROOT / "recipes" / "slurm" / "train_multinode.sbatch"
DEF = ROOT / "recipes" / "slurm" / "mimic-lit.def"
DDP_GPU = ROOT / "configs" / "trainers" / "ddp_gpu.yaml"

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

FAKE_SLURM = {"SLURM_JOB_ID": "123456", "SLURM_NNODES": "2", "SLURM_NTASKS_PER_NODE": "4",
              "SLURM_GPUS_ON_NODE": "4", "SLURM_CPUS_PER_TASK": "8"}


def _dry_run(submit_dir: Path, *args: str, **env: str) -> list[str]:
    """The mimic-lit command line the script would srun, as a list of arguments."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    clean.update({"DRY_RUN": "1", "SLURM_SUBMIT_DIR": str(submit_dir), **env})
    proc = subprocess.run(["bash", str(SBATCH), *args], env=clean, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("command: "))
    return shlex.split(line.removeprefix("command: "))


def _section(text: str, name: str) -> str:
    """Body of the ``%name`` section of a definition file (up to the next section)."""
    match = re.search(rf"^%{name}[ \t]*\n(.*?)(?=^%\w|\Z)", text, re.M | re.S)
    assert match, f"no %{name} section"
    return match.group(1)


def _flag(cmd: list[str], name: str) -> list[str]:
    return [cmd[i + 1] for i, x in enumerate(cmd[:-1]) if x == name]


@needs_bash
def test_sbatch_script_is_valid_bash():
    proc = subprocess.run(["bash", "-n", str(SBATCH)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_every_repo_path_named_in_the_sbatch_script_exists():
    text = SBATCH.read_text()
    paths = {p.rstrip(".") for p in re.findall(r"\b(?:configs|recipes)/[\w./-]+", text)}
    assert "configs/trainers/ddp_gpu.yaml" in paths and "recipes/deepmimic_g1_walk.yaml" in paths
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"the sbatch script names paths that do not exist: {missing}"
    directives = [line for line in text.splitlines() if line.startswith("#SBATCH")]
    for option in ("--nodes", "--ntasks-per-node", "--cpus-per-task", "--time", "--signal=SIGUSR1@"):
        assert any(option in d for d in directives), f"no #SBATCH {option}"


@needs_bash
def test_dry_run_builds_the_multinode_command_from_slurm_variables():
    cmd = _dry_run(ROOT, "--trainer.max_epochs", "7", **FAKE_SLURM)
    assert cmd[:2] == ["mimic-lit", "fit"]
    configs = _flag(cmd, "--config")
    assert configs == ["recipes/deepmimic_g1_walk.yaml", "configs/trainers/ddp_gpu.yaml"]
    assert all((ROOT / c).is_file() for c in configs)
    assert _flag(cmd, "--trainer.num_nodes") == ["2"] and _flag(cmd, "--trainer.devices") == ["4"]
    assert _flag(cmd, "--trainer.default_root_dir") == ["runs/deepmimic_g1_walk"]  # checkpoints and logs
    assert _flag(cmd, "--ckpt_path") == ["last"]  # resume the run if it has a checkpoint, else start it
    assert cmd[-2:] == ["--trainer.max_epochs", "7"]  # script arguments reach mimic-lit fit
    container = _dry_run(ROOT, SIF="mimic-lit.sif", NUM_ENVS="1024", **FAKE_SLURM)
    assert container[:4] == ["apptainer", "exec", "--nv", "mimic-lit.sif"]
    assert _flag(container, "--data.init_args.sim.num_envs") == ["1024"]


@needs_bash
def test_dry_run_resumes_the_run_folder_with_ckpt_path_last(tmp_path: Path):
    for name in ("recipes", "configs"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {"RECIPE": "recipes/amp_g1_steering.yaml", "RUN_NAME": "steer", **FAKE_SLURM}
    cmd = _dry_run(tmp_path, **env)
    assert _flag(cmd, "--ckpt_path") == ["last"]  # a requeued job continues; a first job starts the run
    assert _flag(cmd, "--trainer.default_root_dir") == ["runs/steer"]
    assert _flag(_dry_run(tmp_path, CKPT_PATH="none", **env), "--ckpt_path") == []
    assert _flag(_dry_run(tmp_path, CKPT_PATH="old/last.ckpt", **env), "--ckpt_path") == ["old/last.ckpt"]


@needs_bash
def test_dry_run_refuses_a_missing_recipe(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update({"DRY_RUN": "1", "SLURM_SUBMIT_DIR": str(ROOT), "RECIPE": "recipes/no_such_recipe.yaml"})
    proc = subprocess.run(["bash", str(SBATCH)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and "no_such_recipe.yaml not found" in proc.stderr


def test_ddp_gpu_config_names_ddp_and_the_warp_backend():
    cfg = yaml.safe_load(DDP_GPU.read_text())
    trainer = cfg["trainer"]
    assert trainer["accelerator"] == "gpu"
    strategy = trainer["strategy"]
    assert strategy == "ddp"
    sim = cfg["data"]["init_args"]["sim"]
    assert sim["backend"] == "mujoco_warp" and sim["num_envs"] >= 1024


def test_apptainer_definition_has_its_sections_and_installs_the_gpu_extra():
    text = DEF.read_text()
    assert re.search(r"^Bootstrap:\s*docker\s*$", text, re.M)
    assert re.search(r"^From:\s*nvidia/cuda:\S+-runtime-ubuntu\S+\s*$", text, re.M)
    sections = set(re.findall(r"^%(\w+)", text, re.M))
    assert {"files", "post", "environment", "runscript", "test"} <= sections
    post = _section(text, "post")
    assert "python3.11" in post and "torch==2.13.0" in post
    assert re.search(r"pip install[^\n]*\[[^\]]*\bgpu\b[^\]]*\]", post), "the gpu extra is not installed"
    sources = [line.split()[0] for line in _section(text, "files").splitlines() if line.strip()]
    assert "mimic_lit" in sources and "pyproject.toml" in sources
    assert all((ROOT / s).exists() for s in sources), sources
    assert 'exec mimic-lit "$@"' in _section(text, "runscript")
    test_section = _section(text, "test")
    assert all(m in test_section for m in ("mimic_lit", "mujoco_warp", "torch.cuda.is_available()"))
    assert "MUJOCO_GL=egl" in _section(text, "environment")

@pytest.mark.slow
@needs_bash
def test_the_dry_run_command_parses_with_the_real_cli(tmp_path: Path):
    """jsonargparse accepts the script's overrides (run folder, ranks, --ckpt_path last)."""
    cmd = _dry_run(ROOT, **FAKE_SLURM)
    proc = subprocess.run([sys.executable, "-m", "mimic_lit.cli", *cmd[1:], "--print_config"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cfg = yaml.safe_load(proc.stdout)
    assert cfg["trainer"]["num_nodes"] == 2 and str(cfg["trainer"]["devices"]) == "4"
    assert cfg["trainer"]["default_root_dir"] == "runs/deepmimic_g1_walk" and cfg["ckpt_path"] == "last"
    assert cfg["trainer"]["callbacks"][-1]["class_path"] == "mimic_lit.callbacks.RunCheckpoint"
    assert cfg["data"]["init_args"]["sim"]["backend"] == "mujoco_warp"

"""A robot described by a YAML file (MJCF next to it, gains and bodies in the YAML) works like a shipped one.

The YAML points at a copy of the shipped Booster K1 folder (MJCF and meshes) in a temporary
directory: it loads as a robot, builds the same MuJoCo model as the registered ``k1``, and trains one
iteration of a quick recipe through the real CLI, with no package file changed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mimic_lit.errors import RobotSpecError
from mimic_lit.retarget.mapping import MAP_DIR, shipped_map_path
from mimic_lit.robots import ROBOT_DATA_DIR, get_robot
from mimic_lit.sim.base import SimConfig, make_simulator

REPO = Path(__file__).resolve().parent.parent


def k1_yaml(tmp_path: Path, **overrides) -> Path:
    """A YAML spec equal to the registered k1, pointing at a copy of its folder under ``tmp_path``."""
    shutil.copytree(ROBOT_DATA_DIR / "booster_k1", tmp_path / "my_k1")
    k1 = get_robot("k1")
    fields = {
        "name": "k1",  # the name the shipped K1 clips carry in their 'robot' field
        "mjcf": "my_k1/K1_22dof.xml",
        "pd_gains": {k: list(v) for k, v in k1.pd_gains.items()},
        "key_bodies": list(k1.key_bodies),
        "contact_bodies": list(k1.contact_bodies),
        "foot_bodies": list(k1.foot_bodies),
        "default_joint_pos": dict(k1.default_joint_pos),
        "default_root_height": k1.default_root_height,
        "control_dt": k1.control_dt,
        "sim_dt": k1.sim_dt,
        "format_names": {"gmr": "my_booster_k1"},
        "retarget_maps": {"humanoid": "my_maps/humanoid_to_my_k1.yaml"},
    }
    (tmp_path / "my_maps").mkdir()
    shutil.copy(MAP_DIR / "humanoid_to_k1.yaml", tmp_path / "my_maps" / "humanoid_to_my_k1.yaml")
    fields.update(overrides)
    path = tmp_path / "my_k1.yaml"
    path.write_text(yaml.safe_dump(fields, sort_keys=False))
    return path


def test_yaml_robot_builds_the_same_model_as_the_shipped_one(tmp_path: Path) -> None:
    path = k1_yaml(tmp_path)
    spec = get_robot(str(path))
    shipped = get_robot("k1")
    assert spec is not shipped and spec.mjcf_path == (tmp_path / "my_k1" / "K1_22dof.xml").resolve()
    assert spec.name == "k1" and spec.spec_file == str(path.resolve())
    assert get_robot(str(path)) is spec  # resolved once, then cached
    assert spec.joint_names == shipped.joint_names
    assert (spec.kp == shipped.kp).all() and (spec.kd == shipped.kd).all()
    assert (spec.default_pose == shipped.default_pose).all()
    assert spec.format_names == {"gmr": "my_booster_k1"}
    assert shipped_map_path("humanoid", str(path)) == (tmp_path / "my_maps" / "humanoid_to_my_k1.yaml").resolve()

    config = SimConfig(robot=str(path), num_envs=2, nthread=1)
    assert config.robot_spec is spec
    sim = make_simulator(config)
    ref = make_simulator(SimConfig(robot="k1", num_envs=2, nthread=1))
    assert sim.robot is spec
    assert (sim.model.nq, sim.model.nv, sim.model.nbody) == (ref.model.nq, ref.model.nv, ref.model.nbody)
    assert sim.body_names == ref.body_names


def test_yaml_robot_trains_a_quick_recipe_through_the_cli(tmp_path: Path) -> None:
    path = k1_yaml(tmp_path)
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable, "-m", "mimic_lit.cli", "fit",
            "--config", str(REPO / "recipes/deepmimic_k1_walk.yaml"), "--quick",
            "--data.init_args.sim.robot", str(path),
            "--trainer.max_epochs", "1",
            "--trainer.default_root_dir", str(run_dir),
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.parametrize(
    "override, field",
    [
        ({"pd_gains": {"(Left|Right)_Hip_.*": [80.0, 2.0]}}, "pd_gains"),
        ({"key_bodies": ["left_foot_link", "no_such_body"]}, "key_bodies"),
        ({"mjcf": "missing/robot.xml"}, "mjcf"),
        ({"default_root_height": "tall"}, "default_root_height"),
        ({"kp": 3}, "kp"),
    ],
)
def test_bad_yaml_robot_is_one_line_naming_file_and_field(tmp_path: Path, override: dict, field: str) -> None:
    path = k1_yaml(tmp_path, **override)
    with pytest.raises(RobotSpecError) as info:
        SimConfig(robot=str(path))
    msg = str(info.value)
    assert "\n" not in msg and str(path.resolve()) in msg and f"field '{field}'" in msg, msg


def test_bad_yaml_robot_through_the_cli_is_one_error_line(tmp_path: Path) -> None:
    path = k1_yaml(tmp_path, foot_bodies=["left_foot_link"])
    proc = subprocess.run(
        [
            sys.executable, "-m", "mimic_lit.cli", "fit",
            "--config", str(REPO / "recipes/deepmimic_k1_walk.yaml"), "--quick",
            "--data.init_args.sim.robot", str(path),
            "--trainer.default_root_dir", str(tmp_path / "run"),
        ],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "field 'foot_bodies'" in lines[0], proc.stderr
    assert str(path.resolve()) in lines[0] and not (tmp_path / "run").exists()

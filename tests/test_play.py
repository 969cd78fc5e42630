"""``mimic-lit play``: a checkpoint from a real quick-recipe run is replayed and rendered beside its reference."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from mimic_lit.cli import main
from mimic_lit.commands.train import MimicLitCLI
from mimic_lit.checkpoint import load_policy
from mimic_lit.play import record_episode

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "deepmimic_g1_walk.yaml"  # trained and played with --quick


def test_play_records_and_renders_policy_beside_reference(tmp_path: Path):
    old, argv = os.getcwd(), sys.argv
    os.chdir(tmp_path)
    sys.argv = ["mimic-lit"]
    try:
        MimicLitCLI(args=["fit", "--config", str(RECIPE), "--quick", "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"])
    finally:
        os.chdir(old)
        sys.argv = argv
    ckpt = tmp_path / "runs" / "quick_deepmimic_g1_walk" / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()

    model, dm = load_policy(RECIPE, ckpt, {"sim.num_envs": 1}, quick=True)
    env = dm.build_env(1, 0, rand_reset=False)
    rec = record_episode(model, env, max_seconds=0.3)
    assert rec.sim_qpos.shape == rec.ref_qpos.shape and rec.sim_qpos.shape[0] >= 2
    # reference state initialisation: the first simulated pose is the reference's first frame
    np.testing.assert_allclose(rec.sim_qpos[0], rec.ref_qpos[0], atol=1e-5)
    assert rec.times[0] == 0.0 and np.all(np.diff(rec.times) > 0)

    out = tmp_path / "play.gif"
    code = main(["play", "--config", str(RECIPE), "--quick", "--ckpt_path", str(ckpt), "--out", str(out),
                 "--seconds", "0.3", "--width", "64", "--height", "48", "--quality", "fast"])
    assert code == 0
    with Image.open(out) as gif:
        assert gif.size == (128, 48)  # two panels side by side
        assert gif.n_frames >= 2


def _train_one_iteration(recipe: Path, tmp_path: Path) -> None:
    old, argv = os.getcwd(), sys.argv
    os.chdir(tmp_path)
    sys.argv = ["mimic-lit"]
    try:
        MimicLitCLI(args=["fit", "--config", str(recipe), "--quick", "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false"])
    finally:
        os.chdir(old)
        sys.argv = argv


def test_renderer_draws_the_ball_only_when_the_pose_has_it_and_the_goal_disc():
    from mimic_lit.render.renderer import MotionRenderer
    from mimic_lit.sim.base import BallConfig

    with MotionRenderer("g1", 96, 72, "fast", ball=BallConfig()) as r:
        robot = r.model.qpos0[: r.robot_nq].copy()
        assert r.model.nq == r.robot_nq + 7
        view = (robot[:3] + [0.4, 0.0, -0.3], 2.5, 90.0, -25.0)
        bare = r.render(robot, *view)
        with_ball = r.render(np.concatenate([robot, [0.6, 0.0, 0.11, 1.0, 0.0, 0.0, 0.0]]), *view)
        again = r.render(robot, *view)
        with_disc = r.render(robot, *view, marker=np.array([0.8, 0.3, 0.5]))
    changed = lambda a, b: int((np.abs(a.astype(int) - b.astype(int)).sum(-1) > 30).sum())  # noqa: E731
    assert changed(bare, with_ball) > 20  # the ball shows
    assert changed(bare, again) == 0  # and is hidden again without its coordinates
    assert changed(bare, with_disc) > 50  # the goal disc shows
    ys, xs = np.nonzero((with_disc.astype(int)[..., 1] - with_disc.astype(int)[..., 0]) > 60)
    assert xs.size > 0  # green pixels: the disc's colour


def test_play_of_an_amp_dribble_policy_records_the_ball_and_goal_and_shows_the_policy_alone(tmp_path: Path):
    recipe = ROOT / "recipes" / "amp_g1_dribble_flat.yaml"
    _train_one_iteration(recipe, tmp_path)
    ckpt = tmp_path / "runs" / "quick_amp_g1_dribble_flat" / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()

    model, dm = load_policy(recipe, ckpt, {"sim.num_envs": 1}, quick=True)
    env = dm.build_env(1, 0, rand_reset=False)
    rec = record_episode(model, env, max_seconds=0.3)
    t = rec.sim_qpos.shape[0]
    assert rec.ball_qpos.shape == (t, 7) and rec.marker_xy.shape == (t, 2) and rec.errors["goal_ball_dist"].shape == (t - 1,)
    assert rec.sim_qpos_with_ball.shape == (t, rec.sim_qpos.shape[1] + 7)
    gap = np.linalg.norm(rec.ball_qpos[0, :2] - rec.sim_qpos[0, :2])
    assert 0.3 < gap < 0.7  # the ball starts in front of the robot
    goal_dist = np.linalg.norm(rec.marker_xy[0] - rec.ball_qpos[0, :2])
    assert abs(goal_dist - rec.errors["goal_ball_dist"][0]) < 0.1 and 1.5 < goal_dist < 5.5
    assert "body_pos_err_cm" not in rec.summary() and "final_goal_ball_dist" in rec.summary()

    out = tmp_path / "dribble.gif"
    code = main(["play", "--config", str(recipe), "--quick", "--ckpt_path", str(ckpt), "--out", str(out),
                 "--seconds", "0.2", "--width", "64", "--height", "48", "--quality", "fast"])
    assert code == 0
    with Image.open(out) as gif:
        assert gif.size == (64, 48)  # AMP tracks no clip: one panel

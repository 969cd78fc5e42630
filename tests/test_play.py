"""``mimic-lit play``: a checkpoint from a real quick-recipe run is replayed and rendered beside its reference."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mimic_lit.cli import main
from mimic_lit.commands.train import MimicLitCLI
from mimic_lit.checkpoint import load_policy
from mimic_lit.errors import MimicLitError
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


def test_renderer_draws_arrows_in_their_colours_with_a_colour_key(tmp_path: Path):
    from mimic_lit.render.arrows import ARROW_COLOURS, arrow_pieces
    from mimic_lit.render.compare import draw_legend, render_side_by_side
    from mimic_lit.render.renderer import MotionRenderer

    straight = np.array([[0.0, 0.0, 0.05], [0.8, 0.0, 0.05]])
    shaft, head = arrow_pieces(straight)
    assert len(shaft) == 1 and np.allclose(head[1], straight[-1]) and np.allclose(shaft[0][1], head[0])
    assert arrow_pieces(np.full((2, 3), np.nan)) == ([], None) and arrow_pieces(np.zeros((2, 3))) == ([], None)
    arc = np.stack([[np.cos(a), np.sin(a), 0.05] for a in np.linspace(0.0, 1.0, 9)]) * [0.6, 0.6, 1.0]
    shaft, head = arrow_pieces(arc)
    assert len(shaft) >= 6 and np.allclose(head[1], arc[-1])  # a curved shaft, the head at the end

    with MotionRenderer("g1", 96, 72, "fast") as r:
        robot = r.model.qpos0[: r.robot_nq].copy()
        view = (robot[:3] + [0.4, 0.0, -0.3], 2.5, 90.0, -40.0)
        bare = r.render(robot, *view)
        command = np.array([robot[:3] * [1, 1, 0] + [-0.5, -0.3, 0.05], [1.0, 0.0, 0.0]])  # across the view
        command[1] += command[0]
        with_arrow = r.render(robot, *view, arrows=[("command", command)])
        missing = r.render(robot, *view, arrows=[("command", np.full((2, 3), np.nan))])
    changed = lambda a, b: int((np.abs(a.astype(int) - b.astype(int)).sum(-1) > 30).sum())  # noqa: E731
    assert changed(bare, with_arrow) > 20 and changed(bare, missing) == 0
    orange = np.array(ARROW_COLOURS["command"]) * 255
    pixels = with_arrow.reshape(-1, 3).astype(float)
    hue = pixels / np.maximum(pixels.max(1, keepdims=True), 1) - orange / orange.max()
    assert int((np.abs(hue).max(1) < 0.2).sum()) > 5  # orange pixels: the command's colour

    t = 2
    qpos = np.tile(robot, (t, 1))
    arrows = {"command": np.tile(command, (t, 1, 1)), "velocity": np.full((t, 2, 3), np.nan)}
    arrows["command"][1, 1, 0] -= 0.5  # a shorter command in the second frame
    out = tmp_path / "arrows.gif"
    render_side_by_side([("policy", qpos)], out, "g1", 10.0, width=192, height=144, quality="fast", arrows=[arrows])
    with Image.open(out) as gif:
        assert gif.size == (192, 144) and gif.n_frames == 2  # the arrow shows: the frames differ
    with pytest.raises(MimicLitError, match="arrows"):
        render_side_by_side([("policy", qpos)], tmp_path / "bad.gif", "g1", 10.0, arrows=[{"command": command}])
    key = draw_legend(np.zeros((120, 160, 3), np.uint8), ["command", "velocity"])
    assert key[60:, :60].any() and not key[:60, 80:].any()  # a colour key in the bottom-left corner only


def test_play_of_a_command_following_policy_draws_and_prints_its_commands(tmp_path: Path, capsys):
    recipe = ROOT / "recipes" / "amp_k1_locomotion.yaml"
    _train_one_iteration(recipe, tmp_path)
    ckpt = tmp_path / "runs" / "quick_amp_k1_locomotion" / "checkpoints" / "last.ckpt"
    out = tmp_path / "commands.gif"
    code = main(["play", "--config", str(recipe), "--quick", "--ckpt_path", str(ckpt), "--out", str(out),
                 "--seconds", "0.2", "--width", "96", "--height", "72", "--quality", "fast"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "mean_cmd_vx_err" in printed and "commands: 0.0-0.2 s " in printed
    with Image.open(out) as gif:
        assert gif.size == (96, 72)  # AMP: the policy alone


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

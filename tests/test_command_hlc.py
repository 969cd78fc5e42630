"""The ball policy over a command skill: the dribble goal's options for it (placement around the
robot, behind-the-ball term, bonus, lost ball), a lost ball that ends an episode without being a
fall, the high-level env over a real (quick-trained) K1 command skill, the scripted baseline's
decisions, and skill files (policy-only checkpoints)."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from mimic_lit.envs.protocol import Done
from mimic_lit.envs.tasks import DribbleConfig
from mimic_lit.envs.tasks.dribble import DribbleGoal
from mimic_lit.errors import MimicLitError
from mimic_lit.methods.scripted import dribble_commands

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def yaw_quat(yaw: torch.Tensor) -> torch.Tensor:
    half = 0.5 * yaw
    return torch.stack([torch.cos(half), torch.zeros_like(half), torch.zeros_like(half), torch.sin(half)], -1)


class FakeBallSim:
    """The ball part of a simulator: positions set by reset_ball, velocities zero."""

    has_ball = True
    ball_radius = 0.11

    def __init__(self, n: int) -> None:
        self.num_envs = n
        self.ball_pos = torch.zeros(n, 3)
        self.ball_lin_vel = torch.zeros(n, 3)

    def reset_ball(self, ids: torch.Tensor, pos: torch.Tensor) -> None:
        self.ball_pos[ids] = pos


def dribble_goal(n: int, **options) -> tuple[DribbleGoal, FakeBallSim]:
    goal = DribbleConfig(**options).build(n, "cpu", torch.float32, seed=5)
    sim = FakeBallSim(n)
    goal.bind(sim)
    return goal, sim


# ---------------------------------------------------------------------- the dribble goal's new options
def test_around_placement_puts_the_ball_at_the_drawn_distance_and_any_bearing():
    n = 512
    goal, sim = dribble_goal(n, ball_placement="around", ball_dist_min=0.3, ball_dist_max=1.0)
    root = torch.zeros(n, 3)
    root[:, :2] = torch.randn(n, 2)
    goal.reset(torch.arange(n), root, yaw_quat(torch.rand(n) * 6.0))
    offset = sim.ball_pos[:, :2] - root[:, :2]
    dist = offset.norm(dim=-1)
    assert float(dist.min()) >= 0.3 - 1e-5 and float(dist.max()) <= 1.0 + 1e-5
    bearing = torch.atan2(offset[:, 1], offset[:, 0])
    assert float(bearing.min()) < -2.5 and float(bearing.max()) > 2.5  # all around, not only in front
    goal_dist = (goal.goal_xy - root[:, :2]).norm(dim=-1)
    assert float(goal_dist.min()) >= 2.0 - 1e-5 and float(goal_dist.max()) <= 5.0 + 1e-5


def test_front_placement_is_unchanged_by_the_new_options():
    a, sim_a = dribble_goal(4)
    b, sim_b = dribble_goal(4, w_behind_ball=0.0, max_ball_dist=math.inf)
    root, quat = torch.zeros(4, 3), yaw_quat(torch.tensor([0.0, 1.0, 2.0, 3.0]))
    a.reset(torch.arange(4), root, quat)
    b.reset(torch.arange(4), root, quat)
    assert torch.allclose((sim_a.ball_pos[:, :2]).norm(dim=-1), torch.full((4,), 0.45))
    assert torch.equal(sim_a.ball_pos, sim_b.ball_pos) and "behind_ball" not in a.weights


def test_behind_ball_term_peaks_on_the_goal_line_behind_the_ball():
    goal, sim = dribble_goal(3, w_behind_ball=0.3, behind_offset=0.3, behind_scale=2.0)
    goal.goal_xy[:] = torch.tensor([3.0, 0.0])
    sim.ball_pos[:] = torch.tensor([1.0, 0.0, 0.11])
    root = torch.tensor([[0.7, 0.0, 0.5], [1.3, 0.0, 0.5], [0.7, 0.5, 0.5]])  # behind, in front, to the side
    terms = goal.reward_terms(root, root, yaw_quat(torch.zeros(3)), 0.02)
    assert math.isclose(float(terms["behind_ball"][0]), 1.0, abs_tol=1e-6)
    assert float(terms["behind_ball"][1]) < float(terms["behind_ball"][2]) < 1.0


def test_success_bonus_and_lost_ball():
    goal, sim = dribble_goal(2, success_bonus=10.0, max_ball_dist=2.0)
    goal.goal_xy[:] = torch.tensor([3.0, 0.0])
    sim.ball_pos[:] = torch.tensor([[2.9, 0.0, 0.11], [1.0, 0.0, 0.11]])  # scored / not
    root, quat = torch.zeros(2, 3), yaw_quat(torch.zeros(2))
    reward = goal.reward(root, root, quat, 0.02)
    assert math.isclose(float(reward[0]), 11.0, rel_tol=1e-6) and float(reward[1]) < 1.0
    assert goal.failed(root, quat).tolist() == [True, False]  # 2.9 m from the robot
    never, _ = dribble_goal(1)
    assert not bool(never.failed(torch.full((1, 3), 100.0), yaw_quat(torch.zeros(1))).any())


def test_bad_dribble_options_are_one_line_errors():
    with pytest.raises(MimicLitError, match="ball_placement"):
        DribbleConfig(ball_placement="behind")
    with pytest.raises(MimicLitError, match="max_ball_dist"):
        DribbleConfig(max_ball_dist=0.0)
    with pytest.raises(MimicLitError, match="ball_dist"):
        DribbleConfig(ball_dist_min=1.0, ball_dist_max=0.5)


def test_a_lost_ball_ends_the_episode_as_a_failure_that_is_not_a_fall():
    from mimic_lit.envs.amp import AMPConfig
    from mimic_lit.envs.task import make_env
    from mimic_lit.sim.base import SimConfig

    task = AMPConfig(motion="shipped:k1/deepmimic_walk", disc_steps=2, default_reset_prob=1.0,
                     goal=DribbleConfig(max_ball_dist=0.2))  # the ball starts 0.45 m away: lost at once
    env = make_env(SimConfig(robot="k1", num_envs=2, nthread=1), task)
    env.reset()
    res = env.step(torch.zeros(2, env.action_dim))
    assert res.done.tolist() == [int(Done.FAIL)] * 2
    assert res.info["fell"].tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------- the scripted baseline
def test_script_walks_around_the_ball_then_through_it_toward_the_goal():
    ball = torch.tensor([[0.35, 0.0], [0.35, 0.0], [-0.6, 0.0], [0.5, 0.4]])
    goal = torch.tensor([[3.0, 0.0], [3.0, 0.5], [3.0, 0.0], [0.5, 3.0]])
    command, dribbling = dribble_commands(ball, goal)
    # 0: ball straight ahead on the line to the goal: dribble forward, no turn
    assert bool(dribbling[0]) and float(command[0, 0]) > 0.3 and abs(float(command[0, 2])) < 1e-4
    # 1: goal to the left: dribble and turn left
    assert bool(dribbling[1]) and float(command[1, 2]) > 0.1
    # 2: the robot stands between the ball and the goal: not dribbling, it goes around the ball
    assert not bool(dribbling[2]) and float(command[2, 0]) < 0.0 and abs(float(command[2, 1])) > 0.1
    # 3: ball ahead-left, goal far left: walk to the spot behind the ball first
    assert not bool(dribbling[3]) and float(command[3, 2]) > 0.0


# ---------------------------------------------------------------------- the high-level env over a real skill
def _fit(recipe: Path, cwd: Path, *extra: str) -> None:
    from mimic_lit.commands.train import MimicLitCLI

    old, argv = os.getcwd(), sys.argv
    os.chdir(cwd)
    sys.argv = ["mimic-lit"]
    try:
        MimicLitCLI(args=["fit", "--config", str(recipe), "--quick", *QUIET, *extra])
    finally:
        os.chdir(old)
        sys.argv = argv


@pytest.fixture(scope="module")
def k1_skill(tmp_path_factory) -> Path:
    """A K1 command skill trained 1 quick iteration (real MuJoCo, real Trainer)."""
    work = tmp_path_factory.mktemp("skill")
    _fit(ROOT / "recipes" / "amp_k1_locomotion.yaml", work, "--trainer.max_epochs", "1")
    return work / "runs" / "quick_amp_k1_locomotion" / "checkpoints" / "last.ckpt"


def _hl_task(ckpt: Path, **options):
    from mimic_lit.envs.command_hlc import CommandHLCConfig

    goal = DribbleConfig(ball_placement="around", max_ball_dist=2.0, w_behind_ball=0.2)
    return CommandHLCConfig(llc_config=str(ROOT / "recipes" / "amp_k1_locomotion.yaml"), llc_ckpt_path=str(ckpt),
                            llc_quick=True, llc_steps=3, goal=goal, episode_length=2.0, **options)


def _hl_env(ckpt: Path, n: int = 3, **sim_options):
    from mimic_lit.envs.task import make_env
    from mimic_lit.sim.base import SimConfig

    return make_env(SimConfig(robot="k1", num_envs=n, nthread=1, **sim_options), _hl_task(ckpt))


def test_high_level_env_observes_ball_goal_robot_and_command_and_sets_the_skills_command(k1_skill: Path):
    env = _hl_env(k1_skill)
    spec = env.spec
    assert env.action_dim == 3 and env.obs_dim == 8 + 10 + 3 and spec.obs_dim == env.obs_dim
    assert [b.name for b in spec.obs_blocks] == ["goal/DribbleGoal", "robot_state", "command"]
    assert spec.disc_obs is None and spec.command_ranges == ((-0.3, 0.6), (-0.2, 0.2), (-0.8, 0.8))
    assert math.isclose(env.control_dt, 3 * 0.02)
    assert set(spec.eval_metrics) >= {"goal_ball_dist", "cmd_vx_err"}
    # actions in [-1, 1] span the skill's command ranges (clipped outside)
    corners = torch.tensor([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [5.0, -5.0, 0.5]])
    commands = env.command_from_action(corners)
    assert torch.allclose(commands[0], torch.tensor([-0.3, -0.2, -0.8])) and torch.allclose(commands[1], torch.tensor([0.6, 0.2, 0.8]))
    assert torch.allclose(commands[3], torch.tensor([0.6, -0.2, 0.4]))
    assert torch.allclose(env.action_from_command(commands[:3]), corners[:3], atol=1e-6)
    obs = env.reset()
    assert obs.shape == (3, env.obs_dim) and torch.equal(obs[:, -3:], torch.zeros(3, 3))  # standing, no command yet
    action = torch.tensor([[0.5, 0.0, -0.5]] * 3)
    res = env.step(action)
    chosen = env.command_from_action(action)
    assert torch.allclose(env.goal.command, chosen)  # the low level follows it
    assert torch.allclose(res.obs[:, -3:], chosen) and torch.allclose(env.env.observe()[:, -3:], chosen)
    assert res.reward.shape == (3,) and bool(torch.isfinite(res.reward).all())
    assert bool(torch.isfinite(res.info["goal_ball_dist"]).all())


def test_high_level_env_resumes_exactly(k1_skill: Path):
    env = _hl_env(k1_skill)
    env.reset()
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        env.step(torch.rand(3, 3, generator=gen) * 2 - 1)
    state = env.state_dict()
    twin = _hl_env(k1_skill)
    twin.load_state_dict(state)
    for _ in range(4):
        action = torch.rand(3, 3, generator=gen) * 2 - 1
        a, b = env.step(action), twin.step(action)
        assert torch.equal(a.obs, b.obs) and torch.equal(a.reward, b.reward) and torch.equal(a.done, b.done)


def test_high_level_env_refuses_a_mismatched_simulator_or_skill(k1_skill: Path, tmp_path: Path):
    from mimic_lit.envs.command_hlc import CommandHLCConfig
    from mimic_lit.envs.task import make_env
    from mimic_lit.sim.base import SimConfig

    with pytest.raises(MimicLitError, match=r"sim.control_dt=0.04 \(low level: None\)"):
        make_env(SimConfig(robot="k1", num_envs=2, nthread=1, control_dt=0.04), _hl_task(k1_skill))
    with pytest.raises(MimicLitError, match="is for robot 'k1' but the simulator runs 'g1'"):
        make_env(SimConfig(robot="g1", num_envs=2, nthread=1), _hl_task(k1_skill))
    with pytest.raises(MimicLitError, match="velocity-command goal"):  # a dribble recipe is no command skill
        task = CommandHLCConfig(llc_config=str(ROOT / "recipes" / "amp_k1_dribble_flat.yaml"), llc_ckpt_path=str(k1_skill),
                                llc_quick=True, goal=DribbleConfig())
        make_env(SimConfig(robot="k1", num_envs=2, nthread=1), task)
    with pytest.raises(MimicLitError, match="task.goal is required"):
        CommandHLCConfig(llc_config="a.yaml", llc_ckpt_path="b.ckpt")
    with pytest.raises(MimicLitError, match="does not exist"):
        CommandHLCConfig(llc_config="recipes/amp_k1_locomotion.yaml", llc_ckpt_path=str(tmp_path / "none.ckpt"),
                         goal=DribbleConfig()).low_level()


def test_scripted_baseline_plays_the_high_level_env_through_evaluation(k1_skill: Path):
    from mimic_lit.envs.spec import RolloutSpec
    from mimic_lit.methods.scripted import ScriptedDribble
    from mimic_lit.rl.collector import EvaluationRollouts

    env = _hl_env(k1_skill, n=2)
    agent = ScriptedDribble()
    agent.connect(RolloutSpec(env.spec, 1, 0))
    obs = env.reset()
    action = agent.policy(agent.obs_normalizer.normalize(obs)).mode()
    command, _ = dribble_commands(obs[:, 0:2], obs[:, 6:8])
    assert torch.allclose(env.command_from_action(action), torch.maximum(torch.minimum(command, torch.tensor([0.6, 0.2, 0.8])),
                                                                          torch.tensor([-0.3, -0.2, -0.8])), atol=1e-5)
    episodes = EvaluationRollouts(env, lambda: agent, episodes=2, seed=0).run(agent)
    assert episodes["length_s"].numel() == 2 and bool((episodes["length_s"] > 0).all())
    not_a_ball_env = SimpleNamespace(obs_blocks=(), command_ranges=(), obs_dim=3, action_dim=3)
    with pytest.raises(MimicLitError, match="CommandHLCConfig"):
        agent.connect(RolloutSpec(not_a_ball_env, 1, 0))


# ---------------------------------------------------------------------- skill files
def test_skill_file_is_the_policy_alone_and_acts_like_the_checkpoint(k1_skill: Path, tmp_path: Path, capsys):
    from mimic_lit import cli
    from mimic_lit.checkpoint import load_policy

    out = tmp_path / "k1_walk.ckpt"
    recipe = str(ROOT / "recipes" / "amp_k1_locomotion.yaml")
    code = cli.main(["export", "--config", recipe, "--quick", "--ckpt_path", str(k1_skill), "--format", "skill", "--out", str(out)])
    assert code == 0, capsys.readouterr()
    assert "action difference 0.00e+00" in capsys.readouterr().out
    saved = torch.load(out, weights_only=True)
    assert saved["mimic_lit"]["policy_only"] and all(k.startswith(("actor.", "obs_normalizer.")) for k in saved["state_dict"])
    assert out.stat().st_size < k1_skill.stat().st_size / 5
    full, _ = load_policy(recipe, k1_skill, quick=True)
    skill, _ = load_policy(recipe, out, quick=True)
    obs = torch.randn(16, full.obs_dim)
    assert torch.equal(full.act(obs), skill.act(obs))
    # a high-level env runs on the skill file as on the checkpoint
    env = _hl_env(out, n=2)
    env.reset()
    assert env.step(torch.zeros(2, 3)).obs.shape == (2, env.obs_dim)


def test_shipped_skill_names(monkeypatch):
    from mimic_lit.checkpoint import resolve_shipped_skill
    from mimic_lit.quick import quick_ckpt_path

    assert resolve_shipped_skill("runs/x/checkpoints/last.ckpt") == "runs/x/checkpoints/last.ckpt"
    with pytest.raises(MimicLitError, match="no shipped skill 'nope.ckpt'"):
        resolve_shipped_skill("shipped:skills/nope.ckpt")
    assert quick_ckpt_path("shipped:skills/amp_k1_locomotion.ckpt") == "runs/quick_amp_k1_locomotion/checkpoints/last.ckpt"


def test_play_shows_the_scripted_baseline_over_a_quick_walk(k1_skill: Path, monkeypatch, capsys):
    """``mimic-lit play --scripted`` plays the baseline over the recipe's walk (no checkpoint of its own)."""
    from mimic_lit import cli

    monkeypatch.chdir(k1_skill.parents[3])  # the folder the quick walk was trained in: runs/quick_amp_k1_locomotion
    recipe = str(ROOT / "recipes" / "amp_k1_dribble.yaml")
    assert cli.main(["play", "--config", recipe, "--quick", "--scripted", "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    assert "final_goal_ball_dist" in out and "commands:" in out
    assert cli.main(["play", "--config", recipe, "--quick"]) == 2  # neither a checkpoint nor --scripted
    assert "give one of --ckpt_path" in capsys.readouterr().err


def test_play_records_every_control_step_of_a_ball_policy(k1_skill: Path):
    """The video of a ball policy moves at the walk's 50 Hz, not at the decisions' rate."""
    from mimic_lit.envs.spec import RolloutSpec
    from mimic_lit.methods.scripted import ScriptedDribble
    from mimic_lit.play import record_episode

    env = _hl_env(k1_skill, n=2)  # 3 control steps of 0.02 s per decision
    agent = ScriptedDribble()
    agent.connect(RolloutSpec(env.spec, 1, 0))
    record = record_episode(agent, env, max_seconds=0.6)
    assert record.control_dt == pytest.approx(0.02) and env.control_dt == pytest.approx(0.06)
    decisions = 10  # 0.6 s of 0.06 s decisions
    if record.done == Done.NULL:
        assert record.sim_qpos.shape[0] == 1 + 3 * decisions and len(record.reward) == 3 * decisions
    else:  # it ended at some control step: every step up to it, and not one after
        assert record.sim_qpos.shape[0] == len(record.reward) <= 3 * decisions
    assert all(len(v) == len(record.reward) for v in record.errors.values())
    assert env.control_step_hook is None  # handed back


def test_residual_actions_correct_the_scripts_command(k1_skill: Path):
    """With task.residual the command is the script's plus half-range x action: action 0 plays the
    baseline (so ScriptedDribble then acts 0), and corrections move it within the ranges."""
    from mimic_lit.envs.spec import RolloutSpec
    from mimic_lit.envs.task import make_env
    from mimic_lit.methods.scripted import ScriptedDribble
    from mimic_lit.sim.base import SimConfig

    env = make_env(SimConfig(robot="k1", num_envs=3, nthread=1), _hl_task(k1_skill, residual=True))
    assert env.spec.residual_commands
    obs = env.reset()
    script = env.base_command(obs)
    env.step(torch.zeros(3, 3))
    assert torch.allclose(env.goal.command, script, atol=1e-6)
    low = torch.tensor([-0.3, -0.2, -0.8])
    high = torch.tensor([0.6, 0.2, 0.8])
    obs = env.observe()
    script = env.base_command(obs)
    nudge = torch.tensor([[0.2, 0.0, -0.5]]).expand(3, 3)
    env.step(nudge)
    expected = torch.maximum(torch.minimum(script + 0.5 * (high - low) * nudge, high), low)
    assert torch.allclose(env.goal.command, expected, atol=1e-6)
    agent = ScriptedDribble()
    agent.connect(RolloutSpec(env.spec, 1, 0))
    assert torch.equal(agent.act(env.observe()), torch.zeros(3, 3))  # the env plays the script itself


def test_scripted_baseline_dribbles_into_the_goal_with_the_shipped_k1_walk():
    """The shipped K1 walk follows commands well enough to dribble: with the ball 0.5 m straight ahead
    and the goal 2.5 m beyond the robot on the same line, the scripted baseline scores."""
    from mimic_lit.envs.command_hlc import CommandHLCConfig
    from mimic_lit.envs.spec import RolloutSpec
    from mimic_lit.envs.task import make_env
    from mimic_lit.methods.scripted import ScriptedDribble
    from mimic_lit.rl.collector import EvaluationRollouts
    from mimic_lit.sim.base import SimConfig

    goal = DribbleConfig(ball_placement="front", ball_offset=0.5, dist_min=2.5, dist_max=2.5, angle_range=0.0,
                         goal_radius=0.5, max_ball_dist=2.0)
    task = CommandHLCConfig(llc_config=str(ROOT / "recipes" / "amp_k1_locomotion.yaml"),
                            llc_ckpt_path="shipped:skills/amp_k1_locomotion.ckpt", goal=goal, episode_length=20.0, seed=3)
    env = make_env(SimConfig(robot="k1", num_envs=4, nthread=1), task)
    agent = ScriptedDribble()
    agent.connect(RolloutSpec(env.spec, 1, 0))
    episodes = EvaluationRollouts(env, lambda: agent, episodes=4, seed=0).run(agent)
    assert float(episodes["succeeded"].sum()) >= 3, episodes
    scored = episodes["succeeded"] > 0
    assert float(episodes["length_s"][scored].max()) < 10.0  # walked the 2 m in a few seconds, not by luck at the end


# ---------------------------------------------------------------------- fine-tuning the walk under the ball policy
def test_walk_fine_tuned_under_the_ball_policy_takes_its_commands_every_llc_steps(k1_skill: Path, monkeypatch):
    """The second stage: the walk observes the command the frozen ball policy chose, a new one every
    ``llc_steps`` control steps, and is scored on the dribble too."""
    from mimic_lit.checkpoint import build_from_recipe
    from mimic_lit.envs.command_hlc import residual_command, robot_state_obs
    from mimic_lit.envs.steered_walk import BallPolicyCommands
    from mimic_lit.envs.task import make_env
    import dataclasses

    work = k1_skill.parents[3]
    _fit(ROOT / "recipes" / "amp_k1_dribble.yaml", work, "--trainer.max_epochs", "1")
    monkeypatch.chdir(work)  # the recipes name the quick runs' checkpoints relative to it
    _, data = build_from_recipe(ROOT / "recipes" / "amp_k1_dribble_finetune.yaml", quick=True)
    env = make_env(dataclasses.replace(data.sim, num_envs=4, nthread=1), data.task)
    goal = env.goal
    assert isinstance(goal, BallPolicyCommands) and goal.llc_steps == 2 and goal.residual  # the quick ball policy's
    assert env.obs_dim == k1_skill_obs_dim(k1_skill)  # the walk's own observation: init_from copies it all
    assert "goal_ball_dist" in env.spec.eval_metrics and "cmd_vx_err" in env.spec.eval_metrics

    def decision(command: torch.Tensor) -> torch.Tensor:
        """What the ball policy chooses now, seeing ``command`` as the one being followed."""
        sim = env.sim
        obs = torch.cat([goal.task.observe(sim.root_pos, sim.root_quat), robot_state_obs(sim), command], -1)
        return residual_command(obs, goal.hlc.act(obs), goal._mid, goal._half)  # the recipe's ball policy is residual

    obs = env.reset()
    assert torch.allclose(obs[:, -3:], goal.command_goal.command)
    assert torch.allclose(goal.command_goal.command, decision(torch.zeros(4, 3)), atol=1e-6)  # from the rest command
    changes = []
    for step in range(1, 7):
        before = goal.command_goal.command.clone()
        res = env.step(torch.zeros(4, env.action_dim))
        alive = res.done == 0
        changed = (goal.command_goal.command != before).any(-1)
        changes.append(bool(changed[alive].any()))
        if step % 2 == 0:  # decided on the state reached, with the command followed until now
            assert torch.allclose(goal.command_goal.command[alive], decision(before)[alive], atol=1e-6)
        assert torch.allclose(res.obs[:, -3:], goal.command_goal.command)
        assert torch.isfinite(res.info["goal_reward"]).all() and "goal_ball_dist" in res.info
    assert changes == [False, True] * 3  # a decision every 2 control steps, none in between


def k1_skill_obs_dim(ckpt: Path) -> int:
    from mimic_lit.checkpoint_io import load_checkpoint

    state = load_checkpoint(ckpt)["state_dict"]
    return int(state["obs_normalizer.mean"].shape[0])


def test_walk_fine_tuning_needs_a_trained_ball_policy(tmp_path: Path):
    from mimic_lit.envs.steered_walk import BallPolicyCommandsConfig

    with pytest.raises(MimicLitError, match="hlc_ckpt_path is required"):
        BallPolicyCommandsConfig(hlc_config="recipes/amp_k1_dribble.yaml")
    missing = BallPolicyCommandsConfig(hlc_config=str(ROOT / "recipes" / "amp_k1_dribble.yaml"), hlc_ckpt_path=str(tmp_path / "none.ckpt"))
    with pytest.raises(MimicLitError, match="train the ball policy first"):
        missing.build(2, "cpu", torch.float32, 0)

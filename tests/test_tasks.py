"""Steering and location tasks: rewards, heading-frame obs, timers, resets and reproducibility."""

from __future__ import annotations

import math

import pytest
import torch

from mimic_lit.envs.tasks import (
    DribbleConfig,
    DribbleGoal,
    LocationConfig,
    LocationGoal,
    SteeringConfig,
    SteeringGoal,
)
from mimic_lit.errors import MimicLitError
from mimic_lit.rotations import quat_from_axis_angle, quat_mul

CONFIGS = {"steering": SteeringConfig, "location": LocationConfig}

DT = 1.0 / 30.0
Z_AXIS = torch.tensor([0.0, 0.0, 1.0])
X_AXIS = torch.tensor([1.0, 0.0, 0.0])


def yaw_quat(yaw: torch.Tensor) -> torch.Tensor:
    """(N, 4) rotations about +z by ``yaw`` (N,)."""
    return quat_from_axis_angle(Z_AXIS.expand(yaw.shape + (3,)), yaw)


def random_roots(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random root positions and yaws (no tilt) for ``n`` envs."""
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(n, 3, generator=g) * 3.0
    pos[:, 2] = 1.0
    return pos, yaw_quat((torch.rand(n, generator=g) * 2 - 1) * math.pi)


def rotate_xy(v: torch.Tensor, angle: float) -> torch.Tensor:
    """(N, 2) vectors rotated by ``angle`` about +z."""
    c, s = math.cos(angle), math.sin(angle)
    return torch.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], dim=-1)


def steering(n: int = 4, seed: int = 0, **cfg) -> SteeringGoal:
    """A small CPU steering task with config overrides ``cfg``."""
    return SteeringGoal(n, seed=seed, config=SteeringConfig(**cfg))


def location(n: int = 4, seed: int = 0, **cfg) -> LocationGoal:
    """A small CPU location task with config overrides ``cfg``."""
    return LocationGoal(n, seed=seed, config=LocationConfig(**cfg))


def set_steering(task: SteeringGoal, angle: float, speed: float, face_angle: float | None = None) -> None:
    """Same target direction, speed and facing for every env."""
    n = task.num_envs
    d = torch.tensor([math.cos(angle), math.sin(angle)])
    fa = angle if face_angle is None else face_angle
    task.tar_dir = d.repeat(n, 1)
    task.tar_speed = torch.full((n,), speed)
    task.face_dir = torch.tensor([math.cos(fa), math.sin(fa)]).repeat(n, 1)


def steering_motion(angle: float, speeds: torch.Tensor, yaws: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Roots moving at ``speeds`` along ``angle`` with headings ``yaws``: (prev_pos, pos, quat)."""
    d = torch.tensor([math.cos(angle), math.sin(angle), 0.0])
    pos = torch.tensor([2.0, -1.0, 0.9]).repeat(speeds.numel(), 1)
    prev = pos - speeds.unsqueeze(-1) * d * DT
    return prev, pos, yaw_quat(yaws)


# -- steering rewards -----------------------------------------------------------------------


def test_steering_reward_is_one_for_ideal_motion():
    task = steering(n=3)
    for angle, speed in [(0.3, 2.0), (-2.5, 0.5), (math.pi, 4.7)]:
        set_steering(task, angle, speed)
        prev, pos, quat = steering_motion(angle, torch.full((3,), speed), torch.full((3,), angle))
        r = task.reward(prev, pos, quat, DT)
        torch.testing.assert_close(r, torch.ones(3), atol=1e-6, rtol=0)


def test_steering_velocity_term_decreases_with_speed_error():
    task = steering(n=5)
    set_steering(task, 0.7, 2.0)
    speeds = torch.tensor([2.0, 2.5, 3.0, 4.0, 6.0])
    terms = task.reward_terms(*steering_motion(0.7, speeds, torch.full((5,), 0.7)), DT)
    assert terms["vel"][0] == pytest.approx(1.0, abs=1e-6)
    assert torch.all(terms["vel"][1:] < terms["vel"][:-1])
    torch.testing.assert_close(terms["face"], torch.ones(5), atol=1e-6, rtol=0)
    # exact value: exp(-s * 0.5^2) for 0.5 m/s too fast
    assert terms["vel"][1].item() == pytest.approx(math.exp(-0.5 * 0.25), rel=1e-4)


def test_steering_velocity_term_decreases_with_direction_error_and_is_zero_backwards():
    task = steering(n=1)
    set_steering(task, 0.0, 1.5)
    values = []
    for off in [0.0, 0.4, 0.8, 1.2, 1.5]:
        values.append(task.reward_terms(*steering_motion(off, torch.tensor([1.5]), torch.zeros(1)), DT)["vel"].item())
    assert all(a > b for a, b in zip(values, values[1:]))
    for off in [1.7, 2.5, math.pi]:  # a negative projection on d: no velocity reward at all
        assert task.reward_terms(*steering_motion(off, torch.tensor([1.5]), torch.zeros(1)), DT)["vel"].item() == 0.0


def test_steering_facing_term_decreases_with_heading_error():
    task = steering(n=6)
    set_steering(task, 1.0, 1.0)
    yaws = 1.0 + torch.tensor([0.0, 0.3, 0.8, 1.4, 2.0, math.pi])
    terms = task.reward_terms(*steering_motion(1.0, torch.ones(6), yaws), DT)
    face = terms["face"]
    assert face[0] == pytest.approx(1.0, abs=1e-6)
    assert torch.all(face[1:4] < face[:3])
    assert torch.all(face[4:] == 0)  # facing away is clipped at 0, not negative
    torch.testing.assert_close(terms["vel"], torch.ones(6), atol=1e-6, rtol=0)


def test_steering_facing_uses_heading_not_tilt():
    task = steering(n=1)
    set_steering(task, 0.0, 1.0)
    tilted = quat_mul(yaw_quat(torch.zeros(1)), quat_from_axis_angle(X_AXIS.expand(1, 3), torch.tensor([0.6])))
    prev, pos, _ = steering_motion(0.0, torch.ones(1), torch.zeros(1))
    assert task.reward_terms(prev, pos, tilted, DT)["face"].item() == pytest.approx(1.0, abs=1e-6)


def test_steering_rand_face_dir_separates_facing_from_direction():
    task = steering(n=64, rand_face_dir=True)
    pos, quat = random_roots(64, 1)
    task.reset(torch.arange(64), pos, quat)
    assert not torch.allclose(task.face_dir, task.tar_dir)
    tied = steering(n=64)
    tied.reset(torch.arange(64), pos, quat)
    torch.testing.assert_close(tied.face_dir, tied.tar_dir)


def test_steering_draws_within_config_ranges():
    task = steering(n=256, speed_min=0.3, speed_max=1.2)
    pos, quat = random_roots(256, 2)
    task.reset(torch.arange(256), pos, quat)
    assert task.tar_speed.min() >= 0.3 and task.tar_speed.max() <= 1.2
    torch.testing.assert_close(task.tar_dir.norm(dim=-1), torch.ones(256))
    assert task.time_left.min() >= 4.0 and task.time_left.max() <= 7.0
    # directions cover all quadrants
    angles = torch.atan2(task.tar_dir[:, 1], task.tar_dir[:, 0])
    assert torch.histc(angles, bins=4, min=-math.pi, max=math.pi).min() > 0


# -- location rewards -----------------------------------------------------------------------


def location_motion(
    task: LocationGoal, dists: torch.Tensor, speeds: torch.Tensor, yaw_offsets: torch.Tensor, move_offset: float = 0.0
) -> tuple[torch.Tensor, ...]:
    """Roots ``dists`` from a target on +x of each root, moving at ``speeds`` towards it (rotated by
    ``move_offset``), heading towards it plus ``yaw_offsets``."""
    n = dists.numel()
    pos = torch.zeros(n, 3)
    pos[:, 2] = 1.0
    task.tar_xy = torch.stack([dists, torch.zeros(n)], dim=-1)
    vel = torch.stack([speeds * math.cos(move_offset), speeds * math.sin(move_offset), torch.zeros(n)], dim=-1)
    return pos - vel * DT, pos, yaw_quat(yaw_offsets)


def test_location_reward_is_one_at_target_and_vel_face_full_when_heading_there():
    task = location(n=3)
    speeds, yaws = torch.tensor([0.0, 1.0, 3.0]), torch.tensor([0.0, 2.0, 3.0])  # at the target anything goes
    r = task.reward(*location_motion(task, torch.zeros(3), speeds, yaws), DT)
    torch.testing.assert_close(r, torch.ones(3), atol=1e-6, rtol=0)
    # far away, moving at v* towards the target and facing it: only the position term is short of 1
    terms = task.reward_terms(*location_motion(task, torch.tensor([3.0]), torch.tensor([1.0]), torch.zeros(1)), DT)
    assert terms["vel"].item() == pytest.approx(1.0, abs=1e-6)
    assert terms["face"].item() == pytest.approx(1.0, abs=1e-6)
    assert terms["pos"].item() == pytest.approx(math.exp(-0.5 * 9.0), rel=1e-5)


def test_location_terms_decrease_with_their_errors():
    task = location(n=5)
    dists = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    pos_term = task.reward_terms(*location_motion(task, dists, torch.ones(5), torch.zeros(5)), DT)["pos"]
    assert torch.all(pos_term[1:] < pos_term[:-1])

    speeds = torch.tensor([1.0, 0.8, 0.5, 0.3, 0.1])
    vel_term = task.reward_terms(*location_motion(task, torch.full((5,), 4.0), speeds, torch.zeros(5)), DT)["vel"]
    assert vel_term[0].item() == pytest.approx(1.0, abs=1e-6)
    assert torch.all(vel_term[1:] < vel_term[:-1])
    assert vel_term[2].item() == pytest.approx(math.exp(-4 * 0.25), rel=1e-4)
    faster = task.reward_terms(*location_motion(task, torch.tensor([4.0]), torch.tensor([2.5]), torch.zeros(1)), DT)
    assert faster["vel"].item() == pytest.approx(1.0, abs=1e-6)  # no penalty for exceeding v*

    yaws = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.5])
    face_term = task.reward_terms(*location_motion(task, torch.full((5,), 4.0), torch.ones(5), yaws), DT)["face"]
    assert torch.all(face_term[1:4] < face_term[:3])
    assert face_term[4].item() == 0.0


def test_location_velocity_term_zero_when_moving_away():
    task = location(n=3)
    speeds = torch.tensor([0.0, 1.0, 1.0])
    terms = task.reward_terms(*location_motion(task, torch.full((3,), 4.0), speeds, torch.zeros(3), math.pi), DT)
    assert torch.all(terms["vel"] == 0.0)
    sideways = task.reward_terms(
        *location_motion(task, torch.tensor([4.0]), torch.tensor([1.0]), torch.zeros(1), math.pi / 2 + 0.01), DT
    )
    assert sideways["vel"].item() == 0.0


def test_location_within_threshold_vel_and_face_are_full():
    task = location(n=2, dist_threshold=0.5)
    # 0.45 m away (inside), walking away and facing away: still full velocity and facing terms
    terms = task.reward_terms(
        *location_motion(task, torch.tensor([0.45, 0.55]), torch.ones(2), torch.full((2,), math.pi), math.pi), DT
    )
    torch.testing.assert_close(terms["vel"], torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(terms["face"], torch.tensor([1.0, 0.0]))


def test_location_success_within_threshold():
    task = location(n=4, dist_threshold=0.5)
    task.tar_xy = torch.tensor([[0.3, 0.0], [0.0, -0.49], [0.6, 0.0], [0.4, 0.4]])
    pos = torch.zeros(4, 3)
    ok = task.success(pos, yaw_quat(torch.zeros(4)))
    assert ok.dtype == torch.bool
    assert ok.tolist() == [True, True, False, False]  # |(0.4, 0.4)| = 0.566 > 0.5
    assert not steering(n=4).success(pos, yaw_quat(torch.zeros(4))).any()


def test_location_targets_drawn_around_root_within_distance_range():
    task = location(n=256, dist_min=2.0, dist_max=6.0)
    pos, quat = random_roots(256, 3)
    task.reset(torch.arange(256), pos, quat)
    dist = (task.tar_xy - pos[:, :2]).norm(dim=-1)
    assert dist.min() >= 2.0 - 1e-5 and dist.max() <= 6.0 + 1e-5
    assert task.time_left.min() >= 5.0 and task.time_left.max() <= 10.0


def test_rewards_lie_in_unit_interval_for_random_states():
    pos, quat = random_roots(128, 4)
    prev = pos + torch.randn(128, 3, generator=torch.Generator().manual_seed(5)) * 0.1
    for task in (steering(n=128), location(n=128), steering(n=128, rand_face_dir=True)):
        task.reset(torch.arange(128), pos, quat)
        r = task.reward(prev, pos, quat, DT)
        assert r.shape == (128,)
        assert r.min() >= 0.0 and r.max() <= 1.0


# -- observations ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["steering", "location"])
def test_obs_rotate_with_the_character(name):
    n = 8
    task = CONFIGS[name]().build(n, "cpu", torch.float32, 3)
    pos, _ = random_roots(n, 6)
    task.reset(torch.arange(n), pos, yaw_quat(torch.zeros(n)))
    base = task.observe(pos, yaw_quat(torch.zeros(n)))
    assert base.shape == (n, task.obs_dim)
    for psi in [0.4, -1.3, 2.9]:
        obs = task.observe(pos, yaw_quat(torch.full((n,), psi)))
        if name == "steering":
            torch.testing.assert_close(obs[:, :2], rotate_xy(base[:, :2], -psi), atol=1e-5, rtol=0)
            torch.testing.assert_close(obs[:, 2], base[:, 2])
            torch.testing.assert_close(obs[:, 3:], rotate_xy(base[:, 3:], -psi), atol=1e-5, rtol=0)
        else:
            torch.testing.assert_close(obs, rotate_xy(base, -psi), atol=1e-5, rtol=0)


def test_obs_at_zero_heading_are_world_targets():
    task = steering(n=2)
    set_steering(task, 0.5, 1.25, face_angle=-1.0)
    obs = task.observe(torch.zeros(2, 3), yaw_quat(torch.zeros(2)))
    expected = torch.tensor([math.cos(0.5), math.sin(0.5), 1.25, math.cos(-1.0), math.sin(-1.0)])
    torch.testing.assert_close(obs, expected.repeat(2, 1))
    loc = location(n=1)
    loc.tar_xy = torch.tensor([[3.0, 4.0]])
    obs = loc.observe(torch.tensor([[1.0, 1.0, 0.9]]), yaw_quat(torch.tensor([math.pi / 2])))
    torch.testing.assert_close(obs, torch.tensor([[3.0, -2.0]]), atol=1e-5, rtol=0)  # (2, 3) seen facing +y


# -- timers, resets, state ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["steering", "location"])
def test_advance_resamples_only_expired_envs(name):
    n = 6
    task = CONFIGS[name]().build(n, "cpu", torch.float32, 11)
    pos, quat = random_roots(n, 7)
    task.reset(torch.arange(n), pos, quat)
    task.time_left = torch.tensor([0.01, 3.0, 0.02, 3.0, 0.0, 3.0])
    before = {k: v.clone() for k, v in task.state_dict().items() if k not in ("generator", "time_left")}
    task.advance(0.1, pos, quat)
    expired = torch.tensor([True, False, True, False, True, False])
    for key, old in before.items():
        changed = (getattr(task, key) != old).reshape(n, -1).any(-1)
        assert changed.tolist() == expired.tolist(), key
    lo, hi = task.change_time
    assert torch.all((task.time_left[expired] >= lo) & (task.time_left[expired] <= hi))
    torch.testing.assert_close(task.time_left[~expired], torch.full((3,), 2.9))


def test_advance_counts_down_and_resamples_after_change_time():
    task = steering(n=2, change_time_min=0.2, change_time_max=0.2)
    pos, quat = random_roots(2, 8)
    task.reset(torch.arange(2), pos, quat)
    first = task.tar_dir.clone()
    task.advance(0.15, pos, quat)
    torch.testing.assert_close(task.tar_dir, first)
    task.advance(0.15, pos, quat)
    assert (task.tar_dir != first).any(-1).all()
    torch.testing.assert_close(task.time_left, torch.full((2,), 0.2))


@pytest.mark.parametrize("name", ["steering", "location"])
def test_reset_only_touches_given_ids(name):
    n = 6
    task = CONFIGS[name]().build(n, "cpu", torch.float32, 5)
    pos, quat = random_roots(n, 9)
    task.reset(torch.arange(n), pos, quat)
    before = task.state_dict()
    ids = torch.tensor([1, 4])
    task.reset(ids, pos[ids], quat[ids])
    after = task.state_dict()
    untouched = torch.tensor([0, 2, 3, 5])
    for key in before:
        if key == "generator":
            continue
        assert torch.equal(after[key][untouched], before[key][untouched]), key
    assert not torch.equal(after["time_left"][ids], before["time_left"][ids])


def test_location_reset_draws_around_the_given_roots():
    task = location(n=4, dist_min=1.0, dist_max=1.0)
    ids = torch.tensor([0, 3])
    roots = torch.tensor([[10.0, 0.0, 1.0], [-5.0, 5.0, 1.0]])
    task.reset(ids, roots, yaw_quat(torch.zeros(2)))
    torch.testing.assert_close((task.tar_xy[ids] - roots[:, :2]).norm(dim=-1), torch.ones(2))
    assert torch.equal(task.tar_xy[torch.tensor([1, 2])], torch.zeros(2, 2))


def run_rollout(task, steps: int = 40) -> list[torch.Tensor]:
    """Resets, advances and observations of a short scripted rollout, for determinism checks."""
    n = task.num_envs
    out = []
    pos, quat = random_roots(n, 10)
    for t in range(steps):
        pos = pos + 0.05
        if t % 7 == 0:
            ids = torch.arange(t % 3, n, 3)
            task.reset(ids, pos[ids], quat[ids])
        task.advance(0.25, pos, quat)
        out.append(task.observe(pos, quat).clone())
        out.append(task.time_left.clone())
    return out


@pytest.mark.parametrize("name", ["steering", "location"])
def test_state_dict_round_trip_resumes_identically(name):
    cfg = {"rand_face_dir": True} if name == "steering" else {}
    config = (SteeringConfig if name == "steering" else LocationConfig)(**cfg)
    task = config.build(5, "cpu", torch.float32, 21)
    run_rollout(task, 13)
    state = task.state_dict()
    expected = run_rollout(task)

    other = config.build(5, "cpu", torch.float32, 999)
    other.load_state_dict(state)
    got = run_rollout(other)
    assert all(torch.equal(a, b) for a, b in zip(expected, got))

    # the saved state is a copy: running the first task on did not change it
    third = config.build(5, "cpu", torch.float32, 0)
    third.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(expected, run_rollout(third)))


def test_same_seed_same_draws_different_seed_different_draws():
    a, b, c = steering(n=8, seed=1), steering(n=8, seed=1), steering(n=8, seed=2)
    pos, quat = random_roots(8, 11)
    for task in (a, b, c):
        task.reset(torch.arange(8), pos, quat)
    assert torch.equal(a.tar_dir, b.tar_dir)
    assert not torch.equal(a.tar_dir, c.tar_dir)


def test_load_state_dict_rejects_wrong_shape():
    state = steering(n=3).state_dict()
    with pytest.raises(MimicLitError, match="shape"):
        steering(n=4).load_state_dict(state)


# -- registry and config ----------------------------------------------------------------------


def test_configs_build_their_goals():
    goal = LocationConfig().build(2, "cpu", torch.float64, 0)
    assert isinstance(goal, LocationGoal) and goal.obs_dim == 2
    assert goal.tar_xy.dtype == torch.float64
    assert isinstance(SteeringConfig().build(2, "cpu", torch.float32, 0), SteeringGoal)
    assert SteeringConfig().build(2, "cpu", torch.float32, 0).obs_dim == 5
    dribble = DribbleConfig().build(2, "cpu", torch.float32, 0)
    assert isinstance(dribble, DribbleGoal) and dribble.metric_names == ("goal_ball_dist",)
    assert dribble.scene_objects() == (DribbleConfig().ball,)


def test_goal_defaults_add_nothing_to_an_episode():
    goal = SteeringConfig().build(3, "cpu", torch.float32, 0)
    root, quat = torch.zeros(3, 3), torch.tensor([[1.0, 0, 0, 0]]).repeat(3, 1)
    assert not goal.done(root, quat).any() and goal.metrics(root, quat) == {} and goal.scene_objects() == ()
    assert goal.marker_xy() is None and goal.metric_names == ()
    assert goal.velocity_command() is None and goal.arrows(root, quat) == {}  # nothing for play to draw
    goal.bind(object())  # no simulator objects: nothing to bind


def test_bad_config_raises():
    with pytest.raises(MimicLitError):
        SteeringConfig(speed_min=2.0, speed_max=1.0)
    with pytest.raises(MimicLitError):
        LocationConfig(dist_min=-1.0)

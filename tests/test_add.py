"""ADD pieces: the differential discriminator input, its normaliser, the zero positive."""

from __future__ import annotations

import pytest
import torch

from mimic_lit.envs.task import make_env as build_env
from mimic_lit.envs.add import ADDConfig, ADDEnv
from mimic_lit.methods.add import ADD
from mimic_lit.methods.amp import disc_loss_terms
from mimic_lit.nn.mlp import Discriminator
from mimic_lit.rl.normalizer import MeanAbsNormalizer
from mimic_lit.sim.base import SimConfig
from mimic_lit.rotations import quat_rotate_inverse


def make_env(robot: str, motion: str, n: int = 3, **kw) -> ADDEnv:
    return build_env(SimConfig(robot=robot, num_envs=n, nthread=1), ADDConfig(motion=motion, **kw))


def put_sim_at_reference(env: ADDEnv) -> None:
    """Set every env's simulator state to the reference frame it tracks now."""
    f = env.reference_frame()
    ang_local = quat_rotate_inverse(f.root_quat, f.root_ang_vel)
    qpos = torch.cat([f.root_pos, f.root_quat, f.joint_pos], -1)
    qvel = torch.cat([f.root_lin_vel, ang_local, f.joint_vel], -1)
    env.sim.reset(torch.arange(env.num_envs), qpos, qvel)


def disc_input_now(env: ADDEnv) -> torch.Tensor:
    state, body_pos = env._sim_state()
    frame, local = env.reference.current()
    return env._extras(state, body_pos, frame, local)["disc_obs"]


@pytest.mark.parametrize(
    "robot,motion,global_obs",
    [("g1", "shipped:g1/kimodo_walk", False), ("humanoid", "shipped:humanoid/walk", True)],
)
def test_disc_input_is_zero_when_the_sim_is_at_the_reference_and_not_otherwise(robot, motion, global_obs):
    env = make_env(robot, motion, disc_global_obs=global_obs)
    env.reset()
    for _ in range(4):  # somewhere inside the clip, with motion
        env.step(torch.zeros(env.num_envs, env.action_dim))
    put_sim_at_reference(env)
    diff = disc_input_now(env)
    assert diff.shape == (env.num_envs, env.disc_obs_dim)
    assert diff.abs().max() < 2e-4, diff.abs().max()
    # the simulator one step further along (physics moved it): a clearly non-zero difference
    res = env.step(torch.zeros(env.num_envs, env.action_dim))
    assert res.extras["disc_obs"].shape == (env.num_envs, env.disc_obs_dim)
    env.sim.reset(torch.arange(env.num_envs), env.sim.qpos + 0.05, env.sim.qvel)
    assert disc_input_now(env).abs().max() > 1e-2


def test_add_env_reward_is_zero_and_tracking_errors_are_reported():
    env = make_env("g1", "shipped:g1/kimodo_walk", n=2)
    env.reset()
    res = env.step(torch.zeros(2, env.action_dim))
    assert torch.equal(res.reward, torch.zeros(2))
    assert "body_pos_err" in res.info and env.tracks_reference


def test_mean_abs_normalizer_scales_without_centring():
    norm = MeanAbsNormalizer(3)
    x = torch.tensor([[1.0, -2.0, 0.0], [3.0, 2.0, 0.0]])
    norm.update(x)
    assert torch.allclose(norm.std, torch.tensor([2.0, 2.0, 1e-4]))
    assert torch.equal(norm.normalize(torch.zeros(1, 3)), torch.zeros(1, 3))  # zero stays zero
    assert torch.allclose(norm.normalize(torch.tensor([[4.0, -1.0, 0.0]])), torch.tensor([[2.0, -0.5, 0.0]]))
    restored = MeanAbsNormalizer(3)
    restored.load_state_dict(norm.state_dict())
    assert torch.equal(restored.normalize(x), norm.normalize(x))


def test_add_positive_is_the_zero_vector_and_its_penalty_is_taken_there():
    module = ADD()
    module.build_disc(5)
    assert isinstance(module.disc_normalizer, MeanAbsNormalizer)
    pos = module._positives(7, torch.device("cpu"))
    assert pos.shape == (1, 5) and torch.equal(pos, torch.zeros(1, 5))
    torch.manual_seed(0)
    disc = Discriminator(5, [8])
    negatives = torch.randn(6, 5)
    terms = disc_loss_terms(disc, pos, negatives)
    zero = torch.zeros(1, 5, requires_grad=True)
    (grad,) = torch.autograd.grad(disc(zero).sum(), zero)
    assert torch.allclose(terms["grad_penalty_demo"], grad.square().sum())
    assert module.disc_grad_penalty == 2.0 and module.task_reward_weight == 0.0 and module.disc_reward_weight == 1.0


def test_adversarial_methods_refuse_an_env_of_the_other_kind():
    """ADD on AMP's state windows (or AMP on ADD's differences, or either without a discriminator
    observation) would train on the wrong input: one-line error when the env is connected."""
    import pytest

    from mimic_lit.envs.spec import DiscObsSpec, EnvSpec, ObsBlock, RolloutSpec
    from mimic_lit.errors import MimicLitError
    from mimic_lit.methods import ADD, AMP

    def spec(disc):
        return RolloutSpec(EnvSpec(4, 3, 2, 0.03, (ObsBlock("character", 0, 3),), disc_obs=disc))

    cases = [(ADD(), DiscObsSpec(5, "state")), (AMP(), DiscObsSpec(5, "difference")), (AMP(), None)]
    for method, disc in cases:
        with pytest.raises(MimicLitError, match="discriminator observations are") as err:
            method.connect(spec(disc))
        assert "\n" not in str(err.value) and "task.class_path" in str(err.value)
        assert method.actor is None  # nothing was built for the wrong env


def test_deepmimic_refuses_an_env_without_the_tracking_reward():
    """On an AMP or ADD env the env reward is only a goal's: DeepMimic would learn no motion."""
    import pytest

    from mimic_lit.envs.spec import DiscObsSpec, EnvSpec, ObsBlock, RolloutSpec
    from mimic_lit.errors import MimicLitError
    from mimic_lit.methods import DeepMimic

    def spec(tracks: bool, disc):
        return RolloutSpec(EnvSpec(4, 3, 2, 0.03, (ObsBlock("character", 0, 3),), disc_obs=disc, tracks_reference=tracks))

    for tracks, disc in ((False, DiscObsSpec(5, "state")), (True, DiscObsSpec(5, "difference"))):
        with pytest.raises(MimicLitError, match="DeepMimic needs the tracking env"):
            DeepMimic().connect(spec(tracks, disc))
    model = DeepMimic()
    model.connect(spec(True, None))
    assert model.actor is not None

"""init_from: a run starts from another run's networks, with appended observation inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mimic_lit.errors import MimicLitError
from mimic_lit.methods import AMP, DeepMimic
from mimic_lit.methods.warm_start import warm_start


def _trained(obs_dim: int, module_cls=DeepMimic, **kw) -> torch.nn.Module:
    torch.manual_seed(0)
    m = module_cls(**kw)
    m.build(obs_dim, 4)
    for p in m.parameters():
        p.data.normal_()  # not the initial weights: the copy must be visible
    m.obs_normalizer.update(torch.randn(500, obs_dim) * 3 + 1)
    return m


def test_policy_with_appended_goal_inputs_starts_as_the_checkpoint(tmp_path: Path):
    old = _trained(10)
    ckpt = tmp_path / "old.ckpt"
    torch.save({"state_dict": old.state_dict()}, ckpt)
    new = DeepMimic()
    new.build(13, 4)  # the same character observation plus a 3-number goal
    report = warm_start(new, ckpt)
    assert report["actor.trunk.0.weight"] == "widened" and report["critic.net.0.weight"] == "widened"
    assert report["actor.mean.weight"] == "copied" and report["obs_normalizer.sum"] == "widened"
    obs = torch.randn(64, 13) * 3 + 1
    assert torch.allclose(new.act(obs), old.act(obs[:, :10]), atol=1e-6)  # the goal has no effect yet
    assert torch.allclose(new.critic(new.obs_normalizer.normalize(obs)), old.critic(old.obs_normalizer.normalize(obs[:, :10])), atol=1e-5)
    assert torch.equal(new.obs_normalizer.std[10:], torch.ones(3)) and torch.equal(new.obs_normalizer.mean[10:], torch.zeros(3))
    new.obs_normalizer.update(torch.randn(10, 13))  # the widened statistics stay consistent
    assert torch.isfinite(new.obs_normalizer.std).all() and (new.obs_normalizer.std[10:] > 0.5).all()


def test_discriminator_is_copied_and_replay_is_not(tmp_path: Path):
    old = _trained(10, AMP)
    old.build_disc(6)
    old.replay.push(torch.randn(50, 6), torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in old.disc.parameters():
            p.normal_()
    ckpt = tmp_path / "amp.ckpt"
    torch.save({"state_dict": old.state_dict()}, ckpt)
    new = AMP()
    new.build(12, 4)
    new.build_disc(6)
    report = warm_start(new, ckpt)
    x = torch.randn(8, 6)
    assert torch.allclose(new.disc(x), old.disc(x))
    assert all(how == "skipped" for key, how in report.items() if key.startswith("replay."))
    assert len(new.replay) == 0


def test_incompatible_checkpoints_fail_clearly(tmp_path: Path):
    old = _trained(10)
    ckpt = tmp_path / "old.ckpt"
    torch.save({"state_dict": old.state_dict()}, ckpt)
    other = DeepMimic()
    other.build(10, 5)  # another robot: a different action size
    with pytest.raises(MimicLitError, match="actor.mean.weight"):
        warm_start(other, ckpt)
    with pytest.raises(MimicLitError, match="does not exist"):
        warm_start(other, tmp_path / "missing.ckpt")

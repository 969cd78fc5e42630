"""``mimic-lit export`` and ``mimic-lit sim2sim``: a checkpoint from a real quick-recipe run is exported
to ONNX and TorchScript, checked against the torch policy, and run in plain MuJoCo."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from mimic_lit.cli import main
from mimic_lit.commands.train import MimicLitCLI
from mimic_lit.errors import MimicLitError
from mimic_lit.export import export_checkpoint, read_metadata, run_exported
from mimic_lit.export.sim2sim import Sim2Sim
from mimic_lit.checkpoint import load_policy
from mimic_lit.play import record_episode
from mimic_lit.robots import get_robot

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "deepmimic_g1_walk.yaml"  # trained, loaded and exported with --quick


def _fit(recipe: Path, workdir: Path, epochs: int) -> None:
    old, argv = os.getcwd(), sys.argv
    os.chdir(workdir)
    sys.argv = ["mimic-lit"]
    try:
        MimicLitCLI(args=["fit", "--config", str(recipe), "--quick", "--trainer.max_epochs", str(epochs),
                          "--trainer.enable_progress_bar", "false"])
    finally:
        os.chdir(old)
        sys.argv = argv


@pytest.fixture(scope="module")
def walk_ckpt(tmp_path_factory) -> Path:
    """A quick DeepMimic G1 walk checkpoint after 3 iterations: a non-trivial normaliser and actor."""
    work = tmp_path_factory.mktemp("export_run")
    _fit(RECIPE, work, 3)
    ckpt = work / "runs" / "quick_deepmimic_g1_walk" / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    return ckpt


@pytest.fixture(scope="module")
def walk_onnx(walk_ckpt: Path) -> Path:
    """That checkpoint exported by ``mimic-lit export`` (which checks it on 1,000 observations itself)."""
    out = walk_ckpt.parent / "walk.onnx"
    assert main(["export", "--config", str(RECIPE), "--quick", "--ckpt_path", str(walk_ckpt), "--out", str(out)]) == 0
    return out


def test_onnx_export_matches_the_torch_policy_on_1000_observations(walk_ckpt: Path, walk_onnx: Path):
    out = walk_onnx
    model, dm = load_policy(RECIPE, walk_ckpt, {"sim.num_envs": 1}, quick=True)
    assert float(model.obs_normalizer.count) > 0  # the normaliser is trained, so it matters that it is inside
    gen = torch.Generator().manual_seed(1)
    norm = model.obs_normalizer
    obs = norm.mean + 3.0 * norm.std * torch.randn(1000, norm.dim, generator=gen)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    actions, targets = session.run(["actions", "joint_targets"], {"obs": obs.numpy().astype(np.float32)})
    expected = model.act(obs)
    assert np.abs(actions - expected.numpy()).max() <= 1e-5
    env = dm.build_env(1, 0, rand_reset=False)
    np.testing.assert_allclose(targets, env.action_mapping.to_targets(expected).numpy(), atol=1e-5)
    # the exported model is not just the actor: without the normaliser the actions differ
    raw = model.actor(obs).mode()
    assert np.abs(actions - raw.detach().numpy()).max() > 1e-3


def test_export_metadata_describes_robot_gains_rate_and_observation_layout(walk_ckpt: Path, tmp_path: Path):
    result = export_checkpoint(RECIPE, walk_ckpt, "torchscript", tmp_path / "walk.pt", check_samples=200, quick=True)
    assert result.max_abs_diff <= 1e-5 and result.checked == 200
    meta = read_metadata(result.path)
    assert meta == json.loads(json.dumps(result.metadata))
    g1 = get_robot("g1")
    assert meta["robot"] == "g1" and meta["method"] == "DeepMimic"
    assert meta["joint_names"] == list(g1.joint_names)
    np.testing.assert_allclose(meta["kp"], g1.kp)
    np.testing.assert_allclose(meta["kd"], g1.kd)
    assert meta["control_dt"] == pytest.approx(g1.control_dt) and meta["sim_dt"] == pytest.approx(g1.sim_dt)
    blocks = meta["obs_blocks"]
    assert blocks[0][1] == 0 and blocks[-1][2] == meta["obs_dim"] == 849
    assert all(a[2] == b[1] for a, b in zip(blocks, blocks[1:]))  # contiguous, in order
    names = [b[0] for b in blocks]
    assert names[:3] == ["root_height", "root_rot", "root_lin_vel"] and "target3/key_pos" in names
    assert meta["recipe"]["model"]["class_path"].endswith("DeepMimic")
    # TorchScript gives the same actions as the torch policy, through run_exported
    model, _ = load_policy(RECIPE, walk_ckpt, {"sim.num_envs": 1}, quick=True)
    obs = torch.randn(50, meta["obs_dim"], generator=torch.Generator().manual_seed(2))
    assert (run_exported(result.path, obs) - model.act(obs)).abs().max() <= 1e-5


def test_sim2sim_reproduces_the_in_framework_episode(walk_ckpt: Path, walk_onnx: Path, tmp_path: Path):
    onnx_path = walk_onnx
    runner = Sim2Sim(onnx_path)
    ep = runner.run_episode(0, 0.0, max_seconds=1.0)
    model, dm = load_policy(RECIPE, walk_ckpt, {"sim.num_envs": 1}, quick=True)
    rec = record_episode(model, dm.build_env(1, 0, rand_reset=False), max_seconds=1.0)
    assert ep.errors["body_pos_err"].size >= 5
    # same episode: the same number of steps, and the errors step by step within 10 %
    n = min(ep.errors["body_pos_err"].size, rec.errors["body_pos_err"].size)
    assert abs(ep.errors["body_pos_err"].size - rec.errors["body_pos_err"].size) <= 1
    for key in ("body_pos_err", "root_pos_err"):
        sim2sim, framework = ep.errors[key][:n].mean(), rec.errors[key][:n].mean()
        assert abs(sim2sim - framework) <= 0.1 * framework, (key, sim2sim, framework)
    # the command prints the same numbers and writes its JSON report
    report = tmp_path / "s2s.json"
    assert main(["sim2sim", "--policy", str(onnx_path), "--seconds", "1.0", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["summary"]["body_pos_err"] == pytest.approx(ep.errors["body_pos_err"].mean(), rel=1e-6)


def test_sim2sim_and_export_refuse_what_they_cannot_do(walk_ckpt: Path, walk_onnx: Path, tmp_path: Path, capsys):
    onnx_path = walk_onnx
    assert main(["sim2sim", "--policy", str(onnx_path), "--robot", "k1"]) != 0
    assert "is a policy for 'g1', not 'k1'" in capsys.readouterr().err
    assert main(["export", "--config", str(RECIPE), "--quick", "--ckpt_path", str(walk_ckpt), "--out", str(onnx_path)]) != 0
    assert "pass --overwrite" in capsys.readouterr().err
    with pytest.raises(MimicLitError, match="unknown export format"):
        export_checkpoint(RECIPE, walk_ckpt, "tflite", tmp_path / "x", quick=True)
    plain = tmp_path / "plain.onnx"
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "plain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph), str(plain))
    with pytest.raises(MimicLitError, match="no mimic-lit metadata"):
        read_metadata(plain)
    meta = read_metadata(onnx_path)
    meta["task"]["tracks_reference"], meta["method"] = False, "AMP"
    proto = onnx.load(str(onnx_path))
    proto.metadata_props[0].value = json.dumps(meta)
    amp = tmp_path / "amp.onnx"
    onnx.save(proto, str(amp))
    with pytest.raises(MimicLitError, match="tracking policies"):
        Sim2Sim(amp)


def test_predict_returns_the_evaluation_episodes(walk_ckpt: Path):
    """``Trainer.predict`` (``mimic-lit predict``) plays the deterministic evaluation episodes."""
    from lightning import Trainer

    model, dm = load_policy(RECIPE, walk_ckpt, {"sim.num_envs": 3, "eval_episodes": 3, "val_rand_reset": False}, quick=True)
    trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    (episodes,) = trainer.predict(model, datamodule=dm)
    assert episodes["length_s"].shape == (3,) and bool((episodes["length_s"] > 0).all())
    assert set(episodes) >= {"length_s", "fell", "return", "steps", "body_pos_err_sum"}
    # every episode starts at the clip's first frame with the deterministic policy: all identical
    assert torch.allclose(episodes["length_s"], episodes["length_s"][0].expand(3))


def test_onnx_export_writes_one_self_contained_file(walk_onnx: Path):
    """No ``.onnx.data`` sidecar and no temporary file beside the export; the weights are inline."""
    import onnx

    assert not Path(f"{walk_onnx}.data").exists()
    assert not [p.name for p in walk_onnx.parent.iterdir() if p.name.startswith(".")]
    proto = onnx.load(str(walk_onnx), load_external_data=False)
    assert proto.graph.initializer and all(t.data_location == onnx.TensorProto.DEFAULT for t in proto.graph.initializer)
    assert oct(walk_onnx.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

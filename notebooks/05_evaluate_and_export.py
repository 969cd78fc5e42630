# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Evaluate a policy and export it to the robot
#
# A checkpoint is only useful on a robot once it runs *outside* the training framework. This
# notebook:
#
# 1. evaluates a checkpoint in mimic-lit (`Trainer.validate`: deterministic episodes, tracking
#    errors, falls);
# 2. exports it with `mimic-lit export` to one ONNX file that holds the observation normaliser,
#    the policy and the map to PD joint targets, with the robot, joint order, gains, control rate
#    and observation layout embedded as metadata;
# 3. checks that the file computes the same actions as the torch policy;
# 4. runs the file with onnxruntime in plain MuJoCo (`mimic-lit sim2sim`), as a robot-side
#    program would, and compares its tracking error with step 1.
#
# It uses the checkpoint of notebook 2 when there is one, and otherwise trains a tiny one.

# %%
import json
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from mimic_lit.cli import main

TINY = os.environ.get("MIMIC_LIT_TINY") == "1"
REPO = Path(os.environ.get("MIMIC_LIT_REPO", Path.cwd().parent))
RECIPE = REPO / "recipes" / "deepmimic_g1_walk.yaml"  # notebook 2's objects, as a recipe
CKPT = Path("runs/notebooks/deepmimic_g1_walk/checkpoints/last.ckpt")
OUT = Path("runs/notebooks/export")
OUT.mkdir(parents=True, exist_ok=True)
warnings.filterwarnings("ignore", message='install "ipywidgets"')

if not CKPT.is_file():  # notebook 2 was not run here: 3 tiny iterations of the same recipe
    assert main(["fit", "--config", str(RECIPE), "--trainer.max_epochs", "3", "--trainer.logger", "false",
                 "--trainer.enable_progress_bar", "false", "--data.init_args.sim.num_envs", "16",
                 "--data.init_args.horizon", "8", "--data.init_args.val_episodes", "0",
                 "--trainer.default_root_dir", str(CKPT.parent.parent)]) == 0
print("checkpoint:", CKPT)

# %% [markdown]
# ## 1. Evaluate in the framework
#
# `load_policy` rebuilds method and data module from the recipe and loads the checkpoint.
# Validation plays deterministic episodes (the action mean); here every episode starts at the
# clip's first frame (`val_rand_reset=False`), so it is the same episode that sim2sim plays below.

# %%
from lightning import Trainer

from mimic_lit.checkpoint import load_policy

model, data = load_policy(RECIPE, CKPT, {"sim.num_envs": 1, "eval_episodes": 1, "val_rand_reset": False})
trainer = Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
framework = trainer.validate(model, datamodule=data, verbose=False)[0]
for key in ("val/episode_length_s", "val/fall_rate", "val/body_pos_err", "val/joint_err", "val/root_pos_err"):
    print(f"{key:22s} {framework[key]:.4f}")

# %% [markdown]
# ## 2. Export
#
# `--format torchscript` writes a TorchScript file instead (for libtorch C++). The command checks
# the file against the torch policy on 1,000 observations and fails above `--tolerance` (1e-5).

# %%
policy_path = OUT / "g1_walk.onnx"
assert main(["export", "--config", str(RECIPE), "--ckpt_path", str(CKPT), "--out", str(policy_path),
             "--overwrite"]) == 0

from mimic_lit.export import read_metadata

meta = read_metadata(policy_path)
print("robot:", meta["robot"], "| control period:", meta["control_dt"], "s | physics step:", meta["sim_dt"], "s")
print("joints (first 6):", meta["joint_names"][:6])
print("kp (first 6):", meta["kp"][:6])
print("observation blocks:")
for name, start, stop in meta["obs_blocks"][:9]:
    print(f"  {start:4d}:{stop:<4d} {name}")
print(f"  ... {len(meta['obs_blocks'])} blocks, {meta['obs_dim']} values")

# %% [markdown]
# ## 3. Same actions as the torch policy
#
# onnxruntime on 1,000 observations spread around the normaliser's mean, against `model.act`.

# %%
import onnxruntime as ort

session = ort.InferenceSession(str(policy_path), providers=["CPUExecutionProvider"])
norm = model.obs_normalizer
obs = norm.mean + 2.0 * norm.std * torch.randn(1000, norm.dim, generator=torch.Generator().manual_seed(0))
onnx_actions, joint_targets = session.run(None, {"obs": obs.numpy().astype(np.float32)})
diff = np.abs(onnx_actions - model.act(obs).numpy())
print(f"max |onnx - torch| = {diff.max():.2e} over {diff.size} action values")
assert diff.max() <= 1e-5

# %% [markdown]
# ## 4. Sim2sim: the file alone, in plain MuJoCo
#
# `Sim2Sim` reads the metadata, builds the robot from its MJCF with the metadata's PD gains, and
# steps one `MjData` at the policy's rate, computing the observation from the MuJoCo state and
# the reference clip. No Lightning, no training code. On the robot, the same loop reads the state
# estimator instead of `MjData`.

# %%
from mimic_lit.export.sim2sim import Sim2Sim

runner = Sim2Sim(policy_path)
sim2sim = runner.evaluate(episodes=1).summary()
keys = ("body_pos_err", "joint_err", "root_pos_err")
for key in keys:
    a, b = framework[f"val/{key}"], sim2sim[key]
    print(f"{key:14s} framework {a:.4f}  sim2sim {b:.4f}  ({100 * (b - a) / a:+.1f} %)")
    assert abs(b - a) <= 0.1 * a, f"sim2sim {key} is more than 10 % from validation"

fig, ax = plt.subplots(figsize=(7, 3))
x = np.arange(len(keys))
ax.bar(x - 0.2, [framework[f"val/{k}"] for k in keys], 0.4, label="mimic-lit validate")
ax.bar(x + 0.2, [sim2sim[k] for k in keys], 0.4, label="sim2sim (ONNX, plain MuJoCo)")
ax.set_xticks(x, ["body position (m)", "joint (rad)", "root position (m)"])
ax.set_title("tracking errors of the same checkpoint")
ax.legend()
plt.show()

# %% [markdown]
# The command-line version is `mimic-lit sim2sim --policy g1_walk.onnx --episodes 16 --random-start`.
# On the robot, the loop is:
#
# ```python
# session = onnxruntime.InferenceSession("g1_walk.onnx")
# meta = json.loads(session.get_modelmeta().custom_metadata_map["mimic_lit"])
# while running:                                   # every meta["control_dt"] seconds
#     obs = build_observation(state_estimate, reference, meta["obs_blocks"])
#     _, q_target = session.run(None, {"obs": obs[None]})
#     send_pd_targets(q_target[0], kp=meta["kp"], kd=meta["kd"])
# ```

# %%
print(json.dumps({k: meta[k] for k in ("method", "robot", "obs_dim", "action_dim", "control_dt")}, indent=1))
print(json.loads(session.get_modelmeta().custom_metadata_map["mimic_lit"])["robot"])

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
# # 2. A first DeepMimic policy on a CPU
#
# DeepMimic trains a policy to make a physically simulated robot track a reference clip. In
# mimic-lit the method is a Lightning `LightningModule` (policy, critic, PPO update) and its data
# comes from a `LightningDataModule` whose dataloader *collects rollouts* from N simulated robots.
# A plain Lightning `Trainer` runs the loop: one epoch is one RL iteration (collect N x T samples,
# then a few PPO passes over them).
#
# This notebook builds the three objects in Python, trains a G1 to track a walking clip for a few
# minutes on the CPU, plots the learning curves and plays the policy. The same run from the
# command line is `mimic-lit fit --config recipes/deepmimic_g1_walk.yaml` (the recipe holds
# exactly these objects as YAML). With `MIMIC_LIT_TINY=1` it trains for 3 tiny iterations only.

# %%
import csv
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

TINY = os.environ.get("MIMIC_LIT_TINY") == "1"
MINUTES = 0.0 if TINY else 6.0  # wall-clock training budget
RUN_DIR = Path("runs/notebooks/deepmimic_g1_walk")

# %% [markdown]
# ## The simulator and the task
#
# `SimConfig` chooses the robot and how many copies are simulated at once (MuJoCo on all CPU
# cores); `TrackingConfig` is the DeepMimic task: which clip to track, the five reward terms,
# early termination when a body other than the feet touches the ground, and reference state
# initialisation at random clip times. Defaults follow MimicKit.

# %%
from mimic_lit.datamodule import ImitationDataModule
from mimic_lit.envs.tracking import TrackingConfig
from mimic_lit.sim.base import SimConfig

sim = SimConfig(robot="g1", num_envs=16 if TINY else 256, nthread=os.cpu_count())
task = TrackingConfig(motion="shipped:g1/kimodo_walk", episode_length=10.0, zero_center_action=True)
data = ImitationDataModule(
    sim=sim,
    task=task,
    horizon=8 if TINY else 32,  # steps per env per iteration
    update_epochs=2 if TINY else 3,
    num_minibatches=2 if TINY else 4,
    val_episodes=4 if TINY else 16,
)
print(f"{sim.num_envs} envs x {data.horizon} steps = {sim.num_envs * data.horizon} samples per iteration")

# %% [markdown]
# ## The method
#
# `DeepMimic` holds the actor (a Gaussian policy with a fixed std), the critic and the observation
# normaliser, and implements PPO's update in `training_step`.

# %%
from mimic_lit.methods import DeepMimic
from mimic_lit.methods.base import NetworkConfig, OptimizerConfig

model = DeepMimic(
    algorithm="ppo",
    actor=NetworkConfig(hidden=[256, 256]),
    critic=NetworkConfig(hidden=[256, 256]),
    actor_optim=OptimizerConfig(name="adam", lr=2e-4),
    critic_optim=OptimizerConfig(name="adam", lr=1e-3),
)

# %% [markdown]
# ## Train
#
# Logging and the time budget are Lightning's; `RunCheckpoint` writes the run's
# `checkpoints/last.ckpt` after every iteration (and on Ctrl-C), under `default_root_dir`. A CSV
# logger keeps the curves readable here; the recipes log to TensorBoard (`tensorboard --logdir runs`).

# %%
from lightning import Trainer, seed_everything
from lightning.pytorch.loggers import CSVLogger

from mimic_lit.callbacks import RunCheckpoint

seed_everything(0)
trainer = Trainer(
    accelerator="cpu",
    max_epochs=3 if TINY else 100_000,
    max_time={"minutes": MINUTES} if MINUTES else None,
    check_val_every_n_epoch=1 if TINY else 20,
    num_sanity_val_steps=0,
    log_every_n_steps=1,
    default_root_dir=RUN_DIR,
    logger=CSVLogger(RUN_DIR, version=0),  # RUN_DIR/lightning_logs/version_0/metrics.csv
    callbacks=[RunCheckpoint()],  # RUN_DIR/checkpoints/last.ckpt
    enable_progress_bar=False,
    enable_model_summary=False,
)
trainer.fit(model, datamodule=data)
print("iterations:", trainer.current_epoch, " checkpoint:", RUN_DIR / "checkpoints" / "last.ckpt")

# %% [markdown]
# ## Learning curves
#
# Early on every episode ends in a fall within a second; as the policy learns to balance,
# episodes lengthen and the tracking error (mean distance of the bodies to the reference's,
# relative to the root) drops.

# %%
rows = list(csv.DictReader(open(RUN_DIR / "lightning_logs" / "version_0" / "metrics.csv")))


samples_at = {r["epoch"]: float(r["samples"]) for r in rows if r.get("samples")}  # iteration -> samples so far


def series(key: str) -> tuple[np.ndarray, np.ndarray]:
    """(samples in millions, values) of one logged key; validation rows are matched by iteration."""
    pts = [(samples_at[r["epoch"]], float(r[key])) for r in rows if r.get(key) and r["epoch"] in samples_at]
    assert pts, f"nothing logged under {key}"
    return np.array([p[0] for p in pts]) / 1e6, np.array([p[1] for p in pts])


fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for ax, key, title in zip(
    axes,
    ("episode/length_s", "rollout/reward", "val/body_pos_err"),
    ("episode length (s), training", "reward per step, training", "body position error (m), validation"),
):
    x, y = series(key)
    ax.plot(x, y, "o-" if len(x) < 20 else "-")
    ax.set(title=title, xlabel="samples (millions)")
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Play it
#
# `load_policy` rebuilds the method and data module from a recipe (or from the `config.yaml`
# that `mimic-lit fit` saves) and loads a checkpoint; `record_episode` plays one episode with the
# deterministic policy from the clip's first frame. Top row: the simulated robot; bottom row: the
# reference it tracks, at the same instants. `mimic-lit play` renders the same as a video.

# %%
import torch

from mimic_lit.play import record_episode
from mimic_lit.render import qpos_filmstrip

model.eval()
env = data.build_env(1, 0, rand_reset=False)
with torch.no_grad():
    episode = record_episode(model, env, max_seconds=5.0)
print(episode.summary())
picks = np.linspace(0, len(episode.sim_qpos) - 1, 5).astype(int)
panel = (160, 200) if TINY else (240, 300)
strip = qpos_filmstrip("g1", episode.sim_qpos[picks], *panel, rows=[episode.ref_qpos[picks]])
plt.figure(figsize=(12, 6))
plt.imshow(strip)
plt.axis("off")
plt.title(f"policy (top) and reference (bottom) at {', '.join(f'{episode.times[i]:.1f}' for i in picks)} s")
plt.show()

# %% [markdown]
# A few minutes on a laptop CPU give a policy that has started to balance, not one that walks:
# `docs/benchmarks.md` shows the G1 walk after an hour (about 10 M samples), and notebook 6
# shows how to use more cores and GPUs.

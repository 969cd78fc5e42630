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
# # 3. AMP: style from a motion dataset, plus a task
#
# DeepMimic tracks one clip frame by frame. **AMP** (adversarial motion priors) instead learns a
# *style* from a whole dataset: a discriminator D scores short windows of states, trained to tell
# dataset windows (positives) from the policy's (negatives), and the policy is rewarded
# `r_style = -log(1 - sigmoid(D))`, clipped, for moving like the data. A **task** reward
# (steering, go to a location, dribble a ball to a goal) says *what* to do; the style reward says
# *how*:
#
# $$ r = w_{task}\, r_{task} + w_{style}\, r_{style}. $$
#
# Here a G1 learns to walk in commanded directions (steering) from the 12-clip `g1_locomotion`
# dataset, launched from a recipe exactly as on the command line. With `MIMIC_LIT_TINY=1` it runs
# the recipe with `--quick`: 2 tiny iterations, as CI does.

# %%
import os
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import yaml

TINY = os.environ.get("MIMIC_LIT_TINY") == "1"
REPO = Path(os.environ.get("MIMIC_LIT_REPO", Path.cwd().parent))
RECIPE = REPO / "recipes" / "amp_g1_steering.yaml"
MINUTES = 6

# %% [markdown]
# ## The recipe
#
# A recipe is a LightningCLI config: the `model` (here `mimic_lit.methods.AMP` with its
# discriminator options), the `data` module (`ImitationDataModule`: the simulator, and the task,
# here `mimic_lit.envs.amp.AMPConfig`: motion dataset, discriminator history, goal) and the
# `trainer`. Every field is a typed argument, so `mimic-lit fit --help` lists them all and a typo
# fails before anything runs.

# %%
recipe = yaml.safe_load(RECIPE.read_text())
print(yaml.safe_dump({"model": recipe["model"]["init_args"], "task": recipe["data"]["init_args"]["task"]["init_args"]},
                     sort_keys=False))

# %% [markdown]
# ## Train from the recipe
#
# `mimic_lit.cli.main` is the `mimic-lit` command; any recipe field can be overridden on the
# command line (`--trainer.max_time`, `--data.init_args.sim.num_envs`...).

# %%
from mimic_lit.cli import main

RUN = Path("runs/notebooks", ("quick_" if TINY else "") + Path(recipe["trainer"]["default_root_dir"]).name)  # this notebook's run folder
shutil.rmtree(RUN, ignore_errors=True)  # a new run each time (fit refuses to overwrite a run's checkpoint)
args = ["fit", "--config", str(RECIPE), *(["--quick"] if TINY else []), "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", str(RUN)]
if not TINY:
    args += ["--trainer.max_time", f"00:00:{MINUTES:02d}:00", "--trainer.check_val_every_n_epoch", "1000"]
assert main(args) == 0

# %% [markdown]
# ## What the discriminator says
#
# The style reward starts near its floor (D easily spots the untrained policy) and rises as the
# motion looks more like the data; the steering reward rises as the robot heads where it is told.

# %%
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

events = sorted(RUN.glob("lightning_logs/version_*/events.out.tfevents.*"))[-1]
acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
acc.Reload()
samples = {e.step: e.value for e in acc.Scalars("samples")}
tags = acc.Tags()["scalars"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for ax, tag, title in zip(
    axes,
    ("rollout/disc_reward", "env/goal_reward", "episode/length_s"),
    ("style reward", "steering reward", "episode length (s), ended episodes"),
):
    assert tag in tags or tag.startswith("episode/"), f"nothing logged under {tag}"  # no episode may end in 2 tiny iterations
    pts = [(samples[e.step] / 1e6, e.value) for e in acc.Scalars(tag) if e.step in samples] if tag in tags else []
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-" if len(pts) < 20 else "-")
    ax.set(title=title, xlabel="samples (millions)")
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Dribbling
#
# The same method with the dribble goal (`goal: {class_path: mimic_lit.envs.tasks.DribbleConfig}`,
# which brings its own ball into the simulator) is `recipes/amp_g1_dribble_flat.yaml`. After 2 hours on a 2-core CPU (10 M samples) the G1 has learned to
# stay up and walk to the ball, but not yet to push it to the goal (the green disc); the numbers
# are in [benchmarks](../../benchmarks/):
#
# ![AMP dribble after 2 hours](../../assets/play_g1_dribble.gif)
#
# `mimic-lit play --config recipes/amp_g1_dribble_flat.yaml --ckpt_path <run>/checkpoints/last.ckpt
# --out dribble.gif` makes such a video from any checkpoint. Learning to dribble in one level is slow;
# `recipes/amp_g1_dribble.yaml` and `recipes/amp_k1_dribble.yaml` split it in two: a walk that
# follows velocity commands, and a ball policy that chooses the commands (see the recipes page).

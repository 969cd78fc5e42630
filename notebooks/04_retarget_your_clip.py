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
# # 4. Retarget your own clip to the G1 or K1
#
# Human motion (motion capture, DeepMimic clips, video-based estimates) has to be turned into
# *robot* motion before a robot policy can learn from it. `mimic-lit retarget` does it by inverse
# kinematics (mink on MuJoCo): per frame, the robot's joints are solved so that its pelvis, knees,
# feet, elbows, hands... follow the human's, scaled by the ratio of leg lengths, within joint
# limits and without self-collisions. `mimic-lit clean-motion` then removes what IK leaves:
# sliding stance feet, feet in or above the floor. `mimic-lit check-motion` measures both.
#
# Here: the DeepMimic humanoid's kick (a shipped source file) becomes a Booster K1 clip. For your
# own BVH, the call is `mimic-lit retarget --source bvh --robot g1 --in my.bvh --out my_g1.npz`
# (CMU joint names are mapped out of the box; other skeletons need a small YAML body map,
# see [motion tools](../../motion-tools/)). With `MIMIC_LIT_TINY=1` only the first second is used.

# %%
import os
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from mimic_lit.cli import main
from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.shipped import SOURCE_DIR

TINY = os.environ.get("MIMIC_LIT_TINY") == "1"
OUT = Path("runs/notebooks/retarget")
OUT.mkdir(parents=True, exist_ok=True)
SOURCE = SOURCE_DIR / "deepmimic" / "humanoid3d_kick.txt"
PANEL = (160, 200) if TINY else (220, 280)
warnings.filterwarnings("ignore", message='install "ipywidgets"')  # progress bars print as text here

# %% [markdown]
# ## The human clip
#
# DeepMimic's text format holds, per frame, the humanoid's root and its spherical joints as
# quaternions. `convert` reads it as a clip of the DeepMimic humanoid robot (the one we simulate).

# %%
human_path = OUT / "human_kick.npz"
assert main(["convert", "--in", str(SOURCE), "--out", str(human_path), "--overwrite"]) == 0
human = MotionClip.load(human_path)
if TINY:
    human = human.slice(0, int(human.fps) + 1)
    human.save(human_path)
print(f"{human.name}: {human.num_frames} frames at {human.fps:g} fps ({human.duration:.2f} s)")

# %% [markdown]
# ## Retarget
#
# The output is resampled to `--fps` (interpolated, not relabelled). The summary gives the mean
# distance to the IK targets and the kinematic checks of the result.

# %%
raw_path, clean_path = OUT / "k1_kick_raw.npz", OUT / "k1_kick.npz"
assert main(["retarget", "--source", "deepmimic", "--robot", "k1", "--in", str(human_path),
             "--out", str(raw_path), "--fps", "30", "--overwrite"]) == 0

# %% [markdown]
# ## Clean and check
#
# `clean-motion` locks each stance foot in place (whole-body IK per stance phase), puts the lowest
# foot on the ground and clamps joint limits; it prints a before/after table (`--report` writes
# it as JSON).

# %%
assert main(["clean-motion", "--in", str(raw_path), "--out", str(clean_path), "--overwrite"]) == 0
code = main(["check-motion", "--motion", str(clean_path), "--report-only"])

# %% [markdown]
# ## Compare
#
# Top: the human source; middle: the K1 straight out of IK; bottom: after cleaning. The plot
# shows the feet's lowest points: flat at 0 during stance after cleaning.

# %%
from mimic_lit.motion.checks import check_clip
from mimic_lit.render import filmstrip

raw, clean = MotionClip.load(raw_path), MotionClip.load(clean_path)
times = np.linspace(0.0, min(raw.duration, clean.duration), 5)
strips = [filmstrip(c, times, width=PANEL[0], height=PANEL[1]) for c in (human, raw, clean)]
fig, axes = plt.subplots(3, 1, figsize=(11, 8))
for ax, strip, title in zip(axes, strips, ("DeepMimic humanoid (source)", "K1, retargeted", "K1, cleaned")):
    ax.imshow(strip)
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()

before, after = check_clip(raw), check_clip(clean)
fig, ax = plt.subplots(figsize=(9, 3))
for rep, label in ((before, "retargeted"), (after, "cleaned")):
    feet = rep.traces["foot_height"]  # (frames, 2): lowest point of each foot
    ax.plot(rep.traces["time"], 100 * feet.min(axis=1), label=label)
ax.axhline(0.0, color="k", lw=0.6)
ax.set(xlabel="time (s)", ylabel="lowest foot point (cm)", title="feet against the floor")
ax.legend()
plt.show()
for rep, label in ((before, "retargeted"), (after, "cleaned")):
    print(f"{label:10s} penetration {rep.penetration_mean * 100:.2f} cm, slide {rep.foot_slide_mean * 100:.1f} cm, "
          f"limit violations {rep.joint_limit_violations}, issues: {rep.issues() or 'none'}")

# %% [markdown]
# The cleaned clip is ready for a recipe: set `data.init_args.task.motion` to its path, or list it
# in a dataset YAML (see `mimic_lit/data/motions/datasets/` for the format).

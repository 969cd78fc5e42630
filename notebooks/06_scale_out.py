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
# # 6. Scale out: cores now; processes, GPUs and clusters next
#
# RL for motion imitation is hungry: MimicKit trains a G1 walk on ~100 M samples. Samples come
# from the simulator, so throughput is the first thing to scale. On a CPU, `MujocoCPU` steps N
# robots on MuJoCo's own thread pool (`sim.nthread`) with the GIL released; torch runs the
# networks in batches of N. This notebook measures how the simulator scales with N and threads on
# this machine, then says what is planned for multi-process and GPU training.
#
# With `MIMIC_LIT_TINY=1` it measures fewer, shorter points.

# %%
import os
import time

import matplotlib.pyplot as plt
import torch

TINY = os.environ.get("MIMIC_LIT_TINY") == "1"
ENVS = [16, 64] if TINY else [16, 64, 256, 1024]
THREADS = sorted({1, os.cpu_count() or 1})
STEPS = 10 if TINY else 50
print(f"{os.cpu_count()} CPU cores; torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")

# %% [markdown]
# ## Simulator throughput
#
# Each point builds N G1 environments with PD position control (4 physics steps of 5 ms per
# 20 ms control step) and times control steps with the default standing targets.

# %%
from mimic_lit.sim.base import SimConfig, make_simulator

results = {}
for threads in THREADS:
    for n in ENVS:
        sim = make_simulator(SimConfig(robot="g1", num_envs=n, nthread=threads))
        targets = torch.as_tensor(sim.robot.default_pose[7:], dtype=torch.float32).expand(n, -1).contiguous()
        sim.step(targets)  # warm-up
        start = time.perf_counter()
        for _ in range(STEPS):
            sim.step(targets)
            sim.body_pos  # read the state, as a task does
        results[threads, n] = n * STEPS / (time.perf_counter() - start)
        print(f"threads {threads}, envs {n:5d}: {results[threads, n]:9.0f} env-steps/s")

fig, ax = plt.subplots(figsize=(7, 3.4))
for threads in THREADS:
    ax.plot(ENVS, [results[threads, n] for n in ENVS], "o-", label=f"{threads} thread(s)")
ax.set(xscale="log", xlabel="environments N", ylabel="env-steps / s", title="G1, MujocoCPU on this machine")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# Throughput grows with N until every core is busy; more envs per iteration then only add
# samples per update. The training loop adds the policy's forward pass per step and the PPO
# update per iteration: on a 2-core CPU a G1 DeepMimic run trains on 2,400 to 2,800 samples/s
# ([benchmarks](../benchmarks.md)).
#
# ## What the recipes already expose
#
# - `data.init_args.sim.num_envs`, `data.init_args.sim.nthread`: the simulator size and its threads.
# - `data.init_args.torch_threads`: torch threads of the update.
# - `trainer.*`: everything of Lightning's `Trainer`.
#
# - `configs/trainers/ddp_cpu.yaml`: data-parallel training in 2 CPU processes (gloo), each with
#   its own environments seeded by its rank, the observation normaliser and rollout statistics
#   all-reduced: `mimic-lit fit --config recipes/deepmimic_g1_walk.yaml --config configs/trainers/ddp_cpu.yaml`.
#   CI trains a quick recipe this way.
#
# ## Planned (issue 8), not yet available
#
# These parts are **not built or not tested yet**; this section will show them running once they are:
#
# - **DDP on GPUs and across nodes** (NCCL, `--trainer.devices N --trainer.num_nodes M`).
# - **MuJoCo-Warp GPU backend** (`sim.backend: mujoco_warp`, the `gpu` extra): thousands of
#   robots on one GPU, states shared with torch without host copies.
# - **Isaac Lab backend** (`sim.backend: isaaclab`) for users who have Isaac Sim.
# - **SLURM**: an sbatch template and an Apptainer definition under `recipes/slurm/`.

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
# # 6. Scale out: cores, processes, GPUs and clusters
#
# RL for motion imitation is hungry: MimicKit trains a G1 walk on ~100 M samples. Samples come
# from the simulator, so throughput is the first thing to scale. On a CPU, `MujocoCPU` steps N
# robots on MuJoCo's own thread pool (`sim.nthread`) with the GIL released; torch runs the
# networks in batches of N. This notebook measures how the simulator scales with N and threads on
# this machine, trains a recipe with `--quick` in 2 data-parallel processes and checks that both hold the
# same networks, then lists what exists for GPUs and clusters, and how far each part is tested.
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
# ([benchmarks](../../benchmarks/)).
#
# ## What the recipes already expose
#
# - `data.init_args.sim.num_envs`, `data.init_args.sim.nthread`: the simulator size and its threads.
# - `data.init_args.torch_threads`: torch threads of the update.
# - `trainer.*`: everything of Lightning's `Trainer`.
#
# ## Several processes: DDP
#
# `configs/trainers/ddp_cpu.yaml` runs Lightning's DDP strategy in 2 CPU processes (gloo), each
# with 1 MuJoCo and 1 torch thread: `mimic-lit fit --config recipes/deepmimic_g1_walk.yaml
# --config configs/trainers/ddp_cpu.yaml`. Each process (rank) steps its own environments, seeded
# by its rank, so an iteration has twice the samples. The ranks must still take identical updates:
#
# - DDP averages the **gradients**. Every method steps several optimisers from separate losses
#   (actor and critic, then the discriminator or encoder), so mimic-lit sets DDP's
#   `find_unused_parameters=True` (unless you chose a value) and every network's gradients are
#   averaged, not only those of the first backward.
# - The **normaliser statistics** (observations, and the discriminator's inputs), the **advantage
#   mean and std** and the **rollout and episode metrics** are all-reduced over ranks.
#
# The callback `mimic_lit.callbacks.RankSyncCheck` checks this during a run: every
# `every_n_iterations` it all-gathers every parameter and normaliser statistic and stops the run
# naming the first tensor that differs between ranks. Add it to any run with
# `--trainer.callbacks+=mimic_lit.callbacks.RankSyncCheck --trainer.callbacks.every_n_iterations 10`.
#
# The cell below trains the G1 walk recipe with `--quick` (8 envs x 8 steps per rank, 2 iterations) on 2 ranks
# in a subprocess, with the check after every iteration and each rank's tensors saved
# (`dump_dir`), then compares the two ranks' files itself, as `tests/test_ddp.py` does.

# %%
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(os.environ.get("MIMIC_LIT_REPO", Path.cwd().parent))
work = Path(tempfile.mkdtemp(prefix="mimic_lit_ddp_"))
dump = work / "ranks"
cmd = [
    sys.executable, "-m", "mimic_lit.cli", "fit",
    "--config", str(REPO / "recipes" / "deepmimic_g1_walk.yaml"), "--quick",
    "--config", str(REPO / "configs" / "trainers" / "ddp_cpu.yaml"),
    "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
    "--trainer.callbacks+=mimic_lit.callbacks.RankSyncCheck", "--trainer.callbacks.every_n_iterations", "1",
    "--trainer.callbacks.dump_dir", str(dump),
]  # fmt: skip
start = time.perf_counter()
proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600)
assert proc.returncode == 0, proc.stderr[-3000:]
print(f"2-rank DDP run: {time.perf_counter() - start:.0f} s; dumps: {sorted(f.name for f in dump.iterdir())}")

rank0, rank1 = (torch.load(dump / f"rank{r}_iter2.pt", weights_only=True) for r in (0, 1))
max_diff = max(float((rank0[k].double() - rank1[k].double()).abs().max()) for k in rank0)
print(f"{len(rank0)} tensors (parameters and normaliser statistics) per rank after iteration 2")
print(f"max |rank 0 - rank 1| over all of them: {max_diff}")
print(f"observation normaliser count: {rank0['obs_normalizer.count'].item():.0f} "
      "(= 2 iterations x 2 ranks x 8 envs x 8 steps: both ranks' samples)")
assert max_diff == 0.0 and rank0["obs_normalizer.count"].item() == 2 * 2 * 8 * 8
shutil.rmtree(work)

# %% [markdown]
# The two ranks hold bit-identical networks and statistics, and the normaliser has seen both
# ranks' samples. On a bigger machine raise `--trainer.devices` together with the threads
# (`--data.init_args.sim.nthread`, `--data.init_args.torch_threads`) so that ranks x threads
# stays within the cores. Tests in CI train the DeepMimic and AMP recipes with `--quick` this way.
#
# ## GPUs, clusters, mixed precision
#
# These parts exist but need hardware this notebook does not assume, and **only their CPU parts
# have been run by the project**:
#
# - **MuJoCo-Warp backend** (`--data.init_args.sim.backend mujoco_warp --data.init_args.sim.device
#   cuda`, `pip install "mimic-lit[gpu]"`): the same compiled MuJoCo scene, stepped for all
#   environments at once by Warp kernels in float32, with torch reading and writing the Warp
#   arrays in place and each control step replayed as a CUDA graph. CI runs it on Warp's CPU
#   device, where it agrees with `MujocoCPU` to 1e-4 over 10 control steps and trains a recipe
#   with `--quick`; there it is ~100x slower than MuJoCo C and compiles its kernels for 1-2 minutes, so
#   this notebook does not run it. It has not yet run on a GPU.
#   See [Simulator backends](../../backends/#mujoco-warp).
# - **DDP on GPUs**: `configs/trainers/ddp_gpu.yaml`, one NCCL rank per GPU with 4,096 MuJoCo-Warp
#   environments each. Not yet run on GPUs.
# - **SLURM**: `recipes/slurm/train_multinode.sbatch` (one rank per GPU on every node, resume and
#   requeue at the time limit) and the Apptainer definition `recipes/slurm/mimic-lit.def`. Not run
#   on a real cluster; see [Clusters and SLURM](../../cluster/).
# - **Isaac Lab backend** (`sim.backend: isaaclab`, Python 3.12 with Isaac Sim and an RTX GPU):
#   written, never run by the project ([Isaac Lab](../../backends/#isaac-lab)).
# - **Mixed precision**: `--trainer.precision bf16-mixed` runs the networks under bfloat16
#   autocast in the rollouts and the update, while weights, actions, values and returns stay
#   float32. Tested for correctness; a speed-up is expected on GPU tensor cores and has not been
#   measured.

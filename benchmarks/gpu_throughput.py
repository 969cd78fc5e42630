"""GPU throughput of the MuJoCo-Warp backend on the G1 (issue 8): simulator and training.

Two measurements on one CUDA device:

- ``simulator``: ``MujocoWarp`` with N = 1k / 4k / 16k G1 worlds (50 Hz control, 4 physics
  substeps, PD targets = default pose + noise, every state tensor read after each step, fallen
  robots reset), env-steps/s and physics steps/s.
- ``training``: ``mimic-lit fit`` of ``recipes/deepmimic_g1_walk.yaml`` on the GPU with
  ``sim.backend: mujoco_warp`` and N envs (default 4096), no validation; samples/s is the
  median of Lightning's logged ``perf/samples_per_s`` after the first (compiling) iteration.

The goal stated in issue 8 is >= 100k training samples/s on one H100. Results go into the
``## GPU throughput (MuJoCo-Warp)`` section of docs/benchmarks.md with the GPU model.

    python benchmarks/gpu_throughput.py                       # needs CUDA
    python benchmarks/gpu_throughput.py --device cpu --envs 4 --train-envs 4 --iterations 2 --no-docs   # smoke test
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

from _report import publish  # benchmarks/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fit import fit_throughput  # noqa: E402

import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## GPU throughput (MuJoCo-Warp)"
RECIPE = ROOT / "recipes" / "deepmimic_g1_walk.yaml"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="torch/Warp device (cpu only for a smoke test)")
    p.add_argument("--envs", type=int, nargs="+", default=[1024, 4096, 16384], help="simulator sizes")
    p.add_argument("--steps", type=int, default=100, help="timed control steps per simulator size")
    p.add_argument("--train-envs", type=int, default=4096, help="environments of the training run (0: skip)")
    p.add_argument("--iterations", type=int, default=8, help="training iterations (the first is warm-up)")
    p.add_argument("--precision", default="32-true", help="--trainer.precision of the training run")
    p.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    return p.parse_args()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def simulator_rate(n: int, steps: int, device: str) -> tuple[float, float, int]:
    """(env-steps/s, seconds to build and compile, worlds reset as fallen) for n G1 worlds."""
    from mimic_lit.sim.base import SimConfig, make_simulator

    t0 = time.perf_counter()
    sim = make_simulator(SimConfig(backend="mujoco_warp", robot="g1", num_envs=n, device=device))
    dev = sim.device
    default = torch.as_tensor(sim.robot.default_pose, dtype=torch.float32, device=dev)
    gen = torch.Generator(device=dev).manual_seed(0)
    sim.step(default[7:].expand(n, -1))  # compiles kernels and captures the CUDA graph
    sync(dev)
    build = time.perf_counter() - t0
    resets = 0
    start = time.perf_counter()
    for _ in range(steps):
        noise = 0.1 * torch.randn(n, sim.num_dofs, generator=gen, device=dev)
        sim.step(default[7:] + noise)
        _ = (sim.body_pos, sim.body_quat, sim.body_lin_vel, sim.body_ang_vel, sim.contact_forces, sim.qvel)
        fallen = (sim.root_pos[:, 2] < 0.4).nonzero().squeeze(-1)
        if fallen.numel():
            resets += int(fallen.numel())
            sim.reset(fallen, default.expand(fallen.numel(), -1))
    sync(dev)
    return n * steps / (time.perf_counter() - start), build, resets


def training_rate(n: int, iterations: int, device: str, precision: str) -> tuple[float, list[float], float]:
    """(median samples/s after warm-up, all iterations' samples/s, wall seconds) of a GPU training run."""
    accelerator = "gpu" if device.startswith("cuda") else "cpu"
    return fit_throughput(
        RECIPE, iterations, "--trainer.accelerator", accelerator, "--trainer.devices", "1",
        "--trainer.precision", precision, "--data.init_args.sim.backend", "mujoco_warp",
        "--data.init_args.sim.device", device, "--data.init_args.sim.num_envs", str(n),
    )  # fmt: skip


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_throughput.py: no CUDA device visible to torch (use --device cpu only for a smoke test)")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()})"
    rows = []
    for n in args.envs:
        rate, build, resets = simulator_rate(n, args.steps, args.device)
        rows.append(f"| {n:,} | {rate:,.0f} | {4 * rate:,.0f} | {build:.0f} | {resets} |")
        print(rows[-1], flush=True)
    lines = [
        SECTION,
        "",
        f"Written by `benchmarks/gpu_throughput.py` on {dt.date.today()} on **{gpu}**; torch {torch.__version__}. "
        "G1, 50 Hz control with 4 physics substeps of 5 ms.",
        "",
        "| worlds N | env-steps/s | physics steps/s | build + compile + graph capture (s) | fallen worlds reset |",
        "|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    if args.train_envs:
        median, rates, wall = training_rate(args.train_envs, args.iterations, args.device, args.precision)
        goal = "meets" if median >= 1e5 else "misses"
        lines += [
            f"Training, `recipes/deepmimic_g1_walk.yaml` with {args.train_envs:,} envs, precision {args.precision}: "
            f"**{median:,.0f} samples/s** (median of iterations 2-{len(rates)}; all: "
            f"{', '.join(f'{r:,.0f}' for r in rates)}; {wall:.0f} s wall including start-up). This {goal} the issue's "
            "goal of 100,000 samples/s on one H100.",
            "",
        ]
    lines.append(
        f"Command: `python benchmarks/gpu_throughput.py --device {args.device} --envs {' '.join(map(str, args.envs))} "
        f"--train-envs {args.train_envs} --iterations {args.iterations} --precision {args.precision}`"
    )
    publish(SECTION, "\n".join(lines) + "\n", not args.no_docs)


if __name__ == "__main__":
    main()

"""End-to-end DeepMimic training throughput on the G1 next to the raw simulator, in the same run.

Three runners per number of environments N, measured in one process:

- ``raw simulator``: the MujocoCPU backend stepped as an environment would (PD targets = default
  pose + noise, every state tensor read, fallen robots reset): ``BackendRun`` of
  ``benchmarks/sim_throughput.py``.
- ``tracking env``: ``TrackingEnv.step`` with zero actions (simulator + reference motion,
  observations, reward, done flags, resets), no learning. Both run with one torch thread, as
  the rollout runs them.
- ``training``: ``Trainer.fit`` of ``recipes/deepmimic_g1_walk.yaml`` with ``num_envs`` = N and no
  logger, checkpoint or validation: rollout with the policy (actor, critic, sampling, storage,
  returns, normaliser) plus the PPO update; samples/s = samples of an iteration / wall time
  between the starts of consecutive iterations.

The raw simulator and the env are measured between training iterations (their time is excluded
from the training's), so load from other processes on a shared machine hits all three alike.
Figures are medians over iterations (the first iteration is warm-up). Samples are control steps
(policy decisions); physics steps = samples x substeps. The result is printed and written into
the ``## Training throughput`` section of docs/benchmarks.md (other sections are kept).

    .venv/bin/python benchmarks/train_throughput.py                       # N = 64 and 256
    .venv/bin/python benchmarks/train_throughput.py --num-envs 64 --iterations 4 --no-write
    .venv/bin/python benchmarks/train_throughput.py --torch-threads 1 2    # compare torch threads
    .venv/bin/python benchmarks/train_throughput.py --data.init_args.update_epochs 3   # other options
                                                   # go to LightningCLI, on top of the recipe
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _report import write_section  # benchmarks/ is on sys.path when run as a script

import mujoco
import numpy as np
import torch
from lightning.pytorch import Callback

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sim_throughput import BackendRun, cpu_model  # noqa: E402

from mimic_lit.commands.train import MimicLitCLI  # noqa: E402
from mimic_lit.rl.collector import torch_threads  # noqa: E402

SECTION = "## Training throughput"
ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
RECIPE = ROOT / "recipes" / "deepmimic_g1_walk.yaml"


class InterleavedMeter(Callback):
    """Times training iterations and, between them, runs the raw simulator and the bare env."""

    def __init__(self, raw: BackendRun, env, seconds: float) -> None:
        self.raw, self.env, self.seconds = raw, env, seconds
        self.zero = torch.zeros(env.num_envs, env.action_dim)
        self.starts: list[float] = []
        self.excluded: list[float] = []
        self.raw_rate: list[float] = []
        self.env_rate: list[float] = []

    def _rate(self, step, n: int) -> float:
        steps, t0 = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < self.seconds:
            step()
            steps += 1
        return steps * n / elapsed

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.starts.append(time.perf_counter())

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        t0 = time.perf_counter()
        with torch_threads(1):  # as the rollout runs them
            self.raw_rate.append(self._rate(self.raw.step, self.raw.n))
            self.env_rate.append(self._rate(lambda: self.env.step(self.zero), self.env.num_envs))
        self.excluded.append(time.perf_counter() - t0)

    def train_rates(self, samples: int) -> list[float]:
        """Samples/s of each iteration that has a successor (its start-to-start time is known)."""
        return [
            samples / (self.starts[i + 1] - self.starts[i] - self.excluded[i]) for i in range(len(self.starts) - 1)
        ]


def network_compute(model, n: int, samples: int, epochs: int, minibatches: int, threads: int | None) -> float:
    """µs per sample of the bare network arithmetic of one iteration, outside Lightning and the env.

    The actor and critic forward on N observations per rollout step (one torch thread, as the
    rollout runs them), then ``epochs x minibatches`` PPO updates (forward, loss, backward, Adam
    on copies of the networks) on random minibatches with the update's threads. This is the
    floor the learning part cannot go below with these network sizes.
    """
    import copy

    from mimic_lit.methods.ppo import ppo_actor_loss, value_loss

    actor, critic = copy.deepcopy(model.actor), copy.deepcopy(model.critic)
    obs_dim, act_dim = model.obs_dim, model.action_dim
    gen = torch.Generator().manual_seed(0)

    def timed(fn, reps: int) -> float:
        fn()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - t0) / reps

    obs = torch.randn(n, obs_dim, generator=gen)
    with torch.no_grad(), torch_threads(1):
        rollout = timed(lambda: (actor(obs).sample(gen), critic(obs)), 50) / n

    size = samples // minibatches
    batch = {
        "obs": torch.randn(size, obs_dim, generator=gen), "actions": torch.randn(size, act_dim, generator=gen),
        "log_probs": torch.randn(size, generator=gen), "advantages": torch.randn(size, generator=gen),
        "returns": torch.randn(size, generator=gen),
    }
    opts = [torch.optim.AdamW(actor.parameters(), lr=1e-5), torch.optim.AdamW(critic.parameters(), lr=1e-5)]

    def update() -> None:
        loss, _ = ppo_actor_loss(actor(batch["obs"]), batch["actions"], batch["log_probs"], batch["advantages"],
                                 0.2, 4.0, 10.0, 0.0)
        loss = loss + value_loss(critic(batch["obs"]), batch["returns"])
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in opts:
            opt.step()

    with torch_threads(threads):
        per_minibatch = timed(update, 10)
    return 1e6 * (rollout + per_minibatch * epochs * minibatches / samples)


def measure(n: int, threads: int | None, args) -> dict:
    """One training run with N envs; returns the medians of every runner."""
    overrides = [
        "--data.init_args.sim.num_envs", str(n), "--trainer.max_epochs", str(args.iterations + 1),
        "--trainer.logger", "false", "--trainer.enable_checkpointing", "false", "--trainer.callbacks", "null",
        "--trainer.limit_val_batches", "0", "--trainer.enable_progress_bar", "false",
        "--trainer.enable_model_summary", "false",
    ]
    if threads is not None:
        overrides += ["--data.init_args.torch_threads", str(threads)]
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            cli = MimicLitCLI(args=["--config", str(args.recipe), *overrides, *args.override], run=False)
            dm, model = cli.datamodule, cli.model
            dm.setup("fit")
            sim_cfg = dm.train_env.sim.config
            raw = BackendRun(sim_cfg.robot, n, dm.train_env.sim.nthread, dm.train_env.sim.control_dt,
                             dm.train_env.sim.sim_dt, 0.3, args.seed)
            env = dm.build_env(n, 12345)
            env.reset()
            meter = InterleavedMeter(raw, env, args.seconds)
            cli.trainer.callbacks.append(meter)
            cli.trainer.fit(model, dm)
        finally:
            os.chdir(old)
    samples = dm.horizon * n
    train = meter.train_rates(samples)[1:]  # iteration 0 warms up (first rollout, allocations)
    substeps = dm.train_env.sim.substeps
    nets = network_compute(model, n, samples, dm.update_epochs, dm.num_minibatches, dm.torch_threads)
    return {
        "nets_us": nets,
        "n": n, "threads": torch.get_num_threads(), "substeps": substeps, "samples": samples,
        "raw": statistics.median(meter.raw_rate[1:]), "env": statistics.median(meter.env_rate[1:]),
        "train": statistics.median(train), "train_min": min(train), "train_max": max(train),
        "horizon": dm.horizon, "epochs": dm.update_epochs, "minibatches": dm.num_minibatches,
        "actor": list(model.actor_config.hidden), "critic": list(model.critic_config.hidden),
        "optim": model.actor_optim_config.name, "obs_dim": model.obs_dim, "action_dim": model.action_dim,
        "nthread": dm.train_env.sim.nthread,
    }


def markdown(results: list[dict], info: dict, command: str) -> str:
    r0 = results[0]
    lines = [
        SECTION,
        "",
        f"Written by `benchmarks/train_throughput.py` on {info['date']}. DeepMimic PPO on the G1 "
        f"(`recipes/deepmimic_g1_walk.yaml`: Kimodo walk clip, obs {r0['obs_dim']}, actions {r0['action_dim']}, "
        f"{r0['horizon']} steps per iteration, {r0['epochs']} update epochs x {r0['minibatches']} minibatches, "
        f"actor {r0['actor']} / critic {r0['critic']} MLPs, {r0['optim']}), control at 50 Hz with "
        f"{r0['substeps']} physics substeps, {r0['nthread']} MuJoCo threads. Samples are control steps (policy "
        "decisions); physics steps/s = samples/s x substeps. Medians over "
        f"{info['iterations']} training iterations after a warm-up one; the raw simulator and the env are measured "
        f"for {info['seconds']} s between training iterations, in the same process, so that load from other "
        "processes on this shared machine hits all runners alike.",
        "",
        "| N envs | torch threads | runner | samples/s | physics steps/s | % of raw simulator |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for r in results:
        for key, label in (
            ("raw", "raw simulator: MujocoCPU step + every state tensor + resets"),
            ("env", "tracking env step (reference, obs, reward, dones, resets), zero actions"),
            ("train", "**training end to end**: rollout with the policy + PPO update"),
        ):
            rate = r[key]
            extra = f" ({r['train_min']:,.0f}–{r['train_max']:,.0f})" if key == "train" else ""
            lines.append(
                f"| {r['n']} | {r['threads']} | {label} | {rate:,.0f}{extra} | {rate * r['substeps']:,.0f} | "
                f"{100 * rate / r['raw']:.0f} % |"
            )
    lines += ["", "Where the time of a training sample goes (µs per sample, from the medians above):", ""]
    for r in results:
        sim, env, train = 1e6 / r["raw"], 1e6 / r["env"], 1e6 / r["train"]
        lines.append(
            f"- N={r['n']}, {r['threads']} torch thread(s): simulator {sim:.0f}, tracking-env logic on top "
            f"{env - sim:.0f}, learning on top (policy in the rollout, returns, normaliser, PPO update, Lightning) "
            f"{train - env:.0f}, of which bare network arithmetic {r['nets_us']:.0f}; total {train:.0f}."
        )
    lines += [
        "",
        "Bare network arithmetic is the actor and critic forward of the rollout plus the PPO update's forward, "
        "backward and Adam steps, timed on their own (same sizes, no Lightning, no env): the part of learning that "
        "only smaller networks or fewer update passes can shrink. The update's share of it is the same per sample at "
        "any N; the rollout's forward passes cost more per sample at small N, where the matrices are small.",
        "",
        "Torch threads: rollouts always run torch on one thread (its OpenMP workers would otherwise spin on the "
        "cores MuJoCo's threads need); `data.init_args.torch_threads` sets the update's threads. Two are faster on "
        "an otherwise idle machine, but OpenMP barriers become very slow when other processes compete for the "
        "cores, so use 1 on a shared machine.",
        "",
        "Goal: training >= 50 % of the raw simulator. " + info["verdict"],
        *_shortfalls(results),
        "",
        f"- Machine: {info['nproc']} CPU cores, {info['cpu']}. Load average (1/5/15 min) before: "
        f"{info['load_before']}, after: {info['load_after']} (the machine is shared with other jobs).",
        f"- Software: Python {platform.python_version()}, mujoco {mujoco.__version__}, torch {torch.__version__}, "
        f"numpy {np.__version__}.",
        f"- Command: `{command}`",
        "",
    ]
    return "\n".join(lines)




def _shortfalls(results: list[dict]) -> list[str]:
    """One line per N below the goal: how much of the 50 % budget the simulator and the networks
    already use, so a reader sees whether framework overhead or arithmetic is what is missing."""
    out = []
    for r in results:
        if r["train"] >= 0.5 * r["raw"]:
            continue
        sim, env, train = 1e6 / r["raw"], 1e6 / r["env"], 1e6 / r["train"]
        budget = 2 * sim
        out.append(
            f"- N={r['n']}: 50 % allows {budget:.0f} µs per sample; the simulator ({sim:.0f}) and the bare network "
            f"arithmetic ({r['nets_us']:.0f}) alone take {sim + r['nets_us']:.0f}, leaving "
            f"{budget - sim - r['nets_us']:.0f} for env logic ({env - sim:.0f}) and everything else "
            f"({train - env - r['nets_us']:.0f})."
        )
    return ["", *out] if out else []


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num-envs", type=int, nargs="+", default=[64, 256])
    p.add_argument("--torch-threads", type=int, nargs="+", default=[None],
                   help="torch intra-op threads to compare (default: the recipe's setting)")
    p.add_argument("--iterations", type=int, default=6, help="measured training iterations (after 1 warm-up)")
    p.add_argument("--seconds", type=float, default=2.0, help="raw simulator / env measurement per iteration")
    p.add_argument("--recipe", type=Path, default=RECIPE)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DOC)
    p.add_argument("--no-write", action="store_true", help="print only")
    args, args.override = p.parse_known_args(argv)  # the rest goes to LightningCLI
    load_before = _load()
    results = []
    for threads in args.torch_threads:
        for n in args.num_envs:
            r = measure(n, threads, args)
            print(f"N={n} torch_threads={r['threads']}: raw {r['raw']:,.0f}  env {r['env']:,.0f}  "
                  f"train {r['train']:,.0f} samples/s ({100 * r['train'] / r['raw']:.0f} % of raw)", flush=True)
            results.append(r)
    ratios = [r["train"] / r["raw"] for r in results]
    verdict = (
        f"Reached at every N (lowest {100 * min(ratios):.0f} %)." if min(ratios) >= 0.5
        else f"Not reached everywhere: lowest {100 * min(ratios):.0f} %, highest {100 * max(ratios):.0f} %."
    )
    info = {
        "date": _dt.date.today().isoformat(), "nproc": os.cpu_count(), "cpu": cpu_model(), "load_before": load_before,
        "load_after": _load(), "iterations": args.iterations, "seconds": args.seconds, "verdict": verdict,
    }
    words = [os.path.relpath(__file__, ROOT)] + (argv if argv is not None else sys.argv[1:])
    text = markdown(results, info, "python " + " ".join(shlex.quote(a) for a in words))
    print()
    print(text)
    if not args.no_write:
        write_section(args.out, SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Physics throughput of the MujocoCPU backend next to raw ``mujoco.rollout`` on the same model.

Scenario (the shape of an imitation-learning rollout): every control step the PD targets are the
robot's default pose plus N(0, 0.3 rad) noise; control at 1/control_dt (G1: 50 Hz) with the
robot's physics substeps (G1: 4 x 5 ms); an environment whose root falls below ``--fall-height``
is reset to the default pose. Four runners, interleaved so that load from other
processes hits them alike:

- ``MujocoCPU``: the backend as task code uses it: ``step(actions)``, then *every* state tensor
  (root, joints, bodies, contacts, torques), then ``reset`` of fallen environments.
- ``rollout``: raw ``mujoco.rollout.Rollout(nthread).rollout(..., nstep=substeps,
  skip_checks=True)`` on the same scene without sensors, chaining the last state into the next
  call; ``rollout+ws`` also carries a warm-start (qacc estimated from the last two substeps).
  Neither produces body states or contacts: it is the physics alone.
- ``batch``: raw ``mujoco.batch.Batch.step`` (the engine under MujocoCPU) without outputs.

Physics steps/s = envs x substeps x control steps / wall time. Each figure is the median of
``--repeats`` measurements of ``--seconds`` of wall time each, after a warm-up; within a
measurement the runners take turns in ``--chunk``-second slices, so that load from other processes
on a shared machine lands on all of them alike. The result is printed and
written into the ``## Simulator throughput`` section of docs/benchmarks.md (other sections of
that file are left as they are).

    .venv/bin/python benchmarks/sim_throughput.py               # N = 64 and 256, writes the doc
    .venv/bin/python benchmarks/sim_throughput.py --no-write --num-envs 16 --seconds 1
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from _report import write_section  # benchmarks/ is on sys.path when run as a script
from typing import Callable

import mujoco
import numpy as np
import torch
from mujoco import rollout as mj_rollout

from mimic_lit.robots import get_robot
from mimic_lit.sim.base import SimConfig, compute_substeps
from mimic_lit.sim.mujoco_cpu import MujocoCPU, _available_cores
from mimic_lit.sim.mujoco_model import set_mujoco_log
from mimic_lit.sim.scene import SceneConfig, build_scene_spec

SECTION = "## Simulator throughput"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
FULLPHYSICS = int(mujoco.mjtState.mjSTATE_FULLPHYSICS)


def bare_scene(robot: str, sim_dt: float) -> mujoco.MjModel:
    """The backend's scene without any sensor (what raw rollout runs)."""
    spec = build_scene_spec(robot, SceneConfig(control_mode="pos", sim_dt=sim_dt, visual=False))
    for sensor in list(spec.sensors):
        spec.delete(sensor)
    return spec.compile()


class BackendRun:
    """MujocoCPU stepped as an environment would, reading every state tensor each step."""

    def __init__(self, robot: str, n: int, nthread: int, control_dt: float, sim_dt: float, fall: float, seed: int):
        self.sim = MujocoCPU(SimConfig(robot=robot, num_envs=n, nthread=nthread, control_dt=control_dt, sim_dt=sim_dt))
        self.n, self.fall = n, fall
        self.rng = np.random.default_rng(seed)  # the same noise source as the raw runners
        self.base = self.sim.robot.default_pose[7:]
        self.default = torch.as_tensor(self.sim.robot.default_pose, dtype=torch.float32)
        self.resets = 0

    def step(self) -> None:
        sim = self.sim
        actions = torch.from_numpy(self.base + self.rng.normal(0.0, 0.3, (self.n, sim.num_dofs)))
        sim.step(actions)
        for name in ("root_pos", "root_quat", "root_lin_vel", "root_ang_vel", "joint_pos", "joint_vel", "body_pos",
                     "body_quat", "body_lin_vel", "body_ang_vel", "contact_forces", "ground_contact", "joint_torque",
                     "diverged"):
            getattr(sim, name)
        # The fall test is the harness's task logic, done in numpy as in the raw runners.
        fallen = np.flatnonzero(sim.root_pos.numpy()[:, 2] < self.fall)
        if fallen.size:
            sim.reset(torch.from_numpy(fallen), self.default.expand(fallen.size, -1))
            self.resets += fallen.size


class RolloutRun:
    """Raw mujoco.rollout with the same control pattern and resets, state chained between calls."""

    def __init__(self, model: mujoco.MjModel, robot: str, n: int, nthread: int, substeps: int, fall: float,
                 seed: int, warmstart: bool):
        self.m, self.n, self.s, self.fall, self.warm = model, n, substeps, fall, warmstart
        self.rng = np.random.default_rng(seed)
        self.runner = mj_rollout.Rollout(nthread=nthread)
        self.datas = [mujoco.MjData(model) for _ in range(max(nthread, 1))]
        self.models = [model] * n
        pose = get_robot(robot).default_pose
        d = mujoco.MjData(model)
        d.qpos[:] = pose
        nstate = mujoco.mj_stateSize(model, FULLPHYSICS)
        self.s0 = np.empty(nstate)
        mujoco.mj_getState(model, d, self.s0, FULLPHYSICS)
        self.state0 = np.tile(self.s0, (n, 1))
        self.base = pose[7:]
        self.ws = np.zeros((n, model.nv))
        self.out = np.empty((n, substeps, nstate))
        self.sens = np.empty((n, substeps, 0))
        self.ctrl = np.empty((n, substeps, model.nu))
        self.qvel = slice(1 + model.nq, 1 + model.nq + model.nv)
        self.resets = 0

    def step(self) -> None:
        self.ctrl[:] = (self.base + self.rng.normal(0.0, 0.3, (self.n, self.m.nu)))[:, None, :]
        self.runner.rollout(self.models, self.datas, self.state0, self.ctrl, nstep=self.s, skip_checks=True,
                            initial_warmstart=self.ws if self.warm else None, state=self.out, sensordata=self.sens)
        self.state0 = np.ascontiguousarray(self.out[:, -1])
        if self.warm:
            prev = self.out[:, -2, self.qvel] if self.s > 1 else None
            if prev is not None:
                self.ws = (self.out[:, -1, self.qvel] - prev) / self.m.opt.timestep
        fallen = self.state0[:, 3] < self.fall
        if fallen.any():
            self.state0[fallen] = self.s0
            self.ws[fallen] = 0.0
            self.resets += int(fallen.sum())


class BatchRun:
    """Raw mujoco.batch stepping (the engine under MujocoCPU), no outputs read."""

    def __init__(self, model: mujoco.MjModel, robot: str, n: int, nthread: int, substeps: int, fall: float, seed: int):
        from mujoco import batch as mj_batch

        self.m, self.n, self.s, self.fall = model, n, substeps, fall
        self.rng = np.random.default_rng(seed)
        self.b = mj_batch.Batch(model, nsim=n, nthread=nthread, persistent=True)
        self.qpos, self.qvel = self.b.bind("qpos"), self.b.bind("qvel")
        self.ctrl, self.ws = self.b.bind("ctrl"), self.b.bind("qacc_warmstart")
        self.pose = get_robot(robot).default_pose
        self.qpos[:] = self.pose
        self.b.forward()
        self.resets = 0

    def step(self) -> None:
        self.ctrl[:] = self.pose[7:] + self.rng.normal(0.0, 0.3, (self.n, self.m.nu))
        self.b.step(nstep=self.s)
        fallen = self.qpos[:, 2] < self.fall
        if fallen.any():
            ids = np.flatnonzero(fallen)
            self.qpos[ids] = self.pose
            self.qvel[ids] = 0.0
            self.ws[ids] = 0.0
            self.resets += ids.size


def measure(runners: dict[str, Callable[[], None]], seconds: float, chunk: float) -> dict[str, float]:
    """Control steps per second of each runner over ``seconds`` of its own wall time.

    The runners take turns in chunks of ``chunk`` seconds, so a burst of load from another process
    lands on all of them rather than on whichever happened to be running.
    """
    spent = {k: 0.0 for k in runners}
    count = {k: 0 for k in runners}
    while min(spent.values()) < seconds:
        for name, step in runners.items():
            if spent[name] >= seconds:
                continue
            t0 = time.perf_counter()
            while True:
                step()
                count[name] += 1
                dt = time.perf_counter() - t0
                if dt >= chunk:
                    break
            spent[name] += dt
    return {k: count[k] / spent[k] for k in runners}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    robot = get_robot(args.robot)
    control_dt = args.control_dt or robot.control_dt
    sim_dt = args.sim_dt or robot.sim_dt
    substeps = compute_substeps(control_dt, sim_dt)
    nthread = args.nthread or _available_cores()
    set_mujoco_log(False)
    model = bare_scene(args.robot, sim_dt)
    info = {
        "robot": args.robot, "control_dt": control_dt, "sim_dt": sim_dt, "substeps": substeps, "nthread": nthread,
        "load_before": load_average(),
    }
    rows = []
    for n in args.num_envs:
        runners = {
            "MujocoCPU": BackendRun(args.robot, n, nthread, control_dt, sim_dt, args.fall_height, args.seed),
            "rollout": RolloutRun(model, args.robot, n, nthread, substeps, args.fall_height, args.seed, False),
            "rollout+ws": RolloutRun(model, args.robot, n, nthread, substeps, args.fall_height, args.seed, True),
            "batch": BatchRun(model, args.robot, n, nthread, substeps, args.fall_height, args.seed),
        }
        steps = {name: r.step for name, r in runners.items()}
        measure(steps, args.warmup, args.chunk)  # warm-up: caches, thread pools, the first falls
        rates: dict[str, list[float]] = {k: [] for k in runners}
        for _ in range(args.repeats):
            for name, rate in measure(steps, args.seconds, args.chunk).items():
                rates[name].append(rate * n * substeps)
        raw = max(float(np.median(rates["rollout"])), float(np.median(rates["rollout+ws"])))
        for name, vals in rates.items():
            med = float(np.median(vals))
            rows.append({
                "n": n, "name": name, "median": med, "min": min(vals), "max": max(vals),
                "ratio": med / raw, "resets": runners[name].resets,
            })
        print_rows([r for r in rows if r["n"] == n], substeps)
    info["load_after"] = load_average()
    return rows, info


def print_rows(rows: list[dict], substeps: int) -> None:
    for r in rows:
        print(f"N={r['n']:4d} {r['name']:10s} {r['median']:9.0f} physics steps/s "
              f"(min {r['min']:.0f}, max {r['max']:.0f})  {100 * r['ratio']:5.1f}% of raw rollout", flush=True)


def markdown(rows: list[dict], info: dict, command: str) -> str:
    desc = {
        "MujocoCPU": "**MujocoCPU** backend: step + every state tensor + resets",
        "rollout": "raw `mujoco.rollout`, no warm-start",
        "rollout+ws": "raw `mujoco.rollout`, warm-start carried",
        "batch": "raw `mujoco.batch` step (engine of MujocoCPU)",
    }
    lines = [
        SECTION,
        "",
        f"Written by `benchmarks/sim_throughput.py` on {info['date']}. Robot `{info['robot']}`, PD `pos` mode, "
        f"targets = default pose + N(0, 0.3 rad) every control step, control_dt {info['control_dt']:g} s with "
        f"{info['substeps']} substeps of {info['sim_dt']:g} s, fallen envs (root z < {info['fall']:g} m) reset to the "
        f"default pose. Physics steps/s = envs × substeps × control steps / wall time; median of {info['repeats']} "
        f"measurements of {info['seconds']:g} s of wall time per runner (min–max in brackets), the runners taking "
        f"turns in {info['chunk']:g} s slices. The percentage is against the faster "
        "raw `mujoco.rollout` variant at the same N (target: MujocoCPU ≥ 85 %).",
        "",
        "| N envs | runner | physics steps/s | % of raw rollout |",
        "|---:|---|---:|---:|",
    ]
    for r in rows:
        name = desc[r["name"]]
        rate = f"{r['median']:,.0f} ({r['min']:,.0f}–{r['max']:,.0f})"
        lines.append(f"| {r['n']} | {name} | {rate} | {100 * r['ratio']:.0f} % |")
    lines += [
        "",
        "What the backend does on top of the raw physics, per control step: it ends with `mj_step1` at the new "
        "state so that body positions, orientations and velocities match the returned qpos/qvel (the next step "
        "reuses that work), evaluates one MuJoCo `contact` sensor per body at every substep, copies the body "
        "outputs of every environment, checks every environment for divergence, converts everything into one "
        "float32 tensor (a snapshot every getter views) and computes body linear velocities. Raw rollout returns "
        "only qpos/qvel (its states and sensors describe the state before the last substep). "
        "`rollout+ws` estimates the warm-start from the last two substeps; `mujoco.batch` keeps the exact one.",
        "",
        f"- Machine: {info['nproc']} CPU cores (`nproc`), {info['cpu']}; {info['nthread']} MuJoCo threads. "
        f"Load average (1/5/15 min) before: {info['load_before']}, after: {info['load_after']} (the machine is "
        "shared; \"after\" includes this benchmark's own threads).",
        f"- Software: Python {platform.python_version()}, mujoco {mujoco.__version__}, torch {torch.__version__}, "
        f"numpy {np.__version__}.",
        f"- Command: `{command}`",
        "",
    ]
    return "\n".join(lines)




def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--robot", default="g1")
    p.add_argument("--num-envs", type=int, nargs="+", default=[64, 256])
    p.add_argument("--control-dt", type=float, default=None, help="default: the robot spec's (G1: 0.02 s)")
    p.add_argument("--sim-dt", type=float, default=None, help="default: the robot spec's (G1: 0.005 s)")
    p.add_argument("--nthread", type=int, default=None, help="default: all cores this process may use")
    p.add_argument("--seconds", type=float, default=4.0, help="wall time of one measurement of one runner")
    p.add_argument("--chunk", type=float, default=0.25, help="seconds a runner runs before the next takes its turn")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per runner")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--fall-height", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DOC, help="markdown file whose section is rewritten")
    p.add_argument("--no-write", action="store_true", help="print only")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # the physics threads own the cores; torch work here is tiny
    rows, info = run(args)
    info.update(
        date=_dt.date.today().isoformat(), nproc=os.cpu_count(), cpu=cpu_model(), repeats=args.repeats,
        seconds=args.seconds, fall=args.fall_height, chunk=args.chunk,
    )
    words = [os.path.relpath(__file__)] + (argv if argv is not None else sys.argv[1:])
    command = "python " + " ".join(shlex.quote(a) for a in words)
    text = markdown(rows, info, command)
    print()
    print(text)
    if not args.no_write:
        write_section(args.out, SECTION, text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

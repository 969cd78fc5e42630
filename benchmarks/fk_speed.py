"""Forward-kinematics and motion-library query speed on CPU.

Run: ``python benchmarks/fk_speed.py [--batch 4096] [--threads 2]``. Prints the best and median time
of ``forward_kinematics``, ``forward_kinematics_with_velocities`` and ``MotionLibrary.get_frames``
per robot and dtype. Best-of-N is the number to quote on a shared machine; the median shows noise.
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np
import torch

from mimic_lit.motion.clip import MotionClip
from mimic_lit.motion.kinematics import forward_kinematics, forward_kinematics_with_velocities
from mimic_lit.motion.library import MotionLibrary
from mimic_lit.motion.skeleton import Skeleton


def timeit(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best, median) wall time of ``fn`` in milliseconds, after 3 warm-up calls."""
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times), 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--robots", nargs="+", default=["g1", "humanoid", "k1", "t1"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    B = args.batch
    print(f"torch {torch.__version__}, {args.threads} threads, batch {B}")
    for robot in args.robots:
        skel = Skeleton.from_robot(robot)
        for dtype in (torch.float32, torch.float64):
            g = torch.Generator().manual_seed(0)
            rp = torch.randn(B, 3, generator=g, dtype=dtype)
            rq = torch.randn(B, 4, generator=g, dtype=dtype)
            jp = torch.randn(B, skel.num_joint_coords, generator=g, dtype=dtype)
            v = torch.randn(B, 3, generator=g, dtype=dtype)
            jv = torch.randn(B, skel.num_joint_dofs, generator=g, dtype=dtype)
            fk = timeit(lambda: forward_kinematics(skel, rp, rq, jp), args.repeats)
            fkv = timeit(lambda: forward_kinematics_with_velocities(skel, rp, rq, jp, v, v, jv), args.repeats)
            name = str(dtype).replace("torch.", "")
            print(
                f"{robot:9s} {name:8s} FK {fk[0]:7.2f} ms (median {fk[1]:7.2f})  "
                f"FK+vel {fkv[0]:7.2f} ms (median {fkv[1]:7.2f})  "
                f"= {B / fk[0] * 1e3 / 1e6:.2f} M poses/s"
            )

    # Motion library: 10k interpolated frames from 20 random 10-s clips of the G1.
    skel = Skeleton.from_robot("g1")
    rng = np.random.default_rng(0)
    clips = []
    for c in range(20):
        T = 301
        clips.append(
            MotionClip(
                fps=30.0,
                root_pos=np.cumsum(rng.normal(0, 0.01, (T, 3)), 0),
                root_quat=np.tile([1.0, 0, 0, 0], (T, 1)),
                joint_pos=rng.uniform(-0.5, 0.5, (T, skel.num_joint_coords)),
                loop="wrap" if c % 2 else "clamp",
                robot="g1",
                name=f"rand{c}",
            )
        )
    lib = MotionLibrary(clips, robot="g1")
    g = torch.Generator().manual_seed(0)
    ids = lib.sample_clips(10_000, g)
    times = lib.sample_times(ids, g) * 1.7  # some wrap/clamp past the end
    q = timeit(lambda: lib.get_frames(ids, times), args.repeats)
    qb = timeit(lambda: lib.get_frames(ids, times, bodies=True), args.repeats)
    print(f"MotionLibrary.get_frames 10k queries: {q[0]:.2f} ms (median {q[1]:.2f}); with FK bodies {qb[0]:.2f} ms")


if __name__ == "__main__":
    main()

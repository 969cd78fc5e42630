"""Random pushes: a domain-randomisation hook that shoves the character now and then.

Every env carries a timer; when it runs out, the root's horizontal velocity jumps by a vector of
random direction and a magnitude uniform in [0, ``velocity``] m/s (as if someone pushed the robot),
and the timer is redrawn uniformly in [0.5, 1.5] × ``interval`` seconds. A policy trained with
pushes learns to catch itself, which is what a robot on a real pitch needs. Off by default
(``TrackingConfig.push_interval = 0``); all draws come from the pushes' own generator, so
switching them on changes nothing else in a run.

Friction and mass cannot differ per environment in the CPU backend (its environments share one
compiled MuJoCo model), so pushes are the randomisation offered there.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from mimic_lit.errors import MimicLitError

__all__ = ["Pushes"]


class Pushes:
    """Timed random shoves of the root's horizontal velocity for N envs (module docstring)."""

    def __init__(self, num_envs: int, interval: float, velocity: float, device: torch.device, dtype: torch.dtype, seed: int) -> None:
        if interval <= 0 or velocity < 0:
            raise MimicLitError(f"pushes need interval > 0 and velocity >= 0, got {interval} and {velocity}")
        self.interval, self.velocity = float(interval), float(velocity)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(int(seed))
        self.dtype = dtype
        self.time_left = self._draw_times(num_envs, device)
        self.count = 0  # pushes applied so far (for tests and logs)

    def _uniform(self, k: int, device: torch.device) -> torch.Tensor:
        return torch.rand(k, generator=self.generator, device=device, dtype=self.dtype)

    def _draw_times(self, k: int, device: torch.device) -> torch.Tensor:
        return self.interval * (0.5 + self._uniform(k, device))

    def apply(self, sim: Any, dt: float) -> None:
        """Count the timers down by ``dt`` and push the envs whose timer ran out (one ``sim.reset``)."""
        self.time_left -= dt
        ids = torch.nonzero(self.time_left <= 0, as_tuple=False).squeeze(-1)
        k = ids.numel()
        if k == 0:
            return
        device = self.time_left.device
        angle = 2.0 * math.pi * self._uniform(k, device)
        speed = self.velocity * self._uniform(k, device)
        qpos, qvel = sim.qpos[ids].clone(), sim.qvel[ids].clone()
        qvel[:, 0] += (speed * torch.cos(angle)).to(qvel.dtype)
        qvel[:, 1] += (speed * torch.sin(angle)).to(qvel.dtype)
        sim.reset(ids, qpos, qvel)
        self.time_left[ids] = self._draw_times(k, device)
        self.count += k

    def state_dict(self) -> dict[str, Any]:
        return {"time_left": self.time_left.clone(), "generator": self.generator.get_state(), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["time_left"].shape != self.time_left.shape:
            raise MimicLitError(f"push state is for {state['time_left'].shape[0]} envs, this env has {self.time_left.shape[0]}")
        self.time_left = state["time_left"].to(self.time_left).clone()
        self.generator.set_state(state["generator"].cpu())
        self.count = int(state["count"])

"""`ScriptedDribble`: a hand-written ball policy over a command skill, the baseline a learned one must beat.

It reads the dribble goal's observation (ball and goal in the heading frame, the first block of a
:class:`~mimic_lit.envs.command_hlc.CommandHLCEnv` observation) and issues velocity commands:

1. **approach**: walk to a spot ``approach_offset`` behind the ball on the goal-ball line, facing
   the ball; when the robot stands on the goal side of the ball it first walks around it, through a
   point ``detour_radius`` to the side of the ball;
2. **dribble**: once behind the ball (within ``align_tolerance`` of the line, the ball ahead and
   within ``align_distance``), walk through the ball toward the goal at ``dribble_speed``, turning
   to face the goal.

It is a Lightning module like the learned methods, so ``mimic-lit validate`` evaluates it on the
same episodes: ``--model mimic_lit.methods.ScriptedDribble``. It has no weights and does not train.
"""

from __future__ import annotations

import torch

from mimic_lit.envs.spec import RolloutSpec
from mimic_lit.errors import MimicLitError
from mimic_lit.methods.base import RLModule
from mimic_lit.rl.distributions import DiagGaussian
from mimic_lit.rl.normalizer import Normalizer

__all__ = ["ScriptedDribble", "dribble_commands"]


def dribble_commands(
    ball: torch.Tensor,
    goal: torch.Tensor,
    approach_offset: float = 0.35,
    detour_radius: float = 0.55,
    align_tolerance: float = 0.12,
    align_distance: float = 0.7,
    approach_gain: float = 1.5,
    approach_speed: float = 0.5,
    dribble_speed: float = 0.4,
    yaw_gain: float = 1.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """((N, 3) commands (vx, vy, wz), (N,) bool dribbling) for balls and goals (N, 2) in the heading frame.

    The robot is at the origin facing +x. Speeds in m/s, gains in 1/s, distances in m.
    """
    to_goal = goal - ball
    d = to_goal / to_goal.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    perp = torch.stack([-d[:, 1], d[:, 0]], dim=-1)
    robot_from_ball = -ball
    behind = (robot_from_ball * d).sum(-1)  # < 0: the robot is on the far side from the goal
    lateral = (robot_from_ball * perp).sum(-1)
    dribbling = (behind < -0.05) & (lateral.abs() < align_tolerance) & (ball.norm(dim=-1) < align_distance)

    spot = ball - approach_offset * d
    side = torch.where(lateral >= 0, 1.0, -1.0).unsqueeze(-1)
    detour = ball + detour_radius * side * perp - 0.5 * approach_offset * d
    wrong_side = (behind > -0.5 * approach_offset).unsqueeze(-1)
    target = torch.where(wrong_side, detour, spot)
    approach = approach_gain * target
    scale = (approach_speed / approach.norm(dim=-1, keepdim=True).clamp_min(1e-6)).clamp(max=1.0)
    approach = approach * scale
    face_ball = torch.atan2(ball[:, 1], ball[:, 0])

    aim = ball + 0.25 * d  # through the ball, toward the goal
    push = dribble_speed * aim / aim.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    face_goal = torch.atan2(d[:, 1], d[:, 0])

    lin = torch.where(dribbling.unsqueeze(-1), push, approach)
    yaw = yaw_gain * torch.where(dribbling, face_goal, face_ball)
    return torch.cat([lin, yaw.unsqueeze(-1)], dim=-1), dribbling


class ScriptedDribble(RLModule):
    """The scripted dribbling baseline (module docstring) as a method ``mimic-lit validate`` can run.

    Args:
        approach_offset, detour_radius, align_tolerance, align_distance, approach_gain,
        approach_speed, dribble_speed, yaw_gain: see :func:`dribble_commands`.
        **kwargs: the learned methods' options (ignored: a recipe's ``model`` section may stay as is).
    """

    def __init__(
        self,
        approach_offset: float = 0.35,
        detour_radius: float = 0.55,
        align_tolerance: float = 0.12,
        align_distance: float = 0.7,
        approach_gain: float = 1.5,
        approach_speed: float = 0.5,
        dribble_speed: float = 0.4,
        yaw_gain: float = 1.5,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.script = {
            "approach_offset": approach_offset, "detour_radius": detour_radius, "align_tolerance": align_tolerance,
            "align_distance": align_distance, "approach_gain": approach_gain, "approach_speed": approach_speed,
            "dribble_speed": dribble_speed, "yaw_gain": yaw_gain,
        }  # fmt: skip
        self.register_buffer("command_low", torch.zeros(3))
        self.register_buffer("command_high", torch.zeros(3))

    def connect(self, spec: RolloutSpec) -> None:
        """Check the env is a ball policy's (dribble goal first, three command ranges)."""
        env = spec.env
        first = env.obs_blocks[0] if env.obs_blocks else None
        if first is None or first.name != "goal/DribbleGoal" or len(env.command_ranges) != 3:
            raise MimicLitError(
                "ScriptedDribble drives a command skill toward a ball: use it with a task of class "
                "mimic_lit.envs.command_hlc.CommandHLCConfig whose goal is mimic_lit.envs.tasks.DribbleConfig"
            )
        super().connect(spec)
        self.residual = bool(getattr(env, "residual_commands", False))  # the env adds the script itself
        self.obs_normalizer = Normalizer(env.obs_dim, passthrough=env.obs_dim)  # the script reads raw values
        low, high = zip(*env.command_ranges)
        self.command_low = torch.tensor(low)
        self.command_high = torch.tensor(high)

    def policy(self, obs_n: torch.Tensor) -> DiagGaussian:
        """A distribution whose mode is the script's command, as a high-level action in [-1, 1]
        (zero where the env already adds the script's command to the action: ``task.residual``)."""
        if getattr(self, "residual", False):
            zero = torch.zeros(obs_n.shape[0], 3, device=obs_n.device)
            return DiagGaussian(zero, torch.full_like(zero, -20.0))
        command, _ = dribble_commands(obs_n[:, 0:2], obs_n[:, 6:8], **self.script)
        low, high = self.command_low.to(command), self.command_high.to(command)
        command = torch.maximum(torch.minimum(command, high), low)
        action = (2.0 * (command - low) / (high - low).clamp_min(1e-6) - 1.0).float()
        return DiagGaussian(action, torch.full_like(action, -20.0))

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """The script's high-level actions for raw observations (``mimic-lit play``)."""
        return self.policy(obs).mode()

    def training_step(self, batch, batch_idx):  # noqa: ANN001
        raise MimicLitError("ScriptedDribble is a fixed controller: evaluate it with mimic-lit validate, do not fit it")

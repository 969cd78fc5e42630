"""What an environment tells a learner about itself: the immutable :class:`EnvSpec`.

The data module builds the environments and hands the method one :class:`RolloutSpec` (the
env's :class:`EnvSpec` plus the rollout schedule) through :meth:`connect`. Methods size their
networks and check that they fit the env from it alone; they never reach into the data module
or the env. Everything else the update needs from the env (discriminator observations, demo
samples, latents) travels in the rollout batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mimic_lit.errors import MimicLitError
from mimic_lit.robots.spec import RobotSpec

__all__ = ["DiscObsSpec", "EnvSpec", "ObsBlock", "RolloutSpec"]


@dataclass(frozen=True)
class ObsBlock:
    """Columns ``[start, stop)`` of the policy observation that hold one named part."""

    name: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class DiscObsSpec:
    """The discriminator observation every step carries (``extras["disc_obs"]``).

    Attributes:
        size: its width.
        kind: ``state`` (AMP, ASE: a window of the character's own frames) or ``difference``
            (ADD: reference frame minus simulated frame).
    """

    size: int
    kind: Literal["state", "difference"]


@dataclass(frozen=True)
class EnvSpec:
    """Sizes and contents of a batched environment, fixed once it is built.

    Attributes:
        num_envs: environments stepped together (N).
        obs_dim, action_dim: policy observation and action widths.
        control_dt: seconds per step.
        obs_blocks: the observation's parts in order (``character``, ``targets``, ``goal``,
            ``latent``); their sizes add up to ``obs_dim``.
        robot: the simulated robot (``None`` for envs without one, e.g. test envs).
        disc_obs: the discriminator observation, ``None`` for envs without one.
        latent_dim: width of the skill latent at the end of the observation (ASE), else ``None``.
        goal_dim: width of the goal's observation (0: no goal).
        tracks_reference: the policy follows a reference clip (tracking errors mean something).
        eval_metrics: per-step ``info`` values that evaluation averages over episode steps.
        batch_extras: per-sample tensors the collector stores with each rollout for the update.
        command_ranges: where actions are commands for a skill (a ball policy's velocity
            commands): each action's (low, high) in physical units, reached at -1 and +1.
        residual_commands: actions are corrections added to the scripted ball controller's commands.
    """

    num_envs: int
    obs_dim: int
    action_dim: int
    control_dt: float
    obs_blocks: tuple[ObsBlock, ...]
    robot: RobotSpec | None = None
    disc_obs: DiscObsSpec | None = None
    latent_dim: int | None = None
    goal_dim: int = 0
    tracks_reference: bool = False
    eval_metrics: tuple[str, ...] = ()
    batch_extras: tuple[str, ...] = ()
    command_ranges: tuple[tuple[float, float], ...] = ()
    residual_commands: bool = False

    def __post_init__(self) -> None:
        if sum(block.size for block in self.obs_blocks) != self.obs_dim:
            raise ValueError(f"observation blocks {self.obs_blocks} do not add up to obs_dim {self.obs_dim}")

    def block(self, name: str) -> ObsBlock | None:
        """The observation block called ``name``, or ``None``."""
        return next((b for b in self.obs_blocks if b.name == name), None)


@dataclass(frozen=True)
class RolloutSpec:
    """What a method needs to know before training: the env and the rollout schedule.

    Attributes:
        env: the training (or evaluation) env's spec.
        minibatches_per_iteration: update steps per RL iteration (passes x minibatches).
        seed: the data module's seed; methods derive their own generators' seeds from it.
    """

    env: EnvSpec
    minibatches_per_iteration: int = 1
    seed: int = 0


def require_spec(spec: RolloutSpec | None, method: str) -> RolloutSpec:
    """``spec``, or a one-line error saying the method runs only on a data module that publishes one."""
    if spec is None:
        raise MimicLitError(
            f"{method} needs a data module that builds environments and connects them to the method "
            "(data.class_path: mimic_lit.datamodule.ImitationDataModule)"
        )
    return spec

"""`ImitationDataModule`: owns the environments and serves rollouts and evaluation episodes.

Ownership: the data module builds the training env (and an evaluation env) in :meth:`setup` and
keeps them. Data flows one way: the method learns about the env once, from the
:class:`~mimic_lit.envs.spec.RolloutSpec` this module hands it (``connect``) in :meth:`setup`,
and then only sees rollout batches. Which env is built is the ``task``'s business: any
:class:`~mimic_lit.envs.task.EnvTask` (tracking, AMP, ADD, ASE, a high-level controller, or
a user's own) by its ``class_path``. The training dataloader wraps a
:class:`~mimic_lit.rl.collector.RolloutCollector` (one pass = one RL iteration), the validation,
test and predict dataloaders an :class:`~mimic_lit.rl.collector.EvaluationRollouts`. Both find the
policy as ``trainer.lightning_module`` when they run. Validation during ``fit`` plays
``val_episodes`` episodes; a standalone ``validate``, ``test`` or ``predict`` plays
``eval_episodes`` (100 by default: enough for rates with intervals of about ±10 %).

Seeds: every DDP rank adds ``10007 * rank`` to the simulator, task and collector seeds, so ranks
explore differently but reproducibly. The data module's ``state_dict`` (saved in every Lightning
checkpoint) holds every rank's collector and training env, including the simulator's physics
state, so a resumed run (with the same number of processes) continues bit-identically.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from typing import Any, Protocol

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from mimic_lit.config_checks import require_at_least, require_optional
from mimic_lit.envs.protocol import VecEnv
from mimic_lit.envs.spec import RolloutSpec
from mimic_lit.envs.task import EnvTask, make_env
from mimic_lit.envs.tracking import TrackingConfig
from mimic_lit.errors import MimicLitError
from mimic_lit.rl.collector import EvaluationRollouts, RolloutAgent, RolloutCollector
from mimic_lit.rl.normalizer import world_size
from mimic_lit.sim.base import SimConfig

# One process steps every environment itself: worker processes would copy the simulator.
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
warnings.filterwarnings("ignore", message=r".*`IterableDataset` has `__len__` defined.*")  # no workers: exact

RANK_SEED_STRIDE = 10007
_EVAL_SEED_OFFSET = 1_000_003


class ConnectableAgent(RolloutAgent, Protocol):
    """A :class:`RolloutAgent` that is told about the env before anything runs (``RLModule``)."""

    def connect(self, spec: RolloutSpec) -> None: ...


class ImitationDataModule(LightningDataModule):
    """Environments of one imitation task and the rollouts drawn from them.

    Args:
        sim: simulator options (robot, number of environments N, backend, threads...).
        task: the env and its options, by class path: ``mimic_lit.envs.tracking.TrackingConfig``
            (DeepMimic, the default), ``...amp.AMPConfig``, ``...add.ADDConfig``,
            ``...ase.ASEConfig``, ``...hlc.HLCConfig`` or any :class:`~mimic_lit.envs.task.EnvTask`.
        horizon: environment steps per RL iteration (T); an iteration has T × N samples.
        update_epochs: passes over each rollout.
        num_minibatches: minibatches per pass (each holds T × N / num_minibatches samples).
        val_episodes: deterministic episodes per validation during ``fit`` (0: no validation).
        eval_episodes: deterministic episodes of a standalone ``validate``, ``test`` or ``predict``.
        val_num_envs: environments of the evaluation env; ``None`` = min(episodes, N).
        val_rand_reset: evaluation episodes start at random clip times (as training, MimicKit's
            test mode); ``False`` starts every episode at the clip's beginning. A goal draws its
            placements from its own distribution either way, from the fixed evaluation seed.
        seed: seed of the collector (action noise, minibatch order) and of the evaluation run.
        torch_threads: torch intra-op threads for the update, set when the envs are built;
            ``None`` keeps torch's default (one per core). Rollouts always run torch on one
            thread, so its OpenMP workers never spin on the cores the simulator's threads need.
            On a machine shared with other jobs, 1 avoids OpenMP's slow barriers under
            oversubscription.
    """

    def __init__(
        self,
        sim: SimConfig | None = None,
        task: EnvTask | None = None,
        horizon: int = 32,
        update_epochs: int = 5,
        num_minibatches: int = 4,
        val_episodes: int = 32,
        eval_episodes: int = 100,
        val_num_envs: int | None = None,
        val_rand_reset: bool = True,
        seed: int = 0,
        torch_threads: int | None = None,
    ) -> None:
        super().__init__()
        self.sim = sim or SimConfig()
        self.task = task or TrackingConfig()
        require_at_least(horizon, "data.horizon", 1)
        require_at_least(update_epochs, "data.update_epochs", 1)
        require_at_least(num_minibatches, "data.num_minibatches", 1)
        require_at_least(val_episodes, "data.val_episodes", 0)
        require_at_least(eval_episodes, "data.eval_episodes", 1)
        require_optional(require_at_least, val_num_envs, "data.val_num_envs", 1)
        require_optional(require_at_least, torch_threads, "data.torch_threads", 1)
        if num_minibatches > horizon * self.sim.num_envs:
            raise MimicLitError(
                f"data.num_minibatches={num_minibatches} exceeds the {horizon * self.sim.num_envs} samples of an "
                "iteration (data.horizon x sim.num_envs)"
            )
        self.horizon = int(horizon)
        self.update_epochs = int(update_epochs)
        self.num_minibatches = int(num_minibatches)
        self.val_episodes = int(val_episodes)
        self.eval_episodes = int(eval_episodes)
        self.val_num_envs = val_num_envs
        self.val_rand_reset = bool(val_rand_reset)
        self.seed = int(seed)
        self.torch_threads = torch_threads
        self.train_env: VecEnv | None = None
        self.eval_env: VecEnv | None = None
        self.collector: RolloutCollector | None = None
        self.evaluation: EvaluationRollouts | None = None

    # ------------------------------------------------------------------ building
    @property
    def rank(self) -> int:
        return int(self.trainer.global_rank) if self.trainer is not None else 0

    def _agent(self) -> ConnectableAgent:
        if self.trainer is None or self.trainer.lightning_module is None:
            raise MimicLitError("the rollout dataloaders need a Trainer running a method (LightningModule)")
        return self.trainer.lightning_module  # type: ignore[return-value]

    def build_env(self, num_envs: int, seed_offset: int, rand_reset: bool | None = None) -> VecEnv:
        """The task's env with ``num_envs`` environments, seeds offset by ``seed_offset``."""
        sim = dataclasses.replace(self.sim, num_envs=int(num_envs), seed=self.sim.seed + seed_offset)
        task = copy.copy(self.task)  # shallow: what a task caches (a loaded low-level policy) is shared
        task.seed = self.task.seed + seed_offset
        if rand_reset is not None:
            task.rand_reset = rand_reset
        return make_env(sim, task)

    def rollout_spec(self) -> RolloutSpec:
        """What the method is told about the env (after :meth:`setup`)."""
        env = self.train_env or self.eval_env
        if env is None:
            raise MimicLitError("no environment built: call setup() first (or set val_episodes > 0 to evaluate)")
        return RolloutSpec(env.spec, self.update_epochs * self.num_minibatches, self.seed)

    def setup(self, stage: str) -> None:
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)
        offset = RANK_SEED_STRIDE * self.rank
        if stage == "fit" and self.collector is None:
            self.train_env = self.build_env(self.sim.num_envs, offset)
            self.collector = RolloutCollector(
                self.train_env, self._agent, self.horizon, self.update_epochs, self.num_minibatches, self.seed + offset
            )
        if stage in ("fit", "validate", "test", "predict"):
            self._build_evaluation(self.val_episodes if stage == "fit" else self.eval_episodes, offset)
        if self.train_env is not None or self.eval_env is not None:
            self._agent().connect(self.rollout_spec())

    def _build_evaluation(self, episodes: int, offset: int) -> None:
        """The evaluation env and its ``episodes`` episodes (none for 0); kept while the count stays."""
        if self.evaluation is not None and self.evaluation.episodes == episodes:
            return
        self.eval_env = self.evaluation = None
        if episodes < 1:
            return
        n = self.val_num_envs or min(episodes, self.sim.num_envs)
        self.eval_env = self.build_env(n, offset + _EVAL_SEED_OFFSET, self.val_rand_reset)
        self.evaluation = EvaluationRollouts(self.eval_env, self._agent, episodes, self.seed + offset + _EVAL_SEED_OFFSET)

    # ------------------------------------------------------------------ dataloaders
    def train_dataloader(self) -> DataLoader:
        if self.collector is None:
            raise MimicLitError("the training env is not built: call setup('fit') first")
        return DataLoader(self.collector, batch_size=None, num_workers=0, generator=torch.Generator())

    def _eval_loader(self) -> DataLoader | list:
        if self.evaluation is None:
            return []
        # Own generator: DataLoader iterators draw a seed from it, never from the global RNG.
        return DataLoader(self.evaluation, batch_size=None, num_workers=0, generator=torch.Generator())

    def val_dataloader(self) -> DataLoader | list:
        return self._eval_loader()

    def test_dataloader(self) -> DataLoader | list:
        return self._eval_loader()

    def predict_dataloader(self) -> DataLoader | list:
        return self._eval_loader()

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Every rank's collector state (each rank owns different envs), gathered on all ranks."""
        if self.collector is None:
            return {}
        local = self.collector.state_dict()
        if world_size() == 1:
            return {"collectors": [local]}
        states: list[Any] = [None] * world_size()
        torch.distributed.all_gather_object(states, local)  # Lightning dumps checkpoints on every rank
        return {"collectors": states}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        states = state_dict.get("collectors")
        if states is None or self.collector is None:
            return
        if len(states) != world_size():
            raise MimicLitError(
                f"the checkpoint holds the environments of {len(states)} process(es); resume it with the same "
                f"number of devices (now {world_size()})"
            )
        self.collector.load_state_dict(states[self.rank])

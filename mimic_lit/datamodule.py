"""`ImitationDataModule`: owns the environments and serves rollouts and evaluation episodes.

Ownership: the data module builds the training env (and an evaluation env) in :meth:`setup` and
keeps them; methods reach them only through the dataloaders, and their sizes through
:meth:`ImitationDataModule.env_dims`. The training dataloader wraps a
:class:`~mimic_lit.rl.collector.RolloutCollector` (one pass = one RL iteration), the validation
and test dataloaders an :class:`~mimic_lit.rl.collector.EvaluationRollouts`. Both find the
policy as ``trainer.lightning_module`` when they run.

Seeds: every DDP rank adds ``10007 * rank`` to the simulator, task and collector seeds, so ranks
explore differently but reproducibly. The data module's ``state_dict`` (saved in every Lightning
checkpoint) holds every rank's collector and training env, including the simulator's physics
state, so a resumed run (with the same number of processes) continues bit-identically.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from typing import Any

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader

from mimic_lit.config_checks import require_at_least, require_optional
from mimic_lit.envs.add import ADDConfig, make_add_env
from mimic_lit.envs.amp import AMPConfig, make_amp_env
from mimic_lit.envs.ase import ASEConfig, make_ase_env
from mimic_lit.envs.protocol import VecEnv
from mimic_lit.envs.tracking import TrackingConfig, make_tracking_env
from mimic_lit.errors import MimicLitError
from mimic_lit.rl.collector import EvaluationRollouts, RolloutAgent, RolloutCollector
from mimic_lit.rl.normalizer import world_size
from mimic_lit.sim.base import SimConfig

# One process steps every environment itself: worker processes would copy the simulator.
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
warnings.filterwarnings("ignore", message=r".*`IterableDataset` has `__len__` defined.*")  # no workers: exact

RANK_SEED_STRIDE = 10007
_EVAL_SEED_OFFSET = 1_000_003


class ImitationDataModule(LightningDataModule):
    """Environments of one imitation task and the rollouts drawn from them.

    Args:
        sim: simulator options (robot, number of environments N, backend, threads...).
        task: tracking task options (motion, rewards, termination...).
        horizon: environment steps per RL iteration (T); an iteration has T × N samples.
        update_epochs: passes over each rollout.
        num_minibatches: minibatches per pass (each holds T × N / num_minibatches samples).
        val_episodes: deterministic episodes per validation/test run (0: no validation).
        val_num_envs: environments of the evaluation env; ``None`` = min(val_episodes, N).
        val_rand_reset: evaluation episodes start at random clip times (as training, MimicKit's
            test mode); ``False`` starts every episode at the clip's beginning.
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
        task: TrackingConfig | None = None,
        horizon: int = 32,
        update_epochs: int = 5,
        num_minibatches: int = 4,
        val_episodes: int = 32,
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

    def _agent(self) -> RolloutAgent:
        if self.trainer is None or self.trainer.lightning_module is None:
            raise MimicLitError("the rollout dataloaders need a Trainer running a method (LightningModule)")
        return self.trainer.lightning_module  # type: ignore[return-value]

    def build_env(self, num_envs: int, seed_offset: int, rand_reset: bool | None = None) -> VecEnv:
        """A tracking env with ``num_envs`` environments, seeds offset by ``seed_offset``."""
        sim = dataclasses.replace(self.sim, num_envs=int(num_envs), seed=self.sim.seed + seed_offset)
        task = copy.deepcopy(self.task)
        task.seed = self.task.seed + seed_offset
        if rand_reset is not None:
            task.rand_reset = rand_reset
        return self._make_env(sim, task)

    def _make_env(self, sim: SimConfig, task: TrackingConfig) -> VecEnv:
        return make_tracking_env(sim, task)

    def setup(self, stage: str) -> None:
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)
        offset = RANK_SEED_STRIDE * self.rank
        if stage == "fit" and self.collector is None:
            self.train_env = self.build_env(self.sim.num_envs, offset)
            self.collector = RolloutCollector(
                self.train_env, self._agent, self.horizon, self.update_epochs, self.num_minibatches, self.seed + offset
            )
        if stage == "predict" and self.val_episodes < 1:
            raise MimicLitError("predict plays the evaluation episodes: set data.init_args.val_episodes >= 1")
        if stage in ("fit", "validate", "test", "predict") and self.evaluation is None and self.val_episodes > 0:
            n = self.val_num_envs or min(self.val_episodes, self.sim.num_envs)
            self.eval_env = self.build_env(n, offset + _EVAL_SEED_OFFSET, self.val_rand_reset)
            self.evaluation = EvaluationRollouts(
                self.eval_env, self._agent, self.val_episodes, self.seed + offset + _EVAL_SEED_OFFSET
            )

    def env_dims(self) -> tuple[int, int]:
        """(obs_dim, action_dim) of the environments (after :meth:`setup`)."""
        env = self.train_env or self.eval_env
        if env is None:
            raise MimicLitError("no environment built: call setup() first (or set val_episodes > 0 to evaluate)")
        return env.obs_dim, env.action_dim

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


class AMPDataModule(ImitationDataModule):
    """:class:`ImitationDataModule` for adversarial methods: its envs are :class:`~mimic_lit.envs.amp.AMPEnv`
    (``task`` is an :class:`~mimic_lit.envs.amp.AMPConfig`), whose steps carry discriminator observations."""

    #: what the discriminator observations describe: ``state`` windows (AMP, ASE) or the ``difference``
    #: between reference and simulation (ADD); methods check it matches theirs
    disc_input = "state"

    def __init__(self, sim: SimConfig | None = None, task: AMPConfig | None = None, **kwargs: Any) -> None:
        super().__init__(sim=sim, task=task or AMPConfig(), **kwargs)

    def _make_env(self, sim: SimConfig, task: AMPConfig) -> VecEnv:
        return make_amp_env(sim, task)

    def disc_obs_dim(self) -> int:
        """Size of the discriminator observation (after :meth:`setup`)."""
        env = self.train_env or self.eval_env
        if env is None:
            raise MimicLitError("no environment built: call setup() first")
        return env.disc_obs_dim


class ADDDataModule(AMPDataModule):
    """:class:`ImitationDataModule` for ADD: its envs are :class:`~mimic_lit.envs.add.ADDEnv`
    (``task`` is an :class:`~mimic_lit.envs.add.ADDConfig`), whose steps carry the difference
    between the reference and the simulated frame."""

    disc_input = "difference"

    def __init__(self, sim: SimConfig | None = None, task: ADDConfig | None = None, **kwargs: Any) -> None:
        ImitationDataModule.__init__(self, sim=sim, task=task or ADDConfig(), **kwargs)

    def _make_env(self, sim: SimConfig, task: ADDConfig) -> VecEnv:
        return make_add_env(sim, task)


class ASEDataModule(AMPDataModule):
    """:class:`ImitationDataModule` for ASE: its envs are :class:`~mimic_lit.envs.ase.ASEEnv`
    (``task`` is an :class:`~mimic_lit.envs.ase.ASEConfig`), whose observations end with a skill latent."""

    def __init__(self, sim: SimConfig | None = None, task: ASEConfig | None = None, **kwargs: Any) -> None:
        ImitationDataModule.__init__(self, sim=sim, task=task or ASEConfig(), **kwargs)

    def _make_env(self, sim: SimConfig, task: ASEConfig) -> VecEnv:
        return make_ase_env(sim, task)

    def latent_dim(self) -> int:
        """Size of the skill latent at the end of every observation."""
        return int(self.task.latent_dim)


def _resolve_existing(path: str, what: str) -> str:
    """``path`` as given if it exists (absolute or relative to the working directory), else
    relative to the source checkout holding ``recipes/`` (so repository recipes run from anywhere)."""
    from pathlib import Path

    given = Path(path).expanduser()
    if given.exists():
        return str(given)
    checkout = Path(__file__).resolve().parents[1] / given
    if not given.is_absolute() and checkout.exists():
        return str(checkout)
    raise MimicLitError(f"{what} '{path}' does not exist (relative paths are taken from the working directory)")


class HLCDataModule(ImitationDataModule):
    """:class:`ImitationDataModule` for a high-level controller: its envs are
    :class:`~mimic_lit.envs.hlc.HLCEnv`, an :class:`~mimic_lit.envs.ase.ASEEnv` with a goal driven
    through the frozen ASE policy of ``llc_ckpt_path`` (trained with recipe ``llc_config``).

    Args (besides :class:`ImitationDataModule`'s):
        llc_config: recipe the low-level ASE policy was trained with.
        llc_ckpt_path: its checkpoint.
        llc_steps: low-level control steps per high-level action.
        task: the ASE env with the goal; its character settings must be the low-level recipe's.
    """

    def __init__(
        self,
        llc_config: str,
        llc_ckpt_path: str,
        llc_steps: int = 5,
        sim: SimConfig | None = None,
        task: ASEConfig | None = None,
        **kwargs: Any,
    ) -> None:
        ImitationDataModule.__init__(self, sim=sim, task=task or ASEConfig(), **kwargs)
        require_at_least(llc_steps, "data.llc_steps", 1)
        self.llc_config = llc_config
        self.llc_ckpt_path = llc_ckpt_path
        self.llc_steps = int(llc_steps)
        self._llc = None

    def low_level_policy(self):
        """The frozen low-level ASE method (loaded once)."""
        if self._llc is None:
            from mimic_lit.play import load_policy

            config = _resolve_existing(self.llc_config, "low-level recipe")
            ckpt = _resolve_existing(self.llc_ckpt_path, "low-level checkpoint")
            self._llc, _ = load_policy(config, ckpt, what="low-level checkpoint")
            if getattr(self._llc, "latent_dim", None) is None:
                raise MimicLitError(f"'{ckpt}' is not an ASE checkpoint: a high-level controller needs skill latents")
        return self._llc

    def _make_env(self, sim: SimConfig, task: ASEConfig) -> VecEnv:
        from mimic_lit.envs.hlc import HLCEnv

        return HLCEnv(make_ase_env(sim, task), self.low_level_policy(), self.llc_steps)

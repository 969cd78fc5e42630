"""Learning methods as LightningModules, sharing the PPO/AWR core in :mod:`.ppo` and :mod:`.awr`."""

from mimic_lit.methods.add import ADD
from mimic_lit.methods.amp import AMP
from mimic_lit.methods.ase import ASE
from mimic_lit.methods.base import AWRConfig, NetworkConfig, OptimizerConfig, PPOConfig, RLModule
from mimic_lit.methods.deepmimic import DeepMimic

__all__ = ["ADD", "AMP", "ASE", "AWRConfig", "DeepMimic", "NetworkConfig", "OptimizerConfig", "PPOConfig", "RLModule"]

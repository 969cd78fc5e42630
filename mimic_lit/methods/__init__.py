"""Learning methods as LightningModules, sharing the PPO/AWR core in :mod:`.ppo` and :mod:`.awr`."""

from mimic_lit.methods.add import ADD
from mimic_lit.methods.amp import AMP
from mimic_lit.methods.ase import ASE
from mimic_lit.methods.base import AWRConfig, NetworkConfig, OptimizerConfig, PPOConfig, RLModule
from mimic_lit.methods.deepmimic import DeepMimic
from mimic_lit.methods.hlc import HLC
from mimic_lit.methods.scripted import ScriptedDribble

__all__ = ["ADD", "AMP", "ASE", "AWRConfig", "DeepMimic", "HLC", "NetworkConfig", "OptimizerConfig", "PPOConfig", "RLModule", "ScriptedDribble"]

from mimic_lit.quiet import quiet_training_noise as _quiet_training_noise

# No litlogger advert and no torch _pytree deprecation warning on every run, in notebooks and scripts
# that build their own Trainer too (see mimic_lit.quiet; no other message is filtered).
_quiet_training_noise()

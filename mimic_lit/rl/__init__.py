"""On-policy RL core shared by every method: normaliser, Gaussian head, returns, storage, collectors."""

from mimic_lit.rl.collector import EvaluationRollouts, RolloutAgent, RolloutCollector
from mimic_lit.rl.distributions import DiagGaussian, GaussianHead
from mimic_lit.rl.normalizer import Normalizer
from mimic_lit.rl.returns import normalize_advantages, td_lambda_returns, terminal_values
from mimic_lit.rl.storage import RolloutStorage

__all__ = [
    "DiagGaussian",
    "EvaluationRollouts",
    "GaussianHead",
    "Normalizer",
    "RolloutAgent",
    "RolloutCollector",
    "RolloutStorage",
    "normalize_advantages",
    "td_lambda_returns",
    "terminal_values",
]

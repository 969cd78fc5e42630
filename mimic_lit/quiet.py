"""Silence two messages that the training stack prints on every run and that tell a mimic-lit user
nothing, without hiding any other warning or log line:

- Lightning's tips advertising its cloud services (``litlogger`` at every ``Trainer``, ``litmodels``
  with every ``ModelCheckpoint``): INFO lines starting with "💡 Tip:";
- torch's ``FutureWarning`` that ``isinstance(treespec, LeafSpec)`` is deprecated, raised from
  Lightning's own ``_pytree`` helper (nothing in mimic-lit or a recipe can change it).
"""

from __future__ import annotations

import logging
import warnings

__all__ = ["quiet_training_noise"]

# rank_zero_info logs through whichever of these imported last; the filter goes on both.
_RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
_PYTREE_MESSAGE = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


def _not_advert(record: logging.LogRecord) -> bool:
    message = str(record.msg)
    return not (message.startswith("💡 Tip:") and ("litlogger" in message or "litmodels" in message))


def quiet_training_noise() -> None:
    """Install the two filters (idempotent)."""
    for name in _RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if _not_advert not in logger.filters:
            logger.addFilter(_not_advert)
    warnings.filterwarnings("ignore", message=_PYTREE_MESSAGE, category=FutureWarning)

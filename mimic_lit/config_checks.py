"""Check numeric config values where they are constructed, with one line naming the field.

A recipe value that cannot work (``num_envs: 0``, ``lr: -1e-3``, ``discount: 1.5``) should stop the
run before anything is built, saying which field is wrong and what it got, instead of failing much
later with a message about something derived from it. Configs and modules call these helpers from
``__post_init__`` / ``__init__`` with the field's name as a recipe spells it (``sim.num_envs``,
``model.actor_optim.lr``). Each helper returns the value (converted) so it can be assigned.

Only one field at a time: jsonargparse may build a config dataclass while some of its fields are
still at their defaults, so relations between fields are checked where the config is used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from mimic_lit.errors import MimicLitError

__all__ = [
    "ConfigValueError",
    "check_network",
    "check_optimizer",
    "require_at_least",
    "require_in_range",
    "require_nonnegative",
    "require_optional",
    "require_positive",
    "require_widths",
]


class ConfigValueError(MimicLitError):
    """A config field holds a value that cannot work; the message names the field."""


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigValueError(f"{name} must be a finite number, got {value}")
    return value


def require_positive(value: Any, name: str) -> Any:
    """``value > 0`` (and finite)."""
    if _number(value, name) <= 0:
        raise ConfigValueError(f"{name} must be > 0, got {value}")
    return value


def require_nonnegative(value: Any, name: str) -> Any:
    """``value >= 0`` (and finite)."""
    if _number(value, name) < 0:
        raise ConfigValueError(f"{name} must be >= 0, got {value}")
    return value


def require_at_least(value: Any, name: str, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (counts: environments, steps, epochs, minibatches)."""
    number = _number(value, name)
    if number != int(number):
        raise ConfigValueError(f"{name} must be a whole number, got {value}")
    if number < minimum:
        raise ConfigValueError(f"{name} must be >= {minimum}, got {value}")
    return int(number)


def require_in_range(
    value: Any, name: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> Any:
    """``low <= value <= high``; ``low_open``/``high_open`` exclude that end (the message says which)."""
    number = _number(value, name)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if too_low or too_high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigValueError(f"{name} must be in {interval}, got {value}")
    return value


def require_widths(widths: Iterable[Any] | None, name: str) -> None:
    """Every hidden-layer width ``>= 1`` (an empty list is a network without hidden layers)."""
    if widths is None:
        return
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Iterable):
        raise ConfigValueError(f"{name} must be a list of layer widths, got {widths!r}")
    for width in widths:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ConfigValueError(f"{name} widths must be whole numbers >= 1, got {list(widths)}")


def require_optional(check, value: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Apply ``check`` unless ``value`` is ``None`` (an option whose ``None`` means a default)."""
    return value if value is None else check(value, name, *args, **kwargs)


def check_network(config: Any, name: str) -> None:
    """An MLP config (``hidden``): every width ``>= 1``."""
    require_widths(getattr(config, "hidden", None), f"{name}.hidden")


def check_optimizer(config: Any, name: str) -> None:
    """An optimiser config: ``lr > 0``, ``momentum`` in [0, 1), ``weight_decay >= 0``, ``grad_clip > 0``."""
    require_positive(config.lr, f"{name}.lr")
    require_in_range(config.momentum, f"{name}.momentum", 0.0, 1.0, high_open=True)
    require_nonnegative(config.weight_decay, f"{name}.weight_decay")
    require_optional(require_positive, config.grad_clip, f"{name}.grad_clip")

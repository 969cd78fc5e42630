"""The evaluation summary of ``mimic-lit validate`` / ``test``: a JSON-ready dict, its printed
form, and the file ``--out`` writes.

:func:`summary` turns what :class:`~mimic_lit.metrics.TrackingMetrics` computed (or what a run
logged, ``val/*`` or ``test/*``) into one flat dict: every value under its own name, and each
95 % interval as ``ci95_<name>: [low, high]``. The rates' intervals are named ``ci95_success``
and ``ci95_fall``. For example::

    {"episodes": 100, "success_rate": 0.42, "ci95_success": [0.33, 0.52],
     "fall_rate": 0.05, "ci95_fall": [0.02, 0.11], "episode_length_s": 12.3,
     "ci95_episode_length_s": [11.8, 12.8], "goal_ball_dist": 1.23, ...}

Undefined values (an interval of fewer than 2 episodes) are missing, or ``null`` where a NaN was
passed in.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mimic_lit.errors import MimicLitError
from mimic_lit.fileio import check_output, write_text

__all__ = ["check_summary_path", "format_summary", "summary", "write_summary"]

#: the order of the leading keys; the env's metrics follow in the order they came
_FIRST = ("episodes", "success_rate", "fall_rate", "episode_length_s", "time_to_goal_s", "return")
#: short names of the rates' intervals
_CI_NAMES = {"success_rate": "success", "fall_rate": "fall"}
_CI_SUFFIXES = ("_ci95", "_ci95_lo", "_ci95_hi")
#: how :func:`format_summary` names a key (``final_<key>``: "final " + the key's label)
_LABELS = {
    "success_rate": "success rate",
    "fall_rate": "fall rate",
    "episode_length_s": "episode length (s)",
    "time_to_goal_s": "time to goal (s)",
    "return": "return",
    "body_pos_err": "body position error (m)",
    "joint_err": "joint angle error (rad)",
    "root_pos_err": "root position error (m)",
    "goal_ball_dist": "ball-goal distance (m)",
    "cmd_vx_err": "forward-speed error (m/s)",
    "cmd_vy_err": "lateral-speed error (m/s)",
    "cmd_yaw_rate_err": "yaw-rate error (rad/s)",
    "cmd_vx_err_now": "instantaneous forward-speed error (m/s)",
    "cmd_vy_err_now": "instantaneous lateral-speed error (m/s)",
    "cmd_yaw_rate_err_now": "instantaneous yaw-rate error (rad/s)",
}


def _number(value: Any) -> float | None:
    """A plain float (``None`` for NaN); a float32 tensor (what Lightning logged) as its shortest
    decimal, so a file reads 1.06 rather than 1.059999942779541."""
    if hasattr(value, "dtype") and str(value.dtype) in ("torch.float32", "float32"):
        value = float(str(value.detach().cpu().numpy() if hasattr(value, "detach") else value))
    value = float(value)
    return None if math.isnan(value) else value


def _round(value: float) -> float:
    """9 significant digits: an interval's ends without the noise of adding a half-width."""
    return float(f"{value:.9g}")


def summary(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The JSON-ready summary (module docstring) of ``values`` (floats or 0-d tensors); with a
    ``prefix`` (``"val/"``), only the keys that start with it, the prefix removed."""
    plain = {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}
    points = [k for k in plain if not k.endswith(_CI_SUFFIXES)]
    ordered = [k for k in _FIRST if k in points] + [k for k in points if k not in _FIRST]
    out: dict[str, Any] = {}
    for key in ordered:
        value = _number(plain[key])
        out[key] = int(value) if key == "episodes" and value is not None else value
        name = f"ci95_{_CI_NAMES.get(key, key)}"
        if f"{key}_ci95_lo" in plain and f"{key}_ci95_hi" in plain:
            out[name] = [_number(plain[f"{key}_ci95_lo"]), _number(plain[f"{key}_ci95_hi"])]
        elif f"{key}_ci95" in plain and value is not None:
            half = _number(plain[f"{key}_ci95"])
            out[name] = None if half is None else [_round(value - half), _round(value + half)]
    return out


def _label(key: str) -> str:
    if key.startswith("final_"):
        return "final " + _LABELS.get(key[len("final_") :], key[len("final_") :])
    return _LABELS.get(key, key)


def format_summary(result: Mapping[str, Any], title: str = "evaluation") -> str:
    """The summary as the command prints it: a title line with the episode count, then one line
    per value, rates in % with their [low, high] interval, means as value ± half-width."""
    lines = [f"{title}: {result.get('episodes', 0)} episodes (95 % confidence intervals)"]
    rows = []
    for key, value in result.items():
        if key == "episodes" or key.startswith("ci95_") or value is None:
            continue
        ci = result.get(f"ci95_{_CI_NAMES.get(key, key)}")
        known = bool(ci) and None not in ci
        if key in _CI_NAMES:
            rows.append((_label(key), f"{100 * value:.1f} %", f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}] %" if known else ""))
        else:
            rows.append((_label(key), f"{value:.4g}", f"± {(ci[1] - ci[0]) / 2:.2g}" if known else ""))
    width = max((len(label) for label, _, _ in rows), default=0)
    digits = max((len(text) for _, text, _ in rows), default=0)
    lines += [f"  {label.ljust(width)}  {text.rjust(digits)}  {ci}".rstrip() for label, text, ci in rows]
    return "\n".join(lines)


def check_summary_path(path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Check ``--out`` of ``validate`` / ``test`` before anything runs: a ``.json`` file, no silent overwrite."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        raise MimicLitError(f"--out of validate and test must end in .json, got '{path}'")
    return check_output(path, overwrite=overwrite)


def write_summary(path: str | os.PathLike, result: Mapping[str, Any]) -> Path:
    """Write ``result`` (a :func:`summary`) to ``path`` as JSON, atomically."""
    return write_text(path, json.dumps(dict(result), indent=2) + "\n")

"""Per-episode results of ``mimic-lit predict``: a table on the terminal and, with ``--out``, a
JSON or CSV file.

``predict`` plays the datamodule's deterministic evaluation episodes (the policy's mean action,
the same episodes ``validate`` scores) with a checkpoint's policy. Each episode becomes one row:

========================  =================================================================
``episode``               1, 2, ...
``length_s``              episode length in seconds
``end``                   how it ended: ``fell`` (a failure: fall, tracking lost),
                          ``succeeded`` (reached the clip's end, or the task's goal) or
                          ``time limit``
``return``                sum of the rewards
``mean_reward``           return / steps
``steps``                 control steps
``body_pos_err_m``        mean over the episode's steps of the bodies' distance to the
                          reference (tracking tasks)
``joint_err_rad``         mean absolute joint angle error (tracking tasks)
``root_pos_err_m``        distance of the root to the reference root (tracking tasks)
``goal_ball_dist_m``      distance of the ball to the goal (dribble goal)
``<metric>``              mean of any other per-step metric of the env (a goal's own)
========================  =================================================================

The metric columns are the env's per-step metrics (``EnvSpec.eval_metrics``), the ones ``validate``
reports as ``val/<metric>``: AMP policies have no tracking errors, goals add their own. The
summary (``episode: all``) averages over episodes, except the metrics and ``mean_reward``, which
average over every step, as ``validate``'s ``val/*`` metrics do. A JSON file holds
``{"episodes": [rows], "summary": row}``; a CSV file one line per episode and the summary last.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from mimic_lit.errors import MimicLitError
from mimic_lit.fileio import check_output, write_text

__all__ = ["OUT_FORMATS", "PredictionResults", "check_prediction_path", "episode_rows", "summary_row", "write_results"]

#: File formats of ``--out``, chosen by its suffix.
OUT_FORMATS: tuple[str, ...] = (".json", ".csv")

#: Column names (with units) of the metrics this package defines; any other metric keeps its name.
METRIC_COLUMNS: dict[str, str] = {
    "body_pos_err": "body_pos_err_m",
    "joint_err": "joint_err_rad",
    "root_pos_err": "root_pos_err_m",
    "goal_ball_dist": "goal_ball_dist_m",
}


def _metric_columns(batch: dict[str, torch.Tensor]) -> list[tuple[str, str]]:
    """(per-episode sum key, column) of every per-step metric the evaluation rollouts summed
    (``<metric>_sum``, in the env's order)."""
    names = [k[: -len("_sum")] for k in batch if k.endswith("_sum")]
    return [(f"{name}_sum", METRIC_COLUMNS.get(name, name)) for name in names]


def check_prediction_path(path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Validate ``--out`` before anything runs: ``.json`` or ``.csv``, and no silent overwrite."""
    path = Path(path)
    if path.suffix.lower() not in OUT_FORMATS:
        raise MimicLitError(f"--out must end in {' or '.join(OUT_FORMATS)}, got '{path}'")
    return check_output(path, overwrite=overwrite)


def _end(fell: float, succeeded: float) -> str:
    return "fell" if fell > 0.5 else "succeeded" if succeeded > 0.5 else "time limit"


def episode_rows(batches: list[dict[str, torch.Tensor]]) -> list[dict[str, Any]]:
    """One dict per episode from the batches ``predict_step`` returned (see the module doc)."""
    rows: list[dict[str, Any]] = []
    for batch in batches:
        steps = batch["steps"].double()
        for i in range(steps.numel()):
            n = float(steps[i])
            ret = float(batch["return"][i])
            row: dict[str, Any] = {
                "episode": len(rows) + 1,
                "length_s": float(batch["length_s"][i]),
                "end": _end(float(batch["fell"][i]), float(batch["succeeded"][i]) if "succeeded" in batch else 0.0),
                "return": ret,
                "mean_reward": ret / max(n, 1.0),
                "steps": int(n),
            }
            for key, column in _metric_columns(batch):
                row[column] = float(batch[key][i]) / max(n, 1.0)
            rows.append(row)
    return rows


def summary_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of ``rows``: episode means, step-weighted errors, counts of each ending."""
    count = len(rows)
    steps = sum(r["steps"] for r in rows)
    ends = {end: sum(r["end"] == end for r in rows) for end in ("fell", "succeeded", "time limit")}
    out: dict[str, Any] = {
        "episode": "all",
        "length_s": sum(r["length_s"] for r in rows) / max(count, 1),
        "end": ", ".join(f"{k} {v}" for k, v in ends.items()),
        "return": sum(r["return"] for r in rows) / max(count, 1),
        "mean_reward": sum(r["return"] for r in rows) / max(steps, 1),
        "steps": steps,
    }
    fixed = {"episode", "length_s", "end", "return", "mean_reward", "steps"}
    for column in [c for c in (rows[0] if rows else {}) if c not in fixed]:  # the metric columns
        out[column] = sum(r[column] * r["steps"] for r in rows) / max(steps, 1)
    out["episodes"] = count
    out["fall_rate"] = ends["fell"] / max(count, 1)
    out["success_rate"] = ends["succeeded"] / max(count, 1)
    return out


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return list(rows[0]) if rows else ["episode", "length_s", "end", "return", "mean_reward", "steps"]


def format_table(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    """The plain-text table ``predict`` prints: one line per episode, then the summary line."""
    headers = {
        "episode": "episode", "length_s": "length (s)", "end": "ended", "return": "return",
        "mean_reward": "mean reward", "steps": "steps", "body_pos_err_m": "body err (cm)",
        "joint_err_rad": "joint err (rad)", "root_pos_err_m": "root err (cm)", "goal_ball_dist_m": "ball-goal (m)",
    }  # fmt: skip
    scale = {"body_pos_err_m": 100.0, "root_pos_err_m": 100.0}
    digits = {"length_s": 2, "return": 2, "mean_reward": 3, "joint_err_rad": 3, "goal_ball_dist_m": 2}
    columns = _columns(rows)

    def cell(row: dict[str, Any], column: str) -> str:
        value = row.get(column, "")
        if isinstance(value, float):
            return f"{value * scale.get(column, 1.0):.{digits.get(column, 2)}f}"
        return str(value)

    table = [[headers.get(c, c) for c in columns]]
    table += [[cell(r, c) for c in columns] for r in rows]
    table.append([cell(summary, c) for c in columns])
    widths = [max(len(line[j]) for line in table) for j in range(len(columns))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if j in (0, 2) else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths)))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(table[0]), rule, *(line(r) for r in table[1:-1]), rule, line(table[-1])])


def write_results(path: str | os.PathLike, rows: list[dict[str, Any]], summary: dict[str, Any]) -> Path:
    """Write ``rows`` and ``summary`` to ``path`` (JSON or CSV by suffix), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps({"episodes": rows, "summary": summary}, indent=2)
    elif suffix == ".csv":
        columns = _columns(rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        writer.writerow(summary)
        text = buffer.getvalue()
    else:
        raise MimicLitError(f"--out must end in {' or '.join(OUT_FORMATS)}, got '{path}'")
    return write_text(path, text + ("" if text.endswith("\n") else "\n"))


class PredictionResults(Callback):
    """Collects what ``predict_step`` returns; when ``predict`` ends, prints the per-episode table
    and, if ``out`` is set, writes it (JSON or CSV by suffix; see :mod:`mimic_lit.predictions`).

    ``mimic-lit predict`` adds it for you (``--out FILE``, ``--overwrite``). Results are those of
    the process with global rank 0: run ``predict`` on one device.
    """

    def __init__(self, out: str | os.PathLike | None = None, overwrite: bool = False) -> None:
        super().__init__()
        self.out = check_prediction_path(out, overwrite=overwrite) if out else None
        self.overwrite = overwrite
        self.batches: list[dict[str, torch.Tensor]] = []
        self.rows: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}

    def on_predict_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.batches = []

    def on_predict_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if isinstance(outputs, dict) and "steps" in outputs:
            self.batches.append({k: v.detach().cpu() for k, v in outputs.items()})

    def on_predict_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.rows = episode_rows(self.batches)
        self.summary = summary_row(self.rows)
        if not trainer.is_global_zero:
            return
        if not self.rows:
            print("predict: no episodes were played")
            return
        print(format_table(self.rows, self.summary))
        if self.out is not None:
            # Checked again: the file may have appeared while the episodes ran.
            check_prediction_path(self.out, overwrite=self.overwrite)
            write_results(self.out, self.rows, self.summary)
            print(f"wrote {self.out} ({len(self.rows)} episodes)")

"""``mimic-lit predict``: a real quick-recipe run's checkpoint plays the evaluation episodes; the
command prints one table line per episode and a summary, and ``--out`` writes them as JSON or CSV.
The same run checks that ``fit`` prints neither Lightning's litlogger/litmodels adverts nor torch's
``_pytree`` deprecation warning."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mimic_lit.predictions import episode_rows, summary_row
from mimic_lit.quick import QUICK_VALUES

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "deepmimic_g1_walk.yaml"  # trained and evaluated with --quick
VAL_EPISODES = next(value for _, key, value, _ in QUICK_VALUES if key == ("eval_episodes",))  # predict plays them


def run_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mimic_lit.cli", *args],
        check=False, capture_output=True, text=True, timeout=timeout, cwd=cwd, env={**os.environ},
    )


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """(working folder, the finished ``fit``) of the quick G1 walk recipe, run as a user runs it."""
    work = tmp_path_factory.mktemp("predict_run")
    proc = run_cli("fit", "--config", str(RECIPE), "--quick", "--trainer.enable_progress_bar", "false", cwd=work)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (work / "runs" / "quick_deepmimic_g1_walk" / "checkpoints" / "last.ckpt").is_file()
    return work, proc


def _predict(work: Path, *extra: str) -> subprocess.CompletedProcess:
    ckpt = work / "runs" / "quick_deepmimic_g1_walk" / "checkpoints" / "last.ckpt"
    return run_cli("predict", "--config", str(RECIPE), "--quick", "--ckpt_path", str(ckpt),
                   "--trainer.enable_progress_bar", "false", *extra, cwd=work)


def _table(stdout: str) -> tuple[list[str], list[str], str]:
    """(header cells, episode lines, summary line) of the printed table."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("episode "))
    rules = [i for i in range(start, len(lines)) if set(lines[i].replace(" ", "")) == {"-"}]
    assert len(rules) == 2, stdout
    return lines[start].split("  "), lines[rules[0] + 1 : rules[1]], lines[rules[1] + 1]


def test_fit_prints_no_litlogger_advert_and_no_pytree_warning(quick_run):
    _, fit = quick_run
    assert "litlogger" not in fit.stderr + fit.stdout and "litmodels" not in fit.stderr + fit.stdout
    assert "_pytree" not in fit.stderr + fit.stdout
    assert "LeafSpec" not in fit.stderr


def test_predict_prints_one_line_per_episode_and_writes_json(quick_run):
    work, _ = quick_run
    proc = _predict(work, "--out", "results/eval.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    header, episodes, summary = _table(proc.stdout)
    assert "length (s)" in proc.stdout and "ended" in proc.stdout and "body err (cm)" in proc.stdout
    assert len(episodes) == VAL_EPISODES
    assert [line.split()[0] for line in episodes] == [str(i + 1) for i in range(VAL_EPISODES)]
    assert summary.split()[0] == "all"
    assert "wrote results/eval.json" in proc.stdout
    data = json.loads((work / "results" / "eval.json").read_text())  # the folder was created
    assert len(data["episodes"]) == VAL_EPISODES
    assert data["summary"]["episodes"] == VAL_EPISODES
    for row in data["episodes"]:
        assert row["length_s"] > 0 and row["steps"] > 0 and row["end"] in ("fell", "succeeded", "time limit")
        assert 0 < row["body_pos_err_m"] < 2 and 0 < row["joint_err_rad"] < 3
        assert row["mean_reward"] == pytest.approx(row["return"] / row["steps"])
    # each printed line shows its episode's numbers
    for line, row in zip(episodes, data["episodes"]):
        assert f"{row['length_s']:.2f}" in line and f"{row['body_pos_err_m'] * 100:.2f}" in line
    steps = sum(r["steps"] for r in data["episodes"])
    weighted = sum(r["body_pos_err_m"] * r["steps"] for r in data["episodes"]) / steps
    assert data["summary"]["body_pos_err_m"] == pytest.approx(weighted)


def test_predict_writes_csv_and_never_overwrites_silently(quick_run):
    work, _ = quick_run
    proc = _predict(work, "--out", "eval.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(work / "eval.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["episode"] for r in rows] == [*(str(i + 1) for i in range(VAL_EPISODES)), "all"]
    assert {"length_s", "end", "return", "mean_reward", "steps", "body_pos_err_m", "joint_err_rad"} <= set(rows[0])
    assert int(rows[-1]["steps"]) == sum(int(r["steps"]) for r in rows[:-1])

    digest = hashlib.sha256((work / "eval.csv").read_bytes()).hexdigest()
    again = _predict(work, "--out", "eval.csv")
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1] == "error: 'eval.csv' already exists; pass --overwrite to replace it"
    assert "Traceback" not in again.stderr and "Restoring states" not in again.stderr  # refused before loading
    assert hashlib.sha256((work / "eval.csv").read_bytes()).hexdigest() == digest
    replaced = _predict(work, "--out", "eval.csv", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr[-3000:]


def test_predict_refuses_an_unknown_out_format_before_running(quick_run):
    work, _ = quick_run
    proc = _predict(work, "--out", "eval.txt")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "error: --out must end in .json or .csv, got 'eval.txt'"
    assert "Traceback" not in proc.stderr and "Restoring states" not in proc.stderr
    assert not (work / "eval.txt").exists()


def test_out_is_an_option_of_predict_only(tmp_path):
    predict_help = run_cli("predict", "--help", cwd=tmp_path)
    assert predict_help.returncode == 0 and "--out OUT" in predict_help.stdout
    fit_help = run_cli("fit", "--help", cwd=tmp_path)
    assert fit_help.returncode == 0 and "--out" not in fit_help.stdout


def test_rows_and_summary_from_predict_step_batches():
    """The table's arithmetic on hand-made episodes: per-episode means, step-weighted summary."""
    batch = {
        "length_s": torch.tensor([1.0, 3.0], dtype=torch.float64),
        "fell": torch.tensor([1.0, 0.0], dtype=torch.float64),
        "succeeded": torch.tensor([0.0, 1.0], dtype=torch.float64),
        "return": torch.tensor([10.0, 90.0], dtype=torch.float64),
        "steps": torch.tensor([10.0, 30.0], dtype=torch.float64),
        "body_pos_err_sum": torch.tensor([1.0, 0.6], dtype=torch.float64),
    }
    rows = episode_rows([batch])
    assert [r["end"] for r in rows] == ["fell", "succeeded"]
    assert rows[0]["body_pos_err_m"] == pytest.approx(0.1) and rows[1]["body_pos_err_m"] == pytest.approx(0.02)
    assert "joint_err_rad" not in rows[0]  # the task did not report it
    summary = summary_row(rows)
    assert summary["length_s"] == pytest.approx(2.0) and summary["return"] == pytest.approx(50.0)
    assert summary["mean_reward"] == pytest.approx(100.0 / 40.0)
    assert summary["body_pos_err_m"] == pytest.approx(1.6 / 40.0)
    assert summary["fall_rate"] == 0.5 and summary["success_rate"] == 0.5 and summary["episodes"] == 2

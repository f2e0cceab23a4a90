"""Records for tests, built through dpbench's record types (`dpbench.records`), so that a field added to or
removed from a record breaks every fixture at once; and the report fixture (a results store and three
compression run folders) that the report tests read."""

from __future__ import annotations

import atexit
import dataclasses
import functools
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dpbench.records.compress_summary import CompressionSummary, write_summary
from dpbench.records.superb_result import SuperbResult
from dpbench.records.train_log import TrainLogRow, write_log
from dpbench.report.tasks import TASK_BY_NAME

_CONV = {"conv_kernels": [10, 3, 3, 3, 3, 2, 2], "conv_strides": [5, 2, 2, 2, 2, 2, 2]}


def encoder_config(conv_channels: list[int], num_heads: list[int], ffn_dims: list[int]) -> dict[str, Any]:
    """A tiny HuBERT EncoderConfig dict (hidden 96, heads of 24) with these kept units."""
    return {
        "arch": "hubert",
        "conv_channels": conv_channels,
        **_CONV,
        "ffn_dims": ffn_dims,
        "head_dim": 24,
        "hidden_size": 96,
        "layer_norm_first": False,
        "num_heads": num_heads,
        "num_layers": len(num_heads),
    }


TEACHER_CONFIG = encoder_config([64] * 7, [4] * 4, [384] * 4)


def superb_result(
    task: str,
    value: float,
    upstream: str,
    *,
    metric: str | None = None,
    params: int | None = 1000,
    macs: float | None = 1e9,
    lr: float = 1e-3,
    **fields: Any,
) -> SuperbResult:
    """A SUPERB record of `upstream` on `task` (its primary metric unless `metric` is given); the fields a
    test does not care about get plausible values."""
    metric = metric or TASK_BY_NAME[task].metrics[0].name
    higher = TASK_BY_NAME[task].metric(metric).higher_is_better
    defaults = dict(
        upstream_path=upstream,
        steps=200,
        scale="cpu",
        wall_time_s=61.5,
        config_hash="h",
        run_dir=f"superb/{upstream}/{task}/lr{lr:g}",
        timestamp=1_790_000_000.0,
        device="cpu",
    )
    return SuperbResult(
        task=task,
        metric=metric,
        value=value,
        higher_is_better=higher,
        upstream=upstream,
        params=params,
        macs=macs,
        lr=lr,
        **{**defaults, **fields},
    )


def compression_summary(
    name: str,
    method: str,
    sparsity: float,
    *,
    teacher: str = "tiny-hubert",
    teacher_params: int = 1000,
    teacher_macs: float = 1e9,
    config: dict[str, Any] | None = None,
    teacher_config: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    **fields: Any,
) -> CompressionSummary:
    """The summary of a run that reached `sparsity` (parameters and MACs alike); other fields plausible."""
    config = config or encoder_config([8] * 7, [2, 2], [10, 10])
    params, macs = round(teacher_params * (1 - sparsity)), teacher_macs * (1 - sparsity)
    defaults = dict(
        macs_sparsity=sparsity,
        size_vs_target=1.0,
        teacher_config=teacher_config or config,
        kept_units={key: list(config[key]) for key in ("conv_channels", "num_heads", "ffn_dims")},
        distill_pairs=[[0, 0], [config["num_layers"], 4]],
        calibration=None,
        steps={"prune": 200, "final": 100},
        wall_time_s=812.4,
        student_path=f"runs/{name}/student.pt",
        losses={"final_loss": 1.0},
        distill_heads=[0, 1],
        student_dropouts={"dropout": 0.0},
        skipped_files=0,
    )
    return CompressionSummary(
        method=method,
        name=name,
        teacher=teacher,
        params=params,
        macs=macs,
        teacher_params=teacher_params,
        teacher_macs=teacher_macs,
        target={"kind": "params", "sparsity": sparsity},
        sparsity=sparsity,
        config=config,
        options={"seed": 0, **(options or {})},
        **{**defaults, **fields},
    )


def training_log(prune_steps: int, final_steps: int, target: float, every: int = 10) -> list[TrainLogRow]:
    """A smooth log: stage 1 (when prune_steps) with sparsity warming up to `target` over half of it and
    multipliers growing, then stage 2 counting its steps from `every`; losses decay exponentially."""
    rows = []
    for step in range(every, prune_steps + 1, every):
        scheduled = target * min(1.0, 2 * step / prune_steps)
        expected = scheduled * (1 - 0.1 * math.exp(-step / 50))
        distill = 1.0 + 2.0 * math.exp(-step / 60)
        reg = (scheduled - expected) * 0.5
        rows.append(
            TrainLogRow(
                step=step,
                stage="prune",
                loss=distill + reg,
                distill_loss=distill,
                reg_loss=reg,
                expected_sparsity=expected,
                target_sparsity=scheduled,
                lambda1=-step / 250,
                lambda2=step / 500,
                lr=2e-4 * min(1.0, step / 50),
            )
        )
    for step in range(every, final_steps + 1, every):
        distill = 0.9 + 2.0 * math.exp(-step / 40)
        rows.append(
            TrainLogRow(
                step=step,
                stage="final",
                loss=distill,
                distill_loss=distill,
                lr=1e-4 * (1 - step / (final_steps + every)),
            )
        )
    return rows


def write_store(path: Path, results: list[SuperbResult]) -> Path:
    """A JSONL results store holding `results`, as `dpbench superb` writes them."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(result.to_json(), sort_keys=True) + "\n" for result in results))
    return path


def write_run(folder: Path, summary: CompressionSummary, log: list[TrainLogRow] | None = None) -> Path:
    """A compression run folder: its summary.json and, given a log, its train_log.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    write_summary(folder, summary)
    if log is not None:
        write_log(folder / "train_log.csv", log)
    return folder


# The report fixture's store: model -> (params, MACs/s, [(task, metric, value, lr), ...])
_TEACHER_PARAMS, _TEACHER_MACS = 2_412_000, 1.92e9
_MEASURED = {
    "tiny-hubert": (
        _TEACHER_PARAMS,
        _TEACHER_MACS,
        [
            ("KS", "accuracy", 94.12, 1e-4),
            ("IC", "accuracy", 80.0, 1e-4),
            ("IC", "accuracy", 82.0, 1e-4),
            ("PR", "per", 21.35, 1e-4),
            ("ASR", "wer", 38.4, 1e-4),
            ("ER", "accuracy", 55.3, 1e-4),
            ("SF", "f1", 71.2, 1e-4),
            ("SF", "cer", 31.7, 1e-4),
            ("SID", "accuracy", 42.8, 1e-4),
        ],
    ),
    "DPHuBERT-50": (
        1_206_500,
        9.8e8,
        [
            ("KS", "accuracy", 93.5, 1e-4),
            ("IC", "accuracy", 79.4, 1e-4),
            ("PR", "per", 24.9, 1e-4),
            ("ER", "accuracy", 54.6, 1e-4),
            ("SF", "f1", 68.8, 1e-4),
            ("SF", "cer", 34.2, 1e-4),
            ("SID", "accuracy", 39.9, 1e-4),
        ],
    ),
    "DPHuBERT-75": (
        603_300,
        5.1e8,
        [
            ("KS", "accuracy", 90.1, 1e-4),
            ("KS", "accuracy", 92.3, 1e-3),
            ("IC", "accuracy", 76.25, 1e-4),
            ("PR", "per", 30.5, 1e-4),
            ("PR", "per", 28.4, 1e-3),
            ("ASR", "wer", 47.9, 1e-4),
            ("ER", "accuracy", 53.1, 1e-4),
            ("SF", "f1", 60.0, 1e-4),
            ("SF", "cer", 45.0, 1e-4),
            ("SF", "f1", 58.0, 1e-3),
            ("SF", "cer", 40.0, 1e-3),
            ("SID", "accuracy", 35.6, 1e-4),
        ],
    ),
    "DistilHuBERT": (
        650_100,
        5.5e8,
        [
            ("KS", "accuracy", 91.0, 1e-4),
            ("IC", "accuracy", 70.4, 1e-4),
            ("PR", "per", 33.8, 1e-4),
            ("SID", "accuracy", 30.2, 1e-4),
        ],
    ),
}
# folder -> (name, method, target, achieved sparsity, student config, stage-1 and stage-2 steps logged or None)
_RUNS = {
    "dphubert-50": (
        "DPHuBERT-50",
        "dphubert",
        0.5,
        0.4998,
        encoder_config([55, 60, 62, 63, 63, 62, 48], [4, 3, 2, 2], [300, 260, 200, 120]),
        None,
    ),
    "dphubert-75": (
        "DPHuBERT-75",
        "dphubert",
        0.75,
        0.7499,
        encoder_config([40, 52, 55, 58, 60, 57, 30], [3, 2, 0, 1], [210, 150, 96, 0]),
        (200, 100),
    ),
    "distilhubert": (
        "DistilHuBERT",
        "distilhubert",
        0.73,
        0.7305,
        encoder_config([64] * 7, [4, 4], [384, 384]),
        (0, 300),
    ),
}


def report_results() -> list[SuperbResult]:
    """The fixture store's records: a teacher, two DPHuBERT students and DistilHuBERT, some tasks at two
    learning rates, IC of the teacher run twice at one rate."""
    results = []
    for upstream, (params, macs, rows) in _MEASURED.items():
        run = next((folder for folder, spec in _RUNS.items() if spec[0] == upstream), None)
        path = f"runs/{run}/student.pt" if run else upstream
        for task, metric, value, lr in rows:
            number = len(results)
            results.append(
                superb_result(
                    task,
                    value,
                    upstream,
                    metric=metric,
                    params=params,
                    macs=macs,
                    lr=lr,
                    upstream_path=path,
                    config_hash=f"h{number}",
                    timestamp=1_790_000_000.0 + number,
                    device=None,
                )
            )
    return results


def write_report_fixture(folder: Path) -> Path:
    """`folder`/results.jsonl and `folder`/runs/<run>/ (summary.json, and train_log.csv for two runs)."""
    write_store(folder / "results.jsonl", report_results())
    for run, (name, method, target, sparsity, config, steps) in _RUNS.items():
        params, macs, _ = _MEASURED[name]
        summary = compression_summary(
            name,
            method,
            sparsity,
            teacher_params=_TEACHER_PARAMS,
            teacher_macs=_TEACHER_MACS,
            config=config,
            teacher_config=TEACHER_CONFIG,
            student_path=f"runs/{run}/student.pt",
        )
        summary = dataclasses.replace(summary, params=params, macs=macs, target={"kind": "params", "sparsity": target})
        write_run(folder / "runs" / run, summary, training_log(*steps, target) if steps else None)
    return folder


@functools.cache
def report_fixture() -> Path:
    """The report fixture, written once per test process into a temporary folder removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="dpbench-report-fixture-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return write_report_fixture(folder)

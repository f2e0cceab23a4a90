"""RUN/summary.json: the summary of a compression run, written by `dpbench compress` (`compress/runner.py`)
and read by the report (`report/runs.py`), the demo and the benchmarks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json
from dpbench.records.schema import check_version, parse, to_json

SUMMARY_FILE = "summary.json"
VERSION = 1
_REWRITE = "rerun the run's `dpbench compress` command with a new --out"
_CONFIG_KEYS = ("conv_channels", "num_layers", "num_heads", "ffn_dims")  # what the report reads of a config


@dataclass(frozen=True)
class CompressionSummary:
    """A finished compression run: the student's size against its teacher's, how it was trained, where it is."""

    method: str  # a `dpbench compress --method`
    name: str  # the run's name (the SUPERB upstream name of its student)
    teacher: str  # the teacher spec: a name or a checkpoint path
    params: int  # the student's parameters
    macs: float  # the student's MACs per second of 16 kHz audio
    teacher_params: int
    teacher_macs: float
    target: dict[str, Any]  # {"kind": "params" | "macs", "sparsity": float}
    sparsity: float  # 1 - params / teacher_params
    macs_sparsity: float  # 1 - macs / teacher_macs
    size_vs_target: float  # the student's size (of the target's kind) over the size budget
    config: dict[str, Any]  # the student's EncoderConfig.to_dict()
    teacher_config: dict[str, Any]
    kept_units: dict[str, list[int]]  # per layer: conv_channels, num_heads, ffn_dims
    distill_pairs: list[list[int]]  # [student layer, teacher layer] of each distillation target
    calibration: dict[str, Any] | None  # the gate calibration record (None: no gates)
    steps: dict[str, int]  # {"prune": stage-1 steps, "final": stage-2 steps}
    wall_time_s: float
    student_path: str  # RUN/student.pt, absolute
    losses: dict[str, float]  # "<stage>_<term>": mean over the stage's last logged steps
    options: dict[str, Any]  # compress_config.json: the options that decide the result
    # added after the first runs; None in their summaries
    distill_heads: list[int] | None = None  # the linear (or Linear + GELU) head each pair uses
    student_dropouts: dict[str, float] | None = None
    skipped_files: int | None = None  # training files skipped as unusable (RUN/skipped_audio.tsv)

    @property
    def ablation(self) -> str | None:
        """The `--ablation` preset of the run (None: the full recipe, or a run made before presets)."""
        return self.options.get("ablation")

    @property
    def target_sparsity(self) -> float | None:
        return self.target.get("sparsity")


def write_summary(folder: Path, summary: CompressionSummary) -> None:
    atomic_write_json(Path(folder) / SUMMARY_FILE, to_json(summary, VERSION))


def read_summary(folder: Path) -> CompressionSummary:
    """The summary of the run in `folder`, checked (DpbenchError naming the file and the field)."""
    path = Path(folder) / SUMMARY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DpbenchError(f"{path}: cannot read it as JSON ({error}); {_REWRITE}") from error
    check_version(data, str(path), VERSION, _REWRITE)
    summary = parse(CompressionSummary, data, str(path), _REWRITE)
    for key in ("config", "teacher_config"):
        _check_config(getattr(summary, key), f"{path} [{key}]")
    return summary


def _check_config(config: dict[str, Any], where: str) -> None:
    if any(key not in config for key in _CONFIG_KEYS):
        raise DpbenchError(f"{where}: an encoder config needs {list(_CONFIG_KEYS)}; {_REWRITE}")
    layers = config["num_layers"]
    if len(config["num_heads"]) != layers or len(config["ffn_dims"]) != layers:
        raise DpbenchError(f"{where}: num_heads and ffn_dims need one entry per layer ({layers})")

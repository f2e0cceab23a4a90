"""One SUPERB result: built by `dpbench superb` (`superb/run.py`), kept in RUN/result.json and in the results
store (`dpbench.results`), read by the report (`report/selection.py`)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpbench.errors import DpbenchError
from dpbench.records.schema import check_version, parse, to_json

VERSION = 1
_REWRITE = "rerun that `dpbench superb` run (delete its run folder first) or delete the record"
_OMITTED_WHEN_NONE = ("details", "secondary")  # written only by the tasks that have them


@dataclass(frozen=True)
class SuperbResult:
    """One metric of one upstream on one task at one learning rate. Values are in SUPERB's units: accuracy,
    PER, WER, CER, EER, DER in percent; MTWV as a fraction."""

    task: str  # "KS", "IC", "PR", "ASR", "ER", "SID", "QbE", "SF", "ASV", "SD"
    metric: str  # e.g. "accuracy", "per", "wer"
    value: float  # on the test set
    higher_is_better: bool
    upstream: str  # display name of the model, e.g. "DPHuBERT" or "tiny-hubert"
    upstream_path: str  # checkpoint path or teacher name
    params: int | None  # parameter count of the upstream (None: an s3prl hub entry)
    macs: float | None  # MACs per second of 16 kHz audio
    lr: float
    steps: int
    scale: str  # "cpu" or "paper"
    wall_time_s: float
    config_hash: str
    run_dir: str
    timestamp: float
    # added after the first records; None in theirs
    dev_value: float | None = None  # the dev-set value that selected the checkpoint (None where there is none)
    upstream_sha256: str | None = None  # content hash of the upstream checkpoint (None for hub entries)
    seed: int | None = None  # downstream training seed (None: s3prl's default)
    ci_low: float | None = None  # 95% bootstrap interval over test items (dpbench.stats)
    ci_high: float | None = None
    n_items: int | None = None  # number of test items the interval resamples
    items_path: str | None = None  # JSON of per-item results (dpbench.stats.Items), for paired comparisons
    device: str | None = None
    details: dict[str, Any] | None = None  # per-fold / per-checkpoint values
    secondary: dict[str, float] | None = None  # other metrics of the task, each also stored as its own record

    def to_json(self) -> dict[str, Any]:
        """The record as result.json and the store hold it (no `details`/`secondary` where there are none)."""
        data = to_json(self, VERSION)
        return {key: value for key, value in data.items() if not (key in _OMITTED_WHEN_NONE and value is None)}


FIELDS = tuple(field.name for field in dataclasses.fields(SuperbResult))


def parse_result(data: Any, where: str) -> SuperbResult:
    """A record read from a file or a store, checked; `where` names it in errors."""
    check_version(data, where, VERSION, _REWRITE)
    return parse(SuperbResult, data, where, _REWRITE)


def read_result(path: Path) -> SuperbResult:
    """RUN/result.json, checked."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DpbenchError(f"{path}: cannot read it as JSON ({error}); {_REWRITE}") from error
    return parse_result(data, str(path))

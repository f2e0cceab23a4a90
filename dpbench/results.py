"""The results store: one JSON record per line, appended under a file lock so concurrent
`dpbench superb` runs cannot interleave or corrupt records."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

# The fields of a SUPERB record, in one place: `dpbench superb` writes exactly these (others from
# older stores are kept when read).
RECORD_FIELDS = (
    "task",            # "KS", "IC", "PR", "ASR", "ER", "SID", "QbE", "SF", "ASV", "SD"
    "metric",          # metric name, e.g. "accuracy", "per", "wer"
    "value",           # float, in the unit SUPERB reports (accuracy and error rates in percent)
    "dev_value",       # the dev-set value that selected the checkpoint (None where there is none)
    "higher_is_better",
    "upstream",        # display name of the model, e.g. "DPHuBERT" or "tiny-hubert"
    "upstream_path",   # checkpoint path or teacher name
    "upstream_sha256", # content hash of the upstream checkpoint (None for hub entries)
    "params",          # parameter count of the upstream
    "macs",            # MACs per second of 16 kHz audio
    "lr",
    "seed",            # downstream training seed (None: s3prl's default)
    "ci_low",          # 95% bootstrap interval over test items (dpbench.stats; None: no per-item output)
    "ci_high",
    "n_items",         # number of test items the interval resamples
    "items_path",      # JSON of per-item results (dpbench.stats.Items), for paired comparisons
    "steps",
    "scale",           # "cpu" or "paper"
    "device",
    "wall_time_s",
    "config_hash",
    "run_dir",
    "timestamp",
    "details",         # optional: per-fold / per-checkpoint values
    "secondary",       # optional: other metrics of the task, each also stored as its own record
)
OPTIONAL_RECORD_FIELDS = ("details", "secondary")


class ResultsStore:
    """Append-only JSONL file of result records, safe for concurrent writers."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock")

    def append(self, record: dict[str, Any]) -> None:
        """Append one record atomically (a whole line or nothing)."""
        record = {"timestamp": time.time(), **record}
        line = json.dumps(record, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield records in order; a torn last line (a writer killed mid-write) is skipped."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    def records(self) -> list[dict[str, Any]]:
        return list(self)

    def to_frame(self):
        """All records as a pandas DataFrame (imported lazily)."""
        import pandas as pd

        return pd.DataFrame(self.records())

"""The results store: one JSON record per line, appended under a file lock so concurrent
`dpbench superb` runs cannot interleave or corrupt records."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

# Fields every SUPERB record carries (others are allowed and kept).
RECORD_FIELDS = (
    "task",            # "KS", "IC", "PR", "ASR", "ER", "SID", "QbE", "SF", "ASV", "SD"
    "metric",          # metric name, e.g. "accuracy", "per", "wer"
    "value",           # float, in the unit SUPERB reports (accuracy and error rates in percent)
    "higher_is_better",
    "upstream",        # display name of the model, e.g. "DPHuBERT" or "tiny-hubert"
    "upstream_path",   # checkpoint path or teacher name
    "params",          # parameter count of the upstream
    "macs",            # MACs per second of 16 kHz audio
    "lr",
    "steps",
    "scale",           # "cpu" or "paper"
    "wall_time_s",
    "config_hash",
    "run_dir",
    "timestamp",
)
# Records of other kinds share the store and say so in this field; SUPERB records leave it out.
KIND_FIELD = "kind"
SUPERB_KIND = "superb"


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

    def records(self, kind: str = SUPERB_KIND) -> list[dict[str, Any]]:
        """The records of one kind (SUPERB results unless asked otherwise)."""
        return [record for record in self if record.get(KIND_FIELD, SUPERB_KIND) == kind]

    def to_frame(self, kind: str = SUPERB_KIND):
        """The records of one kind as a pandas DataFrame (imported lazily)."""
        import pandas as pd

        return pd.DataFrame(self.records(kind))

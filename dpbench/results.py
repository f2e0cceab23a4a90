"""The results store: one JSON record per line, appended under a file lock so concurrent
`dpbench superb` runs cannot interleave or corrupt records."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock

# A SUPERB record's fields: dpbench.records.superb_result.SuperbResult.
# Records of other kinds share the store and say so in this field; SUPERB records leave it out.
KIND_FIELD = "kind"
SUPERB_KIND = "superb"


class _Store:
    """What both stores offer on top of iteration: records of one kind, as a list or a DataFrame."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def records(self, kind: str = SUPERB_KIND) -> list[dict[str, Any]]:
        """The records of one kind (SUPERB results unless asked otherwise)."""
        return [record for record in self if record.get(KIND_FIELD, SUPERB_KIND) == kind]

    def to_frame(self, kind: str = SUPERB_KIND):
        """The records of one kind as a pandas DataFrame (imported lazily)."""
        import pandas as pd

        return pd.DataFrame(self.records(kind))


class ResultsStore(_Store):
    """Append-only JSONL file of result records, safe for concurrent writers."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock")
        self.skipped: list[int] = []  # line numbers the last read could not parse

    def append(self, record: dict[str, Any]) -> None:
        """Append one record atomically (a whole line or nothing)."""
        record = {"timestamp": time.time(), **record}
        line = json.dumps(record, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            with open(self.path, "a+b") as handle:
                if handle.tell() > 0:  # a writer killed mid-line left no newline: start on a fresh line
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":
                        line = "\n" + line
                handle.write(line.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield records in order; an unreadable line (e.g. torn by a writer killed mid-write) is skipped with a
        warning naming the file and line, and its number kept in `skipped`."""
        self.skipped = []
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    record = None
                if not isinstance(record, dict):
                    self.skipped.append(number)
                    print(f"[dpbench] WARNING: {self.path}:{number}: not a JSON record, skipped", file=sys.stderr)
                    continue
                yield record


def record_key(record: dict[str, Any]) -> str:
    """A record's identity: its run folder, timestamp and metric (one file per key in a RecordFolder)."""
    import hashlib

    identity = json.dumps([record.get("run_dir"), record.get("timestamp"), record.get("metric")], default=str)
    return hashlib.sha256(identity.encode()).hexdigest()[:20]


class RecordFolder(_Store):
    """A results store safe on a shared (network) filesystem: every record is its own JSON file,
    written atomically (temporary file + rename) and named by `record_key`, so writers on any
    machine never touch the same file, need no lock, and writing a record twice leaves one copy.
    Reading returns the union of the folder's records."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.skipped: list[int] = []  # always empty: record files are whole; an unreadable one is an error

    def append(self, record: dict[str, Any]) -> None:
        from dpbench.io_utils import atomic_write_json

        record = {"timestamp": time.time(), **record}
        atomic_write_json(self.file_for(record), record)

    def file_for(self, record: dict[str, Any]) -> Path:
        """The file that holds `record` (named by its task and `record_key`)."""
        task = "".join(c for c in str(record.get("task", "record")) if c.isalnum())
        return self.path / f"{task}-{record_key(record)}.json"

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Records in timestamp order; temporary files of unfinished writes (`.NAME.tmp`) are not read."""
        from dpbench.errors import DpbenchError

        if not self.path.is_dir():
            return
        loaded = []
        for file in sorted(self.path.glob("[!.]*.json")):
            try:
                loaded.append(json.loads(file.read_text(encoding="utf-8")))
            except json.JSONDecodeError as error:
                raise DpbenchError(f"{file}: not a JSON record ({error}); fix or delete that file") from None
        yield from sorted(loaded, key=lambda record: record.get("timestamp") or 0.0)


def is_record_folder(path: str | os.PathLike[str]) -> bool:
    """A results path names a RecordFolder when it is a folder, or does not exist and has no suffix
    (`results`, not `results.jsonl`)."""
    path = Path(path)
    return path.is_dir() or (not path.exists() and not path.suffix)


def open_store(path: str | os.PathLike[str]) -> ResultsStore | RecordFolder:
    """The store at `path`: a RecordFolder (see `is_record_folder`) or a JSONL ResultsStore."""
    return RecordFolder(path) if is_record_folder(path) else ResultsStore(path)

"""RUN/train_log.csv: one row per optimizer step of a compression stage, written by `compress/callbacks.py`
(`StepCSVLogger`), read by the runner (the summary's final losses) and the report (training curves).

A CSV file with a header; the last column is `schema_version` (files without it read as version 1)."""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.records.schema import VERSION_KEY, check_version

TRAIN_LOG_FILE = "train_log.csv"
VERSION = 1
_REWRITE = "delete the file or rerun the run's `dpbench compress` command with a new --out"


@dataclass(frozen=True)
class TrainLogRow:
    """One optimizer step: its loss terms averaged over accumulated micro-batches, sparsity, multipliers, lr.
    Terms a stage does not have are None (empty cells)."""

    step: int  # the stage's optimizer step (each stage counts from 1)
    stage: str  # "prune" (stage 1) or "final" (stage 2)
    loss: float  # distill_loss + reg_loss
    distill_loss: float | None = None
    reg_loss: float | None = None  # the Lagrangian sparsity penalty
    expected_sparsity: float | None = None
    target_sparsity: float | None = None
    lambda1: float | None = None
    lambda2: float | None = None
    lr: float | None = None  # the main parameter group's learning rate

    def cells(self) -> list[str]:
        """The row as CSV cells: numbers to 6 significant digits, None as empty, then the version."""
        values = [getattr(self, name) for name in FIELDS]
        return [str(self.step), self.stage] + ["" if v is None else f"{v:.6g}" for v in values[2:]] + [str(VERSION)]


FIELDS = tuple(field.name for field in dataclasses.fields(TrainLogRow))
COLUMNS = (*FIELDS, VERSION_KEY)
REQUIRED = ("step", "stage", "loss")


def header() -> str:
    return ",".join(COLUMNS) + "\n"


def append_row(path: Path, row: TrainLogRow) -> None:
    """Append one row to a log that `write_log` started."""
    with Path(path).open("a", newline="") as handle:
        csv.writer(handle).writerow(row.cells())


def write_log(path: Path, rows: list[TrainLogRow]) -> None:
    """Write the whole log atomically (header, then `rows`)."""
    lines = [",".join(row.cells()) + "\n" for row in rows]
    atomic_write_text(path, header() + "".join(lines))


def read_log(path: Path) -> list[TrainLogRow]:
    """Every row of the log at `path`, checked: a DpbenchError names the file, the line and the column."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                raise DpbenchError(f"{path}: missing columns {missing}; expected at least {list(REQUIRED)}; {_REWRITE}")
            return [_parse_row(cells, f"{path}:{reader.line_num}") for cells in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DpbenchError(f"{path}: cannot read it as CSV ({error}); {_REWRITE}") from error


def _parse_row(cells: dict[str | None, str | None], where: str) -> TrainLogRow:
    if None in cells or any(value is None for value in cells.values()):
        raise DpbenchError(f"{where}: the row does not have one cell per column; {_REWRITE}")
    version = cells.get(VERSION_KEY)
    check_version({VERSION_KEY: _number(version, where, VERSION_KEY, int)} if version else {}, where, VERSION, _REWRITE)
    values: dict[str, object] = {}
    for name in FIELDS:
        cell = cells.get(name) or ""
        if name == "stage":
            values[name] = cell
        elif cell:
            values[name] = _number(cell, where, name, int if name == "step" else float)
        elif name in REQUIRED:
            raise DpbenchError(f"{where}: column {name!r} is empty; {_REWRITE}")
    if not values["stage"]:
        raise DpbenchError(f"{where}: column 'stage' is empty; {_REWRITE}")
    return TrainLogRow(**values)  # type: ignore[arg-type]


def _number(cell: str, where: str, column: str, kind: type) -> int | float:
    try:
        return kind(cell)
    except ValueError:
        raise DpbenchError(f"{where}: column {column!r} is {cell!r}, expected {kind.__name__}; {_REWRITE}") from None

"""The Table 1 layout (one row per model) and teacher-relative scores.

Relative score, our aggregate (not SUPERB's official "superb score", which needs FBANK and
state-of-the-art reference points per task): for every metric a model shares with its teacher,
retention = 100 * goodness(model) / goodness(teacher), where goodness is the value itself when
higher is better and 100 - value for error rates (percent). SF averages its F1 and CER
retentions; the relative score is the mean over tasks, given only when at least
MIN_AGGREGATE_TASKS tasks are shared with the teacher.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dpbench.errors import DpbenchError
from dpbench.report.paper import PAPER_SOURCE
from dpbench.report.selection import MEASURED_SOURCE, SELECTION_RULE, best_cells
from dpbench.report.tasks import TASKS, column_key
from dpbench.report.uncertainty import EXPLANATION

MIN_AGGREGATE_TASKS = 3
UNCERTAINTY_COLUMNS = ("ci_low", "ci_high", "std", "tied")  # per cell, as columns "<task>_<metric>__<name>"
UNCERTAINTY_SEPARATOR = "__"
SCORE_COLUMN = "relative_score"
SCORE_TASKS_COLUMN = "relative_score_tasks"


@dataclass(frozen=True)
class SuperbTable:
    """The table's numbers (`frame`, indexed by model; column `teacher`: the model a row's relative
    score divides by), each source's reference teacher, and the students that have their own teacher."""

    frame: pd.DataFrame
    teachers: dict[str, str]
    teacher_of: dict[str, str] = field(default_factory=dict)

    @property
    def caption(self) -> str:
        parts = [
            "SUPERB results; ↑ higher is better, ↓ lower is better; — not run. "
            "Params in millions, MACs in billions per second of 16 kHz audio.",
            SELECTION_RULE,
        ]
        if (self.frame["source"] == PAPER_SOURCE).any():
            parts.append(
                "Rows marked (paper) are the published numbers of DPHuBERT's Table 1 "
                "(Peng et al., Interspeech 2023; LibriSpeech 960 h students), for reference only."
            )
        teachers = ", ".join(f"{source} rows: {name}" for source, name in self.teachers.items())
        own = sorted(set(self.teacher_of.values()))
        if len(own) > 1 or (own and own[0] not in self.teachers.values()):
            teachers = f"each student's own teacher ({', '.join(own)}; rows follow their teacher)" + (
                f", other {teachers}" if teachers else ""
            )
        parts.append(
            "Rel. score: mean over tasks of the model's score as % of its teacher's "
            f"({teachers or 'no teacher row, so not computed'}); error rates count as 100 − rate, "
            f"SF averages F1 and CER; shown with ≥{MIN_AGGREGATE_TASKS} shared tasks, "
            "their number in brackets."
        )
        if self.frame.filter(like=f"{UNCERTAINTY_SEPARATOR}ci_low").notna().any().any():
            parts.append(EXPLANATION)
        return " ".join(parts)


def retention(frame: pd.DataFrame, teacher_name: str) -> pd.DataFrame:
    """How much of `teacher_name`'s score each model keeps, in percent.

    `frame` holds result records (as `ResultsStore.to_frame()`). Returns one row per model,
    one column per task the teacher has (SF: mean of F1 and CER), `relative_score` (mean over
    tasks, NaN below MIN_AGGREGATE_TASKS shared tasks) and `relative_score_tasks`."""
    return retention_from_cells(best_cells(frame), teacher_name)


def retention_from_cells(cells: pd.DataFrame, teacher_name: str) -> pd.DataFrame:
    """`retention` on already selected cells (the output of `best_cells`)."""
    if teacher_name not in set(cells["model"]):
        known = ", ".join(dict.fromkeys(cells["model"]))
        raise DpbenchError(f"teacher {teacher_name!r} has no results; models with results: {known}")
    goodness = np.where(cells["higher_is_better"], cells["value"], 100.0 - cells["value"])
    scored = cells.assign(goodness=goodness)
    teacher = scored[scored["model"] == teacher_name].set_index(["task", "metric"])["goodness"]
    reference = teacher.reindex(pd.MultiIndex.from_frame(scored[["task", "metric"]])).to_numpy()
    reference = np.where(reference > 0, reference, np.nan)
    scored["retention"] = 100.0 * scored["goodness"].to_numpy() / reference
    per_task = scored.groupby(["model", "task"], sort=False)["retention"].mean().unstack("task")
    teacher_tasks = set(teacher.index.get_level_values("task"))
    tasks = [task.name for task in TASKS if task.name in teacher_tasks]
    result = per_task.reindex(index=list(dict.fromkeys(cells["model"])), columns=tasks)
    counts = result.notna().sum(axis=1)
    result[SCORE_COLUMN] = result.mean(axis=1).where(counts >= MIN_AGGREGATE_TASKS)
    result[SCORE_TASKS_COLUMN] = counts
    return result


def build_table(cells: pd.DataFrame, teachers: dict[str, str], teacher_of: dict[str, str] | None = None) -> SuperbTable:
    """Wide table: source, teacher, params, macs, one numeric column per task metric, relative score.

    `teachers` maps a source ("measured", "paper") to the model its rows are compared with;
    `teacher_of` maps a student to its own teacher (from its compression run), which wins over the
    source's. Measured rows come first: each teacher (largest first) followed by its students
    (largest first), then the rest, largest first; paper rows follow in the paper's order."""
    teacher_of = {model: teacher for model, teacher in (teacher_of or {}).items() if teacher in set(cells["model"])}
    columns = [column_key(task, metric) for task in TASKS for metric in task.metrics]
    values = cells.assign(column=[f"{t}_{m}" for t, m in zip(cells["task"], cells["metric"])])
    wide = values.pivot(index="model", columns="column", values="value").reindex(columns=columns)
    for extra in UNCERTAINTY_COLUMNS:
        if extra in values.columns:
            spread = values.pivot(index="model", columns="column", values=extra).reindex(columns=columns)
            wide = wide.join(spread.add_suffix(f"{UNCERTAINTY_SEPARATOR}{extra}"))
    info = cells.groupby("model", sort=False)[["source", "params", "macs"]].first()
    own_teachers = set(teacher_of.values())  # a teacher is its own reference
    info.insert(
        1,
        "teacher",
        [
            model if model in own_teachers else teacher_of.get(model, teachers.get(source))
            for model, source in info["source"].items()
        ],
    )
    frame = info.join(wide)
    frame[SCORE_COLUMN] = np.nan
    frame[SCORE_TASKS_COLUMN] = 0
    for teacher, members in frame.groupby("teacher", sort=False).groups.items():
        group = cells[cells["model"].isin([*members, teacher])]
        scores = retention_from_cells(group, teacher).reindex(members)
        frame.loc[members, SCORE_COLUMN] = scores[SCORE_COLUMN]
        frame.loc[members, SCORE_TASKS_COLUMN] = scores[SCORE_TASKS_COLUMN].fillna(0).astype(int)
    frame = pd.concat([_by_teacher(frame[frame["source"] != PAPER_SOURCE]), frame[frame["source"] == PAPER_SOURCE]])
    frame.index.name = "model"
    return SuperbTable(frame=frame, teachers=teachers, teacher_of=teacher_of)


def _by_teacher(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in table order: each teacher followed by its students, then the rest; each part largest first."""
    by_size = frame.sort_values("params", ascending=False, na_position="last", kind="stable")
    order: list[str] = []
    for teacher in [model for model in by_size.index if model in set(by_size["teacher"])]:
        order += [teacher] + [m for m in by_size.index if by_size.at[m, "teacher"] == teacher and m != teacher]
    order += [model for model in by_size.index if model not in order]
    return by_size.loc[order]


def guess_teacher(cells: pd.DataFrame, source: str = MEASURED_SOURCE, hints: tuple[str, ...] = ()) -> str | None:
    """The teacher row of `source`: the first hint that has results, else the largest model."""
    rows = cells[cells["source"] == source]
    names = set(rows["model"])
    for hint in hints:
        if hint in names:
            return hint
    sizes = rows.groupby("model")["params"].first().dropna()
    return None if sizes.empty else str(sizes.astype(float).idxmax())

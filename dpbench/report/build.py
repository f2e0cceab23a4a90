"""`dpbench report` end to end: read the inputs, write the table files, figures and HTML page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.report import ablation_table, table_formats
from dpbench.report.efficiency_section import efficiency_section
from dpbench.report.html_page import FigureEntry, render_page
from dpbench.report.layer_figure import layer_figure
from dpbench.report.layer_weights import LAYER_WEIGHTS_CSV, layer_weights
from dpbench.report.paper import PAPER_SOURCE, PAPER_TEACHER, paper_records
from dpbench.report.plotting import save_figure
from dpbench.report.pruning_figure import pruning_figure
from dpbench.report.runs import CompressionRun, load_runs, runs_by_model, teachers_by_model
from dpbench.report.selection import MEASURED_SOURCE, best_cells, load_records
from dpbench.report.sparsity_figure import line_labels, primary_points, sparsity_figure
from dpbench.report.tables import SuperbTable, build_table, guess_teacher
from dpbench.report.training_figure import training_figure
from dpbench.report.uncertainty import add_uncertainty


@dataclass
class Report:
    """What a report run produced: the Markdown table (if any), files written, notes on skips."""

    markdown: str | None = None
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table: SuperbTable | None = None


def build_report(
    results: Path | None,
    run_paths: list[Path],
    out: Path,
    paper_rows: bool = True,
    title: str = "dpbench report",
    teacher: str | None = None,
) -> Report:
    """Write table.{md,csv,tex}, pruning/sparsity_vs_metric/training .png+.svg and index.html to `out`."""
    if results is None and not run_paths:
        raise DpbenchError("nothing to report: pass --results FILE (the SUPERB results store) and/or --runs DIR")
    records = load_records(results) if results is not None else None
    runs = sorted(load_runs(run_paths), key=lambda run: -run.summary.params) if run_paths else []
    report = Report()
    skipped = records.attrs.get("skipped_lines", []) if records is not None else []
    if skipped:
        report.notes.append(
            f"skipped {len(skipped)} unreadable line(s) of {results} (line {', '.join(map(str, skipped))})"
        )
    figures: list[FigureEntry] = []
    tables: list[tuple[str, str]] = []
    out.mkdir(parents=True, exist_ok=True)
    if records is None:
        report.notes.append(
            "table and sparsity figure skipped: no --results store given (so are the ablation "
            "table and the layer-weight figure)"
        )
    else:
        cells = best_cells(pd.concat([records, pd.DataFrame(paper_records())]) if paper_rows else records)
        teacher = _choose_teacher(cells, runs, teacher, report.notes)
        run_of, teacher_of = runs_by_model(records, runs), teachers_by_model(records, runs)
        cells = add_uncertainty(cells, {teacher, *teacher_of.values()} - {None})
        teachers = {MEASURED_SOURCE: teacher} if teacher else {}
        if paper_rows:
            teachers[PAPER_SOURCE] = PAPER_TEACHER
        report.table = build_table(cells, teachers, teacher_of)
        report.markdown = table_formats.to_markdown(report.table)
        for name, text in (
            ("table.md", report.markdown),
            ("table.csv", table_formats.to_csv(report.table)),
            ("table.tex", table_formats.to_latex(report.table)),
        ):
            atomic_write_text(out / name, text)
            report.written.append(out / name)
        measured = cells[cells["source"] == MEASURED_SOURCE]
        _ablations(measured, run_of, out, report, tables)
        _sparsity(measured, runs, run_of, teacher, set(teacher_of.values()), out, report, figures)
        _layers(records, measured, run_of, list(report.table.frame.index), out, report, figures)
    _pruning(runs, out, report, figures)
    _training(runs, out, report, figures)
    efficiency = efficiency_section(results, out, paper_rows)
    report.written += efficiency.written
    figures += efficiency.figures
    report.notes += efficiency.notes
    page = render_page(
        title,
        _describe_inputs(results, run_paths, paper_rows),
        table_formats.to_html(report.table) if report.table is not None else None,
        [path for path in report.written if path.name.startswith("table.")],
        figures,
        report.notes,
        efficiency_html=efficiency.table_html,
        tables=tuple(tables),
    )
    atomic_write_text(out / "index.html", page)
    report.written.append(out / "index.html")
    return report


def _choose_teacher(
    cells: pd.DataFrame, runs: list[CompressionRun], requested: str | None, notes: list[str]
) -> str | None:
    """--teacher if given, else the runs' teacher if it has results, else the largest model."""
    measured = set(cells.loc[cells["source"] == MEASURED_SOURCE, "model"])
    if requested is not None:
        if requested not in measured:
            raise DpbenchError(f"--teacher {requested!r} has no results in the store; models: {sorted(measured)}")
        return requested
    hints = tuple(dict.fromkeys(str(run.summary.teacher) for run in runs))
    chosen = guess_teacher(cells, MEASURED_SOURCE, hints)
    if chosen is None:
        notes.append("relative scores skipped: no measured model has a parameter count; pass --teacher")
    elif chosen not in hints:
        notes.append(f"teacher row for relative scores: {chosen} (the largest model); pass --teacher to choose another")
    return chosen


def _sparsity(
    cells: pd.DataFrame,
    runs: list[CompressionRun],
    run_of: dict[str, CompressionRun],
    teacher: str | None,
    own_teachers: set[str],
    out: Path,
    report: Report,
    figures: list[FigureEntry],
) -> None:
    teacher_params = cells.loc[cells["model"] == teacher, "params"].dropna()
    if teacher_params.empty and runs:
        teacher_params = pd.Series([runs[0].summary.teacher_params])
    if teacher_params.empty:
        report.notes.append("sparsity figure skipped: the teacher's parameter count is unknown")
        return
    several = len(own_teachers | ({teacher} if teacher else set())) > 1
    sparsity_of = {model: 100.0 * float(run.summary.sparsity) for model, run in run_of.items()}
    points = primary_points(
        cells, teacher or "", float(teacher_params.iloc[0]), line_labels(run_of, several), sparsity_of, own_teachers
    )
    if not (points["method"] != "teacher").any():
        report.notes.append("sparsity figure skipped: no student with a parameter count has results")
        return
    report.written += save_figure(sparsity_figure(points), out, "sparsity_vs_metric")
    figures.append(
        FigureEntry(
            "Sparsity vs performance",
            out / "sparsity_vs_metric.png",
            "Primary metric of each task (SF: F1) against the share of the teacher's parameters removed; "
            "students of one compression method (and ablation preset, and teacher when there are several) are "
            "joined by a line across the sparsities of a sweep; the star and dotted line are the teacher; "
            "bars are 95% bootstrap intervals over test items, where the runs have them.",
        )
    )


def _ablations(
    cells: pd.DataFrame, run_of: dict[str, CompressionRun], out: Path, report: Report, tables: list[tuple[str, str]]
) -> None:
    table = ablation_table.ablation_table(cells, run_of)
    if table is None:
        return  # no ablation runs: nothing to say
    for name, text in (
        ("ablation.md", ablation_table.to_markdown(table)),
        ("ablation.csv", ablation_table.to_csv(table)),
    ):
        atomic_write_text(out / name, text)
        report.written.append(out / name)
    tables.append(("Ablations", ablation_table.to_html(table)))


def _layers(
    records: pd.DataFrame,
    cells: pd.DataFrame,
    run_of: dict[str, CompressionRun],
    order: list[str],
    out: Path,
    report: Report,
    figures: list[FigureEntry],
) -> None:
    weights = layer_weights(records, cells)
    weights = weights.sort_values("model", key=lambda models: models.map(order.index), kind="stable")
    if weights.empty:
        report.notes.append(
            "layer-weight figure skipped: no SUPERB run folder with a weighted sum over layers "
            "was found (the records' run_dir)"
        )
        return
    csv = weights.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    atomic_write_text(out / LAYER_WEIGHTS_CSV, csv)
    report.written.append(out / LAYER_WEIGHTS_CSV)
    report.written += save_figure(layer_figure(weights, run_of), out, "layer_weights")
    figures.append(
        FigureEntry(
            "Which layers each task uses",
            out / "layer_weights.png",
            "Left: the learned weight of s3prl's weighted sum over hidden states, softmax-normalised as s3prl "
            "applies it, per task (the runs behind each table cell, averaged); dotted: equal weights. Right: the "
            "attention heads and FFN units each layer of a compressed student kept, as % of its teacher's.",
        )
    )


def _pruning(runs: list[CompressionRun], out: Path, report: Report, figures: list[FigureEntry]) -> None:
    if not runs:
        report.notes.append("pruning figure skipped: no --runs folders given")
        return
    report.written += save_figure(pruning_figure(runs), out, "pruning")
    figures.append(
        FigureEntry(
            "What each student keeps, layer by layer",
            out / "pruning.png",
            "Kept conv channels, attention heads and FFN units per layer (bars) over the teacher's sizes (grey); "
            "a cross marks an attention or FFN block removed entirely.",
        )
    )


def _training(runs: list[CompressionRun], out: Path, report: Report, figures: list[FigureEntry]) -> None:
    logged = [run for run in runs if run.train_log is not None]
    if not logged:
        report.notes.append("training figure skipped: no run folder has a train_log.csv")
        return
    for run in runs:
        if run.train_log is None:
            report.notes.append(
                f"training curves of {run.name} skipped: its folder {run.path.name} has no train_log.csv"
            )
    report.written += save_figure(training_figure(logged), out, "training")
    figures.append(
        FigureEntry(
            "Training curves",
            out / "training.png",
            "Per run: distillation loss (and the total loss with the sparsity penalty), expected vs target "
            "parameter sparsity, and the Lagrange multipliers; the shaded span is the final distillation stage.",
        )
    )


def _describe_inputs(results: Path | None, run_paths: list[Path], paper_rows: bool) -> list[str]:
    # names only: the page must not carry the paths of the machine that made it
    items = [f"results store {results.name}"] if results is not None else []
    items += [f"run folder(s) {path.name}" for path in run_paths]
    if paper_rows:
        items.append("published DPHuBERT Table 1 rows (marked “(paper)”)")
    return items

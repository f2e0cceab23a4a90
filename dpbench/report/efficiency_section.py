"""The report's efficiency part: efficiency.{md,csv}, the score-vs-cost figure and the HTML table,
from the `dpbench efficiency` records of the results store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.report import efficiency_table
from dpbench.report.efficiency_figure import efficiency_figure, score_points
from dpbench.report.html_page import FigureEntry
from dpbench.report.paper import paper_records
from dpbench.report.plotting import save_figure
from dpbench.report.selection import MEASURED_SOURCE, best_cells, load_records

FIGURE_STEM = "efficiency_vs_score"


@dataclass
class EfficiencySection:
    written: list[Path] = field(default_factory=list)
    figures: list[FigureEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table_html: str | None = None


def efficiency_section(results: Path | None, out: Path, paper_rows: bool = True) -> EfficiencySection:
    """Write the efficiency table and figure for the store at `results`; `paper_rows` adds the paper's
    published parameter counts."""
    section = EfficiencySection()
    records = efficiency_table.load_efficiency(results) if results is not None and results.is_file() else None
    if records is None or records.empty:
        section.notes.append("efficiency table skipped: no `dpbench efficiency` records in the results store")
        return section
    rows = efficiency_table.efficiency_rows(records)
    headers, body = efficiency_table.display_table(rows, _paper_params() if paper_rows else None)
    for name, text in (
        ("efficiency.md", efficiency_table.to_markdown(headers, body)),
        ("efficiency.csv", efficiency_table.to_csv(rows)),
    ):
        atomic_write_text(out / name, text)
        section.written.append(out / name)
    section.table_html = efficiency_table.to_html(headers, body)
    rtf_column = "rtf_cpu_b1" if "rtf_cpu_b1" in rows.columns else next(c for c in rows.columns if c.startswith("rtf_"))
    try:
        cells = best_cells(load_records(results))
    except DpbenchError as error:
        section.notes.append(f"efficiency figure skipped: {error.message}")
        return section
    points = score_points(cells[cells["source"] == MEASURED_SOURCE], rows, rtf_column)
    if points.empty:
        section.notes.append(
            "efficiency figure skipped: no measured model has both SUPERB results and an "
            "efficiency record (their names must match)"
        )
        return section
    section.written += save_figure(efficiency_figure(points), out, FIGURE_STEM)
    section.figures.append(
        FigureEntry(
            "Score against cost",
            out / f"{FIGURE_STEM}.png",
            "Primary metric of each task against real-time factor and against MACs per second of audio (log scales), "
            "one marker per model; the dashed step line is the Pareto front (no other model is both cheaper and "
            "better). Error bars are the records' intervals where they carry one.",
        )
    )
    return section


def _paper_params() -> pd.DataFrame:
    """(model, params) of the paper's rows, named as the SUPERB table names them."""
    frame = pd.DataFrame(paper_records()).drop_duplicates("upstream")
    return pd.DataFrame({"model": frame["upstream"], "params": frame["params"]})

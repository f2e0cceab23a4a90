"""`dpbench report`: the command-line entry of the reporting part."""

from __future__ import annotations

from pathlib import Path

import click

from dpbench.report.build import build_report


@click.command("report")
@click.option(
    "--results",
    type=click.Path(path_type=Path),
    help="Results store (a JSONL file or a record folder) that `dpbench superb` writes to.",
)
@click.option(
    "--runs",
    "run_paths",
    multiple=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="A compression run folder, or a folder of them; repeatable.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports"),
    show_default=True,
    help="Folder to write the report into.",
)
@click.option(
    "--paper-rows/--no-paper-rows",
    default=True,
    show_default=True,
    help="Add the paper's published Table 1 rows, marked (paper), for reference.",
)
@click.option(
    "--teacher",
    help="Model whose scores the relative score divides by (default: the runs' teacher, else the largest model).",
)
@click.option("--title", default="dpbench report", show_default=True, help="Title of the HTML page.")
def report_command(
    results: Path | None, run_paths: tuple[Path, ...], out: Path, paper_rows: bool, teacher: str | None, title: str
) -> None:
    """Write the SUPERB table (Markdown, CSV, LaTeX), figures (PNG, SVG) and a self-contained index.html."""
    report = build_report(results, list(run_paths), out, paper_rows=paper_rows, title=title, teacher=teacher)
    if report.markdown is not None:
        click.echo(report.markdown)
    for note in report.notes:
        click.echo(f"note: {note}")
    for path in report.written:
        click.echo(f"wrote {path}")

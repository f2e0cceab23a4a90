"""`dpbench efficiency MODEL...`: parameters, MACs, real-time factor and peak memory of each model."""

from __future__ import annotations

import math
from pathlib import Path

import click

from dpbench.errors import DpbenchError


def _batches(text: str) -> tuple[int, ...]:
    try:
        batches = tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        batches = ()
    if not batches or min(batches) < 1:
        raise DpbenchError(f"--batch-sizes {text!r}: give positive integers separated by commas, e.g. 1,8")
    return batches


@click.command("efficiency")
@click.argument("models", nargs=-1, required=True)
@click.option(
    "--results",
    "store",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("results/superb.jsonl"),
    show_default=True,
    help="Results store (JSONL) to append the efficiency records to; the report reads them from there.",
)
@click.option(
    "--seconds",
    "clip_seconds",
    type=click.FloatRange(min=0.5),
    default=4.0,
    show_default=True,
    help="Length of each clip of (noise) audio.",
)
@click.option("--batch-sizes", default="1,8", show_default=True, help="Clips per forward, comma-separated.")
@click.option(
    "--device",
    "devices",
    multiple=True,
    type=click.Choice(["cpu", "cuda"]),
    help="Device(s) to time on, repeatable [default: cpu, and cuda when present].",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=7,
    show_default=True,
    help="Timed forwards per model and case (medians and quartiles are over these).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Untimed forwards per model and case first.",
)
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="torch CPU threads.")
def efficiency_command(
    models: tuple[str, ...],
    store: Path,
    clip_seconds: float,
    batch_sizes: str,
    devices: tuple[str, ...],
    rounds: int,
    warmup: int,
    threads: int,
) -> None:
    """Measure each MODEL: a dpbench checkpoint, a teacher name or file, or an s3prl hub entry
    (`s3prl:<entry>`, or `s3prl:<entry>_local=PATH` for a local checkpoint). Each model runs in its own
    process; timed forwards are interleaved across models after warm-up."""
    import torch

    from dpbench.efficiency.records import to_record
    from dpbench.efficiency.runner import Settings, measure
    from dpbench.efficiency.specs import parse_spec
    from dpbench.results import open_store

    if not math.isfinite(clip_seconds):  # click's FloatRange lets NaN and infinity through
        raise DpbenchError(f"--seconds {clip_seconds}: give a finite length in seconds, e.g. 4")
    specs = [parse_spec(text) for text in models]
    names = [spec.name for spec in specs]
    if len(set(names)) < len(names):
        raise DpbenchError(f"two models share a display name ({names}); rename a checkpoint file")
    if not devices:
        devices = ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)
    if "cuda" in devices and not torch.cuda.is_available():
        raise DpbenchError("--device cuda: no CUDA device is visible here; drop it or run on a GPU machine")
    settings = Settings(clip_seconds, _batches(batch_sizes), tuple(devices), rounds, warmup, threads)
    measurements = measure(specs, settings)
    results = open_store(store)
    click.echo(
        f"{'model':24} {'device':6} {'batch':>5} {'params (M)':>10} {'MACs (G/s)':>10} "
        f"{'RTF median':>10} {'RTF IQR':>19} {'peak MiB':>9}"
    )
    for measurement in measurements:
        record = to_record(measurement)
        results.append(record)
        memory = "-" if record["peak_memory_mb"] is None else f"{record['peak_memory_mb']:.1f}"
        click.echo(
            f"{record['upstream'][:24]:24} {record['device']:6} {record['batch']:>5} "
            f"{record['params'] / 1e6:>10.2f} {record['macs'] / 1e9:>10.3f} {record['rtf']:>10.4f} "
            f"{record['rtf_q1']:>9.4f}-{record['rtf_q3']:<9.4f} {memory:>9}"
        )
    click.echo(f"appended {len(measurements)} records to {store}")

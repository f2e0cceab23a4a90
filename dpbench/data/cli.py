"""`dpbench data ...`: build manifests of real audio and write synthetic corpora."""

from __future__ import annotations

import math
from pathlib import Path

import click

from dpbench.data.synth.corpus import CORPORA
from dpbench.data.synth.sizes import SIZES
from dpbench.errors import DpbenchError


@click.group("data")
def data_group() -> None:
    """Audio data: compression manifests and synthetic corpora."""


@data_group.command("manifest")
@click.argument("root", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where train.tsv/valid.tsv go (default: ROOT).",
)
@click.option(
    "--valid-fraction",
    type=float,
    default=0.01,
    show_default=True,
    help="Fraction of files for valid.tsv (< 1), or a file count (>= 1).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--min-seconds", type=float, default=0.0, show_default=True, help="Leave out files shorter than this.")
@click.option("--quick", is_flag=True, help="Read headers only: faster, but corrupt or NaN audio is not caught.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Decoding threads (default: CPU count).")
def manifest_command(
    root: Path,
    out_dir: Path | None,
    valid_fraction: float,
    seed: int,
    min_seconds: float,
    quick: bool,
    workers: int | None,
) -> None:
    """Scan ROOT (LibriSpeech-style tree or any folder of wav/flac/ogg) into train.tsv/valid.tsv, decoding
    every file; corrupt, empty, too short and NaN/Inf files go to bad.tsv with the reason."""
    from dpbench.data.manifest import write_manifest

    if not math.isfinite(valid_fraction) or not math.isfinite(min_seconds):
        raise DpbenchError("--valid-fraction and --min-seconds must be finite numbers")
    out_dir = out_dir or root
    count = int(valid_fraction) if valid_fraction >= 1 else valid_fraction
    summary = write_manifest(root, out_dir, count, seed, min_seconds, quick=quick, workers=workers)
    click.echo(
        f"{out_dir}/train.tsv: {summary.train} files; {out_dir}/valid.tsv: {summary.valid} files; "
        f"{summary.hours:.2f} h of audio"
    )
    if summary.bad:
        click.echo(f"skipped {len(summary.bad)} bad file(s), listed in {out_dir}/bad.tsv:", err=True)
        for path, reason in summary.bad[:10]:
            click.echo(f"  {path}: {reason}", err=True)


@data_group.command("synth")
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--size",
    type=click.Choice(list(SIZES)),
    default="tiny",
    show_default=True,
    help="tiny 0.3 h (tests, < 1 min), small 3.7 h (CPU demo, minutes), medium ~20 h.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=int, default=None, help="Processes (default: free cores).")
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    type=click.Choice(list(CORPORA)),
    help="Only these corpora (repeatable; default: all).",
)
def synth_command(out: Path, size: str, seed: int, workers: int | None, corpora: tuple[str, ...]) -> None:
    """Write deterministic synthetic corpora (espeak-ng) to OUT in the real corpora's layouts."""
    from dpbench.data.synth import synthesize

    summary = synthesize(out, size=size, seed=seed, workers=workers, corpora=corpora or None)
    for name, stats in summary["corpora"].items():
        click.echo(f"{name}: {stats['utterances']} utterances, {stats['speakers']} speakers, {stats['hours']:.3f} h")
    click.echo(f"total {summary['hours']:.3f} h; details in {out / 'corpus.json'}")

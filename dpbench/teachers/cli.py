"""`dpbench pretrain` (train a small teacher) and `dpbench teachers` (where each teacher is looked for)."""

from __future__ import annotations

import shlex
from pathlib import Path

import click


def full_command(ctx: click.Context) -> str:
    """The invocation with every option spelled out (defaults included), so it reproduces the run."""
    words: list[str] = []
    for param in ctx.command.params:
        value = ctx.params[param.name]
        if isinstance(param, click.Argument):
            words.append(str(value))
        elif isinstance(param, click.Option) and param.is_flag:
            flag = param.opts[0] if value else (param.secondary_opts or [None])[0]
            words += [flag] if flag else []
        else:
            words += [param.opts[0], str(value)]
    return f"{ctx.command_path} {shlex.join(words)}"


@click.command("pretrain")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option(
    "--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Folder for NAME.pt, NAME.json, curve."
)
@click.option("--name", default="teacher", show_default=True, help="Base name of the written files.")
@click.option("--shape", default="tiny-hubert", show_default=True, help="tiny-hubert, tiny, or a JSON encoder config.")
@click.option("--steps", default=1200, show_default=True, help="Optimiser steps per iteration.")
@click.option("--batch-size", default=8, show_default=True)
@click.option("--crop-seconds", default=2.0, show_default=True)
@click.option("--lr", default=1e-3, show_default=True)
@click.option(
    "--iterations",
    type=click.IntRange(1, 2),
    default=1,
    show_default=True,
    help="2: re-cluster the model's own hidden states and continue training on them.",
)
@click.option("--clusters", default="100,200", show_default=True, help="k-means sizes per iteration.")
@click.option("--feature-layer", default=-2, show_default=True, help="Hidden state clustered for iteration 2.")
@click.option("--mask-prob", default=0.65, show_default=True, help="Span starts per frame times span (HuBERT: 0.8).")
@click.option("--mask-span", default=5, show_default=True, help="Frames per masked span (HuBERT: 10).")
@click.option("--unmasked-weight", default=1.0, show_default=True, help="Loss weight of unmasked frames (HuBERT: 0).")
@click.option("--seed", default=0, show_default=True)
@click.option("--threads", default=0, help="torch CPU threads (0: torch's default).")
@click.option("--half/--no-half", default=False, show_default=True, help="Store fp16 weights (loaded back as fp32).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def pretrain_command(
    corpus: Path,
    out_dir: Path,
    name: str,
    shape: str,
    steps: int,
    batch_size: int,
    crop_seconds: float,
    lr: float,
    iterations: int,
    clusters: str,
    feature_layer: int,
    mask_prob: float,
    mask_span: int,
    unmasked_weight: float,
    seed: int,
    threads: int,
    half: bool,
    quiet: bool,
) -> None:
    """HuBERT-style pretraining of a small teacher on the speech under CORPUS (a synthetic corpus
    from `dpbench data synth`, LibriSpeech, or any folder of 16 kHz audio). The defaults are the
    recipe of the built-in tiny-hubert; dpbench/assets/teachers/tiny-hubert.json has its command."""
    import torch

    from dpbench.errors import DpbenchError
    from dpbench.teachers.pretrain import PretrainSettings, pretrain, write_outputs
    from dpbench.teachers.shapes import shape_config

    if threads:
        torch.set_num_threads(threads)
    try:
        cluster_counts = [int(k) for k in clusters.split(",")]
        settings = PretrainSettings(
            steps=steps,
            batch_size=batch_size,
            crop_seconds=crop_seconds,
            lr=lr,
            iterations=iterations,
            clusters=cluster_counts,
            feature_layer=feature_layer,
            mask_prob=mask_prob,
            mask_span=mask_span,
            unmasked_weight=unmasked_weight,
            seed=seed,
        )
    except ValueError as error:
        raise DpbenchError(f"bad pretraining option: {error}") from error
    result = pretrain(corpus, shape_config(shape), settings, progress=not quiet)
    checkpoint = write_outputs(result, out_dir, name, full_command(click.get_current_context()), half)
    last = result.record["iterations"][-1]
    click.echo(
        f"wrote {checkpoint} ({result.record['params'] / 1e6:.2f}M params; final loss {last['final_loss']:.3f}, "
        f"masked accuracy {last['final_masked_accuracy']:.3f}, {result.record['train_seconds']:.0f} s)"
    )


@click.command("teachers")
def teachers_command() -> None:
    """List the teacher names, where each is looked for and whether it was found."""
    from dpbench.teachers.registry import BUILTIN, TEACHERS
    from dpbench.teachers.resolve import builtin_path, locations

    click.echo(f"{BUILTIN}: {'found' if builtin_path().is_file() else 'MISSING'} (shipped) {builtin_path()}")
    for teacher in TEACHERS.values():
        places = locations(teacher)
        found = next((place for place in places if place.found), None)
        hint = f"not found (place one of these, or set {teacher.env_var}=PATH)"
        click.echo(f"{teacher.name}: " + (f"found ({found.source}) {found.path}" if found else hint))
        for place in places:
            click.echo(f"    {'*' if place.found else '-'} {place.source}: {place.path}")

"""`dpbench superb`: run SUPERB tasks on an upstream through s3prl's own downstream code."""

from __future__ import annotations

import math
import signal
from dataclasses import replace
from pathlib import Path

import click

from dpbench.errors import DpbenchError
from dpbench.safe_load import trust_option
from dpbench.superb.configs import CONFIG_DIR, SCALES, load_config
from dpbench.superb.run import RunOptions, run_task
from dpbench.superb.tasks import SUITE, TASKS, get_task
from dpbench.superb.tasks.er import parse_folds
from dpbench.superb.upstream_spec import UpstreamSpec, parse_upstream


def parse_lrs(text: str | None, sweep: list[float]) -> list[float | None]:
    """`--lr`: empty = the config's value, `sweep` = the config's sweep list, else comma-separated floats."""
    if text is None:
        return [None]
    if text == "sweep":
        if not sweep:
            raise DpbenchError("this config has no dpbench.lr_sweep list: pass --lr 1e-4,1e-3 instead")
        return [float(lr) for lr in sweep]
    try:
        lrs = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        lrs = []
    if not lrs or not all(math.isfinite(lr) and lr > 0 for lr in lrs):
        raise DpbenchError(f"--lr {text!r}: give a positive number, a comma-separated list of them, or 'sweep'")
    return lrs


def check_s3prl_path(value: str, option: str) -> None:
    """Refuse what s3prl's config loader would not take literally: omegaconf reads `${...}` as a variable."""
    if "${" in value:
        raise DpbenchError(
            f"{option} {value!r} contains '${{', which s3prl's config loader (omegaconf) reads as "
            "a variable reference; rename or link the folder to a path without it"
        )


def check_upstream(spec: UpstreamSpec) -> None:
    """A dpbench upstream must be an existing checkpoint or a known teacher, checked before any run folder exists."""
    if not spec.is_dpbench:
        return
    from dpbench.teachers import resolve

    try:
        resolve(spec.ckpt)
    except DpbenchError as error:
        raise DpbenchError(
            f"--upstream {spec.source}: {error.message}; or pass s3prl:<entry> for an s3prl upstream"
        ) from None


@click.command("superb")
@click.option("--task", "task_name", required=True, help=f"one of {', '.join(TASKS)}, or 'all' ({', '.join(SUITE)})")
@click.option(
    "--upstream",
    required=True,
    help="dpbench checkpoint, teacher checkpoint/name (e.g. tiny-hubert), or s3prl:<hub entry>",
)
@click.option(
    "--data",
    "data_root",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="corpus root (layout in docs/ARCHITECTURE.md)",
)
@click.option("--scale", type=click.Choice(SCALES), default="cpu", show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--lr",
    "lr_text",
    default=None,
    help="learning rate, a comma-separated list, or 'sweep' (the config's list); default: the config's",
)
@click.option(
    "--out",
    "out_root",
    type=click.Path(path_type=Path),
    default=Path("runs/superb"),
    show_default=True,
    help="runs go to OUT/<upstream>[-<content hash>]/<task>/lr<lr>/",
)
@click.option(
    "--results",
    "store",
    type=click.Path(path_type=Path),
    default=Path("results/superb.jsonl"),
    show_default=True,
    help="results store: a JSONL file, or a folder of one JSON file per record "
    "(safe on a shared filesystem; a path without a suffix)",
)
@click.option(
    "--config-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=CONFIG_DIR, show_default=True
)
@click.option(
    "--folds",
    "folds_text",
    default=None,
    help="ER: IEMOCAP session folds to average, 'all' or e.g. 1,2 [default: the config's: "
    "all five at paper scale, fold 1 at cpu scale]",
)
@click.option(
    "--seed", type=int, default=None, help="downstream training seed (run folder lr<lr>-seed<N>) [default: s3prl's own]"
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="train K times, with seeds --seed, --seed+1, ... (--seed defaults to 0 then); "
    "the report shows mean ± std over them",
)
@click.option("--quiet", is_flag=True, help="keep s3prl's output in the run folder's logs only")
@trust_option
def superb_command(
    task_name: str,
    upstream: str,
    data_root: Path,
    scale: str,
    device: str,
    lr_text: str | None,
    out_root: Path,
    store: Path,
    config_dir: Path,
    folds_text: str | None,
    seed: int | None,
    seeds: int,
    quiet: bool,
) -> None:
    """Train and test SUPERB downstream tasks; rerunning the same command resumes an interrupted run."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    names = SUITE if task_name.lower() == "all" else (task_name,)
    if folds_text is not None and not any("folds" in get_task(name).options for name in names):
        raise DpbenchError("--folds applies to ER only: drop it, or pass --task ER")
    folds = parse_folds(folds_text) if folds_text is not None else None
    for value, option in (
        (str(data_root.resolve()), "--data"),
        (str(out_root.resolve()), "--out"),
        (upstream, "--upstream"),
    ):
        check_s3prl_path(value, option)
    spec = parse_upstream(upstream)
    check_upstream(spec)
    options = RunOptions(spec, data_root, out_root.resolve(), device, scale, store.resolve(), config_dir, quiet, folds)
    seed_list = [None] if seed is None and seeds == 1 else [(seed or 0) + offset for offset in range(seeds)]
    failures = []
    for name in names:
        try:
            record = run_lrs(name, options, lr_text, seed_list)
        except DpbenchError as error:
            if len(names) == 1:
                raise
            failures.append(f"{name}: {error.message}")
            click.echo(f"[dpbench] {name} failed: {error.message}", err=True)
            continue
        click.echo(
            f"{record['task']}\t{record['metric']}\t{record['value']:.2f}\tlr={record['lr']:g}\t"
            f"(dev-selected; {record['wall_time_s']:.0f} s)\t{record['run_dir']}"
        )
    if failures:
        raise DpbenchError(f"{len(failures)} of {len(names)} tasks failed:\n" + "\n".join(failures))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    """Turn SIGTERM into SystemExit so the running s3prl subprocess is stopped as well."""
    raise SystemExit(128 + signum)


def run_lrs(name: str, options: RunOptions, lr_text: str | None, seeds: list[int | None] | None = None) -> dict:
    """Run one task at each requested learning rate and seed; return a record of the learning rate
    whose dev value, averaged over seeds, is best."""
    task = get_task(name)
    _, settings = load_config(task.stem, options.scale, options.config_dir)
    by_lr = [
        [run_task(task, replace(options, seed=seed), lr) for seed in (seeds if task.trains and seeds else [None])]
        for lr in parse_lrs(lr_text, settings.get("lr_sweep", []))
    ]
    pick = max if task.higher_is_better else min
    best = pick(by_lr, key=lambda records: sum(r["dev_value"] for r in records) / len(records))
    return best[0]

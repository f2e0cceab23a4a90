"""`dpbench demo`: the whole product on the embedded default, on a laptop CPU.

synthetic corpora -> compress the built-in tiny teacher into DPHuBERT and baseline students ->
SUPERB tasks at CPU scale for the teacher and every student, and a short `dpbench efficiency` of
them all -> report. Compression, SUPERB and efficiency runs are independent `dpbench` commands run
side by side (one per core, one thread each;
a student's SUPERB runs start as soon as its compression ends); each is resumable, so re-running
the demo reuses whatever is finished."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dpbench.compress.layout import CONFIG_FILE
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_bytes
from dpbench.jobs import Job
from dpbench.method_labels import METHOD_LABELS
from dpbench.superb.tasks import SUITE, get_task

if TYPE_CHECKING:
    from dpbench.plan.spec import Plan

TEACHER = "tiny-hubert"
DEFAULT_METHODS = "dphubert,distilhubert,fithubert"  # the paper's comparison; add `half` with --methods
DEFAULT_TASKS = "KS,IC,SID,ER,PR,ASR"
# Typical run times on one core (the demo's own logs), used only to start the longest chains first.
COMPRESS_SECONDS = 110.0
EFFICIENCY_SECONDS = 60.0
TASK_SECONDS = {"ASR": 280.0, "SID": 125.0, "IC": 115.0, "PR": 95.0, "ER": 70.0, "KS": 55.0}


def _stage(number: int, total: int, text: str) -> None:
    click.secho(f"\n[{number}/{total}] {text}", bold=True)


def compress_job(
    corpus: Path,
    runs: Path,
    logs: Path,
    models: Path,
    method: str,
    sparsity: float,
    device: str,
    steps: tuple[int | None, int | None],
    *,
    teacher: str = TEACHER,
    student: str | None = None,
    name: str | None = None,
    extra: Sequence[str] = (),
) -> Job:
    """Compress `teacher` with `method` into `runs/<student>` (student: the run's id, default the
    method); on success the student is copied to `models/<name>.pt` (SUPERB names an upstream after its
    file; name defaults to the method's display name). `extra`: more `dpbench compress` options."""
    student, name = student or method, name or METHOD_LABELS[method]
    out = runs / student
    args = [
        "compress",
        "--data",
        str(corpus / "LibriSpeech"),
        "--out",
        str(out),
        "--method",
        method,
        "--teacher",
        teacher,
        "--target-sparsity",
        str(sparsity),
        "--name",
        name,
        "--accelerator",
        "gpu" if device == "cuda" else "cpu",
        *extra,
    ]
    for flag, value in zip(("--stage1-steps", "--stage2-steps"), steps):
        if value is not None:
            args += [flag, str(value)]
    if (out / CONFIG_FILE).exists():  # started before (perhaps killed in stage 1): continue it
        args.append("--resume")
    target = models / f"{name}.pt"

    def publish() -> None:
        source = out / "student.pt"
        if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
            atomic_write_bytes(target, source.read_bytes())

    return Job(
        f"compress {student}",
        args,
        logs / f"compress-{student}.log",
        COMPRESS_SECONDS,
        on_success=publish,
        kind="compress",
    )


def student_path(models: Path, method: str) -> Path:
    return models / f"{METHOD_LABELS[method]}.pt"


def superb_job(
    upstream: str,
    task: str,
    corpus: Path,
    out: Path,
    logs: Path,
    store: Path,
    device: str,
    needs: tuple[str, ...] = (),
    *,
    lr: float | None = None,
    scale: str = "cpu",
) -> Job:
    """One SUPERB task on `upstream` at learning rate `lr` (None: the task config's)."""
    name = Path(upstream).stem
    at = "" if lr is None else f" lr={lr:g}"
    args = [
        "superb",
        "--task",
        task,
        "--upstream",
        upstream,
        "--data",
        str(corpus),
        "--out",
        str(out),
        "--results",
        str(store),
        "--device",
        device,
        "--quiet",
    ]
    if lr is not None:
        args += ["--lr", f"{lr:g}"]
    if scale != "cpu":
        args += ["--scale", scale]
    return Job(
        f"SUPERB {task} on {name}{at}",
        args,
        logs / f"superb-{name}-{task}{at.replace(' lr=', '-lr')}.log",
        TASK_SECONDS.get(task, 120.0),
        needs,
        kind="superb",
    )


def efficiency_job(models: list[str], store: Path, logs: Path, device: str, needs: tuple[str, ...]) -> Job:
    """A short `dpbench efficiency` of the teacher and the students (2 s clips, 5 rounds) once all exist."""
    return Job(
        "efficiency",
        [
            "efficiency",
            *models,
            "--results",
            str(store),
            "--seconds",
            "2",
            "--rounds",
            "5",
            "--warmup",
            "1",
            "--device",
            device,
        ],
        logs / "efficiency.log",
        EFFICIENCY_SECONDS,
        needs,
        kind="efficiency",
    )


def corpora_for(tasks: list[str]) -> list[str]:
    """The synthetic corpora (names in `CORPORA`) the demo needs: LibriSpeech for compression, and
    whatever `tasks` read."""
    from dpbench.data.synth import CORPORA

    folders = {"LibriSpeech", *(get_task(name).corpus for name in tasks)}
    return [name for name, module in CORPORA.items() if module.FOLDER in folders]


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
    help="Everything the demo makes goes here.",
)
@click.option(
    "--size",
    type=click.Choice(["tiny", "small", "medium"]),
    default="small",
    show_default=True,
    help="Synthetic corpus size.",
)
@click.option(
    "--methods",
    default=DEFAULT_METHODS,
    show_default=True,
    help=f"Students to compress, from {', '.join(METHOD_LABELS)}.",
)
@click.option(
    "--tasks",
    default=DEFAULT_TASKS,
    show_default=True,
    help="SUPERB tasks to run, comma-separated, or 'all' (every task `dpbench superb` runs).",
)
@click.option(
    "--sparsity",
    type=float,
    default=0.65,
    show_default=True,
    help="Target parameter sparsity (the tiny teacher's unprunable share is larger than Base's).",
)
@click.option(
    "--sweep",
    default=None,
    metavar="S1,S2,...",
    help="Also compress DPHuBERT students at these sparsities (a sparsity sweep, e.g. 0.5,0.65,0.8), "
    "each run through the same tasks; the report plots them against sparsity.",
)
@click.option("--stage1-steps", type=int, default=None, help="Distill + prune steps [compress's cpu default].")
@click.option("--stage2-steps", type=int, default=None, help="Final distillation steps [compress's cpu default].")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--jobs", type=int, default=None, help="Runs side by side [default: number of cores].")
def demo_command(
    out: Path,
    size: str,
    methods: str,
    tasks: str,
    sparsity: float,
    sweep: str | None,
    stage1_steps: int | None,
    stage2_steps: int | None,
    device: str,
    jobs: int | None,
) -> None:
    """Run the whole pipeline on the embedded default (synthetic corpora, built-in tiny teacher)."""
    from dpbench.data.synth import synthesize
    from dpbench.plan.cli import run_plan
    from dpbench.plan.launch import LocalLauncher

    method_list = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in method_list if m not in METHOD_LABELS]
    if unknown:
        raise DpbenchError(f"--methods: unknown {unknown}; choose from {', '.join(METHOD_LABELS)}")
    task_list = list(SUITE) if tasks.strip().lower() == "all" else [t.strip() for t in tasks.split(",") if t.strip()]
    task_names = [get_task(name).name for name in task_list]  # checks the names before anything runs
    sweep_list = _sweep(sweep, method_list)
    workers = jobs or os.cpu_count() or 1
    started = time.monotonic()
    out = out.resolve()
    corpus, report_dir = out / "corpus", out / "report"

    _stage(1, 3, f"synthetic corpora ({size})")
    info = synthesize(corpus, size=size, seed=0, workers=workers, corpora=corpora_for(task_list))
    click.echo(f"corpus at {corpus}: {info['hours']:.2f} h of audio")

    swept = f"; DPHuBERT also at {', '.join(f'{s:.0%}' for s in sweep_list)}" if sweep_list else ""
    _stage(
        2,
        3,
        f"compress {TEACHER} at {sparsity:.0%} parameter sparsity ({', '.join(method_list)}{swept}), run "
        f"SUPERB at CPU scale ({', '.join(task_names)}) on the teacher and each student, measure "
        "their efficiency, then the report",
    )
    plan = demo_plan(out, method_list, task_names, sparsity, (stage1_steps, stage2_steps), device, sweep_list)
    jobs, outcome = run_plan(plan, LocalLauncher(workers))
    click.echo(f"{len(jobs) - len(outcome.submitted)} of {len(jobs)} runs were done already")

    _stage(3, 3, "report")
    if (report_dir / "table.md").is_file():
        click.echo((report_dir / "table.md").read_text(encoding="utf-8"))
    click.secho(f"\nreport: {report_dir / 'index.html'}", bold=True)
    click.echo(f"demo finished in {(time.monotonic() - started) / 60:.1f} min")
    if outcome.failed:
        logs = {job.label: job.log for job in jobs}
        raise DpbenchError(
            f"{len(outcome.failed)} runs failed (the report shows the rest): "
            + "; ".join(f"{label} -> {logs[label]}" for label in outcome.failed)
        )


def _sweep(text: str | None, methods: list[str]) -> list[float]:
    """--sweep as fractions; it needs DPHuBERT among the methods."""
    if text is None:
        return []
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(0 < v < 1 for v in values):
        raise DpbenchError(f"--sweep {text!r}: give fractions between 0 and 1, comma-separated, e.g. 0.5,0.65,0.8")
    if "dphubert" not in methods:
        raise DpbenchError("--sweep compresses DPHuBERT students: keep dphubert in --methods")
    return values


def demo_plan(
    out: Path,
    methods: list[str],
    tasks: list[str],
    sparsity: float,
    steps: tuple[int | None, int | None],
    device: str,
    sweep: Sequence[float] = (),
) -> Plan:
    """The demo as a study plan: the built-in teacher, its students (DPHuBERT also at the `sweep`
    sparsities), the tasks, on OUT/corpus."""
    from dpbench.plan.spec import Plan

    corpus = out / "corpus"
    return Plan(
        out=out,
        data=corpus,
        compress_data=corpus / "LibriSpeech",
        teachers=[TEACHER],
        methods=methods,
        tasks=tasks,
        sparsities=[sparsity],
        sweep=list(sweep),
        steps=steps,
        device=device,
        results="results.jsonl",
        title="dpbench demo: embedded default",
    )
